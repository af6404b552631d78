"""The debugging part of the HTTP API: the rows behind a window, and what moved in it.

GET /v1/models/{model}/rows?start=&end=&version=&filter=&labelled=&column=&order=&limit=&offset=
    one page of the stored predictions of a time range, joined with their latest ground truth
    (``target``, ``feedback_ts``): ``{columns, rows, total}``
GET /v1/models/{model}/rows.csv, /rows.parquet
    the same selection as a file (every row, up to :data:`MAX_DOWNLOAD_ROWS`)
GET /v1/models/{model}/windows/{start}/ranking?granularity=&version=&monitor=
    the window's columns ranked by how far their drift went past its threshold, and its
    segments and model versions ranked by their share of drifted columns

Filters are written as in :mod:`sightline.schema.rows` (``filter=age>=30&filter=plan=pro``);
every parameter is checked, and a mistake is a 422 naming the parameter (``filter[1]`` for the
second filter), never a 500.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote as url_quote

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from sightline.errors import ValidationError
from sightline.monitoring.ranking import WindowRanking, rank_window
from sightline.schema import GRANULARITIES, Window, parse_time
from sightline.schema.monitors import Monitor
from sightline.schema.rows import RowFilter, RowOrder, RowQuery, RowsPage, row_columns
from sightline.server.lookup import model_schema, services

__all__ = ["MAX_DOWNLOAD_ROWS", "MAX_PAGE_ROWS", "RowRequest", "ranking", "router", "row_request"]

router = APIRouter(tags=["debug"])

#: Most rows one page of the rows API lists.
MAX_PAGE_ROWS = 1000
#: Most rows one CSV or Parquet download holds (ask for the rest with ``offset``).
MAX_DOWNLOAD_ROWS = 1_000_000
#: Most filters one request may carry.
MAX_FILTERS = 50
CSV_BATCH = 10_000

FILTER = Query(
    description="a filter such as age>=30, plan=pro, plan!=a, age is missing; repeat for "
    "several (= on one column: any of the values; everything else: all must hold)",
)
LABELLED = Query(description="true: only rows with ground truth; false: only rows without")
COLUMN = Query(description="a column to list; repeat for several (default: all but bookkeeping)")
ORDER = Query(description="column to sort by, -column for descending (default: ts)")


def _time(value: str, name: str) -> datetime:
    try:
        return parse_time(value, name)
    except ValidationError as error:
        raise ValidationError(error.message, field=name) from None


@dataclass(frozen=True)
class RowRequest:
    """A checked rows request: the store query, the model's row columns (name → kind) and the
    parameters as given (for links to other pages of the same selection)."""

    model: str
    query: RowQuery
    columns: dict[str, str]
    filters: tuple[str, ...]

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """Query parameters that select the same rows (``changes`` override some)."""
        q = self.query
        values: dict[str, Any] = {
            "start": q.start.isoformat(),
            "end": q.end.isoformat(),
            "version": q.model_version,
            "filter": list(self.filters),
            "labelled": None if q.labelled is None else str(q.labelled).lower(),
            "column": list(q.columns) if q.columns is not None else None,
            "order": None if q.order == RowOrder() else str(q.order),
            "limit": q.limit,
            "offset": q.offset or None,
        }
        values.update(changes)
        out: list[tuple[str, str]] = []
        for name, value in values.items():
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                out.append((name, str(item)))
        return out


def row_request(
    svc: Any,
    model: str,
    *,
    start: str | None = None,
    end: str | None = None,
    version: str | None = None,
    filters: list[str] | None = None,
    labelled: bool | None = None,
    columns: list[str] | None = None,
    order: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> RowRequest:
    """Check the parameters of a rows request against ``model``'s columns (404 for a model that
    logged nothing; 422 naming the parameter for anything else). Without ``start`` and ``end``
    the range is the model's latest window (of its monitor's granularity)."""
    schema = model_schema(svc, model)
    available = row_columns(schema)
    begin = _time(start, "start") if start else None
    finish = _time(end, "end") if end else None
    if begin is None or finish is None:
        width = timedelta(seconds=GRANULARITIES[svc.runner.monitor(model).granularity])
        if begin is None and finish is None:
            last = _last_prediction(svc, model)
            window = Window.containing(last, svc.runner.monitor(model).granularity)
            begin, finish = window.start, window.end
        elif begin is None:
            assert finish is not None
            begin = finish - width
        else:
            finish = begin + width
    if finish <= begin:
        raise ValidationError("'end' must be after 'start'", field="end")
    texts = [f for f in filters or [] if f != ""]
    if len(texts) > MAX_FILTERS:
        raise ValidationError(f"at most {MAX_FILTERS} filters at once", field="filter")
    parsed = tuple(
        RowFilter.parse(text, available, field=f"filter[{i}]") for i, text in enumerate(texts)
    )
    chosen = tuple(dict.fromkeys(columns)) if columns else None
    row_order = RowOrder.parse(order, available) if order else RowOrder()
    query = RowQuery(
        start=begin,
        end=finish,
        filters=parsed,
        model_version=version if version else None,
        labelled=labelled,
        columns=chosen,
        order=row_order,
        limit=limit,
        offset=offset,
    )
    try:
        query.selected(available)
    except ValidationError as error:
        raise ValidationError(error.message, field="column") from None
    return RowRequest(model, query, available, tuple(texts))


def _last_prediction(svc: Any, model: str) -> datetime:
    """The time of the model's latest prediction (now when it has none, e.g. only feedback)."""
    everything = RowQuery(
        datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC),
        order=RowOrder("ts", descending=True), limit=1, columns=("ts",),
    )  # fmt: skip
    page: RowsPage = svc.predictions.rows(model, everything)
    return parse_time(page.table.column("ts")[0].as_py() if page.total else datetime.now(UTC))


