"""Compare a current table with a reference table: data quality and drift, column by column.

    >>> import pyarrow as pa
    >>> ref = pa.table({"x": [float(i % 50) for i in range(500)]})
    >>> cur = pa.table({"x": [float(i % 50) + 20 for i in range(500)]})
    >>> report = compare_tables(ref, cur)
    >>> report.columns["x"].drift.method, report.columns["x"].drift.drifted
    ('ks', True)

The reference side of each column is prepared once (:class:`ReferenceProfile`: sorted values,
percentile edges, range; or category counts) and can be reused for every window compared with
it. Columns are processed in parallel threads: the heavy parts (sorting, binary searches,
counting) run in NumPy and Arrow without the GIL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError
from sightline.metrics.binning import percentile_edges, sorted_quantiles
from sightline.metrics.columns import (
    CategoricalCounts,
    ColumnKind,
    NumericalValues,
    infer_kind,
    union_categories,
)
from sightline.metrics.drift import DriftResult, detect_drift
from sightline.metrics.quality import (
    ColumnQuality,
    DatasetQuality,
    categorical_quality,
    dataset_quality,
    numerical_quality,
)
from sightline.metrics.summaries import CategoricalSummary, NumericalSummary

__all__ = [
    "ColumnProfile",
    "ColumnReport",
    "DatasetReport",
    "ReferenceProfile",
    "compare_tables",
    "prepare_column",
]

#: Share of drifted columns from which the whole dataset counts as drifted.
DEFAULT_DRIFT_SHARE = 0.5
#: Categories and quantile ranges listed in a column's "what moved most".
TOP_MOVED = 5

ColumnData = NumericalValues | CategoricalCounts
Summary = NumericalSummary | CategoricalSummary


@dataclass(frozen=True)
class ColumnProfile:
    """The reference side of one column, prepared once."""

    name: str
    kind: ColumnKind
    data: ColumnData
    edges: np.ndarray[tuple[int], np.dtype[np.float64]] | None = None  # percentile edges
    bounds: tuple[float, float] | None = None  # reference range, or declared bounds


@dataclass(frozen=True)
class ReferenceProfile:
    """A reference table prepared for comparisons: one :class:`ColumnProfile` per column."""

    n_rows: int
    columns: dict[str, ColumnProfile]
    schema: pa.Schema

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        columns: Mapping[str, ColumnKind] | None = None,
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        workers: int | None = None,
    ) -> ReferenceProfile:
        """Prepare ``columns`` of ``table`` (default: all, kinds inferred). ``bounds`` declares
        a column's valid range; otherwise the reference's own range is used."""
        kinds = (
            dict(columns)
            if columns is not None
            else {n: infer_kind(table.column(n)) for n in table.column_names}
        )
        for name in kinds:
            if name not in table.column_names:
                raise ValidationError(
                    f"column '{name}' is missing from the reference data", field=name
                )
        declared = bounds or {}

        def prepare(name: str) -> ColumnProfile:
            kind = kinds[name]
            data, _ = prepare_column(table.column(name), kind)
            if isinstance(data, NumericalValues):
                values = data.values
                own = (float(values[0]), float(values[-1])) if values.size else None
                return ColumnProfile(
                    name, kind, data, percentile_edges(values), declared.get(name, own)
                )
            return ColumnProfile(name, kind, data)

        profiles = _map(prepare, list(kinds), workers, table.num_rows * len(kinds))
        return cls(table.num_rows, {p.name: p for p in profiles}, table.schema)


@dataclass(frozen=True)
class ColumnReport:
    """Quality and drift of one column (and its summary, when asked for)."""

    column: str
    kind: ColumnKind
    quality: ColumnQuality
    drift: DriftResult
    distribution: dict[str, Any] = field(default_factory=dict)
    summary: Summary | None = None

    @property
    def n_rows(self) -> int:
        return self.quality.n_rows

    @property
    def n_missing(self) -> int:
        return self.quality.n_missing

    @property
    def missing_share(self) -> float | None:
        return self.quality.missing_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "missing_share": self.missing_share,
            "quality": self.quality.to_dict(),
            "drift": self.drift.to_dict(),
            "distribution": self.distribution,
        }


@dataclass(frozen=True)
class DatasetReport:
    """The comparison of a current table with its reference."""

    n_reference: int
    n_current: int
    columns: dict[str, ColumnReport]
    drift_share: float
    quality: DatasetQuality | None = None

    @property
    def checked(self) -> list[ColumnReport]:
        return [c for c in self.columns.values() if c.drift.drifted is not None]

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.checked if c.drift.drifted]

    @property
    def share_of_drifted_columns(self) -> float | None:
        checked = self.checked
        return len(self.drifted_columns) / len(checked) if checked else None

    @property
    def dataset_drift(self) -> bool | None:
        share = self.share_of_drifted_columns
        return None if share is None else share >= self.drift_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "share_of_drifted_columns": self.share_of_drifted_columns,
            "dataset_drift": self.dataset_drift,
            "drift_share": self.drift_share,
            "drifted_columns": self.drifted_columns,
            "quality": self.quality.to_dict() if self.quality else None,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }


def compare_tables(
    reference: pa.Table | ReferenceProfile,
    current: pa.Table,
    columns: Mapping[str, ColumnKind] | None = None,
    *,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    min_rows: int = 30,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    id_column: str | None = None,
    summaries: bool = False,
    drift: bool = True,
    workers: int | None = None,
    schema_columns: Collection[str] | None = None,
) -> DatasetReport:
    """Data quality and drift of every column of ``current`` against ``reference``.

    ``columns`` maps the columns to compare to their kind (default: every column the two tables
    share, kind inferred from the reference's Arrow type). ``methods``/``thresholds`` override
    the default drift method per column; ``bounds`` declare valid ranges (default: the
    reference's range). ``summaries=True`` also returns each column's mergeable summary;
    ``drift=False`` computes data quality only. ``schema_columns`` limits the schema check
    (missing, new and retyped columns) to those columns (default: all of both tables).
    """
    if isinstance(reference, pa.Table):
        if columns is None:
            shared = [n for n in reference.column_names if n in current.column_names]
            columns = {n: infer_kind(reference.column(n)) for n in shared}
        profile = ReferenceProfile.from_table(reference, columns, bounds=bounds, workers=workers)
    else:
        profile = reference
        if columns is None:
            columns = {n: p.kind for n, p in profile.columns.items() if n in current.column_names}
    for name in columns:
        if name not in current.column_names:
            raise ValidationError(f"column '{name}' is missing from the current data", field=name)
        if name not in profile.columns:
            raise ValidationError(f"column '{name}' is missing from the reference data", field=name)
    methods, thresholds = methods or {}, thresholds or {}

    def compare(name: str) -> ColumnReport:
        ref = profile.columns[name]
        cur, mismatches = prepare_column(current.column(name), ref.kind)
        if drift:
            result = detect_drift(
                name,
                ref.data,
                cur,
                method=methods.get(name),
                threshold=thresholds.get(name),
                min_rows=min_rows,
            )
        else:
            result = DriftResult(name, ref.kind, "", 0.0, None, None, ref.data.n, cur.n, "skipped")
        summary: Summary | None = None
        if isinstance(cur, NumericalValues):
            quality = numerical_quality(name, cur, bounds=ref.bounds, type_mismatches=mismatches)
            if summaries and ref.edges is not None:
                summary = NumericalSummary.from_values(
                    cur, ref.edges, ref.bounds or (-np.inf, np.inf)
                )
        else:
            reference_counts = ref.data if isinstance(ref.data, CategoricalCounts) else None
            quality = categorical_quality(
                name, cur, reference=reference_counts, type_mismatches=mismatches
            )
            if summaries:
                summary = CategoricalSummary(cur)
        shape = distribution(ref.data, cur) if drift else {}
        return ColumnReport(name, ref.kind, quality, result, shape, summary)

    def duplicates() -> DatasetQuality:
        return dataset_quality(
            current,
            reference=profile.schema,
            columns=list(columns),
            id_column=id_column,
            schema_columns=schema_columns,
        )

    # Duplicates are counted over the compared columns, alongside the column work.
    tasks: list[Callable[[], Any]] = [duplicates, *(partial(compare, name) for name in columns)]
    results = _map(lambda task: task(), tasks, workers, current.num_rows * len(columns))
    quality, reports = results[0], results[1:]
    quality = replace(
        quality,
        constant_columns=[r.column for r in reports if r.quality.constant],
        empty_columns=[r.column for r in reports if r.n_rows and r.n_missing == r.n_rows],
    )
    by_name = {r.column: r for r in reports}
    return DatasetReport(profile.n_rows, current.num_rows, by_name, drift_share, quality)


def prepare_column(column: pa.ChunkedArray | pa.Array, kind: ColumnKind) -> tuple[ColumnData, int]:
    """A column as the engine works with it, and how many present values had the wrong type
    (text that is not a number in a numerical column: counted, then treated as missing)."""
    if kind is ColumnKind.NUMERICAL:
        if (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_dictionary(column.type)
        ):
            numbers, mismatches = _parse_numbers(column)
            values = NumericalValues.from_arrow(numbers)
            return NumericalValues(values.values, values.n_missing), mismatches
        if pa.types.is_boolean(column.type):
            column = pc.cast(column, pa.float64())
        return NumericalValues.from_arrow(column), 0
    return CategoricalCounts.from_arrow(column), 0


def _parse_numbers(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, int]:
    """Text parsed as numbers, one parse per distinct value; unparsable values become null."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    whole = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(whole)
    parsed: list[float | None] = []
    for text in encoded.dictionary.to_pylist():
        try:
            parsed.append(float(text))
        except (TypeError, ValueError):
            parsed.append(None)
    numbers = pc.take(pa.array(parsed, pa.float64()), encoded.indices)
    mismatches = int(
        pc.sum(pc.and_(pc.is_valid(encoded.indices), pc.is_null(numbers))).as_py() or 0
    )
    return numbers, mismatches


#: Below this many values (rows × columns), columns are processed in the calling thread:
#: handing small columns to threads costs more than it saves.
PARALLEL_FROM = 2_000_000
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _map(work: Callable[[Any], Any], items: list[Any], workers: int | None, size: int) -> list[Any]:
    """``[work(item) for item in items]``, on a shared thread pool when the data is large."""
    global _POOL
    if workers == 1 or size < PARALLEL_FROM or len(items) < 2:
        return [work(item) for item in items]
    if workers is not None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(work, items))
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="sightline-engine"
            )
    return list(_POOL.map(work, items))


