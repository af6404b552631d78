"""Sightline: ML monitoring. This module is the SDK surface, cheap to import.

    import sightline
    sightline.init(url="http://127.0.0.1:8000")
    request_id = sightline.log_prediction("churn", {"age": 31, "plan": "pro"}, 0.83)
    sightline.log_feedback("churn", request_id, 1)   # when the truth arrives, even days later
    sightline.log_event("churn", "predict", latency_ms=3.2, status="ok")  # service health

Records are batched and sent by a background thread; nothing here blocks on the network or
raises into model code. ``flush()`` waits for delivery; pending records are flushed at exit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sightline.errors import SightlineError
from sightline.sdk.client import Client, set_default_client

__all__ = [
    "Client",
    "SightlineError",
    "__version__",
    "close",
    "compare",
    "flush",
    "init",
    "log_feedback",
    "log_prediction",
    "stats",
]

__version__ = "0.1.0"

_client: Client | None = None
_warned = False
log = logging.getLogger("sightline")


def init(url: str | None = None, api_key: str | None = None, **options: Any) -> Client:
    """Start logging to the collector at ``url`` (default ``$SIGHTLINE_URL`` or
    http://127.0.0.1:8000). ``options`` go to :class:`Client` (batch_size, flush_interval, ...).
    Calling it again replaces the client, flushing the old one."""
    global _client
    if _client is not None:
        _client.close()
    _client = Client(
        url or os.environ.get("SIGHTLINE_URL", "http://127.0.0.1:8000"),
        api_key if api_key is not None else os.environ.get("SIGHTLINE_API_KEY") or None,
        **options,
    )
    set_default_client(_client)
    return _client


def _current() -> Client | None:
    global _warned
    if _client is None and not _warned:
        _warned = True
        log.warning("sightline: log_* called before sightline.init(); records are dropped")
    return _client


def log_prediction(
    model: str,
    features: Mapping[str, Any],
    prediction: Any,
    request_id: str | None = None,
    ts: datetime | float | None = None,
    model_version: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str | None:
    """Log one prediction; returns its request id (None before :func:`init`)."""
    client = _current()
    if client is None:
        return None
    return client.log_prediction(model, features, prediction, request_id, ts, model_version, tags)


def log_feedback(
    model: str, request_id: str, target: Any, ts: datetime | float | None = None
) -> None:
    """Log the ground truth of an earlier prediction, joined by ``request_id``."""
    client = _current()
    if client is not None:
        client.log_feedback(model, request_id, target, ts)


def log_event(
    model: str,
    name: str,
    *,
    latency_ms: float | None = None,
    status: str | int | None = None,
    error_type: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    ts: datetime | float | None = None,
    model_version: str | None = None,
) -> None:
    """Log a service event of ``model`` (a request served, a call, a log line) with its
    latency, status and error type; they become throughput, latency and error-rate metrics."""
    client = _current()
    if client is not None:
        client.log_event(
            model,
            name,
            latency_ms=latency_ms,
            status=status,
            error_type=error_type,
            attributes=attributes,
            ts=ts,
            model_version=model_version,
        )


def flush(timeout: float | None = 30.0) -> bool:
    """Wait until every logged record has been delivered; False on timeout."""
    return _client.flush(timeout) if _client is not None else True


def close() -> None:
    """Flush and stop the background sender."""
    global _client
    if _client is not None:
        _client.close()
        _client = None
        set_default_client(None)


def __getattr__(name: str) -> Any:
    # ``sightline.compare`` loads the engine (NumPy, Arrow, SciPy) on first use only, so that
    # ``import sightline`` stays as light as the SDK.
    if name == "compare":
        from sightline.reports import compare

        return compare
    raise AttributeError(f"module 'sightline' has no attribute {name!r}")


def stats() -> dict[str, int]:
    """Counts of records queued, sent, dropped, rejected, quarantined, spilled and sampled out
    by the SDK, and how many are pending (see :meth:`Client.stats`)."""
    return _client.stats() if _client is not None else {}
