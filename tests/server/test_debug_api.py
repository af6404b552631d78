"""The debugging API on the real app: the rows behind a window (filters, paging, order, ground
truth, CSV and Parquet downloads) and the ranking of what moved in it.

Model ``churn``: a normal day (DAY0, 720 predictions, ``x`` spread over [0, 10), plans a, b, c)
— its reference, the first day of production data — then one shifted hour on DAY1 (120
predictions, ``x`` over [5, 15), plans mostly c and a new d), segmented by ``plan``. Every
third prediction of that hour has ground truth (1 when ``x`` >= 10).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sightline.config import Settings
from tests.server.conftest import DAY0, DAY1, SHIFTED, ingest, open_client, traffic

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

HOUR = {"start": DAY1.isoformat(), "end": (DAY1 + timedelta(hours=1)).isoformat()}
CONFIG = {"monitors": [{"name": "hourly", "granularity": "1h", "segments": ["plan"]}]}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module (the tests only read)."""
    path = tmp_path_factory.mktemp("debug")
    settings = Settings.load(data_dir=path / "data", schedule_interval=0.0)
    with open_client(settings) as client:
        ingest(client, traffic(DAY0, 720, span=timedelta(days=1)))
        shifted = traffic(DAY1, 120, low=5, high=15, plans=SHIFTED)
        ingest(client, shifted)
        labels = [
            {
                "kind": "feedback",
                "model": "churn",
                "request_id": r["request_id"],
                "ts": (DAY1 + timedelta(hours=3)).isoformat(),
                "target": int(r["features"]["x"] >= 10),
            }
            for r in shifted[::3]
        ]
        ingest(client, labels)
        assert client.put("/v1/models/churn/config", json=CONFIG).status_code == 200
        body = {"from": DAY1.isoformat(), "to": HOUR["end"]}
        runs = client.post("/v1/models/churn/runs", json=body).json()["runs"]
        assert [r["status"] for r in runs] == ["ok"]
        yield client


def rows(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/models/churn/rows", params={**HOUR, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def values(body: dict[str, Any], name: str) -> list[Any]:
    index = [c["name"] for c in body["columns"]].index(name)
    return [row[index] for row in body["rows"]]


# -- rows ----------------------------------------------------------------------------------


def test_rows_of_a_window_with_their_ground_truth(seeded: TestClient) -> None:
    body = rows(seeded, limit=5)
    assert body["total"] == 120
    assert [(c["name"], c["kind"]) for c in body["columns"]] == [
        ("request_id", "string"), ("ts", "time"), ("model_version", "string"),
        ("x", "number"), ("plan", "string"), ("prediction", "number"), ("target", "number"),
        ("feedback_ts", "time"),
    ]  # fmt: skip
    assert len(body["rows"]) == 5
    assert values(body, "ts")[0] == DAY1.isoformat()
    assert values(body, "x")[:2] == [5 + 10 * 0.5 / 120, 5 + 10 * 1.5 / 120]
    assert values(body, "target")[:4] == [0, None, None, 0]
    assert values(body, "feedback_ts")[0] == (DAY1 + timedelta(hours=3)).isoformat()


def test_without_a_range_the_latest_window_is_listed(seeded: TestClient) -> None:
    response = seeded.get("/v1/models/churn/rows")
    assert response.status_code == 200
    body = response.json()
    assert (body["start"], body["end"], body["total"]) == (HOUR["start"], HOUR["end"], 120)
    only_start = seeded.get("/v1/models/churn/rows", params={"start": DAY0.isoformat()}).json()
    assert only_start["end"] == (DAY0 + timedelta(hours=1)).isoformat()
    assert only_start["total"] == 30


def test_filters_paging_and_order(seeded: TestClient) -> None:
    selection = ["x>=10", "x<12", "plan=d", "plan=a"]  # x in [10, 12): 24 rows, 6 of them d
    body = rows(seeded, filter=selection, order="-x", limit=4)
    xs = values(body, "x")
    assert body["total"] == 6
    assert len(xs) == 4
    assert xs == sorted(xs, reverse=True)
    assert all(10 <= x < 12 for x in xs)
    assert body["filters"] == selection
    everything = values(rows(seeded, filter=selection, limit=100), "x")
    pages = []
    for offset in range(0, 6, 4):
        page = rows(seeded, filter=selection, limit=4, offset=offset)
        assert page["total"] == 6
        pages += values(page, "x")
    assert pages == everything
    assert set(values(rows(seeded, filter=["plan!=c"], limit=100), "plan")) == {"d"}


def test_ground_truth_and_versions(seeded: TestClient) -> None:
    labelled = rows(seeded, labelled="true", limit=100)
    assert labelled["total"] == 40
    assert None not in values(labelled, "target")
    assert rows(seeded, labelled="false")["total"] == 80
    assert rows(seeded, filter=["target=1"])["total"] == 20  # x >= 10: 60 rows, every third
    assert rows(seeded, version="v9")["total"] == 0
    assert rows(seeded, order="-target", limit=1)["rows"][0][6] == 1


def test_columns_can_be_chosen(seeded: TestClient) -> None:
    body = rows(seeded, column=["x", "record_id", "tags"], limit=2)
    assert [c["name"] for c in body["columns"]] == ["x", "record_id", "tags"]
    assert len(body["rows"][0]) == 3


def test_csv_download_round_trips_through_pandas(seeded: TestClient) -> None:
    params = {**HOUR, "filter": ["plan=c"], "order": "-x"}
    response = seeded.get("/v1/models/churn/rows.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-total-count"] == "90"
    assert "attachment" in response.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(response.content))
    expected = rows(seeded, filter=["plan=c"], order="-x", limit=1000)
    assert len(frame) == 90
    assert list(frame.columns) == [c["name"] for c in expected["columns"]]
    assert frame["x"].tolist() == values(expected, "x")
    assert frame["request_id"].tolist() == values(expected, "request_id")
    times = pd.to_datetime(frame["ts"], utc=True)
    assert times.iloc[-1] == pd.Timestamp(values(expected, "ts")[-1])
    targets = frame["target"].tolist()
    assert [None if pd.isna(t) else t for t in targets] == values(expected, "target")


