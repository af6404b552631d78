"""Drift methods for numerical columns, on sorted present values."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from sightline.metrics.columns import ColumnKind, NumericalValues
from sightline.metrics.drift.base import MethodScore, register

NUMERICAL = {ColumnKind.NUMERICAL}

#: Floor of the reference standard deviation that normalizes the Wasserstein distance.
MIN_NORM = 0.001


@register("ks", title="Kolmogorov–Smirnov", kinds=NUMERICAL, threshold=0.05, is_test=True)
def ks(reference: NumericalValues, current: NumericalValues) -> MethodScore:
    """Two-sample Kolmogorov–Smirnov test (scipy's ``ks_2samp``); the score is the p-value."""
    with warnings.catch_warnings():
        # scipy falls back from the exact to the asymptotic p-value on some inputs and warns;
        # the asymptotic value is the right answer there, not a problem to report.
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        result = stats.ks_2samp(reference.values, current.values)
    return MethodScore(
        float(result.pvalue), statistic=float(result.statistic), p_value=float(result.pvalue)
    )


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
    return MethodScore(distance / norm, statistic=distance)


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two samples given sorted: ∫ |F_a(x) − F_b(x)| dx, in O(n) after the sort."""
    points = np.concatenate((a, b))
    points.sort(kind="stable")  # two sorted runs: merged in linear time
    deltas = np.diff(points)
    cdf_a = np.searchsorted(a, points[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, points[:-1], side="right") / b.size
    return float(np.dot(np.abs(cdf_a - cdf_b), deltas))
