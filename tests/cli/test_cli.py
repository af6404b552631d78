"""The ``sightline`` command, called in-process on a data directory prepared through the store.

No server runs: every command gets ``--url`` of a free port, so nothing answers there and the
commands that could talk to a server open the data directory instead.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sightline.cli.main import main
from sightline.config import ENV_PREFIX, Settings
from sightline.schema import ModelSchema
from sightline.store import PredictionRow, WriteBatch, open_metric_store, open_prediction_store
from tests.conftest import free_port

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
TEN = DAY0 + timedelta(days=1, hours=10)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIGHTLINE_* variables: none from the developer's shell may leak in."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def rows(model: str, start: datetime, n: int, shift: float = 0.0) -> list[PredictionRow]:
    return [
        PredictionRow(
            record_id=f"{model}-{start.isoformat()}-{i}",
            request_id=f"{model}-{start.isoformat()}-{i}",
            ts=start + timedelta(hours=1) * i / n,
            received_at=start,
            model_version="",
            sample_rate=1.0,
            tags={},
            features={"x": shift + 10 * (i + 0.5) / n, "plan": "abc"[i % 3]},
            outputs={"prediction": (shift + 10 * (i + 0.5) / n) / 10},
        )
        for i in range(n)
    ]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory where model ``churn`` logged a first day, then two windows at 10:00
    and 11:00 the day after (the second drifted). The store is closed: one process at a time."""
    directory = tmp_path / "data"
    settings = Settings.load(data_dir=directory)
    store = open_prediction_store(settings.prediction_store_url)
    try:
        logged = (
            rows("churn", DAY0, 300)
            + rows("churn", TEN, 100)
            + rows("churn", TEN + timedelta(hours=1), 100, shift=5)
        )
        schema, changes = ModelSchema("churn").evolve(
            [r.features for r in logged], [r.outputs for r in logged], None
        )
        store.write(WriteBatch({"churn": (schema, changes)}, {"churn": logged}))
    finally:
        store.close()
    return directory


def test_settings_prints_every_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings"]) == 0

    out = capsys.readouterr().out
    for row in Settings.table():
        assert row["env"] in out
    assert "SIGHTLINE_DATA_DIR" in out
    assert "SIGHTLINE_MAX_BODY_BYTES" in out


def test_run_local_computes_windows_and_prints_a_table(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--local",
            "--data-dir",
            str(data_dir),
            "--url",
            url,
            "--model",
            "churn",
            "--from",
            TEN.isoformat(),
            "--to",
            (TEN + timedelta(hours=3)).isoformat(),
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["window_start", "window_end", "status", "rows", "seconds", "error"]
    assert set(lines[1]) <= {"-", " "}
    body = [line.split() for line in lines[2:5]]
    assert [(cells[0], cells[2], cells[3]) for cells in body] == [
        ("2026-03-03T10:00:00+00:00", "ok", "100"),
        ("2026-03-03T11:00:00+00:00", "ok", "100"),
        ("2026-03-03T12:00:00+00:00", "no_data", "0"),
    ]
    assert lines[-1].startswith("3 window(s) computed, 0 failed")

    # The points are in the metric store, and the stores were closed again.
    metrics = open_metric_store(Settings.load(data_dir=data_dir).metric_store_url)
    try:
        shares = metrics.query("churn", metric="share_of_drifted_columns", granularity="1h")
        assert [p.value for p in shares] == [0.0, pytest.approx(2 / 3)]
    finally:
        metrics.close()


def test_run_without_local_falls_back_to_the_data_dir_when_no_server_answers(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--data-dir", str(data_dir), "--url", url, "--model", "churn"]
    code = main([*args, "--from", str(TEN.timestamp()), "--to", "2026-03-03T12:00:00Z"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 window(s) computed, 0 failed" in out


def test_run_with_a_day_granularity(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--local", "--data-dir", str(data_dir), "--url", url, "--model", "churn"]
    code = main(
        [*args, "--from", TEN.isoformat(), "--to", "2026-03-03T12:00Z", "--granularity", "1d"]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    assert "2026-03-03T00:00:00+00:00  2026-03-04T00:00:00+00:00  ok" in out
    assert "1 window(s) computed" in out


def test_run_of_an_unknown_model_is_a_usage_error(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--local",
            "--data-dir",
            str(data_dir),
            "--url",
            url,
            "--model",
            "ghost",
            "--from",
            TEN.isoformat(),
            "--to",
            (TEN + timedelta(hours=1)).isoformat(),
        ]
    )

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "model 'ghost' has logged nothing" in err
    assert str(data_dir) in err


@pytest.mark.parametrize(
    ("start", "end", "flag"),
    [
        ("2026-03-03T12:00:00Z", "2026-03-03T10:00:00Z", "--to"),  # --to before --from
        ("2026-03-03T10:00:00Z", "2026-03-03T10:00:00Z", "--to"),  # an empty range
        ("tomorrow", "2026-03-03T10:00:00Z", "--from"),
        ("2026-03-03T10:00:00Z", "later", "--to"),
    ],
)
def test_a_bad_time_range_is_a_usage_error(
    data_dir: Path,
    url: str,
    capsys: pytest.CaptureFixture[str],
    start: str,
    end: str,
    flag: str,
) -> None:
    args = ["run", "--local", "--data-dir", str(data_dir), "--url", url, "--model", "churn"]
    code = main([*args, "--from", start, "--to", end])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: ")
    assert flag in err

    metrics = open_metric_store(Settings.load(data_dir=data_dir).metric_store_url)
    try:
        assert metrics.runs("churn") == []  # nothing was computed
    finally:
        metrics.close()


def test_models_json_lists_the_models(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--data-dir", str(data_dir), "--url", url, "--json"]) == 0

    [churn] = json.loads(capsys.readouterr().out)
    assert churn["name"] == "churn"
    assert churn["n_predictions"] == 500
    assert churn["n_feedback"] == 0
    assert churn["first_ts"] == "2026-03-02T00:00:00+00:00"
    assert [f["name"] for f in churn["schema"]["features"]] == ["x", "plan"]


def test_models_prints_a_table(
    data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--data-dir", str(data_dir), "--url", url]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["model", "predictions", "labels", "first", "last"]
    assert lines[2].split()[:3] == ["churn", "500", "0"]


def test_settings_come_from_the_environment(
    data_dir: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGHTLINE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SIGHTLINE_URL", url)

    assert main(["models", "--json"]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)] == ["churn"]


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "frobnicate" in capsys.readouterr().err
