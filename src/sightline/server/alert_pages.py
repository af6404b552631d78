"""The alert pages and the debug view: from a notification to the rows that explain it.

    /alerts                         firing, pending and recently resolved alerts (filter by
                                    model), silences with a form to add one, acknowledgement
    /alerts/{fingerprint}           one alert: rule, state, value against threshold, window,
                                    labels, annotations, history; what moved in its window
                                    (columns and segments ranked, distributions); a link to
                                    the rows
    /models/{model}/debug           the rows of a time range with their ground truth: filters
                                    kept in the URL, paging, CSV and Parquet downloads

Pages are rendered on the server (everything readable without JavaScript); ``alerts.js``
posts acknowledgements and silences to the HTTP API and draws the distributions,
``debug.js`` adds and removes filter rows. Names can hold any character: every value is
escaped by the templates and every URL is built here with its parts quoted.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sightline.errors import NotFoundError, ValidationError
from sightline.monitoring.alerts import Alerting
from sightline.monitoring.alerts.context import bin_text
from sightline.monitoring.ranking import ColumnMove, SliceMove, WindowRanking
from sightline.schema import Window, parse_time
from sightline.schema.alerts import AlertInstance, Matcher, Transition
from sightline.schema.rows import RowFilter, RowOrder, RowsPage
from sightline.server import dashboard
from sightline.server.alerts_api import alerting
from sightline.server.debug_api import RowRequest, ranking, row_request
from sightline.server.lookup import model_schema, services

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
SCRIPTS = ("alerts.js", "debug.js")
#: Resolved alerts listed on /alerts: resolved within this long, at most this many.
RESOLVED_FOR = timedelta(days=7)
RESOLVED_SHOWN = 50
#: Columns whose distributions an alert page draws.
CHARTS = 6
PAGE_SIZES = (25, 50, 100, 250, 500)
#: The filter operators offered by the debug view's form, with their labels.
FILTER_OPERATORS = [("=", "="), ("!=", "!="), (">=", ">="), (">", ">"), ("<=", "<="), ("<", "<"),
                    ("missing", "is missing"), ("present", "is present")]  # fmt: skip
SILENCE_LABELS = ("alertname", "model", "model_version", "column", "segment")

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())


def _when(value: datetime | str | None) -> str:
    """A time as ``2026-03-06 14:00:00`` UTC, or an em dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            return _when(parse_time(value))
        except ValidationError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _span(start: datetime | str | None, end: datetime | str | None) -> str:
    """A window in few characters: ``2026-03-06 14:00 – 15:00``; a day ``… 00:00 – 24:00``."""
    if not start or not end:
        return "—"
    first, last = (parse_time(t).astimezone(UTC) for t in (start, end))
    if first.date() == last.date():
        return f"{first:%Y-%m-%d %H:%M} – {last:%H:%M}"
    if last - first <= timedelta(days=1) and last.time() == time(0):
        return f"{first:%Y-%m-%d %H:%M} – 24:00"
    return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.{digits}g}"
    return str(value)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def _since(value: datetime | None, now: datetime) -> str:
    """How long ago: ``3h 5m ago``."""
    if value is None:
        return ""
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "just now"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2]) + " ago"


def _cell(value: Any) -> str:
    """A row value as the debug table shows it (times UTC to the millisecond)."""
    if isinstance(value, datetime):
        text = value.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
        return text.removesuffix(".000")
    if isinstance(value, float):
        return _number(value, 6)
    return _number(value)


def _link(url: str) -> bool:
    """Whether an annotation is a web link (only http and https are made clickable)."""
    return url.startswith(("https://", "http://")) and " " not in url


templates.filters.update(
    when=_when,
    span=_span,
    number=_number,
    share=_share,
    cell=_cell,
    path=lambda v: quote(v, safe=""),
    minute=lambda v: _when(v)[:16],
)
templates.tests.update(link=_link)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    # The dashboard's globals (e.g. who is logged in, when auth is on) apply to these pages too.
    shared = {k: v for k, v in dashboard.templates.globals.items() if k not in templates.globals}
    page = templates.get_template(name).render(**shared, request=request, **context)
    return HTMLResponse(page, status_code=status)


