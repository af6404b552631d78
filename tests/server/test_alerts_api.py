"""The alerting API on the real app, real stores and a real webhook receiver, in-process, with
the app's clock moved by hand: alerts, history, acknowledgement, silences, rules, outbox."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sightline.config import Settings
from sightline.monitoring.config import parse_config
from sightline.server import create_app
from tests.monitoring.alerts.conftest import FakeClock, HttpReceiver
from tests.server.conftest import DAY0, DAY1, SHIFTED, ingest, traffic

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from sightline.monitoring.alerts import Alerting

CONFIG = """\
alerting:
  external_url: https://sightline.example.com
  builtin:
    enabled: false
  rules:
    - name: feature_drift
      metric: drift_detected
      condition: drifted
      for: 2
      labels: {category: drift}
      annotations:
        runbook_url: https://wiki.example.com/drift
  receivers:
    team:
      - webhook: {url: "RECEIVER"}
  route:
    group_wait: 30s
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY1)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def client(settings: Settings, receiver: HttpReceiver, clock: FakeClock) -> Iterator[TestClient]:
    config = parse_config(CONFIG.replace("RECEIVER", receiver.url), "sightline.yaml")
    app = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def alerting(client: TestClient) -> Alerting:
    engine: Alerting = client.app.state.services.alerting  # type: ignore[attr-defined]
    return engine


def drift_day(client: TestClient, clock: FakeClock, hours: int = 4) -> None:
    """Day 0 is normal (the fallback reference); day 1 drifts; its first hours are computed
    one by one, each 5 minutes after it closes, with the timer ticking."""
    ingest(client, traffic(DAY0, 720, span=timedelta(days=1)))
    for hour in range(hours):
        ingest(client, traffic(DAY1 + timedelta(hours=hour), 120, low=5, high=15, plans=SHIFTED))
    for hour in range(hours):
        end = DAY1 + timedelta(hours=hour + 1)
        clock.set(end + timedelta(minutes=5))
        body = {"from": (end - timedelta(hours=1)).isoformat(), "to": end.isoformat()}
        assert client.post("/v1/models/churn/runs", json=body).status_code == 200
        for _ in range(2):
            clock.set(clock.now() + timedelta(seconds=30))
            alerting(client).tick()


def test_alerts_list_and_detail_carry_state_context_and_history(
    client: TestClient, clock: FakeClock, receiver: HttpReceiver
):
    drift_day(client, clock)
    response = client.get("/v1/alerts", params={"state": "firing", "model": "churn"})
    assert response.status_code == 200
    alerts = response.json()["alerts"]
    assert {a["labels"]["column"] for a in alerts} == {"x", "plan", "prediction"}
    alert = alerts[0]
    assert alert["state"] == "firing"
    assert alert["muted"] == ""
    assert alert["url"] == f"https://sightline.example.com/alerts/{alert['fingerprint']}"
    assert alert["annotations"]["runbook_url"] == "https://wiki.example.com/drift"
    assert alert["context"]["window_start"] == (DAY1 + timedelta(hours=3)).isoformat()
    assert alert["fired_at"] == (DAY1 + timedelta(hours=2, minutes=5)).isoformat()
    assert client.get("/v1/alerts", params={"state": "pending"}).json()["alerts"] == []

    detail = client.get(f"/v1/alerts/{alert['fingerprint']}").json()
    assert detail["alert"]["fingerprint"] == alert["fingerprint"]
    assert [(t["from_state"], t["to_state"]) for t in detail["history"]] == [
        ("pending", "firing"),
        ("inactive", "pending"),
    ]
    history = client.get("/v1/alerts/history", params={"model": "churn", "limit": 4}).json()
    assert len(history["history"]) == 4
    assert len(receiver.received) == 1  # one message for the three drifting columns


