"""Per-window column summaries that merge exactly.

A summary holds what every metric of a column needs, in a form where merging two windows'
summaries gives exactly the summary of their union, whatever the order: counts add, extremes
take the min/max, moments combine (Chan et al.), histograms on the reference's percentile edges
add, sketches merge (:mod:`sightline.metrics.sketches`). So an hourly summary rolls up to a day
or a week without re-reading rows, and a cluster engine only has to produce summaries.

Metrics computed from a summary are exact when they only need counts (binned methods,
categorical methods, missing share, means, the t-test) and approximate when they need the raw
values (KS, Wasserstein and the other rank- or distance-based methods): those run on
:meth:`NumericalSummary.to_values`, the per-bin means repeated by their counts, and say so
(``exact=False``). Columns with at most ``EXACT_VALUES`` distinct values keep their value counts,
which makes every method exact for them.

    >>> import numpy as np
    >>> edges = np.array([1.0, 2.0])
    >>> a = NumericalSummary.from_values(NumericalValues.from_numpy(np.array([0.5, 1.5])), edges)
    >>> b = NumericalSummary.from_values(NumericalValues.from_numpy(np.array([2.5, np.nan])), edges)
    >>> merged = a.merge(b)
    >>> merged.n, merged.n_missing, merged.counts.tolist()
    (3, 1, [1, 1, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sightline.metrics.binning import bin_counts
from sightline.metrics.columns import CategoricalCounts, NumericalValues, union_categories
from sightline.metrics.sketches import DistinctSketch, QuantileSketch

__all__ = ["EXACT_VALUES", "CategoricalSummary", "NumericalSummary"]

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]

#: A numerical summary keeps exact value counts while a column has at most this many values.
EXACT_VALUES = 1000


@dataclass(frozen=True)
class NumericalSummary:
    """Counts, moments, extremes, a histogram on the reference's edges and sketches."""

    n: int
    n_missing: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    minimum: float
    maximum: float
    edges: FloatArray
    counts: IntArray  # len(edges) + 1 bins
    sums: FloatArray  # sum of the values in each bin, for per-bin means
    quantiles: QuantileSketch
    distinct: DistinctSketch
    values: FloatArray | None = None  # distinct values (sorted) while there are few of them
    value_counts: IntArray | None = None
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the reference's range (or declared)
    n_below: int = 0  # values under bounds[0]
    n_above: int = 0  # values over bounds[1]

    @property
    def n_rows(self) -> int:
        return self.n + self.n_missing

    @property
    def variance(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else float("nan")

    @classmethod
    def from_values(
        cls,
        column: NumericalValues,
        edges: FloatArray,
        bounds: tuple[float, float] = (-math.inf, math.inf),
    ) -> NumericalSummary:
        """Summary of one window's sorted present values, binned on the reference's ``edges``,
        counting the values outside ``bounds`` (the reference's range, or declared bounds)."""
        values = column.values
        n = int(values.size)
        counts = bin_counts(values, edges)
        cuts = np.concatenate(([0], np.cumsum(counts)))
        cumulative = np.concatenate(([0.0], np.cumsum(values)))
        sums = cumulative[cuts[1:]] - cumulative[cuts[:-1]]
        mean = float(values.mean()) if n else 0.0
        m2 = float(np.sum((values - mean) ** 2)) if n else 0.0
        distinct_values: FloatArray | None = None
        distinct_counts: IntArray | None = None
        if n:
            starts = np.concatenate(([0], np.flatnonzero(np.diff(values)) + 1))
            if starts.size <= EXACT_VALUES:
                distinct_values = values[starts]
                distinct_counts = np.diff(np.concatenate((starts, [n]))).astype(np.int64)
        else:
            distinct_values = np.empty(0, np.float64)
            distinct_counts = np.empty(0, np.int64)
        return cls(
            n=n,
            n_missing=column.n_missing,
            mean=mean,
            m2=m2,
            minimum=float(values[0]) if n else math.inf,
            maximum=float(values[-1]) if n else -math.inf,
            edges=edges,
            counts=counts,
            sums=sums,
            quantiles=QuantileSketch.from_sorted(values),
            distinct=DistinctSketch.from_values(values),
            values=distinct_values,
            value_counts=distinct_counts,
            bounds=(float(bounds[0]), float(bounds[1])),
            n_below=int(np.searchsorted(values, bounds[0], side="left")),
            n_above=int(n - np.searchsorted(values, bounds[1], side="right")),
        )

    def merge(self, other: NumericalSummary) -> NumericalSummary:
        """The summary of both windows' rows together (exact, order-independent)."""
        if not np.array_equal(self.edges, other.edges) or self.bounds != other.bounds:
            raise ValueError("summaries made against different references do not merge")
        n = self.n + other.n
        if n:
            delta = other.mean - self.mean
            mean = (self.n * self.mean + other.n * other.mean) / n
            m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        else:
            mean, m2 = 0.0, 0.0
        values, value_counts = _merge_value_counts(self, other)
        return NumericalSummary(
            n=n,
            n_missing=self.n_missing + other.n_missing,
            mean=mean,
            m2=m2,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            edges=self.edges,
            counts=self.counts + other.counts,
            sums=self.sums + other.sums,
            quantiles=self.quantiles.merge(other.quantiles),
            distinct=self.distinct.merge(other.distinct),
            values=values,
            value_counts=value_counts,
            bounds=self.bounds,
            n_below=self.n_below + other.n_below,
            n_above=self.n_above + other.n_above,
        )

    @property
    def exact_values(self) -> bool:
        return self.values is not None

    def n_distinct(self) -> tuple[int, bool]:
        """The number of distinct values and whether it is exact (else a HyperLogLog estimate)."""
        if self.values is not None:
            return int(self.values.size), True
        return round(self.distinct.estimate()), False

    def to_values(self) -> NumericalValues:
        """Sorted values for the methods that need a sample: the exact values while the column
        has few distinct values (``exact=True``), else a reconstruction (``exact=False``).

        The reconstruction puts every value at its rank's quantile from the quantile sketch,
        clipped into the value's bin (bin counts are exact), then shifts each bin's values so
        their mean is the bin's exact mean. So binned methods stay exact, the overall mean is
        exact, and the shape inside a bin (the long open tails in particular) follows the
        sketch. The exact moments travel along.
        """
        moments = (self.mean, self.variance)
        if self.values is not None and self.value_counts is not None:
            sample = np.repeat(self.values, self.value_counts)
            return NumericalValues(sample, self.n_missing, exact=True, moments=moments)
        if self.n == 0:
            return NumericalValues(np.empty(0), self.n_missing, exact=False, moments=moments)
        low = np.concatenate(([-np.inf], self.edges))
        high = np.nextafter(np.concatenate((self.edges, [np.inf])), -np.inf)  # bins are [low, high)
        low = np.maximum(low, self.minimum)
        high = np.minimum(high, self.maximum)
        bins = np.repeat(np.arange(self.counts.size), self.counts)
        ranks = (np.arange(self.n) + 0.5) / self.n
        sample = np.clip(self.quantiles.quantile_array(ranks), low[bins], high[bins])
        filled = self.counts > 0
        shift = np.zeros(self.counts.size)
        shift[filled] = (
            self.sums[filled]
            - np.bincount(bins, weights=sample, minlength=self.counts.size)[filled]
        ) / self.counts[filled]
        sample = np.clip(sample + shift[bins], low[bins], high[bins])
        return NumericalValues(np.sort(sample), self.n_missing, exact=False, moments=moments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "numerical",
            "n": self.n,
            "n_missing": self.n_missing,
            "mean": self.mean,
            "m2": self.m2,
            "min": _finite(self.minimum),
            "max": _finite(self.maximum),
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "sums": self.sums.tolist(),
            "quantiles": self.quantiles.to_dict(),
            "distinct": self.distinct.to_dict(),
            "values": None if self.values is None else self.values.tolist(),
            "value_counts": None if self.value_counts is None else self.value_counts.tolist(),
            "bounds": [_finite(self.bounds[0]), _finite(self.bounds[1])],
            "n_below": self.n_below,
            "n_above": self.n_above,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericalSummary:
        values = data.get("values")
        value_counts = data.get("value_counts")
        return cls(
            n=int(data["n"]),
            n_missing=int(data["n_missing"]),
            mean=float(data["mean"]),
            m2=float(data["m2"]),
            minimum=math.inf if data["min"] is None else float(data["min"]),
            maximum=-math.inf if data["max"] is None else float(data["max"]),
            edges=np.asarray(data["edges"], np.float64),
            counts=np.asarray(data["counts"], np.int64),
            sums=np.asarray(data["sums"], np.float64),
            quantiles=QuantileSketch.from_dict(data["quantiles"]),
            distinct=DistinctSketch.from_dict(data["distinct"]),
            values=None if values is None else np.asarray(values, np.float64),
            value_counts=None if value_counts is None else np.asarray(value_counts, np.int64),
            bounds=(
                -math.inf if data["bounds"][0] is None else float(data["bounds"][0]),
                math.inf if data["bounds"][1] is None else float(data["bounds"][1]),
            ),
            n_below=int(data["n_below"]),
            n_above=int(data["n_above"]),
        )


@dataclass(frozen=True)
class CategoricalSummary:
    """Counts per category and missing values: exact, and all categorical metrics need."""

    counts: CategoricalCounts

    @property
    def n(self) -> int:
        return self.counts.n

    @property
    def n_missing(self) -> int:
        return self.counts.n_missing

    @property
    def n_rows(self) -> int:
        return self.counts.n_rows

    @classmethod
    def from_counts(cls, counts: CategoricalCounts) -> CategoricalSummary:
        return cls(counts)

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        categories = union_categories(self.counts, other.counts)
        total = self.counts.aligned(categories) + other.counts.aligned(categories)
        return CategoricalSummary(
            CategoricalCounts(categories, total, self.n_missing + other.n_missing)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "categories": list(self.counts.categories),
            "counts": self.counts.counts.tolist(),
            "n_missing": self.n_missing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalSummary:
        return cls(
            CategoricalCounts(
                tuple(data["categories"]),
                np.asarray(data["counts"], np.int64),
                int(data["n_missing"]),
            )
        )


def _merge_value_counts(
    a: NumericalSummary, b: NumericalSummary
) -> tuple[FloatArray | None, IntArray | None]:
    if a.values is None or b.values is None or a.value_counts is None or b.value_counts is None:
        return None, None
    values = np.concatenate((a.values, b.values))
    counts = np.concatenate((a.value_counts, b.value_counts))
    unique, inverse = np.unique(values, return_inverse=True)
    if unique.size > EXACT_VALUES:
        return None, None
    merged = np.bincount(inverse, weights=counts, minlength=unique.size).astype(np.int64)
    return unique, merged


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
