"""The dashboard's JSON API and pages on the real app (in process).

Model ``churn`` logs 30 hours from Monday 2 March 2026: 40 predictions an hour, version ``v1``
for the first 12 hours and ``v2`` after, feature ``x`` spread over [0, 10) and ``plan``; from
hour 24 ``x`` moves to [5, 15) and ``plan`` to ``c``/``d`` (drift). The outputs are ``score``
(x / 10, capped at 1) and ``label``; the first 20 hours get ground truth; every prediction has a
service event (latency 10 ms, every tenth an error). The monitor is hourly with segment ``plan``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from sightline.config import Settings
from tests.server.conftest import ingest, open_client

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = 30
DRIFT_FROM = 24
CONFIG: dict[str, Any] = {
    "task": "classification",
    "prediction_score": "score",
    "prediction_label": "label",
    "positive_label": 1,
    "monitors": [{"name": "hourly", "granularity": "1h", "segments": ["plan"]}],
}
#: All the data at the monitor's hourly windows (``range=all`` alone picks days: the data is old).
ALL = {"range": "all", "granularity": "1h"}


def records(hour: int) -> list[dict[str, Any]]:
    start = DAY0 + timedelta(hours=hour)
    drift = hour >= DRIFT_FROM
    out = []
    for i in range(40):
        ts = (start + timedelta(seconds=90 * i)).isoformat()
        x = (5 if drift else 0) + 10 * (i + 0.5) / 40
        score = min(x / 10, 1.0)
        request_id = f"r-{hour}-{i}"
        out.append({
            "kind": "prediction", "model": "churn", "ts": ts, "request_id": request_id,
            "model_version": "v1" if hour < 12 else "v2",
            "features": {"x": x, "plan": ("cd" if drift else "aab")[i % (2 if drift else 3)]},
            "prediction": {"score": score, "label": int(score >= 0.5)},
        })  # fmt: skip
        if hour < 20:
            out.append({"kind": "feedback", "model": "churn", "request_id": request_id,
                        "ts": ts, "target": int(x >= 4)})  # fmt: skip
        out.append({"kind": "event", "model": "churn", "name": "predict", "ts": ts,
                    "latency_ms": 10.0, "status": "error" if i % 10 == 0 else "ok"})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The seeded app, every window computed (and the first day rolled up)."""
    settings = Settings.load(
        data_dir=tmp_path_factory.mktemp("dashboard") / "data", schedule_interval=0.0
    )
    with open_client(settings) as client:
        assert client.put("/v1/models/churn/config", json=CONFIG).status_code == 200
        for hour in range(HOURS):
            ingest(client, records(hour))
        body = {"from": DAY0.isoformat(), "to": (DAY0 + timedelta(hours=HOURS)).isoformat()}
        assert client.post("/v1/models/churn/runs", json=body).status_code == 200
        yield client


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    return response.json()


# -- the overview ---------------------------------------------------------------------------------


def test_an_empty_store_has_no_models(client: TestClient) -> None:
    assert get(client, "/v1/dashboard/overview") == {"models": []}
    assert "No model has logged anything yet" in client.get("/").text


def test_a_model_before_its_first_window_has_unknown_health(client: TestClient) -> None:
    ingest(client, records(0))
    [entry] = get(client, "/v1/dashboard/overview")["models"]
    assert entry["health"] == {"state": "unknown", "reasons": ["no window computed yet"]}
    assert entry["last_run"] is None
    assert entry["sparkline"]["value"] == []


def test_the_last_window_is_the_newest_not_the_last_recomputed(client: TestClient) -> None:
    for hour in range(3):
        ingest(client, records(hour))
    every = {"from": DAY0.isoformat(), "to": (DAY0 + timedelta(hours=3)).isoformat()}
    assert client.post("/v1/models/churn/runs", json=every).status_code == 200
    first = {"from": DAY0.isoformat(), "to": (DAY0 + timedelta(hours=1)).isoformat()}
    assert client.post("/v1/models/churn/runs", json=first).status_code == 200  # late labels

    [entry] = get(client, "/v1/dashboard/overview")["models"]
    assert entry["last_run"]["window_start"] == (DAY0 + timedelta(hours=2)).isoformat()