def test_parquet_download_round_trips_through_pyarrow(seeded: TestClient) -> None:
    params = {**HOUR, "labelled": "true"}
    response = seeded.get("/v1/models/churn/rows.parquet", params=params)
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    expected = rows(seeded, labelled="true", limit=1000)
    assert table.num_rows == 40
    assert table.column_names == [c["name"] for c in expected["columns"]]
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.column("x").to_pylist() == values(expected, "x")
    assert table.column("target").to_pylist() == values(expected, "target")
    frame = pd.read_parquet(io.BytesIO(response.content))
    assert frame["ts"].iloc[0] == pd.Timestamp(values(expected, "ts")[0])


def test_downloads_take_limit_and_offset(seeded: TestClient) -> None:
    response = seeded.get("/v1/models/churn/rows.csv", params={**HOUR, "limit": 10, "offset": 115})
    assert response.headers["x-total-count"] == "120"
    assert response.headers["x-row-count"] == "5"
    assert len(pd.read_csv(io.BytesIO(response.content))) == 5
    empty = seeded.get("/v1/models/churn/rows.csv", params={**HOUR, "filter": "x>100"})
    assert empty.status_code == 200
    assert pd.read_csv(io.BytesIO(empty.content)).columns[0] == "request_id"


def test_a_model_name_with_any_characters(settings: Settings) -> None:
    name = 'prix "été" v2'
    with open_client(settings) as client:
        ingest(client, traffic(DAY0, 10, model=name))
        path = f"/v1/models/{name}/rows.csv"
        response = client.get(path, params={"start": DAY0.isoformat()})
        assert response.status_code == 200
        disposition = response.headers["content-disposition"]
        assert 'filename="prix_t_v2-20260302T0000-20260302T0100.csv"' in disposition
        assert "filename*=UTF-8''prix%20%22%C3%A9t%C3%A9%22%20v2-" in disposition
        assert len(pd.read_csv(io.BytesIO(response.content))) == 10
        assert client.get(path.replace(".csv", "")).json()["total"] == 10


# -- ranking -------------------------------------------------------------------------------


