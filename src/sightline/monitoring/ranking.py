"""What moved most in one window: its columns ranked by how far their drift went past its
threshold, and its slices (segments, model versions) ranked by how much of them drifted.

This is where an alert's page starts: the metric points of the alert's window, already
computed by the job, sorted so the cause is near the top. Pure computation on metric points.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> def p(column, score):
    ...     details = {"method": "wasserstein", "threshold": 0.1, "drifted": score > 0.1}
    ...     return MetricPoint("m", "drift_score", t, t, "1h", score, 100, column, details=details)
    >>> [(c.column, round(c.strength, 1)) for c in rank_window([p("a", 0.05), p("b", 0.3)]).columns]
    [('b', 3.0), ('a', 0.5)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sightline.schema import MetricPoint

__all__ = ["ColumnMove", "SliceMove", "WindowRanking", "drift_strength", "rank_window"]

#: Bins or categories listed per column as "what moved most".
TOP_MOVED = 3


def drift_strength(point: MetricPoint) -> float | None:
    """How far a drift score is past its threshold, comparable across methods: 1 at the
    threshold, above 1 drifted, 0 unchanged. A distance (Wasserstein, Jensen–Shannon, PSI …)
    counts as ``score / threshold``; a p-value as ``log(p) / log(threshold)``, so p = 0.05 with a
    0.05 threshold is 1 and p = 1e-40 about 31 (a ratio of p-values would reach 1e300 and
    swamp every distance). None when there is no score (too little data)."""
    score, threshold = point.value, point.details.get("threshold")
    if score is None or math.isnan(score):
        return None
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        return None
    if point.details.get("p_value") is not None:  # a statistical check: smaller is worse
        if not 0 < threshold < 1:
            return None
        return math.log(max(score, 1e-300)) / math.log(threshold)
    return score / threshold if threshold > 0 else score


@dataclass(frozen=True)
class ColumnMove:
    """One column's drift in the window: method, score against threshold, its ``strength``
    (:func:`drift_strength`), sample sizes, the bins or categories that moved most, and both
    distributions (``edges`` or ``categories``, ``reference``, ``current`` shares)."""

    column: str
    role: str
    method: str
    score: float | None
    threshold: float | None
    drifted: bool | None
    strength: float | None
    p_value: bool
    n_reference: int | None
    n_current: int | None
    moved: list[dict[str, Any]]
    distribution: dict[str, Any]

    def to_dict(self, distribution: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "column": self.column,
            "role": self.role,
            "method": self.method,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "strength": self.strength,
            "p_value": self.p_value,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "moved": self.moved,
        }
        if distribution:
            data["distribution"] = self.distribution
        return data


@dataclass(frozen=True)
class SliceMove:
    """One slice of the window — a segment (``kind`` ``segment``: ``key=value``) or a model
    version (``kind`` ``version``) — with its share of drifted columns and its most drifted
    column."""

    kind: str
    key: str
    value: str
    n_rows: int
    share_of_drifted_columns: float | None
    dataset_drift: bool | None
    drifted_columns: list[str]
    strength: float | None
    top_column: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "n_rows": self.n_rows,
            "share_of_drifted_columns": self.share_of_drifted_columns,
            "dataset_drift": self.dataset_drift,
            "drifted_columns": self.drifted_columns,
            "strength": self.strength,
            "top_column": self.top_column,
        }


@dataclass(frozen=True)
class WindowRanking:
    """The columns and the slices of one window, most moved first, and the window's share of
    drifted columns (of the ranked version)."""

    columns: list[ColumnMove] = field(default_factory=list)
    slices: list[SliceMove] = field(default_factory=list)
    share_of_drifted_columns: float | None = None
    dataset_drift: bool | None = None
    n_rows: int | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _column_move(point: MetricPoint, roles: Mapping[str, str]) -> ColumnMove:
    details = point.details
    distribution = details.get("distribution") or {}
    moved = [m for m in distribution.get("moved") or [] if isinstance(m, dict)]
    drifted = details.get("drifted")
    return ColumnMove(
        column=point.column,
        role=roles.get(point.column, ""),
        method=str(details.get("method", "")),
        score=_number(point.value),
        threshold=_number(details.get("threshold")),
        drifted=drifted if isinstance(drifted, bool) else None,
        strength=drift_strength(point),
        p_value=details.get("p_value") is not None,
        n_reference=details.get("n_reference"),
        n_current=details.get("n_current"),
        moved=moved[:TOP_MOVED],
        distribution={k: v for k, v in distribution.items() if k != "moved"},
    )


def _order(strength: float | None) -> float:
    return -strength if strength is not None else math.inf


def rank_window(
    points: Iterable[MetricPoint], version: str = "", roles: Mapping[str, str] | None = None
) -> WindowRanking:
    """Rank the columns of the ``version`` slice (``""``: all versions together) of one window
    by drift strength, and its other slices (segments of that slice, and each model version
    when ``version`` is ``""``) by share of drifted columns, then by their strongest drift.
    ``roles`` names each column's role (feature, output) for display."""
    roles = roles or {}
    slices: dict[tuple[str, str, str], list[MetricPoint]] = {}
    for point in points:
        slices.setdefault((point.model_version, point.segment_key, point.segment_value), []).append(
            point
        )
    main = slices.pop((version, "", ""), [])
    columns = sorted(
        (_column_move(p, roles) for p in main if p.metric == "drift_score"),
        key=lambda c: (_order(c.strength), c.column),
    )
    share = next((p for p in main if p.metric == "share_of_drifted_columns"), None)
    rows = next((p for p in main if p.metric == "row_count"), None)
    ranked: list[SliceMove] = []
    for (slice_version, key, value), members in slices.items():
        if key and slice_version != version:
            continue  # segments of another version's slice
        if not key and (version or not slice_version):
            continue  # another version, only listed beside all versions together
        ranked.append(_slice_move(slice_version, key, value, members))
    ranked.sort(
        key=lambda s: (
            -(s.share_of_drifted_columns if s.share_of_drifted_columns is not None else -1.0),
            _order(s.strength),
            s.kind,
            s.key,
            s.value,
        )
    )
    return WindowRanking(
        columns,
        ranked,
        share_of_drifted_columns=_number(share.value) if share else None,
        dataset_drift=share.details.get("dataset_drift") if share else None,
        n_rows=int(rows.value) if rows and rows.value is not None else None,
    )


def _slice_move(version: str, key: str, value: str, points: list[MetricPoint]) -> SliceMove:
    share = next((p for p in points if p.metric == "share_of_drifted_columns"), None)
    rows = next((p for p in points if p.metric == "row_count"), None)
    scored = [(drift_strength(p), p.column) for p in points if p.metric == "drift_score"]
    strongest = min(
        ((s, c) for s, c in scored if s is not None), key=lambda x: (-x[0], x[1]), default=None
    )
    n_rows = rows.value if rows and rows.value is not None else (share.n_rows if share else 0)
    return SliceMove(
        kind="segment" if key else "version",
        key=key or "model_version",
        value=value if key else version,
        n_rows=int(n_rows),
        share_of_drifted_columns=_number(share.value) if share else None,
        dataset_drift=share.details.get("dataset_drift") if share else None,
        drifted_columns=list(share.details.get("drifted_columns", [])) if share else [],
        strength=strongest[0] if strongest else None,
        top_column=strongest[1] if strongest else "",
    )
