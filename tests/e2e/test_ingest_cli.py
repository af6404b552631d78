"""``sightline ingest`` and ``sightline quarantine list`` against a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from sightline.cli.main import main
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def table(n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "request_id": [f"r{offset + i}" for i in range(n)],
            "ts": pa.array(
                [T0 + timedelta(seconds=offset + i) for i in range(n)], pa.timestamp("s")
            ),
            "amount": [float(i % 97) for i in range(n)],
            "channel": [("web", "app", "store")[i % 3] for i in range(n)],
            "score": [(i % 100) / 100 for i in range(n)],
            "label": [i % 2 for i in range(n)],
        }
    )


def test_a_parquet_file_is_streamed_in_chunks_and_stored_once(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scores.parquet"
    pq.write_table(table(25_000), path, row_group_size=7_000)
    command = ["ingest", str(path), "--model", "fraud", "--url", server.url]
    command += ["--prediction", "score", "--target", "label", "--chunk-rows", "4000"]

    assert main(command) == 0
    out, err = capsys.readouterr()
    assert "25,000 rows" in out
    assert "accepted 50,000 (0 already stored), quarantined 0" in out  # predictions + labels
    assert "100.0%" in err  # the progress, on stderr

    model = server.get("/v1/models/fraud").json()
    assert (model["n_predictions"], model["n_feedback"]) == (25_000, 25_000)
    assert [c["name"] for c in model["schema"]["features"]] == ["amount", "channel"]
    assert [c["name"] for c in model["schema"]["outputs"]] == ["score"]
    assert model["first_ts"] == T0.isoformat()
    metrics = server.get("/metrics").text
    assert 'sightline_ingest_requests_total{format="arrow"} 14.0' in metrics  # 7 chunks x 2

    # The same file again: every row is known, nothing is stored twice.
    assert main(command) == 0
    assert "accepted 50,000 (50,000 already stored)" in capsys.readouterr().out
    assert server.get("/v1/models/fraud").json()["n_predictions"] == 25_000


def test_csv_and_jsonl_and_quarantined_rows(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "scores.csv"
    pa_csv.write_csv(table(300), csv)
    assert (
        main(["ingest", str(csv), "--model", "m", "--url", server.url, "--prediction", "score"])
        == 0
    )

    jsonl = tmp_path / "later.jsonl"
    with jsonl.open("w") as f:
        for row in table(10, offset=1000).to_pylist():
            f.write(json.dumps(row, default=str) + "\n")
    command = ["--model", "m", "--url", server.url, "--prediction", "score"]
    assert main(["ingest", str(jsonl), *command]) == 0

    amounts = pa.array(["1.5", "2"] * 4 + ["a lot", "3"])
    later = table(10, offset=2000).set_column(2, "amount", amounts)
    pa_csv.write_csv(later, tmp_path / "later.csv")  # amount is pinned as a number
    code = main(["ingest", str(tmp_path / "later.csv"), *command])
    out, err = capsys.readouterr()
    assert code == 1  # records were quarantined
    assert "accepted 9 (0 already stored), quarantined 1" in out
    assert "sightline quarantine list --model m" in err
    assert server.get("/v1/models/m").json()["n_predictions"] == 319

    assert main(["quarantine", "list", "--model", "m", "--url", server.url]) == 0
    listing = capsys.readouterr().out
    assert "features.amount" in listing
    assert "expected a number" in listing
    assert "1 quarantined record(s)" in listing
    assert main(["quarantine", "list", "--url", server.url, "--json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["record"]["features"]["amount"] == "a lot"


def test_ingest_refuses_a_missing_file_an_unknown_format_or_an_unreadable_one(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(tmp_path / "none.parquet"), "--model", "m"]) == 2
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    assert main(["ingest", str(odd), "--model", "m"]) == 2
    assert "--format" in capsys.readouterr().err
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"amount": 1, "score": 0.5}\n{"amount": "a lot", "score": 0.5}\n')
    assert (
        main(["ingest", str(mixed), "--model", "m", "--url", server.url, "--prediction", "score"])
        == 2
    )
    assert "one type" in capsys.readouterr().err


class Terminal:
    """A stream that says it is a terminal, keeping what is written."""

    def __init__(self, tty: bool):
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_the_progress_bar_redraws_on_a_terminal_and_prints_lines_elsewhere() -> None:
    from sightline.cli.ingest import Progress

    tty = Terminal(True)
    bar = Progress(1000, tty)  # type: ignore[arg-type]
    bar.update(500)
    bar.finish()
    assert tty.text.startswith("\r[###############               ]  50.0% 500/1,000 rows")
    assert tty.text.endswith("\n")
    assert tty.text.count("\n") == 1
    assert "100.0%" not in tty.text  # finish draws the last state: 500 of 1,000 sent

    log = Terminal(False)
    plain = Progress(None, log, every=3600)  # type: ignore[arg-type]
    plain.update(10)
    plain.update(10)  # within the interval: not printed
    plain.finish()
    lines = log.text.splitlines()
    assert [line.split()[0] for line in lines] == ["10", "20"]
    assert "\r" not in log.text
