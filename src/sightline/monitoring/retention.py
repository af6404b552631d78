"""Retention: raw data older than a horizon is deleted; what was computed from it is kept.

With ``SIGHTLINE_RETENTION_DAYS`` set, the scheduler deletes once a day the predictions, ground
truth, service events and quarantined records older than the horizon — ``now`` minus the
retention, at the start of that day (so no window is left half full). Metric points, window
summaries and job runs stay: the dashboard, the alerts and the roll-ups of those days keep
working. Two kinds of raw data are kept whatever their age, because they define what "normal"
is: a model's first day of predictions (the reference of a model without an uploaded one) and
the pinned ranges of its monitors' references. A window whose raw data is gone is not computed
again (a backfill of it would replace good points with empty ones): it fails saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sightline.schema import Window, floor_time
from sightline.schema.monitors import Monitor
from sightline.store import PredictionStore

__all__ = ["horizon", "kept_windows", "prune", "pruned"]


def horizon(now: datetime, retention: timedelta) -> datetime:
    """The start of the day ``retention`` before ``now``: raw data before it is deleted."""
    return floor_time(now - retention, "1d")


def kept_windows(
    predictions: PredictionStore, model: str, monitors: Sequence[Monitor]
) -> list[Window]:
    """The raw data of ``model`` that is kept at any age: its first day, and the pinned
    ranges of its monitors' references."""
    kept = []
    info = next((m for m in predictions.models() if m.name == model), None)
    if info is not None and info.n_predictions and info.first_ts is not None:
        kept.append(Window.containing(info.first_ts, "1d"))
    for monitor in monitors:
        spec = monitor.reference
        if spec.kind == "range" and spec.start is not None and spec.end is not None:
            kept.append(Window(spec.start, spec.end, "range"))
    return kept


def pruned(window: Window, before: datetime, kept: list[Window]) -> bool:
    """Whether the raw data of ``window`` has been deleted (it starts before the horizon and
    is not inside a kept window)."""
    if window.start >= before:
        return False
    return not any(k.start <= window.start and window.end <= k.end for k in kept)


def prune(
    predictions: PredictionStore,
    monitors: Callable[[str], Sequence[Monitor]],
    before: datetime,
) -> dict[str, int]:
    """Delete the raw data older than ``before``, keeping each model's :func:`kept_windows`
    (``monitors`` gives a model's monitors); how many records of each kind went."""
    keep = {
        info.name: kept_windows(predictions, info.name, monitors(info.name))
        for info in predictions.models()
        if info.n_predictions
    }
    return predictions.prune(before, keep)
