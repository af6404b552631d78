"""The life of an alert instance: inactive → pending → firing → resolved.

    >>> from datetime import UTC, datetime, timedelta
    >>> from sightline.monitoring.alerts.conditions import Threshold
    >>> from sightline.monitoring.alerts.rules import Rule, Scope, Span
    >>> rule = Rule("r", Scope(), Threshold(">", 1), for_=Span(windows=2))
    >>> t0 = datetime(2026, 3, 2, tzinfo=UTC)
    >>> def obs(hour, value):  # the window [t0 + hour, t0 + hour + 1h) had ``value``
    ...     start = t0 + timedelta(hours=hour)
    ...     return Observation(rule, {}, "fp", value > 1, value, start + timedelta(hours=1), start)
    >>> instance, _ = advance(None, obs(0, 5), t0)
    >>> instance.state
    'pending'
    >>> advance(instance, obs(1, 5), t0)[0].state
    'firing'

A *point rule* observes one window at a time: its ``for`` counts consecutive windows where the
condition held (or the time they span), and an observation of a window older than the last one
seen (a recomputed past window) does not move the state. A re-observation of the same window
(a recompute) updates the value without counting the window twice. A *timer rule* observes the
clock. Observations that cannot tell (``holds`` None: too little data) change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sightline.monitoring.alerts.rules import Rule
from sightline.schema.alerts import AlertInstance, Transition

__all__ = ["Observation", "acknowledge", "advance"]


@dataclass(frozen=True)
class Observation:
    """What one evaluation says about one series: whether the rule's condition holds there.

    ``data_time`` is where the observation sits in data time: the end of the window observed
    (``window_start`` its start), or the evaluation time for timer rules. ``for`` and
    ``keep_firing_for`` durations are measured in data time, so a backfill of past windows
    behaves as if they had been computed one by one.
    """

    rule: Rule
    labels: dict[str, str]
    fingerprint: str
    holds: bool | None
    value: float | None
    data_time: datetime
    window_start: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.window_start or self.data_time


def advance(
    instance: AlertInstance | None, obs: Observation, now: datetime
) -> tuple[AlertInstance, Transition | None]:
    """The instance after ``obs`` (evaluated at wall time ``now``), and its transition if the
    state changed."""
    current = instance or AlertInstance(obs.fingerprint, obs.rule.name, dict(obs.labels))
    if obs.holds is None:
        return current, None
    last = current.last_window_start
    if obs.window_start is not None and last is not None and obs.window_start < last:
        return current, None  # a past window, recomputed: history is not rewritten
    repeat = obs.window_start is not None and obs.window_start == last
    # An alert says what it saw while its condition held: a clearing window (kept firing,
    # or resolving) does not rewrite its value, context and annotations, so a resolved
    # notification reads "dropped to 0.61", not the recovered value (as Prometheus does).
    speaks = bool(obs.holds)
    new = replace(
        current,
        labels=dict(obs.labels),
        value=obs.value if speaks else current.value,
        context=dict(obs.context) if speaks else current.context,
        annotations=dict(obs.annotations) if speaks else current.annotations,
        updated_at=now,
        last_window_start=obs.window_start or last,
    )
    rule = obs.rule
    if obs.holds:
        new.clear_since, new.clear_streak = None, 0
        if new.state in ("inactive", "resolved") or new.active_since is None:
            new.active_since, new.streak = obs.start, 1
            new.acked_by, new.acked_at, new.ack_comment = "", None, ""
            new.fired_at, new.resolved_at = None, None
            new.state = "pending" if new.state != "firing" else "firing"
        elif not repeat:
            new.streak += 1
        if new.state == "pending" and rule.for_.reached(
            new.streak, new.active_since, obs.data_time
        ):
            new.state, new.fired_at = "firing", now
    elif new.state == "pending":
        new.state, new.active_since, new.streak = "inactive", None, 0
    elif new.state == "firing":
        if new.clear_since is None:
            new.clear_since, new.clear_streak = obs.start, 1
        elif not repeat:
            new.clear_streak += 1
        if rule.keep_firing_for.reached(new.clear_streak, new.clear_since, obs.data_time):
            new.state, new.resolved_at = "resolved", now
            new.active_since, new.streak = None, 0
            new.clear_since, new.clear_streak = None, 0
    if new.state == current.state and instance is not None:
        return new, None
    if instance is None and new.state == "inactive":
        return new, None
    transition = Transition(
        fingerprint=new.fingerprint,
        rule=new.rule,
        labels=dict(new.labels),
        at=now,
        from_state=current.state,
        to_state=new.state,
        value=obs.value,
        window_start=obs.window_start,
        window_end=obs.data_time if obs.window_start is not None else None,
        summary=new.annotations.get("summary", ""),
    )
    return new, transition


def acknowledge(instance: AlertInstance, by: str, comment: str, now: datetime) -> AlertInstance:
    """The instance acknowledged: it stays firing (and visible) but is not repeated."""
    return replace(instance, acked_by=by, acked_at=now, ack_comment=comment, updated_at=now)
