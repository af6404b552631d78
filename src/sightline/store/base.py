"""The store interfaces: one small Protocol per store, several backends behind each.

Backends are chosen by URL (:func:`sightline.store.open_prediction_store`); the contract tests
in ``tests/store/test_contract.py`` run against every backend.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypedDict, Unpack

import pyarrow as pa

from sightline.schema import ColumnType, JobRun, MetricPoint, ModelSchema, Window, WindowSummary
from sightline.schema.model import Scalar
from sightline.schema.monitors import ModelConfig
from sightline.schema.rows import RowQuery, RowsPage

__all__ = [
    "ARROW_TYPES",
    "TS",
    "EventRow",
    "FeedbackRow",
    "MetricStore",
    "ModelInfo",
    "PointFilter",
    "PredictionRow",
    "PredictionStore",
    "QuarantinedRecord",
    "WriteBatch",
    "feedback_table",
    "naive_utc",
    "prediction_table",
]

#: How each column type is held in Arrow tables (and stored).
ARROW_TYPES = {
    ColumnType.NUMBER: pa.float64(),
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
}
TS = pa.timestamp("us")


@dataclass(slots=True)
class PredictionRow:
    """A prediction checked against its model's schema, ready to store."""

    record_id: str
    request_id: str
    ts: datetime
    received_at: datetime
    model_version: str
    sample_rate: float
    tags: dict[str, str]
    features: dict[str, Scalar]
    outputs: dict[str, Scalar]


@dataclass(slots=True)
class FeedbackRow:
    record_id: str
    request_id: str
    ts: datetime
    received_at: datetime
    target: Scalar


@dataclass(slots=True)
class EventRow:
    """A service event checked and ready to store (``error`` is derived from status and type)."""

    model: str
    record_id: str
    ts: datetime
    received_at: datetime
    model_version: str
    name: str
    latency_ms: float | None
    status: str
    error_type: str
    error: bool
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record the collector could not store as it was, kept with the reason.

    ``record`` is the record as received (JSON text); ``index`` its position in its batch.
    """

    model: str
    kind: str
    record_id: str
    received_at: datetime
    index: int | None
    field: str
    message: str
    record: str

    def to_dict(self) -> dict[str, Any]:
        try:
            record: Any = json.loads(self.record)
        except ValueError:
            record = self.record
        return {
            "model": self.model,
            "kind": self.kind,
            "record_id": self.record_id,
            "received_at": self.received_at.isoformat(),
            "index": self.index,
            "field": self.field,
            "message": self.message,
            "record": record,
        }


@dataclass
class WriteBatch:
    """Everything one ingest request stores, written in one transaction.

    Predictions and feedback come as rows or, from the columnar ingest path, as Arrow tables in
    the store layout (:func:`prediction_table`, :func:`feedback_table`); both may be present.
    """

    schemas: dict[str, tuple[ModelSchema, list[str]]] = field(default_factory=dict)
    predictions: dict[str, list[PredictionRow]] = field(default_factory=dict)
    feedback: dict[str, list[FeedbackRow]] = field(default_factory=dict)
    prediction_tables: dict[str, list[pa.Table]] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    quarantine: list[QuarantinedRecord] = field(default_factory=list)

    @property
    def n_records(self) -> int:
        """Records to store (quarantined ones not counted)."""
        return int(
            sum(map(len, self.predictions.values()))
            + sum(map(len, self.feedback.values()))
            + sum(t.num_rows for tables in self.prediction_tables.values() for t in tables)
            + len(self.events)
        )


def naive_utc(ts: datetime) -> datetime:
    """``ts`` as a naive UTC datetime, the way the stores keep times."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def prediction_table(schema: ModelSchema, rows: Sequence[PredictionRow]) -> pa.Table:
    """Prediction rows in the store layout: bookkeeping columns, then features and outputs."""
    columns: dict[str, pa.Array] = {
        "record_id": pa.array([r.record_id for r in rows], pa.string()),
        "request_id": pa.array([r.request_id for r in rows], pa.string()),
        "ts": pa.array([naive_utc(r.ts) for r in rows], TS),
        "received_at": pa.array([naive_utc(r.received_at) for r in rows], TS),
        "model_version": pa.array([r.model_version for r in rows], pa.string()),
        "sample_rate": pa.array([r.sample_rate for r in rows], pa.float64()),
        "tags": pa.array([json.dumps(r.tags) if r.tags else None for r in rows], pa.string()),
    }
    for spec in schema.features:
        columns[spec.name] = pa.array(
            [r.features.get(spec.name) for r in rows], ARROW_TYPES[spec.type]
        )
    for spec in schema.outputs:
        columns[spec.name] = pa.array(
            [r.outputs.get(spec.name) for r in rows], ARROW_TYPES[spec.type]
        )
    return pa.table(columns)


