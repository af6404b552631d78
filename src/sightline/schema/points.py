"""Metric points: what monitoring jobs write to the metric store, one value per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["MetricPoint", "WindowSummary", "parse_segment"]


def parse_segment(text: str | None) -> tuple[str | None, str | None]:
    """A segment filter: ``""`` all data, ``"region"`` every value of region, ``"region=eu"``
    one value, ``"*"`` every slice. Returns (segment_key, segment_value); None = any."""
    if text is None or text == "":
        return "", ""
    if text == "*":
        return None, None
    key, sep, value = text.partition("=")
    return key, (value if sep else None)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One value of one metric, for one model, window, column and segment.

    ``column`` empty means the whole table; ``segment_key``/``segment_value`` empty mean all data.
    ``value`` is None when the window had too little data (``details["status"]`` says why).
    """

    model: str
    metric: str
    window_start: datetime
    window_end: datetime
    granularity: str
    value: float | None
    n_rows: int
    column: str = ""
    model_version: str = ""
    monitor: str = "default"
    segment_key: str = ""
    segment_value: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.model_version,
            "monitor": self.monitor,
            "metric": self.metric,
            "column": self.column,
            "segment_key": self.segment_key,
            "segment_value": self.segment_value,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "granularity": self.granularity,
            "value": self.value,
            "n_rows": self.n_rows,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """The mergeable summary of one column in one window (see ``metrics.summaries``), kept so
    that coarser windows can be computed by merging instead of re-reading rows. ``reference``
    identifies the reference whose edges the summary was binned on."""

    model: str
    monitor: str
    granularity: str
    window_start: datetime
    window_end: datetime
    column: str
    reference: str
    data: dict[str, Any]
    model_version: str = ""
    segment_key: str = ""
    segment_value: str = ""
