"""Roll-ups: coarse windows (days, weeks) computed by merging the fine windows' summaries.

When a monitor computes hourly windows, its days and weeks are not re-read from the prediction
store: the hourly column summaries (counts, histograms on the reference's edges, moments,
sketches) are merged — exactly, in any order — and the same metrics are computed from the
merged summaries. Categorical columns, numerical columns with few distinct values, counts,
missing shares and means come out exact; the rank- and distance-based drift methods on
continuous columns are approximations (``exact: false`` in their details; the error bounds are
in docs/metrics.md). Label-based quality merges the windows' confusion matrices, so accuracy,
precision, recall and F1 are exact too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sightline.errors import SightlineError
from sightline.metrics import (
    CategoricalCounts,
    CategoricalSummary,
    ColumnKind,
    ColumnReport,
    DatasetReport,
    NumericalSummary,
    NumericalValues,
)
from sightline.metrics.dataset import distribution
from sightline.metrics.drift import detect_drift
from sightline.metrics.quality import categorical_quality, numerical_quality
from sightline.monitoring.points import PointBuilder, data_points
from sightline.monitoring.references import Reference
from sightline.schema import GRANULARITIES, MetricPoint, Window, WindowSummary, windows_between
from sightline.schema.monitors import Monitor
from sightline.store import MetricStore

__all__ = ["coarser", "rollup_window"]

SliceKey = tuple[str, str, str]  # model_version, segment_key, segment_value


def coarser(granularity: str) -> list[str]:
    """The granularities a monitor of ``granularity`` rolls up to (multiples of it)."""
    seconds = GRANULARITIES[granularity]
    return [g for g, s in GRANULARITIES.items() if s > seconds and s % seconds == 0]


def _summary(data: dict[str, Any]) -> NumericalSummary | CategoricalSummary:
    if data.get("kind") == "categorical":
        return CategoricalSummary.from_dict(data)
    return NumericalSummary.from_dict(data)


def _merge(
    parts: Sequence[NumericalSummary | CategoricalSummary],
) -> NumericalSummary | CategoricalSummary:
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)  # type: ignore[arg-type]
    return merged


@dataclass(frozen=True)
class _Fine:
    summaries: dict[SliceKey, dict[str, list[NumericalSummary | CategoricalSummary]]]
    windows: set[Any]


def _slice_reference(reference: Reference, monitor: Monitor, key: str, value: str) -> Reference:
    """The reference a slice was compared with: a segment's own part of it."""
    return reference.segment(key, value, monitor.top_segments) if key else reference


def _collect(summaries: Iterable[WindowSummary], reference: Reference, monitor: Monitor) -> _Fine:
    grouped: dict[SliceKey, dict[str, list[NumericalSummary | CategoricalSummary]]] = defaultdict(
        lambda: defaultdict(list)
    )
    windows = set()
    for s in summaries:
        if (
            s.reference
            != _slice_reference(reference, monitor, s.segment_key, s.segment_value).source
        ):
            continue  # binned on another reference's edges: cannot merge
        grouped[(s.model_version, s.segment_key, s.segment_value)][s.column].append(
            _summary(s.data)
        )
        windows.add(s.window_start)
    return _Fine(grouped, windows)