def aware(table: pa.Table) -> pa.Table:
    """Times (kept as naive UTC) marked as UTC, so files and JSON say so."""
    for i, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            table = table.set_column(
                i, column.name, table.column(i).cast(pa.timestamp(column.type.unit, tz="UTC"))
            )
    return table


def rows_json(request: RowRequest, page: RowsPage) -> dict[str, Any]:
    """A page as ``{columns, rows, total}`` (rows as lists in the columns' order)."""
    table = page.table
    names = table.column_names
    values = [table.column(i).to_pylist() for i in range(table.num_columns)]
    q = request.query
    return {
        "model": request.model,
        "start": q.start.isoformat(),
        "end": q.end.isoformat(),
        "columns": [{"name": n, "kind": request.columns[n]} for n in names],
        "rows": [list(row) for row in zip(*values, strict=True)] if values else [],
        "total": page.total,
        "limit": q.limit,
        "offset": q.offset,
        "order": str(q.order),
        "filters": [str(f) for f in q.filters],
    }


def _json(body: Any) -> Response:
    # Stored times are naive UTC: orjson writes them with +00:00.
    return Response(orjson.dumps(body, option=orjson.OPT_NAIVE_UTC), media_type="application/json")


class RowSelection:
    """The query parameters the rows endpoints share (JSON, CSV, Parquet); ``limit`` differs."""

    def __init__(
        self,
        start: str | None = None,
        end: str | None = None,
        version: str | None = None,
        filter: Annotated[list[str] | None, FILTER] = None,
        labelled: Annotated[bool | None, LABELLED] = None,
        column: Annotated[list[str] | None, COLUMN] = None,
        order: Annotated[str | None, ORDER] = None,
        offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    ):
        self.start, self.end, self.version = start, end, version
        self.filters, self.labelled, self.columns = filter, labelled, column
        self.order, self.offset = order, offset

    def rows(self, request: Request, model: str, limit: int) -> tuple[RowRequest, RowsPage]:
        """The request checked (422 naming the parameter) and the page of rows it selects."""
        svc = services(request)
        checked = row_request(
            svc, model, start=self.start, end=self.end, version=self.version,
            filters=self.filters, labelled=self.labelled, columns=self.columns,
            order=self.order, limit=limit, offset=self.offset,
        )  # fmt: skip
        return checked, svc.predictions.rows(model, checked.query)


Selection = Annotated[RowSelection, Depends()]


@router.get("/v1/models/{model}/rows")
def get_rows(
    model: str,
    request: Request,
    selection: Selection,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS)] = 100,
) -> Response:
    """One page of the predictions of ``[start, end)`` (default: the model's latest window)
    that pass every filter, joined with their latest ground truth (``target``,
    ``feedback_ts``), ordered (default: by time), and how many rows pass in all
    (``total``)."""
    return _json(rows_json(*selection.rows(request, model, limit)))


def _filename(request: RowRequest, suffix: str) -> str:
    """``attachment`` with an ASCII name and the exact one (RFC 6266), for any model name."""
    q = request.query
    stamp = f"{q.start:%Y%m%dT%H%M}-{q.end:%Y%m%dT%H%M}"
    name = f"{request.model}-{stamp}.{suffix}"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{url_quote(name, safe='')}"


def _headers(checked: RowRequest, page: RowsPage, suffix: str) -> dict[str, str]:
    return {
        "content-disposition": _filename(checked, suffix),
        "x-total-count": str(page.total),
        "x-row-count": str(page.table.num_rows),
    }


