"""``sightline reports``: a model's report on the data directory or through a server (with an
API key), the scheduled reports listed from their run logs, and the config check."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sightline.cli.main import main
from sightline.config import ENV_PREFIX, Settings
from sightline.server import create_app
from sightline.store.keys import KeyStore
from tests.conftest import free_port
from tests.server.conftest import DAY0, DAY1, SHIFTED, TestClient, traffic
from tests.server.test_reports_api import HandClock, seed

DAY2 = DAY1 + timedelta(days=1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIGHTLINE_* variables: none from the developer's shell may leak in."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


CONFIG = """\
reports:
  - model: churn
    every: 1d
    folder: saved
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Monday normal, Tuesday shifted; the server that wrote it is stopped."""
    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0)
    with TestClient(create_app(settings, start_scheduler=False)) as client:
        seed(client)
    return settings.data_dir


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_report_is_made_on_the_data_directory(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    output = tmp_path / "tuesday.html"
    code, out, err = run(
        capsys, "reports", "run", "--data-dir", str(data_dir), "--url", f"http://127.0.0.1:{free_port()}",
        "--model", "churn", "--from", "2026-03-03", "--to", "2026-03-04", "-o", str(output),
        "--segment", "plan",
    )  # fmt: skip

    assert code == 0, err
    assert f"HTML report: {output}" in out
    assert "240 predictions vs 240 reference rows (production:2026-03-02" in out
    assert "drifted columns:" in out
    assert "<title>churn: 2026-03-03 – 2026-03-04 UTC" in output.read_text()


def test_the_json_report_can_go_to_stdout(data_dir: Path, capsys: pytest.CaptureFixture[str]):
    code, out, err = run(
        capsys, "reports", "run", "--data-dir", str(data_dir), "--url", f"http://127.0.0.1:{free_port()}",
        "--model", "churn", "--from", "2026-03-03", "--to", "2026-03-04", "--json", "-",
    )  # fmt: skip

    assert code == 0, err
    body = json.loads(out)  # nothing else on stdout
    assert body["data"]["n_current"] == 240
    assert "240 predictions" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday", "--to", "2026-03-04"], "--from: expected an ISO 8601 time"),
        (["--from", "2027-01-01", "--to", "2027-01-02"], "no predictions between"),
        (["--from", "2026-03-03", "--to", "2026-03-04", "--reference", "x"], "no reference"),
    ],
)
def test_mistakes_are_reported_with_a_usage_exit_code(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
):
    code, _, err = run(
        capsys, "reports", "run", "--data-dir", str(data_dir), "--url", f"http://127.0.0.1:{free_port()}",
        "--model", "churn", "--json", "-", *args,
    )  # fmt: skip

    assert code == 2
    assert message in err


def test_scheduled_reports_are_listed_from_their_run_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "sightline.yaml"
    config.write_text(CONFIG)
    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, config=str(config))
    app = create_app(settings, clock=HandClock(DAY2 + timedelta(hours=1)), start_scheduler=False)
    with TestClient(app) as client:
        seed(client)
        client.app.state.reports.scheduler.run_pending()  # type: ignore[attr-defined]

    code, out, err = run(
        capsys, "reports", "list", "--data-dir", str(settings.data_dir), "--config", str(config),
        "--url", f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "report", "model", "every", "last", "period", "status", "files", "email", "error",
    ]  # fmt: skip
    assert lines[2].split() == ["churn-daily", "churn", "day", "2026-03-03", "ok", "1"]
    assert "1 scheduled report(s)" in out


def test_check_validates_the_reports_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = tmp_path / "good.yaml"
    good.write_text(CONFIG)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.replace("every: 1d", "every: hourly"))

    ok_code, ok_out, _ = run(capsys, "reports", "check", str(good))
    bad_code, _, bad_err = run(capsys, "reports", "check", str(bad))

    assert ok_code == 0
    assert f"{good}: 1 scheduled report(s)" in ok_out
    assert f"churn-daily: model churn, every 1d, to {tmp_path / 'saved'}" in ok_out
    assert bad_code == 2
    assert f"{bad}:3: reports[0].every: expected 1d (daily) or 1w (weekly)" in bad_err


@pytest.mark.slow
def test_a_report_through_a_server_with_auth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from tests.e2e.conftest import ServerProcess

    data = tmp_path / "data"
    store = KeyStore(data / "keys.json")
    _, writer = store.create("svc", ["ingest"])
    _, reader = store.create("ana", ["read"])
    server = ServerProcess(
        data, tmp_path / "server.log", "--no-scheduler", env={"SIGHTLINE_AUTH": "true"}
    )
    server.start()
    output = tmp_path / "report.html"
    try:
        records = traffic(DAY0, 200, span=timedelta(days=1))
        records += traffic(DAY1, 200, low=4, high=14, plans=SHIFTED, span=timedelta(days=1))
        response = httpx.post(
            server.url + "/v1/ingest",
            json={"records": records},
            headers={"authorization": f"Bearer {writer}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        args = [
            "reports", "run", "--url", server.url, "--model", "churn",
            "--from", "2026-03-03", "--to", "2026-03-04", "-o", str(output),
        ]  # fmt: skip
        denied, _, denied_err = run(capsys, *args)
        monkeypatch.setenv("SIGHTLINE_API_KEY", reader)
        code, out, err = run(capsys, *args)
        listed, listing, _ = run(capsys, "reports", "list", "--url", server.url, "--json")
    finally:
        server.stop()
    assert denied == 1
    assert "HTTP 401" in denied_err
    assert code == 0, err
    assert f"made by the server at {server.url}" in out
    assert "<title>churn: 2026-03-03 – 2026-03-04 UTC" in output.read_text()
    assert listed == 0
    assert json.loads(listing) == []