def test_the_overview_says_why_a_model_is_not_ok(app: TestClient) -> None:
    [entry] = get(app, "/v1/dashboard/overview")["models"]
    assert entry["model"]["name"] == "churn"
    assert entry["model"]["n_predictions"] == 40 * HOURS
    assert entry["last_run"]["window_start"] == (DAY0 + timedelta(hours=29)).isoformat()
    firing = {a["rule"] for a in entry["alerts"]["open"] if a["state"] == "firing"}
    assert "dataset_drift" in firing
    assert "error_rate" in firing
    assert entry["alerts"]["firing"] >= len(firing)  # prediction drift: one per output
    assert entry["health"]["state"] == "firing"
    reasons = " ".join(entry["health"]["reasons"])
    assert "firing alert" in reasons
    assert "dataset drift in 6 of the last 24 h of windows" in reasons  # hours 24..29
    # The sparkline: row counts of the last 7 days of windows before the last one computed.
    assert entry["sparkline"]["value"] == [40.0] * HOURS
    assert entry["sparkline"]["start"][0] == int(DAY0.timestamp())


def test_the_overview_page_links_each_model_and_its_alerts(app: TestClient) -> None:
    html = app.get("/").text
    assert 'href="/models/churn"' in html
    assert 'href="/alerts?model=churn"' in html
    assert re.search(r'href="/alerts/[0-9a-f]+"', html)
    assert '<span class="health firing">firing</span>' in html
    assert "<polyline points=" in html


# -- the model page's view ------------------------------------------------------------------------


def test_the_view_defaults_to_7_days_of_the_monitors_windows(app: TestClient) -> None:
    summary = get(app, "/v1/models/churn/dashboard")
    view = summary["view"]
    assert view["range"] == "7d"
    assert view["end"] is None
    start = datetime.fromisoformat(view["start"])
    assert abs((datetime.now(UTC) - start) - timedelta(days=7)) < timedelta(minutes=1)
    assert view["granularity"] == "1h"
    assert view["auto_granularity"] is True
    assert view["granularities"] == ["1h", "1d", "1w"]
    assert view["monitor"] == "hourly"
    assert view["rollup"] is False
    assert summary["latest_window"] is None  # the data is older than a week


def test_long_ranges_default_to_coarser_windows(app: TestClient) -> None:
    assert get(app, "/v1/models/churn/dashboard", range="90d")["view"]["granularity"] == "1h"
    view = get(app, "/v1/models/churn/dashboard", range="1y")["view"]
    assert view["granularity"] == "1d"
    assert view["rollup"] is True
    chosen = get(app, "/v1/models/churn/dashboard", range="1y", granularity="1h")["view"]
    assert chosen["granularity"] == "1h"
    assert chosen["auto_granularity"] is False


def test_a_short_custom_range_is_shown_inside_a_day_around_it(app: TestClient) -> None:
    start, end = DAY0 + timedelta(hours=25), DAY0 + timedelta(hours=26)
    view = get(app, "/v1/models/churn/dashboard", start=start.isoformat(), end=end.isoformat())[
        "view"
    ]
    assert view["range"] == "custom"
    assert (view["focus_start"], view["focus_end"]) == (start.isoformat(), end.isoformat())
    assert view["start"] == (start - timedelta(hours=24)).isoformat()
    assert view["end"] == (end + timedelta(hours=12)).isoformat()


def test_the_choices_are_what_the_metric_store_holds(app: TestClient) -> None:
    summary = get(app, "/v1/models/churn/dashboard", **ALL)
    assert summary["versions"] == ["v1", "v2"]
    # The reference's (the first day's) values, the others together.
    assert summary["segments"] == [{"key": "plan", "values": ["a", "b", "other"]}]
    assert [m["name"] for m in summary["monitors"]] == ["hourly"]
    assert summary["quality"]["task"] == "classification"
    assert summary["quality"]["labels"] is True
    assert summary["quality"]["realized"][0] == "accuracy"
    assert "accuracy" in summary["quality"]["estimated"]
    assert summary["service"] is True
    assert summary["drift_share"] == 0.5


