"""Data quality: per-column statistics and checks, and dataset-level checks.

Per column: rows, missing share, summary statistics (count, mean, std, min, quantiles, max,
distinct count; top categories), out-of-range share against the reference's range (or declared
bounds), unseen categories, constant columns and type mismatches. Per dataset: duplicated rows,
duplicated ids and schema changes (missing or new columns, type changes).

Everything is exact when computed from a window's values. From a rolled-up
:class:`~sightline.metrics.summaries.NumericalSummary`, quantiles come from the quantile sketch
(within 0.5 % relative error) and the distinct count from the HyperLogLog unless the column has
few values; ``exact`` says which.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.metrics.binning import sorted_quantiles
from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues
from sightline.metrics.summaries import NumericalSummary

__all__ = [
    "QUANTILES",
    "ColumnQuality",
    "DatasetQuality",
    "categorical_quality",
    "dataset_quality",
    "numerical_quality",
]

#: The quantiles reported for numerical columns.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Categories listed as the top of a categorical column.
TOP_CATEGORIES = 10


@dataclass(frozen=True)
class ColumnQuality:
    """Statistics and checks of one column of the current data."""

    column: str
    kind: ColumnKind
    n_rows: int
    n_missing: int
    n_distinct: int | None = None
    exact: bool = True
    # numerical
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    quantiles: dict[str, float | None] = field(default_factory=dict)
    out_of_range_share: float | None = None
    bounds: tuple[float | None, float | None] | None = None
    # categorical
    top: list[dict[str, Any]] = field(default_factory=list)
    unseen_share: float | None = None
    unseen: list[str] = field(default_factory=list)
    # both
    type_mismatch_share: float | None = None

    @property
    def missing_share(self) -> float | None:
        return self.n_missing / self.n_rows if self.n_rows else None

    @property
    def constant(self) -> bool | None:
        """True when the present values are all the same (None when there are none)."""
        return (
            None
            if self.n_distinct is None or self.n_rows == self.n_missing
            else self.n_distinct <= 1
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "missing_share": self.missing_share,
            "n_distinct": self.n_distinct,
            "constant": self.constant,
            "exact": self.exact,
            "mean": self.mean,
            "std": self.std,
            "min": self.minimum,
            "max": self.maximum,
            "quantiles": self.quantiles,
            "out_of_range_share": self.out_of_range_share,
            "bounds": list(self.bounds) if self.bounds else None,
            "top": self.top,
            "unseen_share": self.unseen_share,
            "unseen": self.unseen,
            "type_mismatch_share": self.type_mismatch_share,
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def numerical_quality(
    column: str,
    current: NumericalValues | NumericalSummary,
    *,
    bounds: tuple[float, float] | None = None,
    type_mismatches: int = 0,
) -> ColumnQuality:
    """Statistics of a numerical column; values outside ``bounds`` (the reference's range or
    declared bounds) count as out of range."""
    if isinstance(current, NumericalSummary):
        return _numerical_from_summary(column, current, type_mismatches)
    values = current.values
    n = values.size
    rows = current.n_rows
    mismatch = type_mismatches / rows if rows else None
    if n == 0:
        return ColumnQuality(
            column, ColumnKind.NUMERICAL, rows, current.n_missing, n_distinct=0,
            quantiles={_q(q): None for q in QUANTILES}, type_mismatch_share=mismatch,
        )  # fmt: skip
    out_of_range = None
    if bounds is not None:
        below = np.searchsorted(values, bounds[0], side="left")
        above = n - np.searchsorted(values, bounds[1], side="right")
        out_of_range = float(below + above) / n
    return ColumnQuality(
        column=column,
        kind=ColumnKind.NUMERICAL,
        n_rows=rows,
        n_missing=current.n_missing,
        n_distinct=current.n_unique(),
        mean=current.mean,
        std=float(np.sqrt(current.variance)) if n > 1 else None,
        minimum=float(values[0]),
        maximum=float(values[-1]),
        quantiles={
            _q(q): v
            for q, v in zip(
                QUANTILES, sorted_quantiles(values, np.asarray(QUANTILES)).tolist(), strict=True
            )
        },
        out_of_range_share=out_of_range,
        bounds=(_finite(bounds[0]), _finite(bounds[1])) if bounds else None,
        type_mismatch_share=mismatch,
    )


def _numerical_from_summary(
    column: str, summary: NumericalSummary, type_mismatches: int
) -> ColumnQuality:
    n = summary.n
    rows = summary.n_rows
    n_distinct, exact = summary.n_distinct()
    if summary.values is not None and summary.value_counts is not None and n:
        sample = np.repeat(summary.values, summary.value_counts)
        quantiles: dict[str, float | None] = {
            _q(q): v
            for q, v in zip(
                QUANTILES, sorted_quantiles(sample, np.asarray(QUANTILES)).tolist(), strict=True
            )
        }
    else:
        quantiles = {
            _q(q): v
            for q, v in zip(QUANTILES, summary.quantiles.quantiles(list(QUANTILES)), strict=True)
        }
    bounded = np.isfinite(summary.bounds[0]) or np.isfinite(summary.bounds[1])
    return ColumnQuality(
        column=column,
        kind=ColumnKind.NUMERICAL,
        n_rows=rows,
        n_missing=summary.n_missing,
        n_distinct=n_distinct,
        exact=exact and summary.values is not None,
        mean=summary.mean if n else None,
        std=float(np.sqrt(summary.variance)) if n > 1 else None,
        minimum=_finite(summary.minimum),
        maximum=_finite(summary.maximum),
        quantiles=quantiles,
        out_of_range_share=(summary.n_below + summary.n_above) / n if n and bounded else None,
        bounds=(_finite(summary.bounds[0]), _finite(summary.bounds[1])) if bounded else None,
        type_mismatch_share=type_mismatches / rows if rows else None,
    )


def categorical_quality(
    column: str,
    current: CategoricalCounts,
    *,
    reference: CategoricalCounts | None = None,
    type_mismatches: int = 0,
) -> ColumnQuality:
    """Statistics of a categorical column; categories the reference never had are unseen."""
    n = current.n
    order = np.argsort(-current.counts, kind="stable")
    top = [
        {
            "category": current.categories[i],
            "count": int(current.counts[i]),
            "share": float(current.counts[i]) / n,
        }
        for i in order[:TOP_CATEGORIES]
    ]
    unseen_share = None
    unseen: list[str] = []
    if reference is not None and n:
        known = set(reference.categories)
        new = [i for i in order if current.categories[i] not in known]
        unseen = [current.categories[i] for i in new[:TOP_CATEGORIES]]
        unseen_share = float(current.counts[new].sum()) / n if new else 0.0
    rows = current.n_rows
    return ColumnQuality(
        column=column,
        kind=ColumnKind.CATEGORICAL,
        n_rows=rows,
        n_missing=current.n_missing,
        n_distinct=len(current.categories),
        top=top,
        unseen_share=unseen_share,
        unseen=unseen,
        type_mismatch_share=type_mismatches / rows if rows else None,
    )


@dataclass(frozen=True)
class DatasetQuality:
    """Dataset-level checks of the current data (against the reference where one is given)."""

    n_rows: int
    n_columns: int
    duplicated_rows: int
    duplicated_ids: int | None = None
    missing_columns: list[str] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)
    type_changes: list[dict[str, str]] = field(default_factory=list)
    constant_columns: list[str] = field(default_factory=list)
    empty_columns: list[str] = field(default_factory=list)

    @property
    def duplicated_rows_share(self) -> float | None:
        return self.duplicated_rows / self.n_rows if self.n_rows else None

    @property
    def schema_changed(self) -> bool:
        return bool(self.missing_columns or self.new_columns or self.type_changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "duplicated_rows": self.duplicated_rows,
            "duplicated_rows_share": self.duplicated_rows_share,
            "duplicated_ids": self.duplicated_ids,
            "schema_changed": self.schema_changed,
            "missing_columns": self.missing_columns,
            "new_columns": self.new_columns,
            "type_changes": self.type_changes,
            "constant_columns": self.constant_columns,
            "empty_columns": self.empty_columns,
        }


def dataset_quality(
    current: pa.Table,
    *,
    reference: pa.Table | pa.Schema | None = None,
    columns: Sequence[str] | None = None,
    id_column: str | None = None,
    column_quality: Sequence[ColumnQuality] = (),
    schema_columns: Collection[str] | None = None,
) -> DatasetQuality:
    """Duplicates over ``columns`` (default: all), duplicated ids, and schema changes against
    ``reference`` (a table or its schema) of ``schema_columns`` (default: all).

    Rows are compared by a 64-bit hash of their values: two different rows collide with a
    probability of about n²/2⁶⁵ (3·10⁻⁸ for a million rows).
    """
    names = list(columns) if columns is not None else current.column_names
    duplicated_rows = _duplicates(current, names) if names else 0
    duplicated_ids = (
        _duplicates(current, [id_column])
        if id_column and id_column in current.column_names
        else None
    )
    missing: list[str] = []
    new: list[str] = []
    changes: list[dict[str, str]] = []
    if reference is not None:
        checked = schema_columns
        before = {
            f.name: f.type
            for f in (reference if isinstance(reference, pa.Schema) else reference.schema)
            if checked is None or f.name in checked
        }
        after = {f.name: f.type for f in current.schema if checked is None or f.name in checked}
        missing = [c for c in before if c not in after]
        new = [c for c in after if c not in before]
        changes = [
            {"column": c, "reference": str(before[c]), "current": str(after[c])}
            for c in before
            if c in after and _family(before[c]) != _family(after[c])
        ]
    return DatasetQuality(
        n_rows=current.num_rows,
        n_columns=current.num_columns,
        duplicated_rows=duplicated_rows,
        duplicated_ids=duplicated_ids,
        missing_columns=missing,
        new_columns=new,
        type_changes=changes,
        constant_columns=[q.column for q in column_quality if q.constant],
        empty_columns=[q.column for q in column_quality if q.n_rows and q.n_missing == q.n_rows],
    )


def _family(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_temporal(kind):
        return "time"
    if pa.types.is_dictionary(kind):
        return _family(kind.value_type)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    return str(kind)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _column_hash(column: pa.ChunkedArray) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
    """A 64-bit key per row of one column (equal values, equal keys; nulls alike)."""
    if pa.types.is_integer(column.type):
        # Integers by their own 64 bits (ids beyond 2**53 do not survive a float); nulls apart.
        ints = np.asarray(
            pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False)
        )
        keys_int: np.ndarray[tuple[int], np.dtype[np.uint64]] = ints.astype(np.int64).view(
            np.uint64
        )
        nulls = np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
        return np.where(nulls, np.uint64(0x8000000000000001), keys_int)
    if pa.types.is_floating(column.type):
        values = np.asarray(
            pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
            np.float64,
        )
        values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN, one zero
        keys: np.ndarray[tuple[int], np.dtype[np.uint64]] = values.view(np.uint64)
        return keys
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    text = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
    whole = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    # One dictionary for the whole column: codes index its distinct values; nulls get -1.
    encoded = pc.dictionary_encode(whole)
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), np.int64)
    return codes.astype(np.uint64)


def _duplicates(table: pa.Table, names: Sequence[str]) -> int:
    """Rows whose values (over ``names``) equal those of an earlier row."""
    if table.num_rows < 2:
        return 0
    key = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in names:
            h = _column_hash(table.column(name))
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            key = (key * _MIX) ^ (h ^ (h >> np.uint64(31)))
    key.sort()
    return int(np.count_nonzero(key[1:] == key[:-1]))


def _q(q: float) -> str:
    return f"p{round(q * 100):02d}"
