"""Sending batches of records to the collector over HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

__all__ = ["HTTPTransport", "SendResult", "Transport", "encode_records"]


class SendResult:
    """The outcome of one POST: ``ok``, ``retry`` (try again later) or ``rejected`` (drop)."""

    __slots__ = ("detail", "outcome")

    def __init__(self, outcome: str, detail: str = ""):
        self.outcome = outcome
        self.detail = detail


class Transport(Protocol):
    def send(self, body: bytes) -> SendResult: ...

    def close(self) -> None: ...


def _default(value: Any) -> Any:
    # numpy / pandas scalars and arrays, decimals, datetimes: whatever the model code holds.
    if isinstance(value, datetime | date):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def encode_records(records: Sequence[dict[str, Any]]) -> bytes:
    """The JSON body of ``POST /v1/ingest`` (NaN and infinities become null)."""
    try:
        return json.dumps({"records": records}, default=_default, allow_nan=False).encode()
    except ValueError:
        cleaned = [_finite(r) for r in records]
        return json.dumps({"records": cleaned}, default=_default).encode()


class HTTPTransport:
    """POSTs JSON batches with httpx (imported on first use, keeping ``import sightline`` light)."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 10.0):
        self.endpoint = url.rstrip("/") + "/v1/ingest"
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        self.timeout = timeout
        self._client: Any = None

    def send(self, body: bytes) -> SendResult:
        import httpx  # lazy: httpx costs ~0.1 s to import

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        try:
            response = self._client.post(self.endpoint, content=body, headers=self.headers)
        except httpx.HTTPError as error:
            return SendResult("retry", f"{type(error).__name__}: {error}")
        if response.status_code < 300:
            return SendResult("ok")
        if response.status_code in (408, 429) or response.status_code >= 500:
            return SendResult("retry", f"HTTP {response.status_code}")
        return SendResult("rejected", f"HTTP {response.status_code}: {response.text[:500]}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