def feedback_table(schema: ModelSchema, rows: Sequence[FeedbackRow]) -> pa.Table:
    """Feedback rows in the store layout."""
    assert schema.target is not None, "feedback is written after its target type is known"
    return pa.table(
        {
            "record_id": pa.array([r.record_id for r in rows], pa.string()),
            "request_id": pa.array([r.request_id for r in rows], pa.string()),
            "ts": pa.array([naive_utc(r.ts) for r in rows], TS),
            "received_at": pa.array([naive_utc(r.received_at) for r in rows], TS),
            "target": pa.array([r.target for r in rows], ARROW_TYPES[schema.target.type]),
        }
    )


@dataclass(frozen=True)
class ModelInfo:
    """A model that logged data: its schema, how many predictions and feedback records, and
    the time of its first and last prediction. A model that has only logged service events
    has an empty schema, no predictions, and the time of its first and last event."""

    name: str
    schema: ModelSchema
    n_predictions: int
    n_feedback: int
    first_ts: datetime | None
    last_ts: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schema": self.schema.to_dict(),
            "n_predictions": self.n_predictions,
            "n_feedback": self.n_feedback,
            "first_ts": self.first_ts.isoformat() if self.first_ts else None,
            "last_ts": self.last_ts.isoformat() if self.last_ts else None,
        }


class PredictionStore(Protocol):
    """Predictions, feedback and reference datasets of every model."""

    def schema(self, model: str) -> ModelSchema | None:
        """The pinned schema of ``model``, or None for a model never seen."""
        ...

    def write(self, batch: WriteBatch) -> int:
        """Store schema changes, predictions, feedback, events and quarantined records
        atomically and durably; returns how many records were new (a record whose
        ``record_id`` is stored already is skipped, so a retried batch stores nothing twice;
        quarantined records are not counted)."""
        ...

    def read_window(self, model: str, window: Window, model_version: str | None = None) -> pa.Table:
        """Predictions with ``window.start <= ts < window.end``, joined with their latest
        feedback (``target``, ``feedback_ts``) as an Arrow table, in no particular order."""
        ...

    def prune(self, before: datetime, keep: Mapping[str, Sequence[Window]]) -> dict[str, int]:
        """Delete what is older than ``before``: each model's predictions (except those in its
        ``keep`` windows), ground truth older than ``before`` whose prediction is gone, service
        events, and quarantined records received before; how many of each (``predictions``,
        ``feedback``, ``events``, ``quarantine``)."""
        ...

    def labelled_count(self, model: str, window: Window) -> int:
        """How many predictions with ``window.start <= ts < window.end`` have feedback."""
        ...

    def rows(self, model: str, query: RowQuery) -> RowsPage:
        """One page of the predictions ``query`` selects, joined with their latest feedback
        (``target``, ``feedback_ts``), and how many it selects in all: what the debug view
        lists. Filters, order, limit and offset are applied by the store, not in Python."""
        ...

    def models(self) -> list[ModelInfo]:
        """Every model that logged predictions or service events, by name."""
        ...

    def save_reference(self, model: str, name: str, table: pa.Table) -> None:
        """Store (or replace) a named reference dataset of ``model``."""
        ...

    def read_reference(self, model: str, name: str) -> pa.Table | None: ...

    def references(self, model: str) -> list[tuple[str, int, datetime]]:
        """The reference datasets of ``model``: name, rows, upload time."""
        ...

    def reference_info(self, model: str, name: str) -> tuple[int, datetime] | None:
        """Rows and upload time of the reference dataset ``name`` of ``model``, or None."""
        ...

    def event_models(self) -> dict[str, tuple[datetime, datetime]]:
        """Models that logged service events: first and last event time of each."""
        ...

    def versions(self, model: str) -> list[tuple[str, datetime]]:
        """The model's versions with the time each was first seen, oldest first."""
        ...

    def activity(
        self, model: str, granularity_seconds: int, received_since: datetime, ts_since: datetime
    ) -> dict[datetime, datetime]:
        """Windows that received data after ``received_since``: start → latest arrival."""
        ...

    def read_events(self, model: str, window: Window) -> pa.Table:
        """Service events of ``model`` with ``window.start <= ts < window.end`` (columns
        ``ts``, ``model_version``, ``name``, ``latency_ms``, ``status``, ``error_type``,
        ``error``)."""
        ...

    def quarantined(self, model: str | None = None, limit: int = 100) -> list[QuarantinedRecord]:
        """The latest quarantined records (of ``model``, or of every model), newest first."""
        ...

    def export(self, directory: Path) -> None:
        """Everything the store holds into ``directory``, from one consistent snapshot (see
        :mod:`sightline.store.backup`)."""
        ...

    def close(self) -> None: ...


