"""The dashboard's JSON API: what the pages need that the metric and alert APIs do not answer in
one request. Every time series of the pages comes from ``GET /v1/models/{model}/metrics``
(``format=series``) or from these:

GET /v1/dashboard/overview                 every model: health, last window, volume sparkline,
                                           open alerts
GET /v1/models/{model}/dashboard           the model page's view (range and granularity
                                           resolved), its choices (monitors, granularities,
                                           versions and segments present), the columns with
                                           their last window, what the model has (labels,
                                           estimates, service events), health
GET /v1/models/{model}/dashboard/series    metric series with detail fields as arrays
                                           (``fields=threshold&fields=method``, ``lower``, ...)
GET /v1/models/{model}/dashboard/issues    data quality per window: the worst column's missing,
                                           out-of-range and unseen shares, duplicates, schema
                                           changes
GET /v1/models/{model}/dashboard/feature   one column in one window: drift with both binned
                                           distributions, the method and why, the column's
                                           statistics; the windows before and after

The view parameters are those of the model page's URL: ``range`` (``24h``, ``7d`` (default),
``30d``, ``90d``, ``1y``, ``all``) or ``start``/``end``; ``granularity`` (the monitor's or a
coarser roll-up; default: the finest that keeps the range under 2,500 windows);
``version`` (``""`` all versions together); ``segment`` (``""`` all data, or ``key=value``);
``monitor`` (see :mod:`sightline.server.views`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Query, Request, Response

from sightline.errors import NotFoundError
from sightline.monitoring.jobs import monitored_columns
from sightline.monitoring.points import (
    CLASSIFICATION_METRICS,
    ESTIMATED_METRICS,
    REGRESSION_METRICS,
)
from sightline.monitoring.rollups import coarser
from sightline.schema import Window
from sightline.server.explanations import is_test, method_explanation
from sightline.server.health import alert_summary, last_run, model_health, overview_entry
from sightline.server.lookup import model_info, services
from sightline.server.series import (
    ISSUE_METRICS,
    averaged,
    detail_series,
    epoch_seconds,
    issue_series,
)
from sightline.server.views import Params, View, parse_param_time
from sightline.store import ModelInfo

__all__ = ["feature_window", "model_info", "model_summary", "overview", "router", "view_choices"]

router = APIRouter(tags=["dashboard"])

#: How far back (from the range's end) the pages look for recent slices and metrics.
RECENT = timedelta(days=8)
#: The realized quality metrics of each task.
REALIZED = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
#: What tells whether a model has ground truth, and its task (these are rolled up).
PRESENCE_METRICS = ("label_coverage", "accuracy", "mae")


def _fast_json(body: Any) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


# -- the overview ---------------------------------------------------------------------------------


def overview(svc: Any) -> list[dict[str, Any]]:
    """Every model's overview entry (see :func:`sightline.server.health.overview_entry`)."""
    return [
        overview_entry(info, svc.runner, svc.metrics, svc.alerting)
        for info in svc.predictions.models()
    ]


@router.get("/v1/dashboard/overview")
def get_overview(request: Request) -> Response:
    """Every model with its health (ok, warning, firing, unknown, and why), last computed
    window, open alerts and the row counts of its last week of windows."""
    return _fast_json({"models": overview(services(request))})


# -- the model page -------------------------------------------------------------------------------


def _lookups(svc: Any, info: ModelInfo, view: View) -> list[dict[str, Any]]:
    """Where to look for what exists in a view's range, cheaply: the monitor's own windows of
    the last :data:`RECENT` of the range before the last computed window (a recent time range
    reads few blocks of the store), and the coarsest roll-up over the whole range (few
    points). Without a roll-up, the monitor's windows over the whole range."""
    monitor = view.monitor
    rollups = coarser(monitor.granularity)
    run = last_run(svc.metrics, info.name, monitor)
    end = view.end or datetime.now(UTC)
    if run is not None:
        end = min(end, run.window_end)
    recent = end - RECENT if view.start is None else max(view.start, end - RECENT)
    fine = {"granularity": monitor.granularity, "monitor": monitor.name, "end": view.end}
    if not rollups:
        return [{**fine, "start": view.start}]
    coarse = {"granularity": rollups[-1], "monitor": monitor.name, "end": view.end}
    return [{**fine, "start": recent}, {**coarse, "start": view.start}]


