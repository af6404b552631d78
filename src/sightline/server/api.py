"""The HTTP API (``/v1/...``): ingest, models, metric points, job runs, references."""

from __future__ import annotations

import json
import os
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import pyarrow as pa
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from sightline.errors import ValidationError
from sightline.monitoring.references import conform_reference
from sightline.schema import parse_time
from sightline.server import arrow_ingest, live_metrics
from sightline.server.ingest import IngestResult
from sightline.server.lookup import model_info, model_schema, services
from sightline.store.backup import write_backup

__all__ = ["router"]

router = APIRouter()

ARROW_STREAM = "application/vnd.apache.arrow.stream"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything larger than ``limit`` bytes."""
    too_large = ValidationError(
        f"the request body is larger than {limit} bytes; send smaller batches "
        "(or raise SIGHTLINE_MAX_BODY_BYTES)",
        field="body",
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


class PayloadTooLarge(Exception):
    def __init__(self, error: ValidationError):
        self.error = error


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body decoded by its ``Content-Encoding`` (identity or gzip), refusing (413) a body
    that inflates past ``limit`` bytes before inflating it further."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise ValidationError(
            f"unsupported Content-Encoding {encoding[:40]!r}; send gzip or nothing", field="body"
        )
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ValidationError(f"the body is not valid gzip: {error}", field="body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(
            ValidationError(
                f"the body inflates to more than {limit} bytes; send smaller batches "
                "(or raise SIGHTLINE_MAX_BODY_BYTES)",
                field="body",
            )
        )
    if not inflater.eof:
        raise ValidationError("the body is truncated gzip", field="body")
    return data


@router.get("/healthz", tags=["service"])
def healthz() -> dict[str, str]:
    """Liveness: the server answers."""
    return {"status": "ok"}


@router.get("/metrics", tags=["service"], response_class=Response)
def metrics(request: Request) -> Response:
    """Everything in the Prometheus text format: the collector's live counters and latency
    histograms, the latest metric points of every model, job health, scheduler and alerting
    state, build info and process metrics (see docs/prometheus-grafana.md)."""
    svc = services(request)
    body = svc.live.render() + svc.exporter.render()
    return Response(body, media_type=live_metrics.CONTENT_TYPE)


@router.post("/v1/ingest", tags=["ingest"])
async def ingest(
    request: Request, model: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """Store a batch of predictions, feedback and service events.

    The body is JSON ``{"records": [...]}`` or an Arrow IPC stream (content-type
    ``application/vnd.apache.arrow.stream``; ``model`` and ``kind`` fill columns it lacks),
    optionally gzip-compressed (``Content-Encoding: gzip``). Answers once the batch is durable:
    ``accepted`` good records (``duplicates`` of them stored before: a retry), ``quarantined``
    bad ones, kept with their reason, and ``errors`` (record ``index``, ``field``,
    ``message``) for them. A body that is not a batch is refused (4xx) with nothing stored.
    """
    svc = services(request)
    started = time.perf_counter()
    limit = svc.settings.max_body_bytes
    body = decompress(
        await read_body(request, limit), request.headers.get("content-encoding"), limit
    )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    wire = "arrow" if content_type == ARROW_STREAM else "json"
    received = datetime.now(UTC)
    if wire == "arrow":
        result = await run_in_threadpool(_ingest_arrow, svc, body, model, kind, received)
    else:
        result = await run_in_threadpool(_ingest_json, svc, body, received)
    svc.live.observe(result)
    svc.live.observe_request(wire, time.perf_counter() - started)
    return result.to_dict()


def _ingest_json(svc: Any, body: bytes, received: datetime) -> IngestResult:
    try:
        payload = orjson.loads(body)  # fast; strict about NaN, huge integers and deep nesting
    except orjson.JSONDecodeError:
        try:  # what the standard parser takes (NaN literals), or its clearer message
            payload = json.loads(body)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, Unicode, int digits
            raise ValidationError(f"the body is not valid JSON: {error}", field="body") from None
    result: IngestResult = svc.ingestor.ingest(payload, received)
    return result


def _ingest_arrow(
    svc: Any, body: bytes, model: str | None, kind: str | None, received: datetime
) -> IngestResult:
    table = arrow_ingest.read_stream(body, model, kind)
    result: IngestResult = svc.ingestor.ingest_arrow(table, received)
    return result


@router.get("/v1/quarantine", tags=["ingest"])
def list_quarantine(
    request: Request,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    """Records the collector refused, newest first, each with its index in its batch, the
    field and the reason, and the record as received."""
    records = services(request).predictions.quarantined(model, limit)
    return {"records": [r.to_dict() for r in records]}


@router.get("/v1/models", tags=["query"])
def list_models(request: Request) -> dict[str, Any]:
    """Every model that has logged data, with its schema, volume and last computed window."""
    svc = services(request)
    models = []
    for info in svc.predictions.models():
        entry = info.to_dict()
        monitor = svc.runner.monitor(info.name)
        runs = [r for r in svc.metrics.runs(info.name, limit=50, monitor=monitor.name)
                if r.granularity == monitor.granularity][:1]  # fmt: skip
        entry["last_run"] = runs[0].to_dict() if runs else None
        models.append(entry)
    return {"models": models}


@router.get("/v1/models/{model}", tags=["query"])
def get_model(model: str, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = model_info(services(request), model).to_dict()
    return result


def _time_param(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_time(value, name)
    except ValidationError as error:
        raise ValidationError(error.message, field=name) from None


@router.post("/v1/backup", tags=["admin"])
async def backup(request: Request) -> FileResponse:
    """A backup of every store (and the API keys) as a ``.tar.gz``, taken from consistent
    snapshots while the server keeps taking data (see ``sightline backup``)."""
    svc = services(request)
    stores = {"predictions": svc.predictions, "metrics": svc.metrics, "state": svc.alerting.store}
    # Built beside the data (not in /tmp, often small and in memory), readable by no one else.
    workdir = svc.settings.data_dir
    workdir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".sightline-backup-", suffix=".tar.gz", dir=workdir)
    os.close(handle)
    archive = Path(name)
    try:
        await run_in_threadpool(write_backup, stores, svc.settings.keys_path, archive, workdir)
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return FileResponse(
        archive,
        media_type="application/gzip",
        filename=f"sightline-backup-{stamp}.tar.gz",
        background=BackgroundTask(archive.unlink, missing_ok=True),
    )


@router.put("/v1/models/{model}/references/{name}", tags=["references"])
async def put_reference(model: str, name: str, request: Request) -> dict[str, Any]:
    """Store the reference dataset ``name`` of ``model`` from an Arrow IPC stream body."""
    svc = services(request)
    body = await read_body(request, svc.settings.max_body_bytes)
    if request.headers.get("content-type", "").split(";")[0].strip() != ARROW_STREAM:
        raise ValidationError(f"send the reference as content-type {ARROW_STREAM}", field="body")
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as error:
        raise ValidationError(
            f"the body is not a valid Arrow IPC stream: {error}", field="body"
        ) from None
    table = conform_reference(model_schema(svc, model), table)
    await run_in_threadpool(svc.predictions.save_reference, model, name, table)
    return {
        "model": model,
        "reference": name,
        "n_rows": table.num_rows,
        "columns": table.column_names,
    }
