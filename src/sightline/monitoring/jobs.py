"""The monitoring job: compute one closed window of a model's monitor and write its points.

    >>> runner = JobRunner(predictions, metrics, config)                   # doctest: +SKIP
    >>> runner.run_window("churn", Window.containing(ts, "1h"))            # doctest: +SKIP
    >>> runner.run_range("churn", start, end, trigger="backfill")          # doctest: +SKIP

A window is computed for all data and, separately, for each model version present in it and for
each value of the monitor's segment columns (the reference's ten largest, plus "other"). Every
slice gets drift and data quality (with mergeable summaries, kept for roll-ups), model quality
on the rows that have ground truth (label coverage and label delay included), CBPE estimates,
and the service health of the window's service events — as the monitor's suites say.

The runner orchestrates: which windows, which reference, recording the runs. Its engine
(:mod:`sightline.monitoring.engines`) summarizes a window's slices and
:func:`sightline.metrics.evaluation.evaluate_slice` evaluates each of them, the same function
``sightline.compare`` and the model reports use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import pyarrow as pa

from sightline.config import Settings
from sightline.errors import SightlineError
from sightline.metrics import ColumnKind
from sightline.metrics.evaluation import (
    Baseline,
    EvaluationOptions,
    SliceKey,
    evaluate_slice,
    fit_estimator,
    infer_output_roles,
    reference_noise,
    reference_quality,
)
from sightline.monitoring.clock import Clock, SystemClock
from sightline.monitoring.config import SightlineConfig, config_for
from sightline.monitoring.engines import Engine, SummaryPlan
from sightline.monitoring.engines.local import LocalEngine
from sightline.monitoring.points import (
    PointBuilder,
    service_points,
    slice_points,
    window_summaries,
)
from sightline.monitoring.references import Reference, ReferenceCache
from sightline.monitoring.retention import horizon, kept_windows, pruned
from sightline.monitoring.rollups import coarser, rollup_window
from sightline.monitoring.sources import StoreSource
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


class JobRunner:
    """Runs windows of models, recording each run; the model configuration says what to compute.

    Safe to call from several threads: the scheduler and on-demand runs share one lock, so the
    same window is never computed twice at once. ``on_window`` is called after every run (the
    alerting hook). ``engine`` summarizes the windows (default: the local engine).
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
        engine: Engine | None = None,
    ):
        self.predictions = predictions
        self.engine: Engine = engine or LocalEngine()
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
        config = self.config(model)
        plan = self.plan(schema, config, monitor, window)
        slices = self.engine.summarize(StoreSource(self.predictions, model), window, plan)
        if not slices or slices[0].n_rows == 0:
            points.append(point("row_count", 0.0, 0))
            self.metrics.replace_window(model, monitor.name, window, points)
            return "no_data", 0
        reference = self.references.get(schema, monitor.reference, window)
        options = evaluation_options(schema, monitor, summaries=reference.pinned)
        summaries: list[WindowSummary] = []
        insufficient = True
        for part in slices:
            baseline = plan.baseline(part.key)
            stamp = PointBuilder(model, monitor.name, window, *part.key)
            result = evaluate_slice(
                baseline,
                part,
                options,
                mapping=lambda table: self._window_mapping(schema, config, table),
            )
            for note in result.notes:
                log.warning("model '%s', %s: %s", model, window, note)
            points += slice_points(stamp, result, baseline, monitor)
            summaries += window_summaries(stamp, result, baseline.source)
            insufficient = insufficient and not result.checked
        self.metrics.replace_window(model, monitor.name, window, points, summaries)
        return ("insufficient_data" if insufficient else "ok"), slices[0].n_rows

    def plan(
        self, schema: ModelSchema, config: ModelConfig, monitor: Monitor, window: Window
    ) -> SummaryPlan:
        """What the engine summarizes of ``window``, against the monitor's reference (resolved
        only when the window has rows): all rows, each model version (against the previous
        version's data for a ``previous_version`` reference), each segment (against the same
        segment of the reference)."""
        kinds = monitored_columns(schema, config)
        resolved: dict[str, Reference] = {}

        def reference(version: str = "") -> Reference:
            if version not in resolved:
                resolved[version] = self.references.get(schema, monitor.reference, window, version)
            return resolved[version]

        def baseline(key: SliceKey) -> Baseline:
            whole = reference()
            own = whole
            if key.model_version and monitor.reference.kind == "previous_version":
                own = reference(key.model_version)
            elif key.segment_key:
                own = whole.segment(key.segment_key, key.segment_value, monitor.top_segments)
            return self._baseline(schema, config, kinds, own, whole)

        def segment_values(column: str) -> list[str] | None:
            whole = reference()
            if column not in whole.table.column_names:
                return None  # the window's own largest values
            return whole.top_segments(column, monitor.top_segments)

        return SummaryPlan(
            kinds,
            baseline,
            segments=monitor.segments,
            segment_values=segment_values,
            top_segments=monitor.top_segments,
        )

    def _baseline(
        self,
        schema: ModelSchema,
        config: ModelConfig,
        kinds: dict[str, ColumnKind],
        reference: Reference,
        whole: Reference,
    ) -> Baseline:
        """The baseline of one slice from its ``reference``; ``whole`` is the monitor's
        reference (all its rows), whose labels give the quality metrics' noise. Every part is
        prepared once per reference."""
        columns = {n: k for n, k in kinds.items() if n in reference.table.column_names}
        profile = reference.profile(columns, config.bounds)
        mapping = self._reference_mapping(schema, config, reference)
        if mapping is None:
            return Baseline(profile, reference.source)
        key = (
            mapping.task,
            mapping.prediction_score,
            mapping.prediction_label,
            repr(mapping.positive_label),
        )
        quality = reference.derived(
            ("quality", *key),
            lambda: reference_quality(mapping, reference.table, reference.source),
        )
        # Noise per row from the whole reference, once per pinned reference (a moving one
        # changes every window: too dear to bootstrap each time; no noise then).
        noise: dict[str, float] = {}
        if whole.pinned:
            noise = whole.derived(("noise", *key), lambda: reference_noise(mapping, whole.table))
        estimator = reference.derived(
            ("cbpe", mapping.prediction_score, mapping.positive_label),
            lambda: fit_estimator(mapping, reference.table),
        )
        return Baseline(profile, reference.source, mapping, quality, noise, estimator)

    def _given_roles(self, config: ModelConfig) -> ColumnMapping:
        return ColumnMapping(
            numerical_features=(),
            categorical_features=(),
            target="target",
            prediction_score=config.prediction_score,
            prediction_label=config.prediction_label,
            positive_label=config.positive_label,
            task=config.task,
        )

    def _reference_mapping(
        self, schema: ModelSchema, config: ModelConfig, reference: Reference
    ) -> ColumnMapping | None:
        """Which outputs are the score and the label, the task and the positive label, from
        the reference's labelled rows (once per reference)."""
        outputs = [name for name in schema.output_names if name in reference.table.column_names]
        if not outputs or schema.target is None:
            return None
        key = (
            "mapping",
            tuple(outputs),
            config.task,
            config.prediction_score,
            config.prediction_label,
            repr(config.positive_label),
        )
        mapping: ColumnMapping | None = reference.derived(
            key, lambda: infer_output_roles(reference.table, outputs, self._given_roles(config))
        )
        return mapping

    def _window_mapping(
        self, schema: ModelSchema, config: ModelConfig, table: pa.Table
    ) -> ColumnMapping | None:
        """The roles from a window's own labelled rows, when the reference cannot tell them:
        each time, since a window's labels may come later than the window."""
        outputs = [name for name in schema.output_names if name in table.column_names]
        if not outputs or schema.target is None:
            return None
        return infer_output_roles(table, outputs, self._given_roles(config))


def evaluation_options(
    schema: ModelSchema, monitor: Monitor, *, summaries: bool = False
) -> EvaluationOptions:
    """The evaluation a monitor asks for on the slices of a model's windows."""
    return EvaluationOptions(
        drift=monitor.computes("drift"),
        data_quality=monitor.computes("data_quality"),
        model_quality=monitor.computes("model_quality"),
        estimated_quality=monitor.computes("estimated_quality"),
        methods=monitor.methods,
        thresholds=monitor.thresholds,
        min_rows=monitor.min_rows,
        drift_share=monitor.drift_share,
        # Schema changes of the model's own columns, never of the stored record's (ids,
        # times): an uploaded reference has no such columns.
        schema_columns=frozenset(c.name for c in schema.columns()),
        summaries=summaries,
    )
