"""How metric points look in Prometheus: one gauge family per kind of metric, in base units,
with bounded labels.

The latest window of each model's monitor becomes samples such as::

    sightline_drift_score{model="churn",monitor="default",slice="all",column="age",method="ks"} 0.01
    sightline_quality{model="churn",monitor="default",slice="all",metric="accuracy"} 0.91
    sightline_latency_p95_seconds{model="churn",monitor="default",slice="all"} 0.042

Every sample has ``model``, ``monitor`` and ``slice``: ``all`` (all data), ``version:<v>`` (one
model version) or ``segment:<column>=<value>`` (one segment; service health per event name is
``segment:event=<name>``). Per-column families add ``column``; quality families add ``metric``
(the Sightline metric name). Percentiles are families of their own
(``sightline_latency_p95_seconds``): a gauge may not carry the ``quantile`` label of a summary.
No label is ever empty. Metric names
this table does not know (a newer engine's) still appear, as ``sightline_metric`` (whole table)
or ``sightline_column_metric`` (per column) with a ``metric`` label.

Cardinality is bounded per model and monitor: at most ``max_columns`` columns (the first by
name) and ``max_slices`` slices besides ``all`` (the largest by rows); what is left out is
counted in ``sightline_export_omitted``.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> p = MetricPoint("churn", "missing_share", t, t, "1h", 0.25, 40, column="age")
    >>> [(f.name, s.labels["column"], s.value) for f in families([p]) for s in f.samples]
    [('sightline_missing_ratio', 'age', 0.25)]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric

from sightline.monitoring.points import CLASSIFICATION_METRICS, REGRESSION_METRICS
from sightline.schema import MetricPoint

__all__ = [
    "BASE_LABELS",
    "COLUMN_FAMILIES",
    "TABLE_FAMILIES",
    "Family",
    "capped",
    "families",
    "slice_label",
]

BASE_LABELS = ("model", "monitor", "slice")


@dataclass(frozen=True)
class Family:
    """A Prometheus gauge family: its name, help text and the labels it adds to the base ones.
    ``scale`` turns the stored unit into the base unit (milliseconds → seconds)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    scale: float = 1.0


def _f(name: str, help: str, *labels: str, scale: float = 1.0) -> Family:
    return Family(name, help, labels, scale)


def _quantile(name: str, what: str, q: str, scale: float = 1.0) -> Family:
    # A family per quantile: a gauge may not carry Prometheus's summary label ``quantile``.
    return _f(f"sightline_{name}_p{q}_seconds", f"{q}th percentile of {what}.", scale=scale)


_DELAY_WHAT = "the time from prediction to ground truth in the latest window"
_LATENCY_WHAT = "the service events' latency in the latest window"
#: Whole-table metrics: metric name → (family, constant extra label values).
TABLE_FAMILIES: dict[str, tuple[Family, tuple[str, ...]]] = {
    "row_count": (_f("sightline_window_rows", "Predictions in the latest window."), ()),
    "share_of_drifted_columns": (
        _f("sightline_drifted_columns_ratio", "Share of the checked columns that drifted."),
        (),
    ),
    "duplicated_rows_share": (
        _f("sightline_duplicated_rows_ratio", "Share of rows equal to an earlier row."),
        (),
    ),
    "schema_changes": (
        _f("sightline_schema_changes", "Columns missing, new or of another type than expected."),
        (),
    ),
    "label_coverage": (
        _f("sightline_label_coverage_ratio", "Share of the window's rows with ground truth."),
        (),
    ),
    "label_delay_p50": (_quantile("label_delay", _DELAY_WHAT, "50"), ()),
    "label_delay_p95": (_quantile("label_delay", _DELAY_WHAT, "95"), ()),
    "event_count": (_f("sightline_window_events", "Service events in the latest window."), ()),
    "throughput": (
        _f("sightline_window_events_per_second", "Service events per second in the window."),
        (),
    ),
    "error_rate": (_f("sightline_error_ratio", "Share of the service events that failed."), ()),
    "latency_p50": (_quantile("latency", _LATENCY_WHAT, "50", 0.001), ()),
    "latency_p95": (_quantile("latency", _LATENCY_WHAT, "95", 0.001), ()),
    "latency_p99": (_quantile("latency", _LATENCY_WHAT, "99", 0.001), ()),
}
#: Per-column metrics: metric name → family (labels ``column``, and ``method`` for scores).
COLUMN_FAMILIES: dict[str, Family] = {
    "drift_score": _f(
        "sightline_drift_score",
        "Drift score of the column against the reference: a p-value for tests (drift when "
        "low), a distance otherwise (drift when high); see the method label.",
        "column",
        "method",
    ),
    "drift_detected": _f(
        "sightline_drift_detected", "1 when the column drifted, else 0.", "column"
    ),
    "missing_share": _f("sightline_missing_ratio", "Share of missing values.", "column"),
    "mean": _f("sightline_column_mean", "Mean of the column's present values.", "column"),
    "out_of_range_share": _f(
        "sightline_out_of_range_ratio",
        "Share of values outside the reference's range (or the declared bounds).",
        "column",
    ),
    "unseen_share": _f(
        "sightline_unseen_categories_ratio",
        "Share of values in categories the reference never had.",
        "column",
    ),
}
QUALITY = _f("sightline_quality", "Realized model quality on the labelled rows.", "metric")
QUALITY_REFERENCE = _f(
    "sightline_quality_reference", "The reference's realized value of the metric.", "metric"
)
QUALITY_ERROR = _f(
    "sightline_quality_standard_error",
    "Sampling noise (standard error) of the realized value at the window's labelled rows.",
    "metric",
)
ESTIMATED = _f(
    "sightline_quality_estimated", "Quality estimated by CBPE, before labels arrive.", "metric"
)
ESTIMATED_ERROR = _f(
    "sightline_quality_estimated_standard_error", "Standard error of the CBPE estimate.", "metric"
)
DATASET_DRIFT = _f(
    "sightline_dataset_drift_detected", "1 when the dataset drifted (enough columns), else 0."
)
OTHER_TABLE = _f("sightline_metric", "A whole-table metric without a family of its own.", "metric")
OTHER_COLUMN = _f(
    "sightline_column_metric", "A column's metric without a family of its own.", "metric", "column"
)
OMITTED = "sightline_export_omitted"
QUALITY_METRICS = frozenset(CLASSIFICATION_METRICS) | frozenset(REGRESSION_METRICS)


