"""The monitoring part of the HTTP API: metric series, job runs and backfills, model
configuration, references.

``GET /v1/models/{model}/metrics`` answers from the metric store: fine windows as computed,
coarser granularities from their roll-ups. ``format=columns`` returns one array per field
(window starts as epoch milliseconds), which is what long series (a year of hourly points for
twenty columns) should use: it is several times smaller and faster than a list of objects.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from sightline.errors import ValidationError
from sightline.monitoring.config import model_config_from_dict
from sightline.schema import GRANULARITIES, parse_time
from sightline.schema.monitors import Monitor
from sightline.schema.points import parse_segment
from sightline.schema.windows import granularity_seconds
from sightline.server.lookup import model_info, services

__all__ = ["router"]

router = APIRouter()

#: Most windows one on-demand run may compute (a year of hourly windows is 8,760).
MAX_WINDOWS_PER_RUN = 20_000


def _time(value: str | float | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_time(value, name)
    except ValidationError as error:
        raise ValidationError(error.message, field=name) from None


def _fast_json(body: Any) -> Response:
    """JSON by orjson (NumPy arrays written directly; NaN becomes null)."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


def _json(body: Any) -> Response:
    return Response(json.dumps(body, allow_nan=False, default=str), media_type="application/json")


@router.get("/v1/models/{model}/metrics", tags=["query"])
def get_metrics(
    model: str,
    request: Request,
    metric: Annotated[
        list[str] | None, Query(description="metric name(s); repeat for several")
    ] = None,
    column: str | None = None,
    granularity: str | None = None,
    start: str | None = None,
    end: str | None = None,
    version: Annotated[str, Query(description="'' all versions together, a version, or '*'")] = "",
    segment: Annotated[str, Query(description="'' all data, 'key', 'key=value' or '*'")] = "",
    monitor: str | None = None,
    format: Annotated[str, Query(pattern="^(points|columns|series)$")] = "points",
    distributions: bool = True,
    details: bool = True,
) -> Response:
    """Metric points of ``model``, oldest first, filtered by metric, column, granularity
    (default: the monitor's own windows; a coarser one gives their roll-ups), model version,
    segment, monitor and time range (``start``/``end``: ISO 8601 or epoch seconds).

    ``distributions=false`` leaves out the binned distributions kept in drift details;
    ``details=false`` all details. ``format=columns`` returns arrays per field;
    ``format=series`` one object per series (metric, column, version, segment, monitor,
    granularity) with arrays of window starts (epoch seconds), values and row counts — the
    compact form for charts of long ranges."""
    svc = services(request)
    model_info(svc, model)
    if granularity is not None and granularity not in GRANULARITIES:
        known = ", ".join(GRANULARITIES)
        raise ValidationError(
            f"unknown granularity {granularity!r}; use one of {known}", field="granularity"
        )
    segment_key, segment_value = parse_segment(segment)
    if granularity is None:
        # One granularity at a time: the monitor's own windows unless another is asked for.
        granularity = svc.runner.monitor(model, monitor).granularity
    filters: dict[str, Any] = {
        "column": column,
        "granularity": granularity,
        "start": _time(start, "start"),
        "end": _time(end, "end"),
        "model_version": None if version == "*" else version,
        "monitor": monitor,
        "segment_key": segment_key,
        "segment_value": segment_value,
    }
    if format == "columns":
        table = svc.metrics.query_table(model, metrics=metric, details=details, **filters)
        return _json({"model": model, "columns": _columns(table, distributions)})
    if format == "series":
        table = svc.metrics.query_series(model, metrics=metric, **filters)
        return _fast_json({"model": model, "series": _series(table)})
    names: list[str | None] = list(metric) if metric else [None]
    points = []
    for name in names:
        points += svc.metrics.query(model, metric=name, **filters)
    if metric and len(metric) > 1:
        points.sort(key=lambda p: (p.window_start, p.metric, p.column))
    rows = [p.to_dict() for p in points]
    for row in rows:
        if not details:
            row["details"] = {}
        elif not distributions:
            row["details"].pop("distribution", None)
    return _json({"model": model, "points": rows})


def _columns(table: pa.Table, distributions: bool) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            out[name] = (
                np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)) // 1000
            ).tolist()
        elif name == "value":
            values = np.asarray(
                pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False), np.float64
            )
            out[name] = [None if math.isnan(v) else v for v in values.tolist()]
        elif name == "details":
            decoded = [json.loads(d) if d else {} for d in column.to_pylist()]
            if not distributions:
                for d in decoded:
                    d.pop("distribution", None)
            out[name] = decoded
        else:
            out[name] = column.to_pylist()
    return out


SERIES_KEY = (
    "metric", "column", "model_version", "segment_key", "segment_value", "monitor", "granularity",
)  # fmt: skip


