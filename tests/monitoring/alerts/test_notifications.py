"""The engine end to end on a real metric store, a real state store and a real HTTP receiver:
grouping, for, repeats, resolved messages, silences, inhibition, acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from sightline.monitoring.alerts import Alerting
from sightline.schema import MetricPoint
from sightline.store import MetricStore
from sightline.store.alerts import AlertStore
from tests.monitoring.alerts.conftest import (
    DAY0,
    DELAY,
    HOUR,
    FakeClock,
    HttpReceiver,
    config,
    drift_points,
    make_alerting,
    point,
    write_window,
)

COLUMNS = [f"f{i:02d}" for i in range(12)]
TEN = COLUMNS[:10]


def hook_config(receiver: HttpReceiver, rules: Sequence[dict[str, Any]] = (), **route: Any):
    return config(
        {
            "builtin": {"enabled": False},
            "external_url": "https://sightline.example.com",
            "rules": list(rules)
            or [
                {
                    "name": "feature_drift",
                    "metric": "drift_detected",
                    "condition": "drifted",
                    "for": 2,
                    "labels": {"category": "drift"},
                }
            ],
            "receivers": {"team": [{"webhook": {"url": receiver.url + "/hook"}}]},
            "route": {
                "receiver": "team",
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
                **route,
            },
        }
    )


class Scenario:
    """Hourly windows computed at their end plus the delay, and a timer ticking every 30 s."""

    def __init__(self, alerting: Alerting, metrics: MetricStore, clock: FakeClock):
        self.alerting = alerting
        self.metrics = metrics
        self.clock = clock

    def window(self, hour: int, points: Sequence[MetricPoint]) -> None:
        w = write_window(self.metrics, hour, points)
        if self.clock.now() < w.end + DELAY:
            self.clock.set(w.end + DELAY)
        self.alerting.evaluate("churn", window=w)

    def drift(self, hour: int, drifted: Sequence[str]) -> None:
        self.window(hour, drift_points(hour, drifted, COLUMNS))

    def wait(self, seconds: float, step: float = 30) -> None:
        end = self.clock.now() + timedelta(seconds=seconds)
        while self.clock.now() < end:
            self.clock.set(min(end, self.clock.now() + timedelta(seconds=step)))
            self.alerting.tick()


@pytest.fixture
def scenario(
    receiver: HttpReceiver, state: AlertStore, metrics: MetricStore, clock: FakeClock
) -> Scenario:
    return Scenario(make_alerting(hook_config(receiver), state, metrics, clock), metrics, clock)


def test_ten_drifting_features_make_one_message_with_context(
    scenario: Scenario, receiver: HttpReceiver
):
    scenario.drift(0, [])
    scenario.drift(1, TEN)
    scenario.wait(600)
    assert receiver.received == []  # pending: for 2 windows
    scenario.drift(2, TEN)
    fired = scenario.clock.now()
    scenario.wait(20, step=10)
    assert receiver.received == []  # group_wait 30 s
    scenario.wait(20, step=10)
    assert len(receiver.received) == 1
    message = receiver.received[0]
    assert message.path == "/hook"
    body = message.json()
    assert set(body) == {
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
        "commonLabels", "commonAnnotations", "externalURL", "alerts",
    }  # fmt: skip
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "team"
    assert body["groupLabels"] == {"alertname": "feature_drift", "model": "churn"}
    assert body["commonLabels"]["metric"] == "drift_detected"
    assert body["externalURL"] == "https://sightline.example.com"
    assert len(body["alerts"]) == 10
    assert sorted(a["labels"]["column"] for a in body["alerts"]) == TEN
    alert = body["alerts"][0]
    assert set(alert) == {
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
    }  # fmt: skip
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["startsAt"] == fired.isoformat().replace("+00:00", "Z")
    assert alert["generatorURL"] == f"https://sightline.example.com/alerts/{alert['fingerprint']}"
    notes = alert["annotations"]
    window = f"{(DAY0 + 2 * HOUR).isoformat()} .. {(DAY0 + 3 * HOUR).isoformat()}"
    assert notes["window"] == window
    assert notes["value"] == "1"
    assert notes["threshold"] == "drifted"
    assert notes["top_features"].startswith("f09 (wasserstein 0.39 vs 0.1)")
    assert notes["dashboard_url"].startswith(
        "https://sightline.example.com/models/churn?metric=drift_detected&column="
    )
    assert "summary" in notes
    assert "description" in notes
    scenario.wait(3600)
    assert len(receiver.received) == 1  # nothing changed, repeat_interval is 4 h


def test_a_one_window_blip_never_notifies(scenario: Scenario, receiver: HttpReceiver):
    scenario.drift(0, TEN)
    scenario.drift(1, [])
    scenario.drift(2, TEN)
    scenario.drift(3, [])
    scenario.wait(3600, step=300)
    assert receiver.received == []
    assert scenario.alerting.alerts(state="firing") == []


def test_repeat_interval_then_one_resolved_message(scenario: Scenario, receiver: HttpReceiver):
    scenario.drift(0, TEN)
    scenario.drift(1, TEN)
    scenario.wait(60)
    assert len(receiver.received) == 1
    scenario.wait(4 * 3600 - 120, step=300)
    assert len(receiver.received) == 1
    scenario.wait(300, step=60)
    assert len(receiver.received) == 2  # repeated after 4 h
    assert len(receiver.received[1].json()["alerts"]) == 10
    scenario.drift(6, [])
    scenario.wait(600)
    assert len(receiver.received) == 3
    resolved = receiver.received[2].json()
    assert resolved["status"] == "resolved"
    assert {a["status"] for a in resolved["alerts"]} == {"resolved"}
    assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    scenario.wait(8 * 3600, step=600)
    assert len(receiver.received) == 3  # resolved once, then quiet
    assert len(scenario.alerting.alerts(state="resolved")) == 10


def test_a_new_alert_in_a_notified_group_waits_for_the_group_interval(
    scenario: Scenario, receiver: HttpReceiver
):
    scenario.drift(0, TEN[:3])
    scenario.drift(1, TEN[:3])
    scenario.wait(60)
    assert [len(r.json()["alerts"]) for r in receiver.received] == [3]
    scenario.drift(2, TEN)
    scenario.drift(3, TEN)
    scenario.wait(600)
    assert [len(r.json()["alerts"]) for r in receiver.received] == [3, 10]


def test_a_silence_mutes_and_its_expiry_unmutes(scenario: Scenario, receiver: HttpReceiver):
    silence = scenario.alerting.silence(
        ["model=churn", "alertname=~feature_.*"], duration=3 * 3600, comment="known"
    )
    scenario.drift(0, TEN)
    scenario.drift(1, TEN)
    scenario.wait(1800, step=60)
    assert receiver.received == []
    instance = scenario.alerting.alerts(state="firing")[0]
    assert scenario.alerting.muted(instance) == f"silenced by {silence.id}"
    scenario.drift(2, TEN)
    scenario.wait(2 * 3600, step=60)  # the silence ends at 03:05
    assert len(receiver.received) == 1
    assert scenario.clock.now() >= silence.ends_at
    assert scenario.alerting.muted(instance) == ""


def test_deleting_a_silence_unmutes(scenario: Scenario, receiver: HttpReceiver):
    silence = scenario.alerting.silence(["model=churn"], duration=24 * 3600)
    scenario.drift(0, TEN)
    scenario.drift(1, TEN)
    scenario.wait(600)
    assert receiver.received == []
    scenario.alerting.expire_silence(silence.id)
    scenario.wait(60)
    assert len(receiver.received) == 1


def test_inhibition_holds_drift_while_the_schema_is_broken(
    receiver: HttpReceiver, state: AlertStore, metrics: MetricStore, clock: FakeClock
):
    rules = [
        {"name": "feature_drift", "metric": "drift_detected", "condition": "drifted",
         "labels": {"category": "drift"}},
        {"name": "schema_broken", "metric": "schema_errors", "condition": "> 0"},
    ]  # fmt: skip
    scenario = Scenario(
        make_alerting(hook_config(receiver, rules), state, metrics, clock), metrics, clock
    )
    broken = [point(0, "schema_errors", 3.0)]
    scenario.window(0, drift_points(0, TEN, COLUMNS) + broken)
    scenario.wait(3600, step=60)
    names = [r.json()["groupLabels"]["alertname"] for r in receiver.received]
    assert names == ["schema_broken"]
    drift = scenario.alerting.alerts(state="firing", model="churn")
    assert {scenario.alerting.muted(i) for i in drift if i.rule == "feature_drift"} == {"inhibited"}
    scenario.window(1, [*drift_points(1, TEN, COLUMNS), point(1, "schema_errors", 0.0)])
    scenario.wait(600)
    names = [(r.json()["groupLabels"]["alertname"], r.json()["status"]) for r in receiver.received]
    assert names == [("schema_broken", "firing"), ("schema_broken", "resolved"),
                     ("feature_drift", "firing")]  # fmt: skip


def test_an_acknowledged_alert_is_not_repeated(scenario: Scenario, receiver: HttpReceiver):
    scenario.drift(0, TEN[:1])
    scenario.drift(1, TEN[:1])
    scenario.wait(60)
    assert len(receiver.received) == 1
    fingerprint = scenario.alerting.alerts(state="firing")[0].fingerprint
    acked = scenario.alerting.acknowledge(fingerprint, by="ana", comment="on it")
    assert acked.acked_by == "ana"
    scenario.wait(9 * 3600, step=600)
    assert len(receiver.received) == 1
    history = scenario.alerting.history(fingerprint)
    assert history[0].summary == "acknowledged by ana: on it"
    assert [(t.from_state, t.to_state) for t in history[1:]] == [
        ("pending", "firing"),
        ("inactive", "pending"),
    ]


def test_a_column_that_goes_away_resolves_its_alert(scenario: Scenario, receiver: HttpReceiver):
    scenario.drift(0, ["f00"])
    scenario.drift(1, ["f00"])
    assert [i.labels["column"] for i in scenario.alerting.alerts(state="firing")] == ["f00"]
    others = [p for p in drift_points(2, [], COLUMNS) if p.column != "f00"]
    scenario.window(2, others)
    assert scenario.alerting.alerts(state="firing") == []


def test_a_window_without_the_metric_leaves_the_state_alone(
    scenario: Scenario, receiver: HttpReceiver
):
    scenario.drift(0, ["f00"])
    scenario.drift(1, ["f00"])
    scenario.window(2, [point(2, "row_count", 0.0)])  # an empty window: no drift computed
    assert [i.labels["column"] for i in scenario.alerting.alerts(state="firing")] == ["f00"]