def view_choices(svc: Any, info: ModelInfo, view: View) -> dict[str, Any]:
    """The filter choices of a page: the model's monitors, the versions (logged) and segment
    values (with points in the view's range), and the last window of the view's slice."""
    versions = {v for v, _ in svc.predictions.versions(info.name) if v}
    segments: dict[str, set[str]] = {}
    lookups = _lookups(svc, info, view)
    for where in lookups:
        slices = svc.metrics.query_table(info.name, metrics=["row_count"], **where)
        keys = pa.table(
            [slices.column(k) for k in ("model_version", "segment_key", "segment_value")],
            names=["version", "key", "value"],
        )
        distinct = keys.group_by(["version", "key", "value"]).aggregate([]).to_pydict()
        for version, key, value in zip(*distinct.values(), strict=True):
            if version:
                versions.add(version)
            if key:
                segments.setdefault(key, set()).add(value)
    latest = _latest(svc, info, view, lookups[0])
    if latest is None and lookups[0]["start"] != view.start:  # nothing recent: look further
        latest = _latest(svc, info, view, {**lookups[0], "start": view.start})
    if view.version:
        versions.add(view.version)
    if view.segment_key:
        segments.setdefault(view.segment_key, set()).add(view.segment_value)
    return {
        "monitors": [
            {
                "name": m.name,
                "granularity": m.granularity,
                "drift_share": m.drift_share,
                "segments": list(m.segments),
                "suites": sorted(m.suites),
            }
            for m in svc.runner.config(info.name).monitors
        ],
        "versions": sorted(versions),
        "segments": [{"key": k, "values": sorted(v)} for k, v in sorted(segments.items())],
        "latest": latest,
    }


def _latest(svc: Any, info: ModelInfo, view: View, where: dict[str, Any]) -> datetime | None:
    """The start of the view slice's last window (of the monitor's) in ``where``."""
    rows = svc.metrics.query_table(
        info.name,
        metrics=["row_count"],
        column="",
        model_version=view.version,
        segment_key=view.segment_key,
        segment_value=view.segment_value,
        **where,
    )
    last = pc.max(rows.column("window_start")).as_py() if rows.num_rows else None
    return last.replace(tzinfo=UTC) if last is not None else None


def model_summary(svc: Any, info: ModelInfo, view: View) -> dict[str, Any]:
    """What the model page needs besides its series: the view resolved, the filter choices,
    what exists in the range, the columns with the last window's values, health and alerts."""
    model = info.name
    monitor = view.monitor
    config = svc.runner.config(model)
    fine = view.filters(monitor.granularity)
    choices = view_choices(svc, info, view)
    latest = choices.pop("latest")
    slice_filter = {
        "model_version": view.version,
        "segment_key": view.segment_key,
        "segment_value": view.segment_value,
    }
    found: set[str] = set()
    lookups = _lookups(svc, info, view)
    for where in lookups:
        present = svc.metrics.query_table(
            model, metrics=list(PRESENCE_METRICS), column="", **where, **slice_filter
        )
        found |= set(pc.unique(present.column("metric")).to_pylist())
    if view.version or view.segment_key:  # service health is computed for all traffic only
        slice_filter = {"model_version": "", "segment_key": "", "segment_value": ""}
    events = svc.metrics.query_table(
        model, metrics=["event_count"], column="", **lookups[0], **slice_filter
    )
    if events.num_rows:
        found.add("event_count")
    task = config.task or (
        "classification" if "accuracy" in found else "regression" if "mae" in found else None
    )
    quality = {
        "task": task,
        "labels": "label_coverage" in found,
        "realized": list(REALIZED.get(task or "", ())),
        # CBPE estimates are classification metrics, computed while there is a score output
        # (they are not rolled up: the quality panel finds them at the monitor's windows).
        "estimated": list(ESTIMATED_METRICS) if task == "classification" else [],
    }
    window = None
    points = []
    if latest is not None:
        window = Window.containing(latest, monitor.granularity)
        points = svc.metrics.query(model, **{**fine, "start": window.start, "end": window.end})
    run = last_run(svc.metrics, model, monitor)
    alerts = [a for a in svc.alerting.alerts(None, model) if a.state in ("firing", "pending")]
    alerts.sort(key=lambda a: (a.state != "firing", a.rule, a.fingerprint))
    health = model_health(svc.metrics, model, monitor, run, alerts)
    return {
        "model": info.to_dict(),
        "view": view.to_dict(),
        **choices,
        "quality": quality,
        "service": "event_count" in found,
        "drift_share": monitor.drift_share,
        "columns": _columns(info, config, points),
        "latest_window": (
            {"start": window.start.isoformat(), "end": window.end.isoformat()} if window else None
        ),
        "last_run": run.to_dict() if run else None,
        "health": health.to_dict(),
        "alerts": {
            "firing": sum(a.state == "firing" for a in alerts),
            "pending": sum(a.state == "pending" for a in alerts),
            "open": [alert_summary(a) for a in alerts[:20]],
        },
    }


