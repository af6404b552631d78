"""Drift methods for numerical columns, on sorted present values.

Methods on the values themselves (KS, Anderson–Darling, Cramér–von Mises, Mann–Whitney,
Epps–Singleton, Wasserstein, energy) call scipy on both samples; Welch's t-test works from the
moments. Binned methods (PSI, KL, Jensen–Shannon, Hellinger) count both samples in the
reference's decile bins (:mod:`sightline.metrics.binning`) and compare the bins as categories
are compared. A result is ``exact`` unless a side's values were reconstructed from a summary.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from sightline.metrics.binning import bin_counts, decile_edges
from sightline.metrics.columns import ColumnKind, NumericalValues
from sightline.metrics.drift.base import MethodScore, register
from sightline.metrics.drift.categorical import (
    hellinger_of_counts,
    jensenshannon_of_counts,
    kl_of_counts,
    psi_of_counts,
)

NUMERICAL = {ColumnKind.NUMERICAL}

#: Floor of the reference standard deviation that normalizes the Wasserstein distance.
MIN_NORM = 0.001
#: scipy floors / caps the interpolated Anderson–Darling p-value to this range.
ANDERSON_P_RANGE = (0.001, 0.25)


def _exact(reference: NumericalValues, current: NumericalValues) -> bool:
    return reference.exact and current.exact


def _p_value_score(
    p_value: float, statistic: float | None, exact: bool, **details: object
) -> MethodScore:
    return MethodScore(p_value, statistic=statistic, p_value=p_value, exact=exact, details=details)


def decile_counts(
    reference: NumericalValues, current: NumericalValues
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both sides in the bins of the reference's deciles (outer bins open)."""
    edges = decile_edges(reference.values)
    return bin_counts(reference.values, edges), bin_counts(current.values, edges)


# --- statistical checks on the values -----------------------------------------------------------


#: The KS p-value is computed exactly up to this product of the two sample sizes.
KS_EXACT_UP_TO = 1_000_000


