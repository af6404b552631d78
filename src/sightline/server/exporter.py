"""What ``GET /metrics`` adds to the collector's live counters: the latest metric points of every
model, job health, the scheduler's and alerting's state, build info and process metrics.

Scrapes are cheap: nothing here queries a store while Prometheus waits. The latest window of
each model's monitor is kept in memory and re-read when a window is written (the job runner's
``on_window`` hook, in the process that computes windows) and by a background refresh every
``SIGHTLINE_PROMETHEUS_REFRESH_INTERVAL`` seconds (for the other processes of a deployment, and
for the outbox depth). The gauges of the points are rendered once per change and kept as bytes;
a scrape adds the small families that depend on the clock (windows behind) and the in-memory
alert states.

    >>> exporter = Exporter(settings, runner, scheduler, alerting)   # doctest: +SKIP
    >>> exporter.refresh()                                           # doctest: +SKIP
    >>> b"sightline_drift_score" in exporter.render()                # doctest: +SKIP
    True

Counters and histograms (runs, run durations, delivery attempts) are this process's own, as
Prometheus expects: ``sum without (instance)`` adds up several processes, ``rate`` survives
restarts. The names are listed in docs/prometheus-grafana.md.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sightline.config import Settings
from sightline.monitoring import Clock, JobRunner, Scheduler, SystemClock
from sightline.monitoring.alerts import Alerting
from sightline.schema import JobRun, MetricPoint, Window, floor_time
from sightline.schema.monitors import Monitor
from sightline.schema.windows import granularity_seconds
from sightline.server.exposition import capped, families

__all__ = ["RUN_BUCKETS", "STATUSES", "Exporter"]

log = logging.getLogger("sightline.server")

#: Job run durations (seconds): a window of a few rows to a large backfill window.
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
STATUSES = ("ok", "insufficient_data", "no_data", "error")
ALERT_STATES = ("pending", "firing")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Most windows (newest first) looked at for one that has data when the newest are empty.
LOOK_BACK_WINDOWS = 48


@dataclass
class _Latest:
    """What is known of one model's monitor: its latest window with data (and that window's
    points within the caps), its latest computed window, and its last runs."""

    monitor: Monitor
    window: Window | None = None
    points: list[MetricPoint] = field(default_factory=list)
    #: Those points rendered: family name → (its HELP and TYPE lines, its sample lines).
    chunks: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    computed_end: datetime | None = None
    last_run: JobRun | None = None
    last_success: JobRun | None = None
    #: window start → start time of its latest successful run, as last read: what changed.
    seen: dict[datetime, datetime] = field(default_factory=dict)


def _empty(points: Sequence[MetricPoint]) -> bool:
    """A window where nothing arrived: only zero row and event counts."""
    return all(p.metric in ("row_count", "event_count") and not p.value for p in points)


def _seconds(ts: datetime) -> float:
    return (ts - _EPOCH).total_seconds()


class _Frozen:
    """Families computed once, collected as they are."""

    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def _chunks(text: bytes) -> dict[str, tuple[bytes, bytes]]:
    """An exposition cut into its families: name → (HELP and TYPE lines, sample lines)."""
    chunks: dict[str, tuple[bytes, bytes]] = {}
    for block in (b"\n" + text).split(b"\n# HELP ")[1:]:  # label values escape newlines
        name, _, rest = block.partition(b" ")
        header_end = rest.index(b"\n", rest.index(b"\n# TYPE ") + 1) + 1
        body = rest[header_end:]
        samples = body + b"\n" if body and not body.endswith(b"\n") else body
        chunks[name.decode()] = (b"# HELP " + name + b" " + rest[:header_end], samples)
    return chunks


def _rendered(metrics: list[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Frozen(metrics))
    text: bytes = generate_latest(registry)
    return text


class Exporter:
    """The Prometheus view of one server process (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        runner: JobRunner,
        scheduler: Scheduler,
        alerting: Alerting,
        *,
        clock: Clock | None = None,
    ):
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``_created`` twins
        self.settings = settings
        self.runner = runner
        self.metrics = runner.metrics
        self.predictions = runner.predictions
        self.scheduler = scheduler
        self.alerting = alerting
        self.clock = clock or SystemClock()
        self.interval = settings.prometheus_refresh_interval
        self.registry = r = CollectorRegistry(auto_describe=False)
        self.run_duration = Histogram(
            "sightline_job_run_duration_seconds",
            "Time to compute one window (or roll one up), in this process.",
            ("model", "monitor"),
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.runs = Counter(
            "sightline_job_runs",
            "Window computations of this process, by outcome.",
            ("model", "monitor", "status"),
            registry=r,
        )
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)  # process_*, python_info, python_gc_*
        r.register(_State(self))
        self._latest: dict[tuple[str, str], _Latest] = {}
        self._first_seen: dict[str, datetime] = {}
        self._outbox = (0, 0)
        self._refreshed: tuple[float, float] | None = None  # when, how long (seconds)
        self._text: bytes | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- keeping the latest points -------------------------------------------------------------

    def on_window(self, model: str, monitor: Monitor, window: Window, run: JobRun) -> None:
        """The job runner's hook: count the run and, when it is the model's newest window,
        take its points. Never raises."""
        try:
            self.run_duration.labels(model, monitor.name).observe(max(run.duration_s, 0.0))
            self.runs.labels(model, monitor.name, run.status).inc()
            if window.granularity != monitor.granularity:
                return  # a roll-up: the monitor's own windows are what is exported
            if model not in self._first_seen:  # a new model: where its windows begin
                self._first_seen.update(
                    (m.name, m.first_ts) for m in self.predictions.models() if m.first_ts
                )
            with self._lock:
                latest = self._entry(model, monitor)
                if latest.last_run is None or run.finished_at >= latest.last_run.finished_at:
                    latest.last_run = run
                if run.status == "error":
                    return
                latest.last_success = run
                latest.seen[window.start] = run.started_at
                if latest.computed_end is None or window.end > latest.computed_end:
                    latest.computed_end = window.end
                newer = latest.window is None or window.start >= latest.window.start
            if newer:
                self._take(model, latest, window)
        except Exception:  # the export must never break a job
            log.exception("exporting %s of model '%s' failed", window, model)

    def _entry(self, model: str, monitor: Monitor) -> _Latest:
        latest = self._latest.get((model, monitor.name))
        if latest is None or latest.monitor != monitor:
            latest = self._latest[model, monitor.name] = _Latest(monitor)
        return latest

    def _take(self, model: str, latest: _Latest, window: Window) -> bool:
        """Read ``window``'s points; keep them if it has data (or replaces itself)."""
        points = self.metrics.query(
            model,
            granularity=window.granularity,
            start=window.start,
            end=window.end,
            monitor=latest.monitor.name,
        )
        if _empty(points) and latest.window != window:
            return False
        kept, columns, slices = capped(
            points, self.settings.prometheus_max_columns, self.settings.prometheus_max_slices
        )
        # Rendered here, in the job's thread: a scrape only joins the chunks of every model.
        chunks = _chunks(_rendered(families(kept, [(model, latest.monitor.name, columns, slices)])))
        with self._lock:
            if latest.window is not None and window.start < latest.window.start:
                return True  # a newer window was taken meanwhile
            latest.window, latest.points, latest.chunks = window, kept, chunks
            self._text = None
        return True

    def refresh(self) -> None:
        """Re-read what changed in the stores: windows computed by other processes, the last
        runs, the models' first data and the outbox depth."""
        started = time.perf_counter()
        infos = self.predictions.models()
        wanted: set[tuple[str, str]] = set()
        for info in infos:
            if info.first_ts is not None:
                self._first_seen[info.name] = info.first_ts
            for monitor in self.runner.monitors(info.name):
                wanted.add((info.name, monitor.name))
                try:
                    self._refresh_monitor(info.name, monitor)
                except Exception:  # one model's trouble must not hide the others
                    log.exception("refreshing the export of model '%s' failed", info.name)
        with self._lock:
            for key in set(self._latest) - wanted:
                del self._latest[key]
                self._text = None
        status = self.alerting.status()["outbox"]
        self._outbox = (int(status.get("pending", 0)), int(status.get("failed", 0)))
        self._refreshed = (time.time(), time.perf_counter() - started)

    def _refresh_monitor(self, model: str, monitor: Monitor) -> None:
        with self._lock:
            latest = self._entry(model, monitor)
            since = latest.window.start if latest.window is not None else _EPOCH
            seen = dict(latest.seen)
        granularity = monitor.granularity
        computed = self.metrics.last_computed(model, granularity, since, monitor.name)
        length = timedelta(seconds=granularity_seconds(granularity))
        changed = [start for start, at in computed.items() if seen.get(start) != at]
        for start in sorted(changed, reverse=True)[:LOOK_BACK_WINDOWS]:
            if self._take(model, latest, Window(start, start + length, granularity)):
                break
        runs = self.metrics.runs(model, 20, monitor.name)
        runs = [r for r in runs if r.granularity == granularity]
        with self._lock:
            latest.seen.update(computed)
            if computed:
                end = max(computed) + length
                if latest.computed_end is None or end > latest.computed_end:
                    latest.computed_end = end
            if runs:
                latest.last_run = runs[0]
                success = next((r for r in runs if r.status != "error"), None)
                if success is not None:
                    latest.last_success = success

    # -- background refresh --------------------------------------------------------------------

    def start(self) -> None:
        """Refresh now, then every ``interval`` seconds in a background thread (none when the
        interval is 0)."""
        self._refresh_logged()
        if self._thread is not None or self.interval <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sightline-export", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._refresh_logged()

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception:  # the loop must survive a store that is briefly away
            log.exception("refreshing the Prometheus export failed")

    # -- rendering -----------------------------------------------------------------------------

    def render(self) -> bytes:
        """The exposition: the cached point gauges, then this process's state."""
        with self._lock:
            text = self._text
            if text is None:
                rendered = [latest.chunks for latest in self._latest.values()]
                parts = []
                for name in sorted({name for chunks in rendered for name in chunks}):
                    found = [chunks[name] for chunks in rendered if name in chunks]
                    parts += [found[0][0], *(samples for _, samples in found)]
                text = self._text = b"".join(parts)
        state: bytes = generate_latest(self.registry)
        return text + state

    def state_families(self) -> list[Metric]:
        """The families that depend on the clock and on in-memory state (see :class:`_State`)."""
        now = self.clock.now()
        with self._lock:
            entries = sorted(self._latest.items())
            first_seen = dict(self._first_seen)
        window_end = _gauge(
            "sightline_window_end_timestamp_seconds",
            "End of the latest window with data, whose points the gauges show.",
        )
        window_length = _gauge(
            "sightline_window_duration_seconds", "Length of the monitor's windows."
        )
        last_run = _gauge(
            "sightline_job_last_run_timestamp_seconds", "When the latest run of a window ended."
        )
        last_success = _gauge(
            "sightline_job_last_success_timestamp_seconds",
            "When the latest run that did not fail ended.",
        )
        status = _gauge(
            "sightline_job_last_run_status",
            "Outcome of the latest run: 1 for its status, 0 for the others.",
            "status",
        )
        behind = _gauge(
            "sightline_job_windows_behind",
            "Closed windows (past the monitor's delay) newer than the latest computed one.",
        )
        for (model, monitor), latest in entries:
            labels = (model, monitor)
            seconds = granularity_seconds(latest.monitor.granularity)
            window_length.add_metric(labels, seconds)
            if latest.window is not None:
                window_end.add_metric(labels, _seconds(latest.window.end))
            if latest.last_run is not None:
                last_run.add_metric(labels, _seconds(latest.last_run.finished_at))
                for name in STATUSES:
                    status.add_metric((*labels, name), float(latest.last_run.status == name))
            if latest.last_success is not None:
                last_success.add_metric(labels, _seconds(latest.last_success.finished_at))
            delay = latest.monitor.delay
            closed = floor_time(
                now - timedelta(seconds=self.settings.window_delay if delay is None else delay),
                latest.monitor.granularity,
            )
            since = latest.computed_end
            if since is None and model in first_seen:
                catchup = now - timedelta(days=self.settings.catchup_days)
                since = floor_time(max(first_seen[model], catchup), latest.monitor.granularity)
            if since is not None:
                behind.add_metric(labels, max(0, (closed - since).total_seconds() // seconds))
        return [
            window_end,
            window_length,
            last_run,
            last_success,
            status,
            behind,
            *self._alerting_families(),
            *self._service_families(),
        ]

    def _alerting_families(self) -> list[Metric]:
        counts: dict[tuple[str, str, str, str], int] = {}
        rules = {rule.name: rule for rule in self.alerting.rules}
        for instance in self.alerting.alerts():
            rule = rules.get(instance.rule)
            if rule is None:
                continue
            for state in ALERT_STATES:
                key = (instance.model, rule.name, rule.severity, state)
                counts[key] = counts.get(key, 0) + (instance.state == state)
        alerts = _gauge(
            "sightline_alerts",
            "Alerts of a rule by state (pending, firing) for each model that has had one.",
            "rule",
            "severity",
            "state",
            base=("model",),
        )
        for key in sorted(counts):
            alerts.add_metric(key, counts[key])
        n_rules = GaugeMetricFamily("sightline_alert_rules", "Alert rules evaluated.")
        n_rules.add_metric((), len(rules))
        pending = GaugeMetricFamily(
            "sightline_notifications_pending", "Notifications waiting in the outbox to be sent."
        )
        pending.add_metric((), self._outbox[0])
        failed = GaugeMetricFamily(
            "sightline_notifications_failed",
            "Notifications the outbox gave up on (see sightline alerts notifications).",
        )
        failed.add_metric((), self._outbox[1])
        attempts = CounterMetricFamily(
            "sightline_notification_attempts",
            "Delivery attempts of this process, by channel and outcome.",
            labels=("channel", "outcome"),
        )
        for (channel, outcome), n in sorted(self.alerting.outbox.attempts.items()):
            attempts.add_metric((channel, outcome), n)
        return [alerts, n_rules, pending, failed, attempts]

    def _service_families(self) -> list[Metric]:
        scheduler = self.scheduler
        running = GaugeMetricFamily(
            "sightline_scheduler_running", "1 when this process's scheduler thread runs."
        )
        running.add_metric((), float(scheduler.running))
        leader = GaugeMetricFamily(
            "sightline_scheduler_leader",
            "1 when this process held the scheduler lease at its last pass (one process does).",
        )
        leader.add_metric((), float(scheduler.leader))
        found: list[Metric] = [running, leader]
        if scheduler.last_pass is not None:
            last = GaugeMetricFamily(
                "sightline_scheduler_last_pass_timestamp_seconds", "When the last pass began."
            )
            last.add_metric((), _seconds(scheduler.last_pass))
            found.append(last)
        if self._refreshed is not None:
            at, took = self._refreshed
            when = GaugeMetricFamily(
                "sightline_export_refresh_timestamp_seconds",
                "When the export last re-read the stores.",
            )
            when.add_metric((), at)
            duration = GaugeMetricFamily(
                "sightline_export_refresh_duration_seconds", "How long that refresh took."
            )
            duration.add_metric((), took)
            found += [when, duration]
        store = self.settings.prediction_store_url.partition("://")[0]
        info = GaugeMetricFamily(
            "sightline_build_info",
            "Always 1: the Sightline version, the Python version and the prediction store.",
            labels=("version", "python_version", "store"),
        )
        info.add_metric((_version(), platform.python_version(), store or "duckdb"), 1)
        found.append(info)
        return found


def _gauge(name: str, help: str, *labels: str, base: Sequence[str] = ("model", "monitor")) -> Any:
    return GaugeMetricFamily(name, help, labels=(*base, *labels))


def _version() -> str:
    from sightline import __version__

    return __version__


class _State:
    """The families computed at scrape time from memory (no store query)."""

    def __init__(self, exporter: Exporter):
        self.exporter = exporter

    def collect(self) -> Iterable[Metric]:
        return self.exporter.state_families()
