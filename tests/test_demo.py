"""``make demo``: the simulated service logs a week through the real SDK and server, and what it
shows is what the README promises — drift from day 5, late labels, a service incident."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from sightline.config import Settings
from sightline.demo import run_demo
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_the_demo_shows_drift_late_labels_and_an_incident(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "demo", port=free_port())
    said: list[str] = []
    stop = threading.Event()
    demo = threading.Thread(
        target=run_demo,
        args=(settings,),
        kwargs={"days": 7, "per_hour": 120, "live_rate": 5.0, "stop": stop, "say": said.append},
    )
    demo.start()
    try:
        deadline = time.monotonic() + 240
        while not any(line.startswith("Live traffic") for line in said):
            assert demo.is_alive(), said
            assert time.monotonic() < deadline, said
            time.sleep(0.2)
        base = settings.url
        assert f"  Dashboard:  {base}/models/churn" in said

        def points(metric: str, **params: str) -> list[dict]:
            response = httpx.get(
                f"{base}/v1/models/churn/metrics",
                params={"metric": metric, "granularity": "1h", "limit": "1000", **params},
            )
            assert response.status_code == 200, response.text
            return list(response.json()["points"])

        # The first window is partly before the week (insufficient data: no value).
        drifted = [p for p in points("share_of_drifted_columns") if p["value"] is not None]
        assert len(drifted) >= 7 * 24 - 2
        first, last = drifted[: 3 * 24], drifted[-24:]
        assert sum(p["value"] >= 0.5 for p in first) <= 3  # days 1-3: like the reference
        assert all(p["value"] >= 0.3 for p in last)  # the last day: the changed customers
        # The uploaded reference holds the model's columns only: no schema change anywhere.
        assert {p["value"] for p in points("schema_changes")} == {0.0}

        errors = [p["value"] for p in points("error_rate")]
        assert sum(e > 0.05 for e in errors) == 4  # the four hours of the incident
        assert sorted(errors)[len(errors) // 2] < 0.02
        coverage = points("label_coverage")
        assert coverage[0]["value"] == 1.0  # labels a day late: all in for the first days,
        assert coverage[-1]["value"] == 0.0  # none yet for the last hours

        alerts = httpx.get(f"{base}/v1/alerts", params={"model": "churn"}).json()["alerts"]
        names = {(a["labels"]["alertname"], a["state"]) for a in alerts}
        assert ("dataset_drift", "firing") in names
        assert ("error_rate", "resolved") in names  # the incident paged, then ended
        history = httpx.get(f"{base}/v1/alerts/history").json()["history"]
        incident = [h["to_state"] for h in history if h["rule"] == "error_rate"]
        assert incident[::-1] == ["pending", "firing", "resolved"]
        page = httpx.get(f"{base}/models/churn")
        assert page.status_code == 200
        assert "churn" in page.text
    finally:
        stop.set()
        demo.join(timeout=60)
    assert not demo.is_alive()
    assert said[-1] == "Stopped."