@register("ks", title="Kolmogorov–Smirnov", kinds=NUMERICAL, threshold=0.05, is_test=True)
def ks(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Two-sample Kolmogorov–Smirnov test (scipy's ``ks_2samp``); the score is the p-value.

    The p-value is exact while ``n_reference · n_current ≤ 10⁶`` (scipy's exact method costs
    time in proportion to that product) and asymptotic beyond, where the two agree closely;
    ``details["p_value_method"]`` says which.
    """
    method = "exact" if reference.n * current.n <= KS_EXACT_UP_TO else "asymp"
    with warnings.catch_warnings():
        # scipy falls back from the exact to the asymptotic p-value on some inputs and warns;
        # the asymptotic value is the right answer there, not a problem to report.
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        result = stats.ks_2samp(reference.values, current.values, method=method)
    return _p_value_score(
        float(result.pvalue),
        float(result.statistic),
        _exact(reference, current),
        p_value_method=method,
    )


@register(
    "anderson",
    title="Anderson–Darling k-sample test",
    kinds=NUMERICAL,
    threshold=0.05,
    is_test=True,
)
def anderson(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Anderson–Darling k-sample test, midrank variant (``scipy.stats.anderson_ksamp``).

    scipy interpolates the p-value in a table and floors / caps it to 0.001 … 0.25: the result
    says so in ``p_value_limit`` ("floored", "capped" or None). Both sides holding one and the
    same value (scipy refuses: no distinct observations) is no drift, p-value 1.
    """
    low, high = ANDERSON_P_RANGE
    pooled_low = min(reference.values[0], current.values[0])
    pooled_high = max(reference.values[-1], current.values[-1])
    if pooled_low == pooled_high:
        return _p_value_score(
            1.0, None, _exact(reference, current), p_value_range=[low, high], p_value_limit=None
        )
    with warnings.catch_warnings():
        # scipy warns whenever the p-value is outside its table (floored or capped); the result
        # records that in p_value_limit instead.
        warnings.filterwarnings("ignore", "p-value (capped|floored)", UserWarning)
        result = stats.anderson_ksamp([reference.values, current.values], variant="midrank")
    p_value = float(result.pvalue)
    limit = "floored" if p_value <= low else "capped" if p_value >= high else None
    return _p_value_score(
        p_value,
        float(result.statistic),
        _exact(reference, current),
        p_value_range=[low, high],
        p_value_limit=limit,
    )


@register(
    "cramervonmises", title="Cramér–von Mises test", kinds=NUMERICAL, threshold=0.05, is_test=True
)
def cramervonmises(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Two-sample Cramér–von Mises test (``scipy.stats.cramervonmises_2samp``)."""
    result = stats.cramervonmises_2samp(reference.values, current.values)
    return _p_value_score(float(result.pvalue), float(result.statistic), _exact(reference, current))


@register("mannwhitney", title="Mann–Whitney U test", kinds=NUMERICAL, threshold=0.05, is_test=True)
def mannwhitney(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Two-sided Mann–Whitney U test (``scipy.stats.mannwhitneyu``); the statistic is U of the
    reference."""
    result = stats.mannwhitneyu(reference.values, current.values, alternative="two-sided")
    return _p_value_score(float(result.pvalue), float(result.statistic), _exact(reference, current))


@register("ttest", title="Welch's t-test", kinds=NUMERICAL, threshold=0.05, is_test=True)
def ttest(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Welch's t-test of equal means, from each side's count, mean and sample variance.

    Uses the exact moments when a summary supplied them (so it stays exact on reconstructed
    values); equal to ``scipy.stats.ttest_ind(reference, current, equal_var=False)``. The
    statistic is t of reference minus current. Both sides constant: equal values are no drift
    (p = 1), different values are drift (p = 0, no finite statistic).
    """
    n_ref, n_cur = reference.n, current.n
    if n_ref < 2 or n_cur < 2:
        raise ValueError(f"Welch's t-test needs 2 values per side, got {n_ref} and {n_cur}")
    se_ref, se_cur = reference.variance / n_ref, current.variance / n_cur
    exact = (reference.moments is not None or reference.exact) and (
        current.moments is not None or current.exact
    )
    difference = reference.mean - current.mean
    if se_ref + se_cur == 0:
        if difference == 0:
            return _p_value_score(1.0, 0.0, exact)
        return _p_value_score(0.0, None, exact, reason="both sides constant, at different values")
    t = difference / math.sqrt(se_ref + se_cur)
    df = (se_ref + se_cur) ** 2 / (se_ref**2 / (n_ref - 1) + se_cur**2 / (n_cur - 1))
    p_value = float(2 * stats.t.sf(abs(t), df))
    if not math.isfinite(t) or not math.isfinite(p_value):
        raise ValueError("Welch's t-test got non-finite moments")
    return _p_value_score(p_value, t, exact, df=df)


@register(
    "epps_singleton", title="Epps–Singleton test", kinds=NUMERICAL, threshold=0.05, is_test=True
)
def epps_singleton(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Epps–Singleton test on the empirical characteristic functions
    (``scipy.stats.epps_singleton_2samp``, t = 0.4, 0.8 scaled by the pooled semi-IQR).

    Undefined on degenerate data, which raises ValueError: fewer than 5 values on a side, an
    interquartile range of 0 (more than half the values are one value), or a singular
    covariance estimate (discrete data with few distinct values).
    """
    if reference.n < 5 or current.n < 5:
        raise ValueError(
            "the Epps–Singleton test needs at least 5 values on each side, "
            f"got {reference.n} and {current.n}"
        )
    pooled = np.concatenate((reference.values, current.values))
    q1, q3 = np.percentile(pooled, [25, 75])
    if q1 == q3:
        raise ValueError(
            "the Epps–Singleton test is undefined when the interquartile range is 0 "
            "(more than half the values are one value); use chisquare or ks"
        )
    with warnings.catch_warnings():
        # scipy only warns when the covariance estimate is singular (discrete data with few
        # distinct values) and returns an unreliable p-value: that is degenerate input here.
        warnings.simplefilter("error")
        try:
            result = stats.epps_singleton_2samp(reference.values, current.values)
        except (Warning, np.linalg.LinAlgError) as problem:
            raise ValueError(
                "the Epps–Singleton covariance estimate is singular on this data (too few "
                f"distinct values?): {problem}; use chisquare or ks"
            ) from problem
    p_value = float(result.pvalue)
    if not math.isfinite(p_value):
        raise ValueError("the Epps–Singleton test gave no p-value on this data; use ks")
    return _p_value_score(p_value, float(result.statistic), _exact(reference, current))


# --- distances on the values --------------------------------------------------------------------


@register(
    "wasserstein",
    title="Wasserstein distance (normed)",
    kinds=NUMERICAL,
    threshold=0.1,
    is_test=False,
)
def wasserstein(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """First Wasserstein distance divided by the reference's standard deviation.

    Computed exactly from both sorted samples: the area between the two empirical CDFs.
    """
    distance = wasserstein_sorted(reference.values, current.values)
    norm = max(float(np.std(reference.values)), MIN_NORM)
    return MethodScore(distance / norm, statistic=distance, exact=_exact(reference, current))


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two samples given sorted: ∫ |F_a(x) − F_b(x)| dx.

    The two sorted runs are merged (a stable argsort of two runs is a linear-time merge); each
    merged point's side gives both empirical CDFs by running counts, without binary searches.
    """
    points = np.concatenate((a, b))
    order = np.argsort(points, kind="stable")
    in_a = np.cumsum(order < a.size)[:-1]
    # F_a − F_b after the k-th merged point: in_a/n_a − (k − in_a)/n_b
    gap = in_a * (1 / a.size + 1 / b.size)
    gap -= np.arange(1, points.size) * (1 / b.size)
    np.abs(gap, out=gap)
    merged = points[order]
    return float(gap @ (merged[1:] - merged[:-1]))


@register("energy", title="Energy distance", kinds=NUMERICAL, threshold=0.1, is_test=False)
def energy(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Energy distance between the samples (``scipy.stats.energy_distance``).

    In the data's units, not normalized (Evidently's convention): the default threshold 0.1
    suits features on a unit scale; set a threshold per column for others.
    """
    value = float(stats.energy_distance(reference.values, current.values))
    return MethodScore(value, statistic=value, exact=_exact(reference, current))


# --- distances on the reference's decile bins ---------------------------------------------------


@register("psi", title="Population stability index", kinds=NUMERICAL, threshold=0.1, is_test=False)
def psi(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """PSI on the reference's decile bins, an empty bin counting as a share of 1e-4."""
    value = psi_of_counts(*decile_counts(reference, current))
    return MethodScore(value, statistic=value, exact=_exact(reference, current))


@register("kl", title="Kullback–Leibler divergence", kinds=NUMERICAL, threshold=0.1, is_test=False)
def kl(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """KL(reference ‖ current) on the reference's decile bins, empty bins counting as 1e-4."""
    value = kl_of_counts(*decile_counts(reference, current))
    return MethodScore(value, statistic=value, exact=_exact(reference, current))


@register(
    "jensenshannon",
    title="Jensen–Shannon distance",
    kinds=NUMERICAL,
    threshold=0.1,
    is_test=False,
)
def jensenshannon(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Jensen–Shannon distance (natural log) between the shares of the reference's decile bins."""
    value = jensenshannon_of_counts(*decile_counts(reference, current))
    return MethodScore(value, statistic=value, exact=_exact(reference, current))


@register("hellinger", title="Hellinger distance", kinds=NUMERICAL, threshold=0.1, is_test=False)
def hellinger(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Hellinger distance between the shares of the reference's decile bins."""
    value = hellinger_of_counts(*decile_counts(reference, current))
    return MethodScore(value, statistic=value, exact=_exact(reference, current))
