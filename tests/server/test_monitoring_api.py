"""The monitoring API on the real app: metric series by version, segment and granularity, runs,
model configuration and references.

Model ``churn`` logs three hours (10:00 to 13:00) on each of two days, 40 predictions an hour
from version ``v1`` and 20 from ``v2``. Feature ``plan`` is ``a`` for half the rows and ``b``,
``c`` for a quarter each; the model's outputs are ``score`` (x / 10) and ``label``
(x >= 5). Every other prediction gets ground truth (x >= 4) half an hour later, and the uploaded
reference has the same distribution with targets, so every suite has something to compute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from sightline.config import Settings
from sightline.monitoring import Scheduler
from sightline.schema import Window
from tests.server.conftest import ingest, open_client

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ARROW = "application/vnd.apache.arrow.stream"
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
DAY1 = DAY0 + timedelta(days=1)
DAY2 = DAY0 + timedelta(days=2)
HOURS = (10, 11, 12)
PLANS = ("a", "a", "b", "c")
ROWS = {"v1": 40, "v2": 20}
#: Hourly windows that hold data.
BUSY = [DAY0 + timedelta(days=d, hours=h) for d in range(2) for h in HOURS]
CONFIG: dict[str, Any] = {
    "task": "classification",
    "prediction_score": "score",
    "prediction_label": "label",
    "positive_label": 1,
    "monitors": [{"name": "hourly", "granularity": "1h", "segments": ["plan"], "min_rows": 10}],
}


def predictions(start: datetime, version: str) -> list[dict[str, Any]]:
    n = ROWS[version]
    records = []
    for i in range(n):
        x = 10 * (i + 0.5) / n
        ts = start + timedelta(hours=1) * i / n
        records.append(
            {
                "kind": "prediction",
                "model": "churn",
                "ts": ts.isoformat(),
                "request_id": f"{version}-{ts.isoformat()}",
                "model_version": version,
                "features": {"x": x, "plan": PLANS[i % len(PLANS)]},
                "prediction": {"score": x / 10, "label": int(x >= 5)},
            }
        )
    return records


def feedback(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ground truth for every other prediction, half an hour after it."""
    return [
        {
            "kind": "feedback",
            "model": "churn",
            "request_id": r["request_id"],
            "ts": (datetime.fromisoformat(r["ts"]) + timedelta(minutes=30)).isoformat(),
            "target": int(r["features"]["x"] >= 4),
        }
        for r in records[::2]
    ]


def all_records() -> list[dict[str, Any]]:
    return [r for start in BUSY for version in ROWS for r in predictions(start, version)]


