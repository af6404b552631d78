"""The monitoring job: compute one closed window of a model's monitor and write its points.

    >>> runner = JobRunner(predictions, metrics, config)                   # doctest: +SKIP
    >>> runner.run_window("churn", Window.containing(ts, "1h"))            # doctest: +SKIP
    >>> runner.run_range("churn", start, end, trigger="backfill")          # doctest: +SKIP

A window is computed for all data and, separately, for each model version present in it and for
each value of the monitor's segment columns (the reference's ten largest, plus "other"). Every
slice gets drift and data quality (with mergeable summaries, kept for roll-ups), model quality
on the rows that have ground truth (label coverage and label delay included), CBPE estimates,
and the service health of the window's service events — as the monitor's suites say.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.config import Settings
from sightline.errors import ComputeError, SightlineError
from sightline.metrics import (
    CBPE,
    ClassificationQuality,
    ColumnKind,
    classification_quality,
    compare_tables,
    infer_mapping,
    regression_quality,
    unit_errors,
)
from sightline.metrics.segments import split_segments, top_segments
from sightline.monitoring.clock import Clock, SystemClock
from sightline.monitoring.config import SightlineConfig, config_for
from sightline.monitoring.points import (
    PointBuilder,
    data_points,
    estimated_points,
    quality_points,
    service_points,
)
from sightline.monitoring.references import Reference, ReferenceCache
from sightline.monitoring.retention import horizon, kept_windows, pruned
from sightline.monitoring.rollups import coarser, rollup_window
from sightline.schema import (
    ColumnRole,
    JobRun,
    MetricPoint,
    ModelSchema,
    Window,
    WindowSummary,
    windows_between,
)
from sightline.schema.mapping import ColumnMapping
from sightline.schema.monitors import ModelConfig, Monitor
from sightline.store import MetricStore, PredictionStore

__all__ = ["JobRunner", "Monitor", "monitored_columns"]

log = logging.getLogger(__name__)

WindowCallback = Callable[[str, Monitor, Window, JobRun], None]


def monitored_columns(
    schema: ModelSchema, config: ModelConfig | None = None
) -> dict[str, ColumnKind]:
    """Features and outputs with the kind the engine compares them as (config overrides win;
    ``ignore`` leaves a column out)."""
    roles = config.columns if config else {}
    kinds: dict[str, ColumnKind] = {}
    for spec in (*schema.features, *schema.outputs):
        role = roles.get(spec.name)
        if role == "ignore":
            continue
        if role is not None:
            kinds[spec.name] = ColumnKind(role)
            continue
        numerical = (
            spec.role in (ColumnRole.NUMERICAL, ColumnRole.PREDICTION)
            and spec.type.value == "number"
        )
        kinds[spec.name] = ColumnKind.NUMERICAL if numerical else ColumnKind.CATEGORICAL
    return kinds


@dataclass(frozen=True)
class _Slice:
    table: pa.Table
    version: str = ""
    segment_key: str = ""
    segment_value: str = ""
    reference: Reference | None = None  # a segment's own part of the reference


class JobRunner:
    """Runs windows of models, recording each run; the model configuration says what to compute.

    Safe to call from several threads: the scheduler and on-demand runs share one lock, so the
    same window is never computed twice at once. ``on_window`` is called after every run (the
    alerting hook).
    """

    def __init__(
        self,
        predictions: PredictionStore,
        metrics: MetricStore,
        config: Callable[[str], ModelConfig] | None = None,
        default: Monitor | None = None,
        on_window: WindowCallback | None = None,
        clock: Clock | None = None,
        label_lookback: timedelta = timedelta(days=30),
        retention: timedelta | None = None,
    ):
        self.predictions = predictions
        self.retention = retention
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.default = default or Monitor()
        self._config = config or (lambda name: ModelConfig(name, monitors=(self.default,)))
        self.on_window = on_window
        self.references = ReferenceCache(
            predictions, label_lookback=label_lookback, now=self.clock.now
        )
        self._overrides: dict[str, ModelConfig] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        predictions: PredictionStore,
        metrics: MetricStore,
        config: SightlineConfig | None = None,
        *,
        clock: Clock | None = None,
        on_window: WindowCallback | None = None,
    ) -> JobRunner:
        """The runner the settings describe: the config file's models (or ``config``), then
        the configurations set through the API (kept in the metric store, they win), the label
        look-back and the retention."""
        config = config or config_for(settings)
        runner = cls(
            predictions,
            metrics,
            config.model,
            on_window=on_window,
            clock=clock,
            label_lookback=timedelta(days=settings.label_lookback_days),
            retention=timedelta(days=settings.retention_days) if settings.retention_days else None,
        )
        for model_config in metrics.model_configs():
            runner.set_config(model_config)
        return runner

    # -- configuration ------------------------------------------------------------------------

    def config(self, model: str) -> ModelConfig:
        """The configuration of ``model``: set at run time, else from the config file."""
        return self._overrides.get(model) or self._config(model)

    def set_config(self, config: ModelConfig) -> None:
        """Replace the configuration of ``config.name`` (e.g. from the HTTP API)."""
        self._overrides[config.name] = config

    def clear_config(self, model: str) -> None:
        """Forget a configuration set with :meth:`set_config`."""
        self._overrides.pop(model, None)

    def monitors(self, model: str) -> tuple[Monitor, ...]:
        return self.config(model).monitors

    def monitor(
        self, model: str, name: str | None = None, granularity: str | None = None
    ) -> Monitor:
        """The monitor ``name`` of ``model``; else its monitor of ``granularity``; else its first
        monitor, at ``granularity`` when one is asked for."""
        monitors = self.monitors(model)
        if name is not None:
            for monitor in monitors:
                if monitor.name == name:
                    return monitor
            known = ", ".join(m.name for m in monitors)
            raise SightlineError(f"model '{model}' has no monitor '{name}' (its monitors: {known})")
        if granularity is not None:
            for monitor in monitors:
                if monitor.granularity == granularity:
                    return monitor
            return replace(monitors[0], granularity=granularity)
        return monitors[0]

    # -- running ------------------------------------------------------------------------------

    def run_window(
        self, model: str, window: Window, monitor: Monitor | None = None, trigger: str = "manual"
    ) -> JobRun:
        """Compute ``window`` of ``model``; replaces any points it had. Never raises: a failure is
        recorded in the returned run (status ``error``, with the reason)."""
        monitor = monitor or self.monitor(model, granularity=window.granularity)
        return self._run(model, monitor, window, trigger, self._compute)

    def _run(
        self,
        model: str,
        monitor: Monitor,
        window: Window,
        trigger: str,
        work: Callable[[str, Monitor, Window], tuple[str, int]],
    ) -> JobRun:
        """Do ``work`` for one window under the lock, record the run, call the hook."""
        started = self.clock.now()
        with self._lock:
            try:
                status, n_rows = work(model, monitor, window)
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
                self.clock.now(),
                n_rows,
                error,
                trigger,
            )
            self.metrics.record_run(run)
        if self.on_window is not None:
            try:
                self.on_window(model, monitor, window, run)
            except Exception:  # the hook must not break the job
                log.exception("after-window hook failed for model '%s'", model)
        return run

    def run_range(
        self,
        model: str,
        start: datetime,
        end: datetime,
        granularity: str | None = None,
        monitor: str | None = None,
        trigger: str = "manual",
    ) -> list[JobRun]:
        """Compute every window overlapping ``[start, end)``, oldest first (see
        :meth:`rollup_range` for the coarser windows they belong to)."""
        chosen = self.monitor(model, monitor, granularity)
        return self.run_windows(
            model, windows_between(start, end, chosen.granularity), chosen, trigger
        )

    def rollup_range(
        self, model: str, start: datetime, end: datetime, monitor: Monitor
    ) -> list[JobRun]:
        """Roll up the closed days and weeks (coarser windows of ``monitor``) that overlap
        ``[start, end)``, from its fine windows' summaries (none for a model that only logs
        service events: its health has no summaries to merge)."""
        if self.predictions.schema(model) is None:
            return []
        now = self.clock.now()
        runs = []
        for coarse in coarser(monitor.granularity):
            for window in windows_between(start, end, coarse):
                if window.end <= now:
                    runs.append(self.run_rollup(model, monitor, window, "rollup"))
        return runs

    def run_windows(
        self,
        model: str,
        windows: Iterable[Window],
        monitor: Monitor | None = None,
        trigger: str = "manual",
    ) -> list[JobRun]:
        return [self.run_window(model, w, monitor, trigger) for w in windows]

    def run_rollup(
        self, model: str, monitor: Monitor, window: Window, trigger: str = "rollup"
    ) -> JobRun:
        """Compute the coarse ``window`` of ``monitor`` from its fine windows' summaries."""
        return self._run(model, monitor, window, trigger, self._rollup)

    def _rollup(self, model: str, monitor: Monitor, window: Window) -> tuple[str, int]:
        schema = self.predictions.schema(model)
        if schema is None:
            raise SightlineError(f"model '{model}' has logged nothing yet")
        config = self.config(model)
        reference = self.references.get(schema, monitor.reference, window)
        kinds = {
            n: k
            for n, k in monitored_columns(schema, config).items()
            if n in reference.table.column_names
        }
        points, summaries = rollup_window(
            self.metrics, model, monitor, window, reference, kinds, config.bounds
        )
        if not points:  # its fine windows had no data, or too little to summarize
            fine = self.metrics.query(
                model, metric="row_count", granularity=monitor.granularity,
                start=window.start, end=window.end, monitor=monitor.name,
                model_version="", segment_key="",
            )  # fmt: skip
            rows = sum(int(p.value or 0) for p in fine)
            point = PointBuilder(model, monitor.name, window)("row_count", float(rows), rows)
            self.metrics.replace_window(model, monitor.name, window, [point])
            return ("no_data" if rows == 0 else "insufficient_data"), rows
        self.metrics.replace_window(model, monitor.name, window, points, summaries)
        return "ok", max((p.n_rows for p in points if p.metric == "row_count"), default=0)

    # -- the computation ------------------------------------------------------------------------

    def raw_data_gone(self, model: str, window: Window) -> datetime | None:
        """The retention horizon when ``window``'s raw data is gone (see
        :mod:`sightline.monitoring.retention`), else None."""
        if not self.retention:
            return None
        before = horizon(self.clock.now(), self.retention)
        return before if self.pruned_filter(model)(window) else None

    def pruned_filter(self, model: str) -> Callable[[Window], bool]:
        """Whether a window of ``model`` has lost its raw data to the retention. The store is
        looked at once, and only for a window before the horizon (rarely)."""
        if not self.retention:
            return lambda window: False
        before = horizon(self.clock.now(), self.retention)
        kept: list[Window] | None = None

        def gone(window: Window) -> bool:
            nonlocal kept
            if window.start >= before:
                return False
            if kept is None:
                kept = kept_windows(self.predictions, model, self.monitors(model))
            return pruned(window, before, kept)

        return gone

    def _compute(self, model: str, monitor: Monitor, window: Window) -> tuple[str, int]:
        gone = self.raw_data_gone(model, window)
        if gone is not None:
            raise SightlineError(
                f"the raw data of this window was deleted by retention: data before "
                f"{gone:%Y-%m-%d} is gone (SIGHTLINE_RETENTION_DAYS); the window's metric "
                "points are kept as they were"
            )
        schema = self.predictions.schema(model)
        point = PointBuilder(model, monitor.name, window)
        points: list[MetricPoint] = []
        if monitor.computes("service_health"):
            points += service_points(point, window, self.predictions.read_events(model, window))
        if schema is None:
            if points:
                self.metrics.replace_window(model, monitor.name, window, points)
                return "ok", 0
            if not monitor.computes("service_health") or model not in (
                self.predictions.event_models()
            ):
                raise SightlineError(f"model '{model}' has logged nothing yet")
            # A model that only logs service events, with none in this window.
            points.append(point("event_count", 0.0, 0))
            self.metrics.replace_window(model, monitor.name, window, points)
            return "no_data", 0
        current = self.predictions.read_window(model, window)
        if current.num_rows == 0:
            points.append(point("row_count", 0.0, 0))
            self.metrics.replace_window(model, monitor.name, window, points)
            return "no_data", 0
        config = self.config(model)
        reference = self.references.get(schema, monitor.reference, window)
        summaries: list[WindowSummary] = []
        insufficient = True
        for part in self._slices(current, monitor, reference):
            ref = part.reference or reference
            if part.version and monitor.reference.kind == "previous_version":
                ref = self.references.get(schema, monitor.reference, window, part.version)
            stamp = PointBuilder(
                model, monitor.name, window, part.version, part.segment_key, part.segment_value
            )
            slice_points, slice_summaries, checked = self._slice(
                stamp, schema, config, monitor, ref, part.table, reference
            )
            points += slice_points
            summaries += slice_summaries
            insufficient = insufficient and not checked
        self.metrics.replace_window(model, monitor.name, window, points, summaries)
        return ("insufficient_data" if insufficient else "ok"), current.num_rows

    def _slices(self, table: pa.Table, monitor: Monitor, reference: Reference) -> list[_Slice]:
        slices = [_Slice(table)]
        versions = sorted(v for v in pc.unique(table.column("model_version")).to_pylist() if v)
        for version in versions:
            rows = table.filter(pc.equal(table.column("model_version"), version))
            slices.append(_Slice(rows, version))
        for column in monitor.segments:
            if column not in table.column_names:
                continue
            in_reference = column in reference.table.column_names
            values = (
                reference.top_segments(column, monitor.top_segments)
                if in_reference
                else top_segments(table, column, monitor.top_segments)
            )
            for value, part in split_segments(table, column, values).items():
                # Each segment is compared with the same segment of the reference.
                own = reference.segment(column, value, monitor.top_segments)
                slices.append(_Slice(part, "", column, value, own))
        return slices

    def _slice(
        self,
        point: PointBuilder,
        schema: ModelSchema,
        config: ModelConfig,
        monitor: Monitor,
        reference: Reference,
        table: pa.Table,
        whole: Reference,
    ) -> tuple[list[MetricPoint], list[WindowSummary], bool]:
        """The points of one slice against its ``reference``; ``whole`` is the monitor's
        reference (all its rows), whose labels give the quality metrics' noise."""
        points: list[MetricPoint] = []
        summaries: list[WindowSummary] = []
        columns = {
            name: kind
            for name, kind in monitored_columns(schema, config).items()
            if name in reference.table.column_names and name in table.column_names
        }
        checked = False
        if monitor.computes("drift") or monitor.computes("data_quality"):
            profile = reference.profile(columns, config.bounds)
            report = compare_tables(
                profile,
                table,
                columns,
                methods=monitor.methods,
                thresholds=monitor.thresholds,
                min_rows=monitor.min_rows,
                drift_share=monitor.drift_share,
                summaries=reference.pinned,
                # Schema changes of the model's own columns, never of the stored record's
                # (ids, times): an uploaded reference has no such columns.
                schema_columns={c.name for c in schema.columns()},
            )
            checked = report.share_of_drifted_columns is not None or not monitor.computes("drift")
            points += data_points(
                point,
                report,
                reference.source,
                drift=monitor.computes("drift"),
                quality=monitor.computes("data_quality"),
            )
            for name, column in report.columns.items():
                if column.summary is not None:
                    summaries.append(
                        WindowSummary(
                            point.model,
                            point.monitor,
                            point.window.granularity,
                            point.window.start,
                            point.window.end,
                            name,
                            reference.source,
                            column.summary.to_dict(),
                            point.model_version,
                            point.segment_key,
                            point.segment_value,
                        )
                    )
        else:
            points.append(point("row_count", table.num_rows, table.num_rows))
            checked = True
        mapping = self._mapping(schema, config, reference, table)
        realized = None
        # The reference's own quality: the baseline a window's quality is judged against.
        baseline = _reference_quality(mapping, reference)
        if monitor.computes("model_quality") and "target" in table.column_names:
            realized = _realized(mapping, table)
            # Noise per row from the whole reference, once per pinned reference (a moving
            # one changes every window: too dear to bootstrap each time; no noise then).
            noise = {}
            if realized is not None and whole.pinned:
                noise = _reference_noise(mapping, whole)
            points += quality_points(point, realized, table, baseline, noise)
        if monitor.computes("estimated_quality") and mapping is not None:
            estimator = _estimator(mapping, reference)
            if estimator is not None and mapping.prediction_score in table.column_names:
                label = mapping.prediction_label
                estimate = estimator.estimate(
                    table.column(mapping.prediction_score),
                    predicted=table.column(label)
                    if label and label in table.column_names
                    else None,
                )
                classification = realized if isinstance(realized, ClassificationQuality) else None
                points += estimated_points(point, estimate, classification, baseline)
        return points, summaries, checked

    def _mapping(
        self, schema: ModelSchema, config: ModelConfig, reference: Reference, table: pa.Table
    ) -> ColumnMapping | None:
        """Which outputs are the score and the label, the task and the positive label."""
        outputs = [name for name in schema.output_names if name in table.column_names]
        if not outputs or schema.target is None:
            return None

        def infer(source: pa.Table) -> ColumnMapping | None:
            if "target" not in source.column_names:
                return None
            labelled = source.filter(pc.is_valid(source.column("target")))
            if labelled.num_rows == 0:
                return None
            present = [n for n in outputs if n in labelled.column_names]
            given = ColumnMapping(
                numerical_features=(),
                categorical_features=(),
                target="target",
                prediction_score=config.prediction_score,
                prediction_label=config.prediction_label,
                positive_label=config.positive_label,
                task=config.task,
            )
            try:
                return infer_mapping(labelled.select([*present, "target"]), given)
            except SightlineError as error:
                log.warning("model '%s': cannot tell its outputs' roles: %s", schema.model, error)
                return None

        key = (
            "mapping",
            tuple(outputs),
            config.task,
            config.prediction_score,
            config.prediction_label,
            repr(config.positive_label),
        )
        # From the reference's labelled rows (once per reference), else from the window's own:
        # each time, since a window's labels may come later than the window.
        mapping: ColumnMapping | None = reference.derived(key, lambda: infer(reference.table))
        return mapping if mapping is not None else infer(table)


