"""``/metrics`` on the real app in-process: the latest points of every model, job health,
alerting and scheduler state, build and process metrics — served from memory, not a query per
scrape, and valid for ``promtool check metrics``."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sightline.config import Settings
from sightline.monitoring import JobRunner
from sightline.monitoring.config import parse_config
from sightline.server import create_app
from tests.conftest import require
from tests.monitoring.alerts.conftest import FakeClock
from tests.server.conftest import DAY0, DAY1, SHIFTED, ingest, traffic

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HOUR = timedelta(hours=1)
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of an exposition: (name, labels) → value."""
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        labels = frozenset(_LABEL.findall(match.group(3) or ""))
        found[match.group(1), labels] = float(match.group(4))
    return found


def names(text: str) -> set[str]:
    return {name for name, _ in parse(text)}


def sample(text: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    matches = [v for (n, ls), v in parse(text).items() if n == name and wanted <= ls]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY1 + 4 * HOUR + timedelta(minutes=10))


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def run(client: TestClient, start: Any, end: Any) -> list[dict[str, Any]]:
    body = {"from": start.isoformat(), "to": end.isoformat()}
    response = client.post("/v1/models/churn/runs", json=body)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


def drifting_day(client: TestClient, hours: int = 3) -> None:
    """Day 0 normal (the fallback reference), then ``hours`` drifted hours of day 1."""
    ingest(client, traffic(DAY0, 720, span=timedelta(days=1)))
    for hour in range(hours):
        ingest(client, traffic(DAY1 + hour * HOUR, 120, low=5, high=15, plans=SHIFTED))


def test_the_latest_window_of_each_model_is_exported_as_its_points(client: TestClient):
    drifting_day(client)
    run(client, DAY1, DAY1 + 3 * HOUR)
    text = client.get("/metrics").text
    stored = client.get(
        "/v1/models/churn/metrics",
        params={"start": (DAY1 + 2 * HOUR).isoformat(), "end": (DAY1 + 3 * HOUR).isoformat()},
    ).json()["points"]
    drift = {p["column"]: p for p in stored if p["metric"] == "drift_score"}
    assert set(drift) == {"x", "plan", "prediction"}
    for column, p in drift.items():
        labels = {"model": "churn", "monitor": "default", "slice": "all", "column": column}
        exported = sample(text, "sightline_drift_score", method=p["details"]["method"], **labels)
        assert exported == pytest.approx(p["value"])
        assert sample(text, "sightline_drift_detected", **labels) == 1
    assert sample(text, "sightline_window_rows", model="churn") == 120
    assert sample(text, "sightline_dataset_drift_detected", model="churn") == 1
    end = (DAY1 + 3 * HOUR).timestamp()
    assert sample(text, "sightline_window_end_timestamp_seconds", model="churn") == end
    assert sample(text, "sightline_window_duration_seconds", model="churn") == 3600
    assert sample(text, "sightline_job_last_run_status", model="churn", status="ok") == 1
    assert sample(text, "sightline_job_last_run_status", model="churn", status="error") == 0
    assert sample(text, "sightline_job_runs_total", model="churn", status="ok") == 3
    assert sample(text, "sightline_job_run_duration_seconds_count", model="churn") == 3
    # The clock is 10 minutes past 04:00 on day 1; the delay is 5 minutes: 03:00-04:00 is due.
    assert sample(text, "sightline_job_windows_behind", model="churn") == 1
    firing = sample(text, "sightline_alerts", model="churn", rule="dataset_drift", state="firing")
    assert firing == 1
    assert sample(text, "sightline_build_info", version="0.1.0", store="duckdb") == 1
    assert sample(text, "process_resident_memory_bytes") > 0
    assert "python_info" in text


def test_scrapes_read_memory_not_the_stores(client: TestClient):
    drifting_day(client)
    run(client, DAY1, DAY1 + 2 * HOUR)
    exporter = services(client).exporter
    calls: list[str] = []

    class Counting:
        def __init__(self, store: Any):
            self.store = store

        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(self.store, name)

    exporter.metrics = Counting(exporter.metrics)
    exporter.predictions = Counting(exporter.predictions)
    services(client).alerting.store = Counting(services(client).alerting.store)
    texts = [client.get("/metrics").text for _ in range(5)]
    assert calls == []
    assert len({re.sub(r"(process|python)_\S+ \S+\n", "", t) for t in texts}) <= 2  # uptime


def test_a_newer_window_replaces_the_points_but_an_empty_one_does_not(client: TestClient):
    drifting_day(client, hours=2)
    run(client, DAY1, DAY1 + HOUR)
    before = client.get("/metrics").text
    assert sample(before, "sightline_window_end_timestamp_seconds") == (DAY1 + HOUR).timestamp()
    run(client, DAY1 + HOUR, DAY1 + 2 * HOUR)
    text = client.get("/metrics").text
    assert sample(text, "sightline_window_end_timestamp_seconds") == (DAY1 + 2 * HOUR).timestamp()
    # 02:00-03:00 has no data: it is computed (job health shows it), the points stay.
    [empty] = run(client, DAY1 + 2 * HOUR, DAY1 + 3 * HOUR)
    assert empty["status"] == "no_data"
    text = client.get("/metrics").text
    assert sample(text, "sightline_window_end_timestamp_seconds") == (DAY1 + 2 * HOUR).timestamp()
    assert sample(text, "sightline_window_rows") == 120
    assert sample(text, "sightline_job_last_run_status", status="no_data") == 1
    assert sample(text, "sightline_job_windows_behind") == 1  # 03:00-04:00
    # An older window recomputed (late data) does not take over.
    run(client, DAY1, DAY1 + HOUR)
    text = client.get("/metrics").text
    assert sample(text, "sightline_window_end_timestamp_seconds") == (DAY1 + 2 * HOUR).timestamp()


