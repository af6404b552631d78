"""SDK benchmarks: the cost of ``log_prediction`` to the model's thread, of ``import sightline``.

    .venv/bin/python bench/sdk.py [--calls 200000]

Prints figures; asserts nothing. Goals (issue 4): p99 of ``log_prediction`` with 20 features
≤ 20 µs; ``import sightline`` ≤ 0.15 s with no heavy imports.
"""

from __future__ import annotations

import argparse
import gc
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from sightline.sdk import Client
from sightline.sdk.transport import Payload, SendResult

FEATURES = {
    **{f"num_{i}": 0.5 + i for i in range(15)},
    **{f"cat_{j}": f"c{j}" for j in range(5)},
}


class Discard:
    """A collector that answers at once: the sender thread still encodes and compresses every
    batch, competing with the caller for the GIL as it does in production."""

    def send(self, payload: Payload) -> SendResult:
        return SendResult("ok")

    def close(self) -> None:
        pass


def percentiles(samples_ns: list[int]) -> str:
    samples_ns.sort()
    n = len(samples_ns)

    def at(q: float) -> float:
        return samples_ns[min(n - 1, int(q * n))] / 1000

    return (
        f"p50 {at(0.50):6.2f} µs   p90 {at(0.90):6.2f} µs   p99 {at(0.99):6.2f} µs   "
        f"p99.9 {at(0.999):7.2f} µs   max {samples_ns[-1] / 1000:9.1f} µs"
    )


def log_latency(client: Client, calls: int) -> list[int]:
    took = []
    clock = time.perf_counter_ns
    for i in range(calls):
        started = clock()
        client.log_prediction("bench", FEATURES, 0.42, model_version="v1")
        took.append(clock() - started)
        if i % 5000 == 4999:
            time.sleep(0.002)  # a model does other work between calls
    return took


def bench_log(calls: int) -> None:
    print(f"log_prediction, 20 features, {calls:,} calls on the calling thread")
    with TemporaryDirectory() as tmp:
        for label, options in (
            ("sender delivering (Arrow + gzip)", {"transport": Discard()}),
            ("sender delivering (JSON + gzip) ", {"transport": Discard(), "wire": "json"}),
        ):
            client = Client(spill_dir=Path(tmp) / "spill", max_queue=calls + 30_000, **options)  # type: ignore[arg-type]
            log_latency(client, 20_000)  # warm up: imports, allocator
            gc.collect()
            took = log_latency(client, calls)
            client.close()
            print(f"  {label}  {percentiles(took)}")

        listener = socket.socket()  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = Client(url, spill_dir=Path(tmp) / "hung", timeout=5.0, max_queue=calls + 30_000)
        log_latency(client, 20_000)
        took = log_latency(client, calls)
        client.close(timeout=0.1)
        listener.close()
        print(f"  collector hung (never answers)   {percentiles(took)}")


def bench_import(runs: int = 15) -> None:
    code = (
        "import time; t = time.perf_counter(); import sightline; t = time.perf_counter() - t; "
        "import sys; heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'duckdb', 'httpx') "
        "if m in sys.modules]; print(t, ','.join(heavy))"
    )
    times, heavy = [], ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        seconds, _, heavy = out.stdout.strip().partition(" ")
        times.append(float(seconds))
    print(
        f"import sightline: median {statistics.median(times):.3f} s, max {max(times):.3f} s "
        f"over {runs} fresh interpreters; heavy modules loaded: {heavy or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    bench_import()
    bench_log(args.calls)


if __name__ == "__main__":
    main()
