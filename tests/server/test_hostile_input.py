"""Hostile and malformed ingest bodies: never a 500, never a write outside what the answer says.

Each body either is refused whole (4xx, nothing stored, nothing quarantined) or is answered 200
with ``accepted + quarantined`` equal to the records sent, the store holding exactly the new
accepted records and the quarantine exactly the quarantined ones.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sightline.config import Settings
from tests.conftest import free_port
from tests.server.conftest import DAY0, open_client

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ARROW = "application/vnd.apache.arrow.stream"
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "2026-03-02T10:00:00Z", "1e400", "NaN", "\U0001f600", "x" * 5000]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
NAMES = st.sampled_from(["x", "plan", "ts", "target", "", "a.b", "\u00e9", "y" * 200])
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["prediction", "feedback", "event", "label"]) | SCALARS,
        "model": st.sampled_from(["churn", "fraud", ""]) | SCALARS,
        "record_id": st.text(max_size=10) | SCALARS,
        "request_id": st.sampled_from(["r1", "r2"]) | SCALARS,
        "ts": st.sampled_from([DAY0.isoformat(), DAY0.timestamp()]) | SCALARS,
        "features": st.dictionaries(NAMES, SCALARS | JSON_VALUES, max_size=4) | JSON_VALUES,
        "prediction": SCALARS | st.dictionaries(NAMES, SCALARS, max_size=2),
        "target": SCALARS,
        "tags": st.dictionaries(st.text(max_size=5), SCALARS, max_size=2) | JSON_VALUES,
        "sample_rate": SCALARS,
        "name": SCALARS,
        "latency_ms": SCALARS,
        "status": SCALARS,
        "attributes": JSON_VALUES,
    },
)
BODIES = st.one_of(
    st.fixed_dictionaries({"records": st.lists(RECORDS | JSON_VALUES, max_size=6)}),
    JSON_VALUES,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("hostile")
    settings_ = Settings.load(data_dir=data, schedule_interval=0.0, port=free_port())
    with open_client(settings_) as client:
        yield client


def totals(client: TestClient) -> tuple[int, int]:
    """(stored records of every kind but events, quarantined records)."""
    stored = sum(
        m["n_predictions"] + m["n_feedback"] for m in client.get("/v1/models").json()["models"]
    )
    quarantined = len(client.get("/v1/quarantine", params={"limit": 10_000}).json()["records"])
    return stored, quarantined


def check(
    client: TestClient,
    content: bytes,
    headers: dict[str, str],
    n_records: int | None,
    refused: bool = False,
) -> None:
    stored, quarantined = totals(client)
    response = client.post("/v1/ingest", content=content, headers=headers)
    assert response.status_code < 500, response.text
    after_stored, after_quarantined = totals(client)
    assert response.status_code >= 400 or not refused, response.text
    if response.status_code >= 400:
        assert response.json()["message"]
        assert (after_stored, after_quarantined) == (stored, quarantined)
        return
    answer = response.json()
    if n_records is not None:
        assert answer["accepted"] + answer["quarantined"] == n_records
    # A record id quarantined before (a retry) is not kept twice.
    assert 0 <= after_quarantined - quarantined <= answer["quarantined"]
    assert len(answer["errors"]) == min(answer["quarantined"], 100)
    new = answer["accepted"] - answer["duplicates"]
    assert 0 <= after_stored - stored <= new  # events are stored but not counted here


def _dumps(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
def test_hypothesis_json_batches(client: TestClient, body: Any) -> None:
    records = body.get("records") if isinstance(body, dict) else None
    check(
        client,
        _dumps(body),
        {"content-type": "application/json"},
        len(records) if isinstance(records, list) else None,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, cut=st.floats(0, 1))
def test_truncated_and_gzipped_bodies(client: TestClient, body: Any, cut: float) -> None:
    raw = _dumps(body)
    check(client, raw[: int(len(raw) * cut)], {}, None)
    packed = gzip.compress(raw)
    end = int(len(packed) * cut)
    check(client, packed[:end], {"content-encoding": "gzip"}, None, refused=end < len(packed))


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


ARROW_COLUMNS = {
    "features.x": [
        pa.array([1.0, math.nan, math.inf]),
        pa.array(["1", "two", None]),
        pa.array([[1], [2], None]),
    ],
    "features.plan": [
        pa.array(["a", "b", "c"]),
        pa.array([1, 2, 3]),
        pa.array([True, None, False]),
    ],
    "prediction": [
        pa.array([0.1, 0.2, 0.3]),
        pa.array(["hi", None, "x" * 100_000]),
        pa.array([{"a": 1}] * 3),
    ],
    "ts": [
        pa.array([DAY0.timestamp()] * 3),
        pa.array(["soon", None, "2026-03-02"]),
        pa.array([1e300, -1e300, math.nan]),
    ],
    "model": [
        pa.array(["churn", "fraud", None]),
        pa.array(["", "churn", "churn"]),
        pa.array([1, 2, 3]),
    ],
    "kind": [
        pa.array(["prediction", "feedback", "event"]),
        pa.array(["label", None, "prediction"]),
    ],
    "record_id": [
        pa.array(["a", "b", "c"]),
        pa.array(["a", "a", "a"]),
        pa.array(["z" * 300, None, "y"]),
    ],
    "sample_rate": [pa.array([0.5, 2.0, -1.0]), pa.array(["half", None, None])],
    "tags": [pa.array(['{"a": "b"}', "not json", '{"x": {"y": 1}}'])],
    "target": [pa.array([1, None, 0])],
}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    choice=st.fixed_dictionaries(
        {},
        optional={
            name: st.sampled_from(range(len(options))) for name, options in ARROW_COLUMNS.items()
        },
    ),
    cut=st.none() | st.floats(0, 1),
)
def test_hypothesis_arrow_batches(
    client: TestClient, choice: dict[str, int], cut: float | None
) -> None:
    columns = {name: ARROW_COLUMNS[name][i] for name, i in choice.items()}
    if not columns:
        columns = {"features.x": pa.array([1.0, 2.0, 3.0])}
    body = _stream(pa.table(columns))
    end = len(body) if cut is None else int(len(body) * cut)
    truncated = end < len(body)
    check(client, body[:end], {"content-type": ARROW}, None if truncated else 3, refused=truncated)
