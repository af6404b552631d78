"""Reports from the server: a model's report for any time range, and the scheduled reports.

GET /v1/models/{model}/report?start=T&end=T    the report (format=html|json; segment=C...;
                                               reference=NAME|previous; monitor=N)
GET /v1/reports                                scheduled reports: last runs, status, files
GET /v1/reports/files/{name}                   a saved report
GET /reports                                   dashboard: models to report on, the schedules
GET /models/{model}/report                     dashboard: the report form of a model
GET /models/{model}/report/view?start=&end=    dashboard: the generated report (or the form
                                               with the problem)
GET /reports/files/{name}                      dashboard: a saved report (links in emails)

A report reads the model's predictions in the range (at most ``SIGHTLINE_REPORT_MAX_ROWS``,
else 422) in a worker thread, two at a time at most, so a large one never blocks the API.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response

from sightline.config import Settings
from sightline.errors import NotFoundError, SightlineError, ValidationError
from sightline.monitoring.alerts import AlertingConfig
from sightline.monitoring.clock import Clock, SystemClock
from sightline.monitoring.config import SightlineConfig
from sightline.monitoring.report_schedule import (
    RenderedReport,
    ReportSchedule,
    ReportScheduler,
    parse_reports,
)
from sightline.schema import ColumnRole, Window, floor_time, parse_time
from sightline.server import dashboard
from sightline.server.lookup import model_info, services
from sightline.server.model_report import EmptyRangeError, ModelReport, model_report

__all__ = ["ReportService", "router", "schedules_for"]

router = APIRouter(tags=["reports"])

#: Reports built at once (each holds its range in memory).
CONCURRENT_REPORTS = 2
LEASE = "reports"


def schedules_for(
    settings: Settings, config: SightlineConfig, alerting: AlertingConfig
) -> tuple[ReportSchedule, ...]:
    """The ``reports:`` section of the config file, validated (a mistake stops the server)."""
    base_dir = Path(settings.config).resolve().parent if settings.config else Path.cwd()
    return parse_reports(
        config.reports,
        config.doc,
        ("reports",),
        alerting.policy.channels,
        base_dir,
        settings.data_dir / "reports",
    )


class ReportService:
    """Builds reports on the server's stores and runs the scheduled ones."""

    def __init__(
        self,
        settings: Settings,
        schedules: Sequence[ReportSchedule],
        services: Any,
        *,
        clock: Clock | None = None,
        external_url: str = "",
    ):
        self.settings = settings
        self.services = services
        self.clock = clock or SystemClock()
        self.external_url = (external_url or settings.url).rstrip("/")
        self._slots = threading.BoundedSemaphore(CONCURRENT_REPORTS)
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.scheduler = ReportScheduler(
            schedules,
            self.render,
            clock=self.clock,
            delay=timedelta(seconds=settings.window_delay),
            catchup=timedelta(days=settings.catchup_days),
            interval=settings.schedule_interval,
            link=self.file_url,
            lease=self._lease,
        )

    def _lease(self) -> bool:
        ttl = timedelta(seconds=max(3 * self.settings.schedule_interval, 600))
        leased: bool = self.services.metrics.acquire_lease(
            LEASE, self._owner, ttl, self.clock.now()
        )
        return leased

    def file_url(self, name: str) -> str:
        return f"{self.external_url}/reports/files/{quote(name)}"

    def build(
        self,
        model: str,
        start: datetime,
        end: datetime,
        segments: Sequence[str] = (),
        reference: str | None = None,
        monitor: str | None = None,
    ) -> ModelReport:
        with self._slots:
            return model_report(
                self.services.predictions,
                self.services.runner,
                model,
                start,
                end,
                segments=segments,
                reference=reference,
                monitor=monitor,
                max_rows=self.settings.report_max_rows,
            )

    def render(self, schedule: ReportSchedule, window: Window) -> RenderedReport | None:
        """The scheduler's callback: None when the model logged nothing in the period."""
        try:
            built = self.build(
                schedule.model, window.start, window.end, schedule.segments, schedule.reference
            )
        except (EmptyRangeError, NotFoundError):
            return None
        return RenderedReport(built.to_html(), built.summary(), built.n_rows)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def status(self, model: str | None = None, runs: int = 10) -> list[dict[str, Any]]:
        """Every schedule (of ``model``) with its next run, last runs and saved files."""
        out = []
        for schedule in self.scheduler.schedules:
            if model is not None and schedule.model != model:
                continue
            history = self.scheduler.runs(schedule, runs)
            view = schedule.to_dict()
            view["next_run"] = self.scheduler.next_due(schedule).isoformat()
            view["last_run"] = history[0].to_dict() if history else None
            view["runs"] = [r.to_dict() for r in history]
            view["files"] = [
                {
                    "name": path.name,
                    "period_start": run.period_start.isoformat(),
                    "period_end": run.period_end.isoformat(),
                    "size": path.stat().st_size,
                    "url": f"/v1/reports/files/{quote(path.name)}",
                }
                for run, path in self.scheduler.files(schedule)
            ]
            out.append(view)
        return out


def _service(request: Request) -> ReportService:
    found: ReportService = request.app.state.reports
    return found


