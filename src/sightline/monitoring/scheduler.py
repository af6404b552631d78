"""The built-in scheduler: every window once it has closed, again when late data arrives, and
the roll-ups of closed days and weeks.

Each pass, for every model and each of its monitors:

1. **Due windows** — closed windows (end + delay ≤ now) never computed, as far back as
   ``catchup`` (after downtime the scheduler catches up on every window it missed).
2. **Late data** — windows that received predictions or ground truth after their last
   computation (within ``lookback``, 30 days by default) are recomputed: exactly those windows,
   and their model-quality points become current.
3. **Roll-ups** — coarser windows (days, weeks) whose fine windows changed since they were
   last rolled up, computed from the fine windows' summaries.

With a retention (``SIGHTLINE_RETENTION_DAYS``), a pass also deletes, once a day, the raw
data older than it (see :mod:`sightline.monitoring.retention`), and windows whose raw data is
gone are neither caught up on nor recomputed.

Time comes from a :class:`Clock`, so tests move it by hand instead of sleeping. A lease in the
metric store keeps two server processes from running passes at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from sightline.monitoring.clock import Clock, SystemClock
from sightline.monitoring.jobs import JobRunner
from sightline.monitoring.retention import horizon, prune
from sightline.monitoring.rollups import coarser
from sightline.schema import JobRun, Window, floor_time, windows_between
from sightline.schema.monitors import Monitor
from sightline.schema.windows import granularity_seconds

__all__ = ["Clock", "Scheduler", "SystemClock"]

log = logging.getLogger(__name__)

LEASE = "scheduler"
#: Arrivals this close to a pass are checked again by the next one (writes in flight).
WATERMARK_MARGIN = timedelta(minutes=1)
#: How often raw data past the retention is deleted.
PRUNE_EVERY = timedelta(days=1)


class Scheduler:
    """Runs due, late and roll-up windows of every model, in a background thread or one pass
    at a time (:meth:`run_pending`)."""

    def __init__(
        self,
        runner: JobRunner,
        *,
        clock: Clock | None = None,
        delay: timedelta = timedelta(minutes=5),
        catchup: timedelta = timedelta(days=30),
        lookback: timedelta = timedelta(days=30),
        interval: float = 30.0,
    ):
        self.runner = runner
        self.clock = clock or SystemClock()
        self.delay = delay
        self.catchup = catchup
        self.lookback = lookback
        self.interval = interval
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._watermarks: dict[tuple[str, str], datetime] = {}
        self._pruned_at: datetime | None = None
        #: Whether this process held the lease at its last pass, and when that pass was (what
        #: ``/metrics`` reports as the scheduler's state).
        self.leader = False
        self.last_pass: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _delay(self, monitor: Monitor) -> timedelta:
        return timedelta(seconds=monitor.delay) if monitor.delay is not None else self.delay

    def _model_start(self, model: str, now: datetime) -> datetime | None:
        info = next((m for m in self.runner.predictions.models() if m.name == model), None)
        first = info.first_ts if info is not None else None
        events = self.runner.predictions.event_models().get(model)
        if events is not None and (first is None or events[0] < first):
            first = events[0]  # a model that only logs service events is monitored too
        if first is None:
            return None
        return max(first, now - self.catchup)

    def due_windows(self, model: str, monitor: Monitor | None = None) -> list[Window]:
        """Closed windows of ``model``'s monitor that were never computed, oldest first."""
        monitor = monitor or self.runner.monitor(model)
        now = self.clock.now()
        start = self._model_start(model, now)
        if start is None:
            return []
        closed_until = floor_time(now - self._delay(monitor), monitor.granularity)
        done = self.runner.metrics.computed_windows(
            model, monitor.granularity, floor_time(start, monitor.granularity), monitor.name
        )
        gone = self.runner.pruned_filter(model)  # the retention deleted their rows
        return [
            w
            for w in windows_between(start, closed_until, monitor.granularity)
            if w.start not in done and not gone(w)
        ]

    def late_windows(self, model: str, monitor: Monitor) -> list[Window]:
        """Computed windows that received data after their last computation, oldest first."""
        now = self.clock.now()
        key = (model, monitor.name)
        since = self._watermarks.get(key, now - self.lookback)
        checked_at = now - WATERMARK_MARGIN
        seconds = granularity_seconds(monitor.granularity)
        activity = self.runner.predictions.activity(model, seconds, since, now - self.lookback)
        self._watermarks[key] = max(since, checked_at)
        if not activity:
            return []
        computed = self.runner.metrics.last_computed(
            model, monitor.granularity, min(activity), monitor.name
        )
        closed_until = now - self._delay(monitor)
        length = timedelta(seconds=seconds)
        windows = [
            Window(start, start + length, monitor.granularity)
            for start, arrived in sorted(activity.items())
            if start in computed and arrived > computed[start] and start + length <= closed_until
        ]
        gone = self.runner.pruned_filter(model)
        return [w for w in windows if not gone(w)]

    def rollup_windows(self, model: str, monitor: Monitor) -> list[Window]:
        """Closed coarse windows whose fine windows were computed after their last roll-up."""
        now = self.clock.now()
        start = self._model_start(model, now)
        if start is None or self.runner.predictions.schema(model) is None:
            return []  # nothing to roll up for a model that only logs service events
        if not (monitor.computes("drift") or monitor.computes("data_quality")):
            return []  # its windows keep no summaries: nothing to merge
        fine = self.runner.metrics.last_computed(
            model, monitor.granularity, floor_time(start, "1w"), monitor.name
        )
        if not fine:
            return []
        due: list[Window] = []
        for granularity in coarser(monitor.granularity):
            closed_until = floor_time(now - self._delay(monitor), granularity)
            first = floor_time(min(fine), granularity)
            done = self.runner.metrics.last_computed(model, granularity, first, monitor.name)
            for window in windows_between(first, closed_until, granularity):
                inside = [t for s, t in fine.items() if window.start <= s < window.end]
                if inside and (window.start not in done or max(inside) > done[window.start]):
                    due.append(window)
        return due

    def run_pending(self) -> list[JobRun]:
        """One pass over every model and monitor (skipped when another process holds the
        lease)."""
        now = self.clock.now()
        lease_time = timedelta(seconds=max(3 * self.interval, 300))
        self.last_pass = now
        self.leader = self.runner.metrics.acquire_lease(LEASE, self.owner, lease_time, now)
        if not self.leader:
            log.debug("another scheduler holds the lease; skipping this pass")
            return []
        runs: list[JobRun] = []
        names = [m.name for m in self.runner.predictions.models()]  # event-only ones too
        for name in names:
            try:
                for monitor in self.runner.monitors(name):
                    runs += self.runner.run_windows(
                        name, self.due_windows(name, monitor), monitor, "schedule"
                    )
                    runs += self.runner.run_windows(
                        name, self.late_windows(name, monitor), monitor, "late_data"
                    )
                    for window in self.rollup_windows(name, monitor):
                        runs.append(self.runner.run_rollup(name, monitor, window))
            except Exception:  # one model's failure must not starve the others
                log.exception("scheduling model '%s' failed", name)
        self.prune(now)
        return runs

    def prune(self, now: datetime) -> dict[str, int]:
        """Delete the raw data past the retention (see :mod:`sightline.monitoring.retention`),
        at most once every :data:`PRUNE_EVERY`; how many records of each kind went."""
        retention = self.runner.retention
        if not retention or (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY):
            return {}
        self._pruned_at = now
        before = horizon(now, retention)
        try:
            counts = prune(self.runner.predictions, self.runner.monitors, before)
        except Exception:  # retention must not stop the monitoring
            log.exception("deleting the raw data before %s failed", before)
            return {}
        if any(counts.values()):
            log.info(
                "retention: deleted the raw data before %s: %s",
                before.date(),
                ", ".join(f"{n:,} {kind}" for kind, n in counts.items() if n),
            )
        return counts

    @property
    def running(self) -> bool:
        """Whether the background thread is passing over the models."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None or self.interval <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sightline-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.runner.metrics.release_lease(LEASE, self.owner)
        except Exception:  # closing down: the lease expires by itself
            log.debug("could not release the scheduler lease", exc_info=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                runs = self.run_pending()
                if runs:
                    log.info("scheduler computed %d window(s)", len(runs))
            except Exception:  # the loop must survive anything a pass throws
                log.exception("scheduler pass failed")
            self._stop.wait(self.interval)