def test_unknown_alerts_and_bad_filters_are_4xx(client: TestClient):
    response = client.get("/v1/alerts/0123456789abcdef")
    assert response.status_code == 404
    assert "no alert with fingerprint" in response.json()["message"]
    response = client.get("/v1/alerts", params={"state": "burning"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "state"
    assert client.post("/v1/alerts/nope/ack", json={}).status_code == 404
    assert client.get("/v1/notifications", params={"status": "lost"}).status_code == 422


def test_ack_stops_repeats_and_is_in_the_history(
    client: TestClient, clock: FakeClock, receiver: HttpReceiver
):
    drift_day(client, clock)
    fingerprints = [a.fingerprint for a in alerting(client).alerts(state="firing")]
    for fingerprint in fingerprints:
        response = client.post(
            f"/v1/alerts/{fingerprint}/ack", json={"by": "ana", "comment": "retraining"}
        )
        assert response.status_code == 200
        assert response.json()["alert"]["acked_by"] == "ana"
    clock.set(clock.now() + timedelta(hours=5))
    alerting(client).tick()
    assert len(receiver.received) == 1  # acknowledged: not repeated after 4 h
    history = client.get(f"/v1/alerts/{fingerprints[0]}").json()["history"]
    assert history[0]["summary"] == "acknowledged by ana: retraining"


def test_silences_are_created_listed_applied_and_deleted(
    client: TestClient, clock: FakeClock, receiver: HttpReceiver
):
    response = client.post(
        "/v1/silences",
        json={
            "matchers": ["model=churn"],
            "duration": "6h",
            "comment": "deploy",
            "created_by": "ana",
        },
    )
    assert response.status_code == 201
    silence = response.json()["silence"]
    assert silence["matchers"] == ["model=churn"]
    assert silence["status"] == "active"
    assert silence["ends_at"] == (DAY1 + timedelta(hours=6)).isoformat()
    drift_day(client, clock)
    assert receiver.received == []
    alerts = client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
    assert {a["muted"] for a in alerts} == {f"silenced by {silence['id']}"}
    listed = client.get("/v1/silences").json()["silences"]
    assert [s["id"] for s in listed] == [silence["id"]]
    assert client.delete(f"/v1/silences/{silence['id']}").status_code == 200
    assert client.delete(f"/v1/silences/{silence['id']}").status_code == 404
    for _ in range(2):  # the group is new again: it waits group_wait (30 s)
        clock.set(clock.now() + timedelta(seconds=30))
        alerting(client).tick()
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": [], "duration": "1h"}, "matchers"),
        ({"matchers": ["model"], "duration": "1h"}, "matchers"),
        ({"matchers": ["model=churn"], "duration": "soon"}, "duration"),
        ({"matchers": ["model=churn"]}, "duration"),
        ({"matchers": ["model=churn"], "ends_at": "2020-01-01"}, "ends_at"),
        ({"duration": "1h"}, "body.matchers"),
    ],
)
def test_a_bad_silence_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
):
    response = client.post("/v1/silences", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_rules_show_the_effective_policy_without_secrets(client: TestClient):
    body = client.get("/v1/rules").json()
    assert [r["name"] for r in body["rules"]] == ["feature_drift"]
    assert body["rules"][0]["for"] == "2 windows"
    assert body["route"]["receiver"] == "team"
    assert body["route"]["group_wait"] == 30.0
    assert body["channels"][0]["type"] == "webhook"
    assert body["external_url"] == "https://sightline.example.com"


def test_notifications_show_delivery_status_and_failures(
    client: TestClient, clock: FakeClock, receiver: HttpReceiver
):
    receiver.stop()
    drift_day(client, clock)
    body = client.get("/v1/notifications").json()
    [entry] = body["notifications"]
    assert entry["status"] == "pending"
    assert entry["attempts"] >= 1
    assert "cannot reach" in entry["last_error"]
    assert entry["channel"] == "team/0-webhook"
    assert len(entry["notification"]["alerts"]) == 3
    assert body["status"]["outbox"]["pending"] == 1
    receiver.start()
    clock.set(clock.now() + timedelta(minutes=15))
    alerting(client).tick()
    delivered = client.get("/v1/notifications", params={"status": "delivered"}).json()
    assert [e["id"] for e in delivered["notifications"]] == [entry["id"]]
    assert len(receiver.received) == 1


def test_a_bad_alerting_section_stops_the_app_before_it_starts(settings: Settings):
    config = parse_config(
        "alerting:\n  rules:\n    - {name: x, metric: m, condition: sometimes}\n",
        "sightline.yaml",
    )
    with pytest.raises(Exception, match=r"sightline.yaml:3: alerting.rules\[0\].condition"):
        create_app(settings, config=config, start_scheduler=False)
    assert datetime.now(UTC) > DAY0


DRIFT_RULE = {
    "metric": "share_of_drifted_columns",
    "condition": "> 0.5",
    "severity": "critical",
    "labels": {"team": "ml"},
    "annotations": {"summary": "{value:.0%} of the columns of {model} drifted"},
}


def test_a_rule_set_through_the_api_fires_survives_a_restart_and_resolves_when_deleted(
    settings: Settings, receiver: HttpReceiver, clock: FakeClock
):
    config = parse_config(CONFIG.replace("RECEIVER", receiver.url), "sightline.yaml")
    app = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.put("/v1/rules/drift_share", json=DRIFT_RULE)
        assert response.status_code == 200, response.text
        assert response.json()["source"] == "api"
        assert response.json()["condition"] == "> 0.5"
        drift_day(client, clock)
        firing = client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
        [mine] = [a for a in firing if a["rule"] == "drift_share"]
        assert mine["labels"]["team"] == "ml"
        assert mine["annotations"]["summary"] == "100% of the columns of churn drifted"
        names = {b["groupLabels"]["alertname"] for b in receiver.bodies()}
        assert names == {"feature_drift", "drift_share"}

    restarted = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(restarted, raise_server_exceptions=False) as client:
        rules = client.get("/v1/rules").json()["rules"]
        assert [(r["name"], r["source"]) for r in rules] == [
            ("feature_drift", "config"),
            ("drift_share", "api"),
        ]
        detail = client.get("/v1/rules/drift_share").json()
        assert detail["definition"] == {"name": "drift_share", **DRIFT_RULE}
        assert "definition" not in client.get("/v1/rules/feature_drift").json()
        assert client.get("/v1/rules/nope").status_code == 404

        sent = len(receiver.received)
        response = client.delete("/v1/rules/drift_share")
        assert response.status_code == 200, response.text
        assert response.json()["ended_alerts"] == [mine["fingerprint"]]
        assert client.get(f"/v1/alerts/{mine['fingerprint']}").json()["alert"]["state"] == (
            "resolved"
        )
        clock.set(clock.now() + timedelta(minutes=6))
        alerting(client).tick()
        resolved = [b for b in receiver.bodies()[sent:] if b["status"] == "resolved"]
        assert [b["groupLabels"]["alertname"] for b in resolved] == ["drift_share"]
        assert [r["name"] for r in client.get("/v1/rules").json()["rules"]] == ["feature_drift"]
        assert client.delete("/v1/rules/drift_share").status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "field", "message"),
    [
        ("r", {"metric": "m", "condition": "> fast"}, "condition", "expected an operator"),
        ("r", {"metric": "m", "condition": {"change": "< -10%", "sigmas": "3"}},
         "condition.sigmas", "standard errors"),
        ("r", {"condition": "> 1"}, "body", "a rule needs a metric"),
        ("r", {"metric": "m", "condition": "> 1", "fore": 2}, "fore", "did you mean 'for'"),
        ("r", {"name": "s", "metric": "m", "condition": "> 1"}, "name", "the URL 'r'"),
        ("feature_drift", {"metric": "m", "condition": "> 1"}, "name", "config file"),
        ("dataset_drift", {"metric": "m", "condition": "> 1"}, "name", "built-in"),
        ("bad name", {"metric": "m", "condition": "> 1"}, "name", "letters, digits"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_a_422_naming_the_field(
    client: TestClient, name: str, body: dict[str, Any], field: str, message: str
):
    response = client.put(f"/v1/rules/{name}", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert client.get("/v1/rules").json()["rules"][-1]["name"] == "feature_drift"


def test_a_config_rule_cannot_be_deleted_through_the_api(client: TestClient):
    response = client.delete("/v1/rules/feature_drift")
    assert response.status_code == 422
    assert "config file" in response.json()["message"]
