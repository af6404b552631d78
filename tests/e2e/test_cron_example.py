"""The cron line of docs/cli.md, run as cron would run it: it computes yesterday's windows.

The command is read from the docs (so the test fails when the docs drift from the CLI), its
``\\%`` escapes undone as cron does, and it runs through ``bash -c`` with the project's
``sightline`` on PATH and the data directory given by ``SIGHTLINE_DATA_DIR``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sightline.config import ENV_PREFIX, Settings
from sightline.schema import ModelSchema
from sightline.store import PredictionRow, WriteBatch, open_metric_store, open_prediction_store
from tests.conftest import ROOT, free_port, require

pytestmark = pytest.mark.slow

PER_HOUR = 30


def documented_cron_line() -> str:
    page = (ROOT / "docs" / "cli.md").read_text()
    block = re.search(r"```\n# m h dom mon dow\s+command\n(.*?)\n```", page, re.S)
    assert block is not None, "docs/cli.md lost its crontab example"
    [line] = block.group(1).splitlines()
    return line


def cron_command(line: str, log: Path) -> str:
    """The command part of a crontab line, as cron hands it to the shell."""
    fields = line.split(None, 5)
    assert len(fields) == 6, f"not a crontab line: {line!r}"
    command = fields[5].replace("\\%", "%")  # cron turns an unescaped % into a newline
    redirect = re.search(r">>\s*(\S+)", command)
    assert redirect is not None, "the documented command no longer appends to a log file"
    return command.replace(redirect.group(1), str(log))


def utc_today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def log_traffic(data_dir: Path, model: str, day: datetime) -> None:
    """``PER_HOUR`` predictions in every hour of ``day``; the store is closed afterwards."""
    logged = [
        PredictionRow(
            record_id=f"{hour}-{i}",
            request_id=f"{hour}-{i}",
            ts=day + timedelta(hours=hour) + timedelta(hours=1) * i / PER_HOUR,
            received_at=day + timedelta(hours=hour),
            model_version="",
            sample_rate=1.0,
            tags={},
            features={"x": 10 * (i + 0.5) / PER_HOUR, "plan": "abc"[i % 3]},
            outputs={"prediction": (i + 0.5) / PER_HOUR},
        )
        for hour in range(24)
        for i in range(PER_HOUR)
    ]
    schema, changes = ModelSchema(model).evolve(
        [r.features for r in logged], [r.outputs for r in logged], None
    )
    store = open_prediction_store(Settings.load(data_dir=data_dir).prediction_store_url)
    try:
        store.write(WriteBatch({model: (schema, changes)}, {model: logged}))
    finally:
        store.close()


def test_the_documented_cron_line_computes_yesterday(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    require((bin_dir / "sightline").exists(), f"no `sightline` script beside {sys.executable}")
    require(shutil.which("bash") is not None, "bash is not installed")
    gnu_date = subprocess.run(
        ["date", "-u", "-d", "yesterday", "+%F"], capture_output=True, text=True, check=False
    )
    require(gnu_date.returncode == 0, "`date -d yesterday` needs GNU date")

    line = documented_cron_line()
    model = re.search(r"--model\s+(\S+)", line)
    assert model is not None, "the documented command no longer names a model"
    # Run it again (once is enough) if midnight UTC passed meanwhile: "yesterday" moved.
    for attempt in range(2):
        if attempt:
            shutil.rmtree(tmp_path / "data", ignore_errors=True)
            (tmp_path / "sightline-run.log").unlink(missing_ok=True)
        today = utc_today()
        yesterday = today - timedelta(days=1)
        data_dir = tmp_path / "data"
        log_traffic(data_dir, model.group(1), yesterday)
        log = tmp_path / "sightline-run.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        environment.update(
            PATH=f"{bin_dir}{os.pathsep}{environment.get('PATH', '/usr/bin:/bin')}",
            SIGHTLINE_DATA_DIR=str(data_dir),
            SIGHTLINE_URL=f"http://127.0.0.1:{free_port()}",  # no server: the data dir is used
        )

        done = subprocess.run(
            ["bash", "-c", cron_command(line, log)],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

        if utc_today() == today:
            break
    output = log.read_text()
    assert done.returncode == 0, output + done.stderr
    assert output.splitlines()[-1].startswith("24 window(s) computed, 0 failed")
    metrics = open_metric_store(Settings.load(data_dir=data_dir).metric_store_url)
    try:
        runs = [r for r in metrics.runs(model.group(1), limit=100) if r.granularity == "1h"]
        points = metrics.query(model.group(1), metric="row_count", granularity="1h")
    finally:
        metrics.close()
    hours = [yesterday + timedelta(hours=h) for h in range(24)]
    assert sorted(r.window_start for r in runs) == hours
    assert {(r.granularity, r.status, r.n_rows, r.trigger) for r in runs} == {
        ("1h", "ok", PER_HOUR, "manual")
    }
    assert [(p.window_start, p.value) for p in points] == [(h, float(PER_HOUR)) for h in hours]
