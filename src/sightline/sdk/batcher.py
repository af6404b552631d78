"""The SDK's sender: a bounded queue the model's threads append to, an encoder thread that
batches the records, redacts, encodes and compresses them, and a sender thread that delivers
the batches, spilling them to disk while it cannot. The two threads overlap: the next batch is
encoded while the collector stores the previous one.

Delivery order is kept: while anything waits in the spill, new batches go behind it, and the
spill is replayed oldest first once the collector answers again. Failed sends back off
exponentially with jitter. What cannot be kept (queue full, spill full) is counted in
``dropped`` and warned about at most every :data:`WARN_EVERY` seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sightline.sdk.spill import Spill
from sightline.sdk.transport import Payload, SendResult, Transport, make_payload, split_payload

__all__ = ["WARN_EVERY", "Batcher"]

log = logging.getLogger("sightline")

#: Seconds between two warnings about dropped or quarantined records.
WARN_EVERY = 30.0
#: Encoded batches that may wait for the sender (more wait as records in the queue).
MAX_READY = 2
COUNTERS = (
    "queued",
    "sent",
    "dropped",
    "rejected",
    "quarantined",
    "retries",
    "spilled",
    "sampled_out",
)


class Batcher:
    """Queue, sender thread and spill of one client."""

    def __init__(
        self,
        transport: Transport,
        spill: Spill,
        *,
        batch_size: int,
        max_batch_size: int,
        flush_interval: float,
        max_queue: int,
        max_retry_delay: float,
        arrow: bool,
        compress: bool,
        prepare: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ):
        self.transport = transport
        self.spill = spill
        self.batch_size = batch_size
        self.max_batch_size = max(batch_size, max_batch_size)
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.max_retry_delay = max_retry_delay
        self.arrow = arrow
        self.compress = compress
        self.prepare = prepare
        self.cond = threading.Condition(threading.Lock())
        self.queue: deque[dict[str, Any]] = deque()
        self.payloads: deque[Payload] = deque()  # already encoded (log_batch)
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._in_flight = 0  # records taken by the encoder or the sender, not settled yet
        self._flushing = 0
        self._closed = False
        self._delay = 0.0  # current backoff; 0 while the collector answers
        self._retry_at = 0.0
        self._warned = {"dropped": 0, "quarantined": 0, "at": 0.0}
        self._spill_lock = threading.Lock()  # disk I/O never happens under ``cond``
        self._threads = [
            threading.Thread(target=self._encode_loop, name="sightline-encoder", daemon=True),
            threading.Thread(target=self._send_loop, name="sightline-sender", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- the model's side (called with no lock held; cheap) ---------------------------------

    def put(self, record: dict[str, Any]) -> None:
        with self.cond:
            if self._closed or len(self.queue) >= self.max_queue:
                self.counts["dropped"] += 1
                return
            self.queue.append(record)
            self.counts["queued"] += 1
            if len(self.queue) == self.batch_size:
                self.cond.notify()

    def count(self, name: str, n: int = 1) -> None:
        with self.cond:
            self.counts[name] += n

    def put_payload(self, payload: Payload, max_bytes: int) -> None:
        """Queue an encoded payload; past ``max_bytes`` queued, it goes to the spill at once."""
        with self.cond:
            self.counts["queued"] += payload.n_records
            if self._closed:
                self.counts["dropped"] += payload.n_records
                return
            if sum(len(p.body) for p in self.payloads) + len(payload.body) <= max_bytes:
                self.payloads.append(payload)
                self.cond.notify_all()
                return
        self._keep(payload)  # too much in memory: to disk, from the caller's (batch) thread

    def pending(self) -> int:
        return (
            len(self.queue)
            + sum(p.n_records for p in self.payloads)
            + self._in_flight
            + self.spill.n_records
        )

    def flush(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            self._flushing += 1
            self.cond.notify_all()
            try:
                while self.pending():
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self.cond.wait(remaining if remaining is None else min(remaining, 0.5))
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then spill what is left and
        stop. With the collector down and a spill directory, nothing is waited for: the records
        wait on disk for the next client (a service shutting down is not held up)."""
        if not (self.spill.persistent and self._delay > 0):
            self.flush(timeout)
        with self.cond:
            self._closed = True
            self.cond.notify_all()
        deadline = time.monotonic() + max(timeout, 1.0)
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        if any(thread.is_alive() for thread in self._threads):
            with self.cond:  # a request to a hung collector: its batch is lost with the process
                lost = self._in_flight
                self.counts["dropped"] += lost
            log.warning("sightline: %d records in flight to an unresponsive collector lost", lost)
        self._spill_memory()
        self.transport.close()
        if not self.spill.persistent and self.spill.n_records:
            log.warning(
                "sightline: dropped %d undelivered records at close (no spill directory)",
                self.spill.n_records,
            )
            self.count("dropped", self.spill.n_records)
        self.spill.close()

    # -- the encoder thread -----------------------------------------------------------------

    def _encode_due(self) -> bool:
        if self._closed:
            return True
        if len(self.payloads) >= MAX_READY:
            return False  # the sender is behind: records wait in the queue, not as payloads
        return len(self.queue) >= self.batch_size or bool(self._flushing and self.queue)

    def _encode_loop(self) -> None:
        while True:
            with self.cond:
                deadline = time.monotonic() + self.flush_interval
                while not self._encode_due():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 and len(self.payloads) < MAX_READY:
                        break
                    self.cond.wait(max(remaining, 0.05))
                if self._closed:
                    return
                # Under load the queue holds more than a batch: take up to max_batch_size at
                # once, as fewer, larger batches cost the collector less per record.
                size = min(self.max_batch_size, len(self.queue))
                records = [self.queue.popleft() for _ in range(size)]
                self._in_flight += size
            if not records:
                continue
            try:
                if self.prepare is not None:
                    records = self.prepare(records)
                payload = make_payload(records, arrow=self.arrow, compress=self.compress)
            except Exception:  # a bug must never kill the encoder: count the loss, say why
                log.exception("sightline: could not encode %d records; dropped", size)
                with self.cond:
                    self._in_flight -= size
                    self.counts["dropped"] += size
                    self.cond.notify_all()
                continue
            with self.cond:
                self._in_flight -= size
                self.payloads.append(payload)
                self.cond.notify_all()

    # -- the sender thread ------------------------------------------------------------------

    def _send_due(self) -> bool:
        if self._closed or self.payloads:
            return True
        return bool(len(self.spill)) and time.monotonic() >= self._retry_at

    def _send_loop(self) -> None:
        while True:
            with self.cond:
                while not self._send_due():
                    wait = 1.0
                    if len(self.spill):
                        wait = min(wait, max(self._retry_at - time.monotonic(), 0.001))
                    self.cond.wait(wait)
                if self._closed:
                    return
                ready = self.payloads.popleft() if self.payloads else None
                self._in_flight += ready.n_records if ready else 0
                self.cond.notify_all()  # room for the encoder
            try:
                self._step(ready)
            except Exception:  # a bug must never kill the sender: keep the records, say why
                log.exception("sightline: the sender failed")
            finally:
                with self.cond:
                    self._in_flight -= ready.n_records if ready else 0
                    self.cond.notify_all()
            self._warn()

    def _step(self, payload: Payload | None) -> None:
        if payload is not None:
            if len(self.spill) or time.monotonic() < self._retry_at:
                self._keep(payload)  # behind what waits already: order is kept
            elif not self._send(payload):
                self._keep(payload)
        if len(self.spill) and time.monotonic() >= self._retry_at:
            self._replay()

    def _replay(self) -> None:
        """Send spilled payloads oldest first, until the spill is empty or a send fails."""
        while True:
            with self.cond:
                closed = self._closed
            with self._spill_lock:
                payload = self.spill.peek()
            if payload is None or closed:
                return
            if not self._send(payload):
                return
            with self._spill_lock, self.cond:
                self.spill.pop()
                self.cond.notify_all()

    def _send(self, payload: Payload) -> bool:
        """Try once; True when the payload is settled (delivered or refused for good)."""
        result = self.transport.send(payload)
        if result.outcome == "too_large":
            halves = split_payload(payload)
            if halves is not None:
                # Smaller parts until the collector takes them; a part it stored already is
                # not stored twice (record ids), so a half that fails can be retried whole.
                settled = [self._send(half) for half in halves]  # each half, even after a failure
                return all(settled)
            result = SendResult("rejected", result.detail)
        with self.cond:
            if result.outcome == "ok":
                self.counts["sent"] += payload.n_records - result.quarantined
                self.counts["quarantined"] += result.quarantined
                self._delay = 0.0
                self._retry_at = 0.0
                return True
            if result.outcome == "rejected":
                self.counts["rejected"] += payload.n_records
                log.warning(
                    "sightline: the collector refused %d records: %s",
                    payload.n_records,
                    result.detail,
                )
                return True
            self.counts["retries"] += 1
            self._delay = min(max(self._delay * 2, 0.1), self.max_retry_delay)
            self._retry_at = time.monotonic() + self._delay * (0.5 + random.random())
        log.debug("sightline: send failed (%s), retrying in %.1fs", result.detail, self._delay)
        return False

    def _keep(self, payload: Payload) -> None:
        with self._spill_lock:
            kept = self.spill.put(payload)
            with self.cond:
                self.counts["spilled" if kept else "dropped"] += payload.n_records

    def _spill_memory(self) -> None:
        """At close: what is still queued goes to the spill (a directory spill outlives us)."""
        with self.cond:
            records = list(self.queue)
            self.queue.clear()
            payloads = list(self.payloads)
            self.payloads.clear()
        if records:
            if self.prepare is not None:
                records = self.prepare(records)
            payloads.insert(0, make_payload(records, arrow=self.arrow, compress=self.compress))
        for payload in payloads:
            self._keep(payload)

    def _warn(self) -> None:
        with self.cond:
            dropped, quarantined = self.counts["dropped"], self.counts["quarantined"]
            warned = self._warned
            now = time.monotonic()
            if (dropped, quarantined) == (warned["dropped"], warned["quarantined"]):
                return
            if now - warned["at"] < WARN_EVERY:
                return
            new_dropped = dropped - warned["dropped"]
            new_quarantined = quarantined - warned["quarantined"]
            self._warned = {"dropped": dropped, "quarantined": quarantined, "at": now}
        if new_dropped:
            log.warning(
                "sightline: dropped %d records (%d in all): the queue and the spill were full "
                "while the collector was unreachable; raise max_queue or max_spill_bytes",
                new_dropped,
                dropped,
            )
        if new_quarantined:
            log.warning(
                "sightline: the collector quarantined %d records (%d in all); see "
                "`sightline quarantine list`",
                new_quarantined,
                quarantined,
            )
