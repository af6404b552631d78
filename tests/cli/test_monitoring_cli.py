"""The monitoring commands in-process, on a data directory prepared through the store.

Every command gets ``--url`` of a free port, so no server answers and the commands open the
data directory themselves (the stores are closed before each call: one process at a time).
Model ``churn`` logs the hours 10:00 and 11:00 of 3 March 2026: 60 predictions from version
``v1`` and 30 from ``v2`` in the first hour, 40 from ``v1`` in the second.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sightline.cli.main import main
from sightline.config import ENV_PREFIX, Settings
from sightline.errors import ConfigError
from sightline.monitoring.pipeline import run_windows
from sightline.schema import ModelSchema
from sightline.schema.monitors import ModelConfig, Monitor
from sightline.store import (
    MetricStore,
    PredictionRow,
    PredictionStore,
    WriteBatch,
    open_metric_store,
    open_prediction_store,
)
from tests.conftest import free_port

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
TEN = DAY0 + timedelta(days=1, hours=10)
ELEVEN = TEN + timedelta(hours=1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIGHTLINE_* variables: none from the developer's shell may leak in."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def rows(start: datetime, n: int, version: str) -> list[PredictionRow]:
    return [
        PredictionRow(
            record_id=f"{version}-{start.isoformat()}-{i}",
            request_id=f"{version}-{start.isoformat()}-{i}",
            ts=start + timedelta(hours=1) * i / n,
            received_at=start,
            model_version=version,
            sample_rate=1.0,
            tags={},
            features={"x": 10 * (i + 0.5) / n, "plan": "abc"[i % 3]},
            outputs={"prediction": (i + 0.5) / n},
        )
        for i in range(n)
    ]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    store = open_prediction_store(Settings.load(data_dir=directory).prediction_store_url)
    try:
        logged = (
            rows(DAY0, 300, "v1")  # the first day: the reference when none is uploaded
            + rows(TEN, 60, "v1")
            + rows(TEN, 30, "v2")
            + rows(ELEVEN, 40, "v1")
        )
        schema, changes = ModelSchema("churn").evolve(
            [r.features for r in logged], [r.outputs for r in logged], None
        )
        store.write(WriteBatch({"churn": (schema, changes)}, {"churn": logged}))
    finally:
        store.close()
    return directory


def metric_store(data_dir: Path) -> MetricStore:
    return open_metric_store(Settings.load(data_dir=data_dir).metric_store_url)


@pytest.fixture
def cli(data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(data_dir, url, capsys)


class Cli:
    """``sightline COMMAND --data-dir D --url U ...``, returning (exit code, stdout, stderr)."""

    def __init__(self, data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]):
        self.data_dir = data_dir
        self.url = url
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        where = ["--data-dir", str(self.data_dir), "--url", self.url]
        words = list(args)
        # Location flags go after the (sub)command: `reference upload`, `run`, ...
        split = 2 if words[0] == "reference" else 1
        code = main([*words[:split], *where, *words[split:]])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> list[dict[str, object]]:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        result: list[dict[str, object]] = json.loads(out)
        return result


def table(out: str) -> list[list[str]]:
    """The rows of a printed table (header first, the dashes line left out)."""
    lines = [line for line in out.splitlines() if line and not set(line) <= {"-", " "}]
    return [line.split() for line in lines]


# -- run, backfill, runs -------------------------------------------------------------------------


def test_run_one_window_locally(cli: Cli) -> None:
    code, out, err = cli("run", "--local", "--model", "churn", "--window", "2026-03-03T10:37:00Z")

    assert code == 0, err
    [header, row, _] = table(out)
    assert header == ["window_start", "window_end", "status", "rows", "seconds", "error"]
    assert row[:4] == ["2026-03-03T10:00:00+00:00", "2026-03-03T11:00:00+00:00", "ok", "90"]
    assert out.splitlines()[-1].startswith("1 window(s) computed, 0 failed")
    metrics = metric_store(cli.data_dir)
    try:
        [run] = [r for r in metrics.runs("churn") if r.granularity == "1h"]
        assert (run.window_start, run.granularity, run.trigger, run.n_rows) == (
            TEN,
            "1h",
            "manual",
            90,
        )
        counts = {p.model_version: p.value for p in metrics.query("churn", metric="row_count")}
        assert counts == {"": 90.0, "v1": 60.0, "v2": 30.0}
    finally:
        metrics.close()


def test_run_one_window_of_a_given_granularity(cli: Cli) -> None:
    code, out, err = cli(
        "run", "--local", "--model", "churn", "--window", "2026-03-03T10:37Z", "--granularity", "1d"
    )
    assert code == 0, err
    assert table(out)[1][:4] == [
        "2026-03-03T00:00:00+00:00",
        "2026-03-04T00:00:00+00:00",
        "ok",
        "130",
    ]


def test_run_one_window_of_a_daily_monitor(cli: Cli) -> None:
    metrics = metric_store(cli.data_dir)
    try:
        monitor = Monitor(name="daily", granularity="1d", min_rows=10)
        metrics.save_model_config(ModelConfig("churn", monitors=(monitor,)))
    finally:
        metrics.close()

    code, out, err = cli("run", "--local", "--model", "churn", "--window", "2026-03-03T10:37Z")

    assert code == 0, err
    assert table(out)[1][:2] == ["2026-03-03T00:00:00+00:00", "2026-03-04T00:00:00+00:00"]


def test_backfill_recomputes_and_records_the_trigger(cli: Cli) -> None:
    range_ = ["--model", "churn", "--from", "2026-03-03T10:00Z", "--to", "2026-03-03T13:00Z"]
    assert cli("run", "--local", *range_)[0] == 0
    code, out, err = cli("backfill", "--local", *range_)

    assert code == 0, err
    assert [r[:4] for r in table(out)[1:4]] == [
        ["2026-03-03T10:00:00+00:00", "2026-03-03T11:00:00+00:00", "ok", "90"],
        ["2026-03-03T11:00:00+00:00", "2026-03-03T12:00:00+00:00", "ok", "40"],
        ["2026-03-03T12:00:00+00:00", "2026-03-03T13:00:00+00:00", "no_data", "0"],
    ]
    runs = [r for r in cli.json("runs", "--model", "churn") if r["granularity"] == "1h"]
    assert [(r["window_start"], r["trigger"]) for r in runs[:3]] == [
        ("2026-03-03T12:00:00+00:00", "backfill"),
        ("2026-03-03T11:00:00+00:00", "backfill"),
        ("2026-03-03T10:00:00+00:00", "backfill"),
    ]
    assert [r["trigger"] for r in runs[3:]] == ["manual"] * 3
    # Recomputing replaced the points: one row count per window and version.
    points = cli.json("metrics", "--model", "churn", "--metric", "row_count", "--version", "*")
    assert sorted((p["window_start"], p["model_version"], p["value"]) for p in points) == [
        ("2026-03-03T10:00:00+00:00", "", 90.0),
        ("2026-03-03T10:00:00+00:00", "v1", 60.0),
        ("2026-03-03T10:00:00+00:00", "v2", 30.0),
        ("2026-03-03T11:00:00+00:00", "", 40.0),
        ("2026-03-03T11:00:00+00:00", "v1", 40.0),
        ("2026-03-03T12:00:00+00:00", "", 0.0),
    ]


def test_runs_as_json_and_as_a_table(cli: Cli) -> None:
    args = ["--model", "churn", "--from", "2026-03-03T10:00Z", "--to", "2026-03-03T12:00Z"]
    assert cli("run", "--local", *args)[0] == 0

    runs = [r for r in cli.json("runs", "--model", "churn") if r["granularity"] == "1h"]
    assert [(r["window_start"], r["status"], r["n_rows"]) for r in runs] == [
        ("2026-03-03T11:00:00+00:00", "ok", 40),
        ("2026-03-03T10:00:00+00:00", "ok", 90),
    ]
    assert {(r["monitor"], r["granularity"], r["error"]) for r in runs} == {("default", "1h", "")}
    assert all(r["duration_s"] >= 0 for r in runs)
    assert len(cli.json("runs", "--model", "churn", "--limit", "1")) == 1
    assert cli.json("runs", "--model", "churn", "--monitor", "other") == []

    code, out, _ = cli("runs", "--model", "churn")
    assert code == 0
    lines = table(out)
    assert lines[0] == [
        "window_start", "granularity", "monitor", "status", "trigger", "rows", "seconds", "error",
    ]  # fmt: skip
    assert [line[:6] for line in lines[1:] if line[4] != "rollup"] == [
        ["2026-03-03T11:00:00+00:00", "1h", "default", "ok", "manual", "40"],
        ["2026-03-03T10:00:00+00:00", "1h", "default", "ok", "manual", "90"],
    ]


# -- metrics -------------------------------------------------------------------------------------


@pytest.fixture
def computed(cli: Cli) -> Cli:
    args = ["--model", "churn", "--from", "2026-03-03T10:00Z", "--to", "2026-03-03T12:00Z"]
    code, _, err = cli("run", "--local", *args)
    assert code == 0, err
    return cli


def test_metrics_as_json(computed: Cli) -> None:
    points = computed.json("metrics", "--model", "churn", "--metric", "row_count")

    assert [(p["window_start"], p["model_version"], p["value"]) for p in points] == [
        ("2026-03-03T10:00:00+00:00", "", 90.0),
        ("2026-03-03T11:00:00+00:00", "", 40.0),
    ]
    assert {(p["metric"], p["granularity"], p["segment_key"]) for p in points} == {
        ("row_count", "1h", "")
    }
    several = computed.json(
        "metrics", "--model", "churn", "--metric", "row_count", "--metric", "mean"
    )
    assert {p["metric"] for p in several} == {"row_count", "mean"}
    late = computed.json("metrics", "--model", "churn", "--from", "2026-03-03T11:00Z")
    assert {p["window_start"] for p in late} == {"2026-03-03T11:00:00+00:00"}
    x = computed.json("metrics", "--model", "churn", "--column", "x", "--metric", "mean")
    assert [p["value"] for p in x] == [pytest.approx(5.0), pytest.approx(5.0)]


def test_metrics_as_a_table(computed: Cli) -> None:
    code, out, err = computed("metrics", "--model", "churn", "--metric", "row_count")

    assert code == 0, err
    assert table(out) == [
        ["window_start", "granularity", "metric", "column", "value", "rows"],
        ["2026-03-03T10:00:00+00:00", "1h", "row_count", "90", "90"],  # column is empty
        ["2026-03-03T11:00:00+00:00", "1h", "row_count", "40", "40"],
        ["2", "point(s)"],
    ]


def test_metrics_of_every_version(computed: Cli) -> None:
    code, out, err = computed(
        "metrics", "--model", "churn", "--metric", "row_count", "--version", "*"
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "window_start", "granularity", "metric", "column", "value", "rows", "version", "segment",
    ]  # fmt: skip
    body = sorted(line.split() for line in lines[2:-1])
    assert body == [
        ["2026-03-03T10:00:00+00:00", "1h", "row_count", "30", "30", "v2"],
        ["2026-03-03T10:00:00+00:00", "1h", "row_count", "60", "60", "v1"],
        ["2026-03-03T10:00:00+00:00", "1h", "row_count", "90", "90"],
        ["2026-03-03T11:00:00+00:00", "1h", "row_count", "40", "40"],
        ["2026-03-03T11:00:00+00:00", "1h", "row_count", "40", "40", "v1"],
    ]
    assert lines[-1] == "5 point(s)"
    v2 = computed.json("metrics", "--model", "churn", "--metric", "row_count", "--version", "v2")
    assert [(p["model_version"], p["value"]) for p in v2] == [("v2", 30.0)]


def test_metrics_of_segments(cli: Cli) -> None:
    metrics = metric_store(cli.data_dir)
    try:
        monitor = Monitor(segments=("plan",), min_rows=10)
        metrics.save_model_config(ModelConfig("churn", monitors=(monitor,)))
    finally:
        metrics.close()
    code, _, err = cli("run", "--local", "--model", "churn", "--window", "2026-03-03T10:00Z")
    assert code == 0, err

    plans = cli.json("metrics", "--model", "churn", "--metric", "row_count", "--segment", "plan")
    assert sorted((p["segment_value"], p["value"]) for p in plans) == [
        ("a", 30.0),
        ("b", 30.0),
        ("c", 30.0),
    ]
    only_b = cli.json("metrics", "--model", "churn", "--metric", "row_count", "--segment", "plan=b")
    assert [(p["segment_key"], p["segment_value"]) for p in only_b] == [("plan", "b")]
    code, out, _ = cli("metrics", "--model", "churn", "--metric", "row_count", "--segment", "*")
    assert code == 0
    assert "plan=a" in out
    assert out.splitlines()[-1] == "4 point(s)"


# -- references ----------------------------------------------------------------------------------


def test_reference_upload_then_list(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "golden.parquet"
    n = 200
    pq.write_table(
        pa.table(
            {
                "x": [10 * (i + 0.5) / n for i in range(n)],
                "plan": ["abc"[i % 3] for i in range(n)],
                "prediction": [(i + 0.5) / n for i in range(n)],
                "unknown": list(range(n)),  # not a column of the model: left out
            }
        ),
        path,
    )

    code, out, err = cli("reference", "upload", "--model", "churn", str(path))

    assert code == 0, err
    assert out.strip() == "reference 'default' of 'churn': 200 rows (x, plan, prediction)"
    code, out, err = cli("reference", "upload", "--model", "churn", "--name", "q1", str(path))
    assert code == 0, err

    code, out, err = cli("reference", "list", "--model", "churn")
    assert code == 0, err
    lines = table(out)
    assert lines[0] == ["name", "rows", "uploaded"]
    assert sorted(line[:2] for line in lines[1:]) == [["default", "200"], ["q1", "200"]]

    # The next run compares with the upload.
    assert cli("run", "--local", "--model", "churn", "--window", "2026-03-03T10:00Z")[0] == 0
    metrics = metric_store(cli.data_dir)
    try:
        [score] = metrics.query(
            "churn", metric="drift_score", column="x", model_version="", granularity="1h"
        )
        assert score.details["reference"] == "dataset:default"
        assert score.details["n_reference"] == 200
    finally:
        metrics.close()


def test_a_reference_for_an_unknown_model_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "golden.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0]}), path)

    code, out, err = cli("reference", "upload", "--model", "ghost", str(path))

    assert (code, out) == (2, "")
    assert "model 'ghost' has logged nothing yet" in err


# -- exit codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["run", "--local", "--window", "sometime"], "--window"),
        (["backfill", "--local", "--from", "yesterday", "--to", "2026-03-03"], "--from"),
        (["backfill", "--local", "--from", "2026-03-03", "--to", "2026-03-02"], "--to"),
        (["run", "--local", "--window", "2026-03-03", "--from", "2026-03-03"], "--window"),
        (["run", "--local"], "--from"),
        (["metrics", "--from", "soon"], "--from"),
    ],
)
def test_a_bad_time_is_a_usage_error(cli: Cli, args: list[str], flag: str) -> None:
    code, _, err = cli(*args[:1], "--model", "churn", *args[1:])

    assert code == 2
    assert err.startswith("error: ")
    assert flag in err
    metrics = metric_store(cli.data_dir)
    try:
        assert metrics.runs("churn") == []
    finally:
        metrics.close()


@pytest.mark.parametrize("command", ["run", "backfill"])
def test_an_unknown_model_is_a_usage_error(cli: Cli, command: str) -> None:
    code, out, err = cli(command, "--local", "--model", "ghost", "--window", "2026-03-03T10:00Z")

    assert (code, out) == (2, "")
    assert f"model 'ghost' has logged nothing in {cli.data_dir}" in err


@pytest.mark.parametrize("command", ["metrics", "runs"])
def test_an_unknown_model_is_a_usage_error_for_queries_too(cli: Cli, command: str) -> None:
    code, _, err = cli(command, "--model", "ghost")
    assert code == 2
    assert "ghost" in err


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--model", "churn", "--window", "2026-03-03T10:00Z"],
        ["backfill", "--model", "churn", "--from", "2026-03-03", "--to", "2026-03-04"],
        ["runs", "--model", "churn"],
        ["metrics", "--model", "churn"],
        ["reference", "list", "--model", "churn"],
    ],
)
def test_no_data_dir_is_a_usage_error_with_a_clear_message(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    missing = tmp_path / "nowhere"
    split = 2 if args[0] == "reference" else 1

    code = main([*args[:split], "--data-dir", str(missing), "--url", url, *args[split:]])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"error: no data directory at {missing} and no server answering at {url}; "
        "pass --data-dir or --url\n"
    )
    assert not missing.exists()  # nothing was created by mistake


# -- from Python: run_windows ----------------------------------------------------------------------


def test_run_windows_computes_locally_when_no_server_answers(data_dir: Path, url: str) -> None:
    settings = Settings.load(data_dir=data_dir, url=url)

    runs = run_windows(settings, "churn", TEN, TEN + timedelta(hours=3))

    assert [(r.window_start, r.status, r.n_rows, r.trigger) for r in runs] == [
        (TEN, "ok", 90, "pipeline"),
        (ELEVEN, "ok", 40, "pipeline"),
        (ELEVEN + timedelta(hours=1), "no_data", 0, "pipeline"),
    ]
    daily = run_windows(settings, "churn", TEN, ELEVEN, granularity="1d", trigger="airflow")
    assert [(r.window_start, r.granularity, r.n_rows, r.trigger) for r in daily] == [
        (TEN.replace(hour=0), "1d", 130, "airflow")
    ]
    # The stores were closed: this process can open them again.
    predictions: PredictionStore = open_prediction_store(settings.prediction_store_url)
    predictions.close()
    metrics = metric_store(data_dir)
    try:
        assert len([r for r in metrics.runs("churn") if r.trigger != "rollup"]) == 4
        assert {p.value for p in metrics.query("churn", metric="row_count", granularity="1h")} >= {
            90.0,
            40.0,
        }
    finally:
        metrics.close()


def test_run_windows_records_a_failed_window_without_raising(data_dir: Path, url: str) -> None:
    settings = Settings.load(data_dir=data_dir, url=url)

    runs = run_windows(settings, "ghost", TEN, ELEVEN)

    assert [(r.status, r.error) for r in runs] == [
        ("error", "model 'ghost' has logged nothing yet")
    ]


def test_run_windows_on_a_missing_data_dir_raises(tmp_path: Path, url: str) -> None:
    missing = tmp_path / "nowhere"
    settings = Settings.load(data_dir=missing, url=url)

    with pytest.raises(ConfigError, match="no data directory"):
        run_windows(settings, "churn", TEN, ELEVEN)
    assert not missing.exists()