def distribution(
    reference: NumericalValues | CategoricalCounts, current: NumericalValues | CategoricalCounts
) -> dict[str, Any]:
    """Both sides' distributions, binned alike, and the bins whose share moved most."""
    if isinstance(reference, NumericalValues) and isinstance(current, NumericalValues):
        return _numerical_distribution(reference, current)
    if isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts):
        return _categorical_distribution(reference, current)
    return {}


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def _numerical_distribution(
    ref: NumericalValues, cur: NumericalValues, bins: int = 20
) -> dict[str, Any]:
    both = [v for v in (ref.values, cur.values) if v.size]
    if not both:
        return {}
    low = min(float(v[0]) for v in both)
    high = max(float(v[-1]) for v in both)
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    hist_ref = _sorted_histogram(ref.values, edges)
    hist_cur = _sorted_histogram(cur.values, edges)
    moved: list[dict[str, Any]] = []
    if ref.n >= 10:
        # Reference deciles: where did the current values go, compared with 10 % each?
        deciles = sorted_quantiles(ref.values, np.linspace(0, 1, 11))
        deciles[0], deciles[-1] = -np.inf, np.inf
        ref_share = _shares(_sorted_histogram(ref.values, deciles))
        cur_share = _shares(_sorted_histogram(cur.values, deciles)) if cur.n else [0.0] * 10
        for i in range(10):
            moved.append(
                {
                    "range": [_finite(deciles[i]), _finite(deciles[i + 1])],
                    "reference": ref_share[i],
                    "current": cur_share[i],
                    "change": cur_share[i] - ref_share[i],
                }
            )
        moved.sort(key=lambda m: -abs(m["change"]))
    return {
        "edges": [float(e) for e in edges],
        "reference": _shares(hist_ref),
        "current": _shares(hist_cur),
        "moved": moved[:TOP_MOVED],
    }


def _categorical_distribution(
    ref: CategoricalCounts, cur: CategoricalCounts, top: int = 30
) -> dict[str, Any]:
    union = union_categories(ref, cur)
    ref_counts, cur_counts = ref.aligned(union), cur.aligned(union)
    order = np.argsort(-(ref_counts + cur_counts), kind="stable")
    cats = tuple(union[i] for i in order)
    ref_share = _shares(ref_counts[order])
    cur_share = _shares(cur_counts[order])
    moved = sorted(
        (
            {"category": c, "reference": r, "current": k, "change": k - r}
            for c, r, k in zip(cats, ref_share, cur_share, strict=True)
        ),
        key=lambda m: -abs(m["change"]),
    )
    return {
        "categories": list(cats[:top]),
        "reference": ref_share[:top],
        "current": cur_share[:top],
        "moved": moved[:TOP_MOVED],
    }


def _sorted_histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of sorted ``values`` in bins ``[e_i, e_i+1)``, the last bin closed."""
    positions = np.searchsorted(values, edges, side="left")
    positions[-1] = np.searchsorted(values, edges[-1], side="right")
    return np.diff(positions)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