def model_url(model: str) -> str:
    return f"/models/{quote(model, safe='')}"


def debug_url(model: str, params: list[tuple[str, str]] | dict[str, str]) -> str:
    return f"{model_url(model)}/debug?{urlencode(params)}"


def _alert_view(engine: Alerting, instance: AlertInstance, now: datetime) -> dict[str, Any]:
    context = instance.context
    since = {
        "firing": instance.fired_at,
        "pending": instance.active_since,
        "resolved": instance.resolved_at,
    }.get(instance.state)
    return {
        "instance": instance,
        "fingerprint": instance.fingerprint,
        "url": f"/alerts/{quote(instance.fingerprint, safe='')}",
        "summary": instance.annotations.get("summary", ""),
        "series": context.get("series") or instance.labels.get("metric", ""),
        "threshold": context.get("threshold", ""),
        "window_start": context.get("window_start"),
        "window_end": context.get("window_end"),
        "since": since,
        "ago": _since(since, now),
        "muted": engine.muted(instance, now),
    }


# -- /alerts -----------------------------------------------------------------------------


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, model: str | None = None) -> HTMLResponse:
    engine = alerting(request)
    svc = services(request)
    now = engine.clock.now()
    model = model or None
    instances = engine.alerts(model=model)
    views = [_alert_view(engine, i, now) for i in instances]
    firing = [v for v in views if v["instance"].state == "firing"]
    pending = [v for v in views if v["instance"].state == "pending"]
    resolved = sorted(
        (
            v
            for v in views
            if v["instance"].state == "resolved"
            and v["since"] is not None
            and now - v["since"] <= RESOLVED_FOR
        ),
        key=lambda v: v["since"],
        reverse=True,
    )[:RESOLVED_SHOWN]
    for group in (firing, pending):
        group.sort(key=lambda v: v["since"] or now, reverse=True)
    models = sorted({i.model for i in engine.alerts()} | set(svc.metrics.models()))
    silences = [
        {"silence": s, "status": s.status(now), "matches": _silenced(s.matchers, instances)}
        for s in engine.silences()
    ]
    matchers = request.query_params.getlist("silence")
    signature = alerts_signature(i.to_dict() for i in instances)
    rules = [
        {
            "rule": rule,
            "source": engine.rule_source(rule.name),
            "firing": sum(i.rule == rule.name and i.state == "firing" for i in instances),
            "pending": sum(i.rule == rule.name and i.state == "pending" for i in instances),
        }
        for rule in engine.rules
    ]
    return render(
        request,
        "alerts.html",
        section="alerts",
        model=model,
        models=models,
        firing=firing,
        pending=pending,
        resolved=resolved,
        silences=silences,
        rules=rules,
        silence_matchers=matchers or ([f"model={model}"] if model else []),
        signature=signature,
        now=now,
    )


def alerts_signature(alerts: Any) -> str:
    """What the alert list shows, in short: alerts.js compares it with ``GET /v1/alerts`` and
    reloads the list when it changed (the same function of the same fields as the script's)."""
    shown = sorted(
        f"{a['fingerprint']}:{a['state']}:{1 if a.get('acked_at') else 0}"
        for a in alerts
        if a["state"] in ("pending", "firing", "resolved")
    )
    return " ".join(shown)


def _silenced(matchers: tuple[Matcher, ...], instances: list[AlertInstance]) -> int:
    """How many open alerts the matchers match."""
    return sum(
        1
        for i in instances
        if i.state in ("pending", "firing") and all(m.matches(i.labels) for m in matchers)
    )


# -- /alerts/{fingerprint} ---------------------------------------------------------------


