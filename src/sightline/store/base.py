"""The store interfaces: one small Protocol per store, several backends behind each.

Backends are chosen by URL (:func:`sightline.store.open_prediction_store`); the contract tests
in ``tests/store/test_contract.py`` run against every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from sightline.schema import JobRun, MetricPoint, ModelSchema, Window
from sightline.schema.model import Scalar

__all__ = [
    "FeedbackRow",
    "MetricStore",
    "ModelInfo",
    "PredictionRow",
    "PredictionStore",
    "WriteBatch",
]


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


@dataclass
class WriteBatch:
    """Everything one ingest request stores, written in one transaction."""

    schemas: dict[str, tuple[ModelSchema, list[str]]] = field(default_factory=dict)
    predictions: dict[str, list[PredictionRow]] = field(default_factory=dict)
    feedback: dict[str, list[FeedbackRow]] = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return sum(map(len, self.predictions.values())) + sum(map(len, self.feedback.values()))


@dataclass(frozen=True)
class ModelInfo:
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
        """Store schema changes, predictions and feedback atomically and durably; returns how
        many records were new (a record whose ``record_id`` is stored already is skipped, so a
        retried batch stores nothing twice)."""
        ...

    def read_window(self, model: str, window: Window, model_version: str | None = None) -> pa.Table:
        """Predictions with ``window.start <= ts < window.end``, joined with their latest
        feedback (``target``, ``feedback_ts``) as an Arrow table."""
        ...

    def models(self) -> list[ModelInfo]: ...

    def save_reference(self, model: str, name: str, table: pa.Table) -> None:
        """Store (or replace) a named reference dataset of ``model``."""
        ...

    def read_reference(self, model: str, name: str) -> pa.Table | None: ...

    def close(self) -> None: ...


class MetricStore(Protocol):
    """Metric points and the history of job runs."""

    def replace_window(
        self, model: str, monitor: str, window: Window, points: Sequence[MetricPoint]
    ) -> None:
        """Replace every point of one window of one monitor (recomputing never duplicates)."""
        ...

    def query(
        self,
        model: str,
        *,
        metric: str | None = None,
        column: str | None = None,
        granularity: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        model_version: str | None = None,
    ) -> list[MetricPoint]: ...

    def record_run(self, run: JobRun) -> None: ...

    def runs(self, model: str, limit: int = 100) -> list[JobRun]:
        """The latest runs of ``model``, newest first."""
        ...

    def computed_windows(self, model: str, granularity: str, since: datetime) -> set[datetime]:
        """Starts of the windows since ``since`` that have a finished (not failed) run."""
        ...

    def models(self) -> list[str]: ...

    def close(self) -> None: ...
