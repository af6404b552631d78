"""The SDK client: cheap ``log_*`` calls on the model's thread, a sender thread for the network.

    >>> client = Client("http://127.0.0.1:8000")                             # doctest: +SKIP
    >>> rid = client.log_prediction("churn", {"age": 31, "plan": "pro"}, 0.83)  # doctest: +SKIP
    >>> client.log_feedback("churn", rid, 1)                                 # doctest: +SKIP

``log_*`` validate cheaply and enqueue; a background thread batches records (by size and time)
and POSTs them, retrying with backoff while the collector is unreachable. Nothing raises into
the caller: records that cannot be queued or are refused are counted in :meth:`Client.stats`.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sightline.sdk.transport import HTTPTransport, Transport, encode_records

__all__ = ["Client"]

log = logging.getLogger("sightline")


def _time(ts: datetime | float | None) -> float | str:
    if ts is None:
        return time.time()
    if isinstance(ts, datetime):
        return ts.isoformat()
    return float(ts)


class Client:
    """Logs records to a Sightline collector from a background thread."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        max_retry_delay: float = 30.0,
        transport: Transport | None = None,
    ):
        self.url = url
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.max_retry_delay = max_retry_delay
        self._transport = transport or HTTPTransport(url, api_key)
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._flushing = 0  # callers waiting in flush(): send partial batches at once
        self._closed = False
        self._stats = {"queued": 0, "sent": 0, "dropped": 0, "rejected": 0, "retries": 0}
        self._thread = threading.Thread(target=self._run, name="sightline-sender", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the caller's side ------------------------------------------------------------------

    def log_prediction(
        self,
        model: str,
        features: Mapping[str, Any],
        prediction: Any,
        request_id: str | None = None,
        ts: datetime | float | None = None,
        model_version: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Queue a prediction; returns its request id (generated when not given)."""
        record_id = uuid.uuid4().hex
        request_id = record_id if request_id is None else str(request_id)
        record: dict[str, Any] = {
            "kind": "prediction",
            "model": model,
            "record_id": record_id,
            "request_id": request_id,
            "ts": _time(ts),
            "features": dict(features),
            "prediction": prediction,
        }
        if model_version is not None:
            record["model_version"] = str(model_version)
        if tags:
            record["tags"] = dict(tags)
        self._enqueue(record)
        return request_id

    def log_feedback(
        self, model: str, request_id: str, target: Any, ts: datetime | float | None = None
    ) -> None:
        """Queue the ground truth of the prediction ``request_id``."""
        self._enqueue(
            {
                "kind": "feedback",
                "model": model,
                "record_id": uuid.uuid4().hex,
                "request_id": str(request_id),
                "ts": _time(ts),
                "target": target,
            }
        )

    def _enqueue(self, record: dict[str, Any]) -> None:
        with self._cond:
            if self._closed or len(self._queue) >= self.max_queue:
                self._stats["dropped"] += 1
                return
            self._queue.append(record)
            self._stats["queued"] += 1
            if len(self._queue) >= self.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every queued record is sent (or dropped); False if ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._queue or self._in_flight:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued (up to ``timeout``) and stop the sender thread."""
        if self._closed:
            return
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=max(timeout, 1.0))
        self._transport.close()
        atexit.unregister(self.close)

    def stats(self) -> dict[str, int]:
        """Counts of records queued, sent, dropped (queue full / closed) and rejected."""
        with self._cond:
            return {**self._stats, "pending": len(self._queue) + self._in_flight}

    # -- the sender thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval
                while (
                    not self._closed and not self._flushing and len(self._queue) < self.batch_size
                ):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._closed and not self._queue:
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))
                ]
                self._in_flight = len(batch)
            if batch:
                self._deliver(batch)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        body = encode_records(batch)
        delay = 0.1
        while True:
            result = self._transport.send(body)
            if result.outcome == "ok":
                with self._cond:
                    self._stats["sent"] += len(batch)
                return
            if result.outcome == "rejected":
                with self._cond:
                    self._stats["rejected"] += len(batch)
                log.warning(
                    "sightline: collector refused %d records: %s", len(batch), result.detail
                )
                return
            with self._cond:
                self._stats["retries"] += 1
                if self._closed:
                    self._stats["dropped"] += len(batch)
                    log.warning(
                        "sightline: dropped %d records at close: %s", len(batch), result.detail
                    )
                    return
            log.debug("sightline: send failed (%s), retrying in %.1fs", result.detail, delay)
            with self._cond:
                self._cond.wait(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.max_retry_delay)