def test_ranking_of_a_drifted_window(seeded: TestClient) -> None:
    response = seeded.get(f"/v1/models/churn/windows/{DAY1.isoformat()}/ranking")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == {**HOUR, "granularity": "1h"}
    assert (body["monitor"], body["n_rows"], body["dataset_drift"]) == ("hourly", 120, True)
    features = body["features"]
    assert {f["column"] for f in features} == {"x", "plan", "prediction"}
    strengths = [f["strength"] for f in features]
    assert strengths == sorted(strengths, reverse=True)
    assert all(f["drifted"] and f["strength"] > 1 for f in features)
    roles = {f["column"]: f["role"] for f in features}
    assert roles == {"x": "feature", "plan": "feature", "prediction": "output"}
    plan = next(f for f in features if f["column"] == "plan")
    assert plan["moved"][0]["category"] in ("c", "d")
    assert len(plan["moved"]) <= 3
    assert set(plan["distribution"]) == {"categories", "reference", "current"}
    x = next(f for f in features if f["column"] == "x")
    assert len(x["distribution"]["edges"]) == len(x["distribution"]["current"]) + 1
    segments = body["segments"]
    assert {(s["kind"], s["key"], s["value"]) for s in segments} >= {
        ("segment", "plan", "c"),
    }
    shares = [s["share_of_drifted_columns"] for s in segments]
    assert shares == sorted(shares, key=lambda v: -1 if v is None else v, reverse=True)
    lean = seeded.get(
        f"/v1/models/churn/windows/{DAY1.isoformat()}/ranking", params={"distributions": False}
    ).json()
    assert "distribution" not in lean["features"][0]


def test_ranking_of_any_time_in_the_window_and_of_an_empty_one(seeded: TestClient) -> None:
    later = (DAY1 + timedelta(minutes=59)).timestamp()
    body = seeded.get(f"/v1/models/churn/windows/{later}/ranking").json()
    assert body["window"]["start"] == HOUR["start"]
    empty = seeded.get(f"/v1/models/churn/windows/{DAY0.isoformat()}/ranking").json()
    assert (empty["features"], empty["segments"], empty["n_rows"]) == ([], [], None)
    daily = seeded.get(
        f"/v1/models/churn/windows/{DAY1.isoformat()}/ranking", params={"granularity": "1d"}
    ).json()
    assert daily["window"]["granularity"] == "1d"


# -- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("rows", {"start": "yesterday"}, "start"),
        ("rows", {"end": "soon"}, "end"),
        ("rows", {"start": HOUR["end"], "end": HOUR["start"]}, "end"),
        ("rows", {"filter": ["x>1", "x>>1"]}, "filter[1]"),
        ("rows", {"filter": "height>1"}, "filter[0]"),
        ("rows", {"filter": "plan>b"}, "filter[0]"),
        ("rows", {"filter": ["x>1"] * 51}, "filter"),
        ("rows", {"order": "-height"}, "order"),
        ("rows", {"column": ["x", "nope"]}, "column"),
        ("rows", {"limit": 0}, "query.limit"),
        ("rows", {"limit": 1001}, "query.limit"),
        ("rows", {"offset": -1}, "query.offset"),
        ("rows", {"limit": "many"}, "query.limit"),
        ("rows", {"labelled": "maybe"}, "query.labelled"),
        ("rows.csv", {"filter": "x>=ten"}, "filter[0]"),
        ("rows.csv", {"limit": 2_000_000}, "query.limit"),
        ("rows.parquet", {"filter": "plan is gone"}, "filter[0]"),
        ("rows.parquet", {"end": "2026-13-01"}, "end"),
        (f"windows/{DAY1.isoformat()}/ranking", {"granularity": "2h"}, "granularity"),
        (f"windows/{DAY1.isoformat()}/ranking", {"monitor": "nightly"}, "monitor"),
        ("windows/not-a-time/ranking", {}, "start"),
        (
            f"windows/{DAY1.isoformat()}/ranking",
            {"distributions": "perhaps"},
            "query.distributions",
        ),
    ],
)
def test_every_bad_parameter_is_a_422_naming_it(
    seeded: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = seeded.get(f"/v1/models/churn/{path}", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert body["message"]


@pytest.mark.parametrize(
    "path", ["rows", "rows.csv", "rows.parquet", f"windows/{DAY1.isoformat()}/ranking"]
)
def test_an_unknown_model_is_a_404(seeded: TestClient, path: str) -> None:
    response = seeded.get(f"/v1/models/nope/{path}")
    assert response.status_code == 404
    assert "nope" in response.json()["message"]
