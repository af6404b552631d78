"""Conditions: when a metric point is abnormal.

    >>> from sightline.schema import MetricPoint
    >>> Threshold(">", 0.2).describe()
    '> 0.2'

A condition judges one point, with the baseline of its series when it needs one (``trailing``
earlier windows), and says whether it holds — or ``None`` when it cannot tell (a window with
too little data has no value). :class:`NoData` is judged on the clock instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from sightline.schema import MetricPoint

__all__ = [
    "OPS",
    "Change",
    "Condition",
    "Drifted",
    "Guard",
    "NoData",
    "Outcome",
    "OutsideRange",
    "Threshold",
    "compare",
    "reference_value",
]

OPS = (">", ">=", "<", "<=")


def compare(value: float, op: str, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


@dataclass(frozen=True)
class Outcome:
    """What a condition says about one point: whether it holds (None: cannot tell, e.g. too
    little data), the value it judged and, for a change, the baseline it compared with."""

    holds: bool | None
    value: float | None
    baseline: float | None = None


class Condition(Protocol):
    """When a point is abnormal. ``trailing`` is how many earlier windows the baseline needs."""

    @property
    def trailing(self) -> int: ...

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float
    trailing: int = 0

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome:
        if not _known(point.value):
            return Outcome(None, None)
        assert point.value is not None
        return Outcome(compare(point.value, self.op, self.value), point.value)

    def describe(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class OutsideRange:
    low: float
    high: float
    trailing: int = 0

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome:
        if not _known(point.value):
            return Outcome(None, None)
        assert point.value is not None
        return Outcome(not self.low <= point.value <= self.high, point.value)

    def describe(self) -> str:
        return f"outside [{self.low:g}, {self.high:g}]"


def reference_value(point: MetricPoint) -> float | None:
    """The reference's value of the metric, when the point's details carry one."""
    for key in ("reference_value", "reference"):
        value = point.details.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and _known(value):
            return float(value)
    return None


@dataclass(frozen=True)
class Change:
    """The value changed by ``op value`` relative to a baseline: the mean of the ``windows``
    windows before (``trailing``), the reference value in the point's details (``reference``),
    or the reference when the details have one, else the trailing mean (``auto``).
    ``relative`` compares ``(value - baseline) / |baseline|`` instead of the difference."""

    op: str
    value: float
    baseline: str = "auto"
    windows: int = 7
    relative: bool = False

    @property
    def trailing(self) -> int:
        return 0 if self.baseline == "reference" else self.windows

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome:
        if not _known(point.value):
            return Outcome(None, None)
        assert point.value is not None
        base = reference_value(point) if self.baseline != "trailing" else None
        if base is None and self.baseline != "reference":
            base = baseline
        if base is None:
            return Outcome(None, point.value)
        delta = point.value - base
        if self.relative:
            if base == 0:
                return Outcome(None, point.value, base)
            delta /= abs(base)
        return Outcome(compare(delta, self.op, self.value), point.value, base)

    def describe(self) -> str:
        amount = f"{self.value * 100:+g}%" if self.relative else f"{self.value:+g}"
        against = {
            "trailing": f"the mean of the {self.windows} windows before",
            "reference": "the reference",
            "auto": f"the reference (else the mean of the {self.windows} windows before)",
        }[self.baseline]
        return f"change {self.op} {amount} vs {against}"


@dataclass(frozen=True)
class Drifted:
    """The point's own drift decision: ``details["drifted"]``, ``details["dataset_drift"]``,
    or the value of a ``drift_detected`` point."""

    trailing: int = 0

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome:
        details = point.details
        if details.get("status") not in (None, "ok"):
            return Outcome(None, point.value)
        for key in ("drifted", "dataset_drift"):
            if isinstance(details.get(key), bool):
                return Outcome(bool(details[key]), point.value)
        if point.metric == "drift_detected" and _known(point.value):
            assert point.value is not None
            return Outcome(point.value >= 0.5, point.value)
        return Outcome(None, point.value)

    def describe(self) -> str:
        return "drifted"


@dataclass(frozen=True)
class NoData:
    """A timer condition: no prediction of the model for ``after`` seconds (ingestion stalled)."""

    after: float
    trailing: int = 0

    def check(self, point: MetricPoint, baseline: float | None) -> Outcome:
        return Outcome(None, None)  # evaluated on a timer, not on points

    def silent_for(self, seconds: float) -> Outcome:
        return Outcome(seconds >= self.after, seconds)

    def describe(self) -> str:
        return f"no data for {self.after:g} s"


@dataclass(frozen=True)
class Guard:
    """A rule applies in a window only when another metric of it (same model, whole table)
    is ``op value``; ``missing`` says what a window without that metric does."""

    metric: str
    op: str
    value: float
    missing: bool = True

    def allows(self, points: list[MetricPoint]) -> bool:
        for point in points:
            if point.metric == self.metric and not point.column and not point.segment_key:
                if not _known(point.value):
                    return self.missing
                assert point.value is not None
                return compare(point.value, self.op, self.value)
        return self.missing