def slice_label(point: MetricPoint) -> str:
    """``all``, ``version:<v>`` or ``segment:<column>=<value>``."""
    if point.segment_key:
        return f"segment:{point.segment_key}={point.segment_value}"
    if point.model_version:
        return f"version:{point.model_version}"
    return "all"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and not math.isnan(value):
        return float(value)
    return None


def _samples(point: MetricPoint) -> Iterable[tuple[Family, tuple[str, ...], float]]:
    """The samples of one point: family, extra label values, value (known values only)."""
    value = _number(point.value)
    name, details = point.metric, point.details
    if point.column:
        family = COLUMN_FAMILIES.get(name)
        if value is None:
            return
        if family is None:
            yield OTHER_COLUMN, (name, point.column), value
        elif name == "drift_score":
            yield family, (point.column, str(details.get("method") or "unknown")), value
        else:
            yield family, (point.column,), value
        return
    if name in TABLE_FAMILIES:
        family, extra = TABLE_FAMILIES[name]
        if value is not None:
            yield family, extra, value * family.scale
        if name == "share_of_drifted_columns":
            drift = _number(details.get("dataset_drift"))
            if drift is not None and details.get("dataset_drift") is not None:
                yield DATASET_DRIFT, (), drift
        return
    if name.startswith("estimated_") and name[len("estimated_") :] in QUALITY_METRICS:
        metric = name[len("estimated_") :]
        if value is not None:
            yield ESTIMATED, (metric,), value
        error = _number(details.get("standard_error"))
        if error is not None:
            yield ESTIMATED_ERROR, (metric,), error
        reference = _number(details.get("reference_value"))
        if reference is not None:  # also when the window has no labels (no realized point)
            yield QUALITY_REFERENCE, (metric,), reference
        return
    if name in QUALITY_METRICS:
        if value is not None:
            yield QUALITY, (name,), value
        reference = _number(details.get("reference_value"))
        if reference is not None:
            yield QUALITY_REFERENCE, (name,), reference
        error = _number(details.get("standard_error"))
        if error is not None:
            yield QUALITY_ERROR, (name,), error
        return
    if value is not None:
        yield OTHER_TABLE, (name,), value


def capped(
    points: Sequence[MetricPoint], max_columns: int, max_slices: int
) -> tuple[list[MetricPoint], int, int]:
    """The points of one model's monitor within the caps, and how many columns and slices
    were left out."""
    columns = sorted({p.column for p in points if p.column})
    kept_columns = set(columns[:max_columns])
    rows: dict[str, float] = defaultdict(float)
    for p in points:
        label = slice_label(p)
        if label != "all" and p.metric in ("row_count", "event_count") and p.value:
            rows[label] = max(rows[label], p.value)
    slices = sorted({slice_label(p) for p in points} - {"all"}, key=lambda s: (-rows[s], s))
    kept_slices = {"all", *slices[:max_slices]}
    kept = [
        p
        for p in points
        if (not p.column or p.column in kept_columns) and slice_label(p) in kept_slices
    ]
    return kept, len(columns) - len(kept_columns), len(slices) - (len(kept_slices) - 1)


def families(
    points: Iterable[MetricPoint], omitted: Iterable[tuple[str, str, int, int]] = ()
) -> list[Metric]:
    """Gauge families of ``points`` (the latest window of each model's monitor, capped), and
    ``sightline_export_omitted`` from ``omitted`` (model, monitor, columns, slices left out)."""
    built: dict[str, GaugeMetricFamily] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for point in points:
        base = (point.model, point.monitor, slice_label(point))
        for family, extra, value in _samples(point):
            key = (family.name, (*base, *extra))
            if key in seen:
                continue  # the reference value, from both the realized and estimated point
            seen.add(key)
            metric = built.get(family.name)
            if metric is None:
                metric = built[family.name] = GaugeMetricFamily(
                    family.name, family.help, labels=(*BASE_LABELS, *family.labels)
                )
            metric.add_metric((*base, *extra), value)
    left_out = GaugeMetricFamily(
        OMITTED,
        "Columns or slices of the latest window not exported because of the caps "
        "(SIGHTLINE_PROMETHEUS_MAX_COLUMNS, SIGHTLINE_PROMETHEUS_MAX_SLICES).",
        labels=("model", "monitor", "dimension"),
    )
    for model, monitor, n_columns, n_slices in omitted:
        left_out.add_metric((model, monitor, "column"), n_columns)
        left_out.add_metric((model, monitor, "slice"), n_slices)
    return [*(built[name] for name in sorted(built)), left_out]
