"""Ingestion: check a batch against its models' schemas, store the good records, quarantine the
bad ones with their reason, all in one transaction.

A batch is a JSON object ``{"records": [...]}`` or an Arrow IPC stream (see
:mod:`sightline.server.arrow_ingest`). Each bad record is kept in the quarantine with the record
index, the field and the message, and the answer lists those errors: nothing is silently
dropped, and one bad record does not hold back the good ones. A body that is not a batch at all
is refused whole (ValidationError) with nothing stored.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError
from sightline.schema import EventRecord, FeedbackRecord, ModelSchema, PredictionRecord
from sightline.schema.records import MAX_ERRORS, Record, parse_model_name, parse_record
from sightline.server import arrow_ingest
from sightline.store import (
    EventRow,
    FeedbackRow,
    PredictionRow,
    PredictionStore,
    QuarantinedRecord,
    WriteBatch,
)

__all__ = ["IngestResult", "Ingestor"]

#: Largest quarantined record text kept (the rest is cut, and the cut is said).
MAX_QUARANTINED_TEXT = 1 << 20


@dataclass
class IngestResult:
    """What one batch came to: records accepted (of which ``stored`` are new) and the errors
    of the quarantined ones; ``counts`` has the accepted records per (model, version, kind)."""

    accepted: int = 0
    stored: int = 0
    errors: list[ValidationError] = field(default_factory=list)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    quarantine: list[QuarantinedRecord] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.accepted - self.stored

    @property
    def quarantined(self) -> int:
        return len(self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "errors": [e.to_dict() for e in self.errors[:MAX_ERRORS]],
        }


class _Pending:
    """A batch being prepared: the write, and the bad records with their errors."""

    def __init__(self, received_at: datetime):
        self.received_at = received_at
        self.batch = WriteBatch()
        self.bad: list[tuple[int, object, ValidationError]] = []

    def fail(self, index: int, raw: object, error: ValidationError) -> None:
        if error.index != index:
            error = type(error)(error.message, index=index, field=error.field)
        self.bad.append((index, raw, error))


class Ingestor:
    """Turns ingest batches into durable writes. One lock keeps schema evolution consistent."""

    def __init__(self, store: PredictionStore):
        self.store = store
        self._lock = threading.Lock()

    # -- the two wire formats ---------------------------------------------------------------

    def ingest(self, payload: object, received_at: datetime) -> IngestResult:
        """Store the good records of a JSON batch and quarantine the bad ones."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("records"), list):
            raise ValidationError(
                'the body must be a JSON object {"records": [...]}', field="records"
            )
        pending = _Pending(received_at)
        parsed = self._parse(enumerate(payload["records"]), pending)
        with self._lock:
            self._prepare_records(parsed, pending)
            return self._write(pending)

    def ingest_arrow(self, table: pa.Table, received_at: datetime) -> IngestResult:
        """Store the good rows of a wire table (:func:`arrow_ingest.read_stream`) and quarantine
        the bad ones. Predictions are checked column-wise; other kinds row by row."""
        pending = _Pending(received_at)
        n = table.num_rows
        positions = pa.array(range(n), pa.int64())
        kinds = (
            table.column("kind").combine_chunks()
            if "kind" in table.column_names
            else pa.array(["prediction"] * n, pa.string())
        )
        if pa.types.is_dictionary(kinds.type):
            kinds = kinds.dictionary_decode()
        if not (pa.types.is_string(kinds.type) or pa.types.is_large_string(kinds.type)):
            raise ValidationError("the 'kind' column must hold strings", field="kind")
        if "model" not in table.column_names:
            raise ValidationError(
                "name the model: a 'model' column or ?model=NAME in the URL", field="model"
            )
        models = table.column("model").combine_chunks()
        if pa.types.is_dictionary(models.type):
            models = models.dictionary_decode()
        if not (pa.types.is_string(models.type) or pa.types.is_large_string(models.type)):
            raise ValidationError("the 'model' column must hold strings", field="model")
        is_prediction = pc.fill_null(pc.equal(kinds, "prediction"), True)
        columnar: list[tuple[str, pa.Table, pa.Array]] = []
        other = pc.indices_nonzero(pc.invert(is_prediction)).to_pylist()
        for model in pc.unique(models.filter(is_prediction)).to_pylist():
            same = pc.is_null(models) if model is None else pc.equal(models, model)
            mask = pc.fill_null(pc.and_(is_prediction, same), False)
            try:
                name = parse_model_name(model, None)
            except ValidationError:
                other.extend(pc.indices_nonzero(mask).to_pylist())  # refused row by row
                continue
            columnar.append((name, table.filter(mask), positions.filter(mask)))
        other.sort()
        parsed = self._parse(arrow_ingest.records(table, other), pending)
        with self._lock:
            for model, rows, indices in columnar:
                self._prepare_columns(model, rows, indices, table, pending)
            self._prepare_records(parsed, pending)
            return self._write(pending)

    # -- checking ---------------------------------------------------------------------------

    def _parse(self, raws: Any, pending: _Pending) -> list[tuple[int, Record, object]]:
        parsed = []
        for index, raw in raws:
            try:
                parsed.append((index, parse_record(raw, index, pending.received_at), raw))
            except ValidationError as error:
                pending.fail(index, raw, error)
        return parsed

    def _schema(self, model: str, pending: _Pending) -> ModelSchema | None:
        evolved = pending.batch.schemas.get(model)
        return evolved[0] if evolved else self.store.schema(model)

    @staticmethod
    def _evolved(
        model: str,
        old: ModelSchema | None,
        schema: ModelSchema,
        changes: list[str],
        pending: _Pending,
    ) -> None:
        batch = pending.batch
        before = batch.schemas.get(model)
        if old is None or changes or before:
            batch.schemas[model] = (schema, (before[1] if before else []) + changes)

    def _prepare_columns(
        self, model: str, rows: pa.Table, indices: pa.Array, table: pa.Table, pending: _Pending
    ) -> None:
        old = self._schema(model, pending)
        result = arrow_ingest.conform_predictions(
            old or ModelSchema(model), rows, indices, pending.received_at
        )
        self._evolved(model, old, result.schema, result.changes, pending)
        pending.batch.prediction_tables.setdefault(model, []).append(result.table)
        bad = sorted(result.errors)
        for (index, raw), error in zip(
            arrow_ingest.records(table, bad), (result.errors[i] for i in bad), strict=True
        ):
            pending.fail(index, raw, error)

    def _prepare_records(
        self, parsed: Sequence[tuple[int, Record, object]], pending: _Pending
    ) -> None:
        by_model: dict[str, list[tuple[int, Record, object]]] = defaultdict(list)
        for item in parsed:
            by_model[item[1].model].append(item)
        for model, items in by_model.items():
            self._prepare_model(model, items, pending)

    def _prepare_model(
        self, model: str, items: list[tuple[int, Record, object]], pending: _Pending
    ) -> None:
        predictions = [(i, r, raw) for i, r, raw in items if isinstance(r, PredictionRecord)]
        feedback = [(i, r, raw) for i, r, raw in items if isinstance(r, FeedbackRecord)]
        events = [(i, r) for i, r, _ in items if isinstance(r, EventRecord)]
        for _, event in events:
            pending.batch.events.append(_event_row(event, pending.received_at))
        if not predictions and not feedback:
            return
        old = self._schema(model, pending)
        while True:
            try:
                schema, changes = (old or ModelSchema(model)).evolve(
                    (r.features for _, r, _ in predictions),
                    (r.prediction for _, r, _ in predictions),
                    (r.target for _, r, _ in feedback),
                )
                break
            except ValidationError as error:
                # A column that cannot be added: quarantine the records that carry it.
                carriers = _carriers(error, predictions)
                for index, _, raw in carriers:
                    pending.fail(index, raw, error)
                taken = {index for index, _, _ in carriers}
                predictions = [p for p in predictions if p[0] not in taken]
        self._evolved(model, old, schema, changes, pending)
        rows = pending.batch.predictions.setdefault(model, [])
        for index, record, raw in predictions:
            try:
                rows.append(
                    PredictionRow(
                        record.record_id,
                        record.request_id,
                        record.ts,
                        pending.received_at,
                        record.model_version,
                        record.sample_rate,
                        record.tags,
                        schema.conform_features(record.features, index),
                        schema.conform_outputs(record.prediction, index),
                    )
                )
            except ValidationError as error:
                pending.fail(index, raw, error)
        labels = pending.batch.feedback.setdefault(model, [])
        for index, label, raw in feedback:
            try:
                target = schema.conform_target(label.target, index)
            except ValidationError as error:
                pending.fail(index, raw, error)
                continue
            labels.append(
                FeedbackRow(
                    label.record_id, label.request_id, label.ts, pending.received_at, target
                )
            )

    # -- writing ----------------------------------------------------------------------------

    def _write(self, pending: _Pending) -> IngestResult:
        batch = pending.batch
        pending.bad.sort(key=lambda item: item[0])
        batch.quarantine = [
            _quarantined(i, raw, e, pending.received_at) for i, raw, e in pending.bad
        ]
        result = IngestResult(
            errors=[e for _, _, e in pending.bad], events=batch.events, quarantine=batch.quarantine
        )
        result.accepted = batch.n_records
        result.stored = self.store.write(batch)
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        for model, rows in batch.predictions.items():
            for row in rows:
                counts[(model, row.model_version, "prediction")] += 1
        for model, tables in batch.prediction_tables.items():
            for data in tables:
                by_version = data.group_by("model_version").aggregate([("record_id", "count")])
                for entry in by_version.to_pylist():
                    counts[(model, entry["model_version"], "prediction")] += entry[
                        "record_id_count"
                    ]
        for model, labels in batch.feedback.items():
            if labels:
                counts[(model, "", "feedback")] += len(labels)
        for event in batch.events:
            counts[(event.model, event.model_version, "event")] += 1
        result.counts = dict(counts)
        return result


