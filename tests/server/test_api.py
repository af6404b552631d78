"""The HTTP API and the dashboard pages, on the real app and real stores, in-process."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from sightline.config import Settings
from sightline.schema import Window
from tests.server.conftest import (
    DAY0,
    DAY1,
    SHIFTED,
    ingest,
    open_client,
    prediction,
    traffic,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ARROW = "application/vnd.apache.arrow.stream"
TEN = DAY1 + timedelta(hours=10)
ELEVEN = DAY1 + timedelta(hours=11)


def models(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/models")
    assert response.status_code == 200
    return {m["name"]: m for m in response.json()["models"]}


def errors(response: Any) -> list[tuple[int | None, str | None]]:
    return [(e["index"], e["field"]) for e in response.json()["errors"]]


def arrow_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def reference(n: int, low: float, high: float) -> pa.Table:
    xs = [low + (high - low) * (i + 0.5) / n for i in range(n)]
    return pa.table(
        {
            "x": xs,
            "plan": [("a", "b", "c")[i % 3] for i in range(n)],
            "prediction": [x / 10 for x in xs],
        }
    )


@pytest.fixture
def history(client: TestClient) -> TestClient:
    """Model ``churn``: a normal first day (the fallback reference), then on DAY1 a normal
    window at 10:00 and a drifted one at 11:00."""
    ingest(client, traffic(DAY0, 720, span=timedelta(days=1)))
    ingest(client, traffic(TEN, 100) + traffic(ELEVEN, 100, low=5, high=15, plans=SHIFTED))
    return client


def run(client: TestClient, start: Any, end: Any, **extra: Any) -> Any:
    return client.post("/v1/models/churn/runs", json={"from": start, "to": end, **extra})


def points(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/models/churn/metrics", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["points"]
    return result


# -- service -------------------------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- ingest --------------------------------------------------------------------------------------


def test_ingest_stores_a_batch_and_says_how_many(client: TestClient) -> None:
    records = [
        prediction(DAY0 + timedelta(minutes=1), 3.0, "pro", request_id="r1", model_version="v2"),
        prediction(DAY0, 4.0, "free", request_id="r2"),
        prediction(DAY0.timestamp() + 7200, 5.0, "pro", request_id="r3"),
        {"kind": "feedback", "model": "churn", "request_id": "r1", "target": 1},
    ]
    response = client.post("/v1/ingest", json={"records": records})

    assert response.status_code == 200
    assert response.json() == {"accepted": 4, "duplicates": 0, "quarantined": 0, "errors": []}
    churn = models(client)["churn"]
    assert (churn["n_predictions"], churn["n_feedback"]) == (3, 1)
    assert churn["first_ts"] == "2026-03-02T00:00:00+00:00"
    assert churn["last_ts"] == "2026-03-02T02:00:00+00:00"
    assert churn["last_run"] is None
    schema = churn["schema"]
    assert schema["features"] == [
        {"name": "x", "type": "number", "role": "numerical"},
        {"name": "plan", "type": "string", "role": "categorical"},
    ]
    assert schema["outputs"] == [{"name": "prediction", "type": "number", "role": "prediction"}]
    assert schema["target"] == {"name": "target", "type": "number", "role": "target"}


def quarantine(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/quarantine", params=params)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def test_a_partly_bad_batch_stores_the_good_and_quarantines_the_bad(client: TestClient) -> None:
    records = [
        prediction(DAY0),  # fine: stored
        {"kind": "prediction", "ts": DAY0.isoformat(), "features": {}, "prediction": 1},
        prediction("yesterday-ish"),
        prediction(DAY0, features={"x": [1, 2]}),
        prediction(DAY0, sample_rate=2),
        {"kind": "feedback", "model": "churn", "target": 1},
        {"kind": "label", "model": "churn"},
        "not a record",
    ]
    response = client.post("/v1/ingest", json={"records": records})

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["quarantined"]) == (1, 0, 7)
    assert errors(response) == [
        (1, "model"),
        (2, "ts"),
        (3, "features.x"),
        (4, "sample_rate"),
        (5, "request_id"),
        (6, "kind"),
        (7, None),
    ]
    assert all(e["message"] for e in body["errors"])
    assert "nested" in body["errors"][2]["message"]
    assert models(client)["churn"]["n_predictions"] == 1

    kept = quarantine(client)
    assert sorted((q["index"], q["field"]) for q in kept) == [
        (1, "model"),
        (2, "ts"),
        (3, "features.x"),
        (4, "sample_rate"),
        (5, "request_id"),
        (6, "kind"),
        (7, ""),
    ]
    by_index = {q["index"]: q for q in kept}
    assert by_index[3]["record"]["features"] == {"x": [1, 2]}
    assert by_index[7]["record"] == "not a record"
    assert by_index[6]["model"] == "churn"
    assert {q["index"] for q in quarantine(client, model="churn")} == {2, 3, 4, 5, 6}


def test_an_error_message_leaves_the_location_to_index_and_field(client: TestClient) -> None:
    response = client.post("/v1/ingest", json={"records": [{"kind": "label", "model": "churn"}]})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "kind")
    assert "record 0" not in error["message"]


def test_a_bad_record_of_one_model_does_not_hold_back_the_others(client: TestClient) -> None:
    records = [
        prediction(DAY0, model="a"),
        prediction(DAY0, model="b"),
        prediction(DAY0 + timedelta(seconds=1), x=float("inf"), model="b"),
    ]
    response = client.post(
        "/v1/ingest", content=json.dumps({"records": records}), headers={"content-type": "json"}
    )

    assert response.status_code == 200
    assert errors(response) == [(2, "features.x")]
    assert {name: m["n_predictions"] for name, m in models(client).items()} == {"a": 1, "b": 1}
    [kept] = quarantine(client, model="b")
    assert "infinity" in kept["message"]


def test_a_type_conflict_with_the_pinned_schema_names_the_field(client: TestClient) -> None:
    ingest(client, [prediction(DAY0, 1.0)])

    later = [
        prediction(DAY0 + timedelta(hours=1), 2.0),
        prediction(DAY0 + timedelta(hours=1), features={"x": "twelve"}),
        prediction(DAY0 + timedelta(hours=1), 4.0, prediction="high"),
        prediction(DAY0 + timedelta(hours=1), 3.0, plan=7),  # type: ignore[arg-type]
    ]
    response = client.post("/v1/ingest", json={"records": later})

    assert response.status_code == 200
    assert errors(response) == [(1, "features.x"), (2, "prediction")]
    assert "expected a number" in response.json()["errors"][0]["message"]
    # The good ones are stored; a number where a string column is pinned is stored as its text.
    assert models(client)["churn"]["n_predictions"] == 3


def test_a_reserved_feature_name_quarantines_only_the_records_that_use_it(
    client: TestClient,
) -> None:
    records = [prediction(DAY0), prediction(DAY0, features={"x": 1.0, "ts": 5.0})]
    response = client.post("/v1/ingest", json={"records": records})

    assert response.status_code == 200
    assert errors(response) == [(1, "features.ts")]
    assert "reserved" in response.json()["errors"][0]["message"]
    assert [c["name"] for c in models(client)["churn"]["schema"]["features"]] == ["x", "plan"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"this is not json", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\xfa garbage", id="binary"),
        pytest.param(b'{"records": [', id="truncated"),
        pytest.param(b"[1, 2, 3]", id="not-an-object"),
        pytest.param(b'{"records": {"kind": "prediction"}}', id="records-not-a-list"),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_with_a_message(
    client: TestClient, body: bytes
) -> None:
    response = client.post("/v1/ingest", content=body)

    assert response.status_code in (400, 422)
    reply = response.json()
    assert reply["message"]
    assert reply["errors"][0]["field"] in ("body", "records")
    assert models(client) == {}


def test_deeply_nested_json_is_refused_not_a_crash(client: TestClient) -> None:
    depth = 100_000
    for body in (
        b"[" * depth + b"]" * depth,
        b'{"records": [{"model": "m", "prediction": ' + b"[" * depth + b"]" * depth + b"}]}",
    ):
        response = client.post("/v1/ingest", content=body)
        assert response.status_code in (400, 413, 422)
        assert response.json()["message"]
    assert client.get("/healthz").status_code == 200


def test_an_oversized_body_is_refused_with_413(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, max_body_bytes=1024)
    with open_client(settings) as client:
        small = [prediction(DAY0)]
        big = [prediction(DAY0 + timedelta(seconds=i), float(i)) for i in range(20)]
        assert len(json.dumps({"records": big})) > 1024

        response = client.post("/v1/ingest", json={"records": big})
        assert response.status_code == 413
        assert "1024 bytes" in response.json()["message"]
        assert errors(response) == [(None, "body")]

        # A streamed body without a content-length is cut off as it arrives.
        def chunks() -> Any:
            for _ in range(10):
                yield b" " * 500

        assert client.post("/v1/ingest", content=chunks()).status_code == 413
        assert models(client) == {}

        ingest(client, small)
        table = reference(200, 0, 10)
        response = client.put(
            "/v1/models/churn/references/default",
            content=arrow_stream(table),
            headers={"content-type": ARROW},
        )
        assert response.status_code == 413


# -- models --------------------------------------------------------------------------------------


def test_a_model_is_described_and_an_unknown_one_is_404(client: TestClient) -> None:
    ingest(client, [prediction(DAY0, model="churn"), prediction(DAY1, model="fraud")])

    assert sorted(models(client)) == ["churn", "fraud"]
    response = client.get("/v1/models/fraud")
    assert response.status_code == 200
    fraud = response.json()
    assert (fraud["name"], fraud["n_predictions"]) == ("fraud", 1)
    assert fraud["first_ts"] == fraud["last_ts"] == DAY1.isoformat()

    response = client.get("/v1/models/ghost")
    assert response.status_code == 404
    assert "ghost" in response.json()["message"]


# -- runs and metrics ----------------------------------------------------------------------------


def test_a_run_computes_windows_and_metrics_returns_their_points(history: TestClient) -> None:
    response = run(history, TEN.isoformat(), (TEN + timedelta(hours=3)).isoformat())

    assert response.status_code == 200
    runs = response.json()["runs"]
    assert [(r["window_start"], r["status"], r["n_rows"]) for r in runs] == [
        ("2026-03-03T10:00:00+00:00", "ok", 100),
        ("2026-03-03T11:00:00+00:00", "ok", 100),
        ("2026-03-03T12:00:00+00:00", "no_data", 0),
    ]
    shares = points(history, metric="share_of_drifted_columns")
    assert [(p["window_start"], p["value"]) for p in shares] == [
        ("2026-03-03T10:00:00+00:00", 0.0),
        ("2026-03-03T11:00:00+00:00", 1.0),
    ]
    assert shares[1]["details"]["dataset_drift"] is True
    detected = points(history, metric="drift_detected", column="x")
    assert [p["value"] for p in detected] == [0.0, 1.0]
    assert {p["column"] for p in detected} == {"x"}

    recent = history.get("/v1/models/churn/runs", params={"limit": 20}).json()["runs"]
    latest = [r for r in recent if r["granularity"] == "1h"][:2]
    assert [r["window_start"] for r in latest] == [
        "2026-03-03T12:00:00+00:00",
        "2026-03-03T11:00:00+00:00",
    ]
    assert models(history)["churn"]["last_run"]["window_start"] == "2026-03-03T12:00:00+00:00"


def test_metric_filters(history: TestClient) -> None:
    assert run(history, str(TEN.timestamp()), str(ELEVEN.timestamp() + 3600)).status_code == 200
    everything = points(history)
    assert {p["window_start"] for p in everything} == {TEN.isoformat(), ELEVEN.isoformat()}

    # start matches window starts, end matches window ends; ISO 8601 or epoch seconds.
    late = points(history, start=ELEVEN.isoformat())
    early = points(history, end=str(ELEVEN.timestamp()))
    assert {p["window_start"] for p in late} == {ELEVEN.isoformat()}
    assert {p["window_start"] for p in early} == {TEN.isoformat()}
    assert len(late) + len(early) == len(everything)
    assert points(history, start="", end="") == everything

    assert {p["metric"] for p in points(history, metric="row_count")} == {"row_count"}
    assert {p["granularity"] for p in points(history, granularity="1d")} <= {"1d"}  # roll-ups
    assert len(points(history, granularity="1h")) == len(everything)
    assert points(history, version="v9") == []
    assert points(history, metric="no-such-metric") == []


def test_distributions_can_be_left_out(history: TestClient) -> None:
    assert run(history, TEN.isoformat(), ELEVEN.isoformat()).status_code == 200

    [full] = points(history, metric="drift_score", column="plan")
    [lean] = points(history, metric="drift_score", column="plan", distributions="false")

    assert full["details"]["distribution"]["categories"] == ["a", "b", "c"]
    assert "distribution" not in lean["details"]
    assert lean["details"]["method"] == full["details"]["method"] == "chisquare"
    assert lean["value"] == full["value"]
    lean_all = points(history, distributions="false")
    assert not any("distribution" in p["details"] for p in lean_all)


@pytest.mark.parametrize("name", ["start", "end"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "nan", "1e400", "1e300"])
def test_a_bad_time_param_is_422_naming_it(client: TestClient, name: str, value: str) -> None:
    ingest(client, [prediction(DAY0)])

    response = client.get("/v1/models/churn/metrics", params={name: value})

    assert response.status_code == 422
    assert errors(response) == [(None, name)]
    assert name in response.json()["message"]


def test_bad_run_requests_are_422_naming_the_field(history: TestClient) -> None:
    cases = [
        ({"from": "soon", "to": TEN.isoformat()}, "from"),
        ({"from": TEN.isoformat(), "to": "later"}, "to"),
        ({"from": ELEVEN.isoformat(), "to": TEN.isoformat()}, "to"),
        ({"from": TEN.isoformat(), "to": TEN.isoformat()}, "to"),
        ({"from": TEN.isoformat(), "to": ELEVEN.isoformat(), "granularity": "2h"}, "granularity"),
    ]
    for body, field in cases:
        response = history.post("/v1/models/churn/runs", json=body)
        assert response.status_code == 422, body
        assert errors(response) == [(None, field)], body

    response = history.post("/v1/models/churn/runs", json={"to": TEN.isoformat()})
    assert response.status_code == 422  # FastAPI's own validation: "from" is missing
    assert "from" in response.text
    assert history.get("/v1/models/churn/runs").json() == {"runs": []}

    response = history.post(
        "/v1/models/ghost/runs", json={"from": TEN.isoformat(), "to": ELEVEN.isoformat()}
    )
    assert response.status_code == 404
    assert "ghost" in response.json()["message"]


def test_a_run_range_may_be_given_in_epoch_seconds(history: TestClient) -> None:
    response = run(history, TEN.timestamp(), ELEVEN.timestamp())
    assert response.status_code == 200, response.text
    assert [r["window_start"] for r in response.json()["runs"]] == [TEN.isoformat()]


# -- references ----------------------------------------------------------------------------------


def test_an_uploaded_reference_is_stored_and_used_by_the_next_run(history: TestClient) -> None:
    assert run(history, ELEVEN.isoformat(), (ELEVEN + timedelta(hours=1)).isoformat()).is_success
    [before] = points(history, metric="drift_score", column="x")
    assert before["details"]["reference"].startswith("production:2026-03-02T00:00:00")
    assert before["details"]["drifted"] is True

    table = reference(600, 5, 15)  # "normal" is now what the 11:00 window holds
    response = history.put(
        "/v1/models/churn/references/default",
        content=arrow_stream(table),
        headers={"content-type": f"{ARROW}; charset=binary"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "model": "churn",
        "reference": "default",
        "n_rows": 600,
        "columns": ["x", "plan", "prediction"],
    }

    assert run(history, ELEVEN.isoformat(), (ELEVEN + timedelta(hours=1)).isoformat()).is_success
    [after] = points(history, metric="drift_score", column="x")
    assert after["details"]["reference"] == "dataset:default"
    assert after["details"]["n_reference"] == 600
    assert after["details"]["drifted"] is False


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", "arrow", id="wrong-content-type"),
        pytest.param("", "arrow", id="no-content-type"),
        pytest.param(ARROW, b"garbage, not arrow", id="garbage"),
        pytest.param(ARROW, b"", id="empty"),
        pytest.param(ARROW, "truncated", id="truncated"),
    ],
)
def test_a_bad_reference_upload_is_422(client: TestClient, content_type: str, body: Any) -> None:
    ingest(client, [prediction(DAY0)])
    stream = arrow_stream(reference(50, 0, 10))
    content = {"arrow": stream, "truncated": stream[: len(stream) // 2]}.get(body, body)

    response = client.put(
        "/v1/models/churn/references/default",
        content=content,
        headers={"content-type": content_type},
    )

    assert response.status_code == 422
    assert errors(response) == [(None, "body")]
    assert "arrow" in response.json()["message"].lower()


def test_a_reference_of_an_unknown_model_is_404(client: TestClient) -> None:
    response = client.put(
        "/v1/models/ghost/references/default",
        content=arrow_stream(reference(10, 0, 1)),
        headers={"content-type": ARROW},
    )
    assert response.status_code == 404
    assert "ghost" in response.json()["message"]


# -- dashboard -----------------------------------------------------------------------------------


def test_dashboard_pages_show_the_model(client: TestClient) -> None:
    ingest(client, [prediction(DAY0, model="churn-eu"), prediction(DAY0, model="<b>bold")])

    for path in ("/", "/models/churn-eu"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "churn-eu" in response.text, path

    page = client.get("/models/churn-eu").text
    assert 'src="/static/plotly.min.js"' in page
    # Names are escaped, never markup.
    overview = client.get("/").text
    assert "&lt;b&gt;bold" in overview
    assert "<b>bold" not in overview

    response = client.get("/models/ghost")
    assert response.status_code == 404


def test_static_files_are_served_offline(client: TestClient) -> None:
    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert len(response.content) > 1_000_000
    assert b"plotly" in response.content[:2000].lower()

    assert "javascript" in client.get("/static/charts.js").headers["content-type"]
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/secrets.txt").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


# -- inputs at the edges: refused or stored, never a 500 (xfail marks the open bugs) -------


def _raw_record(**fields: str) -> bytes:
    """A one-record batch, with some fields given as raw JSON text."""
    parts = {"model": '"churn"', "features": '{"x": 1}', "prediction": "1", **fields}
    inner = ", ".join(f'"{k}": {v}' for k, v in parts.items())
    return b'{"records": [{' + inner.encode() + b"}]}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"records": [], "n": ' + b"7" * 5000 + b"}",
            id="integer-too-long-to-parse",
        ),
        pytest.param(
            _raw_record(features='{"x": ' + "9" * 400 + "}"), id="int-too-big-for-a-float"
        ),
        pytest.param(
            _raw_record(sample_rate="9" * 400),
            id="sample-rate-too-big-for-a-float",
        ),
        pytest.param(
            _raw_record(ts='"0001-01-01T00:00:00+01:00"'),
            id="time-before-year-1-in-utc",
        ),
        pytest.param(
            _raw_record(features='{"x": 1, "plan": "\\ud800"}'),
            id="lone-surrogate-in-a-value",
        ),
        pytest.param(
            b'{"records": [{"kind": "feedback", "model": "churn", "request_id": "r1", '
            b'"target": null}]}',
            id="feedback-with-a-null-target",
        ),
        pytest.param(_raw_record(features='{"x": NaN}'), id="nan-is-missing"),
        pytest.param(_raw_record(features='{"x": Infinity}'), id="infinity-is-refused"),
        pytest.param(_raw_record(model='"\\ud800"'), id="lone-surrogate-in-a-name"),
    ],
)
def test_ingest_never_answers_500(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/ingest", content=body)

    assert response.status_code < 500, response.text
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "params", [{"start": "0001-01-01T00:00:00+01:00"}, {"end": "9999-12-31T23:59:59-01:00"}]
)
def test_an_out_of_range_time_param_is_422(client: TestClient, params: dict[str, str]) -> None:
    ingest(client, [prediction(DAY0)])
    response = client.get("/v1/models/churn/metrics", params=params)
    assert response.status_code == 422
    assert errors(response) == [(None, next(iter(params)))]


def test_a_negative_runs_limit_is_422(client: TestClient) -> None:
    ingest(client, [prediction(DAY0)])
    response = client.get("/v1/models/churn/runs", params={"limit": -1})
    assert response.status_code == 422


def test_a_retried_batch_is_stored_once(client: TestClient) -> None:
    batch = [prediction(DAY0, record_id="rec-1"), prediction(DAY0, record_id="rec-2")]
    ingest(client, batch)
    ingest(client, batch)  # the SDK retries after a timeout that hid a success

    assert models(client)["churn"]["n_predictions"] == 2


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(
            pa.table({}),
            id="no-columns",
        ),
        pytest.param(
            pa.table({"x": pa.array([1.0, 2.0], pa.float16())}),
            id="type-duckdb-cannot-store",
        ),
        pytest.param(
            pa.table({"x": ["ten"] * 50}),
            id="type-not-matching-the-schema",
        ),
        pytest.param(pa.table({"unrelated": [1.0, 2.0]}), id="no-shared-column"),
    ],
)
def test_a_reference_upload_never_leads_to_500(client: TestClient, table: pa.Table) -> None:
    ingest(client, traffic(TEN, 50))
    upload = client.put(
        "/v1/models/churn/references/default",
        content=arrow_stream(table),
        headers={"content-type": ARROW},
    )
    assert upload.status_code < 500, upload.text
    response = run(client, TEN.isoformat(), ELEVEN.isoformat())
    assert response.status_code < 500, response.text


# -- collector: Arrow, gzip, events, feedback first, /metrics -------------------------------------


def test_an_arrow_batch_is_checked_column_wise_with_the_json_rules(client: TestClient) -> None:
    ingest(client, [prediction(DAY0, 1.0)])  # pins x as a number
    table = pa.table(
        {
            "record_id": ["a", "b", "c", "d"],
            "ts": [DAY0.timestamp() + i for i in range(4)],
            "features.x": pa.array(["1.5", "2", "ten", None]),  # numbers as text: coerced
            "features.plan": ["p", None, "q", "r"],
            "prediction": [0.1, 0.2, 0.3, float("inf")],
        }
    )
    response = client.post(
        "/v1/ingest?model=churn", content=arrow_stream(table), headers={"content-type": ARROW}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["quarantined"]) == (2, 2)
    assert errors(response) == [(2, "features.x"), (3, "prediction")]
    assert "expected a number, got the string 'ten'" in body["errors"][0]["message"]
    churn = models(client)["churn"]
    assert churn["n_predictions"] == 3
    assert [c["type"] for c in churn["schema"]["features"]] == ["number", "string"]


def test_a_model_name_with_a_slash_is_refused_by_both_wires(client: TestClient) -> None:
    table = pa.table(
        {"model": ["team/churn", "churn"], "ts": [DAY0.timestamp()] * 2, "prediction": [0.1, 0.2]}
    )
    arrow = client.post("/v1/ingest", content=arrow_stream(table), headers={"content-type": ARROW})
    as_json = client.post("/v1/ingest", json={"records": [prediction(DAY0, 1.0, model="a/b")]})

    for response in (arrow, as_json):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["quarantined"] == 1
        assert errors(response) == [(0, "model")]
        assert "contains '/'" in body["errors"][0]["message"]
    assert arrow.json()["accepted"] == 1
    assert set(models(client)) == {"churn"}


def test_arrow_numbers_and_times_are_stored_like_json_ones(client: TestClient) -> None:
    table = pa.table(
        {
            "model": ["churn"] * 3,
            "request_id": ["r1", "r2", "r3"],
            "ts": pa.array(
                [DAY0 + timedelta(minutes=i) for i in range(3)], pa.timestamp("ms", "UTC")
            ),
            "features.x": pa.array([1, 2, None], pa.int32()),
            "prediction": [0.1, float("nan"), 0.3],
        }
    )
    response = client.post(
        "/v1/ingest", content=arrow_stream(table), headers={"content-type": ARROW}
    )
    assert response.json()["accepted"] == 3
    churn = models(client)["churn"]
    assert (churn["first_ts"], churn["last_ts"]) == (DAY0.isoformat(), "2026-03-02T00:02:00+00:00")
    assert churn["schema"]["features"] == [{"name": "x", "type": "number", "role": "numerical"}]


def test_a_truncated_arrow_stream_or_unknown_column_is_refused_whole(client: TestClient) -> None:
    stream = arrow_stream(pa.table({"model": ["m"], "features.x": [1.0], "prediction": [1]}))
    for body in (stream[:-8], stream[: len(stream) // 2], b"garbage"):
        response = client.post("/v1/ingest", content=body, headers={"content-type": ARROW})
        assert response.status_code == 422
        assert errors(response) == [(None, "body")]
    odd = arrow_stream(pa.table({"model": ["m"], "x": [1.0], "prediction": [1]}))
    response = client.post("/v1/ingest", content=odd, headers={"content-type": ARROW})
    assert response.status_code == 422
    assert "features.<name>" in response.json()["message"]
    assert models(client) == {}


def test_gzip_bodies_are_inflated_within_the_size_limit(tmp_path: Path) -> None:
    import gzip

    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, max_body_bytes=4096)
    with open_client(settings) as client:
        small = json.dumps({"records": [prediction(DAY0)]}).encode()
        response = client.post(
            "/v1/ingest", content=gzip.compress(small), headers={"content-encoding": "gzip"}
        )
        assert response.json()["accepted"] == 1
        bomb = gzip.compress(b'{"records": [' + b" " * 1_000_000 + b"]}")
        assert len(bomb) < 4096
        response = client.post("/v1/ingest", content=bomb, headers={"content-encoding": "gzip"})
        assert response.status_code == 413
        assert "inflates" in response.json()["message"]
        for encoding, body in (("gzip", b"not gzip"), ("br", small)):
            response = client.post(
                "/v1/ingest", content=body, headers={"content-encoding": encoding}
            )
            assert response.status_code == 422
        assert models(client)["churn"]["n_predictions"] == 1


def test_feedback_before_its_prediction_is_kept_and_joined_later(client: TestClient) -> None:
    ingest(client, [{"kind": "feedback", "model": "churn", "request_id": "early", "target": 1}])
    ingest(client, [*traffic(TEN, 40), prediction(TEN, 5.0, request_id="early")])

    runs = run(client, TEN.isoformat(), ELEVEN.isoformat()).json()["runs"]
    assert runs[0]["n_rows"] == 41
    churn = models(client)["churn"]
    assert (churn["n_predictions"], churn["n_feedback"]) == (41, 1)
    assert churn["schema"]["target"]["type"] == "number"

    # The store joins at read time: the window's row of the prediction carries the target.
    svc = client.app.state.services  # type: ignore[attr-defined]
    window = svc.predictions.read_window("churn", Window.containing(TEN, "1h")).to_pylist()
    joined = {r["request_id"]: r["target"] for r in window}
    assert joined["early"] == 1.0
    assert sum(t is not None for t in joined.values()) == 1


def test_service_events_become_health_metrics_and_live_counters(client: TestClient) -> None:
    events = [
        {
            "kind": "event",
            "model": "churn",
            "name": "predict",
            "ts": (TEN + timedelta(seconds=i)).isoformat(),
            "latency_ms": float(i + 1),
            "status": "500" if i % 10 == 0 else "200",
            "attributes": {"route": "/predict"},
        }
        for i in range(100)
    ]
    events.append(
        {
            "kind": "event",
            "model": "churn",
            "name": "log",
            "ts": TEN.isoformat(),
            "status": "warning",
        }
    )
    assert ingest(client, events + traffic(TEN, 40)) == 141

    assert run(client, TEN.isoformat(), ELEVEN.isoformat()).status_code == 200
    health = {
        (p["metric"], p["segment_value"]): p["value"]
        for p in points(client, segment="*")
        if p["metric"] in {"event_count", "throughput", "error_rate", "latency_p50", "latency_p99"}
    }
    assert health[("event_count", "")] == 101
    assert health[("event_count", "predict")] == 100
    assert health[("throughput", "")] == pytest.approx(101 / 3600)
    assert health[("error_rate", "predict")] == pytest.approx(0.1)
    assert health[("latency_p50", "predict")] == pytest.approx(50.5)
    assert health[("latency_p99", "predict")] == pytest.approx(99.01)

    text = client.get("/metrics").text
    labels = 'event="predict",model="churn",version="unversioned"'
    assert f"sightline_events_total{{{labels}}} 100.0" in text
    assert f"sightline_event_errors_total{{{labels}}} 10.0" in text
    records = 'kind="prediction",model="churn",version="unversioned"'
    assert f"sightline_records_total{{{records}}} 40.0" in text
    assert "sightline_event_latency_seconds_bucket" in text
    assert "sightline_ingest_request_duration_seconds_count" in text


def test_service_health_is_computed_per_model_version_too(client: TestClient) -> None:
    events = [
        {
            "kind": "event",
            "model": "churn",
            "name": "predict",
            "ts": (TEN + timedelta(seconds=i)).isoformat(),
            "model_version": "v2" if i % 4 == 0 else "v1",
            "latency_ms": 100.0 if i % 4 == 0 else 10.0,
            "status": "500" if i % 8 == 0 else "200",
        }
        for i in range(80)
    ]
    assert ingest(client, events) == 80
    assert run(client, TEN.isoformat(), ELEVEN.isoformat()).status_code == 200
    found = {
        (p["metric"], p["model_version"]): p["value"]
        for p in points(client, version="*", segment="")
        if p["metric"] in {"event_count", "error_rate", "latency_p50"}
    }
    assert found[("event_count", "")] == 80
    assert found[("event_count", "v1")] == 60
    assert found[("event_count", "v2")] == 20
    assert found[("error_rate", "v1")] == 0
    assert found[("error_rate", "v2")] == pytest.approx(0.5)  # the slow new version fails too
    assert found[("latency_p50", "v1")] == 10
    assert found[("latency_p50", "v2")] == 100


def test_a_service_that_only_logs_events_is_a_model_with_health_and_no_rows(
    client: TestClient,
) -> None:
    """The ASGI middleware alone (no predictions) still gives a model: listed, computed,
    on the dashboard; what needs predictions says so."""
    events = [
        {
            "kind": "event",
            "model": "api",
            "name": "GET /items",
            "ts": (TEN + timedelta(seconds=30 * i)).isoformat(),
            "latency_ms": 12.0,
            "status": "503" if i % 20 == 0 else "200",
        }
        for i in range(120)
    ]
    assert ingest(client, events) == 120
    [model] = client.get("/v1/models").json()["models"]
    assert (model["name"], model["n_predictions"], model["schema"]["features"]) == ("api", 0, [])
    assert model["last_ts"] == (TEN + timedelta(seconds=30 * 119)).isoformat()
    body = {"from": TEN.isoformat(), "to": ELEVEN.isoformat()}
    response = client.post("/v1/models/api/runs", json=body)
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["runs"]] == ["ok"]
    assert response.json()["rollups"] == []  # health has no summaries to roll up
    errors = client.get("/v1/models/api/metrics", params={"metric": "error_rate"}).json()
    assert [p["value"] for p in errors["points"]] == [pytest.approx(0.05)]
    overview = client.get("/v1/dashboard/overview").json()["models"]
    assert [m["model"]["name"] for m in overview] == ["api"]
    assert client.get("/models/api", headers={"accept": "text/html"}).status_code == 200

    rows = client.get(
        "/v1/models/api/rows", params={"start": TEN.isoformat(), "end": ELEVEN.isoformat()}
    )
    assert rows.status_code == 404
    assert "service events only" in rows.json()["message"]
    assert client.get("/v1/models/nobody").status_code == 404
