"""A model's health at a glance: what the overview shows for each model.

The health is the worst of:

- ``firing``: an alert of the model is firing;
- ``warning``: an alert is pending, the dataset drifted in a window of the last 24 hours of
  computed windows, or the last window failed;
- ``ok``: windows are computed and none of the above holds;
- ``unknown``: no window has been computed yet.

Each state comes with the reasons, in words, so the overview can say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sightline.monitoring.alerts import Alerting
from sightline.monitoring.jobs import JobRunner
from sightline.schema import JobRun
from sightline.schema.alerts import AlertInstance
from sightline.schema.monitors import Monitor
from sightline.store import MetricStore, ModelInfo

__all__ = [
    "RECENT",
    "SPARKLINE_DAYS",
    "Health",
    "alert_summary",
    "last_run",
    "model_health",
    "overview_entry",
]

#: How far back (from the last computed window) a dataset drift makes a model "warning".
RECENT = timedelta(hours=24)
#: The volume sparkline of the overview covers this many days.
SPARKLINE_DAYS = 7
#: States ranked from best to worst.
RANK = {"unknown": 0, "ok": 1, "warning": 2, "firing": 3}


@dataclass
class Health:
    """The state of a model and why."""

    state: str = "unknown"
    reasons: list[str] = field(default_factory=list)

    def worsen(self, state: str, reason: str) -> None:
        if RANK[state] > RANK[self.state]:
            self.state = state
        self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reasons": list(self.reasons)}


def last_run(metrics: MetricStore, model: str, monitor: Monitor) -> JobRun | None:
    """The run of the latest window of the monitor's own (roll-ups left out) among the recent
    runs: a late-data recompute of an older window does not stand in for the newest one."""
    runs = metrics.runs(model, limit=50, monitor=monitor.name)
    own = [r for r in runs if r.granularity == monitor.granularity]
    return max(own, key=lambda r: r.window_start) if own else None


def _when(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def model_health(
    metrics: MetricStore,
    model: str,
    monitor: Monitor,
    run: JobRun | None,
    alerts: list[AlertInstance],
) -> Health:
    """The health of ``model`` from its open alerts, recent dataset drift and last run."""
    health = Health()
    if run is not None:
        health.state = "ok"
    else:
        health.reasons.append("no window computed yet")
    firing = [a for a in alerts if a.state == "firing"]
    pending = [a for a in alerts if a.state == "pending"]
    if firing:
        names = ", ".join(sorted({a.rule for a in firing}))
        health.worsen("firing", f"{len(firing)} firing alert{'s' * (len(firing) > 1)}: {names}")
    if pending:
        names = ", ".join(sorted({a.rule for a in pending}))
        health.worsen("warning", f"{len(pending)} pending alert{'s' * (len(pending) > 1)}: {names}")
    if run is not None:
        drifted = [
            p
            for p in metrics.query(
                model,
                metric="share_of_drifted_columns",
                granularity=monitor.granularity,
                monitor=monitor.name,
                model_version="",
                segment_key="",
                segment_value="",
                start=run.window_end - RECENT,
            )
            if p.details.get("dataset_drift")
        ]
        if drifted:
            last = drifted[-1]
            health.worsen(
                "warning",
                f"dataset drift in {len(drifted)} of the last 24 h of windows"
                f" (latest {_when(last.window_start)}: {last.value:.0%} of the columns)",
            )
        if run.status == "error":
            health.worsen("warning", f"the last window failed: {run.error}")
    return health


def alert_summary(alert: AlertInstance) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "state": alert.state,
        "severity": alert.labels.get("severity", ""),
        "summary": alert.annotations.get("summary", alert.rule),
        "column": alert.labels.get("column", ""),
    }


def overview_entry(
    info: ModelInfo, runner: JobRunner, metrics: MetricStore, alerting: Alerting
) -> dict[str, Any]:
    """One row of the overview: volume, last window, health, open alerts and the volume
    sparkline (row counts of the monitor's windows over the last week of computed windows)."""
    monitor = runner.monitor(info.name)
    run = last_run(metrics, info.name, monitor)
    open_alerts = [a for a in alerting.alerts(None, info.name) if a.state in ("firing", "pending")]
    health = model_health(metrics, info.name, monitor, run, open_alerts)
    anchor = run.window_end if run is not None else datetime.now(UTC)
    since = anchor - timedelta(days=SPARKLINE_DAYS)
    series = metrics.query_series(
        info.name,
        metrics=["row_count"],
        column="",
        granularity=monitor.granularity,
        monitor=monitor.name,
        model_version="",
        segment_key="",
        segment_value="",
        start=since,
    )
    starts = series.column("start").to_pylist() if series.num_rows else []
    values = series.column("value").to_pylist() if series.num_rows else []
    open_alerts.sort(key=lambda a: (a.state != "firing", a.rule, a.fingerprint))
    return {
        "model": info.to_dict(),
        "monitor": {"name": monitor.name, "granularity": monitor.granularity},
        "last_run": run.to_dict() if run is not None else None,
        "health": health.to_dict(),
        "alerts": {
            "firing": sum(a.state == "firing" for a in open_alerts),
            "pending": sum(a.state == "pending" for a in open_alerts),
            "open": [alert_summary(a) for a in open_alerts[:5]],
        },
        "sparkline": {
            "granularity": monitor.granularity,
            "from": int(since.timestamp()),
            "to": int(anchor.timestamp()),
            "start": starts,
            "value": values,
            "total": sum(v for v in values if v is not None),
        },
    }
