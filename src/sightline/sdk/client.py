"""The SDK client: cheap ``log_*`` calls on the model's thread, a sender thread for the network.

    >>> client = Client("http://127.0.0.1:8000")                             # doctest: +SKIP
    >>> rid = client.log_prediction("churn", {"age": 31, "plan": "pro"}, 0.83)  # doctest: +SKIP
    >>> client.log_feedback("churn", rid, 1)                                 # doctest: +SKIP

``log_*`` build a record and append it to a bounded queue: no network, no disk, no exception
into the caller. The sender thread (:mod:`sightline.sdk.batcher`) batches, redacts, encodes and
compresses records, retries with backoff while the collector is unreachable and spills to a
bounded directory meanwhile. Every record carries a unique ``record_id``, so a retried batch is
stored once. The client is safe to use from many threads, from asyncio code (``log_*`` never
block; ``await client.aflush()``) and after ``fork()``: the child starts with an empty queue and
a sender of its own.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import os
import time
import weakref
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sightline.sdk.batcher import Batcher
from sightline.sdk.redaction import Redaction
from sightline.sdk.spill import DirectorySpill, MemorySpill, Spill
from sightline.sdk.transport import HTTPTransport, Transport, table_payload

__all__ = ["Client", "default_client", "set_default_client"]

_clients: weakref.WeakSet[Client] = weakref.WeakSet()
_default: Client | None = None
_UNIT = float(1 << 32)


def _epoch(ts: datetime | float | None) -> float:
    if ts is None:
        return time.time()
    if isinstance(ts, datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()
    return float(ts)


class Client:
    """Logs records to a Sightline collector from a background thread.

    Options: ``batch_size`` records or ``flush_interval`` seconds make a batch (under load,
    what has queued meanwhile is sent together, up to ``max_batch_size``); ``max_queue``
    records wait in memory; ``spill_dir`` (default: a directory under the system's temporary
    directory; ``False`` keeps undelivered batches in memory instead) holds up to
    ``max_spill_bytes`` of batches while the collector is unreachable; ``max_retry_delay``
    caps the backoff; ``timeout`` bounds each request; ``wire`` is ``auto`` (Arrow when pyarrow
    is installed), ``arrow`` or ``json``; ``compress`` gzips bodies; ``sample_rate`` (one rate or
    one per model) keeps that share of predictions; ``redact`` removes or hashes fields.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        *,
        batch_size: int = 500,
        max_batch_size: int = 5000,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        max_retry_delay: float = 30.0,
        timeout: float = 10.0,
        spill_dir: str | Path | bool | None = None,
        max_spill_bytes: int = 256 * 1024 * 1024,
        max_batch_bytes: int = 64 * 1024 * 1024,
        wire: str = "auto",
        compress: bool = True,
        sample_rate: float | Mapping[str, float] = 1.0,
        redact: Redaction | None = None,
        transport: Transport | None = None,
    ):
        if wire not in ("auto", "arrow", "json"):
            raise ValueError(f"wire must be 'auto', 'arrow' or 'json', not {wire!r}")
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self.spill_dir = spill_dir
        self.max_spill_bytes = max_spill_bytes
        self.max_batch_bytes = max_batch_bytes
        self.redact = redact if redact else None
        self._default_rate, self._rates = _rates(sample_rate)
        self._own_transport = transport is None
        self._options = {
            "batch_size": batch_size,
            "max_batch_size": max_batch_size,
            "flush_interval": flush_interval,
            "max_queue": max_queue,
            "max_retry_delay": max_retry_delay,
            "arrow": wire != "json",
            "compress": compress,
        }
        self._transport = transport
        self._start()
        _clients.add(self)
        atexit.register(self.close)

    def _start(self) -> None:
        """A fresh queue, spill and sender (at creation, and in the child after ``fork()``)."""
        self._prefix = os.urandom(8).hex()
        self._ids = itertools.count()
        transport = self._transport
        if self._own_transport or transport is None:
            transport = HTTPTransport(self.url, self.api_key, self.timeout)
        self._batcher = Batcher(
            transport,
            self._open_spill(),
            prepare=self.redact.apply_all if self.redact else None,
            **self._options,  # type: ignore[arg-type]
        )
        self._closed = False

    def _open_spill(self) -> Spill:
        if self.spill_dir is False:
            return MemorySpill(self.max_spill_bytes)
        if self.spill_dir is None or self.spill_dir is True:
            import tempfile  # only to find the temporary directory, once per client

            key = hashlib.sha1(self.url.encode()).hexdigest()[:12]
            root = Path(tempfile.gettempdir()) / "sightline-spill" / key
        else:
            root = Path(self.spill_dir)
        try:
            return DirectorySpill(root, self.max_spill_bytes)
        except OSError:
            return MemorySpill(self.max_spill_bytes)  # no writable directory: hold in memory

    def _after_fork(self) -> None:
        spill = self._batcher.spill
        if isinstance(spill, DirectorySpill):
            spill.release()  # the parent's directory stays the parent's
        self._start()

    # -- the caller's side ------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"{self._prefix}{next(self._ids):x}"

    def _rate(self, model: str) -> float:
        return self._rates.get(model, self._default_rate) if self._rates else self._default_rate

    @staticmethod
    def _sampled_in(rate: float, request_id: str) -> bool:
        """Whether a record is kept at ``rate``. The decision hangs on the request id, so
        feedback is kept exactly when its prediction was."""
        return rate >= 1.0 or zlib.crc32(request_id.encode()) / _UNIT < rate

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
        record_id = self._new_id()
        request_id = record_id if request_id is None else str(request_id)
        record: dict[str, Any] = {
            "kind": "prediction",
            "model": model,
            "record_id": record_id,
            "request_id": request_id,
            "ts": _epoch(ts),
            "features": dict(features),
            "prediction": dict(prediction) if isinstance(prediction, Mapping) else prediction,
        }
        if model_version is not None:
            record["model_version"] = str(model_version)
        if tags:
            record["tags"] = dict(tags)
        rate = self._rate(model)
        if rate < 1.0:
            if not self._sampled_in(rate, request_id):
                self._batcher.count("sampled_out")
                return request_id
            record["sample_rate"] = rate
        self._batcher.put(record)
        return request_id

    def log_feedback(
        self, model: str, request_id: str, target: Any, ts: datetime | float | None = None
    ) -> None:
        """Queue the ground truth of the prediction ``request_id``."""
        request_id = str(request_id)
        if not self._sampled_in(self._rate(model), request_id):
            self._batcher.count("sampled_out")
            return
        self._batcher.put(
            {
                "kind": "feedback",
                "model": model,
                "record_id": self._new_id(),
                "request_id": request_id,
                "ts": _epoch(ts),
                "target": target,
            }
        )

    def log_event(
        self,
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
        """Queue a service event of ``model``: a request served, a call, a log line."""
        record: dict[str, Any] = {
            "kind": "event",
            "model": model,
            "record_id": self._new_id(),
            "name": name,
            "ts": _epoch(ts),
        }
        if latency_ms is not None:
            record["latency_ms"] = latency_ms
        if status is not None:
            record["status"] = str(status)
        if error_type:
            record["error_type"] = error_type
        if attributes:
            record["attributes"] = dict(attributes)
        if model_version is not None:
            record["model_version"] = str(model_version)
        self._batcher.put(record)

    def log_batch(
        self,
        data: Any,
        model: str,
        *,
        prediction: str | list[str] = "prediction",
        request_id: str | None = "request_id",
        ts: str | None = "ts",
        target: str | None = None,
        model_version: str | None = None,
        chunk_rows: int = 50_000,
    ) -> int:
        """Queue a table of predictions of a batch model: a pandas or Polars DataFrame, or a
        pyarrow Table or RecordBatch (pyarrow needed). Columns ``prediction`` (one or several)
        are the outputs, ``request_id`` and ``ts`` are used when present, ``target`` (when
        named) is sent as feedback, every other column is a feature. Returns how many rows
        were queued.

        Rows are sent as Arrow in chunks of ``chunk_rows``; this call encodes them on the
        caller's thread (it is meant for batch jobs) but never waits on the network.
        """
        from sightline.sdk.batches import wire_chunks  # pyarrow: loaded only for batches

        queued = 0
        outputs = [prediction] if isinstance(prediction, str) else list(prediction)
        for chunk in wire_chunks(
            data,
            model=model,
            outputs=outputs,
            request_id=request_id,
            ts=ts,
            target=target,
            model_version=model_version,
            chunk_rows=chunk_rows,
            new_ids=self._new_ids,
        ):
            payload = table_payload(chunk, compress=bool(self._options["compress"]))
            self._batcher.put_payload(payload, self.max_batch_bytes)
            if "kind" not in chunk.column_names:  # feedback chunks repeat the rows
                queued += chunk.num_rows
        return queued

    def _new_ids(self, start: int, n: int) -> list[str]:
        return [self._new_id() for _ in range(n)]

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every queued record is delivered (or dropped); False if ``timeout`` passed.
        Spilled records count as not delivered yet."""
        return self._batcher.flush(timeout)

    async def aflush(self, timeout: float | None = 30.0) -> bool:
        """:meth:`flush` for asyncio code: waits in a worker thread, not on the event loop."""
        import asyncio  # only for callers that are in asyncio code already

        return await asyncio.to_thread(self.flush, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout``), keep the rest in the spill directory for
        the next client, and stop the sender thread."""
        if self._closed:
            return
        self._closed = True
        self._batcher.close(timeout)
        atexit.unregister(self.close)

    def stats(self) -> dict[str, int]:
        """Counts of records: ``queued``, ``sent`` (acknowledged), ``dropped`` (queue or spill
        full), ``rejected`` (refused by the collector), ``quarantined`` (kept aside by the
        collector as malformed), ``spilled`` (written to the spill), ``sampled_out``;
        ``retries`` of sends; ``pending`` (not delivered yet) and ``spill_bytes``."""
        batcher = self._batcher
        with batcher.cond:
            return {
                **batcher.counts,
                "pending": batcher.pending(),
                "spill_bytes": batcher.spill.n_bytes,
            }


def default_client() -> Client | None:
    """The client of ``sightline.init()``, which the integrations use when given none."""
    return _default


def set_default_client(client: Client | None) -> None:
    global _default
    _default = client


def _rates(sample_rate: float | Mapping[str, float]) -> tuple[float, dict[str, float]]:
    rates = dict(sample_rate) if isinstance(sample_rate, Mapping) else {}
    default = 1.0 if isinstance(sample_rate, Mapping) else float(sample_rate)
    for rate in (default, *rates.values()):
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"a sample rate must be in (0, 1], not {rate!r}")
    return default, rates


def _after_fork_in_child() -> None:
    for client in list(_clients):
        if not client._closed:
            client._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