class PointFilter(TypedDict, total=False):
    """Which metric points a query reads: each key given narrows it (``None`` or absent: any).
    ``column`` ``""`` is the whole table, ``model_version`` ``""`` all versions together,
    ``segment_key`` ``""`` all data; ``start``/``end`` bound the windows
    (``start <= window_start`` and ``window_end <= end``)."""

    column: str | None
    granularity: str | None
    start: datetime | None
    end: datetime | None
    model_version: str | None
    monitor: str | None
    segment_key: str | None
    segment_value: str | None


class MetricStore(Protocol):
    """Metric points and the history of job runs."""

    def replace_window(
        self,
        model: str,
        monitor: str,
        window: Window,
        points: Sequence[MetricPoint],
        summaries: Sequence[WindowSummary] = (),
    ) -> None:
        """Replace every point and summary of one window of one monitor, atomically
        (recomputing never duplicates)."""
        ...

    def query(
        self,
        model: str,
        *,
        metric: str | None = None,
        **where: Unpack[PointFilter],
    ) -> list[MetricPoint]:
        """The points of ``model`` that pass ``where`` (see :class:`PointFilter`), by time."""
        ...

    def query_table(
        self,
        model: str,
        *,
        metrics: Sequence[str] | None = None,
        details: bool = False,
        **where: Unpack[PointFilter],
    ) -> pa.Table:
        """The points of :meth:`query` as one Arrow table, for long series."""
        ...

    def query_worst(
        self,
        model: str,
        *,
        metrics: Sequence[str],
        **where: Unpack[PointFilter],
    ) -> pa.Table:
        """Per metric and window, the highest value over the columns (NaN and null left out)
        and the first column, by name, that has it: ``metric``, ``start`` (epoch seconds),
        ``value`` (null when no column has one), ``column``, ``n_columns``; ordered by metric,
        then time. What the dashboard's data-quality panel draws, aggregated in the store."""
        ...

    def query_series(
        self,
        model: str,
        *,
        metrics: Sequence[str] | None = None,
        **where: Unpack[PointFilter],
    ) -> pa.Table:
        """Points ordered by series then time: the key columns, ``start`` (epoch seconds),
        ``value`` and ``n_rows``."""
        ...

    def summaries(
        self, model: str, monitor: str, granularity: str, start: datetime, end: datetime
    ) -> list[WindowSummary]:
        """Stored window summaries in ``[start, end)``, oldest first."""
        ...

    def record_run(self, run: JobRun) -> None: ...

    def runs(self, model: str, limit: int = 100, monitor: str | None = None) -> list[JobRun]:
        """The latest runs of ``model``, newest first."""
        ...

    def computed_windows(
        self, model: str, granularity: str, since: datetime, monitor: str | None = None
    ) -> set[datetime]:
        """Starts of the windows since ``since`` that have a finished (not failed) run."""
        ...

    def last_computed(
        self, model: str, granularity: str, since: datetime, monitor: str | None = None
    ) -> dict[datetime, datetime]:
        """Window start → start time of its latest successful run, since ``since``."""
        ...

    def acquire_lease(self, name: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew a lease unless another owner holds an unexpired one."""
        ...

    def release_lease(self, name: str, owner: str) -> None: ...

    def save_model_config(self, config: ModelConfig) -> None:
        """Keep a model configuration set at run time (it wins over the config file)."""
        ...

    def delete_model_config(self, model: str) -> None: ...

    def model_configs(self) -> list[ModelConfig]: ...

    def models(self) -> list[str]: ...

    def export(self, directory: Path) -> None:
        """Everything the store holds into ``directory``, from one consistent snapshot (see
        :mod:`sightline.store.backup`)."""
        ...

    def close(self) -> None: ...
