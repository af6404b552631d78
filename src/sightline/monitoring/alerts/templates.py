"""Annotation templates: ``{field}`` placeholders filled from an alert's context.

    >>> render("{metric} of {model} is {value:.2f} ({threshold})",
    ...        {"metric": "drift_score", "model": "churn", "value": 0.4321, "threshold": "> 0.1"})
    'drift_score of churn is 0.43 (> 0.1)'
    >>> render("{labels.team} {{literal}}", {"labels": {"team": "ml"}})
    'ml {literal}'

A placeholder is a dotted name with an optional format spec (``{value:.3f}``); ``{{`` and
``}}`` are literal braces. A name the context lacks renders as an empty string, so a template
works for alerts with and without a column or a segment. Only context keys are reachable (no
attribute access), so a template cannot reach into the program.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FIELDS", "placeholders", "render"]

#: The top-level names a template may use (documented in docs/alerting.md).
FIELDS = frozenset(
    {
        "alertname",
        "rule",
        "severity",
        "state",
        "model",
        "model_version",
        "metric",
        "column",
        "segment",
        "value",
        "threshold",
        "baseline",
        "condition",
        "window_start",
        "window_end",
        "granularity",
        "n_rows",
        "top_features",
        "top_segments",
        "dashboard_url",
        "alert_url",
        "labels",
        "details",
        "fingerprint",
        "series",
        "last_seen",
        "silent_for",
    }
)

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)(?::([^{}]*))?\}")


def placeholders(template: str) -> list[str]:
    """The dotted names a template uses, in order."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]


def _lookup(context: Mapping[str, Any], name: str) -> Any:
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _format(value: Any, spec: str | None) -> str:
    if value is None:
        return ""
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "; ".join(_format(v, None) for v in value)
    return str(value)


def render(template: str, context: Mapping[str, Any]) -> str:
    """``template`` with every placeholder replaced by its value in ``context``."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return _format(_lookup(context, match.group(1)), match.group(2))

    return _PLACEHOLDER.sub(replace, template)
