"""Ranking what moved in a window: drift strength across methods, columns, segments, versions."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from sightline.monitoring.ranking import drift_strength, rank_window
from sightline.schema import MetricPoint

T = datetime(2026, 3, 2, tzinfo=UTC)


def point(
    metric: str,
    value: float | None,
    column: str = "",
    *,
    version: str = "",
    segment: tuple[str, str] = ("", ""),
    **details: Any,
) -> MetricPoint:
    return MetricPoint(
        "m", metric, T, T, "1h", value, 100, column, model_version=version,
        segment_key=segment[0], segment_value=segment[1], details=details,
    )  # fmt: skip


def distance(column: str, score: float | None, **kw: Any) -> MetricPoint:
    return point("drift_score", score, column, method="wasserstein", threshold=0.1, **kw)


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.05, 1.0), (1.0, 0.0), (1e-40, 40 / -math.log10(0.05)), (0.0, 300 / -math.log10(0.05))],
)
def test_a_p_value_is_measured_on_a_log_scale(p: float, expected: float) -> None:
    strength = drift_strength(point("drift_score", p, "c", threshold=0.05, p_value=p))
    assert strength == pytest.approx(expected)


def test_a_distance_is_measured_against_its_threshold() -> None:
    assert drift_strength(distance("c", 0.25)) == pytest.approx(2.5)
    assert drift_strength(distance("c", None)) is None
    assert drift_strength(point("drift_score", 0.3, "c", threshold=0)) == 0.3
    assert drift_strength(point("drift_score", 0.3, "c")) is None  # no threshold


def test_columns_are_ranked_strongest_first_without_scores_last() -> None:
    distribution = {
        "categories": ["a", "b"],
        "reference": [0.5, 0.5],
        "current": [0.1, 0.9],
        "moved": [{"category": c, "change": 0.1} for c in "abcde"],
    }
    points = [
        distance("a", 0.05),
        distance("b", None),
        point("drift_score", 1e-9, "c", method="chisquare", threshold=0.05, p_value=1e-9,
              drifted=True, distribution=distribution),
        distance("d", 0.5, drifted=True),
        distance("x", 9.0, version="v2"),  # another slice
        point("share_of_drifted_columns", 0.5, drifted_columns=["d", "c"], dataset_drift=True),
        point("row_count", 100.0),
    ]  # fmt: skip
    ranking = rank_window(points, roles={"a": "feature", "c": "output"})
    assert [c.column for c in ranking.columns] == ["c", "d", "a", "b"]
    c = ranking.columns[0]
    assert (c.role, c.method, c.drifted, c.p_value) == ("output", "chisquare", True, True)
    assert len(c.moved) == 3
    assert "moved" not in c.distribution
    assert (ranking.share_of_drifted_columns, ranking.dataset_drift, ranking.n_rows) == (
        0.5, True, 100,
    )  # fmt: skip


def test_segments_and_versions_are_ranked_by_their_share_then_strength() -> None:
    eu, us, other = ("region", "eu"), ("region", "us"), ("region", "other")
    points = [
        distance("a", 0.05),
        point("share_of_drifted_columns", 0.2, segment=eu, drifted_columns=["a"]),
        distance("a", 0.3, segment=eu),
        point("share_of_drifted_columns", 0.2, segment=us),
        distance("a", 0.9, segment=us),
        point("row_count", 40.0, segment=us),
        point("share_of_drifted_columns", None, segment=other),
        point("share_of_drifted_columns", 1.0, version="v2", dataset_drift=True),
        distance("a", 2.0, version="v2"),
        point("share_of_drifted_columns", 1.0, version="v2", segment=eu),  # not computed today
    ]
    ranked = rank_window(points).slices
    assert [(s.kind, s.key, s.value) for s in ranked] == [
        ("version", "model_version", "v2"),
        ("segment", "region", "us"),
        ("segment", "region", "eu"),
        ("segment", "region", "other"),
    ]
    us_slice = ranked[1]
    assert (us_slice.n_rows, us_slice.top_column) == (40, "a")
    assert us_slice.strength == pytest.approx(9.0)
    assert ranked[2].drifted_columns == ["a"]
    # Ranking one version: its own columns, no other versions beside it.
    v2 = rank_window(points, version="v2")
    assert [c.column for c in v2.columns] == ["a"]
    assert [(s.key, s.value) for s in v2.slices] == [("region", "eu")]