def _realized(mapping: ColumnMapping | None, table: pa.Table) -> Any:
    if mapping is None or not mapping.target:
        return None
    labelled = table.filter(pc.is_valid(table.column("target")))
    if labelled.num_rows == 0:
        return None
    label = mapping.prediction_label if mapping.prediction_label in table.column_names else None
    score = mapping.prediction_score if mapping.prediction_score in table.column_names else None
    try:
        if mapping.task == "regression":
            return (
                regression_quality(table.column("target"), table.column(label)) if label else None
            )
        if label is None and score is None:
            return None
        return classification_quality(
            table.column("target"),
            predicted=table.column(label) if label else None,
            scores=table.column(score) if score else None,
            positive_label=mapping.positive_label,
        )
    except SightlineError as error:
        raise ComputeError(f"model quality cannot be computed: {error}") from None


def _reference_quality(mapping: ColumnMapping | None, reference: Reference) -> Any:
    """The realized quality of the reference's labelled rows (None without labels)."""
    if mapping is None or "target" not in reference.table.column_names:
        return None

    def compute() -> Any:
        try:
            return _realized(mapping, reference.table)
        except ComputeError as error:
            log.info("no reference quality from %s: %s", reference.source, error)
            return None

    key = ("quality", mapping.task, mapping.prediction_score, mapping.prediction_label)
    return reference.derived((*key, repr(mapping.positive_label)), compute)