def _series(table: pa.Table) -> list[dict[str, Any]]:
    """Points (ordered by series, then time) grouped into series, each with parallel arrays of
    window starts (epoch seconds), values and row counts. The arrays stay NumPy arrays: orjson
    writes them directly."""
    n = table.num_rows
    if n == 0:
        return []
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in SERIES_KEY:
        codes = np.asarray(pc.dictionary_encode(table.column(key)).combine_chunks().indices)
        change[1:] |= codes[1:] != codes[:-1]
    bounds = [*np.flatnonzero(change).tolist(), n]
    heads = table.select(list(SERIES_KEY)).take(pa.array(bounds[:-1])).to_pylist()
    starts = np.asarray(table.column("start").to_numpy(zero_copy_only=False), dtype=np.int64)
    values = np.asarray(pc.fill_null(table.column("value"), np.nan).to_numpy(zero_copy_only=False))
    rows = np.asarray(table.column("n_rows").to_numpy(zero_copy_only=False), dtype=np.int64)
    return [
        {**head, "start": starts[low:high], "value": values[low:high], "n_rows": rows[low:high]}
        for head, (low, high) in zip(heads, itertools.pairwise(bounds), strict=True)
    ]


@router.get("/v1/models/{model}/runs", tags=["jobs"])
def get_runs(
    model: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    monitor: str | None = None,
) -> dict[str, Any]:
    """The latest job runs of ``model`` (status, duration, rows, error, trigger), newest first."""
    svc = services(request)
    model_info(svc, model)
    return {"runs": [r.to_dict() for r in svc.metrics.runs(model, limit=limit, monitor=monitor)]}


class RunRequest(BaseModel):
    start: str | float = Field(alias="from", description="Start (ISO 8601 or epoch seconds)")
    end: str | float = Field(alias="to", description="End of the range, exclusive")
    granularity: str | None = None
    monitor: str | None = None
    trigger: str = "manual"


@router.post("/v1/models/{model}/runs", tags=["jobs"])
async def run_windows(model: str, body: RunRequest, request: Request) -> dict[str, Any]:
    """Compute every window overlapping ``[from, to)`` now, replacing earlier results (a
    backfill), then the closed days and weeks those windows belong to (``rollups``)."""
    svc = services(request)
    model_info(svc, model)
    start, end = _time(body.start, "from"), _time(body.end, "to")
    if start is None or end is None:
        raise ValidationError("'from' and 'to' are required", field="from")
    if end <= start:
        raise ValidationError("'to' must be after 'from'", field="to")
    chosen: Monitor = svc.runner.monitor(model, body.monitor, body.granularity)
    count = (end - start).total_seconds() / granularity_seconds(chosen.granularity)
    if count > MAX_WINDOWS_PER_RUN:
        raise ValidationError(
            f"the range spans about {count:,.0f} {chosen.granularity} windows; compute at most "
            f"{MAX_WINDOWS_PER_RUN:,} at once (split the range or use a coarser granularity)",
            field="to",
        )
    runs = await run_in_threadpool(
        svc.runner.run_range, model, start, end, chosen.granularity, body.monitor, body.trigger
    )
    rollups = []
    if any(r.status != "error" for r in runs):
        rollups = await run_in_threadpool(
            svc.runner.rollup_range, model, runs[0].window_start, runs[-1].window_end, chosen
        )
    return {"runs": [r.to_dict() for r in runs], "rollups": [r.to_dict() for r in rollups]}


@router.get("/v1/config", tags=["config"])
def get_config(request: Request) -> dict[str, Any]:
    """The configuration in force: the file's defaults and models, and models configured
    through the API (which win)."""
    svc = services(request)
    data: dict[str, Any] = svc.config.to_dict()
    data["api_models"] = {c.name: c.to_dict() for c in svc.metrics.model_configs()}
    return data


@router.get("/v1/models/{model}/config", tags=["config"])
def get_model_config(model: str, request: Request) -> dict[str, Any]:
    """The configuration a model is computed with."""
    config: dict[str, Any] = services(request).runner.config(model).to_dict()
    return config


@router.put("/v1/models/{model}/config", tags=["config"])
def put_model_config(model: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    """Set a model's configuration (the fields of ``models.<model>`` in the config file, as
    JSON). Kept in the metric store: it survives restarts and wins over the file."""
    svc = services(request)
    config = model_config_from_dict(model, body, svc.config.defaults.monitors[0])
    svc.metrics.save_model_config(config)
    svc.runner.set_config(config)
    return config.to_dict()


@router.delete("/v1/models/{model}/config", tags=["config"])
def delete_model_config(model: str, request: Request) -> dict[str, Any]:
    """Forget the configuration set through the API; the config file applies again."""
    svc = services(request)
    svc.metrics.delete_model_config(model)
    svc.runner.clear_config(model)
    return svc.runner.config(model).to_dict()  # type: ignore[no-any-return]


@router.get("/v1/models/{model}/references", tags=["references"])
def list_references(model: str, request: Request) -> dict[str, Any]:
    """The reference datasets uploaded for ``model`` (name, rows, upload time)."""
    svc = services(request)
    model_info(svc, model)
    return {
        "references": [
            {"name": name, "n_rows": rows, "created_at": created.isoformat()}
            for name, rows, created in svc.predictions.references(model)
        ]
    }
