"""The monitoring job: compute one closed window of a model and write its metric points.

>>> runner = JobRunner(predictions, metrics)                     # doctest: +SKIP
>>> runner.run_window("churn", Window.containing(ts, "1h"))      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import SightlineError
from sightline.metrics import ColumnKind, DatasetReport, compare_tables
from sightline.monitoring.references import Reference, resolve_reference
from sightline.schema import ColumnRole, JobRun, MetricPoint, ModelSchema, Window, windows_between
from sightline.store import MetricStore, PredictionStore

__all__ = ["JobRunner", "Monitor", "report_points", "service_points"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Monitor:
    """What to compute for a model: window length, reference, minimum rows, method overrides."""

    name: str = "default"
    granularity: str = "1h"
    reference: str = "default"
    min_rows: int = 30
    drift_share: float = 0.5
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)


def monitored_columns(schema: ModelSchema) -> dict[str, ColumnKind]:
    """Features and outputs, with the kind the engine compares them as."""
    kinds: dict[str, ColumnKind] = {}
    for spec in (*schema.features, *schema.outputs):
        numerical = (
            spec.role in (ColumnRole.NUMERICAL, ColumnRole.PREDICTION)
            and spec.type.value == "number"
        )
        kinds[spec.name] = ColumnKind.NUMERICAL if numerical else ColumnKind.CATEGORICAL
    return kinds


def report_points(
    model: str, monitor: Monitor, window: Window, report: DatasetReport, reference: str
) -> list[MetricPoint]:
    """The metric points of one window's report."""

    def point(
        metric: str, value: float | None, n_rows: int, column: str = "", **details: object
    ) -> MetricPoint:
        return MetricPoint(
            model=model,
            metric=metric,
            window_start=window.start,
            window_end=window.end,
            granularity=window.granularity,
            value=value,
            n_rows=n_rows,
            column=column,
            monitor=monitor.name,
            details=dict(details),
        )

    points = [point("row_count", float(report.n_current), report.n_current)]
    for name, column in report.columns.items():
        points.append(point("missing_share", column.missing_share, column.n_rows, name))
        drift = column.drift.to_dict()
        drift.pop("column")
        drift["distribution"] = column.distribution
        drift["reference"] = reference
        points.append(point("drift_score", column.drift.score, column.n_rows, name, **drift))
        if column.drift.drifted is not None:
            points.append(point("drift_detected", float(column.drift.drifted), column.n_rows, name))
    share = report.share_of_drifted_columns
    points.append(
        point(
            "share_of_drifted_columns",
            share,
            report.n_current,
            drifted_columns=report.drifted_columns,
            n_columns=len(report.checked),
            dataset_drift=report.dataset_drift,
            threshold=report.drift_share,
            reference=reference,
            status="ok" if share is not None else "insufficient_data",
        )
    )
    return points


#: Event names that get points of their own (the busiest first); the rest count in the total.
MAX_EVENT_SEGMENTS = 20


def service_points(
    model: str, monitor: Monitor, window: Window, events: pa.Table
) -> list[MetricPoint]:
    """Service health of one window from its service events: ``event_count``, ``throughput``
    (events per second), ``error_rate`` and ``latency_p50``/``p95``/``p99`` (milliseconds),
    for all events and per event name (segment ``event``). No events, no points."""
    if events.num_rows == 0:
        return []
    seconds = (window.end - window.start).total_seconds()

    def health(table: pa.Table, segment: str) -> list[MetricPoint]:
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
        return [
            MetricPoint(
                model,
                metric,
                window.start,
                window.end,
                window.granularity,
                value,
                n,
                monitor=monitor.name,
                segment_key="event" if segment else "",
                segment_value=segment,
                details={"n_latency": len(latency)} if metric.startswith("latency") else {},
            )
            for metric, value in values.items()
        ]

    points = health(events, "")
    counts = (
        events.group_by("name")
        .aggregate([("name", "count")])
        .sort_by([("name_count", "descending"), ("name", "ascending")])
    )
    for name in counts.column("name").to_pylist()[:MAX_EVENT_SEGMENTS]:
        points += health(events.filter(pc.equal(events.column("name"), name)), name)
    return points