@router.get("/v1/models/{model}/rows.csv", response_class=StreamingResponse)
def get_rows_csv(
    model: str,
    request: Request,
    selection: Selection,
    limit: Annotated[int | None, Query(ge=1, le=MAX_DOWNLOAD_ROWS)] = None,
) -> StreamingResponse:
    """The selection of ``GET /v1/models/{model}/rows`` as CSV, every row (up to
    1,000,000; ``x-total-count`` says how many pass the filters), written out in batches.
    Times are UTC (``2026-03-02 10:00:00.000000Z``)."""
    checked, page = selection.rows(request, model, limit or MAX_DOWNLOAD_ROWS)
    return StreamingResponse(
        _csv_chunks(aware(page.table)),
        media_type="text/csv; charset=utf-8",
        headers=_headers(checked, page, "csv"),
    )


def _csv_chunks(table: pa.Table) -> Iterator[bytes]:
    """The table as CSV, a batch of rows at a time (the header alone for no rows)."""
    for i in range(0, max(table.num_rows, 1), CSV_BATCH):
        buffer = io.BytesIO()
        options = pa_csv.WriteOptions(include_header=i == 0)
        pa_csv.write_csv(table.slice(i, CSV_BATCH), buffer, options)
        yield buffer.getvalue()


@router.get("/v1/models/{model}/rows.parquet", response_class=Response)
def get_rows_parquet(
    model: str,
    request: Request,
    selection: Selection,
    limit: Annotated[int | None, Query(ge=1, le=MAX_DOWNLOAD_ROWS)] = None,
) -> Response:
    """The selection of ``GET /v1/models/{model}/rows`` as a Parquet file (zstd), every row
    up to 1,000,000."""
    checked, page = selection.rows(request, model, limit or MAX_DOWNLOAD_ROWS)
    buffer = io.BytesIO()
    pq.write_table(aware(page.table), buffer, compression="zstd")
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers=_headers(checked, page, "parquet"),
    )


def window_monitor(svc: Any, model: str, monitor: str | None, granularity: str | None) -> Monitor:
    """The monitor whose windows are asked for, checked (422 naming the parameter)."""
    if granularity is not None and granularity not in GRANULARITIES:
        known = ", ".join(GRANULARITIES)
        raise ValidationError(
            f"unknown granularity {granularity!r}; use one of {known}", field="granularity"
        )
    if monitor is not None:
        names = [m.name for m in svc.runner.monitors(model)]
        if monitor not in names:
            raise ValidationError(
                f"model '{model}' has no monitor {monitor!r} (its monitors: {', '.join(names)})",
                field="monitor",
            )
    chosen: Monitor = svc.runner.monitor(model, monitor, granularity)
    return chosen


def ranking(
    svc: Any, model: str, window: Window, monitor: Monitor, version: str = ""
) -> WindowRanking:
    """The ranking of ``window`` from the metric store."""
    schema = model_schema(svc, model)
    roles = {c.name: "feature" for c in schema.features}
    roles.update({c.name: "output" for c in schema.outputs})
    points = []
    for metric in ("drift_score", "share_of_drifted_columns", "row_count"):
        points += svc.metrics.query(
            model,
            metric=metric,
            granularity=window.granularity,
            start=window.start,
            end=window.end,
            monitor=monitor.name,
        )
    return rank_window(points, version, roles)


@router.get("/v1/models/{model}/windows/{start}/ranking")
def get_ranking(
    model: str,
    start: str,
    request: Request,
    granularity: str | None = None,
    version: Annotated[str, Query(description="'' all versions together, or one")] = "",
    monitor: str | None = None,
    distributions: bool = True,
) -> Response:
    """What moved in the window that holds ``start`` (ISO 8601 or epoch seconds; windows of
    ``granularity``, default the monitor's): its columns ranked by drift strength (the score
    against its threshold: 1 at the threshold, above 1 drifted; see ``docs/dashboard.md``) with
    method, decision, the bins or categories that moved most and both distributions; and its
    segments and model versions ranked by their share of drifted columns, then their strongest
    drift."""
    svc = services(request)
    model_schema(svc, model)
    chosen = window_monitor(svc, model, monitor, granularity)
    window = Window.containing(_time(start, "start"), chosen.granularity)
    ranked = ranking(svc, model, window, chosen, version)
    return _json(
        {
            "model": model,
            "monitor": chosen.name,
            "version": version,
            "window": {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "granularity": window.granularity,
            },
            "n_rows": ranked.n_rows,
            "share_of_drifted_columns": ranked.share_of_drifted_columns,
            "dataset_drift": ranked.dataset_drift,
            "features": [c.to_dict(distributions) for c in ranked.columns],
            "segments": [s.to_dict() for s in ranked.slices],
        }
    )
