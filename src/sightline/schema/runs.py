"""Job runs: the history of window computations, for the scheduler and for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["JobRun"]


@dataclass(frozen=True, slots=True)
class JobRun:
    """One computation of one window of one model's monitor."""

    model: str
    monitor: str
    granularity: str
    window_start: datetime
    window_end: datetime
    status: str  # "ok", "insufficient_data", "no_data" or "error"
    started_at: datetime
    finished_at: datetime
    n_rows: int = 0
    error: str = ""
    trigger: str = ""  # "schedule", "late_data", "backfill", "manual", ...

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "monitor": self.monitor,
            "granularity": self.granularity,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_s": self.duration_s,
            "n_rows": self.n_rows,
            "error": self.error,
            "trigger": self.trigger,
        }
