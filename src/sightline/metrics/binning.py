"""Binning of numerical columns on the reference's quantiles, and shares with smoothing.

Every binned comparison of a numerical column uses edges taken from the reference: the fine
edges are its percentiles (99 inner edges, duplicates removed), the coarse edges its deciles (a
subset of the fine ones, so coarse counts are sums of fine counts). Bins are half-open,
``(-inf, e0), [e0, e1), ..., [e_last, +inf)``: current values outside the reference's range land
in the outer bins.

    >>> import numpy as np
    >>> ref = np.arange(1000.0)
    >>> edges = decile_edges(ref)
    >>> bin_counts(ref, edges).tolist()
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EMPTY_SHARE",
    "bin_counts",
    "coarsen",
    "decile_edges",
    "percentile_edges",
    "shares",
    "smoothed_shares",
    "sorted_quantiles",
]

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]

#: Share given to an empty bin by methods that take logarithms of shares (PSI, KL): the
#: convention of Evidently, so scores are comparable. Other shares are left as they are.
EMPTY_SHARE = 1e-4


def sorted_quantiles(values: FloatArray, qs: FloatArray) -> FloatArray:
    """Quantiles of sorted ``values``, as ``np.quantile`` computes them (linear interpolation),
    by indexing instead of partitioning."""
    position = qs * (values.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, values.size - 1)
    fraction = position - low
    result: FloatArray = values[low] + (values[high] - values[low]) * fraction
    return result


def percentile_edges(reference: FloatArray) -> FloatArray:
    """Inner edges at the 1st … 99th percentiles of the sorted reference (distinct)."""
    if reference.size == 0:
        return np.empty(0, dtype=np.float64)
    return np.unique(sorted_quantiles(reference, np.arange(1, 100) / 100))


def decile_edges(reference: FloatArray) -> FloatArray:
    """Inner edges at the deciles of the sorted reference (distinct)."""
    if reference.size == 0:
        return np.empty(0, dtype=np.float64)
    # Computed exactly as the percentile edges are, so deciles are a subset of them.
    return np.unique(sorted_quantiles(reference, np.arange(1, 100) / 100)[9::10])


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of ``sorted_values`` in the ``len(edges) + 1`` bins the inner ``edges`` make."""
    positions = np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate(([0], positions, [sorted_values.size]))
    return np.diff(bounds).astype(np.int64)


def coarsen(counts: IntArray, fine_edges: FloatArray, coarse_edges: FloatArray) -> IntArray:
    """Counts on ``coarse_edges`` from counts on ``fine_edges`` (coarse ⊆ fine)."""
    cuts = np.searchsorted(fine_edges, coarse_edges, side="left")
    if not np.array_equal(fine_edges[np.minimum(cuts, fine_edges.size - 1)], coarse_edges):
        raise ValueError("coarse edges must be a subset of the fine edges")
    return np.add.reduceat(counts, np.concatenate(([0], cuts + 1))).astype(np.int64)


def shares(counts: IntArray) -> FloatArray:
    total = counts.sum()
    if total == 0:
        return np.zeros(counts.size, dtype=np.float64)
    result: FloatArray = counts / total
    return result


def smoothed_shares(counts: IntArray) -> FloatArray:
    """Shares where an empty bin counts as ``EMPTY_SHARE`` (not renormalized, as Evidently)."""
    result = shares(counts)
    result[result == 0] = EMPTY_SHARE
    return result
