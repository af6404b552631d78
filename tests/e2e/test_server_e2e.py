"""End to end: the real SDK logs to a real server, the job runs, metrics come back over HTTP."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sightline.sdk import Client
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def log_two_days(client: Client, per_hour: int = 60) -> list[str]:
    """Day 1 normal, day 2 with `amount` shifted and `channel` mix changed."""
    rng = random.Random(3)
    request_ids = []
    for hour in range(48):
        drifted = hour >= 24
        for i in range(per_hour):
            ts = START + timedelta(hours=hour, seconds=i * 3600 / per_hour)
            features = {
                "amount": rng.gauss(150 if drifted else 100, 20),
                "age": rng.gauss(40, 10),
                "channel": rng.choices(
                    ["web", "app", "store"], [1, 1, 8] if drifted else [4, 4, 2]
                )[0],
            }
            rid = client.log_prediction("fraud", features, rng.random(), ts=ts, model_version="v1")
            request_ids.append(rid)
    return request_ids


def test_sdk_to_metrics_over_http_and_restart_keeps_records(server: ServerProcess):
    client = Client(server.url, flush_interval=0.05)
    request_ids = log_two_days(client)
    for rid in request_ids[:500]:
        client.log_feedback("fraud", rid, random.choice([0, 1]))
    assert client.flush(60)
    client.close()
    assert client.stats()["sent"] == len(request_ids) + 500
    assert client.stats()["dropped"] == client.stats()["rejected"] == 0

    model = server.get("/v1/models/fraud").json()
    assert model["n_predictions"] == len(request_ids)
    assert model["n_feedback"] == 500
    assert [c["name"] for c in model["schema"]["features"]] == ["amount", "age", "channel"]

    # Restart: every acknowledged record is still there.
    server.stop()
    server.start()
    assert server.get("/v1/models/fraud").json()["n_predictions"] == len(request_ids)

    body = {"from": START.isoformat(), "to": (START + timedelta(days=2)).isoformat()}
    runs = server.post("/v1/models/fraud/runs", json=body).json()["runs"]
    assert len(runs) == 48
    assert {r["status"] for r in runs} == {"ok"}

    points = server.get("/v1/models/fraud/metrics", metric="drift_detected").json()["points"]
    by_day: dict[tuple[int, str], list[float]] = {}
    for p in points:
        day = (datetime.fromisoformat(p["window_start"]) - START).days
        by_day.setdefault((day, p["column"]), []).append(p["value"])
    # The reference is the first day of production data: day 2 drifts in amount and channel.
    assert sum(by_day[(1, "amount")]) == 24
    assert sum(by_day[(1, "channel")]) >= 20
    assert sum(by_day[(0, "amount")]) <= 3
    rows = server.get("/v1/models/fraud/metrics", metric="row_count").json()["points"]
    assert sum(p["value"] for p in rows) == len(request_ids)


def test_bad_record_is_quarantined_with_index_and_field(server: ServerProcess):
    good = {"kind": "prediction", "model": "m", "features": {"x": 1.0}, "prediction": 1}
    bad = {"kind": "prediction", "model": "m", "features": {"x": "not a number"}, "prediction": 1}
    assert server.post("/v1/ingest", json={"records": [good]}).status_code == 200
    response = server.post("/v1/ingest", json={"records": [good, good, bad]})
    assert response.status_code == 200
    reply = response.json()
    assert (reply["accepted"], reply["quarantined"]) == (2, 1)
    error = reply["errors"][0]
    assert (error["index"], error["field"]) == (2, "features.x")
    assert server.get("/v1/models/m").json()["n_predictions"] == 3
    [kept] = server.get("/v1/quarantine", model="m").json()["records"]
    assert (kept["index"], kept["field"], kept["record"]) == (2, "features.x", bad)
