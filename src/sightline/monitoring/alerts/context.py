"""What a notification tells a person: the value against its threshold, the window, the top
drifting features or segments, and links to the dashboard.

The context of an alert is a plain dict (its keys are the template fields of
:data:`sightline.monitoring.alerts.templates.FIELDS`); annotations are rendered from it and
carry its essentials as strings, so they reach every channel, Alertmanager included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from sightline.monitoring.alerts.conditions import Drifted, Outcome, humanize
from sightline.monitoring.alerts.rules import Rule
from sightline.monitoring.alerts.templates import render
from sightline.schema import MetricPoint

__all__ = [
    "TOP",
    "alert_annotations",
    "alert_context",
    "humanize",
    "model_context",
    "top_features",
]

#: How many drifting features or segments a notification names.
TOP = 5

DEFAULT_SUMMARY = "{alertname}: {series} of {model} is {value} ({threshold})"
MODEL_SUMMARY = "{alertname} on {model}: {value} ({threshold})"
DEFAULT_DESCRIPTION = (
    "{series} of model {model} in the {granularity} window {window_start} .. {window_end} "
    "is {value} ({threshold})."
)


def _severity(point: MetricPoint) -> float:
    """How far past its threshold a drift score is (> 1: drifted), comparable across methods:
    a p-value below its threshold, a distance above it."""
    score, threshold = point.value, point.details.get("threshold")
    if score is None or not isinstance(threshold, int | float) or math.isnan(score):
        return 0.0
    if point.details.get("p_value") is not None:  # a statistical check: smaller is worse
        return float(threshold) / max(score, 1e-300)
    return score / threshold if threshold else score


def _moved(point: MetricPoint) -> str:
    """The bin or category whose share moved most, e.g. ``contract=monthly +28 pts``."""
    moved = (point.details.get("distribution") or {}).get("moved") or []
    if not moved or not isinstance(moved[0], dict):
        return ""
    top = moved[0]
    change = top.get("change")
    if not isinstance(change, int | float):
        return ""
    if "category" in top:
        where = f"{point.column}={top['category']}"
    else:
        where = bin_text(point.column, *[*(top.get("range") or []), None, None][:2])
    return f"{where} {change * 100:+.0f} pts"


def bin_text(column: str, low: Any, high: Any) -> str:
    """A bin ``[low, high)`` of a column as text; an open end (None) is left out:
    ``age in [30, 40)``, ``age >= 60``, ``age < 18``."""
    if low is None and high is None:
        return f"{column} (any value)"
    if high is None:
        return f"{column} >= {low:.4g}"
    if low is None:
        return f"{column} < {high:.4g}"
    return f"{column} in [{low:.4g}, {high:.4g})"


def top_features(points: Sequence[MetricPoint], version: str = "") -> list[dict[str, Any]]:
    """The drifted columns of a window, most drifted first (whole table, one model version)."""
    drifting = [
        p
        for p in points
        if p.metric == "drift_score"
        and p.details.get("drifted") is True
        and not p.segment_key
        and p.model_version == version
    ]
    drifting.sort(key=lambda p: (-_severity(p), p.column))
    return [
        {
            "column": p.column,
            "method": p.details.get("method", ""),
            "score": p.value,
            "threshold": p.details.get("threshold"),
            "moved": _moved(p),
        }
        for p in drifting[:TOP]
    ]


def _feature_text(feature: dict[str, Any]) -> str:
    score, threshold = feature["score"], feature["threshold"]
    text = f"{feature['column']} ({feature['method']} {score:.3g}"
    text += f" vs {threshold:g})" if isinstance(threshold, int | float) else ")"
    return text + (f": {feature['moved']}" if feature["moved"] else "")


def _top_segments(point: MetricPoint, points: Sequence[MetricPoint], ascending: bool) -> list[str]:
    same = [
        p
        for p in points
        if p.metric == point.metric
        and p.column == point.column
        and p.segment_key
        and p.value is not None
        and not math.isnan(p.value)
    ]
    same.sort(key=lambda p: (p.value if ascending else -(p.value or 0.0), p.segment_value))
    return [f"{p.segment_key}={p.segment_value}: {p.value:.4g}" for p in same[:TOP]]


def _threshold(rule: Rule, point: MetricPoint) -> str:
    if not isinstance(rule.condition, Drifted):
        return rule.condition.describe()
    details = point.details
    threshold = details.get("threshold")
    if point.metric == "share_of_drifted_columns" and isinstance(threshold, int | float):
        return f"dataset drift when >= {threshold:.0%} of the columns drift"
    method = details.get("method")
    if method and isinstance(threshold, int | float):
        op = "<" if details.get("p_value") is not None else ">="
        return f"drifted: {method} {op} {threshold:g}"
    return "drifted"


def _series(point: MetricPoint) -> str:
    text = point.metric + (f"[{point.column}]" if point.column else "")
    return text + (f"{{{point.segment_key}={point.segment_value}}}" if point.segment_key else "")


def alert_context(
    rule: Rule,
    point: MetricPoint,
    outcome: Outcome,
    labels: dict[str, str],
    fingerprint: str,
    points: Sequence[MetricPoint],
    external_url: str,
) -> dict[str, Any]:
    """The context of an alert made of ``point`` (``points``: the rest of its window)."""
    features = top_features(points, point.model_version)
    ascending = rule.condition.describe().startswith(("<", "change <"))
    query = (
        {"metric": point.metric, "column": point.column}
        if point.column
        else {"metric": point.metric}
    )
    query.update(start=point.window_start.isoformat(), end=point.window_end.isoformat())
    details = {k: v for k, v in point.details.items() if k != "distribution"}
    return {
        "alertname": rule.name,
        "rule": rule.name,
        "severity": rule.severity,
        "model": point.model,
        "model_version": point.model_version,
        "metric": point.metric,
        "column": point.column,
        "segment": labels.get("segment", ""),
        "series": _series(point),
        "value": outcome.value,
        "threshold": _threshold(rule, point),
        "condition": rule.condition.describe(),
        "baseline": outcome.baseline,
        "window_start": point.window_start.isoformat(),
        "window_end": point.window_end.isoformat(),
        "granularity": point.granularity,
        "n_rows": point.n_rows,
        "top_features": [_feature_text(f) for f in features],
        "top_features_detail": features,
        "top_segments": _top_segments(point, points, ascending),
        "dashboard_url": f"{external_url}/models/{quote(point.model, safe='')}?{urlencode(query)}",
        "alert_url": f"{external_url}/alerts/{fingerprint}",
        "labels": labels,
        "details": details,
        "fingerprint": fingerprint,
    }


def model_context(
    rule: Rule, model: str, value: float | None, labels: dict[str, str], fingerprint: str,
    external_url: str,
) -> dict[str, Any]:  # fmt: skip
    """The context of a timer rule's alert about a whole model (e.g. no data)."""
    return {
        "alertname": rule.name,
        "rule": rule.name,
        "severity": rule.severity,
        "model": model,
        "metric": "",
        "series": "",
        "value": value,
        "threshold": rule.condition.describe(),
        "condition": rule.condition.describe(),
        "top_features": [],
        "top_segments": [],
        "dashboard_url": f"{external_url}/models/{quote(model, safe='')}",
        "alert_url": f"{external_url}/alerts/{fingerprint}",
        "labels": labels,
        "fingerprint": fingerprint,
    }


def alert_annotations(rule: Rule, context: dict[str, Any]) -> dict[str, str]:
    """The rule's annotation templates rendered, plus the context's essentials as strings."""
    windowed = bool(context.get("window_start"))
    summary = DEFAULT_SUMMARY if windowed else MODEL_SUMMARY
    templates = {
        "summary": summary,
        "description": DEFAULT_DESCRIPTION if windowed else summary,
        **rule.annotations,
    }
    rendered = {key: render(text, context) for key, text in templates.items()}
    value = context.get("value")
    extra = {
        "value": "" if value is None else f"{value:.6g}",
        "threshold": str(context.get("threshold", "")),
        "dashboard_url": str(context.get("dashboard_url", "")),
    }
    if windowed:
        extra["window"] = f"{context['window_start']} .. {context['window_end']}"
    if context.get("baseline") is not None:
        extra["baseline"] = f"{context['baseline']:.6g}"
    if context.get("top_features"):
        extra["top_features"] = "; ".join(context["top_features"])
    if context.get("top_segments"):
        extra["top_segments"] = "; ".join(context["top_segments"])
    return {**extra, **{k: v for k, v in rendered.items() if v}}
