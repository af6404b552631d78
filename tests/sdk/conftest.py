"""In-memory transports for SDK tests (the Transport protocol is the SDK's extension point)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pyarrow as pa

from sightline.sdk.transport import ARROW_STREAM, Payload, SendResult


class Recorder:
    """A transport that decodes and keeps what it is sent; outcomes are scripted (default ok)."""

    def __init__(self, outcomes: list[str] | None = None, quarantined: int = 0):
        self.payloads: list[Payload] = []
        self.outcomes = list(outcomes or [])
        self.quarantined = quarantined
        self.attempts = 0
        self.lock = threading.Lock()

    def send(self, payload: Payload) -> SendResult:
        with self.lock:
            self.attempts += 1
            outcome = self.outcomes.pop(0) if self.outcomes else "ok"
            if outcome == "ok":
                self.payloads.append(payload)
        return SendResult(outcome, "scripted", self.quarantined if outcome == "ok" else 0)

    def close(self) -> None:
        pass

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every delivered record, in order, as JSON-style dicts (Arrow rows included)."""
        found: list[dict[str, Any]] = []
        for payload in self.payloads:
            body = payload.decoded()
            if payload.content_type == ARROW_STREAM:
                rows = pa.ipc.open_stream(body).read_all().to_pylist()
                found.extend({k: v for k, v in row.items() if v is not None} for row in rows)
            else:
                found.extend(json.loads(body)["records"])
        return found
