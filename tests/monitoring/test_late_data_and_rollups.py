"""Late ground truth recomputes exactly the windows it belongs to; roll-ups of hourly summaries
equal the daily computation on the same rows. Time is a clock moved by hand."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sightline.monitoring import JobRunner, Scheduler
from sightline.schema import MetricPoint, Window
from sightline.schema.monitors import ModelConfig, Monitor
from sightline.server.ingest import Ingestor
from sightline.store import MetricStore, PredictionStore
from tests.monitoring.conftest import DAY0
from tests.monitoring.test_scheduler import FakeClock

DELAY = timedelta(minutes=5)


def log(store: PredictionStore, records: list[dict[str, Any]], received: datetime) -> None:
    result = Ingestor(store).ingest({"records": records}, received)
    assert not result.errors


def predictions(start: datetime, hours: int, per_hour: int, seed: int = 1) -> list[dict[str, Any]]:
    """A scored binary classifier's traffic: score, label, a numerical and a categorical
    feature, request ids ``r-<hour>-<i>``."""
    rng = random.Random(seed)
    records = []
    for h in range(hours):
        for i in range(per_hour):
            score = rng.random()
            records.append(
                {
                    "kind": "prediction",
                    "model": "m",
                    "request_id": f"r-{h}-{i}",
                    "ts": (start + timedelta(hours=h, seconds=i * 3600 / per_hour)).isoformat(),
                    "features": {
                        "x": round(rng.gauss(50, 10), 1),
                        "plan": rng.choice(["a", "b", "c"]),
                    },
                    "prediction": {"score": score, "label": int(score >= 0.5)},
                }
            )
    return records


def feedback(records: list[dict[str, Any]], seed: int = 2) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "kind": "feedback",
            "model": "m",
            "request_id": r["request_id"],
            "target": int(rng.random() < r["prediction"]["score"]),
        }
        for r in records
    ]


def by_metric(points: list[MetricPoint]) -> dict[tuple[str, str], MetricPoint]:
    return {(p.metric, p.column): p for p in points}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY0)


@pytest.fixture
def runner(predictions_store: PredictionStore, metrics: MetricStore, clock: FakeClock) -> JobRunner:
    return JobRunner(predictions_store, metrics, clock=clock)


@pytest.fixture
def predictions_store(predictions: PredictionStore) -> PredictionStore:
    return predictions


def test_late_labels_recompute_exactly_the_windows_they_belong_to(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner, clock: FakeClock
) -> None:
    traffic = predictions(DAY0, hours=4, per_hour=60)
    log(predictions_store, traffic, received=DAY0 + timedelta(hours=4))
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, lookback=timedelta(days=30), interval=0)

    clock.set(DAY0 + timedelta(hours=4) + DELAY)
    first = scheduler.run_pending()
    assert [(r.window_start, r.trigger) for r in first] == [
        (DAY0 + timedelta(hours=h), "schedule") for h in range(4)
    ]
    coverage = metrics.query("m", metric="label_coverage", model_version="")
    assert {p.value for p in coverage} == {0.0}

    # A day later, the labels of the second hour arrive, and only those.
    clock.set(DAY0 + timedelta(days=1))
    log(predictions_store, feedback(traffic[60:120]), received=clock.now())
    clock.set(DAY0 + timedelta(days=1, minutes=2))
    second = scheduler.run_pending()
    assert [(r.window_start, r.trigger) for r in second if r.trigger != "schedule"] == [
        (DAY0 + timedelta(hours=1), "late_data")
    ]
    # (the rest of day 0 closed meanwhile: its hours are computed as empty)
    assert {r.status for r in second if r.trigger == "schedule"} == {"no_data"}
    hour = {
        p.window_start: p for p in metrics.query("m", metric="label_coverage", model_version="")
    }
    assert hour[DAY0 + timedelta(hours=1)].value == 1.0
    assert hour[DAY0].value == hour[DAY0 + timedelta(hours=2)].value == 0.0
    accuracy = metrics.query("m", metric="accuracy", model_version="")
    assert [p.window_start for p in accuracy] == [DAY0 + timedelta(hours=1)]

    # Once day 0 has closed (its last hour, then its roll-up), nothing new: nothing recomputed.
    clock.set(DAY0 + timedelta(days=1, minutes=10))
    assert [(r.granularity, r.trigger) for r in scheduler.run_pending()] == [
        ("1h", "schedule"),
        ("1d", "rollup"),
    ]
    clock.set(DAY0 + timedelta(days=1, minutes=20))
    assert scheduler.run_pending() == []

    # Labels older than the lookback are stored but do not recompute anything.
    clock.set(DAY0 + timedelta(days=45))
    log(predictions_store, feedback(traffic[:60]), received=clock.now())
    assert [r.trigger for r in scheduler.run_pending()].count("late_data") == 0


def test_a_rolled_up_day_equals_the_day_computed_from_its_rows(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner, clock: FakeClock
) -> None:
    day = predictions(DAY0, hours=24, per_hour=50, seed=5)
    log(predictions_store, day, received=DAY0 + timedelta(hours=1))
    log(predictions_store, feedback(day), received=DAY0 + timedelta(hours=2))
    hourly = Monitor(name="hourly", granularity="1h")
    daily = Monitor(name="daily", granularity="1d")
    runner.set_config(ModelConfig("m", monitors=(hourly, daily)))
    day_window = Window(DAY0, DAY0 + timedelta(days=1), "1d")

    hours = runner.run_range("m", DAY0, DAY0 + timedelta(days=1), monitor="hourly")
    assert {r.status for r in hours} == {"ok"}
    rolled = runner.run_rollup("m", hourly, day_window)
    direct = runner.run_window("m", day_window, daily)
    assert (rolled.status, direct.status) == ("ok", "ok")
    assert rolled.n_rows == direct.n_rows == 1200

    def points(monitor: str) -> dict[tuple[str, str], MetricPoint]:
        return by_metric(
            metrics.query("m", monitor=monitor, granularity="1d", model_version="", segment_key="")
        )

    up, down = points("hourly"), points("daily")
    # Counts, shares and label metrics merge exactly.
    exact = [(m, "") for m in ("row_count", "label_coverage", "accuracy", "precision", "recall")]
    exact += [("f1", "")] + [("missing_share", c) for c in ("x", "plan", "score", "label")]
    for key in exact:
        assert up[key].value == pytest.approx(down[key].value, rel=1e-12), key
    # Categorical and few-valued columns drift exactly as from the rows.
    for column in ("plan", "label"):
        assert (
            up["drift_score", column].details["method"]
            == down["drift_score", column].details["method"]
        )
        assert up["drift_score", column].value == pytest.approx(
            down["drift_score", column].value, rel=1e-9
        )
    # A continuous column's drift is an approximation, and says so; it is close.
    score = up["drift_score", "score"]
    assert score.details["exact"] is False
    assert score.details["method"] == down["drift_score", "score"].details["method"]
    assert score.value == pytest.approx(down["drift_score", "score"].value, abs=0.02)
    assert up["mean", "x"].value == pytest.approx(down["mean", "x"].value, rel=1e-9)
    assert up["share_of_drifted_columns", ""].value == down["share_of_drifted_columns", ""].value
    assert up["row_count", ""].details["complete"] is True


def test_the_scheduler_rolls_up_a_day_once_it_has_closed_and_again_after_late_data(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner, clock: FakeClock
) -> None:
    day = predictions(DAY0, hours=24, per_hour=20, seed=9)
    log(predictions_store, day, received=DAY0 + timedelta(hours=1))
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, interval=0)

    clock.set(DAY0 + timedelta(hours=23, minutes=59))
    assert {r.granularity for r in scheduler.run_pending()} == {"1h"}  # the day is still open
    clock.set(DAY0 + timedelta(days=1) + DELAY)
    runs = scheduler.run_pending()
    assert [(r.granularity, r.trigger) for r in runs] == [("1h", "schedule"), ("1d", "rollup")]
    assert scheduler.run_pending() == []

    clock.set(DAY0 + timedelta(days=1, hours=1))
    log(predictions_store, feedback(day[:20]), received=clock.now())  # labels of the first hour
    clock.set(DAY0 + timedelta(days=1, hours=1, minutes=2))
    again = scheduler.run_pending()
    assert [(r.granularity, r.window_start, r.trigger) for r in again] == [
        ("1h", DAY0, "late_data"),
        ("1d", DAY0, "rollup"),
    ]
    daily = metrics.query("m", metric="label_coverage", granularity="1d", model_version="")
    assert [round(p.value or 0, 6) for p in daily] == [round(20 / 480, 6)]


def test_a_version_and_a_segment_get_their_own_points(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner
) -> None:
    records = predictions(DAY0, hours=1, per_hour=120)
    for i, record in enumerate(records):
        record["model_version"] = "v2" if i % 3 == 0 else "v1"
    log(predictions_store, records, received=DAY0 + timedelta(hours=1))
    runner.set_config(ModelConfig("m", monitors=(Monitor(segments=("plan",)),)))
    run = runner.run_window("m", Window(DAY0, DAY0 + timedelta(hours=1), "1h"))
    assert run.status == "ok"
    rows = {
        (p.model_version, p.segment_key, p.segment_value): p.value
        for p in metrics.query("m", metric="row_count")
    }
    assert rows[("", "", "")] == 120
    assert rows[("v1", "", "")] == 80
    assert rows[("v2", "", "")] == 40
    plans = pc.value_counts(pa.array([r["features"]["plan"] for r in records])).to_pylist()
    for entry in plans:
        assert rows[("", "plan", entry["values"])] == entry["counts"]


def test_a_model_that_only_logs_service_events_is_scheduled(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner, clock: FakeClock
) -> None:
    events = [
        {
            "kind": "event",
            "model": "svc",
            "name": "http.request",
            "ts": (DAY0 + timedelta(minutes=i)).isoformat(),
            "latency_ms": float(i % 50),
            "status": "500" if i % 10 == 0 else "200",
        }
        for i in range(120)
    ]
    log(predictions_store, events, received=DAY0 + timedelta(hours=2))
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, interval=0)
    clock.set(DAY0 + timedelta(hours=2) + DELAY)

    runs = scheduler.run_pending()

    assert [(r.model, r.window_start, r.status) for r in runs] == [
        ("svc", DAY0, "ok"),
        ("svc", DAY0 + timedelta(hours=1), "ok"),
    ]
    errors = metrics.query("svc", metric="error_rate", segment_key="")
    assert [p.value for p in errors] == [pytest.approx(0.1), pytest.approx(0.1)]
    assert scheduler.run_pending() == []
    # The service goes quiet: its next window has no data (not an error), zero events.
    clock.set(DAY0 + timedelta(hours=3) + DELAY)
    assert [(r.window_start, r.status) for r in scheduler.run_pending()] == [
        (DAY0 + timedelta(hours=2), "no_data")
    ]
    counts = metrics.query("svc", metric="event_count", segment_key="")
    assert [p.value for p in counts] == [60.0, 60.0, 0.0]
    [info] = predictions_store.models()  # listed although it never logged a prediction
    assert (info.name, info.n_predictions, info.schema.columns()) == ("svc", 0, [])


def test_each_segment_is_compared_with_the_same_segment_of_the_reference(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner
) -> None:
    rng = random.Random(4)

    def rows(n: int, start: datetime) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            region = "eu" if i % 2 else "us"
            x = rng.gauss(0 if region == "eu" else 5, 1)  # the regions differ, and stay so
            out.append(
                {
                    "kind": "prediction",
                    "model": "m",
                    "ts": (start + timedelta(seconds=i * 3600 / n)).isoformat(),
                    "features": {"x": x, "region": region},
                    "prediction": 0.5,
                }
            )
        return out

    log(predictions_store, rows(400, DAY0), received=DAY0 + timedelta(hours=1))  # day 0 = reference
    log(predictions_store, rows(400, DAY0 + timedelta(days=1)), received=DAY0 + timedelta(days=1))
    runner.set_config(ModelConfig("m", monitors=(Monitor(segments=("region",)),)))
    run = runner.run_window(
        "m", Window(DAY0 + timedelta(days=1), DAY0 + timedelta(days=1, hours=1), "1h")
    )
    assert run.status == "ok"
    drifted = {
        (p.segment_value, p.column): p.value
        for p in metrics.query("m", metric="drift_detected", segment_key="region")
    }
    # Within its own segment nothing moved: not x, and not the segment column itself.
    assert drifted[("eu", "x")] == drifted[("us", "x")] == 0.0
    assert drifted[("eu", "region")] == drifted[("us", "region")] == 0.0
    score = metrics.query("m", metric="drift_score", column="x", segment_key="region")
    assert all("[region=" in p.details["reference"] for p in score)


def test_the_first_days_labels_reach_its_reference_while_they_may_come(
    predictions_store: PredictionStore, metrics: MetricStore, runner: JobRunner, clock: FakeClock
) -> None:
    """Without an uploaded reference the first day is the reference; its ground truth comes
    later than it, and is used (CBPE's calibration, the quality baseline) once it has."""
    first_day = predictions(DAY0, hours=24, per_hour=20, seed=7)
    later = predictions(DAY0 + timedelta(days=2), hours=1, per_hour=60, seed=8)
    for r in later:
        r["request_id"] = "late-" + r["request_id"]
    log(predictions_store, first_day + later, received=DAY0 + timedelta(days=2, hours=1))
    log(predictions_store, feedback(later[:1]), received=DAY0 + timedelta(days=2, hours=1))
    window = Window.containing(DAY0 + timedelta(days=2), "1h")
    clock.set(DAY0 + timedelta(days=2, hours=2))

    runner.run_window("m", window)
    found = by_metric(metrics.query("m", model_version="", segment_key=""))
    assert ("estimated_accuracy", "") not in found  # the reference has no labels yet

    log(predictions_store, feedback(first_day), received=clock.now())
    runner.run_window("m", window)
    found = by_metric(metrics.query("m", model_version="", segment_key=""))
    assert ("estimated_accuracy", "") in found
    assert "reference_value" in found["accuracy", ""].details
    # Each realized value carries its noise at the window's size, from the reference's labels.
    accuracy = found["accuracy", ""]
    base, n = accuracy.details["reference_value"], accuracy.details["n_labelled"]
    binomial = (base * (1 - base) / n) ** 0.5
    assert accuracy.details["standard_error"] == pytest.approx(binomial, rel=0.25)


def test_labels_of_later_windows_do_not_reread_the_first_day(
    predictions_store: PredictionStore,
    metrics: MetricStore,
    runner: JobRunner,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first day (the fallback reference) is read again when its own labels arrive, not
    when a later window's do: at volume, that re-read is the cost of a window."""
    first_day = predictions(DAY0, hours=24, per_hour=20, seed=7)
    later = predictions(DAY0 + timedelta(days=2), hours=2, per_hour=60, seed=8)
    for r in later:
        r["request_id"] = "late-" + r["request_id"]
    log(predictions_store, first_day + later, received=DAY0 + timedelta(days=2, hours=2))
    log(predictions_store, feedback(later[:1]), received=DAY0 + timedelta(days=2, hours=2))
    reads: list[Window] = []
    read_window = predictions_store.read_window

    def counting(model: str, window: Window, model_version: str | None = None) -> Any:
        reads.append(window)
        return read_window(model, window, model_version)

    monkeypatch.setattr(predictions_store, "read_window", counting)
    first = Window.containing(DAY0, "1d")
    windows = [
        Window.containing(r, "1h") for r in (DAY0 + timedelta(days=2, hours=h) for h in (0, 1))
    ]
    clock.set(DAY0 + timedelta(days=2, hours=3))

    runner.run_window("m", windows[0])
    assert reads.count(first) == 1
    log(predictions_store, feedback(later[1:60]), received=clock.now())  # the later window's
    runner.run_window("m", windows[0])
    runner.run_window("m", windows[1])
    assert reads.count(first) == 1  # still the one read
    log(predictions_store, feedback(first_day[:100]), received=clock.now())  # the first day's
    runner.run_window("m", windows[1])
    assert reads.count(first) == 2
    found = by_metric(metrics.query("m", model_version="", segment_key=""))
    assert ("estimated_accuracy", "") in found  # calibrated on the first day's new labels
