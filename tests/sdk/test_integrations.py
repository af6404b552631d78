"""The decorator, the ASGI middleware, the logging handler, sampling, redaction and log_batch."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from fastapi import FastAPI

from sightline.sdk import Client, Redaction
from sightline.sdk.asgi import SightlineMiddleware
from sightline.sdk.instrument import instrument
from sightline.sdk.log_handler import SightlineHandler
from tests.sdk.conftest import Recorder

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def transport() -> Recorder:
    return Recorder()


@pytest.fixture
def sdk(transport: Recorder) -> Iterator[Client]:
    client = Client(transport=transport, flush_interval=0.01, spill_dir=False, wire="json")
    yield client
    client.close()


def delivered(sdk: Client, transport: Recorder) -> list[dict[str, Any]]:
    assert sdk.flush(5)
    return transport.records


def test_the_decorator_logs_inputs_outputs_latency_and_errors(
    sdk: Client, transport: Recorder
) -> None:
    @instrument("churn", client=sdk, model_version="v3")
    def predict(features: dict[str, Any]) -> float:
        if features["age"] < 0:
            raise ValueError("negative age")
        return 0.25

    assert predict({"age": 31, "plan": "pro"}) == 0.25
    with pytest.raises(ValueError, match="negative age"):
        predict({"age": -1, "plan": "pro"})

    records = delivered(sdk, transport)
    prediction, ok, failed = records
    assert prediction["kind"] == "prediction"
    assert prediction["features"] == {"age": 31, "plan": "pro"}
    assert (prediction["prediction"], prediction["model_version"]) == (0.25, "v3")
    assert (ok["kind"], ok["name"], ok["status"]) == ("event", "predict", "ok")
    assert ok["latency_ms"] >= 0
    assert (failed["status"], failed["error_type"]) == ("error", "ValueError")


def test_the_decorator_takes_scalar_arguments_and_async_functions(
    sdk: Client, transport: Recorder
) -> None:
    @instrument("churn", client=sdk, prediction=lambda result: result["score"])
    async def predict(age: int, plan: str, *, debug: object = None) -> dict[str, float]:
        return {"score": 0.5}

    assert asyncio.run(predict(40, "free", debug=object())) == {"score": 0.5}
    prediction, event = delivered(sdk, transport)
    assert prediction["features"] == {"age": 40, "plan": "free"}  # scalar arguments only
    assert prediction["prediction"] == 0.5
    assert event["status"] == "ok"


def test_the_middleware_records_route_templates_status_and_failures(
    sdk: Client, transport: Recorder
) -> None:
    app = FastAPI()
    app.add_middleware(SightlineMiddleware, model="churn", client=sdk)

    @app.get("/users/{user_id}")
    def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/users/7").status_code == 200
        assert http.get("/users/8").status_code == 200
        assert http.get("/missing").status_code == 404
        assert http.get("/boom").status_code == 500

    events = delivered(sdk, transport)
    assert [(e["attributes"]["route"], e["status"]) for e in events] == [
        ("/users/{user_id}", "200"),
        ("/users/{user_id}", "200"),
        ("<unmatched>", "404"),
        ("/boom", "500"),
    ]
    assert events[3]["error_type"] == "RuntimeError"
    assert all(e["name"] == "http.request" and e["latency_ms"] >= 0 for e in events)


def test_the_logging_handler_turns_warnings_and_errors_into_events(
    sdk: Client, transport: Recorder
) -> None:
    logger = logging.getLogger("tests.service")
    handler = SightlineHandler("churn", client=sdk)
    logger.addHandler(handler)
    try:
        logger.info("not sent: below the handler's level")
        logger.warning("slow upstream %s", "db")
        try:
            raise KeyError("x")
        except KeyError:
            logger.exception("lookup failed")
        logging.getLogger("sightline").addHandler(handler)
        logging.getLogger("sightline").warning("never fed back")
    finally:
        logger.removeHandler(handler)
        logging.getLogger("sightline").removeHandler(handler)

    warning, error = delivered(sdk, transport)
    assert (warning["status"], warning["attributes"]["message"]) == ("warning", "slow upstream db")
    assert (error["status"], error["error_type"]) == ("error", "KeyError")


def test_sampling_keeps_a_share_and_feedback_follows_its_prediction(transport: Recorder) -> None:
    sdk = Client(
        transport=transport,
        flush_interval=0.01,
        spill_dir=False,
        wire="json",
        sample_rate={"churn": 0.25},
    )
    ids = [sdk.log_prediction("churn", {"x": i}, 0.5) for i in range(2000)]
    for rid in ids:
        sdk.log_feedback("churn", rid, 1)
    sdk.log_prediction("other", {"x": 1}, 0.5)  # other models are kept whole
    records = delivered(sdk, transport)
    sdk.close()
    predictions = {r["request_id"] for r in records if r["kind"] == "prediction"}
    labels = {r["request_id"] for r in records if r["kind"] == "feedback"}
    kept = [r for r in records if r["kind"] == "prediction" and r["model"] == "churn"]
    assert 400 < len(kept) < 600
    assert {r["sample_rate"] for r in kept} == {0.25}
    assert labels == predictions & set(ids)
    assert sdk.stats()["sampled_out"] == 2 * (2000 - len(kept))


def test_redaction_drops_and_hashes_before_anything_leaves(transport: Recorder) -> None:
    redaction = Redaction(deny=["email"], hash=["user_id", "request_id"], salt="k")
    sdk = Client(
        transport=transport, flush_interval=0.01, spill_dir=False, wire="json", redact=redaction
    )
    rid = sdk.log_prediction(
        "m", {"email": "a@b.c", "user_id": "u-1", "age": 3}, 1, request_id="req-1"
    )
    sdk.log_feedback("m", rid, 0)
    prediction, feedback = delivered(sdk, transport)
    sdk.close()
    assert prediction["features"] == {"user_id": redaction.digest("u-1"), "age": 3}
    assert prediction["request_id"] == feedback["request_id"] == redaction.digest("req-1")
    assert "a@b.c" not in str(transport.records)

    allow = Redaction(allow=["age"])
    assert allow.apply({"features": {"age": 1, "secret": 2}, "prediction": {"p": 1}}) == {
        "features": {"age": 1},
        "prediction": {"p": 1},
    }


@pytest.mark.parametrize("kind", ["pandas", "arrow", "batch"])
def test_log_batch_sends_arrow_chunks(transport: Recorder, kind: str) -> None:
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(25)],
            "age": [float(i) for i in range(25)],
            "plan": ["a", "b", "c", "d", "e"] * 5,
            "prediction": [i / 25 for i in range(25)],
            "label": [i % 2 for i in range(25)],
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    data = {"pandas": frame, "arrow": table, "batch": table.to_batches()[0]}[kind]
    sdk = Client(transport=transport, flush_interval=0.01, spill_dir=False)
    assert sdk.log_batch(data, "batchy", target="label", chunk_rows=10) == 25
    assert sdk.flush(5)
    sdk.close()
    rows = transport.records
    predictions = [r for r in rows if r.get("kind") != "feedback"]
    labels = [r for r in rows if r.get("kind") == "feedback"]
    assert len(predictions) == len(labels) == 25
    assert predictions[3]["features.age"] == 3.0
    assert predictions[3]["prediction"] == 3 / 25
    assert predictions[3]["model"] == "batchy"
    assert labels[3] == {
        "kind": "feedback",
        "model": "batchy",
        "record_id": predictions[3]["record_id"] + "/target",
        "request_id": "r3",
        "target": 1,
    }
    assert len({r["record_id"] for r in predictions}) == 25
    assert [p.n_records for p in transport.payloads] == [10, 10, 10, 10, 5, 5]


def test_log_batch_refuses_what_is_not_a_table(sdk: Client) -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        sdk.log_batch(42, "m")
