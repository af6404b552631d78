"""Persistence: the prediction store and the metric store, chosen by URL.

>>> store = open_prediction_store("duckdb:////tmp/predictions.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from sightline.errors import ConfigError
from sightline.store.alerts import AlertStore
from sightline.store.base import (
    EventRow,
    FeedbackRow,
    MetricStore,
    ModelInfo,
    PointFilter,
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
    "PointFilter",
    "PredictionRow",
    "PredictionStore",
    "QuarantinedRecord",
    "WriteBatch",
    "open_metric_store",
    "open_prediction_store",
    "open_state_store",
    "store_path",
]


def _duckdb_target(url: str) -> tuple[Path, dict[str, str]]:
    """The file of a ``duckdb:///path.duckdb?option=value`` URL, and its DuckDB options."""
    if not url.startswith("duckdb://"):
        raise ConfigError(f"unsupported store URL {url!r}; use duckdb:///path/to/file.duckdb")
    # duckdb:///relative/path.duckdb and duckdb:////absolute/path.duckdb (three slashes, then
    # the path as written), as SQLAlchemy's sqlite URLs.
    location, _, query = url[len("duckdb://") :].partition("?")
    if location.startswith("/"):
        location = location[1:]
    return Path(location), dict(parse_qsl(query, keep_blank_values=True))


def _duckdb_path(url: str) -> Path:
    path, options = _duckdb_target(url)
    if options:
        raise ConfigError(f"store URL {url!r}: options are supported by the prediction store only")
    return path


def store_path(url: str) -> Path:
    """The file a store URL names (``duckdb:///data/predictions.duckdb``)."""
    return _duckdb_target(url)[0]


def open_prediction_store(url: str) -> PredictionStore:
    """Open the prediction store at ``url``: ``duckdb:///path.duckdb``, optionally with DuckDB
    settings as query parameters, e.g. ``?memory_limit=1GB`` to bound the server's memory."""
    # Backends load their driver only when chosen.
    from sightline.store.duckdb import DuckDBPredictionStore

    path, options = _duckdb_target(url)
    return DuckDBPredictionStore(path, options)


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
