"""Grouping: firing and resolved alerts → at most one notification per group, when due.

Alertmanager's rules, applied on each pass (after an evaluation and on the timer):

- An alert neither silenced nor inhibited goes to the routes that match it, and there to the
  group named by its ``group_by`` labels.
- A new group is notified ``group_wait`` after its first alert (so ten features drifting in one
  window make one message). After that, a change (a new firing alert, a resolved one) is
  notified at most every ``group_interval``; an unchanged group with firing alerts is notified
  again every ``repeat_interval`` unless every firing alert is acknowledged.
- A resolved alert is announced once (``send_resolved``), then leaves the group; a group with no
  alert left is forgotten. A muted alert leaves its group too, so when its silence expires it
  is announced again as new.

:func:`dispatch` is pure: it returns the group states to store and the notifications to queue;
the engine stores both in one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sightline.monitoring.alerts.policy import Policy, Route, group_labels
from sightline.schema.alerts import (
    AlertInstance,
    GroupState,
    Notification,
    NotifiedAlert,
    Silence,
)

__all__ = ["Dispatch", "dispatch", "mute_reason"]

#: Context keys a notification carries for each alert (the rest stays in the state store).
CONTEXT_KEYS = (
    "model", "model_version", "metric", "column", "segment", "series", "value", "threshold",
    "baseline", "window_start", "window_end", "granularity", "n_rows", "top_features",
    "top_features_detail", "top_segments", "dashboard_url", "alert_url", "last_seen", "silent_for",
)  # fmt: skip


@dataclass
class Dispatch:
    """The outcome of a pass: groups to store, groups to forget, notifications to queue."""

    groups: list[GroupState] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def mute_reason(
    instance: AlertInstance,
    silences: Sequence[Silence],
    policy: Policy,
    firing: Sequence[AlertInstance],
    now: datetime,
) -> str:
    """``silenced by <id>``, ``inhibited`` or ``""`` (notified)."""
    for silence in silences:
        if silence.mutes(instance.labels, now):
            return f"silenced by {silence.id}"
    if instance.state == "firing" and policy.inhibited(instance, firing):
        return "inhibited"
    return ""


def _key(route: Route, labels: Mapping[str, str]) -> str:
    return f"{route.id}:{route.receiver}:{json.dumps(sorted(labels.items()))}"


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in maps[1:])}


def _notified(
    instance: AlertInstance, status: str, external_url: str, now: datetime
) -> NotifiedAlert:
    return NotifiedAlert(
        fingerprint=instance.fingerprint,
        status=status,
        labels=dict(instance.labels),
        annotations=dict(instance.annotations),
        starts_at=instance.fired_at or instance.updated_at or now,
        ends_at=instance.resolved_at if status == "resolved" else None,
        generator_url=f"{external_url}/alerts/{instance.fingerprint}",
        context={k: instance.context[k] for k in CONTEXT_KEYS if k in instance.context},
    )


def _notification(
    group: GroupState,
    firing: Sequence[AlertInstance],
    resolved: Sequence[AlertInstance],
    external_url: str,
    now: datetime,
) -> Notification:
    alerts = [_notified(i, "firing", external_url, now) for i in firing]
    alerts += [_notified(i, "resolved", external_url, now) for i in resolved]
    alerts.sort(key=lambda a: (a.status != "firing", sorted(a.labels.items())))
    return Notification(
        id=uuid.uuid4().hex,
        group_key=group.key,
        receiver=group.receiver,
        status="firing" if firing else "resolved",
        group_labels=dict(group.labels),
        common_labels=_common([a.labels for a in alerts]),
        common_annotations=_common([a.annotations for a in alerts]),
        external_url=external_url,
        alerts=tuple(alerts),
        created_at=now,
    )


def dispatch(
    instances: Sequence[AlertInstance],
    silences: Sequence[Silence],
    policy: Policy,
    groups: Mapping[str, GroupState],
    now: datetime,
    external_url: str,
) -> Dispatch:
    """One grouping pass over every alert instance (see the module docstring)."""
    routes = policy.routes()
    firing = [i for i in instances if i.state == "firing"]
    buckets: dict[str, tuple[Route, dict[str, str], list[AlertInstance]]] = {}
    for instance in instances:
        if instance.state not in ("firing", "resolved"):
            continue
        if mute_reason(instance, silences, policy, firing, now):
            continue
        for taker in policy.route.match(instance.labels):
            labels = group_labels(taker, instance.labels)
            buckets.setdefault(_key(taker, labels), (taker, labels, []))[2].append(instance)

    result = Dispatch()
    for key in sorted(set(buckets) | set(groups)):
        old = groups.get(key)
        bucket = buckets.get(key)
        route = bucket[0] if bucket else routes.get(old.route) if old else None
        labels, members = (bucket[1], bucket[2]) if bucket else ({}, [])
        sent = set(old.sent) if old else set()
        now_firing = [i for i in members if i.state == "firing"]
        now_resolved = [i for i in members if i.state == "resolved" and i.fingerprint in sent]
        if route is None or (not now_firing and not now_resolved):
            if old is not None:
                result.deleted.append(key)
            continue
        if old is None:
            if not now_firing:
                continue
            old = GroupState(key, route.receiver, route.id, labels, first_seen=now)
        group = replace(old, sent=[f for f in old.sent if f in {i.fingerprint for i in members}])
        if group.last_sent_at is None:
            due = now >= group.first_seen + timedelta(seconds=route.group_wait)
        else:
            new = {i.fingerprint for i in now_firing} - sent
            changed = bool(new) or (bool(now_resolved) and route.send_resolved)
            since = now - group.last_sent_at
            due = (changed and since >= timedelta(seconds=route.group_interval)) or (
                bool(now_firing)
                and any(not i.acknowledged for i in now_firing)
                and since >= timedelta(seconds=route.repeat_interval)
            )
        if now_resolved and not route.send_resolved:
            gone = {i.fingerprint for i in now_resolved}
            group.sent = [f for f in group.sent if f not in gone]
            now_resolved = []
        if due and (now_firing or now_resolved):
            result.notifications.append(
                _notification(group, now_firing, now_resolved, external_url, now)
            )
            group.last_sent_at = now
            group.sent = sorted(i.fingerprint for i in now_firing)
        if not now_firing and not group.sent:
            result.deleted.append(key)
        elif group != groups.get(key):
            result.groups.append(group)
    return result
