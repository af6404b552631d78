"""Persistence: the prediction store and the metric store, chosen by URL.

>>> store = open_prediction_store("duckdb:///tmp/predictions.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from sightline.errors import ConfigError
from sightline.store.alerts import AlertStore
from sightline.store.base import (
    EventRow,
    FeedbackRow,
    MetricStore,
    ModelInfo,
    PredictionRow,
    PredictionStore,
    QuarantinedRecord,
    WriteBatch,
)

__all__ = [
    "EventRow",
    "FeedbackRow",
    "MetricStore",
    "ModelInfo",
    "PredictionRow",
    "PredictionStore",
    "QuarantinedRecord",
    "WriteBatch",
    "open_metric_store",
    "open_prediction_store",
    "open_state_store",
]


def _duckdb_path(url: str) -> Path:
    if url.startswith("duckdb:///"):
        return Path(url[len("duckdb:///") :])
    if url.startswith("duckdb://"):
        return Path(url[len("duckdb://") :])
    raise ConfigError(f"unsupported store URL {url!r}; use duckdb:///path/to/file.duckdb")


def open_prediction_store(url: str) -> PredictionStore:
    """Open the prediction store at ``url`` (``duckdb:///path.duckdb``)."""
    # Backends load their driver only when chosen.
    from sightline.store.duckdb import DuckDBPredictionStore

    return DuckDBPredictionStore(_duckdb_path(url))


def open_metric_store(url: str) -> MetricStore:
    """Open the metric store at ``url`` (``duckdb:///path.duckdb``)."""
    # Backends load their driver only when chosen.
    from sightline.store.metrics_duckdb import DuckDBMetricStore

    return DuckDBMetricStore(_duckdb_path(url))


def open_state_store(url: str) -> AlertStore:
    """Open the alerting state store at ``url`` (``duckdb:///path/state.duckdb``)."""
    # Backends load their driver only when chosen.
    from sightline.store.alerts_duckdb import DuckDBAlertStore

    return DuckDBAlertStore(_duckdb_path(url))
