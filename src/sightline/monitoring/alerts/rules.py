"""Alert rules: a condition on metric points, its scope, how long it must hold, what to say.

    >>> from sightline.monitoring.alerts.conditions import Threshold
    >>> rule = Rule("high_missing", Scope(metrics=("missing_share",)), Threshold(">", 0.2),
    ...             for_=Span(windows=2))
    >>> rule.condition.describe()
    '> 0.2'

Rules are generic over metric points ``(metric, column, segment, value, details)``, so they
apply to any metric a job writes. A *point rule* is evaluated after each window computation on
that window's points; a *timer rule* (a :class:`~.conditions.NoData` condition) is evaluated on
a timer. The conditions live in :mod:`.conditions`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sightline.monitoring.alerts.conditions import Condition, Guard, NoData, humanize
from sightline.schema import MetricPoint

__all__ = ["SEVERITIES", "Rule", "Scope", "Span", "fingerprint"]

SEVERITIES = ("info", "warning", "critical")


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable id of an alert instance: a hash of the rule name and the sorted labels."""
    text = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
        return humanize(self.seconds) if self.seconds else "0"


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
