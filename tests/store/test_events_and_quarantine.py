"""The store contract for service events and quarantined records (every backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sightline.schema import ModelSchema, Window
from sightline.store import EventRow, PredictionStore, QuarantinedRecord, WriteBatch
from tests.store.conftest import Backend

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
HOUR = Window.containing(T0, "1h")


def event(n: int, ts: datetime, model: str = "churn", **fields: object) -> EventRow:
    values: dict[str, object] = {
        "model": model,
        "record_id": f"ev-{n}",
        "ts": ts,
        "received_at": ts,
        "model_version": "v1",
        "name": "predict",
        "latency_ms": float(n),
        "status": "ok",
        "error_type": "",
        "error": False,
        "attributes": {"route": "/p"},
    }
    values.update(fields)
    return EventRow(**values)  # type: ignore[arg-type]


def quarantined(n: int, model: str = "churn", record_id: str | None = None) -> QuarantinedRecord:
    return QuarantinedRecord(
        model=model,
        kind="prediction",
        record_id=f"bad-{n}" if record_id is None else record_id,
        received_at=T0 + timedelta(seconds=n),
        index=n,
        field="features.x",
        message="expected a number",
        record='{"features": {"x": "ten"}}',
    )


def test_events_are_stored_once_and_read_by_window(predictions: PredictionStore) -> None:
    rows = [event(i, T0 + timedelta(minutes=i * 20)) for i in range(4)]  # the last is 11:00
    rows.append(event(9, T0, model="other"))
    assert predictions.write(WriteBatch(events=rows)) == 5
    assert predictions.write(WriteBatch(events=rows[:2])) == 0  # a retry

    table = predictions.read_events("churn", HOUR)
    assert table.column("latency_ms").to_pylist() == [0.0, 1.0, 2.0]
    assert set(table.column_names) >= {"ts", "name", "latency_ms", "status", "error_type", "error"}
    assert predictions.read_events("ghost", HOUR).num_rows == 0


def test_quarantine_keeps_records_with_reasons_newest_first(backend: Backend) -> None:
    store = backend.open_predictions()
    try:
        store.write(WriteBatch(quarantine=[quarantined(1), quarantined(2, model="fraud")]))
        store.write(WriteBatch(quarantine=[quarantined(1), quarantined(3, record_id="")]))
    finally:
        store.close()
    store = backend.open_predictions()  # durable
    try:
        every = store.quarantined()
        assert [(q.model, q.index) for q in every] == [("churn", 3), ("fraud", 2), ("churn", 1)]
        assert [q.index for q in store.quarantined("churn", limit=1)] == [3]
        assert every[0].to_dict()["record"] == {"features": {"x": "ten"}}
        assert store.quarantined("ghost") == []
    finally:
        store.close()


def test_quarantine_and_rows_are_written_together(predictions: PredictionStore) -> None:
    schema, changes = ModelSchema("churn").evolve([{"x": 1.0}], [0.5], None)
    batch = WriteBatch(
        schemas={"churn": (schema, changes)}, quarantine=[quarantined(1)], events=[event(1, T0)]
    )
    assert predictions.write(batch) == 1
    assert len(predictions.quarantined()) == 1
