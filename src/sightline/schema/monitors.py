"""Monitors and model configuration: what to compute for a model, against what, how often.

    >>> monitor = Monitor(granularity="1d", suites=frozenset({"drift"}))
    >>> monitor.computes("model_quality")
    False

These are plain data. They come from the YAML config file (see ``docs/configuration.md``), the
HTTP API or Python; :mod:`sightline.monitoring.config` parses and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["REFERENCE_KINDS", "SUITES", "ModelConfig", "Monitor", "ReferenceSpec"]

#: What a monitor can compute.
SUITES = frozenset(
    {"drift", "data_quality", "model_quality", "estimated_quality", "service_health"}
)

#: Where a reference can come from.
REFERENCE_KINDS = ("dataset", "range", "previous_window", "trailing_windows", "previous_version")


@dataclass(frozen=True)
class ReferenceSpec:
    """What "normal" is for a monitor.

    - ``dataset``: the uploaded reference dataset ``name`` (default ``default``); without one,
      the model's first day of production data, pinned;
    - ``range``: production data in ``[start, end)``, pinned;
    - ``previous_window``: the window before the one computed (a moving baseline);
    - ``trailing_windows``: the ``windows`` windows before the one computed;
    - ``previous_version``: the last ``days`` days of data of the model version before the one
      computed (for a new version; otherwise as ``dataset``).
    """

    kind: str = "dataset"
    name: str = "default"
    start: datetime | None = None
    end: datetime | None = None
    windows: int = 1
    days: float = 7.0

    @property
    def moving(self) -> bool:
        return self.kind in ("previous_window", "trailing_windows")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceSpec:
        def time(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            kind=data["kind"],
            name=data.get("name", "default"),
            start=time(data.get("from")),
            end=time(data.get("to")),
            windows=int(data.get("windows", 1)),
            days=float(data.get("days", 7.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind == "dataset":
            data["name"] = self.name
        elif self.kind == "range":
            data["from"] = self.start.isoformat() if self.start else None
            data["to"] = self.end.isoformat() if self.end else None
        elif self.kind == "trailing_windows":
            data["windows"] = self.windows
        elif self.kind == "previous_version":
            data["days"] = self.days
        return data


@dataclass(frozen=True)
class Monitor:
    """What to compute for a model: window length, reference, suites, minimum rows, segments,
    and per-column drift methods and thresholds."""

    name: str = "default"
    granularity: str = "1h"
    reference: ReferenceSpec = field(default_factory=ReferenceSpec)
    suites: frozenset[str] = SUITES
    min_rows: int = 30
    drift_share: float = 0.5
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    segments: tuple[str, ...] = ()
    top_segments: int = 10
    delay: float | None = None  # seconds after a window closes; None = the server's setting

    def computes(self, suite: str) -> bool:
        return suite in self.suites

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Monitor:
        return cls(
            name=data["name"],
            granularity=data["granularity"],
            reference=ReferenceSpec.from_dict(data["reference"]),
            suites=frozenset(data["suites"]),
            min_rows=int(data["min_rows"]),
            drift_share=float(data["drift_share"]),
            methods=dict(data.get("methods", {})),
            thresholds={k: float(v) for k, v in data.get("thresholds", {}).items()},
            segments=tuple(data.get("segments", ())),
            top_segments=int(data.get("top_segments", 10)),
            delay=data.get("delay"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "granularity": self.granularity,
            "reference": self.reference.to_dict(),
            "suites": sorted(self.suites),
            "min_rows": self.min_rows,
            "drift_share": self.drift_share,
            "methods": dict(self.methods),
            "thresholds": dict(self.thresholds),
            "segments": list(self.segments),
            "top_segments": self.top_segments,
            "delay": self.delay,
        }


@dataclass(frozen=True)
class ModelConfig:
    """A model's column roles (what the stored schema cannot say) and its monitors."""

    name: str
    monitors: tuple[Monitor, ...] = (Monitor(),)
    task: str | None = None  # "classification", "regression", or None: inferred
    prediction_score: str | None = None  # output holding the positive class's probability
    prediction_label: str | None = None  # output holding the predicted class or value
    positive_label: Any = None
    columns: dict[str, str] = field(default_factory=dict)  # name -> numerical|categorical|ignore
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def monitor(self, name: str | None = None) -> Monitor:
        if name is None:
            return self.monitors[0]
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        raise KeyError(name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """The inverse of :meth:`to_dict` (data written by Sightline, not user input)."""
        return cls(
            name=data["name"],
            monitors=tuple(Monitor.from_dict(m) for m in data["monitors"]),
            task=data.get("task"),
            prediction_score=data.get("prediction_score"),
            prediction_label=data.get("prediction_label"),
            positive_label=data.get("positive_label"),
            columns=dict(data.get("columns", {})),
            bounds={k: (float(v[0]), float(v[1])) for k, v in data.get("bounds", {}).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "prediction_score": self.prediction_score,
            "prediction_label": self.prediction_label,
            "positive_label": self.positive_label,
            "columns": dict(self.columns),
            "bounds": {k: list(v) for k, v in self.bounds.items()},
            "monitors": [m.to_dict() for m in self.monitors],
        }
