"""The built-in scheduler: computes every window once it has closed (plus a delay for late data).

Time comes from a :class:`Clock`, so tests move it by hand instead of sleeping. After downtime
the scheduler catches up on every window it missed, as far back as ``catchup``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sightline.monitoring.jobs import JobRunner
from sightline.schema import JobRun, Window, floor_time, windows_between

__all__ = ["Clock", "Scheduler", "SystemClock"]

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Scheduler:
    """Runs due windows of every model, in a background thread or one pass at a time."""

    def __init__(
        self,
        runner: JobRunner,
        *,
        clock: Clock | None = None,
        delay: timedelta = timedelta(minutes=5),
        catchup: timedelta = timedelta(days=30),
        interval: float = 30.0,
    ):
        self.runner = runner
        self.clock = clock or SystemClock()
        self.delay = delay
        self.catchup = catchup
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due_windows(self, model: str) -> list[Window]:
        """Closed windows of ``model`` that were never computed, oldest first."""
        info = next((m for m in self.runner.predictions.models() if m.name == model), None)
        if info is None or info.first_ts is None:
            return []
        granularity = self.runner.monitor(model).granularity
        now = self.clock.now()
        start = max(info.first_ts, now - self.catchup)
        closed_until = floor_time(now - self.delay, granularity)
        done = self.runner.metrics.computed_windows(
            model, granularity, floor_time(start, granularity)
        )
        return [w for w in windows_between(start, closed_until, granularity) if w.start not in done]

    def run_pending(self) -> list[JobRun]:
        """One pass: compute every due window of every model."""
        runs: list[JobRun] = []
        for info in self.runner.predictions.models():
            try:
                due = self.due_windows(info.name)
                if due:
                    runs.extend(self.runner.run_windows(info.name, due))
            except Exception:  # one model's failure must not starve the others
                log.exception("scheduling model '%s' failed", info.name)
        return runs

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

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                runs = self.run_pending()
                if runs:
                    log.info("scheduler computed %d window(s)", len(runs))
            except Exception:  # the loop must survive anything a pass throws
                log.exception("scheduler pass failed")
            self._stop.wait(self.interval)