def test_windows_written_by_another_process_appear_after_a_refresh(client: TestClient):
    drifting_day(client)
    svc = services(client)
    other = JobRunner(svc.predictions, svc.metrics)  # no hook: another process's runner
    other.run_window("churn", _w(1))
    assert not names(client.get("/metrics").text) & {"sightline_drift_score"}
    svc.exporter.refresh()
    text = client.get("/metrics").text
    assert sample(text, "sightline_window_end_timestamp_seconds") == (DAY1 + 2 * HOUR).timestamp()
    assert sample(text, "sightline_job_last_run_status", status="ok") == 1
    assert sample(text, "sightline_export_refresh_duration_seconds") >= 0
    # Recomputed there with other data: the refresh sees the newer run of the same window.
    ingest(client, traffic(DAY1 + HOUR, 60))
    other.run_window("churn", _w(1))
    svc.exporter.refresh()
    assert sample(client.get("/metrics").text, "sightline_window_rows") == 180


def _w(hour: int) -> Any:
    from sightline.schema import Window

    start = DAY1 + hour * HOUR
    return Window(start, start + HOUR, "1h")


def test_a_failing_job_shows_in_its_status(client: TestClient):
    drifting_day(client, hours=1)
    config = {"reference": {"range": {"from": "2025-01-01", "to": "2025-01-02"}}}
    assert client.put("/v1/models/churn/config", json=config).status_code == 200
    [failed] = run(client, DAY1, DAY1 + HOUR)
    assert failed["status"] == "error"
    text = client.get("/metrics").text
    assert sample(text, "sightline_job_last_run_status", status="error") == 1
    assert sample(text, "sightline_job_runs_total", status="error") == 1
    assert not names(text) & {
        "sightline_job_last_success_timestamp_seconds",
        "sightline_window_end_timestamp_seconds",
    }
    # Nothing computed yet: behind by every closed window since the model's first data.
    assert sample(text, "sightline_job_windows_behind") == 28


def test_caps_bound_the_exported_columns_and_slices(tmp_path, clock: FakeClock):
    settings = Settings.load(
        data_dir=tmp_path / "data",
        schedule_interval=0.0,
        prometheus_max_columns=1,
        prometheus_max_slices=0,
    )
    config = parse_config("models:\n  churn:\n    segments: [plan]\n", "sightline.yaml")
    app = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(app) as client:
        drifting_day(client, hours=1)
        run(client, DAY1, DAY1 + HOUR)
        text = client.get("/metrics").text
    found = parse(text)
    columns = {dict(ls).get("column") for (n, ls) in found if n == "sightline_missing_ratio"}
    assert columns == {"plan"}  # the first by name of plan, prediction, x
    slices = {dict(ls).get("slice") for (n, ls) in found if "slice" in dict(ls)}
    assert slices == {"all"}
    assert sample(text, "sightline_export_omitted", dimension="column") == 2
    # The reference's plans a, b, c and "other" (d) are the segments.
    assert sample(text, "sightline_export_omitted", dimension="slice") == 4


def test_the_exposition_follows_the_conventions(client: TestClient):
    drifting_day(client)
    start = DAY1 + 2 * HOUR
    events = [
        {"kind": "event", "model": "churn", "name": "predict", "ts": (start + i * HOUR / 50)
         .isoformat(), "latency_ms": 20.0 + i, "status": "500" if i % 10 == 0 else "200"}
        for i in range(50)
    ]  # fmt: skip
    ingest(client, events)
    run(client, DAY1, DAY1 + 3 * HOUR)
    text = client.get("/metrics").text
    assert sample(text, "sightline_error_ratio", slice="all") == pytest.approx(0.1)
    assert sample(text, "sightline_latency_p50_seconds", slice="segment:event=predict") == 0.0445
    assert "_created" not in text
    for (name, labels), _ in parse(text).items():
        assert all(value != "" for _, value in labels), (name, labels)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for name, kind in types.items():
        assert (kind == "counter") == name.endswith("_total"), name
        assert not name.endswith(("_ms", "_milliseconds")), name
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package prometheus) is not installed")
    assert promtool is not None
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == checked.stderr.strip() == ""


DOWN_CONFIG = """\
alerting:
  receivers:
    team:
      - webhook: {url: "http://127.0.0.1:PORT/hook", timeout: 1}
  route:
    group_wait: 0s
  delivery: {retry_initial: 1, retry_max: 1, give_up_after: 60}
"""


def test_notifications_that_cannot_be_delivered_are_counted(tmp_path, clock: FakeClock):
    from tests.conftest import free_port

    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0)
    config = parse_config(DOWN_CONFIG.replace("PORT", str(free_port())), "sightline.yaml")
    app = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(app) as client:
        drifting_day(client, hours=1)
        run(client, DAY1, DAY1 + HOUR)
        svc = services(client)
        svc.alerting.tick()
        svc.exporter.refresh()
        text = client.get("/metrics").text
        channel = {"channel": "team/0-webhook"}
        retrying = sample(
            text, "sightline_notification_attempts_total", outcome="retrying", **channel
        )
        assert retrying >= 1
        assert sample(text, "sightline_notifications_pending") >= 1
        clock.advance(timedelta(minutes=2))  # past give_up_after
        svc.alerting.tick()
        svc.exporter.refresh()
        text = client.get("/metrics").text
        assert sample(text, "sightline_notification_attempts_total", outcome="failed", **channel)
        assert sample(text, "sightline_notifications_failed") >= 1
        assert sample(text, "sightline_notifications_pending") == 0