def _time(value: str | None, name: str) -> datetime:
    if value is None or not value.strip():
        raise ValidationError(f"'{name}' is required (ISO 8601 or epoch seconds)", field=name)
    try:
        return parse_time(value, name)
    except ValidationError as error:
        raise ValidationError(error.message, field=name) from None


def _filename(built: ModelReport, suffix: str) -> str:
    return f"{built.model}-{built.start:%Y%m%dT%H%M}-{built.end:%Y%m%dT%H%M}.{suffix}"


Segments = Annotated[list[str] | None, Query(description="segment column(s); repeat for several")]


@router.get("/v1/models/{model}/report")
async def get_report(
    model: str,
    request: Request,
    start: Annotated[str | None, Query(description="start (ISO 8601 or epoch seconds)")] = None,
    end: Annotated[str | None, Query(description="end of the range, exclusive")] = None,
    format: Annotated[str, Query(pattern="^(html|json)$")] = "html",
    segment: Segments = None,
    reference: Annotated[
        str | None, Query(description="an uploaded dataset, or 'previous' (the period before)")
    ] = None,
    monitor: str | None = None,
) -> Response:
    """The report of ``model`` over ``[start, end)``: its predictions (joined with ground
    truth) compared with its reference — drift and data quality per column, model quality,
    estimated quality, per-segment breakdowns — as a standalone HTML page or as JSON."""
    first, last = _time(start, "start"), _time(end, "end")
    built = await run_in_threadpool(
        _service(request).build, model, first, last, segment or [], reference or None, monitor
    )
    if format == "json":
        return Response(built.to_json(), media_type="application/json")
    html = await run_in_threadpool(built.to_html)
    disposition = f'inline; filename="{_filename(built, "html")}"'
    return HTMLResponse(html, headers={"content-disposition": disposition})


@router.get("/v1/reports")
def list_reports(request: Request, model: str | None = None) -> dict[str, Any]:
    """The scheduled reports (of ``model``): schedule, email, next run, the last runs with
    their status and error, and the saved files."""
    return {"reports": _service(request).status(model)}


def _saved(request: Request, name: str) -> FileResponse:
    path = _service(request).scheduler.find_file(name)
    if path is None:
        raise NotFoundError(f"no saved report '{name}'; GET /v1/reports lists them")
    return FileResponse(
        path, media_type="text/html", filename=path.name, content_disposition_type="inline"
    )


@router.get("/v1/reports/files/{name}", response_class=FileResponse)
def get_report_file(name: str, request: Request) -> FileResponse:
    """A saved scheduled report (HTML)."""
    return _saved(request, name)


# -- dashboard pages ----------------------------------------------------------------------------


@router.get("/reports/files/{name}", include_in_schema=False)
def report_file_page(name: str, request: Request) -> FileResponse:
    return _saved(request, name)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request) -> HTMLResponse:
    svc = services(request)
    return dashboard.render(
        "reports.html",
        section="reports",
        model=None,
        models=svc.predictions.models(),
        schedules=_service(request).status(),
    )


def _form(request: Request, model: str, values: dict[str, Any], error: str = "") -> dict[str, Any]:
    svc = services(request)
    info = model_info(svc, model)
    last = info.last_ts or datetime.now(UTC)
    day_end = floor_time(last, "1d") + timedelta(days=1)
    quick = []
    for label, days in (("Last day of data", 1), ("Last 7 days", 7), ("Last 30 days", 30)):
        query = {"start": _local(day_end - timedelta(days=days)), "end": _local(day_end)}
        quick.append((label, f"/models/{quote(model)}/report/view?{urlencode(query)}"))
    defaults = {"start": _local(day_end - timedelta(days=7)), "end": _local(day_end)}
    return {
        "section": "reports",
        "model": model,
        "info": info,
        "values": {**defaults, **{k: v for k, v in values.items() if v}},
        "segment_columns": [  # numbers would split into one segment per value
            *(c.name for c in info.schema.features if c.role is ColumnRole.CATEGORICAL),
            "model_version",
        ],
        "references": [name for name, _, _ in svc.predictions.references(model)],
        "quick": quick,
        "error": error,
        "schedules": _service(request).status(model),
    }


def _local(ts: datetime) -> str:
    """A UTC time as a datetime-local input shows it."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@router.get("/models/{model}/report", response_class=HTMLResponse, include_in_schema=False)
def report_form(model: str, request: Request) -> HTMLResponse:
    return dashboard.render("reports.html", **_form(request, model, {}))


@router.get("/models/{model}/report/view", include_in_schema=False)
async def report_view(
    model: str,
    request: Request,
    start: str | None = None,
    end: str | None = None,
    segment: Segments = None,
    reference: str | None = None,
) -> Response:
    """The generated report, or the form again with what was wrong."""
    values = {"start": start, "end": end, "segments": segment or [], "reference": reference}
    try:
        first, last = _time(start, "start"), _time(end, "end")
        built = await run_in_threadpool(
            _service(request).build, model, first, last, segment or [], reference or None
        )
        html = await run_in_threadpool(built.to_html)
    except NotFoundError:
        raise
    except SightlineError as error:  # a bad range, too many rows, no data, no reference
        context = _form(request, model, values, str(error))
        page = dashboard.templates.get_template("reports.html").render(**context)
        return HTMLResponse(page, status_code=422)
    return HTMLResponse(html)
