"""Metric points from engine results: the long rows the metric store keeps.

One builder per slice of a window (all data, one model version, one segment) stamps every point
with model, monitor, window, version and segment; the functions below turn each kind of result
into points. Metric names are the vocabulary of the API, the dashboard and alert rules:

==========================  ==========  ====================================================
metric                      column      value
==========================  ==========  ====================================================
row_count                   —           rows in the window (slice)
missing_share               each        share of missing values (details: all statistics)
mean                        numerical   mean of the present values
out_of_range_share          numerical   share outside the reference range (or bounds)
unseen_share                categorical share of categories the reference never had
duplicated_rows_share       —           share of rows equal to an earlier row
schema_changes              —           columns missing, new or of another type
drift_score                 each        the drift method's score (details: method, threshold…)
drift_detected              each        1 drifted, 0 not
share_of_drifted_columns    —           drifted / checked columns (details: dataset_drift)
label_coverage              —           share of rows with ground truth
label_delay_p50, _p95       —           seconds from prediction to ground truth
accuracy, precision, …      —           realized model quality (classification)
mae, rmse, mape, r2, …      —           realized model quality (regression)
estimated_accuracy, …       —           CBPE estimates (details: standard error, realized)
event_count, throughput …   —           service health from service events
==========================  ==========  ====================================================

Realized and estimated quality points carry the reference's realized value of their metric
(``details.reference_value``) when the reference has labels: the baseline of alert rules.
Both carry ``details.standard_error``: for an estimate, CBPE's; for a realized value, the
sampling noise at the slice's number of labelled rows, bootstrapped from the reference — the
yardstick of a rule's ``sigmas``, so that a small window's chance dip does not page anyone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.metrics import (
    ClassificationQuality,
    DatasetReport,
    EstimatedQuality,
    RegressionQuality,
)
from sightline.metrics.evaluation import Baseline, LabelStats, SliceEvaluation
from sightline.schema import MetricPoint, Window, WindowSummary
from sightline.schema.monitors import Monitor

__all__ = [
    "CLASSIFICATION_METRICS",
    "ESTIMATED_METRICS",
    "REGRESSION_METRICS",
    "PointBuilder",
    "data_points",
    "estimated_points",
    "quality_points",
    "service_points",
    "slice_points",
    "window_summaries",
]

CLASSIFICATION_METRICS = (
    "accuracy", "precision", "recall", "f1", "macro_f1", "weighted_f1", "roc_auc", "pr_auc",
    "log_loss", "brier_score",
)  # fmt: skip
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2", "mean_error")
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: Event names that get points of their own (the busiest first); the rest count in the total.
MAX_EVENT_SEGMENTS = 20


@dataclass(frozen=True)
class PointBuilder:
    """Stamps points with their model, monitor, window, model version and segment."""

    model: str
    monitor: str
    window: Window
    model_version: str = ""
    segment_key: str = ""
    segment_value: str = ""

    def __call__(
        self, metric: str, value: float | None, n_rows: int, column: str = "", /, **details: Any
    ) -> MetricPoint:
        return MetricPoint(
            model=self.model,
            metric=metric,
            window_start=self.window.start,
            window_end=self.window.end,
            granularity=self.window.granularity,
            value=None if value is None else float(value),
            n_rows=n_rows,
            column=column,
            model_version=self.model_version,
            monitor=self.monitor,
            segment_key=self.segment_key,
            segment_value=self.segment_value,
            details=details,
        )


def data_points(
    point: PointBuilder,
    report: DatasetReport,
    reference: str,
    *,
    drift: bool = True,
    quality: bool = True,
) -> list[MetricPoint]:
    """Row count, data quality (``quality``) and drift (``drift``) of one slice."""
    points = [point("row_count", report.n_current, report.n_current)]
    for name, column in report.columns.items():
        stats = column.quality
        if quality:
            points.append(
                point("missing_share", stats.missing_share, stats.n_rows, name, **stats.to_dict())
            )
            if stats.mean is not None:
                points.append(point("mean", stats.mean, stats.n_rows, name))
            if stats.out_of_range_share is not None:
                points.append(
                    point(
                        "out_of_range_share",
                        stats.out_of_range_share,
                        stats.n_rows,
                        name,
                        bounds=stats.bounds,
                    )
                )
            if stats.unseen_share is not None:
                points.append(
                    point(
                        "unseen_share", stats.unseen_share, stats.n_rows, name, unseen=stats.unseen
                    )
                )
        if drift:
            details = column.drift.to_dict()
            details.pop("column")
            details["distribution"] = column.distribution
            details["reference"] = reference
            points.append(point("drift_score", column.drift.score, stats.n_rows, name, **details))
            if column.drift.drifted is not None:
                points.append(
                    point("drift_detected", float(column.drift.drifted), stats.n_rows, name)
                )
    if quality and report.quality is not None:
        dq = report.quality
        points.append(
            point(
                "duplicated_rows_share",
                dq.duplicated_rows_share,
                dq.n_rows,
                duplicated_rows=dq.duplicated_rows,
            )
        )
        changes = len(dq.missing_columns) + len(dq.new_columns) + len(dq.type_changes)
        points.append(
            point(
                "schema_changes",
                changes,
                dq.n_rows,
                missing_columns=dq.missing_columns,
                new_columns=dq.new_columns,
                type_changes=dq.type_changes,
            )
        )
    if drift:
        share = report.share_of_drifted_columns
        moved = sorted(
            (c for c in report.columns.values() if c.drift.drifted),
            key=lambda c: -(c.drift.score or 0.0) if not _is_test(c) else (c.drift.score or 0.0),
        )
        points.append(
            point(
                "share_of_drifted_columns",
                share,
                report.n_current,
                drifted_columns=[c.column for c in moved],
                n_columns=len(report.checked),
                dataset_drift=report.dataset_drift,
                threshold=report.drift_share,
                reference=reference,
                status="ok" if share is not None else "insufficient_data",
            )
        )
    return points


def _is_test(column: Any) -> bool:
    return column.drift.p_value is not None and column.drift.score == column.drift.p_value


def quality_points(
    point: PointBuilder,
    quality: ClassificationQuality | RegressionQuality | None,
    labels: LabelStats,
    reference: ClassificationQuality | RegressionQuality | None = None,
    noise: Mapping[str, float] | None = None,
) -> list[MetricPoint]:
    """Label coverage, label delay and realized model quality of one slice; each quality point
    carries the ``reference``'s value of its metric (``reference_value``), the baseline of
    alert rules that compare with the reference, and its ``standard_error`` at the slice's
    number of labelled rows from ``noise`` (per metric at one row, see
    :func:`sightline.metrics.unit_errors`): how far the value may stray by chance alone."""
    n, n_labelled = labels.n_rows, labels.n_labelled
    points = [point("label_coverage", labels.coverage, n, n_labelled=n_labelled)]
    if labels.n_delays:
        points.append(point("label_delay_p50", labels.delay_p50, labels.n_delays, unit="seconds"))
        points.append(point("label_delay_p95", labels.delay_p95, labels.n_delays, unit="seconds"))
    if quality is None:
        return points
    values = quality.to_dict()
    names = (
        CLASSIFICATION_METRICS if isinstance(quality, ClassificationQuality) else REGRESSION_METRICS
    )
    common = {"n_labelled": n_labelled, "notes": values.get("notes", [])}
    baseline = reference.to_dict() if reference is not None else {}
    for metric in names:
        value = values.get(metric)
        if value is None:
            continue
        extra: dict[str, Any] = {}
        if baseline.get(metric) is not None:
            extra["reference_value"] = baseline[metric]
        if noise and noise.get(metric) is not None and n_labelled:
            extra["standard_error"] = noise[metric] / math.sqrt(n_labelled)
        if metric == "accuracy":
            extra |= {
                "confusion_matrix": values.get("confusion_matrix"),
                "labels": values.get("labels"),
                "positive_label": values.get("positive_label"),
            }
        points.append(point(metric, value, n_labelled, **common, **extra))
    return points


def estimated_points(
    point: PointBuilder,
    estimated: EstimatedQuality,
    realized: ClassificationQuality | None,
    reference: ClassificationQuality | RegressionQuality | None = None,
) -> list[MetricPoint]:
    """CBPE estimates of one slice, each with its standard error, the realized value (when
    labels exist) and the reference's realized value (``reference_value``) beside it."""
    if estimated.status != "ok":
        return []
    points = []
    realized_values = realized.to_dict() if realized is not None else {}
    baseline = reference.to_dict() if reference is not None else {}
    for metric in ESTIMATED_METRICS:
        estimate = getattr(estimated, metric)
        if estimate is None or estimate.value is None:
            continue
        interval = estimate.interval(2.0)
        points.append(
            point(
                f"estimated_{metric}",
                estimate.value,
                estimated.n_scored,
                standard_error=estimate.standard_error,
                lower=interval[0] if interval else None,
                upper=interval[1] if interval else None,
                realized=realized_values.get(metric),
                **(
                    {"reference_value": baseline[metric]}
                    if baseline.get(metric) is not None
                    else {}
                ),
            )
        )
    return points


