"""Built-in rules: what every model gets by default, written in the config file's rule format.

Each is switchable off globally (``alerting.builtin.disabled: [name]``), per model
(``alerting.builtin.models.<model>.disabled``) or all at once (``alerting.builtin.enabled:
false``), and tunable with ``alerting.builtin.overrides.<name>`` (any rule field). The table
in docs/alerting.md describes them; ``GET /v1/rules`` and ``sightline rules check`` list them.

Every built-in rule carries a ``category`` label (``drift``, ``data_quality``,
``model_quality``, ``service``, ``ingestion``), which the default inhibition rule uses: while a
model's ``no_data`` (or a ``schema_broken`` rule of yours) fires, its drift, data-quality and
model-quality alerts are held back.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BUILTIN", "DEFAULT_INHIBIT_RULES"]

_DRIFT_DESCRIPTION = (
    "{series} of model {model} in the {granularity} window {window_start} .. {window_end}: "
    "{value} ({threshold}). Top drifting features: {top_features}. {dashboard_url}"
)

#: name → rule definition, in the format of ``alerting.rules`` items.
BUILTIN: dict[str, dict[str, Any]] = {
    "dataset_drift": {
        "metric": "share_of_drifted_columns",
        "condition": "drifted",
        "for": 2,
        "severity": "warning",
        "labels": {"category": "drift"},
        "annotations": {
            "summary": "Dataset drift on {model}: {value:.0%} of the columns drifted",
            "description": _DRIFT_DESCRIPTION,
        },
    },
    "prediction_drift": {
        "metric": "drift_detected",
        "role": "output",
        "condition": "drifted",
        "for": 2,
        "severity": "warning",
        "labels": {"category": "drift"},
        "annotations": {
            "summary": "Prediction drift on {model}: output {column} drifted",
            "description": _DRIFT_DESCRIPTION,
        },
    },
    "missing_data_spike": {
        "metric": "missing_share",
        "column": "*",
        "condition": {"change": "> 0.1", "baseline": "trailing", "windows": 24},
        "for": 1,
        "severity": "warning",
        "labels": {"category": "data_quality"},
        "annotations": {
            "summary": "Missing values spiked in {model}.{column}: {value:.1%} "
            "(usually {baseline:.1%})",
        },
    },
    "no_data": {
        "condition": {"no_data": "2h"},
        "severity": "critical",
        "labels": {"category": "ingestion"},
        "annotations": {
            "summary": "No data from {model} for {silent_for} (ingestion stalled?)",
            "description": "Model {model} has logged no prediction since {last_seen} "
            "({silent_for}; {threshold}). Check the service and its Sightline SDK.",
        },
    },
    "quality_drop": {
        "metric": ["accuracy", "f1", "roc_auc", "pr_auc", "precision", "recall"],
        "condition": {"change": "< -10%", "baseline": "auto", "windows": 7, "sigmas": 3},
        "for": 1,
        "keep_firing_for": "6h",
        "severity": "critical",
        "labels": {"category": "model_quality"},
        "annotations": {
            "summary": "{metric} of {model} dropped to {value:.3f} (baseline {baseline:.3f})",
        },
    },
    "error_rise": {
        "metric": ["mae", "rmse", "mape"],
        "condition": {"change": "> 20%", "baseline": "auto", "windows": 7, "sigmas": 3},
        "for": 1,
        "keep_firing_for": "6h",
        "severity": "critical",
        "labels": {"category": "model_quality"},
        "annotations": {
            "summary": "{metric} of {model} rose to {value:.4g} (baseline {baseline:.4g})",
        },
    },
    "estimated_quality_drop": {
        "metric": "estimated_*",
        "condition": {"change": "< -10%", "baseline": "auto", "windows": 7, "sigmas": 3},
        "only_if": {"metric": "label_coverage", "op": "<", "value": 0.5, "missing": True},
        "for": 2,
        "severity": "warning",
        "labels": {"category": "model_quality"},
        "annotations": {
            "summary": "{metric} of {model} dropped to {value:.3f} "
            "(baseline {baseline:.3f}); labels are not in yet",
        },
    },
    "error_rate": {
        "metric": "error_rate",
        "condition": "> 0.05",
        "for": 2,
        "severity": "critical",
        "labels": {"category": "service"},
        "annotations": {"summary": "Error rate of {model} is {value:.1%} ({threshold})"},
    },
    "latency": {
        "metric": "latency_p95",
        "condition": {"change": "> 50%", "baseline": "trailing", "windows": 24},
        "for": 2,
        "severity": "warning",
        "labels": {"category": "service"},
        "annotations": {
            "summary": "p95 latency of {model} is {value:.0f} ms (usually {baseline:.0f} ms)",
        },
    },
}

#: Inhibition that comes with the built-ins: a model with no data (or a broken schema) does
#: not also page for drift and quality, which are meaningless without data.
DEFAULT_INHIBIT_RULES: list[dict[str, Any]] = [
    {
        "source_matchers": ["alertname=~no_data|schema_broken"],
        "target_matchers": ["category=~drift|data_quality|model_quality"],
        "equal": ["model"],
    }
]
