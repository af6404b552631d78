"""Encoding batches of records and sending them to the collector over HTTP.

A batch travels as a :class:`Payload`: the body (gzip-compressed by default), its content type
and how many records it holds. Bodies are JSON ``{"records": [...]}``, or an Arrow IPC stream
when pyarrow happens to be installed: the collector checks Arrow batches a column at a time,
several times faster than JSON records. Neither httpx nor pyarrow is imported before the first
batch is sent, keeping ``import sightline`` light.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any, Protocol

__all__ = [
    "ARROW_STREAM",
    "JSON",
    "HTTPTransport",
    "Payload",
    "SendResult",
    "Transport",
    "arrow_ipc",
    "arrow_module",
    "encode_arrow",
    "encode_records",
    "make_payload",
    "table_payload",
]

JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


class Payload:
    """One batch as it is sent: ``body`` bytes (gzip when ``compressed``), content type and the
    number of records it holds."""

    __slots__ = ("body", "compressed", "content_type", "n_records")

    def __init__(self, body: bytes, content_type: str, n_records: int, compressed: bool):
        self.body = body
        self.content_type = content_type
        self.n_records = n_records
        self.compressed = compressed

    @property
    def headers(self) -> dict[str, str]:
        headers = {"content-type": self.content_type}
        if self.compressed:
            headers["content-encoding"] = "gzip"
        return headers

    def decoded(self) -> bytes:
        """The uncompressed body."""
        return gzip.decompress(self.body) if self.compressed else self.body


class SendResult:
    """The outcome of one POST: ``ok``, ``retry`` (try again later), ``too_large`` (send it in
    smaller parts) or ``rejected`` (drop);
    for ``ok``, the collector's answer (``accepted``, ``duplicates``, ``quarantined``)."""

    __slots__ = ("answer", "detail", "outcome", "quarantined")

    def __init__(
        self,
        outcome: str,
        detail: str = "",
        quarantined: int = 0,
        answer: dict[str, Any] | None = None,
    ):
        self.outcome = outcome
        self.detail = detail
        self.quarantined = quarantined
        self.answer = answer or {}


class Transport(Protocol):
    """Where payloads go: HTTP to a collector, or anything a test or a third party plugs in."""

    def send(self, payload: Payload) -> SendResult: ...

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


_arrow: Any = None


def arrow_module() -> Any:
    """pyarrow if it is installed (imported on first use), else None."""
    global _arrow
    if _arrow is None:
        try:
            import pyarrow  # optional, heavy: only the sender thread loads it

            _arrow = pyarrow
        except ImportError:
            _arrow = False
    return _arrow or None


def encode_arrow(records: Sequence[dict[str, Any]]) -> bytes | None:
    """The records as an Arrow IPC stream with one column per wire field (``features.age``),
    or None when they do not make one (no pyarrow, mixed value types): send JSON then."""
    pa = arrow_module()
    if pa is None:
        return None
    # Column by column: one list comprehension per field is several times faster than
    # scattering each record's values.
    columns: dict[str, list[Any]] = {}
    for key in dict.fromkeys(chain.from_iterable(records)):
        values = [r.get(key) for r in records]
        if key == "prediction" and any(isinstance(v, Mapping) for v in values):
            if not all(isinstance(v, Mapping) for v in values):
                return None  # one value in some records, named outputs in others: JSON it is
            _nested(columns, "prediction", values)
        elif key == "features":
            _nested(columns, "features", [v if isinstance(v, Mapping) else {} for v in values])
        elif key in ("tags", "attributes"):
            columns[key] = [None if v is None else json.dumps(v, default=str) for v in values]
        else:
            columns[key] = values
    try:
        table = pa.table({name: pa.array(values) for name, values in columns.items()})
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    if any(not _flat(pa, t) for t in table.schema.types):
        return None
    return arrow_ipc(table)


def arrow_ipc(table: Any) -> bytes:
    """A pyarrow Table as the bytes of an Arrow IPC stream."""
    pa = arrow_module()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    body: bytes = sink.getvalue().to_pybytes()
    return body


def table_payload(table: Any, *, compress: bool = True) -> Payload:
    """A wire table (``features.x`` columns...) as an Arrow payload; feedback rows that repeat
    predictions (``kind`` column) count as records too."""
    body = arrow_ipc(table)
    if compress:
        body = gzip.compress(body, compresslevel=1)
    return Payload(body, ARROW_STREAM, table.num_rows, compress)


def _nested(columns: dict[str, list[Any]], key: str, values: Sequence[Any]) -> None:
    for name in dict.fromkeys(chain.from_iterable(values)):
        columns[f"{key}.{name}"] = [v.get(name) for v in values]


def _flat(pa: Any, kind: Any) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_null(kind)
    )


def split_payload(payload: Payload) -> list[Payload] | None:
    """The payload's records in two halves (for a collector that refused the batch as too
    large), or None when it holds a single record."""
    if payload.n_records < 2:
        return None
    body = payload.decoded()
    if payload.content_type == ARROW_STREAM:
        pa = arrow_module()
        if pa is None:
            return None
        table = pa.ipc.open_stream(body).read_all()
        half = table.num_rows // 2
        return [
            table_payload(table.slice(0, half), compress=payload.compressed),
            table_payload(table.slice(half), compress=payload.compressed),
        ]
    records = json.loads(body)["records"]
    half = len(records) // 2
    return [
        make_payload(records[:half], arrow=False, compress=payload.compressed),
        make_payload(records[half:], arrow=False, compress=payload.compressed),
    ]


def make_payload(
    records: Sequence[dict[str, Any]], *, arrow: bool = True, compress: bool = True
) -> Payload:
    """Encode ``records`` (Arrow when ``arrow`` and possible, else JSON), gzip when asked."""
    body = encode_arrow(records) if arrow else None
    content_type = ARROW_STREAM
    if body is None:
        body, content_type = encode_records(records), JSON
    if compress:
        body = gzip.compress(body, compresslevel=1)
    return Payload(body, content_type, len(records), compress)


class HTTPTransport:
    """POSTs payloads with httpx (imported on first use, keeping ``import sightline`` light).

    ``timeout`` bounds each request; a collector that accepts connections and never answers
    costs the sender thread that long, never the model's thread.
    """

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 10.0):
        self.endpoint = url.rstrip("/") + "/v1/ingest"
        self.auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = timeout
        self._client: Any = None

    def send(self, payload: Payload) -> SendResult:
        import httpx  # lazy: httpx costs ~0.1 s to import

        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 3.0))
            )
        try:
            response = self._client.post(
                self.endpoint, content=payload.body, headers={**payload.headers, **self.auth}
            )
        except httpx.HTTPError as error:
            return SendResult("retry", f"{type(error).__name__}: {error}")
        if response.status_code < 300:
            try:
                answer = response.json()
                quarantined = int(answer.get("quarantined", 0))
            except (ValueError, AttributeError, TypeError):
                answer, quarantined = {}, 0
            detail = response.text[:500] if quarantined else ""
            return SendResult("ok", detail, quarantined, answer)
        if response.status_code in (408, 429) or response.status_code >= 500:
            return SendResult("retry", f"HTTP {response.status_code}")
        if response.status_code == 413:
            return SendResult("too_large", f"HTTP 413: {response.text[:500]}")
        return SendResult("rejected", f"HTTP {response.status_code}: {response.text[:500]}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