def service_points(point: PointBuilder, window: Window, events: pa.Table) -> list[MetricPoint]:
    """Service health of one window from its service events: ``event_count``, ``throughput``
    (events per second), ``error_rate`` and ``latency_p50``/``p95``/``p99`` (milliseconds),
    for all events, per event name (segment ``event``) and per model version. No events, no
    points."""
    if events.num_rows == 0:
        return []
    seconds = (window.end - window.start).total_seconds()

    def health(
        table: pa.Table, segment: str, version: str = point.model_version
    ) -> list[MetricPoint]:
        n = table.num_rows
        latency = pc.drop_null(table.column("latency_ms"))
        quantiles = (
            pc.quantile(latency, q=[0.5, 0.95, 0.99]).to_pylist() if len(latency) else [None] * 3
        )
        errors = pc.sum(table.column("error").cast(pa.int64())).as_py() or 0
        values = {
            "event_count": float(n),
            "throughput": n / seconds,
            "error_rate": errors / n,
            "latency_p50": quantiles[0],
            "latency_p95": quantiles[1],
            "latency_p99": quantiles[2],
        }
        stamp = PointBuilder(
            point.model,
            point.monitor,
            window,
            version,
            "event" if segment else "",
            segment,
        )
        stamped = []
        for metric, value in values.items():
            details: dict[str, Any] = {}
            if metric.startswith("latency"):
                details["n_latency"] = len(latency)
            stamped.append(stamp(metric, value, n, **details))
        return stamped

    points = health(events, "")
    counts = (
        events.group_by("name")
        .aggregate([("name", "count")])
        .sort_by([("name_count", "descending"), ("name", "ascending")])
    )
    for name in counts.column("name").to_pylist()[:MAX_EVENT_SEGMENTS]:
        points += health(events.filter(pc.equal(events.column("name"), name)), name)
    versions = events.column("model_version")
    for version in sorted(v for v in pc.unique(versions).to_pylist() if v):
        points += health(events.filter(pc.equal(versions, version)), "", version)
    return points


