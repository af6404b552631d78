"""The contract of the prediction store and the metric store, run against every backend.

Every backend must pass this file unchanged (see ``BACKENDS`` in conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from sightline.errors import NotFoundError, StoreError
from sightline.schema import JobRun, MetricPoint, ModelSchema, Window
from sightline.schema.windows import to_utc
from sightline.store import (
    EventRow,
    FeedbackRow,
    MetricStore,
    PredictionRow,
    PredictionStore,
    QuarantinedRecord,
    WriteBatch,
)
from tests.store.conftest import Backend

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
HOUR = Window.containing(T0, "1h")  # [10:00, 11:00)
US = timedelta(microseconds=1)


# -- helpers ---------------------------------------------------------------------------------


def prediction(
    n: int,
    ts: datetime,
    *,
    features: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    version: str = "",
    request_id: str | None = None,
) -> PredictionRow:
    return PredictionRow(
        record_id=f"rec-{n}",
        request_id=request_id or f"req-{n}",
        ts=ts,
        received_at=ts + timedelta(seconds=1),
        model_version=version,
        sample_rate=1.0,
        tags={"n": str(n)},
        features={"x": float(n)} if features is None else features,
        outputs={"prediction": n / 100} if outputs is None else outputs,
    )


def feedback(
    request_id: str, target: Any, received_at: datetime, ts: datetime | None = None
) -> FeedbackRow:
    return FeedbackRow(
        record_id=f"fb-{request_id}-{received_at.timestamp()}",
        request_id=request_id,
        ts=ts or received_at,
        received_at=received_at,
        target=target,
    )


def batch_for(
    store: PredictionStore,
    model: str,
    rows: Sequence[PredictionRow] = (),
    labels: Sequence[FeedbackRow] = (),
) -> WriteBatch:
    """The batch the collector would build: the schema evolved by the rows, then the rows."""
    old = store.schema(model)
    schema, changes = (old or ModelSchema(model)).evolve(
        [r.features for r in rows], [r.outputs for r in rows], [f.target for f in labels]
    )
    batch = WriteBatch()
    if old is None or changes:
        batch.schemas[model] = (schema, changes)
    batch.predictions[model] = list(rows)
    batch.feedback[model] = list(labels)
    return batch


def write(
    store: PredictionStore,
    model: str,
    rows: Sequence[PredictionRow] = (),
    labels: Sequence[FeedbackRow] = (),
) -> None:
    store.write(batch_for(store, model, rows, labels))


def utc(value: datetime) -> datetime:
    """A timestamp read back from a store, as an aware UTC datetime (naive means UTC)."""
    return to_utc(value)


def column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def point(
    metric: str,
    window: Window,
    value: float | None = 1.0,
    *,
    model: str = "m",
    column: str = "",
    monitor: str = "default",
    version: str = "",
    details: dict[str, Any] | None = None,
) -> MetricPoint:
    return MetricPoint(
        model=model,
        metric=metric,
        window_start=window.start,
        window_end=window.end,
        granularity=window.granularity,
        value=value,
        n_rows=10,
        column=column,
        model_version=version,
        monitor=monitor,
        details=details or {},
    )


def hour(n: int) -> Window:
    """The n-th hourly window from T0."""
    return Window.containing(T0 + timedelta(hours=n), "1h")


def run(
    window: Window,
    status: str = "ok",
    *,
    model: str = "m",
    finished: datetime | None = None,
    error: str = "",
) -> JobRun:
    finished = finished or window.end + timedelta(minutes=5)
    return JobRun(
        model,
        "default",
        window.granularity,
        window.start,
        window.end,
        status,
        finished - timedelta(seconds=2),
        finished,
        n_rows=7,
        error=error,
    )


def keys(points: Iterable[MetricPoint]) -> list[tuple[str, str, datetime]]:
    return [(p.metric, p.column, p.window_start) for p in points]


# -- prediction store: schemas and persistence ------------------------------------------------


def test_a_new_store_is_empty(predictions: PredictionStore) -> None:
    assert predictions.models() == []
    assert predictions.schema("churn") is None
    assert predictions.read_reference("churn", "default") is None
    with pytest.raises(NotFoundError, match="churn"):
        predictions.read_window("churn", HOUR)


def test_a_schema_is_saved_by_write_even_without_rows(predictions: PredictionStore) -> None:
    schema, changes = ModelSchema("churn").evolve([{"age": 31.0, "plan": "pro"}], [0.3], [1.0])
    predictions.write(WriteBatch(schemas={"churn": (schema, changes)}))

    assert predictions.schema("churn") == schema
    [info] = predictions.models()
    assert (info.name, info.schema, info.n_predictions, info.n_feedback) == ("churn", schema, 0, 0)
    assert info.first_ts is None
    assert info.last_ts is None
    assert predictions.read_window("churn", HOUR).num_rows == 0


def test_schema_rows_and_references_survive_close_and_reopen(backend: Backend) -> None:
    store = backend.open_predictions()
    try:
        write(store, "churn", [prediction(i, T0 + timedelta(minutes=i)) for i in range(3)])
        write(store, "churn", labels=[feedback("req-1", 1.0, T0 + timedelta(hours=2))])
        store.save_reference("churn", "default", pa.table({"x": [1.0, 2.0]}))
        schema = store.schema("churn")
    finally:
        store.close()

    store = backend.open_predictions()
    try:
        assert store.schema("churn") == schema
        assert schema is not None
        assert schema.target is not None
        [info] = store.models()
        assert (info.n_predictions, info.n_feedback) == (3, 1)
        table = store.read_window("churn", HOUR)
        assert column(table, "x") == [0.0, 1.0, 2.0]
        assert column(table, "target") == [None, 1.0, None]
        reference = store.read_reference("churn", "default")
        assert reference is not None
        assert column(reference, "x") == [1.0, 2.0]
        # The reopened store keeps writing where the old one stopped.
        write(store, "churn", [prediction(3, T0 + timedelta(minutes=3))])
        assert store.read_window("churn", HOUR).num_rows == 4
    finally:
        store.close()


def test_a_failed_write_stores_nothing(backend: Backend) -> None:
    store = backend.open_predictions()
    try:
        write(store, "a", [prediction(0, T0)])
        good = batch_for(store, "a", [prediction(1, T0)])
        bad = batch_for(store, "b", [prediction(2, T0)])
        # A value that does not fit its pinned column: the collector never sends this, so the
        # store may fail in any way, but it must fail as a whole.
        bad.predictions["b"][0].features["x"] = "not a number"
        mixed = WriteBatch(
            schemas={**good.schemas, **bad.schemas},
            predictions={**good.predictions, **bad.predictions},
        )
        with pytest.raises((StoreError, ValueError, TypeError)):
            store.write(mixed)
        assert store.schema("b") is None
        assert [(m.name, m.n_predictions) for m in store.models()] == [("a", 1)]
    finally:
        store.close()

    store = backend.open_predictions()
    try:
        assert store.schema("b") is None
        write(store, "b", [prediction(3, T0)])  # the failed model can be created afterwards
        assert [(m.name, m.n_predictions) for m in store.models()] == [("a", 1), ("b", 1)]
    finally:
        store.close()


# -- prediction store: windows -----------------------------------------------------------------


def test_read_window_is_half_open(predictions: PredictionStore) -> None:
    times = {
        "before": HOUR.start - US,
        "start": HOUR.start,
        "middle": HOUR.start + timedelta(minutes=30),
        "last": HOUR.end - US,
        "end": HOUR.end,
    }
    rows = [
        prediction(i, ts, request_id=name) for i, (name, ts) in enumerate(times.items(), start=1)
    ]
    write(predictions, "m", rows[::-1])  # written out of order

    table = predictions.read_window("m", HOUR).sort_by("ts")  # read back in no particular order
    assert column(table, "request_id") == ["start", "middle", "last"]
    assert [utc(ts) for ts in column(table, "ts")] == [
        times["start"],
        times["middle"],
        times["last"],
    ]
    assert column(predictions.read_window("m", hour(1)), "request_id") == ["end"]
    assert column(predictions.read_window("m", hour(-1)), "request_id") == ["before"]


def test_read_window_returns_every_stored_field(predictions: PredictionStore) -> None:
    row = prediction(
        7,
        T0 + timedelta(minutes=5),
        features={"age": 31.0, "plan": "pro", "active": True},
        outputs={"label": "yes", "score": 0.83},
        version="v2",
    )
    write(predictions, "m", [row])

    [read] = predictions.read_window("m", HOUR).to_pylist()
    assert read["record_id"] == "rec-7"
    assert read["request_id"] == "req-7"
    assert utc(read["ts"]) == row.ts
    assert utc(read["received_at"]) == row.received_at
    assert read["model_version"] == "v2"
    assert read["sample_rate"] == 1.0
    assert (read["age"], read["plan"], read["active"]) == (31.0, "pro", True)
    assert (read["label"], read["score"]) == ("yes", 0.83)
    assert read["target"] is None
    assert read["feedback_ts"] is None


def test_timestamps_in_other_time_zones_are_stored_as_utc(predictions: PredictionStore) -> None:
    paris = timezone(timedelta(hours=2))
    write(predictions, "m", [prediction(1, datetime(2026, 3, 4, 12, 30, tzinfo=paris))])

    [info] = predictions.models()
    assert info.first_ts == T0 + timedelta(minutes=30)
    assert info.first_ts.utcoffset() == timedelta(0)
    assert predictions.read_window("m", HOUR).num_rows == 1


def test_feedback_is_joined_by_request_id_and_the_latest_wins(
    predictions: PredictionStore,
) -> None:
    # Feedback may arrive before its prediction, and may be corrected later.
    write(predictions, "m", labels=[feedback("req-2", 0.0, T0)])
    write(predictions, "m", [prediction(i, T0 + timedelta(minutes=i)) for i in range(1, 4)])
    write(
        predictions,
        "m",
        labels=[
            feedback("req-1", 1.0, T0 + timedelta(hours=3), ts=T0 + timedelta(hours=3)),
            feedback("req-2", 1.0, T0 + timedelta(hours=2), ts=T0 + timedelta(hours=2)),
            feedback("req-nobody", 1.0, T0 + timedelta(hours=2)),
        ],
    )
    write(predictions, "m", labels=[feedback("req-1", 0.0, T0 + timedelta(hours=1))])  # older

    table = predictions.read_window("m", HOUR)
    assert column(table, "request_id") == ["req-1", "req-2", "req-3"]  # no row per label
    assert column(table, "target") == [1.0, 1.0, None]
    feedback_ts = [None if ts is None else utc(ts) for ts in column(table, "feedback_ts")]
    assert feedback_ts == [T0 + timedelta(hours=3), T0 + timedelta(hours=2), None]
    [info] = predictions.models()
    assert (info.n_predictions, info.n_feedback) == (3, 5)
    # Predictions of the window with ground truth, each once however many labels it has.
    assert predictions.labelled_count("m", HOUR) == 2
    assert predictions.labelled_count("m", Window.containing(T0 + timedelta(hours=1), "1h")) == 0


def test_read_window_filters_by_model_version(predictions: PredictionStore) -> None:
    rows = [
        prediction(i, T0 + timedelta(minutes=i), version="v1" if i % 2 else "v2") for i in range(6)
    ]
    write(predictions, "m", rows, [feedback("req-1", 1.0, T0), feedback("req-2", 0.0, T0)])

    v1 = predictions.read_window("m", HOUR, model_version="v1")
    assert column(v1, "request_id") == ["req-1", "req-3", "req-5"]
    assert column(v1, "target") == [1.0, None, None]
    v2 = predictions.read_window("m", HOUR, model_version="v2")
    assert column(v2, "request_id") == ["req-0", "req-2", "req-4"]
    assert column(v2, "target") == [None, 0.0, None]
    assert predictions.read_window("m", HOUR).num_rows == 6
    assert predictions.read_window("m", HOUR, model_version="v3").num_rows == 0


def test_models_are_kept_apart(predictions: PredictionStore) -> None:
    write(predictions, "a", [prediction(1, T0)])
    write(predictions, "b", [prediction(2, T0, features={"y": "blue"})])

    assert column(predictions.read_window("a", HOUR), "request_id") == ["req-1"]
    b = predictions.read_window("b", HOUR)
    assert column(b, "request_id") == ["req-2"]
    assert "x" not in b.column_names
    assert column(b, "y") == ["blue"]


# -- prediction store: schema evolution -------------------------------------------------------


def test_new_columns_are_added_and_old_rows_read_null(backend: Backend) -> None:
    store = backend.open_predictions()
    try:
        write(store, "m", [prediction(1, T0, features={"x": 1.0})])
        write(
            store,
            "m",
            [prediction(2, T0 + US, features={"x": 2.0, "plan": "pro"}, outputs={"label": "a"})],
        )
        schema = store.schema("m")
        assert schema is not None
        assert schema.feature_names == ["x", "plan"]
        assert schema.output_names == ["prediction", "label"]
        # A later row that lacks a column stores it as null.
        write(store, "m", [prediction(3, T0 + 2 * US, features={"plan": "free"}, outputs={})])
    finally:
        store.close()

    store = backend.open_predictions()
    try:
        table = store.read_window("m", HOUR)
        assert column(table, "x") == [1.0, 2.0, None]
        assert column(table, "plan") == [None, "pro", "free"]
        assert column(table, "label") == [None, "a", None]
        assert column(table, "prediction") == [0.01, None, None]
    finally:
        store.close()


def test_a_target_added_after_predictions_joins_them(predictions: PredictionStore) -> None:
    write(predictions, "m", [prediction(1, T0), prediction(2, T0 + US)])
    schema = predictions.schema("m")
    assert schema is not None
    assert schema.target is None
    assert column(predictions.read_window("m", HOUR), "target") == [None, None]

    write(predictions, "m", labels=[feedback("req-2", "churned", T0 + timedelta(days=1))])
    schema = predictions.schema("m")
    assert schema is not None
    assert schema.target is not None
    assert column(predictions.read_window("m", HOUR), "target") == [None, "churned"]


# -- prediction store: references --------------------------------------------------------------


def test_references_are_saved_replaced_and_read_by_name(predictions: PredictionStore) -> None:
    write(predictions, "a", [prediction(1, T0)])
    write(predictions, "b", [prediction(2, T0)])
    first = pa.table({"x": [1.0, 2.0, None], "plan": ["pro", "free", "pro"]})
    predictions.save_reference("a", "default", first)
    predictions.save_reference("a", "training", pa.table({"x": [9.0]}))
    predictions.save_reference("b", "default", pa.table({"x": [5.0]}))

    read = predictions.read_reference("a", "default")
    assert read is not None
    assert read.to_pydict() == first.to_pydict()

    replacement = pa.table({"x": [3.0], "score": [0.5]})  # other rows, other columns
    predictions.save_reference("a", "default", replacement)
    read = predictions.read_reference("a", "default")
    assert read is not None
    assert read.to_pydict() == {"x": [3.0], "score": [0.5]}

    training = predictions.read_reference("a", "training")
    b_default = predictions.read_reference("b", "default")
    assert training is not None
    assert b_default is not None
    assert training.to_pydict() == {"x": [9.0]}
    assert b_default.to_pydict() == {"x": [5.0]}
    assert predictions.read_reference("a", "validation") is None


def test_a_reference_needs_a_known_model(predictions: PredictionStore) -> None:
    with pytest.raises(NotFoundError, match="ghost"):
        predictions.save_reference("ghost", "default", pa.table({"x": [1.0]}))
    assert predictions.read_reference("ghost", "default") is None


# -- prediction store: models ---------------------------------------------------------------


def test_models_count_rows_and_span_their_times(predictions: PredictionStore) -> None:
    times = [T0 + timedelta(hours=5), T0, T0 + timedelta(days=2, minutes=7)]
    write(predictions, "zeta", [prediction(i, ts) for i, ts in enumerate(times)])
    write(predictions, "alpha", [prediction(9, T0 - timedelta(days=1))])
    write(predictions, "zeta", labels=[feedback("req-0", 1.0, T0), feedback("req-1", 0.0, T0)])

    infos = predictions.models()
    assert [m.name for m in infos] == ["alpha", "zeta"]
    alpha, zeta = infos
    assert (alpha.n_predictions, alpha.n_feedback) == (1, 0)
    assert alpha.first_ts == alpha.last_ts == T0 - timedelta(days=1)
    assert (zeta.n_predictions, zeta.n_feedback) == (3, 2)
    assert zeta.first_ts == T0
    assert zeta.last_ts == T0 + timedelta(days=2, minutes=7)
    assert zeta.schema == predictions.schema("zeta")
    assert zeta.to_dict()["first_ts"] == "2026-03-04T10:00:00+00:00"


# -- metric store ------------------------------------------------------------------------------


def test_a_new_metric_store_is_empty(metrics: MetricStore) -> None:
    assert metrics.query("m") == []
    assert metrics.runs("m") == []
    assert metrics.computed_windows("m", "1h", T0) == set()
    assert metrics.models() == []


def test_points_round_trip(metrics: MetricStore) -> None:
    details = {"method": "ks", "distribution": {"edges": [0.0, 1.0], "current": [1.0]}}
    stored = [
        point("drift_score", HOUR, 0.02, column="age", details=details),
        point("share_of_drifted_columns", HOUR, None, details={"status": "insufficient_data"}),
    ]
    metrics.replace_window("m", "default", HOUR, stored)

    read = metrics.query("m")
    assert sorted(read, key=lambda p: p.metric) == stored
    assert all(p.window_start.utcoffset() == timedelta(0) for p in read)


def test_replace_window_replaces_only_that_window(metrics: MetricStore) -> None:
    def sample(window: Window, monitor: str = "default", model: str = "m") -> list[MetricPoint]:
        return [
            point("row_count", window, 10.0, monitor=monitor, model=model),
            point("drift_score", window, 0.5, column="x", monitor=monitor, model=model),
            point("drift_score", window, 0.7, column="y", monitor=monitor, model=model),
        ]

    day = Window.containing(T0, "1d")
    metrics.replace_window("m", "default", HOUR, sample(HOUR))
    metrics.replace_window("m", "default", hour(1), sample(hour(1)))
    metrics.replace_window("m", "other", HOUR, sample(HOUR, monitor="other"))
    metrics.replace_window("m", "default", day, sample(day))
    metrics.replace_window("n", "default", HOUR, sample(HOUR, model="n"))

    # Recomputing a window twice never duplicates its points.
    for _ in range(2):
        metrics.replace_window("m", "default", HOUR, [point("row_count", HOUR, 12.0)])

    mine = [p for p in metrics.query("m", granularity="1h") if p.monitor == "default"]
    assert [(p.metric, p.column, p.window_start, p.value) for p in mine] == [
        ("row_count", "", HOUR.start, 12.0),
        ("drift_score", "x", hour(1).start, 0.5),
        ("drift_score", "y", hour(1).start, 0.7),
        ("row_count", "", hour(1).start, 10.0),
    ]
    assert len([p for p in metrics.query("m") if p.monitor == "other"]) == 3
    assert len(metrics.query("m", granularity="1d")) == 3
    assert len(metrics.query("n")) == 3

    metrics.replace_window("m", "default", hour(1), [])  # an empty replacement clears
    assert [
        p for p in metrics.query("m", granularity="1h") if p.window_start == hour(1).start
    ] == []


def test_query_worst_keeps_the_highest_value_of_each_window_and_its_column(
    metrics: MetricStore,
) -> None:
    nan = float("nan")
    values = [  # per window: the missing share of columns a, b, c
        {"a": 0.1, "b": 0.3, "c": 0.2},
        {"a": 0.4, "b": 0.4, "c": nan},  # a tie goes to the first column by name; NaN is no value
        {"a": None, "b": nan, "c": None},  # no value at all
    ]
    for n, shares in enumerate(values):
        window = hour(n)
        metrics.replace_window(
            "m",
            "default",
            window,
            [
                *(point("missing_share", window, v, column=c) for c, v in shares.items()),
                point("missing_share", window, 0.9, column="a", version="v2"),
                point("schema_changes", window, float(n)),
            ],
        )

    table = metrics.query_worst(
        "m", metrics=["missing_share", "schema_changes"], granularity="1h", model_version=""
    )
    assert table.column_names == ["metric", "start", "value", "column", "n_columns"]
    rows = list(zip(*(column(table, name) for name in table.column_names), strict=True))
    epoch = [int(hour(n).start.timestamp()) for n in range(3)]
    assert rows == [
        ("missing_share", epoch[0], 0.3, "b", 3),
        ("missing_share", epoch[1], 0.4, "a", 3),
        ("missing_share", epoch[2], None, None, 3),
        ("schema_changes", epoch[0], 0.0, "", 1),
        ("schema_changes", epoch[1], 1.0, "", 1),
        ("schema_changes", epoch[2], 2.0, "", 1),
    ]
    later = metrics.query_worst(
        "m", metrics=["missing_share"], start=hour(1).start, end=hour(1).end
    )
    assert column(later, "start") == [epoch[1]]


def test_query_filters(metrics: MetricStore) -> None:
    for n in range(4):
        window = hour(n)
        metrics.replace_window(
            "m",
            "default",
            window,
            [
                point("row_count", window, 100.0 + n),
                point("drift_score", window, 0.1 * n, column="x"),
                point("drift_score", window, 0.2 * n, column="y"),
                point("drift_score", window, 0.3 * n, column="x", version="v2"),
            ],
        )
    day = Window.containing(T0, "1d")
    metrics.replace_window("m", "default", day, [point("row_count", day, 1000.0)])

    everything = metrics.query("m")
    assert len(everything) == 4 * 4 + 1
    starts = [p.window_start for p in everything]
    assert starts == sorted(starts)  # oldest first

    assert {p.metric for p in metrics.query("m", metric="row_count")} == {"row_count"}
    assert len(metrics.query("m", metric="row_count")) == 5
    assert len(metrics.query("m", metric="drift_score", column="x")) == 8
    assert [p.value for p in metrics.query("m", column="y")] == [0.0, 0.2, 0.4, pytest.approx(0.6)]
    assert [p.value for p in metrics.query("m", granularity="1d")] == [1000.0]
    assert len(metrics.query("m", model_version="v2")) == 4
    assert len(metrics.query("m", model_version="")) == 13

    # start is matched against window starts (inclusive), end against window ends (inclusive).
    middle = metrics.query("m", metric="row_count", start=hour(1).start, end=hour(2).end)
    assert [p.value for p in middle] == [101.0, 102.0]
    assert len(metrics.query("m", granularity="1h", start=hour(3).start)) == 4
    assert len(metrics.query("m", granularity="1h", end=hour(0).end)) == 4
    assert metrics.query("m", start=hour(1).start + US, end=hour(2).end - US) == []
    # Aware datetimes in any zone mean the same instant.
    paris = timezone(timedelta(hours=2))
    assert len(metrics.query("m", granularity="1h", start=hour(3).start.astimezone(paris))) == 4

    assert metrics.query("m", metric="accuracy") == []
    assert metrics.query("nobody") == []


def test_runs_are_recorded_newest_first(metrics: MetricStore) -> None:
    late = run(hour(0), finished=T0 + timedelta(hours=9))
    early = run(hour(1), "error", finished=T0 + timedelta(hours=3), error="boom: no reference")
    middle = run(hour(2), "no_data", finished=T0 + timedelta(hours=5))
    for r in (late, early, middle, run(hour(0), model="other")):
        metrics.record_run(r)

    assert metrics.runs("m") == [late, middle, early]
    assert metrics.runs("m", limit=2) == [late, middle]
    assert metrics.runs("m")[2].error == "boom: no reference"
    assert len(metrics.runs("other")) == 1


def test_computed_windows_leave_out_failed_runs(metrics: MetricStore) -> None:
    metrics.record_run(run(hour(0), "ok"))
    metrics.record_run(run(hour(1), "error", error="boom"))
    metrics.record_run(run(hour(2), "no_data"))
    metrics.record_run(run(hour(3), "insufficient_data"))
    metrics.record_run(run(hour(4), "error", error="boom"))
    metrics.record_run(run(hour(4), "ok"))  # retried and succeeded
    metrics.record_run(run(hour(5), "ok", model="other"))
    day = Window.containing(T0, "1d")
    metrics.record_run(run(day, "ok"))

    assert metrics.computed_windows("m", "1h", hour(0).start) == {
        hour(0).start,
        hour(2).start,
        hour(3).start,
        hour(4).start,
    }
    assert metrics.computed_windows("m", "1h", hour(3).start) == {hour(3).start, hour(4).start}
    assert metrics.computed_windows("m", "1d", day.start) == {day.start}
    assert metrics.computed_windows("m", "5m", day.start) == set()


def test_metric_models_lists_models_with_points(metrics: MetricStore) -> None:
    metrics.replace_window("zeta", "default", HOUR, [point("row_count", HOUR, model="zeta")])
    metrics.replace_window("alpha", "default", HOUR, [point("row_count", HOUR, model="alpha")])
    metrics.record_run(run(HOUR, model="runs-only"))

    assert metrics.models() == ["alpha", "zeta"]


def test_points_and_runs_survive_close_and_reopen(backend: Backend) -> None:
    store = backend.open_metrics()
    try:
        store.replace_window("m", "default", HOUR, [point("row_count", HOUR, 5.0)])
        store.record_run(run(HOUR))
    finally:
        store.close()

    store = backend.open_metrics()
    try:
        assert keys(store.query("m")) == [("row_count", "", HOUR.start)]
        assert [r.window_start for r in store.runs("m")] == [HOUR.start]
        assert store.computed_windows("m", "1h", HOUR.start) == {HOUR.start}
        # Replacing after a reopen still replaces.
        store.replace_window("m", "default", HOUR, [point("row_count", HOUR, 6.0)])
        assert [p.value for p in store.query("m")] == [6.0]
    finally:
        store.close()


def test_prune_deletes_old_raw_data_but_kept_windows_and_their_labels(
    predictions: PredictionStore,
) -> None:
    store = predictions
    day = timedelta(days=1)
    rows = [prediction(i, T0 + i * day) for i in range(5)]  # one a day from T0
    write(store, "m", rows)
    write(store, "m", labels=[
        feedback("req-0", 1.0, T0 + day),  # for the kept day: stays
        feedback("req-1", 0.0, T0 + day),  # its prediction goes: goes
        feedback("req-4", 1.0, T0 + 4 * day),  # recent: stays
    ])  # fmt: skip
    store.write(WriteBatch(
        events=[EventRow("m", f"ev-{i}", T0 + i * day, T0 + i * day, "", "predict", 1.0,
                         "ok", "", False, {}) for i in range(5)],
        quarantine=[QuarantinedRecord("m", "prediction", f"bad-{i}", T0 + i * day, 0,
                                      "features.x", "expected a number", "{}")
                    for i in range(5)],
    ))  # fmt: skip
    before = T0 + 3 * day
    kept = {"m": [Window.containing(T0, "1d")]}
    counts = store.prune(before, kept)
    assert counts == {"predictions": 2, "feedback": 1, "events": 3, "quarantine": 3}
    left = store.read_window("m", Window(T0 - day, T0 + 10 * day, "range"))
    assert sorted(column(left, "request_id")) == ["req-0", "req-3", "req-4"]
    targets = dict(zip(column(left, "request_id"), column(left, "target"), strict=True))
    assert targets == {"req-0": 1.0, "req-3": None, "req-4": 1.0}
    [info] = store.models()
    assert (info.n_predictions, info.n_feedback) == (3, 2)
    assert utc(info.first_ts) == T0  # type: ignore[arg-type]  # the kept first day
    assert store.read_events("m", Window(T0, T0 + 10 * day, "range")).num_rows == 2
    assert len(store.quarantined()) == 2
    assert store.prune(before, kept) == dict.fromkeys(counts, 0)  # nothing more to do