def test_the_columns_carry_the_last_window_of_the_slice(app: TestClient) -> None:
    summary = get(app, "/v1/models/churn/dashboard", **ALL)
    last = DAY0 + timedelta(hours=29)
    assert summary["latest_window"]["start"] == last.isoformat()
    columns = {c["name"]: c for c in summary["columns"]}
    assert list(columns) == ["x", "plan", "score", "label"]  # features, outputs; no target
    assert (columns["x"]["role"], columns["x"]["kind"]) == ("feature", "numerical")
    assert (columns["score"]["role"], columns["plan"]["kind"]) == ("output", "categorical")
    drift = columns["x"]["drift"]
    assert drift["method"] == "ks"
    assert drift["threshold"] == 0.05
    assert drift["is_test"] is True
    assert drift["drifted"] is True
    assert drift["n_current"] == 40
    assert columns["x"]["missing_share"] == 0.0
    # One version: v1 served the first 12 hours only.
    v1 = get(app, "/v1/models/churn/dashboard", version="v1", **ALL)
    assert v1["latest_window"]["start"] == (DAY0 + timedelta(hours=11)).isoformat()
    assert v1["view"]["version"] == "v1"
    assert v1["service"] is True  # service health is shown for all traffic


def test_the_model_page_renders_the_view_from_its_url(app: TestClient) -> None:
    html = app.get("/models/churn", params={"range": "all", "segment": "plan=other"}).text
    assert '<option value="plan=other" selected>plan = other</option>' in html
    assert 'id="page-data"' in html
    assert 'href="/models/churn/features/x?range=all&amp;segment=plan%3Dother"' in html
    assert "1 day windows, rolled up from 1h windows" in html  # months of range: days
    assert 'data-range="all" aria-current="true"' in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"granularity": "5m"}, "granularity"),
        ({"granularity": "2h"}, "granularity"),
        ({"range": "2d"}, "range"),
        ({"version": "*"}, "version"),
        ({"segment": "plan"}, "segment"),
        ({"segment": "*"}, "segment"),
        ({"version": "v1", "segment": "plan=a"}, "segment"),
        ({"monitor": "nightly"}, "monitor"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-03-03", "end": "2026-03-02"}, "end"),
    ],
)
def test_a_view_that_does_not_exist_is_a_422_naming_the_parameter(
    app: TestClient, params: dict[str, str], field: str
) -> None:
    body = get(app, "/v1/models/churn/dashboard", 422, **params)
    assert body["errors"][0]["field"] == field
    # The page shows the default view and says what was wrong.
    html = app.get("/models/churn", params=params).text
    assert 'role="alert"' in html
    assert field in html


def test_an_unknown_model_is_a_404(app: TestClient) -> None:
    for path in ("/v1/models/fraud/dashboard", "/v1/models/fraud/dashboard/issues",
                 "/models/fraud", "/models/fraud/features/x"):  # fmt: skip
        assert app.get(path).status_code == 404, path


# -- series with details, issues ------------------------------------------------------------------


def test_series_carry_the_detail_fields_asked_for(app: TestClient) -> None:
    body = get(
        app, "/v1/models/churn/dashboard/series", metric=["estimated_accuracy", "accuracy"],
        column="", fields=["lower", "upper", "standard_error", "reference_value"], **ALL,
    )  # fmt: skip
    series = {s["metric"]: s for s in body["series"]}
    assert set(series) == {"accuracy", "estimated_accuracy"}
    estimate = series["estimated_accuracy"]
    n = len(estimate["start"])
    assert n == HOURS
    assert estimate["start"] == sorted(estimate["start"])
    for value, low, high, se in zip(
        estimate["value"],
        *(estimate["fields"][f] for f in ("lower", "upper", "standard_error")),
        strict=True,
    ):
        assert low == pytest.approx(value - 2 * se)
        assert high == pytest.approx(value + 2 * se)
    assert len(series["accuracy"]["start"]) == 20  # labels for the first 20 hours
    assert series["accuracy"]["fields"]["lower"] == [None] * 20
    # The realized value's noise at its labelled rows and the reference's value: the model
    # page's band and dotted line.
    realized = series["accuracy"]["fields"]
    [reference] = set(realized["reference_value"])
    assert 0 < reference <= 1
    noise = [se for se in realized["standard_error"] if se is not None]
    assert len(noise) == 20
    assert all(0 < se < 0.2 for se in noise)


