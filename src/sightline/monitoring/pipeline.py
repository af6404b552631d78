"""Jobs for pipeline managers (Airflow, Prefect, cron scripts): compute windows from Python.

    >>> settings = Settings.load(data_dir="/srv/sightline")
    >>> runs = run_windows(settings, "churn", start, end)   # doctest: +SKIP
    >>> [r.status for r in runs]                            # doctest: +SKIP
    ['ok', 'ok', ...]

The call goes through the running server's HTTP API when one answers at ``settings.url`` (the
server owns the embedded stores); otherwise it opens the data directory itself.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from sightline.config import Settings
from sightline.errors import ConfigError, SightlineError, TransportError
from sightline.monitoring.jobs import JobRunner
from sightline.schema import JobRun, parse_time
from sightline.store import open_metric_store, open_prediction_store

__all__ = ["run_windows"]


def run_windows(
    settings: Settings,
    model: str,
    start: datetime,
    end: datetime,
    *,
    granularity: str | None = None,
    monitor: str | None = None,
    trigger: str = "pipeline",
) -> list[JobRun]:
    """Compute every window of ``model`` overlapping ``[start, end)``; returns the runs (a
    failed window has status ``error`` and the reason; nothing is raised for it)."""
    headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        up = httpx.get(settings.url.rstrip("/") + "/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        up = False
    if up:
        body = {
            "from": start.isoformat(), "to": end.isoformat(), "granularity": granularity,
            "monitor": monitor, "trigger": trigger,
        }  # fmt: skip
        try:
            response = httpx.post(
                f"{settings.url.rstrip('/')}/v1/models/{model}/runs",
                json=body,
                headers=headers,
                timeout=3600,
            )
        except httpx.HTTPError as error:
            raise TransportError(
                f"cannot reach the Sightline server at {settings.url}: {error}"
            ) from error
        if response.status_code >= 400:
            raise SightlineError(
                f"HTTP {response.status_code}: {response.json().get('message', response.text)}"
            )
        return [_run(r) for r in response.json()["runs"]]
    if not settings.prediction_store and not settings.data_dir.is_dir():
        raise ConfigError(
            f"no data directory at {settings.data_dir} and no server answering at {settings.url}"
        )
    predictions = open_prediction_store(settings.prediction_store_url)
    try:
        metrics = open_metric_store(settings.metric_store_url)
        try:
            runner = JobRunner.from_settings(settings, predictions, metrics)
            runs = runner.run_range(model, start, end, granularity, monitor, trigger)
            if any(r.status != "error" for r in runs):
                chosen = runner.monitor(model, monitor, granularity)
                runner.rollup_range(model, runs[0].window_start, runs[-1].window_end, chosen)
            return runs
        finally:
            metrics.close()
    finally:
        predictions.close()


def _run(data: dict[str, object]) -> JobRun:
    def time(key: str) -> datetime:
        return parse_time(data[key])

    return JobRun(
        str(data["model"]),
        str(data["monitor"]),
        str(data["granularity"]),
        time("window_start"),
        time("window_end"),
        str(data["status"]),
        time("started_at"),
        time("finished_at"),
        int(str(data["n_rows"])),
        str(data["error"]),
        str(data.get("trigger", "")),
    )
