"""Metric points as Prometheus gauges: names, base units, labels, caps."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from sightline.schema import MetricPoint
from sightline.server.exposition import capped, families, slice_label

T = datetime(2026, 3, 2, 10, tzinfo=UTC)


def point(metric: str, value: float | None, column: str = "", **kw: Any) -> MetricPoint:
    details = kw.pop("details", {})
    return MetricPoint(
        "churn", metric, T, T + timedelta(hours=1), "1h", value, 100, column=column,
        details=details, **kw,
    )  # fmt: skip


def samples(points: list[MetricPoint]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(points)
        for s in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    base = {"model": "churn", "monitor": "default", "slice": "all"}
    return found[name, tuple(sorted({**base, **labels}.items()))]


def test_each_kind_of_point_has_its_family_in_base_units():
    points = [
        point("row_count", 100.0),
        point("drift_score", 0.31, "age", details={"method": "wasserstein"}),
        point("drift_detected", 1.0, "age"),
        point("missing_share", 0.02, "age"),
        point("mean", 41.5, "age"),
        point("unseen_share", 0.1, "plan"),
        point("share_of_drifted_columns", 0.5, details={"dataset_drift": True, "status": "ok"}),
        point("label_coverage", 0.4),
        point("label_delay_p95", 7200.0),
        point("latency_p95", 250.0),  # milliseconds in the store
        point("error_rate", 0.05),
        point("accuracy", 0.8, details={"reference_value": 0.9, "standard_error": 0.02}),
        point("estimated_f1", 0.7, details={"standard_error": 0.03}),
        point("rmse", 2.5),
        point("brand_new_metric", 3.0),
        point("brand_new_column_metric", 4.0, "age"),
    ]
    found = samples(points)
    assert value(found, "sightline_window_rows") == 100
    assert value(found, "sightline_drift_score", column="age", method="wasserstein") == 0.31
    assert value(found, "sightline_drift_detected", column="age") == 1
    assert value(found, "sightline_missing_ratio", column="age") == 0.02
    assert value(found, "sightline_column_mean", column="age") == 41.5
    assert value(found, "sightline_unseen_categories_ratio", column="plan") == 0.1
    assert value(found, "sightline_drifted_columns_ratio") == 0.5
    assert value(found, "sightline_dataset_drift_detected") == 1
    assert value(found, "sightline_label_coverage_ratio") == 0.4
    assert value(found, "sightline_label_delay_p95_seconds") == 7200
    assert value(found, "sightline_latency_p95_seconds") == 0.25
    assert value(found, "sightline_error_ratio") == 0.05
    assert value(found, "sightline_quality", metric="accuracy") == 0.8
    assert value(found, "sightline_quality_reference", metric="accuracy") == 0.9
    assert value(found, "sightline_quality_standard_error", metric="accuracy") == 0.02
    assert value(found, "sightline_quality_estimated", metric="f1") == 0.7
    assert value(found, "sightline_quality_estimated_standard_error", metric="f1") == 0.03
    assert value(found, "sightline_quality", metric="rmse") == 2.5
    assert value(found, "sightline_metric", metric="brand_new_metric") == 3
    assert value(found, "sightline_column_metric", metric="brand_new_column_metric", column="age")


def test_unknown_values_are_left_out_and_no_label_is_empty():
    points = [
        point("drift_score", None, "age", details={"status": "insufficient_data"}),
        point("missing_share", math.nan, "age"),
        point("share_of_drifted_columns", None, details={"dataset_drift": None, "status": "x"}),
        point("drift_score", 0.2, "x"),  # no method in its details
        point("row_count", 50.0, model_version="v2"),
        point("row_count", 20.0, segment_key="plan", segment_value="pro"),
    ]
    found = samples(points)
    names = {name for name, _ in found}
    assert "sightline_missing_ratio" not in names
    assert "sightline_dataset_drift_detected" not in names
    assert value(found, "sightline_drift_score", column="x", method="unknown") == 0.2
    assert value(found, "sightline_window_rows", slice="version:v2") == 50
    assert value(found, "sightline_window_rows", slice="segment:plan=pro") == 20
    for _, labels in found:
        assert all(v != "" for _, v in labels), labels


def test_slice_labels():
    assert slice_label(point("row_count", 1.0)) == "all"
    assert slice_label(point("row_count", 1.0, model_version="v1")) == "version:v1"
    event = point("event_count", 1.0, segment_key="event", segment_value="predict")
    assert slice_label(event) == "segment:event=predict"


def test_caps_keep_the_first_columns_and_the_largest_slices():
    points = []
    for column in ("c", "a", "d", "b"):
        points.append(point("missing_share", 0.0, column))
    for i, version in enumerate(("v1", "v2", "v3")):
        points.append(point("row_count", 10.0 * (i + 1), model_version=version))
        points.append(point("missing_share", 0.0, "a", model_version=version))
    kept, columns, slices = capped(points, max_columns=2, max_slices=2)
    assert (columns, slices) == (2, 1)
    assert {p.column for p in kept if p.column} == {"a", "b"}
    assert {slice_label(p) for p in kept} == {"all", "version:v3", "version:v2"}
    omitted = families(kept, [("churn", "default", columns, slices)])[-1]
    assert {(s.labels["dimension"], s.value) for s in omitted.samples} == {
        ("column", 2),
        ("slice", 1),
    }


def test_the_exposition_is_valid_text_format():
    class Frozen:
        def collect(self) -> Any:
            return families([point("accuracy", 0.9), point("drift_score", 0.1, 'we"ird\\col')])

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Frozen())
    text = generate_latest(registry).decode()
    assert "# TYPE sightline_quality gauge" in text
    assert 'column="we\\"ird\\\\col"' in text


def test_the_reference_value_is_exported_once_from_either_point():
    details = {"reference_value": 0.9, "standard_error": 0.01}
    both = samples([point("f1", 0.8, details=details), point("estimated_f1", 0.7, details=details)])
    assert value(both, "sightline_quality_reference", metric="f1") == 0.9
    only_estimate = samples([point("estimated_f1", 0.7, details=details)])
    assert value(only_estimate, "sightline_quality_reference", metric="f1") == 0.9


def test_a_column_named_like_a_comment_line_stays_inside_its_sample():
    from sightline.server.exporter import _chunks, _rendered

    text = _rendered(
        families([point("missing_share", 0.5, "x\n# HELP evil"), point("mean", 1.0, "a")])
    )
    chunks = _chunks(text)
    assert set(chunks) == {
        "sightline_missing_ratio",
        "sightline_column_mean",
        "sightline_export_omitted",
    }
    assert b"".join(h + s for h, s in chunks.values()) == text