@router.get("/alerts/{fingerprint}", response_class=HTMLResponse)
def alert_page(fingerprint: str, request: Request) -> HTMLResponse:
    engine = alerting(request)
    svc = services(request)
    now = engine.clock.now()
    try:
        instance = engine.alert(fingerprint)
    except NotFoundError as error:
        return render(request, "alert.html", status=404, section="alerts", missing=str(error))
    view = _alert_view(engine, instance, now)
    history = engine.history(fingerprint, limit=100)
    window, ranked, problem = _window_ranking(svc, instance)
    labels = instance.labels
    version = labels.get("model_version", "")
    rows_params: dict[str, str] = {}
    if window is not None:
        rows_params = {"start": window.start.isoformat(), "end": window.end.isoformat()}
        if version:
            rows_params["version"] = version
        segment_filter = _segment_filter(labels.get("segment", ""))
        if segment_filter:
            rows_params["filter"] = segment_filter
    model = instance.model
    features = [_feature_view(model, c, rows_params) for c in ranked.columns] if ranked else []
    slices = [_slice_view(model, s, rows_params) for s in ranked.slices] if ranked else []
    charts = [f["chart"] for f in features if f["chart"]][:CHARTS]
    column = labels.get("column", "")
    drift = next((f["move"] for f in features if column and f["move"].column == column), None)
    silence = [f"{k}={labels[k]}" for k in SILENCE_LABELS if labels.get(k)]
    return render(
        request,
        "alert.html",
        section="alerts",
        alert=view,
        instance=instance,
        context=instance.context,
        history=[_transition_view(t) for t in history],
        window=window,
        ranking=ranked,
        ranking_problem=problem,
        features=features,
        drift=drift,
        slices=slices,
        charts=charts,
        rows_url=debug_url(model, rows_params) if window is not None else "",
        model_url=model_url(model),
        silence_matchers=silence,
        now=now,
    )


def _window_ranking(
    svc: Any, instance: AlertInstance
) -> tuple[Window | None, WindowRanking | None, str]:
    """The alert's window and what moved in it (or why that cannot be shown)."""
    context = instance.context
    if not context.get("window_start") or not context.get("window_end"):
        return None, None, "This alert is about the whole model, not one window."
    window = Window(
        parse_time(context["window_start"]),
        parse_time(context["window_end"]),
        str(context.get("granularity") or "1h"),
    )
    model = instance.model
    try:
        model_schema(svc, model)
    except NotFoundError:
        return window, None, f"Model '{model}' has no stored predictions any more."
    monitors = {m.name: m for m in svc.runner.monitors(model)}
    monitor = monitors.get(instance.labels.get("monitor", ""))
    if monitor is None or monitor.granularity != window.granularity:
        monitor = svc.runner.monitor(model, None, window.granularity)
    version = instance.labels.get("model_version", "")
    ranked = ranking(svc, model, window, monitor, version)
    if not ranked.columns and not ranked.slices:
        return window, ranked, "No drift was computed in this window (or it was recomputed)."
    return window, ranked, ""


def _segment_filter(segment: str) -> str:
    """The rows filter of an alert's segment label (``plan=a``); none for ``other``."""
    key, _, value = segment.partition("=")
    if not key or value == "other":
        return ""
    return str(RowFilter(key, "=", value))


def _moved_text(column: str, moved: dict[str, Any]) -> tuple[str, list[str]]:
    """A moved bin or category as text (``plan=c +28 pts``) and the filters selecting it."""
    change = moved.get("change")
    points = f" {change * 100:+.0f} pts" if isinstance(change, int | float) else ""
    if "category" in moved:
        category = str(moved["category"])
        return f"{column} = {category}{points}", [str(RowFilter(column, "=", category))]
    low, high = [*(moved.get("range") or []), None, None][:2]
    filters = []
    if low is not None:
        filters.append(str(RowFilter(column, ">=", float(low))))
    if high is not None:
        filters.append(str(RowFilter(column, "<", float(high))))
    return bin_text(column, low, high) + points, filters


