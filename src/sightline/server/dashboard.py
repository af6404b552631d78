"""The dashboard: server-rendered pages on the metric store, charts drawn with Plotly.js.

Plotly.js is served from the installed ``plotly`` package: the dashboard needs no CDN and works
without internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sightline.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
STATIC = {"dashboard.js": "text/javascript", "style.css": "text/css"}
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())


def render(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    svc = request.app.state.services
    models = []
    for info in svc.predictions.models():
        monitor = svc.runner.monitor(info.name)
        runs = [r for r in svc.metrics.runs(info.name, limit=50, monitor=monitor.name)
                if r.granularity == monitor.granularity][:1]  # fmt: skip
        drift = svc.metrics.query(info.name, metric="share_of_drifted_columns")
        latest = next((p for p in reversed(drift) if p.value is not None), None)
        models.append({"info": info, "last_run": runs[0] if runs else None, "drift": latest})
    return render("index.html", models=models)


@router.get("/models/{model}", response_class=HTMLResponse)
def model_page(model: str, request: Request) -> HTMLResponse:
    svc = request.app.state.services
    info = next((m for m in svc.predictions.models() if m.name == model), None)
    if info is None:
        raise NotFoundError(f"model '{model}' has logged nothing yet")
    return render("model.html", info=info, columns=[c.name for c in info.schema.columns()])


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"cache-control": "max-age=86400"}
    )


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise NotFoundError(f"no static file '{name}'")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name])
