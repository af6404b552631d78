"""The SDK client against in-memory transports (the Transport protocol is its extension point)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

import sightline
from sightline.sdk import Client
from sightline.sdk.transport import Payload, SendResult, encode_records


class Recorder:
    """A transport that records bodies; outcomes are scripted (default: all ok)."""

    def __init__(self, outcomes: list[str] | None = None):
        self.bodies: list[dict] = []
        self.outcomes = list(outcomes or [])
        self.attempts = 0
        self.lock = threading.Lock()

    def send(self, payload: Payload) -> SendResult:
        with self.lock:
            self.attempts += 1
            outcome = self.outcomes.pop(0) if self.outcomes else "ok"
            if outcome == "ok":
                self.bodies.append(json.loads(payload.decoded()))
        return SendResult(outcome, "scripted")

    def close(self) -> None:
        pass

    @property
    def records(self) -> list[dict]:
        return [r for body in self.bodies for r in body["records"]]


def test_log_prediction_returns_request_id_and_delivers_records():
    transport = Recorder()
    client = Client(wire="json", spill_dir=False, transport=transport, flush_interval=0.05)
    rid = client.log_prediction("m", {"x": 1.5, "c": "a"}, 0.7, model_version="v2", tags={"t": "1"})
    given = client.log_prediction("m", {"x": 2.0}, 0.1, request_id="req-42")
    client.log_feedback("m", rid, 1)
    assert client.flush(5)
    client.close()
    assert given == "req-42"
    kinds = [r["kind"] for r in transport.records]
    assert kinds == ["prediction", "prediction", "feedback"]
    first = transport.records[0]
    assert first["request_id"] == rid
    assert first["features"] == {"x": 1.5, "c": "a"}
    assert first["model_version"] == "v2"
    assert first["tags"] == {"t": "1"}
    assert transport.records[2]["request_id"] == rid
    assert len({r["record_id"] for r in transport.records}) == 3
    assert client.stats()["sent"] == 3


def test_batches_by_size():
    transport = Recorder()
    client = Client(
        wire="json",
        spill_dir=False,
        transport=transport,
        batch_size=10,
        max_batch_size=10,
        flush_interval=30.0,
    )
    for i in range(35):
        client.log_prediction("m", {"x": i}, i)
    assert client.flush(5)
    client.close()
    sizes = [len(b["records"]) for b in transport.bodies]
    assert sum(sizes) == 35
    assert max(sizes) <= 10


def test_retries_until_delivered():
    transport = Recorder(["retry", "retry", "ok"])
    client = Client(wire="json", spill_dir=False, transport=transport, flush_interval=0.01)
    client.log_prediction("m", {"x": 1}, 1)
    assert client.flush(10)
    client.close()
    assert transport.attempts == 3
    assert len(transport.records) == 1
    assert client.stats()["retries"] == 2


def test_rejected_batches_are_counted_not_raised():
    transport = Recorder(["rejected"])
    client = Client(wire="json", spill_dir=False, transport=transport, flush_interval=0.01)
    client.log_prediction("m", {"x": 1}, 1)
    assert client.flush(5)
    client.close()
    assert client.stats()["rejected"] == 1
    assert transport.records == []


def test_bounded_queue_counts_what_it_drops():
    gate = threading.Event()

    class Stuck(Recorder):
        def send(self, payload: Payload) -> SendResult:
            gate.wait(5)
            return super().send(payload)

    transport = Stuck()
    client = Client(
        wire="json",
        spill_dir=False,
        transport=transport,
        batch_size=5,
        max_queue=20,
        flush_interval=0.01,
    )
    for i in range(100):
        client.log_prediction("m", {"x": i}, i)
    stats = client.stats()
    gate.set()
    assert client.flush(5)
    client.close()
    assert stats["dropped"] > 0
    assert len(transport.records) + client.stats()["dropped"] == 100


def test_log_is_fast_and_never_touches_the_network():
    gate = threading.Event()

    class Hung(Recorder):
        def send(self, payload: Payload) -> SendResult:
            gate.wait(10)
            return super().send(payload)

    client = Client(wire="json", spill_dir=False, transport=Hung(), flush_interval=0.01)
    start = time.perf_counter()
    for i in range(1000):
        client.log_prediction("m", {"x": i}, i)
    elapsed = time.perf_counter() - start
    gate.set()
    client.close()
    assert elapsed < 2.0  # a hung collector must not hold up the caller


def test_encode_handles_numpy_datetimes_and_non_finite_numbers():
    body = encode_records(
        [
            {
                "features": {"a": np.float32(1.5), "b": np.int64(3), "c": float("nan")},
                "prediction": np.array([0.1, 0.9]),
                "ts": datetime(2026, 1, 1, tzinfo=UTC),
            }
        ]
    )
    record = json.loads(body)["records"][0]
    assert record["features"] == {"a": 1.5, "b": 3, "c": None}
    assert record["prediction"] == [0.1, 0.9]
    assert record["ts"] == "2026-01-01T00:00:00+00:00"


def test_module_api_before_init_drops_with_a_warning(caplog: pytest.LogCaptureFixture):
    sightline.close()
    sightline._warned = False
    with caplog.at_level("WARNING", logger="sightline"):
        assert sightline.log_prediction("m", {"x": 1}, 1) is None
    assert "before sightline.init()" in caplog.text
    assert sightline.flush() is True
    assert sightline.stats() == {}


def test_module_api_after_init(monkeypatch: pytest.MonkeyPatch):
    transport = Recorder()
    client = sightline.init(
        url="http://127.0.0.1:1",
        transport=transport,
        flush_interval=0.01,
        wire="json",
        spill_dir=False,
    )
    try:
        rid = sightline.log_prediction("m", {"x": 1}, 1)
        sightline.log_feedback("m", rid or "", 0)
        assert sightline.flush(5)
        assert [r["kind"] for r in transport.records] == ["prediction", "feedback"]
        assert sightline.stats()["sent"] == 2
    finally:
        sightline.close()
    assert client.stats()["pending"] == 0