def _role(info: ModelInfo, column: str) -> str:
    """``feature``, ``output`` or ``target``."""
    if column in info.schema.feature_names:
        return "feature"
    return "output" if column in info.schema.output_names else "target"


def _columns(info: ModelInfo, config: Any, points: list[Any]) -> list[dict[str, Any]]:
    """The model's features and outputs, each with its values in the window of ``points``."""
    kinds = monitored_columns(info.schema, config)
    by_column: dict[str, dict[str, Any]] = {}
    for p in points:
        if p.column:
            by_column.setdefault(p.column, {})[p.metric] = p
    columns = []
    for spec in (*info.schema.features, *info.schema.outputs):
        found = by_column.get(spec.name, {})
        drift = found.get("drift_score")
        entry: dict[str, Any] = {
            "name": spec.name,
            "role": _role(info, spec.name),
            "type": spec.type.value,
            "kind": kinds[spec.name].value if spec.name in kinds else None,
            "drift": None,
        }
        if drift is not None:
            d = drift.details
            entry["drift"] = {
                "score": drift.value,
                "method": d.get("method"),
                "is_test": is_test(str(d.get("method") or "")),
                "threshold": d.get("threshold"),
                "drifted": d.get("drifted"),
                "status": d.get("status"),
                "n_reference": d.get("n_reference"),
                "n_current": d.get("n_current"),
            }
        for metric in ("missing_share", "mean", "out_of_range_share", "unseen_share"):
            entry[metric] = found[metric].value if metric in found else None
        columns.append(entry)
    return columns


@router.get("/v1/models/{model}/dashboard")
def get_model_dashboard(model: str, request: Request, params: Params) -> Response:
    """The model page's view and choices: see the module docstring."""
    svc = services(request)
    info = model_info(svc, model)
    return _fast_json(model_summary(svc, info, params.resolve(svc, info)))


# -- series with details, data-quality issues -----------------------------------------------------


@router.get("/v1/models/{model}/dashboard/series")
def get_detail_series(
    model: str,
    request: Request,
    params: Params,
    metric: Annotated[list[str], Query(description="metric name(s); repeat for several")],
    column: Annotated[str | None, Query(description="one column; '' the whole table")] = None,
    fields: Annotated[
        list[str] | None, Query(description="detail keys returned as arrays, e.g. threshold")
    ] = None,
    rollup: Annotated[
        bool, Query(description="metrics without roll-ups: average the monitor's windows")
    ] = False,
) -> Response:
    """Series of one slice, as ``format=series`` of the metrics API, plus arrays of the detail
    ``fields`` asked for: the threshold and method of each drift score, the band (``lower``,
    ``upper``) of each estimate.

    With ``rollup=true`` at a coarser granularity than the monitor's, the metrics that have no
    roll-up (service health, estimates, label delay) come from the monitor's own windows,
    averaged per window (see :func:`averaged`) and marked ``approximate``."""
    svc = services(request)
    info = model_info(svc, model)
    view = params.resolve(svc, info)
    wanted = list(fields or [])
    table = svc.metrics.query_table(
        model, metrics=metric, column=column, details=bool(wanted), **view.filters()
    )
    series = detail_series(table, wanted)
    missing = [m for m in metric if m not in {s["metric"] for s in series}]
    if rollup and view.rollup and missing:
        fine = svc.metrics.query_table(
            model, metrics=missing, column=column, **view.filters(view.monitor.granularity)
        )
        found = detail_series(fine, [])
        for s in found:
            s["granularity"] = view.monitor.granularity
        series += averaged(found, view.granularity)
    return _fast_json({"model": model, "view": view.to_dict(), "series": series})