def reference_stream(n: int = 600) -> bytes:
    xs = [10 * (i + 0.5) / n for i in range(n)]
    table = pa.table(
        {
            "x": xs,
            "plan": [PLANS[i % len(PLANS)] for i in range(n)],
            "score": [x / 10 for x in xs],
            "label": [int(x >= 5) for x in xs],
            "target": [int(x >= 4) for x in xs],
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def prepare(client: TestClient) -> list[dict[str, Any]]:
    """Ingest, upload the reference, configure the monitor, compute both days; the runs."""
    records = all_records()
    ingest(client, records + feedback(records))
    response = client.put(
        "/v1/models/churn/references/default",
        content=reference_stream(),
        headers={"content-type": ARROW},
    )
    assert response.status_code == 200, response.text
    response = client.put("/v1/models/churn/config", json=CONFIG)
    assert response.status_code == 200, response.text
    response = client.post(
        "/v1/models/churn/runs", json={"from": DAY0.isoformat(), "to": DAY2.isoformat()}
    )
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


def points(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/models/churn/metrics", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["points"]
    return result


def slices(found: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(p["model_version"], p["segment_key"], p["segment_value"]) for p in found}


def row_counts(found: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], float]:
    """row_count values by (window start, version, segment key, segment value)."""
    counts = {}
    for p in found:
        if p["metric"] == "row_count":
            key = (p["window_start"], p["model_version"], p["segment_key"], p["segment_value"])
            assert key not in counts, f"two row_count points for {key}"
            counts[key] = p["value"]
    return counts


def error_fields(response: Any) -> list[str | None]:
    return [e["field"] for e in response.json()["errors"]]


class HandClock:
    def __init__(self, now: datetime):
        self.time = now

    def now(self) -> datetime:
        return self.time


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The computed model, shared by the tests that only read (none may change it)."""
    directory = tmp_path_factory.mktemp("monitored")
    settings = Settings.load(data_dir=directory / "data", schedule_interval=0.0)
    with open_client(settings) as client:
        prepare(client)
        yield client


@pytest.fixture
def computed(client: TestClient) -> TestClient:
    """The computed model, for one test that changes it."""
    prepare(client)
    return client


# -- runs ----------------------------------------------------------------------------------------


def test_a_run_computes_every_window_of_the_range(client: TestClient) -> None:
    runs = prepare(client)

    assert len(runs) == 48
    assert [r["window_start"] for r in runs] == [
        (DAY0 + timedelta(hours=h)).isoformat() for h in range(48)
    ]
    busy = {start.isoformat() for start in BUSY}
    assert [(r["status"], r["n_rows"]) for r in runs if r["window_start"] in busy] == [
        ("ok", 60)
    ] * 6
    assert {(r["status"], r["n_rows"]) for r in runs if r["window_start"] not in busy} == {
        ("no_data", 0)
    }
    assert {(r["monitor"], r["granularity"], r["trigger"], r["error"]) for r in runs} == {
        ("hourly", "1h", "manual", "")
    }


def test_runs_show_their_trigger_newest_first(computed: TestClient) -> None:
    window = {"from": BUSY[0].isoformat(), "to": (BUSY[0] + timedelta(hours=1)).isoformat()}
    response = computed.post("/v1/models/churn/runs", json={**window, "trigger": "backfill"})
    assert response.status_code == 200, response.text

    assert {(r["granularity"], r["trigger"]) for r in response.json()["rollups"]} <= {
        ("1d", "rollup"),
        ("1w", "rollup"),
    }
    latest = computed.get("/v1/models/churn/runs", params={"limit": 10}).json()["runs"]
    runs = [r for r in latest if r["granularity"] == "1h"][:3]

    assert len(runs) == 3
    assert (runs[0]["window_start"], runs[0]["trigger"], runs[0]["n_rows"]) == (
        BUSY[0].isoformat(),
        "backfill",
        60,
    )
    assert {r["trigger"] for r in runs[1:]} == {"manual"}
    everything = computed.get("/v1/models/churn/runs", params={"limit": 1000}).json()["runs"]
    hourly = [r for r in everything if r["granularity"] == "1h"]
    assert Counter(r["trigger"] for r in hourly) == {"manual": 48, "backfill": 1}
    assert computed.get("/v1/models/churn/runs", params={"monitor": "other"}).json() == {"runs": []}
    # Recomputing replaced the window's points: one row_count per slice, as before.
    counts = row_counts(points(computed, version="*", segment="*", end=window["to"]))
    assert {k: v for k, v in counts.items() if v} == {
        (window["from"], version, key, value): n
        for version, key, value, n in [
            ("", "", "", 60.0), ("v1", "", "", 40.0), ("v2", "", "", 20.0),
            ("", "plan", "a", 30.0), ("", "plan", "b", 15.0), ("", "plan", "c", 15.0),
        ]
    }  # fmt: skip


# -- versions ------------------------------------------------------------------------------------


def test_the_default_version_is_all_versions_together(monitored: TestClient) -> None:
    found = points(monitored)

    assert slices(found) == {("", "", "")}
    counts = row_counts(found)
    assert len(counts) == 48  # every window, the empty ones with a row count of 0
    assert {k[0]: v for k, v in counts.items() if v} == {s.isoformat(): 60.0 for s in BUSY}
    assert points(monitored, version="") == found


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_one_version_gives_its_rows_only(monitored: TestClient, version: str) -> None:
    found = points(monitored, version=version)

    assert slices(found) == {(version, "", "")}
    counts = row_counts(found)
    assert counts == {(s.isoformat(), version, "", ""): float(ROWS[version]) for s in BUSY}
    for p in found:
        if p["metric"] in {"missing_share", "drift_score", "label_coverage"}:
            assert p["n_rows"] == ROWS[version], p


def test_every_version_at_once(monitored: TestClient) -> None:
    everything = points(monitored, version="*")
    parts = [points(monitored, version=v) for v in ("", "v1", "v2")]

    assert slices(everything) == {("", "", ""), ("v1", "", ""), ("v2", "", "")}
    assert len(everything) == sum(len(part) for part in parts)
    counts = row_counts(everything)
    for start in BUSY:
        at = start.isoformat()
        assert counts[(at, "v1", "", "")] + counts[(at, "v2", "", "")] == counts[(at, "", "", "")]
    assert points(monitored, version="v9") == []


# -- segments ------------------------------------------------------------------------------------


def test_segments(monitored: TestClient) -> None:
    whole = points(monitored, segment="")
    by_plan = points(monitored, segment="plan")
    only_a = points(monitored, segment="plan=a")
    every = points(monitored, segment="*")

    assert whole == points(monitored)
    assert slices(whole) == {("", "", "")}
    assert slices(by_plan) == {("", "plan", "a"), ("", "plan", "b"), ("", "plan", "c")}
    assert slices(only_a) == {("", "plan", "a")}
    assert only_a == [p for p in by_plan if p["segment_value"] == "a"]
    assert slices(every) == slices(whole) | slices(by_plan)
    assert len(every) == len(whole) + len(by_plan)
    assert points(monitored, segment="plan=z") == []
    assert points(monitored, segment="region") == []

    counts = row_counts(by_plan)
    share = {"a": 30.0, "b": 15.0, "c": 15.0}  # of the 60 rows of a window
    assert counts == {(s.isoformat(), "", "plan", v): n for s in BUSY for v, n in share.items()}
    # Segments are cut across versions, not within each.
    assert points(monitored, version="v1", segment="plan") == []


# -- metric names, formats, details --------------------------------------------------------------


def test_several_metrics_in_one_query(monitored: TestClient) -> None:
    both = points(monitored, metric=["row_count", "label_coverage"])

    assert {p["metric"] for p in both} == {"row_count", "label_coverage"}
    one = points(monitored, metric="row_count")
    other = points(monitored, metric="label_coverage")
    assert len(both) == len(one) + len(other)
    assert [(p["window_start"], p["metric"]) for p in both] == sorted(
        (p["window_start"], p["metric"]) for p in one + other
    )


def point_rows(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def millis(text: str) -> int:
        return int(datetime.fromisoformat(text).timestamp() * 1000)

    return sorted(
        (
            millis(p["window_start"]), millis(p["window_end"]), p["granularity"], p["monitor"],
            p["model_version"], p["segment_key"], p["segment_value"], p["metric"], p["column"],
            p["value"], p["n_rows"], repr(p["details"]),
        )
        for p in found
    )  # fmt: skip


def column_rows(columns: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    names = [
        "window_start", "window_end", "granularity", "monitor", "model_version", "segment_key",
        "segment_value", "metric", "column", "value", "n_rows", "details",
    ]  # fmt: skip
    return sorted(
        tuple(repr(c) if n == "details" else c for n, c in zip(names, row, strict=True))
        for row in zip(*(columns[n] for n in names), strict=True)
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"version": "*", "segment": "*"},
        {"metric": ["drift_score", "accuracy"], "version": "v1"},
        {"segment": "plan=b", "column": "x"},
    ],
)
def test_the_columns_format_holds_what_the_points_format_holds(
    monitored: TestClient, params: dict[str, Any]
) -> None:
    response = monitored.get("/v1/models/churn/metrics", params={**params, "format": "columns"})
    assert response.status_code == 200, response.text
    body = response.json()
    columns = body["columns"]

    assert body["model"] == "churn"
    lengths = {name: len(values) for name, values in columns.items()}
    assert len(set(lengths.values())) == 1, lengths
    found = points(monitored, **params)
    assert found
    assert set(lengths.values()) == {len(found)}
    assert all(isinstance(t, int) for t in columns["window_start"])
    starts = {datetime.fromisoformat(p["window_start"]) for p in found}
    assert set(columns["window_start"]) == {int(t.timestamp()) * 1000 for t in starts}  # epoch ms
    assert column_rows(columns) == point_rows(found)


def test_details_and_distributions_can_be_left_out(monitored: TestClient) -> None:
    query = {"metric": "drift_score", "column": "plan"}
    full = points(monitored, **query)
    lean = points(monitored, **query, distributions="false")
    bare = points(monitored, **query, details="false")

    assert len(full) == len(lean) == len(bare) == 6
    assert all(p["details"]["distribution"]["categories"] == ["a", "b", "c"] for p in full)
    for with_all, without, with_none in zip(full, lean, bare, strict=True):
        assert "distribution" not in without["details"]
        assert without["details"] == {
            k: v for k, v in with_all["details"].items() if k != "distribution"
        }
        assert with_none["details"] == {}
        assert with_all["value"] == without["value"] == with_none["value"]

    def columns(**params: str) -> dict[str, list[Any]]:
        response = monitored.get(
            "/v1/models/churn/metrics", params={**query, **params, "format": "columns"}
        )
        assert response.status_code == 200, response.text
        result: dict[str, list[Any]] = response.json()["columns"]
        return result

    assert columns()["details"] == [p["details"] for p in full]
    assert columns(distributions="false")["details"] == [p["details"] for p in lean]
    assert "details" not in columns(details="false")


# -- model quality and estimates -----------------------------------------------------------------


def test_model_quality_comes_from_the_labelled_rows(monitored: TestClient) -> None:
    records = all_records()
    labelled = {f["request_id"]: f["target"] for f in feedback(records)}
    for version in ("", "v1", "v2"):
        quality = {
            (p["metric"], p["window_start"]): p
            for p in points(monitored, version=version, metric=["label_coverage", "accuracy"])
        }
        for start in BUSY:
            rows = [
                r
                for r in records
                if start <= datetime.fromisoformat(r["ts"]) < start + timedelta(hours=1)
                and version in ("", r["model_version"])
            ]
            truth = [
                (r["prediction"]["label"], labelled[r["request_id"]])
                for r in rows
                if r["request_id"] in labelled
            ]
            coverage = quality[("label_coverage", start.isoformat())]
            assert coverage["value"] == pytest.approx(len(truth) / len(rows))
            assert coverage["details"]["n_labelled"] == len(truth)
            accuracy = quality[("accuracy", start.isoformat())]
            assert accuracy["value"] == pytest.approx(sum(p == t for p, t in truth) / len(truth))
            assert accuracy["n_rows"] == len(truth)

    found = {p["metric"] for p in points(monitored)}
    assert {"precision", "recall", "f1", "roc_auc", "log_loss", "brier_score"} <= found
    [delay] = {p["value"] for p in points(monitored, metric="label_delay_p50")}
    assert delay == pytest.approx(1800.0)


def test_estimated_quality_comes_from_the_reference_scores(monitored: TestClient) -> None:
    names = ["estimated_accuracy", "estimated_precision", "estimated_recall", "estimated_f1"]
    estimated = points(monitored, metric=names)

    assert {p["metric"] for p in estimated} == set(names)
    assert {p["window_start"] for p in estimated} == {s.isoformat() for s in BUSY}
    [accuracy] = [
        p
        for p in estimated
        if p["metric"] == "estimated_accuracy" and p["window_start"] == BUSY[0].isoformat()
    ]
    assert {"standard_error", "lower", "upper", "realized"} <= set(accuracy["details"])
    realized = points(monitored, metric="accuracy", end=(BUSY[0] + timedelta(hours=1)).isoformat())
    assert accuracy["details"]["realized"] == pytest.approx(realized[0]["value"])
    assert accuracy["details"]["lower"] <= accuracy["value"] <= accuracy["details"]["upper"]


def test_quality_points_carry_the_references_quality_as_their_baseline(
    monitored: TestClient,
) -> None:
    reference = pa.ipc.open_stream(reference_stream()).read_all()
    target, label = reference.column("target").to_numpy(), reference.column("label").to_numpy()
    expected = {
        "accuracy": accuracy_score(target, label),  # 0.9: labels x >= 5 of targets x >= 4
        "roc_auc": roc_auc_score(target, reference.column("score").to_numpy()),
        "estimated_accuracy": accuracy_score(target, label),
    }
    for metric, value in expected.items():
        found = points(monitored, metric=metric, version="*")
        assert found, metric
        assert [p["details"]["reference_value"] for p in found] == pytest.approx(
            [value] * len(found)
        ), metric


def window_metrics(client: TestClient, start: datetime) -> set[str]:
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    assert client.post("/v1/models/churn/runs", json=window).status_code == 200
    end = (start + timedelta(hours=1)).isoformat()
    return {p["metric"] for p in points(client, start=start.isoformat(), end=end)}


def test_labels_that_come_after_the_window_are_used_when_it_is_recomputed(
    client: TestClient,
) -> None:
    """The first day (the reference) has no labels; a window is computed before its own
    labels come, then again after: its quality is computed then, not stuck at 'no labels'."""
    records = all_records()
    early = [r for r in records if r["ts"] >= DAY1.isoformat()]
    ingest(client, records + feedback(early[-20:]))  # the model has ground truth, elsewhere
    assert client.put("/v1/models/churn/config", json=CONFIG).status_code == 200

    assert "accuracy" not in window_metrics(client, BUSY[3])
    ingest(client, feedback([r for r in early if r["ts"] < BUSY[4].isoformat()]))
    assert {"label_coverage", "accuracy", "roc_auc"} <= window_metrics(client, BUSY[3])


def test_a_reference_uploaded_before_any_label_keeps_its_target(client: TestClient) -> None:
    records = all_records()
    ingest(client, records)  # predictions only: the model has no ground truth yet
    response = client.put(
        "/v1/models/churn/references/default",
        content=reference_stream(),
        headers={"content-type": ARROW},
    )
    assert response.status_code == 200, response.text
    assert "target" in response.json()["columns"]
    assert client.put("/v1/models/churn/config", json=CONFIG).status_code == 200

    ingest(client, feedback(records))  # the labels come: CBPE and the baseline work from now
    found = window_metrics(client, BUSY[0])
    assert {"accuracy", "estimated_accuracy"} <= found
    [accuracy] = points(client, metric="accuracy", end=(BUSY[0] + timedelta(hours=1)).isoformat())
    assert accuracy["details"]["reference_value"] == pytest.approx(0.9)


def test_without_targets_in_the_reference_there_is_no_estimate(client: TestClient) -> None:
    records = all_records()
    ingest(client, records + feedback(records))
    table = pa.ipc.open_stream(reference_stream()).read_all().drop_columns(["target"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    response = client.put(
        "/v1/models/churn/references/default",
        content=sink.getvalue().to_pybytes(),
        headers={"content-type": ARROW},
    )
    assert response.json()["columns"] == ["x", "plan", "score", "label"]
    assert client.put("/v1/models/churn/config", json=CONFIG).status_code == 200
    window = {"from": BUSY[0].isoformat(), "to": (BUSY[0] + timedelta(hours=1)).isoformat()}
    assert client.post("/v1/models/churn/runs", json=window).status_code == 200

    found = {p["metric"] for p in points(client, version="*", segment="*")}
    assert {"label_coverage", "accuracy", "roc_auc"} <= found  # from the window's own labels
    assert not any(name.startswith("estimated_") for name in found)
    # Without labels in the reference, rules compare quality with the trailing windows.
    accuracy = points(client, metric="accuracy", version="*")
    assert accuracy
    assert not any("reference_value" in p["details"] for p in accuracy)


# -- roll-ups ------------------------------------------------------------------------------------


def test_daily_points_come_from_the_roll_up_of_the_hours(computed: TestClient) -> None:
    # The POST that computed the hours rolled up their closed days too.
    svc = computed.app.state.services  # type: ignore[attr-defined]
    clock = HandClock(DAY2 + timedelta(hours=1))
    scheduler = Scheduler(svc.runner, clock=clock, delay=timedelta(minutes=5), interval=0)
    assert [r for r in scheduler.run_pending() if r.granularity == "1d"] == []  # nothing left
    hourly = row_counts(points(computed, granularity="1h", version="*", segment="*"))
    daily = row_counts(points(computed, granularity="1d", version="*", segment="*"))
    assert len(daily) == 2 * 6  # two days of six slices (all, v1, v2, three plans)
    for (start, *part), value in daily.items():
        day = datetime.fromisoformat(start)
        inside = [
            v
            for (s, *p), v in hourly.items()
            if p == part and day <= datetime.fromisoformat(s) < day + timedelta(days=1)
        ]
        assert value == sum(inside), (start, part)
    assert daily[(DAY0.isoformat(), "", "", "")] == 180.0
    assert daily[(DAY1.isoformat(), "v2", "", "")] == 60.0
    assert {p["granularity"] for p in points(computed, granularity="1h")} == {"1h"}
    [coverage] = points(computed, granularity="1d", metric="label_coverage", end=DAY1.isoformat())
    assert coverage["value"] == pytest.approx(0.5)
    assert coverage["n_rows"] == 180
    # The roll-ups are runs of their own, and a second pass has nothing left to do.
    recorded = computed.get("/v1/models/churn/runs", params={"limit": 1000}).json()["runs"]
    days = {
        r["window_start"] for r in recorded if (r["granularity"], r["trigger"]) == ("1d", "rollup")
    }
    assert days == {DAY0.isoformat(), DAY1.isoformat()}
    assert scheduler.run_pending() == []


def test_a_roll_up_through_the_runner(computed: TestClient) -> None:
    svc = computed.app.state.services  # type: ignore[attr-defined]
    run = svc.runner.run_rollup("churn", svc.runner.monitor("churn"), Window(DAY1, DAY2, "1d"))

    assert (run.status, run.n_rows, run.trigger) == ("ok", 180, "rollup")
    daily = points(computed, granularity="1d", metric="row_count", version="v1")
    day1 = [p for p in daily if p["window_start"] == DAY1.isoformat()]
    assert [p["value"] for p in day1] == [120.0]
    assert day1[0]["details"]["rollup"] == "1h"


# -- configuration -------------------------------------------------------------------------------


def test_model_config_round_trip(settings: Settings) -> None:
    with open_client(settings) as client:
        before = client.get("/v1/models/churn/config")
        assert before.status_code == 200
        default = before.json()
        assert [(m["name"], m["granularity"]) for m in default["monitors"]] == [("default", "1h")]

        put = client.put("/v1/models/churn/config", json=CONFIG)
        assert put.status_code == 200, put.text
        configured = put.json()
        assert configured["name"] == "churn"
        assert configured["prediction_score"] == "score"
        [monitor] = configured["monitors"]
        assert (monitor["name"], monitor["segments"], monitor["min_rows"]) == (
            "hourly",
            ["plan"],
            10,
        )
        assert client.get("/v1/models/churn/config").json() == configured
        assert client.get("/v1/config").json()["api_models"] == {"churn": configured}
        assert client.get("/v1/models/fraud/config").json() == {**default, "name": "fraud"}

    # After a restart the configuration is still there: it is kept in the metric store.
    with open_client(settings) as restarted:
        assert restarted.get("/v1/models/churn/config").json() == configured

        deleted = restarted.delete("/v1/models/churn/config")
        assert deleted.status_code == 200
        assert deleted.json() == default
        assert restarted.get("/v1/models/churn/config").json() == default
        assert restarted.get("/v1/config").json()["api_models"] == {}

    with open_client(settings) as again:
        assert again.get("/v1/models/churn/config").json() == default


def test_the_config_endpoint_shows_the_file_and_the_api_models(tmp_path: Any) -> None:
    path = tmp_path / "sightline.yaml"
    path.write_text("defaults:\n  granularity: 1d\nmodels:\n  fraud:\n    min_rows: 5\n")
    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, config=str(path))
    with open_client(settings) as client:
        assert client.put("/v1/models/churn/config", json={"delay": "2h"}).status_code == 200
        config = client.get("/v1/config").json()

        assert config["defaults"]["monitors"][0]["granularity"] == "1d"
        assert config["models"]["fraud"]["monitors"][0]["min_rows"] == 5
        [churn] = config["api_models"]["churn"]["monitors"]
        assert (churn["granularity"], churn["delay"]) == ("1d", 7200.0)  # over the defaults
        fraud = client.get("/v1/models/fraud/config").json()
        assert fraud == config["models"]["fraud"]


BAD_CONFIGS = [
    pytest.param(
        {"monitors": [{"granularity": "7m"}]}, "monitors[0].granularity", id="granularity"
    ),
    pytest.param({"granularty": "1h"}, "granularty", id="unknown-field"),
    pytest.param({"reference": {"dataset": "a", "previous_window": True}}, "reference", id="ref"),
    pytest.param({"delay": "soon"}, "delay", id="delay"),
    pytest.param({"methods": {"x": "psy"}}, "methods.x", id="method"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CONFIGS)
def test_a_bad_model_config_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.put("/v1/models/churn/config", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["message"].startswith(f"field '{field}': ")
    assert client.get("/v1/config").json()["api_models"] == {}


@pytest.mark.parametrize(("body", "field"), BAD_CONFIGS[:1])
def test_a_bad_model_config_is_a_422_like_every_bad_body(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.put("/v1/models/churn/config", json=body)

    assert response.status_code == 422
    assert error_fields(response) == [field]


def test_a_model_config_that_is_not_an_object_is_422(client: TestClient) -> None:
    response = client.put("/v1/models/churn/config", json=["granularity", "1h"])
    assert response.status_code == 422
    assert error_fields(response) == ["body"]


# -- references, unknown models, bad parameters --------------------------------------------------


def test_references_lists_the_upload(monitored: TestClient) -> None:
    response = monitored.get("/v1/models/churn/references")

    assert response.status_code == 200
    [reference] = response.json()["references"]
    assert (reference["name"], reference["n_rows"]) == ("default", 600)
    uploaded = datetime.fromisoformat(reference["created_at"])
    assert uploaded.utcoffset() == timedelta(0)
    assert timedelta(0) <= datetime.now(UTC) - uploaded < timedelta(hours=1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models/ghost/metrics"),
        ("GET", "/v1/models/ghost/runs"),
        ("POST", "/v1/models/ghost/runs"),
        ("GET", "/v1/models/ghost/references"),
    ],
)
def test_an_unknown_model_is_404(monitored: TestClient, method: str, path: str) -> None:
    body = {"from": DAY0.isoformat(), "to": DAY1.isoformat()} if method == "POST" else None
    response = monitored.request(method, path, json=body)

    assert response.status_code == 404
    assert "ghost" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"granularity": "2h"}, "granularity"),
        ({"granularity": "1H"}, "granularity"),
        ({"format": "csv"}, "query.format"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_metric_parameters_are_422_naming_them(
    monitored: TestClient, params: dict[str, str], field: str
) -> None:
    response = monitored.get("/v1/models/churn/metrics", params=params)

    assert response.status_code == 422
    assert error_fields(response) == [field]
