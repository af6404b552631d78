"""Alert rules: a condition on metric points, its scope, how long it must hold, what to say.

    >>> rule = Rule("high_missing", Scope(metrics=("missing_share",)), Threshold(">", 0.2),
    ...             for_=Span(windows=2))
    >>> rule.condition.describe()
    '> 0.2'

Rules are generic over metric points ``(metric, column, segment, value, details)``, so they
apply to any metric a job writes. A *point rule* is evaluated after each window computation on
that window's points; a *timer rule* (:class:`NoData`) is evaluated on a timer.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sightline.schema import MetricPoint

__all__ = [
    "OPS",
    "SEVERITIES",
    "Change",
    "Condition",
    "Drifted",
    "Guard",
    "NoData",
    "Outcome",
    "OutsideRange",
    "Rule",
    "Scope",
    "Span",
    "Threshold",
    "compare",
    "fingerprint",
]

SEVERITIES = ("info", "warning", "critical")
OPS = (">", ">=", "<", "<=")


def compare(value: float, op: str, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable id of an alert instance: a hash of the rule name and the sorted labels."""
    text = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


@dataclass(frozen=True)
class Span:
    """How long something must last: ``windows`` consecutive windows or ``seconds`` of time
    (both zero: immediately)."""

    windows: int = 0
    seconds: float = 0.0

    def reached(self, count: int, since: datetime | None, at: datetime) -> bool:
        if self.windows:
            return count >= self.windows
        if self.seconds:
            return since is not None and (at - since).total_seconds() >= self.seconds
        return True

    def describe(self) -> str:
        if self.windows:
            return f"{self.windows} window{'s' if self.windows > 1 else ''}"
        return f"{self.seconds:g} s" if self.seconds else "0"


def _glob(patterns: tuple[str, ...], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class Scope:
    """Which points a rule looks at. Globs (``*``, ``?``, ``[ab]``) for models, versions,
    metrics and columns; ``column`` ``""`` is the whole table. ``versions`` ``""`` (the default)
    means all versions together, ``*`` each version's own slice too. ``segment`` ``""`` means
    all data only, ``*`` any segment too, ``key`` or ``key=glob`` one segment column.
    ``role`` (``feature`` or ``output``) keeps only columns of that role in the model's schema.
    ``exclude_models`` lists models the rule is switched off for."""

    metrics: tuple[str, ...] = ("*",)
    models: tuple[str, ...] = ("*",)
    versions: tuple[str, ...] = ("",)
    columns: tuple[str, ...] = ("*",)
    segment: str = ""
    role: str | None = None
    exclude_models: tuple[str, ...] = ()

    def applies_to(self, model: str) -> bool:
        return _glob(self.models, model) and not _glob(self.exclude_models, model)

    def covers_metric(self, metric: str) -> bool:
        return _glob(self.metrics, metric)

    def matches(self, point: MetricPoint, roles: Mapping[str, str] | None = None) -> bool:
        if not (
            self.applies_to(point.model)
            and _glob(self.metrics, point.metric)
            and _glob(self.columns, point.column)
            and _glob(self.versions, point.model_version)
        ):
            return False
        if self.role is not None and (roles or {}).get(point.column) != self.role:
            return False
        if self.segment == "*":
            return True
        if not self.segment:
            return not point.segment_key
        key, _, pattern = self.segment.partition("=")
        return point.segment_key == key and fnmatch.fnmatchcase(point.segment_value, pattern or "*")


@dataclass(frozen=True)
class Rule:
    """A named condition on metric points, with ``for``/``keep_firing_for``, severity, labels
    and annotation templates (``summary``, ``description``, ``runbook_url``)."""

    name: str
    scope: Scope
    condition: Condition
    for_: Span = Span()
    keep_firing_for: Span = Span()
    severity: str = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    only_if: Guard | None = None
    builtin: bool = False

    @property
    def timer(self) -> bool:
        """True for rules evaluated on a timer rather than on each window's points."""
        return isinstance(self.condition, NoData)

    def series_labels(self, point: MetricPoint) -> dict[str, str]:
        """The labels of the alert instance this rule makes of ``point``."""
        labels = {"alertname": self.name, "severity": self.severity, "model": point.model}
        if point.model_version:
            labels["model_version"] = point.model_version
        if point.monitor != "default":
            labels["monitor"] = point.monitor
        labels["metric"] = point.metric
        if point.column:
            labels["column"] = point.column
        if point.segment_key:
            labels["segment"] = f"{point.segment_key}={point.segment_value}"
        return {**labels, **self.labels}

    def model_labels(self, model: str) -> dict[str, str]:
        """The labels of a timer rule's instance for ``model``."""
        return {"alertname": self.name, "severity": self.severity, "model": model, **self.labels}

    def to_dict(self) -> dict[str, Any]:
        scope = self.scope
        return {
            "name": self.name,
            "builtin": self.builtin,
            "models": list(scope.models),
            "exclude_models": list(scope.exclude_models),
            "versions": list(scope.versions),
            "metrics": list(scope.metrics),
            "columns": list(scope.columns),
            "segment": scope.segment,
            "role": scope.role,
            "condition": self.condition.describe(),
            "for": self.for_.describe(),
            "keep_firing_for": self.keep_firing_for.describe(),
            "severity": self.severity,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "only_if": (
                None
                if self.only_if is None
                else f"{self.only_if.metric} {self.only_if.op} {self.only_if.value:g}"
            ),
        }