class JobRunner:
    """Runs windows of models, one at a time, recording each run.

    Safe to call from several threads: the scheduler and on-demand runs share one lock, so the
    same window is never computed twice at once.
    """

    def __init__(
        self,
        predictions: PredictionStore,
        metrics: MetricStore,
        monitors: dict[str, Monitor] | None = None,
        default: Monitor | None = None,
    ):
        self.predictions = predictions
        self.metrics = metrics
        self.monitors = monitors or {}
        self.default = default or Monitor()
        self._lock = threading.Lock()

    def monitor(self, model: str) -> Monitor:
        return self.monitors.get(model, self.default)

    def run_window(self, model: str, window: Window, reference: Reference | None = None) -> JobRun:
        """Compute ``window`` of ``model``; replaces any points it had. Never raises: a failure is
        recorded in the returned run (status ``error``, with the reason)."""
        monitor = self.monitor(model)
        started = datetime.now(UTC)
        with self._lock:
            try:
                status, n_rows = self._compute(model, monitor, window, reference)
                error = ""
            except SightlineError as failure:
                status, n_rows, error = "error", 0, str(failure)
                log.warning("%s of model '%s' failed: %s", window, model, failure)
            except Exception as failure:  # a bug must not stop the other windows and models
                status, n_rows = "error", 0
                error = f"internal error: {type(failure).__name__}: {failure}"
                log.exception("%s of model '%s' failed", window, model)
            run = JobRun(
                model,
                monitor.name,
                window.granularity,
                window.start,
                window.end,
                status,
                started,
                datetime.now(UTC),
                n_rows,
                error,
            )
            self.metrics.record_run(run)
        return run

    def _compute(
        self, model: str, monitor: Monitor, window: Window, reference: Reference | None
    ) -> tuple[str, int]:
        schema = self.predictions.schema(model)
        service = service_points(
            model, monitor, window, self.predictions.read_events(model, window)
        )
        if schema is None:
            if not service:
                raise SightlineError(f"model '{model}' has logged nothing yet")
            self.metrics.replace_window(model, monitor.name, window, service)
            return "ok", 0
        current = self.predictions.read_window(model, window)
        if current.num_rows == 0:
            self.metrics.replace_window(
                model,
                monitor.name,
                window,
                [
                    *service,
                    MetricPoint(
                        model,
                        "row_count",
                        window.start,
                        window.end,
                        window.granularity,
                        0.0,
                        0,
                        monitor=monitor.name,
                    ),
                ],
            )
            return "no_data", 0
        reference = reference or resolve_reference(self.predictions, schema, monitor.reference)
        columns = {
            name: kind
            for name, kind in monitored_columns(schema).items()
            if name in reference.table.column_names
        }
        report = compare_tables(
            reference.table,
            current,
            columns,
            methods=monitor.methods,
            thresholds=monitor.thresholds,
            min_rows=monitor.min_rows,
            drift_share=monitor.drift_share,
        )
        points = report_points(model, monitor, window, report, reference.source)
        self.metrics.replace_window(model, monitor.name, window, points + service)
        status = "ok" if report.share_of_drifted_columns is not None else "insufficient_data"
        return status, current.num_rows

    def run_range(
        self, model: str, start: datetime, end: datetime, granularity: str | None = None
    ) -> list[JobRun]:
        """Compute every window of ``granularity`` overlapping ``[start, end)``, oldest first."""
        monitor = self.monitor(model)
        return self.run_windows(
            model, windows_between(start, end, granularity or monitor.granularity)
        )

    def run_windows(self, model: str, windows: Iterable[Window]) -> list[JobRun]:
        schema = self.predictions.schema(model)
        reference = None
        if schema is not None:
            try:
                reference = resolve_reference(
                    self.predictions, schema, self.monitor(model).reference
                )
            except SightlineError:
                reference = None  # each run records the reason
        return [self.run_window(model, window, reference) for window in windows]