def _feature_view(model: str, move: ColumnMove, rows_params: dict[str, str]) -> dict[str, Any]:
    moved = []
    for entry in move.moved:
        change = entry.get("change")
        if isinstance(change, int | float) and abs(change) < 0.005:
            continue  # under half a point: nothing moved there
        text, filters = _moved_text(move.column, entry)
        params = [*rows_params.items(), *(("filter", f) for f in filters)]
        moved.append({"text": text, "url": debug_url(model, params) if rows_params else ""})
    distribution = move.distribution
    chart = None
    if distribution.get("reference") is not None and (
        distribution.get("edges") or distribution.get("categories")
    ):
        chart = {
            "column": move.column,
            "method": move.method,
            "edges": distribution.get("edges"),
            "categories": distribution.get("categories"),
            "reference": distribution.get("reference"),
            "current": distribution.get("current"),
        }
    query = ""
    if rows_params:
        query = "?" + urlencode({"start": rows_params["start"], "end": rows_params["end"]})
    return {
        "move": move,
        "moved": moved,
        "chart": chart,
        "feature_url": f"{model_url(model)}/features/{quote(move.column, safe='')}{query}",
        "bar": min(1.0, (move.strength or 0.0) / 4),
    }


def _slice_view(model: str, move: SliceMove, rows_params: dict[str, str]) -> dict[str, Any]:
    url = ""
    if rows_params:
        params = {k: v for k, v in rows_params.items() if k not in ("version", "filter")}
        if move.kind == "version":
            url = debug_url(model, {**params, "version": move.value})
        elif move.value != "other":
            url = debug_url(model, {**params, "filter": str(RowFilter(move.key, "=", move.value))})
    return {"move": move, "url": url, "name": f"{move.key}={move.value}"}


def _transition_view(transition: Transition) -> dict[str, Any]:
    return {
        "at": transition.at,
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "value": transition.value,
        "window_start": transition.window_start,
        "summary": transition.summary,
        "ack": transition.from_state == transition.to_state,
    }


# -- /models/{model}/debug ---------------------------------------------------------------


@router.get("/models/{model}/debug", response_class=HTMLResponse)
def debug_page(model: str, request: Request) -> Response:
    svc = services(request)
    q = request.query_params
    try:
        model_schema(svc, model)
    except NotFoundError as unknown:
        return render(request, "debug.html", status=404, section="models", missing=str(unknown))
    if any(k in q for k in ("fc", "sort", "dir")):  # the form's controls: canonical URL
        return RedirectResponse(debug_url(model, _canonical(q)), status_code=303)
    error = ""
    checked: RowRequest | None = None
    page: RowsPage | None = None
    try:
        checked = row_request(
            svc,
            model,
            start=q.get("start") or None,
            end=q.get("end") or None,
            version=q.get("version") or None,
            filters=q.getlist("filter"),
            labelled=_labelled(q.get("labelled")),
            order=q.get("order") or None,
            limit=_int(q.get("limit"), "limit", 100, 1, max(PAGE_SIZES)),
            offset=_int(q.get("offset"), "offset", 0, 0, 100_000_000),
        )
        page = svc.predictions.rows(model, checked.query)
    except ValidationError as mistake:
        error = f"{mistake.field}: {mistake.message}" if mistake.field else mistake.message
    status = 422 if error else 200
    if checked is None or page is None:
        return render(
            request, "debug.html", status=status, section="models", model=model,
            model_url=model_url(model), error=error, checked=None, raw=q,
            versions=[v for v, _ in svc.predictions.versions(model)],
        )  # fmt: skip
    q0 = checked.query
    gone = svc.runner.raw_data_gone(model, Window(q0.start, q0.end, "range"))
    return render(
        request,
        "debug.html",
        section="models",
        model=model,
        model_url=model_url(model),
        error="",
        pruned=gone,
        **_debug_context(svc, model, checked, page),
    )


def _labelled(text: str | None) -> bool | None:
    if not text or text == "any":
        return None
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ValidationError(f"labelled is true, false or any, got {text[:40]!r}", field="labelled")


