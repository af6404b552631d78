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
    "humanize",
    "reference_value",
    "standard_error",
]

OPS = (">", ">=", "<", "<=")


def humanize(seconds: float) -> str:
    """``7260`` → ``2h 1m``; ``90000`` → ``1d 1h``; ``45`` → ``45s``."""
    seconds = int(seconds)
    for unit, size, smaller, small_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if seconds >= size:
            rest = (seconds % size) // small_size
            return f"{seconds // size}{unit}" + (f" {rest}{smaller}" if rest else "")
    return f"{seconds}s"


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


def standard_error(point: MetricPoint) -> float | None:
    """The standard error of the point's value, when its details carry one."""
    value = point.details.get("standard_error")
    if isinstance(value, int | float) and not isinstance(value, bool) and _known(value):
        return float(value)
    return None


@dataclass(frozen=True)
class Change:
    """The value changed by ``op value`` relative to a baseline: the mean of the ``windows``
    windows before (``trailing``), the reference value in the point's details (``reference``),
    or the reference when the details have one, else the trailing mean (``auto``).
    ``relative`` compares ``(value - baseline) / |baseline|`` instead of the difference.
    With ``sigmas``, the change must also exceed that many standard errors of the value
    (``details.standard_error``: the noise of a window of its size), so that chance alone in
    a small window does not hold; a point without a standard error is judged on the change.

        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> def point(value, error):
        ...     details = {"reference_value": 0.8, "standard_error": error}
        ...     return MetricPoint("m", "precision", t, t, "1h", value, 50, details=details)
        >>> rule = Change("<", -0.1, "reference", relative=True, sigmas=3)
        >>> rule.check(point(0.7, 0.05), None).holds  # -12.5%, but within 3 x 0.05 of 0.8
        False
        >>> rule.check(point(0.6, 0.05), None).holds  # -25% and 4 standard errors
        True
    """

    op: str
    value: float
    baseline: str = "auto"
    windows: int = 7
    relative: bool = False
    sigmas: float | None = None

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
        if self.relative and base == 0:
            return Outcome(None, point.value, base)
        holds = compare(delta / abs(base) if self.relative else delta, self.op, self.value)
        error = standard_error(point)
        if holds and self.sigmas is not None and error is not None:
            holds = abs(delta) > self.sigmas * error
        return Outcome(holds, point.value, base)

    def describe(self) -> str:
        amount = f"{self.value * 100:+g}%" if self.relative else f"{self.value:+g}"
        against = {
            "trailing": f"the mean of the {self.windows} windows before",
            "reference": "the reference",
            "auto": f"the reference (else the mean of the {self.windows} windows before)",
        }[self.baseline]
        beyond = f" and beyond {self.sigmas:g} standard errors" if self.sigmas is not None else ""
        return f"change {self.op} {amount} vs {against}{beyond}"


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
        return f"no data for {humanize(self.after)}"


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