def _event_row(event: EventRecord, received_at: datetime) -> EventRow:
    return EventRow(
        event.model,
        event.record_id,
        event.ts,
        received_at,
        event.model_version,
        event.name,
        event.latency_ms,
        event.status,
        event.error_type,
        event.is_error,
        event.attributes,
    )


def _carriers(
    error: ValidationError, predictions: list[tuple[int, PredictionRecord, object]]
) -> list[tuple[int, PredictionRecord, object]]:
    """The predictions that hold the field a schema error is about (all of them if none does:
    the error must never leave the loop without taking a record)."""
    kind, _, name = (error.field or "").partition(".")
    found = []
    for item in predictions:
        record = item[1]
        values = record.features if kind == "features" else record.prediction
        if isinstance(values, Mapping) and name in values:
            found.append(item)
    return found or predictions


def _quarantined(
    index: int, raw: object, error: ValidationError, received_at: datetime
) -> QuarantinedRecord:
    fields = raw if isinstance(raw, Mapping) else {}
    model, kind, record_id = (fields.get(k) for k in ("model", "kind", "record_id"))
    try:
        text = json.dumps(raw, default=str)
    except (ValueError, RecursionError):
        text = repr(raw)
    if len(text) > MAX_QUARANTINED_TEXT:
        text = text[:MAX_QUARANTINED_TEXT] + f"... ({len(text)} characters, cut)"
    return QuarantinedRecord(
        model=_plain(model),
        kind=_plain(kind) or "prediction",
        record_id=_plain(record_id),
        received_at=received_at,
        index=index,
        field=error.field or "",
        message=error.message,
        record=text,
    )


def _plain(value: object) -> str:
    """A short, storable text of a field of a bad record (which may hold anything)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = str(value)[:256]
    return text.encode("utf-8", "replace").decode("utf-8")