def rollup_window(
    metrics: MetricStore,
    model: str,
    monitor: Monitor,
    window: Window,
    reference: Reference,
    kinds: dict[str, ColumnKind],
    bounds: dict[str, tuple[float, float]],
) -> tuple[list[MetricPoint], list[WindowSummary]]:
    """Points (and merged summaries) of the coarse ``window`` from the fine windows of
    ``monitor``: none when its fine windows were computed but had no data to summarize.
    Raises SightlineError when no fine window was computed."""
    fine = _collect(
        metrics.summaries(model, monitor.name, monitor.granularity, window.start, window.end),
        reference,
        monitor,
    )
    expected = list(windows_between(window.start, window.end, monitor.granularity))
    computed = metrics.last_computed(model, monitor.granularity, window.start, monitor.name)
    done = [start for start in computed if start < window.end]
    if not fine.windows and done:
        return [], []  # computed, but no data (or too little) to merge
    if not fine.windows:
        raise SightlineError(
            f"no {monitor.granularity} summaries of model '{model}' to roll up into {window}"
        )
    points: list[MetricPoint] = []
    merged_summaries: list[WindowSummary] = []
    for (version, key, value), columns in sorted(fine.summaries.items()):
        point = PointBuilder(model, monitor.name, window, version, key, value)
        own = _slice_reference(reference, monitor, key, value)
        profile = own.profile(kinds, bounds)
        reports: dict[str, ColumnReport] = {}
        n_rows = 0
        for name, parts in columns.items():
            ref = profile.columns.get(name)
            if ref is None:
                continue
            merged = _merge(parts)
            n_rows = max(n_rows, merged.n_rows)
            cur: NumericalValues | CategoricalCounts
            if isinstance(merged, NumericalSummary):
                cur = merged.to_values()
                quality = numerical_quality(name, merged)
            else:
                cur = merged.counts
                ref_counts = ref.data if isinstance(ref.data, CategoricalCounts) else None
                quality = categorical_quality(name, cur, reference=ref_counts)
            drift = detect_drift(
                name,
                ref.data,
                cur,
                method=monitor.methods.get(name),
                threshold=monitor.thresholds.get(name),
                min_rows=monitor.min_rows,
            )
            reports[name] = ColumnReport(
                name, ref.kind, quality, drift, distribution(ref.data, cur)
            )
            merged_summaries.append(
                WindowSummary(
                    model,
                    monitor.name,
                    window.granularity,
                    window.start,
                    window.end,
                    name,
                    own.source,
                    merged.to_dict(),
                    version,
                    key,
                    value,
                )
            )
        report = DatasetReport(profile.n_rows, n_rows, reports, monitor.drift_share)
        slice_points = data_points(
            point,
            report,
            own.source,
            drift=monitor.computes("drift"),
            quality=monitor.computes("data_quality"),
        )
        complete = len(done) == len(expected)
        for p in slice_points:
            p.details.update(
                rollup=monitor.granularity, windows=len(fine.windows), complete=complete
            )
        points += slice_points
    points += _quality_rollup(metrics, model, monitor, window)
    return points, merged_summaries


def _quality_rollup(
    metrics: MetricStore, model: str, monitor: Monitor, window: Window
) -> list[MetricPoint]:
    """Label coverage and the label metrics of merged confusion matrices (exact)."""
    fine = metrics.query(
        model,
        monitor=monitor.name,
        granularity=monitor.granularity,
        start=window.start,
        end=window.end,
    )
    by_slice: dict[SliceKey, dict[str, list[MetricPoint]]] = defaultdict(lambda: defaultdict(list))
    for p in fine:
        if p.metric in ("label_coverage", "accuracy", "row_count"):
            by_slice[(p.model_version, p.segment_key, p.segment_value)][p.metric].append(p)
    points: list[MetricPoint] = []
    for (version, key, value), found in sorted(by_slice.items()):
        point = PointBuilder(model, monitor.name, window, version, key, value)
        coverage = found.get("label_coverage", [])
        rows = sum(p.n_rows for p in coverage)
        labelled = sum(int(p.details.get("n_labelled", 0)) for p in coverage)
        if coverage:
            points.append(
                point(
                    "label_coverage",
                    labelled / rows if rows else None,
                    rows,
                    n_labelled=labelled,
                    rollup=monitor.granularity,
                )
            )
        matrices = [p for p in found.get("accuracy", []) if p.details.get("confusion_matrix")]
        labels = matrices[0].details.get("labels") if matrices else None
        if not matrices or any(p.details.get("labels") != labels for p in matrices):
            continue
        total = np.sum(
            [np.asarray(p.details["confusion_matrix"], dtype=np.int64) for p in matrices], axis=0
        )
        points += _label_metrics(
            point, total, list(labels or []), matrices[0].details.get("positive_label"), monitor
        )
    return points


def _label_metrics(
    point: PointBuilder,
    matrix: np.ndarray,
    labels: list[Any],
    positive: Any,
    monitor: Monitor,
) -> list[MetricPoint]:
    n = int(matrix.sum())
    if n == 0:
        return []
    details = {"confusion_matrix": matrix.tolist(), "labels": labels, "positive_label": positive,
               "n_labelled": n, "rollup": monitor.granularity}  # fmt: skip
    points = [point("accuracy", float(np.trace(matrix)) / n, n, **details)]
    if positive in labels and len(labels) == 2:
        i = labels.index(positive)
        tp = int(matrix[i, i])
        fp = int(matrix[:, i].sum()) - tp
        fn = int(matrix[i, :].sum()) - tp
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        extra = {"n_labelled": n, "rollup": monitor.granularity}
        if precision is not None:
            points.append(point("precision", precision, n, **extra))
        if recall is not None:
            points.append(point("recall", recall, n, **extra))
        if precision and recall:
            points.append(point("f1", 2 * precision * recall / (precision + recall), n, **extra))
    return points
