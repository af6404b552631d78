"""JobRunner on real DuckDB stores: the metric points and runs of one window."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from sightline.monitoring import JobRunner, Monitor
from sightline.schema import MetricPoint, Window
from sightline.schema.monitors import ModelConfig, ReferenceSpec
from sightline.store import MetricStore, PredictionStore
from tests.monitoring.conftest import (
    DAY0,
    SHIFTED,
    reference_table,
    traffic,
    write_traffic,
)

DAY1 = DAY0 + timedelta(days=1)
COLUMNS = ["x", "plan", "prediction"]


def hour_of_day1(n: int) -> Window:
    return Window.containing(DAY1 + timedelta(hours=n), "1h")


def by_key(points: list[MetricPoint]) -> dict[tuple[str, str], MetricPoint]:
    """Points of one window by (metric, column); fails on duplicates."""
    found = {(p.metric, p.column): p for p in points}
    assert len(found) == len(points), "a window has two points with the same metric and column"
    return found


def window_points(metrics: MetricStore, window: Window) -> dict[tuple[str, str], MetricPoint]:
    return by_key(
        [
            p
            for p in metrics.query("m", granularity=window.granularity)
            if p.window_start == window.start
        ]
    )


@pytest.fixture
def runner(predictions: PredictionStore, metrics: MetricStore) -> JobRunner:
    """A runner over a model ``m`` whose first day (the fallback reference) is normal traffic."""
    write_traffic(predictions, "m", DAY0, traffic(720), span=timedelta(days=1))
    return JobRunner(predictions, metrics)


def test_a_window_like_the_reference_does_not_drift(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(10)
    write_traffic(predictions, "m", window.start, traffic(100))

    run = runner.run_window("m", window)

    assert (run.status, run.n_rows, run.error) == ("ok", 100, "")
    assert (run.window_start, run.window_end, run.granularity) == (window.start, window.end, "1h")
    points = window_points(metrics, window)
    assert {("row_count", ""), ("share_of_drifted_columns", "")} | {
        (metric, c)
        for c in COLUMNS
        for metric in ("missing_share", "drift_score", "drift_detected")
    } <= set(points)
    assert ("duplicated_rows_share", "") in points
    assert points["schema_changes", ""].value == 0.0
    assert points["row_count", ""].value == 100.0
    for c in COLUMNS:
        assert points["missing_share", c].value == 0.0
        assert points["drift_detected", c].value == 0.0, c
        assert points["drift_score", c].details["drifted"] is False
    assert points["drift_score", "x"].details["method"] == "ks"
    assert points["drift_score", "x"].value > 0.5  # a p-value: the two samples agree
    assert points["drift_score", "plan"].details["method"] == "chisquare"
    share = points["share_of_drifted_columns", ""]
    assert share.value == 0.0
    assert share.details["dataset_drift"] is False
    assert share.details["drifted_columns"] == []
    assert share.details["n_columns"] == 3
    assert all(p.window_end == window.end and p.monitor == "default" for p in points.values())


def test_a_shifted_window_drifts(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(11)
    write_traffic(predictions, "m", window.start, traffic(100, low=5, high=15, plans=SHIFTED))

    run = runner.run_window("m", window)

    assert run.status == "ok"
    points = window_points(metrics, window)
    for c in COLUMNS:
        assert points["drift_detected", c].value == 1.0, c
        drift = points["drift_score", c]
        assert drift.details["drifted"] is True
        assert drift.value is not None
        assert drift.value < drift.details["threshold"]  # p-values below the threshold
        assert (drift.details["n_reference"], drift.details["n_current"]) == (720, 100)
    share = points["share_of_drifted_columns", ""]
    assert share.value == 1.0
    assert sorted(share.details["drifted_columns"]) == sorted(COLUMNS)
    assert share.details["dataset_drift"] is True
    # The details say what moved most: "c" went from a third of the rows to three quarters.
    moved = points["drift_score", "plan"].details["distribution"]["moved"]
    assert moved[0]["category"] == "c"
    assert moved[0]["change"] == pytest.approx(0.75 - 1 / 3)
    assert {m["category"] for m in moved} == {"a", "b", "c", "d"}


def test_one_drifted_column_of_three_is_not_dataset_drift(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(12)
    write_traffic(predictions, "m", window.start, traffic(100, plans=SHIFTED))

    runner.run_window("m", window)

    points = window_points(metrics, window)
    assert [points["drift_detected", c].value for c in COLUMNS] == [0.0, 1.0, 0.0]
    share = points["share_of_drifted_columns", ""]
    assert share.value == pytest.approx(1 / 3)
    assert share.details["drifted_columns"] == ["plan"]
    assert share.details["dataset_drift"] is False


def test_missing_values_are_counted_per_column(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(13)
    rows = traffic(100)
    for row in rows[::5]:
        row["x"] = None
    write_traffic(predictions, "m", window.start, rows)

    runner.run_window("m", window)

    points = window_points(metrics, window)
    assert points["row_count", ""].value == 100.0
    assert points["missing_share", "x"].value == pytest.approx(0.2)
    assert points["missing_share", "prediction"].value == pytest.approx(0.2)
    assert points["missing_share", "plan"].value == 0.0
    assert points["drift_score", "x"].details["n_current"] == 80


def test_an_empty_window_has_no_data(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(14)
    write_traffic(predictions, "m", window.end, traffic(50))  # data in the next window only

    run = runner.run_window("m", window)

    assert (run.status, run.n_rows) == ("no_data", 0)
    points = window_points(metrics, window)
    assert list(points) == [("row_count", "")]
    assert points["row_count", ""].value == 0.0
    assert metrics.runs("m")[0] == run


def test_a_tiny_window_is_insufficient_data_never_drift(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(15)
    # Five rows, far away from the reference: drift if it were judged.
    write_traffic(predictions, "m", window.start, traffic(5, low=50, high=60, plans=SHIFTED))

    run = runner.run_window("m", window)

    assert (run.status, run.n_rows) == ("insufficient_data", 5)
    points = window_points(metrics, window)
    assert not [key for key in points if key[0] == "drift_detected"]
    for c in COLUMNS:
        drift = points["drift_score", c]
        assert drift.value is None
        assert drift.details["status"] == "insufficient_data"
        assert drift.details["drifted"] is None
    share = points["share_of_drifted_columns", ""]
    assert share.value is None
    assert share.details["status"] == "insufficient_data"
    assert points["row_count", ""].value == 5.0


def test_min_rows_comes_from_the_monitor(
    predictions: PredictionStore, metrics: MetricStore
) -> None:
    write_traffic(predictions, "m", DAY0, traffic(720), span=timedelta(days=1))
    window = hour_of_day1(16)
    write_traffic(predictions, "m", window.start, traffic(40))
    runner = JobRunner(predictions, metrics)
    runner.set_config(ModelConfig("m", monitors=(Monitor(min_rows=50),)))

    assert runner.run_window("m", window).status == "insufficient_data"
    runner.set_config(ModelConfig("m", monitors=(Monitor(min_rows=20),)))
    assert runner.run_window("m", window).status == "ok"


def test_an_uploaded_reference_is_preferred_to_the_first_day(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(17)
    # Traffic moved up by 5: drift against the first day, normal against the new reference.
    write_traffic(predictions, "m", window.start, traffic(100, low=5, high=15))

    runner.run_window("m", window)
    first_day = window_points(metrics, window)
    assert first_day["drift_detected", "x"].value == 1.0
    assert first_day["drift_score", "x"].details["reference"] == (
        "production:2026-03-02T00:00:00+00:00/2026-03-03T00:00:00+00:00"
    )
    assert first_day["share_of_drifted_columns", ""].details["reference"].startswith("production:")

    predictions.save_reference("m", "default", reference_table(500, low=5, high=15))
    runner.run_window("m", window)

    uploaded = window_points(metrics, window)  # replaced, not added to
    assert uploaded["drift_detected", "x"].value == 0.0
    assert uploaded["drift_score", "x"].details["reference"] == "dataset:default"
    assert uploaded["drift_score", "x"].details["n_reference"] == 500
    assert uploaded["share_of_drifted_columns", ""].details["reference"] == "dataset:default"
    # The reference has the model's columns only: the stored ids and times are no schema change.
    assert uploaded["schema_changes", ""].value == 0.0


def test_a_reference_is_looked_up_by_the_monitors_name(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(18)
    write_traffic(predictions, "m", window.start, traffic(100))
    predictions.save_reference("m", "training", reference_table(300, low=5, high=15))

    runner.run_window("m", window)
    assert (
        window_points(metrics, window)["drift_score", "x"]
        .details["reference"]
        .startswith("production:")
    )

    runner.set_config(
        ModelConfig("m", monitors=(Monitor(reference=ReferenceSpec(name="training")),))
    )
    runner.run_window("m", window)
    points = window_points(metrics, window)
    assert points["drift_score", "x"].details["reference"] == "dataset:training"
    assert points["drift_detected", "x"].value == 1.0


def test_only_reference_columns_are_compared(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(19)
    write_traffic(predictions, "m", window.start, traffic(100))
    predictions.save_reference("m", "default", reference_table(300).select(["x"]))

    runner.run_window("m", window)

    points = window_points(metrics, window)
    assert {c for metric, c in points if metric == "drift_score"} == {"x"}
    assert points["share_of_drifted_columns", ""].details["n_columns"] == 1
    changes = points["schema_changes", ""]
    assert changes.value == 2.0
    assert changes.details["new_columns"] == ["plan", "prediction"]


def test_recomputing_a_window_replaces_its_points(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(20)
    write_traffic(predictions, "m", window.start, traffic(60))
    runner.run_window("m", window)
    before = len(metrics.query("m"))

    write_traffic(predictions, "m", window.start, traffic(40))  # late data
    runner.run_window("m", window)

    assert len(metrics.query("m")) == before
    assert window_points(metrics, window)["row_count", ""].value == 100.0
    assert len(metrics.runs("m")) == 2


def test_run_range_computes_every_window_oldest_first(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    start = hour_of_day1(2).start
    write_traffic(predictions, "m", start, traffic(100))
    write_traffic(predictions, "m", start + timedelta(hours=2), traffic(100, low=5, high=15))

    runs = runner.run_range("m", start + timedelta(minutes=30), start + timedelta(hours=3))

    assert [(r.window_start - start, r.status) for r in runs] == [
        (timedelta(hours=0), "ok"),
        (timedelta(hours=1), "no_data"),
        (timedelta(hours=2), "ok"),
    ]
    shares = [p.value for p in metrics.query("m", metric="share_of_drifted_columns")]
    assert shares == [0.0, pytest.approx(2 / 3)]  # x and prediction moved, plan did not

    [day] = runner.run_range("m", DAY1, DAY1 + timedelta(hours=1), "1d")
    assert (day.granularity, day.window_start, day.n_rows) == ("1d", DAY1, 200)


def test_an_unknown_model_is_recorded_as_an_error(runner: JobRunner, metrics: MetricStore) -> None:
    window = hour_of_day1(21)

    run = runner.run_window("ghost", window)

    assert run.status == "error"
    assert "ghost" in run.error
    assert metrics.runs("ghost") == [run]
    assert metrics.computed_windows("ghost", "1h", window.start) == set()
    assert metrics.query("ghost") == []
    assert [r.status for r in runner.run_range("ghost", window.start, window.end)] == ["error"]


def test_a_bad_monitor_is_recorded_as_an_error(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(22)
    write_traffic(predictions, "m", window.start, traffic(100))
    runner.set_config(ModelConfig("m", monitors=(Monitor(methods={"x": "no-such-method"}),)))

    run = runner.run_window("m", window)

    assert run.status == "error"
    assert "no-such-method" in run.error
    assert metrics.runs("m") == [run]
    assert metrics.computed_windows("m", "1h", window.start) == set()


def test_a_reference_of_the_wrong_type_is_recorded_as_an_error(
    runner: JobRunner, predictions: PredictionStore, metrics: MetricStore
) -> None:
    window = hour_of_day1(23)
    write_traffic(predictions, "m", window.start, traffic(100))
    predictions.save_reference("m", "default", pa.table({"x": ["ten"] * 100}))

    run = runner.run_window("m", window)  # "never raises for data problems"

    assert run.status == "error"
    assert "x" in run.error
    assert metrics.runs("m") == [run]
