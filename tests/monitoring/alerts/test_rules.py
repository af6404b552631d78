"""Rule conditions, scopes, templates and fingerprints, on hand-made metric points."""

from __future__ import annotations

import pytest

from sightline.monitoring.alerts.conditions import (
    Change,
    Drifted,
    Guard,
    OutsideRange,
    Threshold,
)
from sightline.monitoring.alerts.context import humanize
from sightline.monitoring.alerts.rules import Rule, Scope, fingerprint
from sightline.monitoring.alerts.templates import placeholders, render
from tests.monitoring.alerts.conftest import point


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [(">", 0.2, True), (">", 0.3, False), (">=", 0.3, True), ("<", 0.3, False),
     ("<=", 0.3, True), ("<", 0.4, True)],
)  # fmt: skip
def test_threshold_compares_the_value(op: str, value: float, expected: bool):
    outcome = Threshold(op, value).check(point(0, "missing_share", 0.3, "age"), None)
    assert outcome.holds is expected
    assert outcome.value == 0.3


def test_a_point_without_a_value_cannot_be_judged():
    """Too little data: the condition neither holds nor fails, so no state moves."""
    for condition in (Threshold(">", 0.1), OutsideRange(0, 1), Change(">", 0.1)):
        assert condition.check(point(0, "drift_score", None, "age"), 0.5).holds is None


def test_outside_range_holds_below_and_above():
    rule = OutsideRange(0.2, 0.8)
    assert [rule.check(point(0, "accuracy", v), None).holds for v in (0.1, 0.5, 0.9, 0.8)] == [
        True,
        False,
        True,
        False,
    ]
    assert rule.describe() == "outside [0.2, 0.8]"


def test_change_against_the_trailing_mean_absolute_and_relative():
    assert Change(">", 0.1, "trailing").check(point(0, "missing_share", 0.35), 0.2).holds
    assert not Change(">", 0.1, "trailing").check(point(0, "missing_share", 0.25), 0.2).holds
    drop = Change("<", -0.1, "trailing", relative=True)
    assert drop.check(point(0, "accuracy", 0.7), 0.8).holds  # -12.5 %
    assert not drop.check(point(0, "accuracy", 0.75), 0.8).holds  # -6.25 %
    outcome = drop.check(point(0, "accuracy", 0.7), 0.8)
    assert outcome.baseline == 0.8
    assert drop.check(point(0, "accuracy", 0.7), None).holds is None  # no history yet
    assert drop.trailing == 7


def test_change_prefers_the_reference_value_in_the_details():
    p = point(0, "accuracy", 0.7, reference_value=0.9)
    auto = Change("<", -0.1, "auto", relative=True)
    assert auto.check(p, 0.72).holds  # vs the reference 0.9, not the trailing 0.72
    assert auto.check(p, 0.72).baseline == 0.9
    assert Change("<", -0.1, "trailing", relative=True).check(p, 0.72).holds is False
    reference = Change("<", -0.1, "reference", relative=True)
    assert reference.trailing == 0
    assert reference.check(point(0, "accuracy", 0.7), 0.9).holds is None  # no reference value


def test_change_with_sigmas_must_also_exceed_the_values_standard_error():
    """A small window's chance dip is within its noise; a real drop is beyond it."""
    drop = Change("<", -0.1, "auto", relative=True, sigmas=3)
    noisy = point(0, "precision", 0.5, reference_value=0.6, standard_error=0.06)
    assert drop.check(noisy, None).holds is False  # -17 %, but 1.7 standard errors
    sure = point(0, "precision", 0.5, reference_value=0.6, standard_error=0.02)
    assert drop.check(sure, None).holds is True  # -17 % and 5 standard errors
    small = point(0, "precision", 0.58, reference_value=0.6, standard_error=0.001)
    assert drop.check(small, None).holds is False  # 20 standard errors, but only -3 %
    assert drop.check(point(0, "precision", 0.5, reference_value=0.6), None).holds is True
    assert drop.describe() == (
        "change < -10% vs the reference (else the mean of the 7 windows before) "
        "and beyond 3 standard errors"
    )


