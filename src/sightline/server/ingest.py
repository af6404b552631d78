"""Ingestion: validate a batch against its models' schemas, then store it in one transaction.

A batch is all or nothing: if any record is malformed, nothing is stored and the error names
every bad record's index and field, so the sender can fix or drop exactly those.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime

from sightline.errors import BatchError, ValidationError
from sightline.schema import FeedbackRecord, ModelSchema, PredictionRecord, parse_records
from sightline.store import FeedbackRow, PredictionRow, PredictionStore, WriteBatch

__all__ = ["Ingestor"]


class Ingestor:
    """Turns ingest payloads into durable writes. One lock keeps schema evolution consistent."""

    def __init__(self, store: PredictionStore):
        self.store = store
        self._lock = threading.Lock()

    def ingest(self, payload: object, received_at: datetime) -> tuple[int, int]:
        """Store every record of ``payload``; returns (records received, records new — the
        rest were stored before). Raises BatchError when any record is malformed, having stored
        nothing."""
        records, errors = parse_records(payload, received_at)
        if errors:
            raise BatchError(errors)
        by_model: dict[str, list[tuple[int, PredictionRecord | FeedbackRecord]]] = defaultdict(list)
        for index, record in enumerate(records):
            by_model[record.model].append((index, record))
        with self._lock:
            batch = WriteBatch()
            for model, items in by_model.items():
                self._prepare(model, items, received_at, batch, errors)
            if errors:
                raise BatchError(errors)
            stored = self.store.write(batch)
        return batch.n_records, stored

    def _prepare(
        self,
        model: str,
        items: list[tuple[int, PredictionRecord | FeedbackRecord]],
        received_at: datetime,
        batch: WriteBatch,
        errors: list[ValidationError],
    ) -> None:
        predictions = [(i, r) for i, r in items if isinstance(r, PredictionRecord)]
        feedback = [(i, r) for i, r in items if isinstance(r, FeedbackRecord)]
        old = self.store.schema(model)
        try:
            schema, changes = (old or ModelSchema(model)).evolve(
                (r.features for _, r in predictions),
                (r.prediction for _, r in predictions),
                (r.target for _, r in feedback),
            )
        except ValidationError as error:
            errors.append(_locate(error, predictions))
            return
        if old is None or changes:
            batch.schemas[model] = (schema, changes)
        rows: list[PredictionRow] = []
        for index, record in predictions:
            try:
                rows.append(
                    PredictionRow(
                        record.record_id,
                        record.request_id,
                        record.ts,
                        received_at,
                        record.model_version,
                        record.sample_rate,
                        record.tags,
                        schema.conform_features(record.features, index),
                        schema.conform_outputs(record.prediction, index),
                    )
                )
            except ValidationError as error:
                errors.append(error)
        fb_rows: list[FeedbackRow] = []
        for index, label in feedback:
            try:
                target = schema.conform_target(label.target, index)
            except ValidationError as error:
                errors.append(error)
                continue
            fb_rows.append(
                FeedbackRow(label.record_id, label.request_id, label.ts, received_at, target)
            )
        batch.predictions[model] = rows
        batch.feedback[model] = fb_rows


def _locate(
    error: ValidationError, predictions: list[tuple[int, PredictionRecord]]
) -> ValidationError:
    """The schema error with the index of the first record that has the offending field."""
    if error.index is not None or not error.field or "." not in error.field:
        return error
    kind, name = error.field.split(".", 1)
    for index, record in predictions:
        names = record.features if kind == "features" else record.prediction
        if isinstance(names, dict) and name in names:
            return type(error)(error.message, index=index, field=error.field)
    return error
