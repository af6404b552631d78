"""Benchmark of ``GET /metrics``: scrape time, size and series for many models.

    .venv/bin/python bench/prometheus.py                  # 20 models x 50 columns
    .venv/bin/python bench/prometheus.py --models 50 --columns 100 --versions 3

Each model logs 3 hours of predictions (200 an hour, ``--columns`` numerical and categorical
features, a score and a label, two model versions by default), its windows are computed (drift,
data quality, estimated quality, per version), then a real ``sightline serve`` answers 50
scrapes: median and p95 time, bytes, series (all and per model). The goal is 50 ms at 20 x 50.
"Scrape after a write" is the first scrape after a window was recomputed: the point gauges are
rendered again then, once.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from serving import served  # noqa: E402
from sightline.monitoring import JobRunner  # noqa: E402
from sightline.server.ingest import Ingestor  # noqa: E402
from sightline.store import open_metric_store, open_prediction_store  # noqa: E402

START = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = 3
PER_HOUR = 200


def batch(model: str, columns: int, versions: int, hour: int, rng: np.random.Generator) -> pa.Table:
    n = PER_HOUR
    start = np.datetime64((START + timedelta(hours=hour)).replace(tzinfo=None), "us")
    data: dict[str, pa.Array] = {
        "record_id": pa.array([f"{model}-{hour}-{i}" for i in range(n)]),
        "model": pa.array([model] * n),
        "ts": pa.array(start + (np.arange(n) * (3600e6 / n)).astype("timedelta64[us]")),
        "model_version": pa.array([f"v{i % versions + 1}" for i in range(n)]),
    }
    shift = 0.5 if hour == HOURS - 1 else 0.0
    for c in range(columns):
        if c % 5 == 4:
            data[f"features.cat_{c}"] = pa.array(rng.choice(["a", "b", "c", "d"], n))
        else:
            data[f"features.num_{c}"] = pa.array(rng.normal(shift, 1.0, n))
    score = rng.random(n)
    data["prediction.score"] = pa.array(score)
    data["prediction.label"] = pa.array((score > 0.5).astype(np.float64))
    return pa.table(data)


def prepare(data_dir: Path, models: int, columns: int, versions: int) -> float:
    predictions = open_prediction_store(f"duckdb:///{data_dir / 'predictions.duckdb'}")
    metrics = open_metric_store(f"duckdb:///{data_dir / 'metrics.duckdb'}")
    ingestor = Ingestor(predictions)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    runner = JobRunner(predictions, metrics)
    for m in range(models):
        model = f"m{m:02d}"
        for hour in range(HOURS):
            ingestor.ingest_arrow(batch(model, columns, versions, hour, rng), datetime.now(UTC))
        # The first hour is the fallback reference (the model's first day would be all of it).
        ref = predictions.read_window(model, _window(0))
        predictions.save_reference(model, "default", ref)
        runner.run_range(model, START, START + timedelta(hours=HOURS), "1h")
    predictions.close()
    metrics.close()
    return time.perf_counter() - started


def _window(hour: int) -> object:
    from sightline.schema import Window

    return Window(START + timedelta(hours=hour), START + timedelta(hours=hour + 1), "1h")


def series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sightline-bench-prom-") as tmp:
        data_dir = Path(tmp) / "data"
        took = prepare(data_dir, args.models, args.columns, args.versions)
        print(
            f"{args.models} models x {args.columns} columns x {args.versions} versions, "
            f"{HOURS} hourly windows each computed in {took:.0f} s"
        )
        with served(data_dir) as (url, _), httpx.Client(timeout=60) as client:
            client.get(f"{url}/metrics")  # the first scrape renders the point gauges
            times = []
            for _ in range(args.scrapes):
                t = time.perf_counter()
                response = client.get(f"{url}/metrics")
                times.append(time.perf_counter() - t)
            text = response.text
            body = {"from": _window(HOURS - 1).start.isoformat(),  # type: ignore[attr-defined]
                    "to": (START + timedelta(hours=HOURS)).isoformat()}  # fmt: skip
            assert client.post(f"{url}/v1/models/m00/runs", json=body).status_code == 200
            t = time.perf_counter()
            client.get(f"{url}/metrics")
            after_write = time.perf_counter() - t
        lines = series(text)
        per_model = [
            sum(1 for line in lines if f'model="m{m:02d}"' in line) for m in range(args.models)
        ]
        families = len(set(re.findall(r"^# TYPE (\S+)", text, re.M)))
        p50 = statistics.median(times) * 1000
        p95 = sorted(times)[int(0.95 * len(times)) - 1] * 1000
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  scrape /metrics: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({args.scrapes} scrapes)")
        print(f"  scrape after a write (point gauges rendered again): {after_write * 1000:.1f} ms")
        print(
            f"  size {len(response.content) / 1e6:.2f} MB, {len(lines):,} series in "
            f"{families} families; per model {min(per_model):,}-{max(per_model):,} series"
        )
        print(f"  load average: {load}")


if __name__ == "__main__":
    main()