def test_drifted_reads_the_points_own_decision():
    drifted = Drifted()
    assert drifted.check(point(0, "drift_score", 0.4, "age", drifted=True, status="ok"), None).holds
    assert not drifted.check(point(0, "drift_score", 0.01, "age", drifted=False), None).holds
    assert drifted.check(point(0, "drift_detected", 1.0, "age"), None).holds
    assert not drifted.check(point(0, "drift_detected", 0.0, "age"), None).holds
    assert drifted.check(point(0, "share_of_drifted_columns", 0.6, dataset_drift=True), None).holds
    insufficient = point(0, "drift_score", None, "age", status="insufficient_data")
    assert drifted.check(insufficient, None).holds is None
    assert drifted.check(point(0, "row_count", 5.0), None).holds is None


def test_scope_globs_roles_segments_and_excluded_models():
    scope = Scope(metrics=("drift_*",), columns=("a*",))
    assert scope.matches(point(0, "drift_score", 0.1, "age"))
    assert not scope.matches(point(0, "drift_score", 0.1, "plan"))
    assert not scope.matches(point(0, "missing_share", 0.1, "age"))
    outputs = Scope(metrics=("drift_detected",), role="output")
    roles = {"age": "feature", "score": "output"}
    assert outputs.matches(point(0, "drift_detected", 1.0, "score"), roles)
    assert not outputs.matches(point(0, "drift_detected", 1.0, "age"), roles)
    whole = Scope(metrics=("error_rate",))
    segmented = point(0, "error_rate", 0.1, segment=("event", "predict"))
    assert whole.matches(point(0, "error_rate", 0.1))
    assert not whole.matches(segmented)
    assert Scope(metrics=("error_rate",), segment="*").matches(segmented)
    assert Scope(metrics=("error_rate",), segment="event=pre*").matches(segmented)
    assert not Scope(metrics=("error_rate",), segment="event=x").matches(segmented)
    assert not Scope(exclude_models=("ch*",)).matches(point(0, "row_count", 1.0))


def test_guard_looks_at_another_metric_of_the_window():
    guard = Guard("label_coverage", "<", 0.5, missing=True)
    assert guard.allows([point(0, "label_coverage", 0.1)])
    assert not guard.allows([point(0, "label_coverage", 0.9)])
    assert guard.allows([point(0, "row_count", 10.0)])  # no labels metric at all
    assert not Guard("label_coverage", "<", 0.5, missing=False).allows([])


def test_fingerprint_is_stable_and_ignores_label_order():
    a = fingerprint("drift", {"model": "churn", "column": "age"})
    assert a == fingerprint("drift", {"column": "age", "model": "churn"})
    assert a != fingerprint("drift", {"model": "churn", "column": "plan"})
    assert a != fingerprint("other", {"model": "churn", "column": "age"})
    assert a == "a7a3b526ae224512"  # a fingerprint never changes between versions


def test_series_labels_name_the_series():
    rule = Rule("r", Scope(), Threshold(">", 0), labels={"team": "ml"})
    p = point(0, "error_rate", 0.2, segment=("event", "predict"))
    assert rule.series_labels(p) == {
        "alertname": "r",
        "severity": "warning",
        "model": "churn",
        "metric": "error_rate",
        "segment": "event=predict",
        "team": "ml",
    }


def test_templates_fill_fields_formats_and_nested_labels():
    context = {"model": "churn", "value": 0.12345, "labels": {"team": "ml"}, "top": ["a", "b"]}
    assert render("{model}: {value:.1%} ({labels.team})", context) == "churn: 12.3% (ml)"
    assert render("{missing}|{{x}}|{top}", context) == "|{x}|a; b"
    assert render("{value:bad}", context) == "0.12345"  # a bad spec does not break the alert
    assert render("{model.__class__}", context) == ""  # no attribute access
    assert placeholders("{a} {b.c:.2f} {{d}}") == ["a", "b.c"]


def test_durations_read_like_a_person_would_say_them():
    assert [humanize(s) for s in (45, 60, 7260, 7200, 90000, 3 * 86400)] == [
        "45s", "1m", "2h 1m", "2h", "1d 1h", "3d",
    ]  # fmt: skip
