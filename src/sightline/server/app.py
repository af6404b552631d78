"""The server's app factory: stores, ingestion, jobs and scheduler wired into one FastAPI app.

>>> app = create_app(Settings.load())                      # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8000)          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from sightline.config import Settings
from sightline.errors import (
    BatchError,
    ComputeError,
    ConfigError,
    NotFoundError,
    SightlineError,
    StoreError,
    TransportError,
    ValidationError,
)
from sightline.monitoring import Clock, JobRunner, Scheduler
from sightline.monitoring.alerts import Alerting, parse_alerting
from sightline.monitoring.config import SightlineConfig, config_for
from sightline.server import (
    alert_pages,
    alerts_api,
    api,
    auth,
    dashboard,
    dashboard_api,
    debug_api,
    monitoring_api,
    reports_api,
)
from sightline.server.exporter import Exporter
from sightline.server.ingest import Ingestor
from sightline.server.live_metrics import LiveMetrics
from sightline.store import (
    MetricStore,
    PredictionStore,
    open_metric_store,
    open_prediction_store,
    open_state_store,
)

__all__ = ["Services", "create_app"]

log = logging.getLogger("sightline.server")

#: HTTP status of each error family; the first match in this order wins.
STATUS: list[tuple[type[SightlineError], int]] = [
    (NotFoundError, 404),
    (ValidationError, 422),
    (ComputeError, 422),
    (ConfigError, 400),
    (StoreError, 503),
    (TransportError, 502),
    (SightlineError, 500),
]


@dataclass
class Services:
    """What the routes work with; one per app, at ``app.state.services``."""

    settings: Settings
    predictions: PredictionStore
    metrics: MetricStore
    ingestor: Ingestor
    runner: JobRunner
    scheduler: Scheduler
    live: LiveMetrics
    config: SightlineConfig
    alerting: Alerting
    exporter: Exporter


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    start_scheduler: bool = True,
    config: SightlineConfig | None = None,
) -> FastAPI:
    """The Sightline server as an ASGI app. Stores open when the app starts and close when it
    stops; the scheduler runs while it serves (unless ``start_scheduler`` is False or
    ``settings.schedule_interval`` is 0). The config file is read (and validated) here, so a
    mistake in it stops the server before it starts."""
    config = config or config_for(settings)
    # Secrets in channel settings (${NAME}) come from the server's environment.
    alerting_config = parse_alerting(
        config.alerting, config.doc, ("alerting",), os.environ, settings.url
    )
    report_schedules = reports_api.schedules_for(settings, config, alerting_config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        predictions = open_prediction_store(settings.prediction_store_url)
        try:
            metrics = open_metric_store(settings.metric_store_url)
        except BaseException:
            predictions.close()
            raise
        try:
            state = open_state_store(settings.state_store_url)
        except BaseException:
            predictions.close()
            metrics.close()
            raise
        alerting = Alerting(
            alerting_config,
            state,
            metrics,
            predictions,
            clock=clock,
            interval=settings.alert_interval,
        )
        if 0 < settings.retention_days < settings.label_lookback_days:
            log.warning(
                "SIGHTLINE_RETENTION_DAYS (%g) is shorter than SIGHTLINE_LABEL_LOOKBACK_DAYS "
                "(%g): ground truth arriving for deleted predictions will not be joined",
                settings.retention_days,
                settings.label_lookback_days,
            )
        runner = JobRunner.from_settings(settings, predictions, metrics, config, clock=clock)
        scheduler = Scheduler(
            runner,
            clock=clock,
            delay=timedelta(seconds=settings.window_delay),
            catchup=timedelta(days=settings.catchup_days),
            lookback=timedelta(days=settings.label_lookback_days),
            interval=settings.schedule_interval,
        )
        exporter = Exporter(settings, runner, scheduler, alerting, clock=clock)

        def on_window(*args: Any) -> None:  # after each window: alert rules, then /metrics
            alerting.on_window(*args)
            exporter.on_window(*args)

        runner.on_window = on_window
        app.state.services = Services(
            settings,
            predictions,
            metrics,
            Ingestor(predictions),
            runner,
            scheduler,
            LiveMetrics(),
            config,
            alerting=alerting,
            exporter=exporter,
        )
        app.state.reports = reports = reports_api.ReportService(
            settings, report_schedules, app.state.services, clock=clock,
            external_url=alerting_config.external_url,
        )  # fmt: skip
        if start_scheduler:
            scheduler.start()
            alerting.start()
            reports.start()
        exporter.start()  # /metrics: read the stores now, then every refresh interval
        try:
            yield
        finally:
            exporter.stop()
            reports.stop()
            scheduler.stop()
            alerting.stop()
            state.close()
            predictions.close()
            metrics.close()

    app = FastAPI(
        title="Sightline",
        version="0.1.0",
        summary="ML monitoring: ingest predictions, query metrics, dashboard.",
        lifespan=lifespan,
    )
    app.include_router(api.router)
    app.include_router(monitoring_api.router)
    app.include_router(alerts_api.router)
    app.include_router(debug_api.router)
    app.include_router(alert_pages.router)  # before the dashboard's /static/{name}
    app.include_router(dashboard_api.router)
    app.include_router(reports_api.router)
    app.include_router(dashboard.router)
    auth.install(app, settings)  # API keys and the dashboard login when settings.auth is on

    @app.exception_handler(SightlineError)
    async def sightline_error(request: Request, error: SightlineError) -> JSONResponse:
        status = next(code for kind, code in STATUS if isinstance(error, kind))
        body: dict[str, object] = {"error": type(error).__name__, "message": str(error)}
        if isinstance(error, BatchError):
            body["errors"] = [e.to_dict() for e in error.errors]
        elif isinstance(error, ValidationError):
            body["errors"] = [error.to_dict()]
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, error)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "index": None,
                "field": ".".join(str(part) for part in e.get("loc", ())),
                "message": e.get("msg", "invalid"),
            }
            for e in error.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        body = {
            "error": "ValidationError",
            "message": f"field '{first['field']}': {first['message']}",
            "errors": errors,
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(api.PayloadTooLarge)
    async def payload_too_large(request: Request, error: api.PayloadTooLarge) -> JSONResponse:
        body = {
            "error": "PayloadTooLarge",
            "message": str(error.error),
            "errors": [error.error.to_dict()],
        }
        return JSONResponse(body, status_code=413)

    return app
