"""Delivery: a channel that is down gets every notification once it is back, a restart never
sends a notification twice, a hopeless notification is marked failed, webhooks are signed."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from sightline.monitoring.alerts import Alerting
from sightline.store import MetricStore, open_state_store
from tests.monitoring.alerts.conftest import (
    FakeClock,
    HttpReceiver,
    config,
    drift_points,
    make_alerting,
)
from tests.monitoring.alerts.test_notifications import COLUMNS, TEN, Scenario, hook_config


def test_a_receiver_down_for_a_while_gets_every_notification_when_it_returns(
    receiver: HttpReceiver, state_url: str, metrics: MetricStore, clock: FakeClock
):
    state = open_state_store(state_url)
    scenario = Scenario(make_alerting(hook_config(receiver), state, metrics, clock), metrics, clock)
    receiver.stop()
    scenario.drift(0, TEN[:2])
    scenario.drift(1, TEN[:2])  # fires: notification 1
    scenario.wait(600)
    scenario.drift(2, [])  # resolves: notification 2
    scenario.wait(600)
    scenario.drift(3, TEN[:2])
    scenario.drift(4, TEN[:2])  # fires again: notification 3
    scenario.wait(3600)
    pending = scenario.alerting.notifications(status="pending")
    assert len(pending) == 3
    assert all(e.attempts >= 2 for e in pending)
    assert all("cannot reach" in e.last_error for e in pending)
    receiver.start()
    scenario.wait(700)  # the backoff is at most 10 minutes
    statuses = [b["status"] for b in receiver.bodies()]
    assert statuses == ["firing", "resolved", "firing"]  # all of them, oldest first
    assert scenario.alerting.notifications(status="pending") == []
    delivered = scenario.alerting.notifications(status="delivered")
    assert len(delivered) == 3
    assert all(e.delivered_at is not None for e in delivered)
    ids = [r.headers["x-sightline-notification"] for r in receiver.received]
    assert sorted(ids) == sorted(e.notification.id for e in delivered)
    state.close()


def test_no_notification_is_sent_twice_across_a_restart(
    receiver: HttpReceiver, state_url: str, metrics: MetricStore, clock: FakeClock
):
    state = open_state_store(state_url)
    scenario = Scenario(make_alerting(hook_config(receiver), state, metrics, clock), metrics, clock)
    scenario.drift(0, TEN)
    scenario.drift(1, TEN)
    scenario.wait(60)
    assert len(receiver.received) == 1
    state.close()

    state = open_state_store(state_url)  # the server restarts on the same state file
    alerting = make_alerting(hook_config(receiver), state, metrics, clock)
    assert len(alerting.alerts(state="firing")) == 10
    restarted = Scenario(alerting, metrics, clock)
    restarted.drift(1, TEN)  # the last window again (recomputed after the restart)
    restarted.drift(2, TEN)
    restarted.wait(3600)
    assert len(receiver.received) == 1
    restarted.wait(4 * 3600)
    assert len(receiver.received) == 2  # the repeat interval survives the restart too
    state.close()


def test_a_notification_queued_before_a_restart_is_delivered_once_after_it(
    receiver: HttpReceiver, state_url: str, metrics: MetricStore, clock: FakeClock
):
    state = open_state_store(state_url)
    scenario = Scenario(make_alerting(hook_config(receiver), state, metrics, clock), metrics, clock)
    receiver.stop()
    scenario.drift(0, TEN)
    scenario.drift(1, TEN)
    scenario.wait(120)
    assert len(scenario.alerting.notifications(status="pending")) == 1
    state.close()

    receiver.start()
    state = open_state_store(state_url)
    restarted = Scenario(
        make_alerting(hook_config(receiver), state, metrics, clock), metrics, clock
    )
    restarted.wait(3600)
    assert len(receiver.received) == 1
    assert len(receiver.received[0].json()["alerts"]) == 10
    state.close()


def test_a_notification_that_cannot_be_delivered_is_marked_failed(
    receiver: HttpReceiver, state_url: str, metrics: MetricStore, clock: FakeClock
):
    state = open_state_store(state_url)
    receiver.status = 500
    cfg = config(
        {
            "builtin": {"enabled": False},
            "rules": [{"name": "drift", "metric": "drift_detected", "condition": "drifted"}],
            "receivers": {"team": [{"webhook": {"url": receiver.url}}]},
            "route": {"group_wait": 0},
            "delivery": {"retry_initial": "1m", "retry_max": "5m", "give_up_after": "1h"},
        }
    )
    scenario = Scenario(make_alerting(cfg, state, metrics, clock), metrics, clock)
    scenario.drift(0, TEN[:1])
    scenario.wait(2 * 3600, step=60)
    failed = scenario.alerting.notifications(status="failed")
    assert len(failed) == 1
    assert "answered HTTP 500" in failed[0].last_error
    attempts = failed[0].attempts
    assert 12 <= attempts <= 20  # 1, 2, 4 minutes, then every 5 minutes for an hour
    assert len(receiver.received) == attempts
    scenario.wait(3600, step=60)
    assert len(receiver.received) == attempts  # given up: never tried again
    state.close()


def test_webhooks_are_signed_with_hmac_sha256(
    receiver: HttpReceiver, tmp_path: Path, metrics: MetricStore, clock: FakeClock
):
    cfg = config(
        {
            "builtin": {"enabled": False},
            "rules": [{"name": "drift", "metric": "drift_detected", "condition": "drifted"}],
            "receivers": {"team": [{"webhook": {"url": receiver.url, "secret": "s3cret"}}]},
            "route": {"group_wait": 0},
        }
    )
    state = open_state_store(f"duckdb:///{tmp_path / 'state.duckdb'}")
    alerting: Alerting = make_alerting(cfg, state, metrics, clock)
    scenario = Scenario(alerting, metrics, clock)
    scenario.window(0, drift_points(0, ["f00"], COLUMNS))
    alerting.tick()
    [request] = receiver.received
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-sightline-signature"] == f"sha256={expected}"
    state.close()
