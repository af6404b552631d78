"""Columns prepared for the engine: sorted numerical values or category counts.

Each column is read once from Arrow into the form every metric of its kind works from, so a
column's values are sorted (numerical) or counted (categorical) exactly once per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ComputeError
from sightline.schema.model import number_label

__all__ = ["CategoricalCounts", "ColumnKind", "NumericalValues", "infer_kind"]

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


class ColumnKind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class NumericalValues:
    """The present values of a numerical column, sorted, and how many rows were missing
    (null, NaN or infinite: a value that cannot be compared counts as missing).

    ``exact`` is False when the values were reconstructed from a summary (per-bin means
    repeated by their counts, see :mod:`sightline.metrics.summaries`): methods computed on them
    are approximations and say so. ``moments`` (mean, variance with ddof=1), when given, are the
    exact moments of the original values and take precedence over those of ``values``.
    """

    values: FloatArray
    n_missing: int
    exact: bool = True
    moments: tuple[float, float] | None = None

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def n_rows(self) -> int:
        return self.n + self.n_missing

    @classmethod
    def from_arrow(cls, column: pa.Array | pa.ChunkedArray) -> NumericalValues:
        if infer_kind(column) is not ColumnKind.NUMERICAL and not pa.types.is_boolean(column.type):
            raise ComputeError(
                f"a column of type {column.type} cannot be compared as numerical; "
                "compare it as categorical"
            )
        n_rows = len(column)
        present = pc.drop_null(column)
        values = np.asarray(present.to_numpy(zero_copy_only=False), dtype=np.float64)
        finite = np.isfinite(values)
        values = values if finite.all() else values[finite]  # NaN and ±inf count as missing
        return cls(np.sort(values), n_rows - int(values.size))

    @classmethod
    def from_numpy(cls, values: np.ndarray) -> NumericalValues:
        array = np.asarray(values, dtype=np.float64).ravel()
        present = array[np.isfinite(array)]
        return cls(np.sort(present), int(array.size - present.size))

    @property
    def mean(self) -> float:
        if self.moments is not None:
            return self.moments[0]
        return (
            float(np.add.reduce(self.values) / self.values.size)
            if self.values.size
            else float("nan")
        )

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1)."""
        if self.moments is not None:
            return self.moments[1]
        return float(self.values.var(ddof=1)) if self.values.size > 1 else float("nan")

    def n_unique(self) -> int:
        """Distinct present values (counted once, then remembered)."""
        cached: int | None = self.__dict__.get("_n_unique")
        if cached is None:
            values = self.values
            cached = int(np.count_nonzero(values[1:] != values[:-1]) + 1) if values.size else 0
            self.__dict__["_n_unique"] = cached  # frozen: bypass __setattr__ for the cache
        return cached

    def as_categorical(self) -> CategoricalCounts:
        """The distinct values as categories (for numerical columns with very few values)."""
        uniques, counts = np.unique(self.values, return_counts=True)
        return CategoricalCounts(
            tuple(number_label(u) for u in uniques), counts.astype(np.int64), self.n_missing
        )


@dataclass(frozen=True)
class CategoricalCounts:
    """Counts per category of a column (categories in a stable, sorted order)."""

    categories: tuple[str, ...]
    counts: IntArray
    n_missing: int

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def n_rows(self) -> int:
        return self.n + self.n_missing

    @classmethod
    def from_arrow(cls, column: pa.Array | pa.ChunkedArray) -> CategoricalCounts:
        n_rows = len(column)
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), None, column)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = _to_string(column)
        counted = pc.value_counts(pc.drop_null(column))
        categories = counted.field("values").to_pylist()
        counts = np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)
        order = sorted(range(len(categories)), key=categories.__getitem__)
        n_present = int(counts.sum())
        return cls(tuple(categories[i] for i in order), counts[order], n_rows - n_present)

    def aligned(self, categories: tuple[str, ...]) -> IntArray:
        """Counts in the order of ``categories`` (0 for a category this column never had)."""
        index = {c: i for i, c in enumerate(self.categories)}
        out = np.zeros(len(categories), dtype=np.int64)
        for j, c in enumerate(categories):
            i = index.get(c)
            if i is not None:
                out[j] = self.counts[i]
        return out


def union_categories(*columns: CategoricalCounts) -> tuple[str, ...]:
    return tuple(sorted(set().union(*(c.categories for c in columns))))


def infer_kind(column: pa.Array | pa.ChunkedArray) -> ColumnKind:
    """Numbers are numerical; strings, booleans and dictionaries are categorical."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return ColumnKind.NUMERICAL
    return ColumnKind.CATEGORICAL


def _to_string(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    if pa.types.is_dictionary(column.type):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(column.type):
        # 3.0 and 3 are one category: integral floats print without a fraction.
        values = column.to_numpy(zero_copy_only=False)
        return pa.array([None if v != v else number_label(v) for v in values], pa.string())
    return pc.cast(column, pa.string())
