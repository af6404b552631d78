"""A week of a scored classifier's predictions through the real SDK and server, the labels
arriving later: the scheduler computes every window, recomputes the ones whose labels arrived,
and each day shows the realized quality and, beside it, the estimated one."""

from __future__ import annotations

import io
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from sightline.sdk import Client
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow

CONFIG = """
models:
  churn:
    prediction_score: score
    prediction_label: label
    positive_label: 1
    monitors:
      - name: hourly
        granularity: 1h
      - name: daily
        granularity: 1d
"""


def customers(rng: random.Random, n: int) -> list[tuple[dict[str, Any], float, int]]:
    """(features, calibrated score, true label) of ``n`` customers."""
    rows = []
    for _ in range(n):
        tenure = rng.uniform(0, 60)
        plan = rng.choice(["basic", "pro", "enterprise"])
        score = min(max(0.85 - tenure / 70 + (0.1 if plan == "basic" else 0.0), 0.01), 0.99)
        rows.append(({"tenure": round(tenure, 2), "plan": plan}, score, int(rng.random() < score)))
    return rows


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def daily(server: ServerProcess, metric: str) -> dict[datetime, dict[str, Any]]:
    points = server.get(
        "/v1/models/churn/metrics", metric=metric, monitor="daily", granularity="1d"
    ).json()["points"]
    return {datetime.fromisoformat(p["window_start"]): p for p in points}


def test_a_week_with_late_labels_gives_realized_and_estimated_quality_per_day(tmp_path: Path):
    config = tmp_path / "sightline.yaml"
    config.write_text(CONFIG)
    server = ServerProcess(
        tmp_path / "data",
        tmp_path / "server.log",
        "--config",
        str(config),
        env={"SIGHTLINE_SCHEDULE_INTERVAL": "1", "SIGHTLINE_WINDOW_DELAY": "0"},
    )
    server.start()
    try:
        rng = random.Random(11)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - timedelta(days=7 - d) for d in range(7)]
        client = Client(server.url, flush_interval=0.05)
        logged: dict[datetime, list[tuple[str, float, int, datetime]]] = {d: [] for d in days}
        for day in days:
            for i, (features, score, truth) in enumerate(customers(rng, 24 * 40)):
                ts = day + timedelta(seconds=i * 90)
                prediction = {"score": score, "label": int(score >= 0.5)}
                rid = client.log_prediction("churn", features, prediction, ts=ts)
                logged[day].append((rid, score, truth, ts))
        assert client.flush(120)

        reference = customers(rng, 4000)
        table = pa.table(
            {
                "tenure": [f["tenure"] for f, _, _ in reference],
                "plan": [f["plan"] for f, _, _ in reference],
                "score": [s for _, s, _ in reference],
                "label": [int(s >= 0.5) for _, s, _ in reference],
            }
        )
        # The model needs its target's type before the reference can carry it: one label first.
        first = logged[days[0]][0]
        client.log_feedback("churn", first[0], first[2], ts=first[3])
        assert client.flush(60)
        table = table.append_column("target", pa.array([t for _, _, t in reference], pa.float64()))
        buffer = io.BytesIO()
        with pa.ipc.new_stream(buffer, table.schema) as writer:
            writer.write_table(table)
        response = httpx.put(
            f"{server.url}/v1/models/churn/references/default",
            content=buffer.getvalue(),
            headers={"content-type": "application/vnd.apache.arrow.stream"},
        )
        assert response.status_code == 200, response.text

        # Every day computed by the scheduler (hourly windows, and the daily monitor).
        wait_for(lambda: len(daily(server, "row_count")) == 7, 240, "seven daily windows")

        # The labels of the first six days arrive "a day late"; the seventh has none yet.
        for day in days[:6]:
            for rid, _, truth, ts in logged[day]:
                client.log_feedback("churn", rid, truth, ts=ts + timedelta(days=1))
        assert client.flush(120)
        client.close()

        def labelled() -> bool:
            coverage = daily(server, "label_coverage")
            return all(coverage.get(d, {}).get("value") == 1.0 for d in days[:6])

        wait_for(labelled, 240, "the late labels to be taken in")
        realized = daily(server, "accuracy")
        estimated = daily(server, "estimated_accuracy")
        for day in days[:6]:
            rows = logged[day]
            truth = sum(int(s >= 0.5) == t for _, s, t, _ in rows) / len(rows)
            assert realized[day]["value"] == pytest.approx(truth, abs=1e-12), day
            estimate = estimated[day]
            assert estimate["details"]["realized"] == pytest.approx(truth, abs=1e-12)
            error = abs(estimate["value"] - truth)
            assert error <= 4 * estimate["details"]["standard_error"] + 0.005, (day, error)
        last = days[6]
        assert last not in realized  # no labels yet: no realized quality ...
        rows = logged[last]
        truth = sum(int(s >= 0.5) == t for _, s, t, _ in rows) / len(rows)
        assert estimated[last]["value"] == pytest.approx(truth, abs=0.04)  # ... but an estimate
        assert daily(server, "label_coverage")[last]["value"] == 0.0
        runs = server.get("/v1/models/churn/runs", limit=2000).json()["runs"]
        assert {"schedule", "late_data"} <= {r["trigger"] for r in runs}
    finally:
        server.stop()
