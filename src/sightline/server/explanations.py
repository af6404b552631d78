"""Why a drift score was computed the way it was, in words, for the feature page.

>>> text = method_explanation(
...     {"method": "ks", "threshold": 0.05, "kind": "numerical", "n_reference": 5000,
...      "n_current": 600}, "age", Monitor(), ColumnKind.NUMERICAL)
>>> text["direction"]
'a p-value: drift when it is below 0.05'
"""

from __future__ import annotations

from typing import Any

from sightline.errors import ValidationError
from sightline.metrics import ColumnKind
from sightline.metrics.drift import drift_method
from sightline.metrics.drift.base import FEW_VALUES, SMALL_SAMPLE
from sightline.schema.monitors import Monitor

__all__ = ["is_test", "method_explanation"]


def is_test(method: str) -> bool | None:
    """Whether a drift method's score is a p-value (drift when low), or None if unknown."""
    try:
        return drift_method(method).is_test
    except ValidationError:
        return None


def method_explanation(
    details: dict[str, Any], column: str, monitor: Monitor, kind: ColumnKind | None
) -> dict[str, Any]:
    """The method of a drift score (its ``details``): name, title, direction, threshold and
    where each came from (the monitor's ``methods``/``thresholds`` or the default rule)."""
    name = str(details.get("method") or "")
    try:
        method = drift_method(name)
        title, is_test, default = method.title, method.is_test, method.default_threshold
    except ValidationError:  # a method registered in another process (a plugin)
        title, is_test, default = name, False, None
    threshold = details.get("threshold")
    compared = details.get("kind") or (kind.value if kind else "")
    n_reference, n_current = details.get("n_reference"), details.get("n_current")
    smaller = min(n_reference, n_current) if n_reference and n_current else None
    if column in monitor.methods:
        rule = f"set for this column in the monitor's methods ({monitor.methods[column]})"
    elif smaller is None:
        rule = "default rule (the sample sizes are not recorded)"
    else:
        size = f"{smaller:,} values ({'at most' if smaller <= SMALL_SAMPLE else 'over'} 1,000)"
        if compared == "numerical":
            rule = f"default rule: a numerical column whose smaller side has {size}"
        elif kind is ColumnKind.NUMERICAL:
            rule = (
                f"default rule: a numerical column with at most {FEW_VALUES} distinct values is"
                f" compared as categories; its smaller side has {size}"
            )
        else:
            rule = f"default rule: a categorical column whose smaller side has {size}"
        rule += f" uses {title} ({name})" if title != name else f" uses {name}"
    if column in monitor.thresholds:
        threshold_source = "set for this column in the monitor's thresholds"
    else:
        threshold_source = "the method's default"
    direction = (
        f"a p-value: drift when it is below {threshold}"
        if is_test
        else f"a distance: drift when it is {threshold} or more"
    )
    return {
        "name": name,
        "title": title,
        "is_test": is_test,
        "threshold": threshold,
        "default_threshold": default,
        "direction": direction,
        "rule": rule,
        "threshold_source": threshold_source,
        "exact": details.get("exact"),
        "rollup": details.get("rollup"),
        "n_reference": n_reference,
        "n_current": n_current,
        "reference": details.get("reference"),
    }
