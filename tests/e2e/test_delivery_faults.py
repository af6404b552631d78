"""Real faults between the real SDK and a real collector: kill -9, an outage, a full spill, a
hung socket. Every acknowledged record is stored exactly once; nothing else is lost unless the
drop counter says so."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sightline.schema import Window
from sightline.sdk import Client
from sightline.store import open_prediction_store
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, tzinfo=UTC)
#: How long the collector stays down in the outage test (the issue asks for 30 s).
OUTAGE_S = float(os.environ.get("SIGHTLINE_TEST_OUTAGE_S", "30"))


def stored_request_ids(data_dir: Path, model: str) -> list[str]:
    """Every stored prediction's request id, read from the store file (server stopped)."""
    store = open_prediction_store(f"duckdb:///{data_dir / 'predictions.duckdb'}")
    try:
        everything = Window(T0 - timedelta(days=3650), T0 + timedelta(days=3650), "1d")
        ids: list[str] = store.read_window(model, everything).column("request_id").to_pylist()
        return ids
    finally:
        store.close()


def sdk(url: str, tmp_path: Path, **options: object) -> Client:
    defaults: dict[str, object] = {
        "flush_interval": 0.05,
        "max_retry_delay": 0.5,
        "timeout": 5.0,
        "spill_dir": tmp_path / "spill",
    }
    return Client(url, **{**defaults, **options})  # type: ignore[arg-type]


def log(client: Client, model: str, start: int, stop: int) -> list[str]:
    return [
        client.log_prediction(
            model,
            {f"f{j}": float(i + j) for j in range(5)} | {"plan": "abc"[i % 3]},
            (i % 100) / 100,
            request_id=f"r{i}",
            ts=T0 + timedelta(milliseconds=i),
        )
        for i in range(start, stop)
    ]


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    client = sdk(server.url, tmp_path, batch_size=500)
    n = 100_000
    sent: list[str] = []
    logger = threading.Thread(target=lambda: sent.extend(log(client, "m", 0, n)))
    logger.start()
    deadline = time.monotonic() + 60
    while client.stats()["sent"] < 20_000 and time.monotonic() < deadline:
        time.sleep(0.005)
    acknowledged = client.stats()["sent"]
    server.stop(signal.SIGKILL)  # mid-stream: batches in flight, some stored but not acked
    assert 0 < acknowledged < n
    time.sleep(1.0)
    server.start()
    logger.join()
    assert client.flush(120), client.stats()
    client.close()
    stats = client.stats()
    server.stop()

    ids = stored_request_ids(server.data_dir, "m")
    assert len(ids) == n  # exactly once: no loss, no duplicate from the retried batch
    assert set(ids) == set(sent) == {f"r{i}" for i in range(n)}
    assert (stats["sent"], stats["dropped"], stats["pending"]) == (n, 0, 0)
    assert stats["retries"] > 0


def test_an_outage_loses_nothing_within_the_spill_bound(
    server: ServerProcess, tmp_path: Path
) -> None:
    client = sdk(server.url, tmp_path, max_queue=2_000)
    logged: list[str] = []
    stop = threading.Event()

    def service() -> None:  # a model service logging ~500 predictions per second
        i = 0
        while not stop.is_set():
            logged.extend(log(client, "svc", i, i + 50))
            i += 50
            time.sleep(0.1)

    thread = threading.Thread(target=service)
    thread.start()
    try:
        time.sleep(1.0)
        server.stop(signal.SIGKILL)
        time.sleep(OUTAGE_S)
        assert client.stats()["spilled"] > 0
        server.start()
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join()
    assert client.flush(60), client.stats()
    client.close()
    stats = client.stats()
    server.stop()

    ids = stored_request_ids(server.data_dir, "svc")
    assert stats["dropped"] == 0
    assert sorted(ids) == sorted(logged)
    assert len(logged) >= 400 * OUTAGE_S


def test_beyond_the_spill_bound_the_drop_counter_is_what_is_missing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--no-scheduler")
    client = sdk(server.url, tmp_path, max_spill_bytes=60_000, max_queue=1_000, batch_size=200)
    n = 20_000
    for start in range(0, n, 500):  # the collector is down: the spill fills, then drops
        log(client, "m", start, start + 500)
        time.sleep(0.01)
    assert not client.flush(1.0)
    server.start()
    try:
        assert client.flush(60), client.stats()
        client.close()
    finally:
        server.stop()
    stats = client.stats()
    ids = stored_request_ids(server.data_dir, "m")
    assert stats["dropped"] > 0
    assert len(ids) == len(set(ids)) == n - stats["dropped"] == stats["sent"]


@pytest.fixture
def hung_collector() -> Iterator[str]:
    """A socket that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_hung_collector_never_slows_log_prediction(hung_collector: str, tmp_path: Path) -> None:
    client = sdk(hung_collector, tmp_path, timeout=2.0, batch_size=100)
    features = {f"f{j}": float(j) for j in range(20)}
    took = []
    for i in range(20_000):
        started = time.perf_counter()
        client.log_prediction("m", features, 0.5, ts=T0)
        took.append(time.perf_counter() - started)
        if i % 1000 == 0:
            time.sleep(0.01)  # let the sender reach the hung socket
    stats = client.stats()
    client.close(timeout=0.1)
    took.sort()
    assert stats["retries"] >= 1 or stats["pending"] == 20_000  # nothing got through
    assert stats["sent"] == 0
    # Microseconds, not the 2 s request timeout (bench/sdk.py has the precise figures).
    assert took[len(took) // 2] < 100e-6
    assert took[int(len(took) * 0.99)] < 2e-3
