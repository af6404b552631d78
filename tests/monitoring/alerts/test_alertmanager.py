"""Forwarding to a real Alertmanager (Debian's prometheus-alertmanager) started on a free
loopback port: the alerts Sightline forwards are read back from Alertmanager's own API."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sightline.store import MetricStore
from sightline.store.alerts import AlertStore
from tests.conftest import free_port, require
from tests.monitoring.alerts.conftest import FakeClock, config, make_alerting
from tests.monitoring.alerts.test_notifications import COLUMNS, TEN, Scenario

pytestmark = pytest.mark.slow

BINARY = "/usr/bin/prometheus-alertmanager"
CONFIG = """\
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or (BINARY if Path(BINARY).exists() else None)
    require(binary is not None, "prometheus-alertmanager is not installed (.ci/run installs it)")
    assert binary is not None
    (tmp_path / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"Alertmanager did not start on {url}: {error[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def alerts_in(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def test_alerts_forwarded_to_a_real_alertmanager_are_read_back_from_its_api(
    alertmanager: str, state: AlertStore, metrics: MetricStore
):
    # Alertmanager judges endsAt by its own clock, so this test's clock starts at real time.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    cfg = config(
        {
            "builtin": {"enabled": False},
            "external_url": "https://sightline.example.com",
            "rules": [
                {
                    "name": "feature_drift",
                    "metric": "drift_detected",
                    "condition": "drifted",
                    "severity": "critical",
                    "annotations": {"runbook_url": "https://wiki.example.com/drift"},
                }
            ],
            "receivers": {"am": [{"alertmanager": {"url": alertmanager}}]},
            "route": {"group_wait": 0, "group_interval": 0},
        }
    )
    scenario = Scenario(make_alerting(cfg, state, metrics, clock), metrics, clock)
    scenario.drift(0, TEN[:3])
    clock.set(datetime.now(UTC).replace(microsecond=0))
    delivery = scenario.alerting.tick()
    assert delivery.delivered == 1
    received = sorted(alerts_in(alertmanager), key=lambda a: a["labels"]["column"])
    assert [a["labels"]["column"] for a in received] == TEN[:3]
    first = received[0]
    assert first["labels"]["alertname"] == "feature_drift"
    assert first["labels"]["model"] == "churn"
    assert first["labels"]["severity"] == "critical"
    assert first["status"]["state"] == "active"
    assert first["annotations"]["runbook_url"] == "https://wiki.example.com/drift"
    assert first["annotations"]["threshold"] == "drifted"
    assert first["annotations"]["dashboard_url"].startswith(
        "https://sightline.example.com/models/churn?metric=drift_detected&column=f00"
    )
    fingerprint = scenario.alerting.alerts(state="firing")[0].fingerprint
    assert first["generatorURL"] == f"https://sightline.example.com/alerts/{fingerprint}"
    assert first["receivers"] == [{"name": "blackhole"}]

    scenario.drift(1, TEN[:1])  # f01 and f02 stop drifting: resolved alerts are forwarded
    clock.set(datetime.now(UTC).replace(microsecond=0))
    assert scenario.alerting.tick().delivered == 1
    active = [a for a in alerts_in(alertmanager) if a["status"]["state"] == "active"]
    assert [a["labels"]["column"] for a in active] == ["f00"]
    assert len(COLUMNS) == 12