def test_series_of_one_slice_and_granularity(app: TestClient) -> None:
    body = get(
        app, "/v1/models/churn/dashboard/series", metric="row_count", column="",
        segment="plan=a", range="all", granularity="1d",
    )  # fmt: skip
    [rows] = body["series"]
    assert rows["start"] == [int(DAY0.timestamp()), int(DAY0.timestamp()) + 86400]
    per_hour = sum(r.get("features", {}).get("plan") == "a" for r in records(0))
    assert rows["value"] == [24 * per_hour, 0.0]  # no plan a after the drift
    assert body["view"]["segment"] == "plan=a"
    drift = get(
        app, "/v1/models/churn/dashboard/series", metric=["drift_score", "drift_detected"],
        column="x", fields=["method", "threshold"], **ALL,
    )["series"]  # fmt: skip
    [score] = [s for s in drift if s["metric"] == "drift_score"]
    assert set(score["fields"]["method"]) == {"ks"}
    assert set(score["fields"]["threshold"]) == {0.05}
    [detected] = [s for s in drift if s["metric"] == "drift_detected"]
    drifted = [t for t, v in zip(detected["start"], detected["value"], strict=True) if v == 1]
    assert drifted[-6:] == [int((DAY0 + timedelta(hours=h)).timestamp()) for h in range(24, 30)]


def test_issues_keep_the_worst_column_of_each_window(app: TestClient) -> None:
    body = get(app, "/v1/models/churn/dashboard/issues", **ALL)
    series = {s["metric"]: s for s in body["series"]}
    assert list(series) == ["missing_share", "out_of_range_share", "unseen_share",
                            "duplicated_rows_share", "schema_changes"]  # fmt: skip
    # Compare with the points themselves.
    points = get(app, "/v1/models/churn/metrics", metric="out_of_range_share", granularity="1h",
                 details="false")["points"]  # fmt: skip
    worst: dict[int, tuple[float, str]] = {}
    for p in points:
        t = int(datetime.fromisoformat(p["window_start"]).timestamp())
        if p["model_version"] == "" and p["segment_key"] == "":
            worst[t] = max(worst.get(t, (-1.0, "")), (p["value"], p["column"]))
    oor = series["out_of_range_share"]
    assert oor["start"] == sorted(worst)
    assert oor["value"] == [worst[t][0] for t in oor["start"]]
    names = [body["columns"][i] for i in oor["column"]]
    # After the drift half the values of x (and of the score, capped at 1) are out of range.
    assert names[-1] in ("score", "x")
    assert oor["value"][-1] == pytest.approx(0.5)
    unseen = series["unseen_share"]
    assert [body["columns"][i] for i in unseen["column"]][-1] == "plan"
    assert unseen["value"][-1] == pytest.approx(1.0)  # c and d: the reference has a and b
    assert series["schema_changes"]["value"] == [0.0] * HOURS


# -- the feature page ------------------------------------------------------------------------------


def test_a_feature_opens_on_its_latest_window(app: TestClient) -> None:
    body = get(app, "/v1/models/churn/dashboard/feature", column="x", **ALL)
    last = DAY0 + timedelta(hours=29)
    assert body["column"] == {"name": "x", "type": "number", "role": "feature",
                              "kind": "numerical"}  # fmt: skip
    assert body["window"]["start"] == body["latest"] == last.isoformat()
    assert body["previous"] == (last - timedelta(hours=1)).isoformat()
    assert body["next"] is None
    drift = body["drift"]
    assert drift["drifted"] is True
    assert drift["n_current"] == 40
    distribution = drift["distribution"]
    assert len(distribution["edges"]) == len(distribution["reference"]) + 1
    assert sum(distribution["current"]) == pytest.approx(1.0)
    method = body["method"]
    assert method["name"] == "ks"
    assert method["title"] == "Kolmogorov–Smirnov"
    assert method["rule"].startswith("default rule: a numerical column whose smaller side has 40")
    assert method["threshold_source"] == "the method's default"
    assert method["direction"] == "a p-value: drift when it is below 0.05"
    assert body["quality"]["n_rows"] == 40
    assert body["quality"]["missing_share"] == 0.0
    assert body["values"]["drift_detected"] == 1.0


def test_a_chosen_window_snaps_to_the_window_containing_it(app: TestClient) -> None:
    chosen = DAY0 + timedelta(hours=5, minutes=20)
    body = get(app, "/v1/models/churn/dashboard/feature", column="plan",
               window=chosen.isoformat(), **ALL)  # fmt: skip
    assert body["window"]["start"] == (DAY0 + timedelta(hours=5)).isoformat()
    assert body["previous"] == (DAY0 + timedelta(hours=4)).isoformat()
    assert body["next"] == (DAY0 + timedelta(hours=6)).isoformat()
    assert body["drift"]["drifted"] is False
    assert body["method"]["rule"].startswith("default rule: a categorical column")
    assert body["drift"]["distribution"]["categories"]
    day = get(app, "/v1/models/churn/dashboard/feature", column="plan", granularity="1d",
              window=chosen.isoformat(), range="all")  # fmt: skip
    end = DAY0 + timedelta(days=1)
    assert day["window"] == {"start": DAY0.isoformat(), "end": end.isoformat(), "granularity": "1d"}
    assert day["method"]["rollup"] == "1h"


