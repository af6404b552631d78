"""Benchmark of the debug view's rows: one hourly window of 100,000 predictions x 20 features.

    .venv/bin/python bench/debug_rows.py                 # store and HTTP figures
    .venv/bin/python bench/debug_rows.py --reps 50

The window holds the first 100,000 rows of the gen_data.py current set (15 numerical and 5
categorical features, a score and a label; versions v1 for 70 % of the rows, v2 after), and
ground truth for every third prediction. The store is kept in bench/.data/debug-store between
runs. Measured, p50 / p95 over ``--reps`` requests:

1. store: ``PredictionStore.rows`` in-process (the SQL: filters, order, LIMIT/OFFSET, the
   total, the feedback join);
2. http: ``GET /v1/models/m/rows`` from a real server (the same plus parameter checks and
   JSON) — the goal is 200 ms for a page of a 100k-row window;
3. downloads: the whole window as CSV and as Parquet over HTTP (wall time and size).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from monitoring import DATA, FEATURES, ensure_data, wire  # noqa: E402
from serving import served  # noqa: E402
from sightline.schema.rows import RowFilter, RowOrder, RowQuery, row_columns  # noqa: E402
from sightline.server.ingest import Ingestor  # noqa: E402
from sightline.store import open_prediction_store  # noqa: E402

START = datetime(2025, 1, 6, tzinfo=UTC)
END = START + timedelta(hours=1)
ROWS = 100_000
STORE = DATA / "debug-store"

#: (label, HTTP parameters) of the pages measured.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("first page (100 rows, by time)", {}),
    ("filtered: num_0>=1, cat_0 in (c2, c3), by -num_1",
     {"filter": ["num_0>=1", "cat_0=c2", "cat_0=c3"], "order": "-num_1"}),
    ("ground truth: labelled, target=1, by -score",
     {"labelled": "true", "filter": ["target=1"], "order": "-score"}),
    ("version v2 and num_5>50", {"version": "v2", "filter": ["num_5>50"]}),
    ("deep offset: 99,900 (by time)", {"offset": 99_900}),
    ("deep offset 50,000 by a feature (num_7)", {"offset": 50_000, "order": "num_7"}),
]  # fmt: skip


def seed() -> None:
    """The window in a DuckDB prediction store, through the collector's columnar path."""
    if (STORE / "seeded").exists():
        return
    ensure_data()
    STORE.mkdir(parents=True, exist_ok=True)
    for name in ("predictions.duckdb", "predictions.duckdb.wal"):
        (STORE / name).unlink(missing_ok=True)
    current = pq.read_table(DATA / "current.parquet").slice(0, ROWS)
    predictions = open_prediction_store(f"duckdb:///{STORE / 'predictions.duckdb'}")
    ingestor = Ingestor(predictions)
    started = time.perf_counter()
    for i in range(0, ROWS, 50_000):
        part = current.slice(i, 50_000)
        batch = wire(part, START + timedelta(seconds=i * 0.036), 1800, i)
        batch = batch.append_column("model", pa.array(["m"] * batch.num_rows))
        batch = batch.append_column("request_id", pa.array([f"q{i + j}" for j in range(len(part))]))
        versions = ["v1" if i + j < 0.7 * ROWS else "v2" for j in range(len(part))]
        batch = batch.append_column("model_version", pa.array(versions))
        result = ingestor.ingest_arrow(batch, datetime.now(UTC))
        assert result.accepted == batch.num_rows, result.to_dict()
    labelled = list(range(0, ROWS, 3))
    feedback = pa.table(
        {
            "kind": ["feedback"] * len(labelled),
            "model": ["m"] * len(labelled),
            "record_id": [f"f{j}" for j in labelled],
            "request_id": [f"q{j}" for j in labelled],
            "ts": [END + timedelta(hours=2)] * len(labelled),
            "target": current.column("target").take(labelled).cast(pa.float64()),
        }
    )
    result = ingestor.ingest_arrow(feedback, datetime.now(UTC))
    assert result.accepted == len(labelled), result.to_dict()
    predictions.close()
    (STORE / "seeded").touch()
    print(f"  seeded {ROWS:,} predictions and {len(labelled):,} labels"
          f" in {time.perf_counter() - started:.1f} s")  # fmt: skip


def figures(label: str, run: Callable[[], Any], reps: int) -> None:
    run()  # warm up (first query plans, page cache)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    times.sort()
    p50 = statistics.median(times) * 1000
    p95 = times[max(0, int(0.95 * len(times)) - 1)] * 1000
    print(f"  {label:62s} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")


def bench_store(reps: int) -> None:
    predictions = open_prediction_store(f"duckdb:///{STORE / 'predictions.duckdb'}")
    schema = predictions.schema("m")
    assert schema is not None
    columns = row_columns(schema)
    for label, params in CASES:
        order = params.get("order")
        query = RowQuery(
            START,
            END,
            filters=tuple(RowFilter.parse(f, columns) for f in params.get("filter", [])),
            model_version=params.get("version"),
            labelled=True if params.get("labelled") == "true" else None,
            order=RowOrder.parse(order, columns) if order else RowOrder(),
            offset=params.get("offset", 0),
        )
        page = predictions.rows("m", query)
        assert page.table.num_rows == min(100, max(0, page.total - query.offset)), label
        figures(f"{label} [{page.total:,} rows]", lambda q=query: predictions.rows("m", q), reps)
    predictions.close()


def bench_http(reps: int) -> None:
    with served(STORE) as (url, _):
        window = {"start": START.isoformat(), "end": END.isoformat()}
        with httpx.Client(timeout=120) as client:
            print("http (GET /v1/models/m/rows, 100 rows a page):")
            for label, params in CASES:

                def get(p: dict[str, Any] = params) -> httpx.Response:
                    response = client.get(f"{url}/v1/models/m/rows", params={**window, **p})
                    assert response.status_code == 200, response.text
                    return response

                total = get().json()["total"]
                figures(f"{label} [{total:,} rows]", get, reps)
            print("downloads (the whole window):")
            for suffix in ("csv", "parquet"):
                times, size = [], 0
                for _ in range(max(3, reps // 10)):
                    started = time.perf_counter()
                    response = client.get(f"{url}/v1/models/m/rows.{suffix}", params=window)
                    times.append(time.perf_counter() - started)
                    assert response.status_code == 200
                    assert response.headers["x-row-count"] == str(ROWS)
                    size = len(response.content)
                print(
                    f"  {suffix:8s} {ROWS:,} rows x {len(FEATURES) + 7} columns:"
                    f" best {min(times):.2f} s, median {statistics.median(times):.2f} s"
                    f"   ({size / 1e6:.1f} MB)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    print("seed:")
    seed()
    print(f"store (PredictionStore.rows, {ROWS:,}-row window, 100 rows a page):")
    bench_store(args.reps)
    bench_http(args.reps)


if __name__ == "__main__":
    main()
