"""Benchmark of monitoring jobs and the metric store.

    .venv/bin/python bench/monitoring.py            # all three
    .venv/bin/python bench/monitoring.py --only query|window|backfill

1. query: one year of hourly drift points for 20 columns (175,200 points) in the metric store,
   read over HTTP from a real server (`GET /v1/models/m/metrics`), 30 requests: p50 / p95, in
   the columnar format and as a list of points.
2. window: one hourly window of 100,000 rows x 20 features (the gen_data.py current set)
   against the 100,000-row reference, drift + data quality (+ the summaries kept for roll-ups).
3. backfill: 30 days of hourly windows at 10,000 rows an hour (7.2M rows), wall time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
FEATURES = [f"num_{i}" for i in range(15)] + [f"cat_{j}" for j in range(5)]

sys.path.insert(0, str(ROOT / "src"))

from serving import served  # noqa: E402
from sightline.monitoring import JobRunner  # noqa: E402
from sightline.schema import MetricPoint, Window  # noqa: E402
from sightline.schema.monitors import ModelConfig, Monitor  # noqa: E402
from sightline.server.ingest import Ingestor  # noqa: E402
from sightline.store import open_metric_store, open_prediction_store  # noqa: E402


def ensure_data() -> None:
    if not (DATA / "current.parquet").exists():
        gen = ROOT.parent / "shared" / "bench" / "gen_data.py"
        subprocess.run(
            [sys.executable, str(gen), str(DATA), "--ref", "100000", "--cur", "1000000"], check=True
        )


def wire(table: pa.Table, start: datetime, seconds: float, offset: int) -> pa.Table:
    """gen_data rows as an Arrow ingest batch spread over ``[start, start + seconds)``."""
    n = table.num_rows
    ts = np.datetime64(start.replace(tzinfo=None), "us") + (
        np.arange(n) * (seconds * 1e6 / n)
    ).astype("timedelta64[us]")
    columns: dict[str, pa.Array] = {
        "record_id": pa.array([f"b{offset + i}" for i in range(n)]),
        "ts": pa.array(ts),
    }
    for name in FEATURES:
        columns[f"features.{name}"] = table.column(name)
    columns["prediction.score"] = table.column("prediction")
    columns["prediction.label"] = table.column("predicted_label")
    return pa.table(columns)


def seed_query_store(data_dir: Path) -> None:
    """A year of hourly drift points for 20 columns (kept in bench/.data between runs)."""
    if (data_dir / "seeded").exists():
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    metrics = open_metric_store(f"duckdb:///{data_dir / 'metrics.duckdb'}")
    predictions = open_prediction_store(f"duckdb:///{data_dir / 'predictions.duckdb'}")
    Ingestor(predictions).ingest(
        {
            "records": [
                {"kind": "prediction", "model": "m", "features": {"x": 1.0}, "prediction": 1.0}
            ]
        },
        datetime.now(UTC),
    )
    predictions.close()
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    for h in range(365 * 24):
        window = Window(START + timedelta(hours=h), START + timedelta(hours=h + 1), "1h")
        points = [
            MetricPoint(
                "m",
                "drift_score",
                window.start,
                window.end,
                "1h",
                float(v),
                1000,
                column,
                details={"method": "wasserstein", "threshold": 0.1, "drifted": bool(v > 0.1)},
            )
            for column, v in zip(FEATURES, rng.random(20) * 0.2, strict=True)
        ]
        metrics.replace_window("m", "default", window, points)
    metrics.close()
    (data_dir / "seeded").touch()
    print(f"  seeded 175,200 points in {time.perf_counter() - started:.1f} s")


def bench_query(workdir: Path) -> None:
    data_dir = DATA / "query-store"
    seed_query_store(data_dir)
    with served(data_dir) as (url, _), httpx.Client(timeout=60) as client:
        for label, params in (
            ("series", {"metric": "drift_score", "format": "series"}),
            ("columns", {"metric": "drift_score", "format": "columns", "details": "false"}),
            ("points", {"metric": "drift_score", "details": "false"}),
        ):
            times = []
            for _ in range(30):
                t = time.perf_counter()
                response = client.get(f"{url}/v1/models/m/metrics", params=params)
                times.append(time.perf_counter() - t)
                assert response.status_code == 200
            size = len(response.content)
            p50 = statistics.median(times) * 1000
            p95 = sorted(times)[int(0.95 * len(times)) - 1] * 1000
            print(
                f"  {label:8s} format: p50 {p50:6.1f} ms   p95 {p95:6.1f} ms"
                f"   ({size / 1e6:.1f} MB)"
            )


def bench_window(workdir: Path) -> None:
    data_dir = workdir / "window"
    predictions = open_prediction_store(f"duckdb:///{data_dir / 'predictions.duckdb'}")
    metrics = open_metric_store(f"duckdb:///{data_dir / 'metrics.duckdb'}")
    current = pq.read_table(DATA / "current.parquet").slice(0, 100_000)
    reference = pq.read_table(DATA / "reference.parquet")
    ingestor = Ingestor(predictions)
    for i in range(0, current.num_rows, 50_000):
        batch = wire(current.slice(i, 50_000), START + timedelta(seconds=i * 0.036), 1800, i)
        batch = batch.append_column("model", pa.array(["m"] * batch.num_rows))
        ingestor.ingest_arrow(batch, datetime.now(UTC))
    ref = reference.select(FEATURES).append_column("score", reference.column("prediction"))
    ref = ref.append_column("label", reference.column("predicted_label").cast(pa.float64()))
    predictions.save_reference("m", "default", ref)
    monitor = Monitor(suites=frozenset({"drift", "data_quality"}))
    runner = JobRunner(predictions, metrics)
    runner.set_config(ModelConfig("m", monitors=(monitor,)))
    window = Window(START, START + timedelta(hours=1), "1h")
    times = []
    for _ in range(5):
        t = time.perf_counter()
        run = runner.run_window("m", window)
        times.append(time.perf_counter() - t)
        assert run.status == "ok", run.error
    print(
        f"  one hourly window, {run.n_rows:,} rows x 22 columns: best {min(times):.3f} s,"
        f" median {statistics.median(times):.3f} s"
    )
    print("  (first run includes preparing the reference; later runs reuse it)")
    predictions.close()
    metrics.close()


def bench_backfill(workdir: Path) -> None:
    data_dir = workdir / "backfill"
    predictions = open_prediction_store(f"duckdb:///{data_dir / 'predictions.duckdb'}")
    metrics = open_metric_store(f"duckdb:///{data_dir / 'metrics.duckdb'}")
    current = pq.read_table(DATA / "current.parquet")
    reference = pq.read_table(DATA / "reference.parquet")
    ingestor = Ingestor(predictions)
    started = time.perf_counter()
    per_hour, hours = 10_000, 30 * 24
    for h in range(hours):
        offset = (h * per_hour) % (current.num_rows - per_hour)
        batch = wire(
            current.slice(offset, per_hour), START + timedelta(hours=h), 3600, h * per_hour
        )
        batch = batch.append_column("model", pa.array(["m"] * batch.num_rows))
        ingestor.ingest_arrow(batch, datetime.now(UTC))
    print(f"  loaded {per_hour * hours:,} rows in {time.perf_counter() - started:.0f} s")
    ref = reference.select(FEATURES).append_column("score", reference.column("prediction"))
    ref = ref.append_column("label", reference.column("predicted_label").cast(pa.float64()))
    predictions.save_reference("m", "default", ref)
    runner = JobRunner(predictions, metrics)
    started = time.perf_counter()
    runs = runner.run_range("m", START, START + timedelta(days=30), "1h", trigger="backfill")
    elapsed = time.perf_counter() - started
    ok = sum(r.status == "ok" for r in runs)
    print(
        f"  backfill of {len(runs)} hourly windows ({ok} ok): {elapsed:.1f} s wall,"
        f" {elapsed / len(runs) * 1000:.0f} ms per window"
    )
    predictions.close()
    metrics.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("query", "window", "backfill"))
    args = parser.parse_args()
    ensure_data()
    workdir = Path(tempfile.mkdtemp(prefix="sightline-bench-"))
    try:
        for name, run in (
            ("query", bench_query),
            ("window", bench_window),
            ("backfill", bench_backfill),
        ):
            if args.only in (None, name):
                print(f"{name}:")
                run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