@router.get("/v1/models/{model}/dashboard/issues")
def get_issues(model: str, request: Request, params: Params) -> Response:
    """Data quality per window of one slice: for ``missing_share``, ``out_of_range_share`` and
    ``unseen_share`` the worst column's value (``column`` indexes ``columns``), and the
    whole-table ``duplicated_rows_share`` and ``schema_changes``."""
    svc = services(request)
    info = model_info(svc, model)
    view = params.resolve(svc, info)
    table = svc.metrics.query_worst(model, metrics=list(ISSUE_METRICS), **view.filters())
    return _fast_json({"model": model, "view": view.to_dict(), **issue_series(table)})


# -- the feature page -----------------------------------------------------------------------------


def feature_window(
    svc: Any, info: ModelInfo, view: View, column: str, window: str | None
) -> dict[str, Any]:
    """One column in one window of the view's granularity (default: the latest with a drift
    score): drift with both distributions, the method and why, the column's statistics."""
    spec = next((c for c in info.schema.columns() if c.name == column), None)
    if spec is None:
        raise NotFoundError(f"model '{info.name}' has no column '{column}'")
    config = svc.runner.config(info.name)
    kinds = monitored_columns(info.schema, config)
    filters = view.filters()
    scores = svc.metrics.query_table(
        info.name, metrics=["drift_score"], column=column, **{**filters, "start": None, "end": None}
    )
    starts = np.sort(epoch_seconds(scores.column("window_start")))
    chosen: datetime | None = None
    if window:
        picked = parse_param_time(window, "window")
        assert picked is not None
        chosen = Window.containing(picked, view.granularity).start
    elif len(starts):
        chosen = datetime.fromtimestamp(int(starts[-1]), UTC)
    result: dict[str, Any] = {
        "model": info.name,
        "column": {
            "name": spec.name,
            "type": spec.type.value,
            "role": _role(info, spec.name),
            "kind": kinds[spec.name].value if spec.name in kinds else None,
        },
        "view": view.to_dict(),
        "window": None,
        "previous": None,
        "next": None,
        "latest": datetime.fromtimestamp(int(starts[-1]), UTC).isoformat() if len(starts) else None,
        "drift": None,
        "method": None,
        "quality": None,
        "values": {},
    }
    if chosen is None:
        return result
    current = Window.containing(chosen, view.granularity)
    epoch = int(current.start.timestamp())
    before, after = starts[starts < epoch], starts[starts > epoch]
    result["window"] = {"start": current.start.isoformat(), "end": current.end.isoformat(),
                        "granularity": current.granularity}  # fmt: skip
    if len(before):
        result["previous"] = datetime.fromtimestamp(int(before[-1]), UTC).isoformat()
    if len(after):
        result["next"] = datetime.fromtimestamp(int(after[0]), UTC).isoformat()
    points = svc.metrics.query(
        info.name, column=column, **{**filters, "start": current.start, "end": current.end}
    )
    found = {p.metric: p for p in points}
    result["values"] = {p.metric: p.value for p in points}
    drift = found.get("drift_score")
    if drift is not None:
        result["drift"] = {"score": drift.value, "n_rows": drift.n_rows, **drift.details}
        result["method"] = method_explanation(
            drift.details, column, view.monitor, kinds.get(column)
        )
    quality = found.get("missing_share")
    if quality is not None:
        result["quality"] = quality.details
    return result


@router.get("/v1/models/{model}/dashboard/feature")
def get_feature(
    model: str,
    request: Request,
    params: Params,
    column: Annotated[str, Query(description="the feature or output")],
    window: Annotated[str | None, Query(description="its start; default the latest")] = None,
) -> Response:
    """One column in one window: see :func:`feature_window`."""
    svc = services(request)
    info = model_info(svc, model)
    return _fast_json(feature_window(svc, info, params.resolve(svc, info), column, window))