def _int(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(f"expected a whole number, got {text[:40]!r}", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"must be between {low} and {high}", field=name)
    return value


def _canonical(q: Any) -> list[tuple[str, str]]:
    """The debug view's URL parameters from its form: each (column, operator, value) row
    becomes a ``filter``, sort column and direction one ``order``; the page starts again at
    its first row."""
    params: list[tuple[str, str]] = []
    for key in ("start", "end", "version", "labelled", "limit"):
        if q.get(key):
            params.append((key, q[key]))
    params += [("filter", f) for f in q.getlist("filter") if f]
    known = {op for op, _ in FILTER_OPERATORS}
    for column, op, value in zip(q.getlist("fc"), q.getlist("fo"), q.getlist("fv"), strict=False):
        if not column:
            continue  # the empty row for a new filter
        op = op if op in known else "="
        valueless = op in ("missing", "present")
        params.append(("filter", str(RowFilter(column, op, None if valueless else value))))
    if q.get("sort"):
        order = str(RowOrder(q["sort"], q.get("dir") == "desc"))
        if order != "ts":
            params.append(("order", order))
    elif q.get("order"):
        params.append(("order", q["order"]))
    return params


def _debug_context(svc: Any, model: str, checked: RowRequest, page: RowsPage) -> dict[str, Any]:
    q = checked.query
    names = page.table.column_names
    rows = [
        [page.table.column(i)[r].as_py() for i in range(page.table.num_columns)]
        for r in range(page.table.num_rows)
    ]
    base = checked.params(offset=None)
    width = q.end - q.start
    last_offset = max(0, (page.total - 1) // q.limit * q.limit)

    def at(offset: int) -> str:
        return debug_url(model, checked.params(offset=offset or None))

    def sort_url(column: str) -> str:
        descending = q.order.column == column and not q.order.descending
        order = str(RowOrder(column, descending))
        return debug_url(model, checked.params(order=None if order == "ts" else order, offset=None))

    def shifted(by: timedelta) -> str:
        return debug_url(
            model,
            checked.params(start=(q.start + by).isoformat(), end=(q.end + by).isoformat(),
                           offset=None),
        )  # fmt: skip

    download = [(k, v) for k, v in base if k not in ("limit", "offset")]
    path = quote(model, safe="")
    filters = [
        {"column": f.column, "op": f.op, "value": f.value_text, "text": str(f)} for f in q.filters
    ]
    return {
        "checked": checked,
        "query": q,
        "columns": [{"name": n, "kind": checked.columns[n]} for n in names],
        "all_columns": [n for n in checked.columns if n not in ("tags", "record_id")],
        "rows": rows,
        "total": page.total,
        "first": q.offset + 1 if rows else 0,
        "last": q.offset + len(rows),
        "filters": filters,
        "operators": FILTER_OPERATORS,
        "page_sizes": PAGE_SIZES,
        "versions": [v for v, _ in svc.predictions.versions(model)],
        "prev_url": at(max(0, q.offset - q.limit)) if q.offset > 0 else "",
        "next_url": at(q.offset + q.limit) if q.offset + q.limit < page.total else "",
        "first_url": at(0) if q.offset > 0 else "",
        "last_url": at(last_offset) if q.offset < last_offset else "",
        "clear_url": debug_url(model, {"start": q.start.isoformat(), "end": q.end.isoformat()}),
        "earlier_url": shifted(-width),
        "later_url": shifted(width),
        "sort_url": sort_url,
        "csv_url": f"/v1/models/{path}/rows.csv?{urlencode(download)}",
        "parquet_url": f"/v1/models/{path}/rows.parquet?{urlencode(download)}",
        "api_url": f"/v1/models/{path}/rows?{urlencode(base)}",
    }


# -- scripts -------------------------------------------------------------------------------


@router.get("/static/alerts.js")
def alerts_js() -> FileResponse:
    return FileResponse(HERE / "static" / "alerts.js", media_type="text/javascript")


@router.get("/static/debug.js")
def debug_js() -> FileResponse:
    return FileResponse(HERE / "static" / "debug.js", media_type="text/javascript")
