"""Ingestion benchmarks: SDK → collector → DuckDB sustained, and ``sightline ingest`` of a file.

    .venv/bin/python bench/ingest.py sdk  [--seconds 60] [--wire arrow|json] [--batch-size 500]
                                          [--memory-limit 512MB]
    .venv/bin/python bench/ingest.py file [--rows 10000000] [--chunk-rows 50000]

``sdk``: one process logs predictions with 20 features through the real SDK as fast as the
collector takes them (it pauses while more than a few batches wait, so nothing is dropped); the
collector is a real ``sightline serve`` in another process. Prints records/s every 10 s and over
the whole run, and the server's resident memory sampled every second.

``file``: writes a Parquet file of ``--rows`` rows (20 features, 2 outputs, request id, time) to
``bench/.data/`` once, then times ``sightline ingest`` of it into a fresh server and prints
rows/s and the peak memory of the ingest command and of the server.

Prints figures; asserts nothing. Goal (issue 4): ≥ 50,000 records/s sustained on 2 cores, with
the server's memory flat.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from serving import free_port
from sightline.sdk import Client

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
SIGHTLINE = [sys.executable, "-m", "sightline.cli.main"]


class Server:
    """``sightline serve`` on a fresh data directory, with its memory sampled every second."""

    def __init__(self, data_dir: Path, memory_limit: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SIGHTLINE_LOG_LEVEL": "warning"}
        if memory_limit:
            store = f"duckdb:///{data_dir / 'predictions.duckdb'}?memory_limit={memory_limit}"
            env["SIGHTLINE_PREDICTION_STORE"] = store
        command = [*SIGHTLINE, "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        command.append("--no-scheduler")
        self.process = subprocess.Popen(command, env=env)
        self.rss_mb: list[float] = []
        self._stop = threading.Event()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        threading.Thread(target=self._sample, daemon=True).start()

    def rss(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def peak_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.rss_mb.append(self.rss())
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self.process.terminate()
        self.process.wait(timeout=60)


def features(i: int) -> dict[str, object]:
    values: dict[str, object] = {f"num_{j}": (i * 7 + j) % 1000 / 10 for j in range(15)}
    values.update({f"cat_{j}": f"c{(i + j) % (3 + j * 5)}" for j in range(5)})
    return values


def bench_sdk(seconds: float, wire: str, batch_size: int, memory_limit: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data", memory_limit)
        client = Client(
            server.url,
            batch_size=batch_size,
            flush_interval=0.2,
            wire=wire,
            spill_dir=Path(tmp) / "spill",
            max_queue=100_000,
        )
        rows = [features(i) for i in range(1000)]
        print(
            f"SDK → collector → DuckDB, 20 features, wire={wire}, batch_size={batch_size}, "
            f"DuckDB memory_limit={memory_limit or 'default'}"
        )
        started = time.monotonic()
        mark, marked_sent, i = started, 0, 0
        while (now := time.monotonic()) - started < seconds:
            if client.stats()["pending"] > 20_000:
                time.sleep(0.0005)  # backpressure: measure the collector, not the queue bound
                continue
            for _ in range(100):
                client.log_prediction("bench", rows[i % 1000], (i % 100) / 100)
                i += 1
            if now - mark >= 10:
                sent = client.stats()["sent"]
                print(
                    f"  t={now - started:5.1f}s  {(sent - marked_sent) / (now - mark):9,.0f} "
                    f"records/s  server RSS {server.rss():6.0f} MB"
                )
                mark, marked_sent = now, sent
        elapsed = time.monotonic() - started
        sent = client.stats()["sent"]
        client.flush(60)
        stats = client.stats()
        client.close()
        rss = server.rss_mb
        server.stop()
    print(
        f"  sustained: {sent / elapsed:,.0f} records/s acknowledged over {elapsed:.0f} s "
        f"({stats['sent']:,} records, dropped {stats['dropped']}, retries {stats['retries']})"
    )
    if rss:
        third = max(len(rss) // 3, 1)
        print(
            f"  server RSS: first third avg {sum(rss[:third]) / third:.0f} MB, last third avg "
            f"{sum(rss[-third:]) / third:.0f} MB, min {min(rss):.0f} MB, max {max(rss):.0f} MB "
            f"({len(rss)} samples)"
        )


def make_file(rows: int) -> Path:
    """A Parquet file of ``rows`` predictions, written in chunks (never all in memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"predictions-{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    chunk = 500_000
    writer = None
    start_ts = np.datetime64("2026-03-01T00:00:00", "ms")
    partial = path.with_suffix(".partial")
    for first in range(0, rows, chunk):
        n = min(chunk, rows - first)
        columns: dict[str, object] = {
            "request_id": pa.array([f"r{first + i}" for i in range(n)]),
            "ts": pa.array(start_ts + np.arange(first, first + n) * 10),
        }
        for j in range(15):
            columns[f"num_{j}"] = rng.normal(j, 1.0, n)
        for j in range(5):
            k = 3 + 5 * j
            columns[f"cat_{j}"] = pa.array(rng.integers(0, k, n).astype(str)).dictionary_encode()
        columns["prediction"] = rng.random(n)
        columns["label"] = rng.integers(0, 2, n)
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


def bench_file(rows: int, chunk_rows: int) -> None:
    started = time.monotonic()
    path = make_file(rows)
    print(f"file: {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:,.0f} MB, {rows:,} rows)")
    print(f"  (ready in {time.monotonic() - started:.0f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        command = [*SIGHTLINE, "ingest", str(path), "--model", "batch", "--url", server.url]
        command += ["--prediction", "prediction", "--prediction", "label"]
        command += ["--chunk-rows", str(chunk_rows)]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        server_peak = server.peak_mb()
        stored = httpx.get(server.url + "/v1/models/batch", timeout=60).json()["n_predictions"]
        server.stop()
    print(f"  {done.stdout.strip()}")
    if done.returncode:
        print(f"  exit {done.returncode}: {done.stderr.strip()[-500:]}")
    print(
        f"  sightline ingest: {rows / elapsed:,.0f} rows/s ({elapsed:.1f} s), stored {stored:,}; "
        f"peak memory of the command {max(peak, before) / 1024:,.0f} MB, "
        f"of the server {server_peak:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("sdk")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--wire", choices=("arrow", "json"), default="arrow")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--memory-limit", help="DuckDB memory_limit of the prediction store, e.g. 512MB")
    p = sub.add_parser("file")
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--chunk-rows", type=int, default=50_000)
    args = parser.parse_args()
    if args.what == "sdk":
        bench_sdk(args.seconds, args.wire, args.batch_size, args.memory_limit)
    else:
        bench_file(args.rows, args.chunk_rows)


if __name__ == "__main__":
    main()