def slice_points(
    point: PointBuilder, result: SliceEvaluation, baseline: Baseline, monitor: Monitor
) -> list[MetricPoint]:
    """Every point of one evaluated slice, as the monitor's suites say."""
    if result.data is not None:
        points = data_points(
            point,
            result.data,
            baseline.source,
            drift=monitor.computes("drift"),
            quality=monitor.computes("data_quality"),
        )
    else:
        points = [point("row_count", result.n_rows, result.n_rows)]
    if result.labels is not None:
        points += quality_points(
            point, result.realized, result.labels, baseline.quality, baseline.noise
        )
    if result.estimated is not None:
        classification = (
            result.realized if isinstance(result.realized, ClassificationQuality) else None
        )
        points += estimated_points(point, result.estimated, classification, baseline.quality)
    return points


def window_summaries(
    point: PointBuilder, result: SliceEvaluation, reference: str
) -> list[WindowSummary]:
    """The mergeable column summaries of one evaluated slice, kept for roll-ups."""
    if result.data is None:
        return []
    return [
        WindowSummary(
            point.model,
            point.monitor,
            point.window.granularity,
            point.window.start,
            point.window.end,
            name,
            reference,
            column.summary.to_dict(),
            point.model_version,
            point.segment_key,
            point.segment_value,
        )
        for name, column in result.data.columns.items()
        if column.summary is not None
    ]
