"""``sightline backup`` through a real server (uvicorn on a free 127.0.0.1 port) and from the
files, and ``sightline restore`` into a new data directory that then serves the same models,
metric points, alerts, silences and rules."""

from __future__ import annotations

import dataclasses
import tarfile
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sightline.cli.main import main
from sightline.config import Settings
from sightline.server import create_app
from tests.cli.test_alerts_cli import RULES, Server, _indent, drift
from tests.monitoring.alerts.conftest import FakeClock
from tests.server.conftest import DAY1

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIGHTLINE_URL", "SIGHTLINE_DATA_DIR", "SIGHTLINE_CONFIG", "SIGHTLINE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def snapshot(settings: Settings) -> dict[str, Any]:
    """What a data directory serves, read through a fresh app on it."""
    app = create_app(settings, clock=FakeClock(DAY1 + timedelta(hours=2)), start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        [model] = client.get("/v1/models").json()["models"]
        points = client.get("/v1/models/churn/metrics", params={"segment": "*", "version": "*"})
        return {
            "predictions": model["n_predictions"],
            "points": sorted(
                (p["metric"], p["column"], p["window_start"], p["value"])
                for p in points.json()["points"]
            ),
            "alerts": sorted(
                (a["fingerprint"], a["state"]) for a in client.get("/v1/alerts").json()["alerts"]
            ),
            "silences": [s["comment"] for s in client.get("/v1/silences").json()["silences"]],
            "rules": [(r["name"], r["source"]) for r in client.get("/v1/rules").json()["rules"]],
        }


@pytest.mark.slow
def test_a_backup_of_a_running_server_restores_into_a_new_data_directory(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = Server(settings, FakeClock(DAY1), "alerting:\n" + _indent(RULES))
    try:
        drift(server)
        server.post("/v1/silences", {"matchers": ["model=churn"], "duration": "2h",
                                     "comment": "retraining"})  # fmt: skip
        body = {"metric": "share_of_drifted_columns", "condition": "> 0.5"}
        assert server.put("/v1/rules/drift_share", body) == 200
        archive = tmp_path / "backup.tar.gz"
        assert main(["backup", "-o", str(archive), "--url", server.url]) == 0
        out = capsys.readouterr().out
        assert f"backup of {server.url} written to {archive}" in out
        assert "predictions, metrics, state" in out
    finally:
        server.stop()
    before = snapshot(settings)
    assert before["points"]
    assert before["alerts"]

    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "sightline-backup.json" in names
    assert any(n.startswith("predictions/") and n.endswith(".parquet") for n in names)

    restored = dataclasses.replace(settings, data_dir=tmp_path / "restored")
    assert main(["restore", str(archive), "--data-dir", str(restored.data_dir)]) == 0
    assert "restored predictions, metrics, state" in capsys.readouterr().out
    assert snapshot(restored) == before

    # Not over existing files, unless asked; then they are kept beside.
    assert main(["restore", str(archive), "--data-dir", str(restored.data_dir)]) == 2
    assert "exist already" in capsys.readouterr().err
    args = ["restore", str(archive), "--data-dir", str(restored.data_dir), "--force"]
    assert main(args) == 0
    assert (restored.data_dir / "predictions.duckdb.before-restore").exists()
    assert snapshot(restored) == before

    # From the files, with no server: the same content.
    local = tmp_path / "local.tar.gz"
    args = ["backup", "--local", "--data-dir", str(restored.data_dir), "-o", str(local)]
    assert main(args) == 0
    again = dataclasses.replace(settings, data_dir=tmp_path / "again")
    assert main(["restore", str(local), "--data-dir", str(again.data_dir)]) == 0
    assert snapshot(again) == before


def test_restore_refuses_what_is_not_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.tar.gz"
    text.write_text("hello")
    assert main(["restore", str(text), "--data-dir", str(tmp_path / "d")]) == 2
    assert "is not a Sightline backup" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "nope.tar.gz"), "--data-dir", str(tmp_path)]) == 2
    assert "no backup at" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_a_backup_is_private_and_restore_will_not_touch_files_a_server_has_open(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import stat
    import subprocess
    import sys

    from sightline.store import open_prediction_store

    open_prediction_store(settings.prediction_store_url).close()  # a data directory
    archive = tmp_path / "b.tar.gz"
    args = ["backup", "--local", "--data-dir", str(settings.data_dir), "-o", str(archive)]
    assert main(args) == 0
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the session secret

    # Another process (a server) holds the prediction store: --force must not move it away.
    path = settings.data_dir / "predictions.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('open', flush=True);"
         " time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        args = ["restore", str(archive), "--data-dir", str(settings.data_dir), "--force"]
        assert main(args) == 3
        assert "is in use" in capsys.readouterr().err
        assert path.exists()
        assert not (settings.data_dir / "predictions.duckdb.before-restore").exists()
    finally:
        holder.kill()
        holder.communicate()
    assert main(args) == 0  # once it is closed
    assert main(args) == 0  # again: the first set aside is kept, the second has a time
    aside = sorted(p.name for p in settings.data_dir.glob("predictions.duckdb.before-restore*"))
    assert len(aside) == 2
