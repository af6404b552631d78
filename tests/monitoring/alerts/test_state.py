"""The state machine: pending, firing, resolved; for and keep_firing_for in windows and time."""

from __future__ import annotations

from datetime import timedelta

from sightline.monitoring.alerts.conditions import Threshold
from sightline.monitoring.alerts.rules import Rule, Scope, Span
from sightline.monitoring.alerts.state import Observation, acknowledge, advance
from sightline.schema.alerts import AlertInstance
from tests.monitoring.alerts.conftest import DAY0, DELAY, HOUR


def rule(for_: Span | None = None, keep: Span | None = None) -> Rule:
    return Rule(
        "high",
        Scope(metrics=("m",)),
        Threshold(">", 1),
        for_=for_ or Span(),
        keep_firing_for=keep or Span(),
    )


def run(r: Rule, values: list[float | None], start: int = 0) -> list[str]:
    """The state after each hourly window with these values."""
    instance: AlertInstance | None = None
    states = []
    for hour, value in enumerate(values, start):
        window_start = DAY0 + hour * HOUR
        obs = Observation(
            r, {"alertname": "high"}, "fp", None if value is None else value > 1, value,
            window_start + HOUR, window_start,
        )  # fmt: skip
        instance, _ = advance(instance, obs, window_start + HOUR + DELAY)
        states.append(instance.state)
    return states


def test_without_for_an_alert_fires_at_once_and_resolves_at_once():
    assert run(rule(), [0, 5, 5, 0, 0]) == ["inactive", "firing", "firing", "resolved", "resolved"]


def test_for_two_windows_keeps_a_one_window_blip_from_firing():
    r = rule(Span(windows=2))
    assert run(r, [0, 5, 0, 5, 0]) == ["inactive", "pending", "inactive", "pending", "inactive"]
    assert run(r, [5, 5, 5, 0]) == ["pending", "firing", "firing", "resolved"]


def test_for_as_a_duration_is_measured_in_data_time():
    assert run(rule(Span(seconds=2 * 3600)), [5, 5, 5]) == ["pending", "firing", "firing"]
    assert run(rule(Span(seconds=3 * 3600)), [5, 5, 5]) == ["pending", "pending", "firing"]


def test_keep_firing_for_rides_out_a_short_dip():
    r = rule(keep=Span(windows=2))
    assert run(r, [5, 0, 5, 0, 0, 0]) == [
        "firing", "firing", "firing", "firing", "resolved", "resolved",
    ]  # fmt: skip
    assert run(rule(keep=Span(seconds=3600)), [5, 0]) == ["firing", "resolved"]


def test_windows_with_too_little_data_change_nothing():
    r = rule(Span(windows=2))
    assert run(r, [5, None, 5]) == ["pending", "pending", "firing"]
    assert run(rule(), [5, None, None, 0]) == ["firing", "firing", "firing", "resolved"]


def test_a_resolved_alert_starts_a_new_episode():
    r = rule(Span(windows=2))
    assert run(r, [5, 5, 0, 5, 5]) == ["pending", "firing", "resolved", "pending", "firing"]


def test_a_recomputed_window_counts_once_and_older_windows_do_not_move_the_state():
    r = rule(Span(windows=3))

    def obs(hour: int, value: float) -> Observation:
        start = DAY0 + hour * HOUR
        return Observation(r, {}, "fp", value > 1, value, start + HOUR, start)

    now = DAY0 + 10 * HOUR
    instance, t = advance(None, obs(0, 5), now)
    assert t is not None
    assert (t.from_state, t.to_state) == ("inactive", "pending")
    instance, _ = advance(instance, obs(1, 5), now)
    instance, t = advance(instance, obs(1, 6), now)  # window 1 again (late labels)
    assert (instance.state, instance.streak, instance.value, t) == ("pending", 2, 6, None)
    old, t = advance(instance, obs(0, 0), now)  # window 0 again: history is not rewritten
    assert old is instance
    assert t is None
    instance, t = advance(instance, obs(2, 5), now)
    assert instance.state == "firing"
    assert t is not None
    assert t.to_state == "firing"
    assert instance.fired_at == now


def test_transitions_record_when_and_which_window():
    r = rule()
    start = DAY0 + 3 * HOUR
    obs = Observation(r, {"alertname": "high"}, "fp", True, 7.0, start + HOUR, start)
    _, t = advance(None, obs, start + HOUR + DELAY)
    assert t is not None
    assert (t.from_state, t.to_state, t.value) == ("inactive", "firing", 7.0)
    assert (t.window_start, t.window_end, t.at) == (start, start + HOUR, start + HOUR + DELAY)


def test_timer_rules_measure_for_on_the_clock():
    r = Rule("silent", Scope(), Threshold(">", 0), for_=Span(seconds=600))
    instance = None
    states = []
    for minute in (0, 5, 10, 11):
        now = DAY0 + timedelta(minutes=minute)
        instance, _ = advance(instance, Observation(r, {}, "fp", True, 1.0, now), now)
        states.append(instance.state)
    assert states == ["pending", "pending", "firing", "firing"]


def test_an_acknowledgement_lasts_until_the_episode_ends():
    r = rule()
    start = DAY0
    instance, _ = advance(None, Observation(r, {}, "fp", True, 5.0, start + HOUR, start), start)
    acked = acknowledge(instance, "ana", "looking", start + HOUR)
    assert acked.acknowledged
    assert acked.acked_by == "ana"
    later, _ = advance(
        acked, Observation(r, {}, "fp", True, 5.0, start + 2 * HOUR, start + HOUR), start
    )
    assert later.acknowledged
    resolved, _ = advance(
        later, Observation(r, {}, "fp", False, 0.0, start + 3 * HOUR, start + 2 * HOUR), start
    )
    again, _ = advance(
        resolved, Observation(r, {}, "fp", True, 5.0, start + 4 * HOUR, start + 3 * HOUR), start
    )
    assert resolved.state == "resolved"
    assert again.state == "firing"
    assert not again.acknowledged
