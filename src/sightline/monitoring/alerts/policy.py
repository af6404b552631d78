"""The notification policy: which channels hear of which alerts, how they are grouped and
repeated, and which alerts hold others back (inhibition). Modelled on Alertmanager's.

    >>> pager = Route("pager", matchers=(Matcher.parse("severity=critical"),))
    >>> route = Route("ml-team", routes=(pager,))
    >>> [r.receiver for r in route.match({"severity": "critical"})]
    ['pager']
    >>> [r.receiver for r in route.match({"severity": "warning"})]
    ['ml-team']

A route matches an alert's labels; its first matching child route wins (unless that child says
``continue``), else the route itself takes the alert. Children inherit ``group_by`` and the
timings they do not set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sightline.schema.alerts import AlertInstance, Matcher, matches_all

__all__ = [
    "ALL_LABELS",
    "ChannelConfig",
    "DeliveryPolicy",
    "InhibitRule",
    "Policy",
    "Route",
    "group_labels",
]

#: ``group_by: ["..."]`` groups by every label: one group per alert.
ALL_LABELS = "..."


@dataclass(frozen=True)
class ChannelConfig:
    """One way of reaching a receiver: ``type`` (webhook, slack, email, alertmanager, log) and
    its settings. ``name`` (``receiver/index-type``) keys the outbox entries."""

    name: str
    receiver: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The settings without secrets, for the API."""
        hidden = {"secret", "password", "headers"}
        return {
            "name": self.name,
            "type": self.type,
            "settings": {k: ("***" if k in hidden else v) for k, v in self.settings.items()},
        }


@dataclass(frozen=True)
class Route:
    """A node of the routing tree (times in seconds)."""

    receiver: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ("alertname", "model")
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True
    continue_: bool = False
    routes: tuple[Route, ...] = ()
    id: str = "0"

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes (leaves first) that take an alert with ``labels``; [] when none does."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            taken = child.match(labels)
            found.extend(taken)
            if taken and not child.continue_:
                break
        return found or [self]

    def walk(self) -> list[Route]:
        return [self, *(r for child in self.routes for r in child.walk())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "receiver": self.receiver,
            "matchers": [str(m) for m in self.matchers],
            "group_by": list(self.group_by),
            "group_wait": self.group_wait,
            "group_interval": self.group_interval,
            "repeat_interval": self.repeat_interval,
            "send_resolved": self.send_resolved,
            "continue": self.continue_,
            "routes": [r.to_dict() for r in self.routes],
        }


def number_routes(route: Route, prefix: str = "0") -> Route:
    """``route`` with each node's ``id`` set to its position (``0``, ``0.1``, ``0.1.0`` ...)."""
    children = tuple(number_routes(r, f"{prefix}.{i}") for i, r in enumerate(route.routes))
    return replace(route, id=prefix, routes=children)


def group_labels(route: Route, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that name an alert's group on ``route``."""
    if ALL_LABELS in route.group_by:
        return dict(labels)
    return {name: labels.get(name, "") for name in route.group_by}


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching ``source`` fires, alerts matching ``target`` with the same
    values of the ``equal`` labels are not notified."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    def inhibits(self, target: AlertInstance, firing: Sequence[AlertInstance]) -> bool:
        if not matches_all(self.target, target.labels):
            return False
        for source in firing:
            if source.fingerprint == target.fingerprint:
                continue
            if matches_all(self.source, source.labels) and all(
                source.labels.get(name, "") == target.labels.get(name, "") for name in self.equal
            ):
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_matchers": [str(m) for m in self.source],
            "target_matchers": [str(m) for m in self.target],
            "equal": list(self.equal),
        }


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries of the outbox: exponential backoff from ``retry_initial`` to ``retry_max``
    seconds; a notification still undelivered after ``give_up_after`` seconds is marked
    failed (and stays visible)."""

    retry_initial: float = 10.0
    retry_max: float = 600.0
    give_up_after: float = 3 * 86400.0

    def backoff(self, attempts: int) -> float:
        return float(min(self.retry_max, self.retry_initial * 2 ** max(attempts - 1, 0)))


@dataclass(frozen=True)
class Policy:
    """The routing tree, the receivers' channels and the inhibition rules."""

    route: Route = Route("log")
    channels: tuple[ChannelConfig, ...] = (ChannelConfig("log/0-log", "log", "log"),)
    inhibit_rules: tuple[InhibitRule, ...] = ()
    delivery: DeliveryPolicy = DeliveryPolicy()

    def receiver_channels(self, receiver: str) -> list[ChannelConfig]:
        return [c for c in self.channels if c.receiver == receiver]

    def routes(self) -> dict[str, Route]:
        return {r.id: r for r in self.route.walk()}

    def inhibited(self, target: AlertInstance, firing: Sequence[AlertInstance]) -> bool:
        return any(rule.inhibits(target, firing) for rule in self.inhibit_rules)
