"""Alert records: instances and their transitions, silences, notification groups, the outbox.

Plain data that the alerting engine (:mod:`sightline.monitoring.alerts`) works with and the
state store (:mod:`sightline.store.alerts`) keeps. Every record round-trips through
``to_dict``/``from_dict`` (JSON-friendly: times as ISO 8601 strings).

    >>> m = Matcher.parse("severity=~warning|critical")
    >>> m.matches({"severity": "critical"}), m.matches({"severity": "info"})
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sightline.errors import ValidationError
from sightline.schema.windows import parse_time

__all__ = [
    "STATES",
    "AlertInstance",
    "GroupState",
    "Matcher",
    "Notification",
    "NotifiedAlert",
    "OutboxEntry",
    "Silence",
    "Transition",
    "matches_all",
]

#: The states of an alert instance: inactive → pending → firing → resolved.
STATES = ("inactive", "pending", "firing", "resolved")

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """A label matcher, as in Alertmanager: ``name=value``, ``!=``, ``=~regex``, ``!~regex``.

    Regular expressions are anchored (they match the whole value). A missing label is ``""``.
    """

    name: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str, field: str = "matchers") -> Matcher:
        match = _MATCHER.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValidationError(
                f"expected a matcher such as model=churn, severity!=info or alertname=~'.*drift', "
                f"got {text!r}",
                field=field,
            )
        name, op, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as error:
                raise ValidationError(
                    f"invalid regular expression {value!r}: {error}", field=field
                ) from None
        return cls(name, op, value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> datetime | None:
    return parse_time(value) if value is not None else None


class _Record:
    """``to_dict``/``from_dict`` for dataclasses whose datetime fields are named in ``TIMES``."""

    TIMES: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self.TIMES:
                value = _time(value)
            elif isinstance(value, list | tuple) and value and isinstance(value[0], Matcher):
                value = [str(m) for m in value]
            data[f.name] = value
        return data

    @classmethod
    def _values(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        values = {k: v for k, v in data.items() if k in known}
        for name in cls.TIMES:
            if name in values:
                values[name] = _parse(values[name])
        return values


@dataclass
class AlertInstance(_Record):
    """One alert: a rule applied to one series (model, metric, column, segment ...).

    ``fingerprint`` is a hash of the rule name and the sorted labels, stable across restarts.
    ``active_since`` starts the current run of windows (or evaluations) where the condition
    held, ``streak`` counts them; ``clear_since``/``clear_streak`` do the same for a firing
    alert whose condition stopped holding (``keep_firing_for``). ``context`` is what a person
    needs: value, threshold, window, top drifting features, links.
    """

    TIMES = (
        "active_since",
        "clear_since",
        "fired_at",
        "resolved_at",
        "updated_at",
        "last_window_start",
        "acked_at",
    )

    fingerprint: str
    rule: str
    labels: dict[str, str]
    state: str = "inactive"
    value: float | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    active_since: datetime | None = None
    streak: int = 0
    clear_since: datetime | None = None
    clear_streak: int = 0
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime | None = None
    last_window_start: datetime | None = None
    acked_by: str = ""
    acked_at: datetime | None = None
    ack_comment: str = ""

    @property
    def model(self) -> str:
        return self.labels.get("model", "")

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertInstance:
        return cls(**cls._values(data))


@dataclass(frozen=True)
class Transition(_Record):
    """A change of state of an alert instance, kept as history."""

    TIMES = ("at", "window_start", "window_end")

    fingerprint: str
    rule: str
    labels: dict[str, str]
    at: datetime
    from_state: str
    to_state: str
    value: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    summary: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transition:
        return cls(**cls._values(data))


@dataclass(frozen=True)
class Silence(_Record):
    """Mutes the notifications of every alert its matchers match, from ``starts_at`` until
    ``ends_at`` (alerts keep their state; they are just not notified)."""

    TIMES = ("starts_at", "ends_at", "created_at")

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""
    created_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.active(now) and matches_all(self.matchers, labels)

    def status(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        values = cls._values(data)
        values["matchers"] = tuple(Matcher.parse(m) for m in values.get("matchers", ()))
        return cls(**values)


@dataclass
class GroupState(_Record):
    """What was last notified for one notification group (receiver + group labels).

    ``sent`` lists the fingerprints last notified as firing: it decides whether the group
    changed since (a new alert, a resolved one) and which resolved alerts to announce.
    """

    TIMES = ("first_seen", "last_sent_at")

    key: str
    receiver: str
    route: str
    labels: dict[str, str]
    first_seen: datetime
    last_sent_at: datetime | None = None
    sent: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupState:
        return cls(**cls._values(data))


@dataclass(frozen=True)
class NotifiedAlert(_Record):
    """One alert inside a notification, in Alertmanager's webhook shape (plus ``context``)."""

    TIMES = ("starts_at", "ends_at")

    fingerprint: str
    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotifiedAlert:
        return cls(**cls._values(data))


@dataclass(frozen=True)
class Notification(_Record):
    """One message for one group: what every channel renders in its own format."""

    TIMES = ("created_at",)

    id: str
    group_key: str
    receiver: str
    status: str  # "firing" when any alert fires, else "resolved"
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    alerts: tuple[NotifiedAlert, ...]
    created_at: datetime

    @property
    def firing(self) -> list[NotifiedAlert]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[NotifiedAlert]:
        return [a for a in self.alerts if a.status == "resolved"]

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["alerts"] = [a.to_dict() for a in self.alerts]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        values = cls._values(data)
        values["alerts"] = tuple(NotifiedAlert.from_dict(a) for a in values.get("alerts", ()))
        return cls(**values)


@dataclass
class OutboxEntry(_Record):
    """A notification waiting for (or done with) delivery to one channel.

    ``status``: ``pending`` (to send, at ``next_attempt_at``), ``delivered`` (never sent
    again) or ``failed`` (given up after ``give_up_after``; ``last_error`` says why).
    """

    TIMES = ("created_at", "next_attempt_at", "delivered_at", "last_attempt_at")

    id: str
    channel: str
    notification: Notification
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["notification"] = self.notification.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutboxEntry:
        values = cls._values(data)
        values["notification"] = Notification.from_dict(values["notification"])
        return cls(**values)
