"""Rules that change while alerts exist: set and removed through the Python API (what the HTTP
API calls), or gone from the config file across a restart."""

from __future__ import annotations

import pytest

from sightline.errors import NotFoundError, ValidationError
from sightline.monitoring.alerts import Alerting
from sightline.store import MetricStore
from sightline.store.alerts import AlertStore
from tests.monitoring.alerts.conftest import (
    DELAY,
    FakeClock,
    config,
    make_alerting,
    point,
    write_window,
)

NO_BUILTINS = {"builtin": {"enabled": False}}
SLOW = {"metric": "latency_p95", "condition": "> 500", "for": 2}


def latency(
    alerting: Alerting, metrics: MetricStore, clock: FakeClock, hour: int, value: float
) -> None:
    w = write_window(metrics, hour, [point(hour, "latency_p95", value)])
    clock.set(w.end + DELAY)
    alerting.evaluate("churn", window=w)


def states(alerting: Alerting, rule: str) -> list[str]:
    return [a.state for a in alerting.alerts() if a.rule == rule]


def test_a_rule_put_through_the_python_api_is_evaluated_kept_and_removed(
    metrics: MetricStore, state: AlertStore, clock: FakeClock
):
    alerting = make_alerting(config(NO_BUILTINS), state, metrics, clock)
    rule = alerting.put_rule("slow", SLOW)
    assert rule.condition.describe() == "> 500"
    for hour, value in enumerate([300, 700, 800]):
        latency(alerting, metrics, clock, hour, value)
    assert states(alerting, "slow") == ["firing"]

    # Replaced: the new condition applies from the next window; the alert keeps its state.
    alerting.put_rule("slow", {**SLOW, "condition": "> 900"})
    assert states(alerting, "slow") == ["firing"]
    latency(alerting, metrics, clock, 3, 800)
    assert states(alerting, "slow") == ["resolved"]

    # Kept in the state store: a new engine (a restart) evaluates it.
    restarted = make_alerting(config(NO_BUILTINS), state, metrics, clock)
    assert [r.name for r in restarted.rules] == ["slow"]
    assert restarted.definition("slow") == {"name": "slow", **SLOW, "condition": "> 900"}
    latency(restarted, metrics, clock, 4, 950)
    assert states(restarted, "slow") == ["pending"]
    [ended] = restarted.delete_rule("slow")
    assert (ended.from_state, ended.to_state) == ("pending", "inactive")
    assert ended.summary == "rule 'slow' was removed"
    assert restarted.rules == ()
    with pytest.raises(NotFoundError):
        restarted.delete_rule("slow")


def test_a_replaced_rule_ends_the_alerts_its_new_scope_leaves_out(
    metrics: MetricStore, state: AlertStore, clock: FakeClock
):
    alerting = make_alerting(config(NO_BUILTINS), state, metrics, clock)
    alerting.put_rule("slow", {**SLOW, "for": 0})
    latency(alerting, metrics, clock, 0, 700)
    assert states(alerting, "slow") == ["firing"]
    alerting.put_rule("slow", {**SLOW, "for": 0, "metric": "latency_p99"})
    assert states(alerting, "slow") == ["resolved"]
    [ended] = alerting.history(limit=1)
    assert ended.summary == "rule 'slow' changed its scope"


def test_a_rule_of_the_config_file_is_changed_in_the_file(
    metrics: MetricStore, state: AlertStore, clock: FakeClock
):
    alerting = make_alerting(
        config({**NO_BUILTINS, "rules": [{"name": "slow", **SLOW}]}), state, metrics, clock
    )
    with pytest.raises(ValidationError, match="config file"):
        alerting.put_rule("slow", SLOW)
    with pytest.raises(ValidationError, match="config file"):
        alerting.delete_rule("slow")


def test_alerts_of_a_rule_gone_from_the_config_file_resolve_at_the_restart(
    metrics: MetricStore, state: AlertStore, clock: FakeClock
):
    before = make_alerting(
        config({**NO_BUILTINS, "rules": [{"name": "slow", **SLOW}]}), state, metrics, clock
    )
    for hour, value in enumerate([700, 800]):
        latency(before, metrics, clock, hour, value)
    assert states(before, "slow") == ["firing"]
    after = make_alerting(config(NO_BUILTINS), state, metrics, clock)
    assert states(after, "slow") == ["resolved"]
    [transition] = after.history(limit=1)
    assert transition.summary == "rule 'slow' was removed"
