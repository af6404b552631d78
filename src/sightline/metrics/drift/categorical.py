"""Drift methods for categorical columns, on counts over the union of categories.

The distances between two vectors of counts (:func:`psi_of_counts`, :func:`hellinger_of_counts`,
...) are shared with the binned methods of numerical columns, whose decile bins are compared
exactly as categories are.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial import distance

from sightline.metrics.binning import shares, smoothed_shares
from sightline.metrics.columns import CategoricalCounts, ColumnKind, union_categories
from sightline.metrics.drift.base import MethodScore, register

CATEGORICAL = {ColumnKind.CATEGORICAL}


def aligned_counts(
    reference: CategoricalCounts, current: CategoricalCounts
) -> tuple[np.ndarray, np.ndarray]:
    categories = union_categories(reference, current)
    return reference.aligned(categories), current.aligned(categories)


# --- distances between two vectors of counts (categories or bins) --------------------------------


def psi_of_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index Σ (cur − ref)·ln(cur/ref) on smoothed shares."""
    ref, cur = smoothed_shares(reference), smoothed_shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def kl_of_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """KL(reference ‖ current) on smoothed shares, natural log (``scipy.stats.entropy``).

    scipy renormalizes both smoothed share vectors to sum 1, as Evidently's ``kl_div`` does.
    """
    return float(stats.entropy(smoothed_shares(reference), smoothed_shares(current)))


def jensenshannon_of_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen–Shannon distance (natural log, scipy's convention) between raw shares."""
    return float(distance.jensenshannon(shares(reference), shares(current)))


def hellinger_of_counts(reference: np.ndarray, current: np.ndarray) -> float:
    """Hellinger distance sqrt(1 − Σ sqrt(p·q)) between raw shares, in [0, 1].

    Computed in the equal form sqrt(½·Σ (√p − √q)²), which has no cancellation: identical
    shares give exactly 0 rather than the square root of a rounding error.
    """
    root_ref, root_cur = np.sqrt(shares(reference)), np.sqrt(shares(current))
    return float(np.sqrt(0.5 * np.sum((root_ref - root_cur) ** 2)))


# --- statistical checks -------------------------------------------------------------------------


@register("chisquare", title="Chi-square test", kinds=CATEGORICAL, threshold=0.05, is_test=True)
def chisquare(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Pearson's chi-square test of homogeneity on the 2×k table of counts (no continuity
    correction); the score is the p-value. A category seen on one side only is part of the table.
    """
    ref, cur = aligned_counts(reference, current)
    if ref.size < 2:
        return MethodScore(1.0, statistic=0.0, p_value=1.0)
    result = stats.chi2_contingency(np.vstack((ref, cur)), correction=False)
    return MethodScore(
        float(result.pvalue), statistic=float(result.statistic), p_value=float(result.pvalue)
    )


@register("g", title="G-test", kinds=CATEGORICAL, threshold=0.05, is_test=True)
def g_test(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """G-test (log-likelihood ratio) of homogeneity on the 2×k table of counts, no continuity
    correction (``scipy.stats.chi2_contingency(..., lambda_="log-likelihood")``).
    """
    ref, cur = aligned_counts(reference, current)
    if ref.size < 2:
        return MethodScore(1.0, statistic=0.0, p_value=1.0)
    result = stats.chi2_contingency(
        np.vstack((ref, cur)), correction=False, lambda_="log-likelihood"
    )
    return MethodScore(
        float(result.pvalue), statistic=float(result.statistic), p_value=float(result.pvalue)
    )


@register("fisher", title="Fisher's exact test", kinds=CATEGORICAL, threshold=0.05, is_test=True)
def fisher(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Fisher's exact test on the 2×2 table (reference, current) × (two categories).

    The statistic is the conditional odds ratio's sample estimate (None when it is infinite or
    undefined, i.e. a cell of the table is empty).
    """
    ref, cur = aligned_counts(reference, current)
    if ref.size > 2:
        raise ValueError(
            f"Fisher's exact test compares two categories, the data has {ref.size}; "
            "use chisquare or g"
        )
    if ref.size < 2:
        return MethodScore(1.0, statistic=None, p_value=1.0)
    result = stats.fisher_exact(np.vstack((ref, cur)))
    odds_ratio = float(result.statistic)
    p_value = float(result.pvalue)
    return MethodScore(
        p_value, statistic=odds_ratio if np.isfinite(odds_ratio) else None, p_value=p_value
    )


@register("z", title="Z-test for two proportions", kinds=CATEGORICAL, threshold=0.05, is_test=True)
def z_test(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Two-sided Z-test that the share of the first category is the same on both sides."""
    ref, cur = aligned_counts(reference, current)
    if ref.size > 2:
        raise ValueError("the Z-test compares two categories; use chisquare for more")
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    p_ref, p_cur = ref[0] / n_ref, cur[0] / n_cur
    pooled = (ref[0] + cur[0]) / (n_ref + n_cur)
    variance = pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur)
    if ref.size < 2 or variance == 0:
        return MethodScore(1.0, statistic=0.0, p_value=1.0)
    z = float((p_cur - p_ref) / np.sqrt(variance))
    p_value = float(2 * stats.norm.sf(abs(z)))
    return MethodScore(p_value, statistic=z, p_value=p_value)


# --- distances between the category shares --------------------------------------------------------


@register(
    "jensenshannon",
    title="Jensen–Shannon distance",
    kinds=CATEGORICAL,
    threshold=0.1,
    is_test=False,
)
def jensenshannon(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Jensen–Shannon distance (natural log, scipy's convention) between category shares."""
    value = jensenshannon_of_counts(*aligned_counts(reference, current))
    return MethodScore(value, statistic=value)


@register(
    "psi", title="Population stability index", kinds=CATEGORICAL, threshold=0.1, is_test=False
)
def psi(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """PSI between category shares, an empty category counting as a share of 1e-4."""
    value = psi_of_counts(*aligned_counts(reference, current))
    return MethodScore(value, statistic=value)


@register(
    "kl", title="Kullback–Leibler divergence", kinds=CATEGORICAL, threshold=0.1, is_test=False
)
def kl(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """KL(reference ‖ current) between category shares, an empty category counting as 1e-4."""
    value = kl_of_counts(*aligned_counts(reference, current))
    return MethodScore(value, statistic=value)


@register("hellinger", title="Hellinger distance", kinds=CATEGORICAL, threshold=0.1, is_test=False)
def hellinger(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Hellinger distance between category shares."""
    value = hellinger_of_counts(*aligned_counts(reference, current))
    return MethodScore(value, statistic=value)


@register("tvd", title="Total variation distance", kinds=CATEGORICAL, threshold=0.1, is_test=False)
def tvd(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Total variation distance ½·Σ |p − q| between category shares, in [0, 1]."""
    ref, cur = aligned_counts(reference, current)
    value = float(0.5 * np.sum(np.abs(shares(ref) - shares(cur))))
    return MethodScore(value, statistic=value)


@register("linf", title="L-infinity distance", kinds=CATEGORICAL, threshold=0.1, is_test=False)
def linf(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Largest change of one category's share, max |p − q|."""
    ref, cur = aligned_counts(reference, current)
    value = float(np.max(np.abs(shares(ref) - shares(cur))))
    return MethodScore(value, statistic=value)