def _reference_noise(mapping: ColumnMapping | None, reference: Reference) -> dict[str, float]:
    """Each quality metric's sampling noise at one row, bootstrapped from the reference's
    labelled rows (see :func:`sightline.metrics.unit_errors`); empty without labels."""
    if mapping is None or "target" not in reference.table.column_names:
        return {}

    def compute() -> dict[str, float]:
        table = reference.table
        labelled = table.filter(pc.is_valid(table.column("target")))

        def metrics(rows: Any) -> dict[str, Any]:
            quality = _realized(mapping, labelled.take(rows))
            return quality.to_dict() if quality is not None else {}

        return unit_errors(metrics, labelled.num_rows)

    key = ("noise", mapping.task, mapping.prediction_score, mapping.prediction_label)
    noise: dict[str, float] = reference.derived((*key, repr(mapping.positive_label)), compute)
    return noise


def _estimator(mapping: ColumnMapping, reference: Reference) -> CBPE | None:
    score = mapping.prediction_score
    if mapping.task != "classification" or not score:
        return None
    table = reference.table
    if score not in table.column_names or "target" not in table.column_names:
        return None

    def fit() -> CBPE | None:
        positive = 1 if mapping.positive_label is None else mapping.positive_label
        try:
            return CBPE.fit(table.column(score), table.column("target"), positive_label=positive)
        except SightlineError as error:
            log.info("no CBPE estimate from reference %s: %s", reference.source, error)
            return None

    estimator: CBPE | None = reference.derived(("cbpe", score, mapping.positive_label), fit)
    return estimator