def test_a_method_set_in_the_monitor_says_so(settings: Settings) -> None:
    config = {
        **CONFIG,
        "monitors": [
            {
                "name": "hourly",
                "granularity": "1h",
                "methods": {"x": "psi"},
                "thresholds": {"x": 0.2},
            }
        ],
    }
    with open_client(settings) as client:
        assert client.put("/v1/models/churn/config", json=config).status_code == 200
        for hour in (0, 1):
            ingest(client, records(hour))
        body = {"from": DAY0.isoformat(), "to": (DAY0 + timedelta(hours=2)).isoformat()}
        assert client.post("/v1/models/churn/runs", json=body).status_code == 200
        method = get(client, "/v1/models/churn/dashboard/feature", column="x", **ALL)["method"]
    assert method["name"] == "psi"
    assert method["threshold"] == 0.2
    assert method["rule"] == "set for this column in the monitor's methods (psi)"
    assert method["threshold_source"] == "set for this column in the monitor's thresholds"
    assert method["direction"] == "a distance: drift when it is 0.2 or more"


def test_feature_errors(app: TestClient) -> None:
    get(app, "/v1/models/churn/dashboard/feature", 404, column="nope")
    body = get(app, "/v1/models/churn/dashboard/feature", 422, column="x", window="soon")
    assert body["errors"][0]["field"] == "window"
    html = app.get("/models/churn/features/x", params={"window": "soon"}).text
    assert 'role="alert"' in html  # the page shows the latest window and says why


def test_the_feature_page_renders_the_window(app: TestClient) -> None:
    html = app.get("/models/churn/features/x", params=ALL).text
    assert "Window 2026-03-03 05:00 – 2026-03-03 06:00" in html
    assert "Kolmogorov–Smirnov" in html
    assert "default rule" in html
    previous = quote((DAY0 + timedelta(hours=28)).isoformat(), safe="")
    assert f'href="?range=all&amp;granularity=1h&amp;window={previous}"' in html


# -- static files ----------------------------------------------------------------------------------


def test_static_files(app: TestClient) -> None:
    for name, kind in (("charts.js", "text/javascript"), ("model.js", "text/javascript"),
                       ("style.css", "text/css")):  # fmt: skip
        response = app.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
    plotly = app.get("/static/plotly.min.js")
    assert plotly.status_code == 200
    assert len(plotly.content) > 1_000_000
    for name in ("nope.js", "..%2Fapp.py", ".hidden.js", "dashboard.py"):
        assert app.get(f"/static/{name}").status_code == 404, name


def test_metrics_without_roll_ups_are_averaged_from_the_hours_when_asked(app: TestClient) -> None:
    params = {"metric": ["row_count", "error_rate", "estimated_accuracy"], "column": "",
              "range": "all", "granularity": "1d"}  # fmt: skip
    plain = {s["metric"] for s in get(app, "/v1/models/churn/dashboard/series", **params)["series"]}
    assert plain == {"row_count"}  # service health and estimates are not rolled up
    body = get(app, "/v1/models/churn/dashboard/series", rollup="true", **params)
    series = {s["metric"]: s for s in body["series"]}
    assert "approximate" not in series["row_count"]
    errors = series["error_rate"]
    assert errors["approximate"] is True
    assert (errors["granularity"], errors["from_granularity"]) == ("1d", "1h")
    assert errors["start"] == [int(DAY0.timestamp()), int(DAY0.timestamp()) + 86400]
    assert errors["value"] == pytest.approx([0.1, 0.1])  # every tenth event failed
    assert errors["n_rows"] == [24 * 40, 6 * 40]
    hours = get(app, "/v1/models/churn/dashboard/series", metric="estimated_accuracy",
                column="", **ALL)["series"][0]  # fmt: skip
    first_day = sum(v * n for v, n in zip(hours["value"][:24], hours["n_rows"][:24], strict=True))
    assert series["estimated_accuracy"]["value"][0] == pytest.approx(first_day / (24 * 40))
