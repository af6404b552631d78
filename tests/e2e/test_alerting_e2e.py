"""Alerting in a real `sightline serve` process: a config file with a signed webhook (its
secret from the environment), the alerting thread on the real clock, a restart in between."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess
from tests.monitoring.alerts.conftest import HttpReceiver
from tests.server.conftest import DAY0, DAY1, SHIFTED, traffic

pytestmark = pytest.mark.slow

CONFIG = """\
alerting:
  external_url: https://sightline.example.com
  builtin: {enabled: false}
  rules:
    - name: feature_drift
      metric: drift_detected
      condition: drifted
  receivers:
    team:
      - webhook: {url: "RECEIVER", secret: "${HOOK_SECRET}"}
  route: {group_wait: 0s}
"""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_served_config_notifies_once_across_a_restart(
    tmp_path: Path, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
):
    config = tmp_path / "sightline.yaml"
    config.write_text(CONFIG.replace("RECEIVER", receiver.url + "/hook"))
    monkeypatch.setenv("HOOK_SECRET", "s3cret")  # the server process inherits the environment
    monkeypatch.setenv("SIGHTLINE_SCHEDULE_INTERVAL", "0")
    monkeypatch.setenv("SIGHTLINE_ALERT_INTERVAL", "0.2")
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--config", str(config))
    server.start()
    try:
        for records in (
            traffic(DAY0, 720, span=timedelta(days=1)),
            traffic(DAY1, 120, low=5, high=15, plans=SHIFTED),
        ):
            assert server.post("/v1/ingest", json={"records": records}).status_code == 200
        body = {"from": DAY1.isoformat(), "to": (DAY1 + timedelta(hours=1)).isoformat()}
        assert server.post("/v1/models/churn/runs", json=body).status_code == 200
        wait_for(lambda: len(receiver.received) == 1)
        [request] = receiver.received
        signature = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-sightline-signature"] == f"sha256={signature}"
        assert len(request.json()["alerts"]) == 3
        wait_for(
            lambda: server.get("/v1/notifications", status="delivered").json()["notifications"]
        )
    finally:
        server.stop()

    server.start()  # a restart on the same data directory
    try:
        firing = server.get("/v1/alerts", state="firing").json()["alerts"]
        assert len(firing) == 3
        assert server.post("/v1/models/churn/runs", json=body).status_code == 200  # recomputed
        time.sleep(1.0)  # five alerting ticks
        assert len(receiver.received) == 1
    finally:
        server.stop()
