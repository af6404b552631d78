"""Drift methods for categorical columns, on counts over the union of categories."""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial import distance

from sightline.metrics.columns import CategoricalCounts, ColumnKind, union_categories
from sightline.metrics.drift.base import MethodScore, register

CATEGORICAL = {ColumnKind.CATEGORICAL}


def aligned_counts(
    reference: CategoricalCounts, current: CategoricalCounts
) -> tuple[np.ndarray, np.ndarray]:
    categories = union_categories(reference, current)
    return reference.aligned(categories), current.aligned(categories)


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


@register(
    "jensenshannon",
    title="Jensen–Shannon distance",
    kinds=CATEGORICAL,
    threshold=0.1,
    is_test=False,
)
def jensenshannon(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
    """Jensen–Shannon distance (natural log, scipy's convention) between category shares."""
    ref, cur = aligned_counts(reference, current)
    value = float(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
    return MethodScore(value, statistic=value)
