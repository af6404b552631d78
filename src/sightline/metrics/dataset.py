"""Compare a current table with a reference table, column by column.

>>> import pyarrow as pa
>>> ref = pa.table({"x": [float(i % 50) for i in range(500)]})
>>> cur = pa.table({"x": [float(i % 50) + 20 for i in range(500)]})
>>> report = compare_tables(ref, cur)
>>> report.columns["x"].drift.method, report.columns["x"].drift.drifted
('ks', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from sightline.errors import ValidationError
from sightline.metrics.columns import (
    CategoricalCounts,
    ColumnKind,
    NumericalValues,
    infer_kind,
    union_categories,
)
from sightline.metrics.drift import DriftResult, detect_drift

__all__ = ["ColumnReport", "DatasetReport", "compare_tables"]

#: Share of drifted columns from which the whole dataset counts as drifted.
DEFAULT_DRIFT_SHARE = 0.5
#: Categories and quantile ranges listed in a column's "what moved most".
TOP_MOVED = 5


@dataclass(frozen=True)
class ColumnReport:
    """Row count, missing share and drift of one column."""

    column: str
    kind: ColumnKind
    n_rows: int
    n_missing: int
    drift: DriftResult
    distribution: dict[str, Any] = field(default_factory=dict)

    @property
    def missing_share(self) -> float | None:
        return self.n_missing / self.n_rows if self.n_rows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "missing_share": self.missing_share,
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
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }


def compare_tables(
    reference: pa.Table,
    current: pa.Table,
    columns: Mapping[str, ColumnKind] | None = None,
    *,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    min_rows: int = 30,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DatasetReport:
    """Row count, missing share and drift of every column of ``current`` against ``reference``.

    ``columns`` maps the columns to compare to their kind (default: every column the two tables
    share, kind inferred from the Arrow type). ``methods``/``thresholds`` override the defaults
    per column.
    """
    if columns is None:
        shared = [name for name in reference.column_names if name in current.column_names]
        columns = {name: infer_kind(reference.column(name)) for name in shared}
    methods, thresholds = methods or {}, thresholds or {}
    reports: dict[str, ColumnReport] = {}
    for name, kind in columns.items():
        for table, side in ((reference, "reference"), (current, "current")):
            if name not in table.column_names:
                raise ValidationError(
                    f"column '{name}' is missing from the {side} data", field=name
                )
        ref = _prepare(reference.column(name), kind)
        cur = _prepare(current.column(name), kind)
        drift = detect_drift(
            name,
            ref,
            cur,
            method=methods.get(name),
            threshold=thresholds.get(name),
            min_rows=min_rows,
        )
        reports[name] = ColumnReport(
            column=name,
            kind=kind,
            n_rows=cur.n_rows,
            n_missing=cur.n_missing,
            drift=drift,
            distribution=distribution(ref, cur),
        )
    return DatasetReport(reference.num_rows, current.num_rows, reports, drift_share)


def _prepare(column: pa.ChunkedArray, kind: ColumnKind) -> NumericalValues | CategoricalCounts:
    if kind is ColumnKind.NUMERICAL:
        return NumericalValues.from_arrow(column)
    return CategoricalCounts.from_arrow(column)


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
        deciles = np.quantile(ref.values, np.linspace(0, 1, 11))
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
