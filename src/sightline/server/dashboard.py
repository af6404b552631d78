"""The dashboard: server-rendered pages on the metric store, charts drawn with Plotly.js.

    /                                   overview: every model's health, last window, volume, alerts
    /models/{model}                     model page: time-series panels, filters, columns
    /models/{model}/features/{column}   feature page: distributions of a window, drift and data
                                        quality over time, the method used

The pages render what they can on the server (tables, filters, the chosen window) and small
scripts draw the charts from the HTTP API (``format=series`` and the dashboard API). Every
filter is a URL parameter, so a view can be shared and reloaded. Plotly.js is served from the
installed ``plotly`` package: the dashboard needs no CDN and works without internet.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sightline.errors import NotFoundError, ValidationError
from sightline.server.dashboard_api import (
    feature_window,
    model_summary,
    overview,
    view_choices,
)
from sightline.server.lookup import model_info, services
from sightline.server.views import RANGES, View, resolve_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
#: Files of static/ served, by extension (other pages add their scripts there too).
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
#: The view parameters the pages keep in their URL.
VIEW_KEYS = ("range", "start", "end", "granularity", "version", "segment", "monitor")
GRANULARITY_NAMES = {"5m": "5 minutes", "15m": "15 minutes", "1h": "1 hour", "1d": "1 day",
                     "1w": "1 week"}  # fmt: skip
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())


def _when(value: datetime | str | float | None, seconds: bool = False) -> str:
    """A time as ``2026-03-06 14:00`` (UTC), or an em dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _share(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def _number(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def _quantile(key: str) -> str:
    """A quantile's key as a percentage: ``p05`` → ``5 %``, ``0.25`` → ``25 %``."""
    try:
        percent = float(key[1:]) if key.startswith("p") else 100 * float(key)
    except ValueError:
        return key
    return f"{percent:g} %"


def _path(value: str) -> str:
    """A name as one URL path segment (a ``/`` in it is escaped too)."""
    return quote(value, safe="")


def sparkline(line: dict[str, Any], width: int = 120, height: int = 28) -> dict[str, str]:
    """The ``line`` (polyline) and ``area`` (polygon) points of an SVG sparkline of
    ``start``/``value`` arrays over ``from``..``to`` (epoch seconds) in a width × height box:
    time left to right, the highest value at the top, zero at the bottom. Empty with fewer
    than two values."""
    pairs = [(t, v) for t, v in zip(line["start"], line["value"], strict=True) if v is not None]
    if len(pairs) < 2:
        return {"line": "", "area": ""}
    top = max(v for _, v in pairs) or 1.0
    span = max(line["to"] - line["from"], 1)
    xs = [width * (t - line["from"]) / span for t, _ in pairs]
    ys = [height - 1 - (height - 4) * v / top for _, v in pairs]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    bottom = height - 1
    return {"line": points, "area": f"{xs[0]:.1f},{bottom} {points} {xs[-1]:.1f},{bottom}"}


templates.filters.update(when=_when, share=_share, number=_number, path=_path, quantile=_quantile)
templates.globals.update(RANGES=RANGES, GRANULARITY_NAMES=GRANULARITY_NAMES, sparkline=sparkline)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


def view_query(view: View, **changes: str | None) -> str:
    """The URL query of ``view`` (only what differs from the defaults), with ``changes``."""
    custom = view.range == "custom"
    start, end = (view.focus_start, view.focus_end) if view.focus_start else (view.start, view.end)
    params: dict[str, str | None] = {
        "range": None if custom or view.range == "7d" else view.range,
        "start": start.isoformat() if custom and start else None,
        "end": end.isoformat() if custom and end else None,
        "granularity": None if view.auto_granularity else view.granularity,
        "version": view.version or None,
        "segment": view.segment or None,
        "monitor": None if view.default_monitor else view.monitor.name,
    }
    params.update(changes)
    text = urlencode({k: v for k, v in params.items() if v})
    return f"?{text}" if text else ""


def _range_query(view: View, key: str, **changes: str | None) -> str:
    """The URL query of ``view`` with the range ``key`` instead of its own."""
    return view_query(view, range=None if key == "7d" else key, start=None, end=None, **changes)


def _page_view(svc: Any, info: Any, request: Request) -> tuple[View, str]:
    """The view in the page's URL; a mistake in it shows the default view and says why."""
    q = request.query_params
    try:
        view = resolve_view(
            svc,
            info,
            monitor=q.get("monitor") or None,
            granularity=q.get("granularity") or None,
            range=q.get("range") or None,
            start=q.get("start") or None,
            end=q.get("end") or None,
            version=q.get("version", ""),
            segment=q.get("segment", ""),
        )
    except ValidationError as error:
        return resolve_view(svc, info), f"{error.field}: {error.message}"
    return view, ""


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    models = overview(services(request))
    return render("index.html", section="models", models=models)


@router.get("/models/{model}", response_class=HTMLResponse)
def model_page(model: str, request: Request) -> HTMLResponse:
    svc = services(request)
    info = model_info(svc, model)
    view, error = _page_view(svc, info, request)
    summary = model_summary(svc, info, view)
    quality = request.query_params.get("quality") or ""
    return render(
        "model.html",
        section="models",
        info=info,
        view=view,
        summary=summary,
        error=error,
        query=view_query(view),
        range_query=lambda key: _range_query(view, key),
        page={"model": info.name, "summary": summary, "quality": quality},
    )


@router.get("/models/{model}/features/{column:path}", response_class=HTMLResponse)
def feature_page(model: str, column: str, request: Request) -> HTMLResponse:
    svc = services(request)
    info = model_info(svc, model)
    view, error = _page_view(svc, info, request)
    window = request.query_params.get("window") or None
    try:
        detail = feature_window(svc, info, view, column, window)
    except ValidationError as mistake:
        error, window = f"{mistake.field}: {mistake.message}", None
        detail = feature_window(svc, info, view, column, None)
    query = view_query(view)
    choices = view_choices(svc, info, view)
    choices.pop("latest")
    return render(
        "feature.html",
        section="models",
        info=info,
        view=view,
        choices=choices,
        window=window or "",
        detail=detail,
        error=error,
        query=query,
        window_query=lambda start: view_query(view, window=start),
        range_query=lambda key: _range_query(view, key, window=window),
        page={"model": info.name, "column": column, "detail": detail},
    )


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"cache-control": "max-age=86400"}
    )


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    path = HERE / "static" / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if not STATIC_NAME.match(name) or media_type is None or not path.is_file():
        raise NotFoundError(f"no static file '{name}'")
    return FileResponse(path, media_type=media_type, headers={"cache-control": "no-cache"})
