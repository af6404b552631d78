"""CBPE: estimated quality against the realized quality of labels drawn from the scores."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression

from sightline.errors import ComputeError, ValidationError
from sightline.metrics.estimation import CBPE, Estimate, EstimatedQuality
from sightline.metrics.performance import classification_quality

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def well_specified(
    rng: np.random.Generator, n: int, a: float = 2.0, b: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores and labels drawn from them: P(y = 1 | score) = score."""
    scores = rng.beta(a, b, n)
    return scores, (rng.random(n) < scores).astype(np.int64)


def standardized_errors(
    cbpe: CBPE, windows: list[tuple[np.ndarray, np.ndarray]], scores_of: Any = None
) -> dict[str, np.ndarray]:
    """(realized - estimated) / standard error, per metric, over the windows."""
    errors: dict[str, list[float]] = {name: [] for name in METRICS}
    for raw, target in windows:
        estimate = cbpe.estimate(raw)
        realized = classification_quality(target, scores=raw, threshold=cbpe.threshold)
        for name in METRICS:
            value, se = getattr(estimate, name).value, getattr(estimate, name).standard_error
            truth = getattr(realized, name)
            assert value is not None
            assert se is not None
            assert truth is not None
            errors[name].append((truth - value) / se)
    return {name: np.asarray(e) for name, e in errors.items()}


@pytest.fixture(scope="module")
def reference() -> tuple[np.ndarray, np.ndarray]:
    return well_specified(np.random.default_rng(11), 20_000)


def test_estimates_are_within_a_few_standard_errors_of_the_realized_values(
    reference: tuple[np.ndarray, np.ndarray],
) -> None:
    cbpe = CBPE.fit(*reference)
    rng = np.random.default_rng(12)
    # 40 windows like the reference and 40 under covariate shift (more high scores): CBPE
    # holds as long as P(y | score) does not change.
    windows = [well_specified(rng, 1000) for _ in range(40)]
    windows += [well_specified(rng, 1000, a=3.0, b=2.0) for _ in range(40)]
    errors = standardized_errors(cbpe, windows)
    for name, z in errors.items():
        assert np.abs(z).max() < 4.0, name
        assert np.mean(np.abs(z) <= 2.0) >= 0.85, name
        assert abs(z.mean()) < 0.5, name
        assert 0.6 < z.std() < 1.4, name


def test_standard_errors_match_the_spread_of_simulated_labels() -> None:
    """Given a window's scores, the realized metrics vary as the SEs say (Monte Carlo)."""
    rng = np.random.default_rng(3)
    p = rng.beta(2, 3, 400)
    cbpe = CBPE.fit(*well_specified(rng, 5000), calibrate=False)
    estimate = cbpe.estimate(p)
    draws = rng.random((4000, p.size)) < p  # labels of 4000 simulated windows
    predicted = p >= 0.5
    tp = draws[:, predicted].sum(axis=1)
    positives = draws.sum(axis=1)
    m = predicted.sum()
    realized = {
        "accuracy": (tp + (~draws[:, ~predicted]).sum(axis=1)) / p.size,
        "precision": tp / m,
        "recall": tp / positives,
        "f1": 2 * tp / (m + positives),
        # Mann–Whitney with mid-ranks: the exact ROC AUC of each simulated window
        "roc_auc": (draws @ rankdata(p) - positives * (positives + 1) / 2)
        / (positives * (p.size - positives)),
    }
    for name, values in realized.items():
        result: Estimate = getattr(estimate, name)
        assert result.value is not None
        assert result.standard_error is not None
        assert values.mean() == pytest.approx(result.value, abs=0.2 * result.standard_error), name
        assert values.std() == pytest.approx(result.standard_error, rel=0.1), name


def test_expected_roc_auc_is_the_ratio_of_expected_pair_counts() -> None:
    rng = np.random.default_rng(4)
    p = np.round(rng.random(60), 1)  # ties
    cbpe = CBPE.fit(*well_specified(rng, 2000), calibrate=False)
    estimate = cbpe.estimate(p)
    pairs = p[:, None] * (1 - p[None, :])
    np.fill_diagonal(pairs, 0.0)
    order = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    assert estimate.roc_auc.value == pytest.approx((pairs * order).sum() / pairs.sum(), rel=1e-12)
    assert estimate.expected_tp == pytest.approx(p[p >= 0.5].sum())
    assert estimate.expected_fp == pytest.approx((1 - p[p >= 0.5]).sum())
    assert estimate.expected_fn == pytest.approx(p[p < 0.5].sum())
    assert estimate.expected_tn == pytest.approx((1 - p[p < 0.5]).sum())


def test_isotonic_calibration_fixes_badly_calibrated_scores() -> None:
    rng = np.random.default_rng(5)
    probability, target = well_specified(rng, 20_000)
    raw = probability**3  # ranks right, probabilities far too low
    calibrated = CBPE.fit(raw, target)
    assert calibrated.calibrated
    assert calibrated.ece_calibrated is not None
    assert calibrated.ece_calibrated < calibrated.ece_raw / 5
    uncalibrated = CBPE.fit(raw, target, calibrate=False)
    assert not uncalibrated.calibrated
    assert uncalibrated.ece_calibrated is None

    windows = []
    for _ in range(30):
        p, y = well_specified(rng, 1000)
        windows.append((p**3, y))
    fixed = standardized_errors(calibrated, windows)
    broken = standardized_errors(uncalibrated, windows)
    for name in ("accuracy", "recall", "f1"):
        assert np.mean(np.abs(fixed[name]) <= 2.0) >= 0.8, name
        assert np.mean(np.abs(broken[name]) > 2.0) >= 0.9, name
        assert abs(broken[name].mean()) > 3.0, name
    # ROC AUC only needs the ranking, which the raw scores have right; their probabilities
    # are not, so even the AUC estimate needs the calibration.
    assert np.mean(np.abs(fixed["roc_auc"]) <= 2.0) >= 0.8


def test_calibration_map_equals_sklearns_isotonic_regression() -> None:
    rng = np.random.default_rng(6)
    probability, target = well_specified(rng, 3000)
    raw = np.sqrt(probability) * 0.8 + 0.1
    cbpe = CBPE.fit(raw, target, calibrate=True)
    model = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, target)
    new = np.concatenate([np.linspace(0.0, 1.0, 101), [np.nan]])
    ours = cbpe.probabilities(new)
    assert ours[:-1] == pytest.approx(model.predict(new[:-1]), abs=1e-12)
    assert np.isnan(ours[-1])


def test_well_calibrated_scores_are_kept_or_calibrated_harmlessly(
    reference: tuple[np.ndarray, np.ndarray],
) -> None:
    auto = CBPE.fit(*reference)
    kept = CBPE.fit(*reference, calibrate=False)
    scores = well_specified(np.random.default_rng(7), 5000)[0]
    a, b = auto.estimate(scores), kept.estimate(scores)
    for name in METRICS:
        difference = getattr(a, name).value - getattr(b, name).value
        assert abs(difference) < getattr(b, name).standard_error, name


def test_insufficient_data() -> None:
    cbpe = CBPE.fit(*well_specified(np.random.default_rng(8), 1000))
    scores = np.full(40, 0.7)
    scores[:11] = np.nan
    result = cbpe.estimate(scores)
    assert result.status == "insufficient_data"
    assert (result.n_rows, result.n_scored, result.min_rows) == (40, 29, 30)
    for name in METRICS:
        assert getattr(result, name) == Estimate(None, None)
        assert getattr(result, name).interval() is None
    assert result.expected_tp is None
    assert result.notes
    json.dumps(result.to_dict(), allow_nan=False)
    assert cbpe.estimate(np.nan_to_num(scores, nan=0.3)).status == "ok"
    assert cbpe.estimate([]).status == "insufficient_data"
    small = CBPE.fit(*well_specified(np.random.default_rng(8), 1000), min_rows=5)
    assert small.estimate([0.2, 0.4, 0.6, 0.8, 0.9]).status == "ok"


def test_given_predictions_and_string_labels() -> None:
    rng = np.random.default_rng(9)
    p, y = well_specified(rng, 4000)
    names = np.array(["no", "yes"])
    cbpe = CBPE.fit(p, names[y], positive_label="yes", threshold=0.3)
    assert cbpe.threshold == 0.3
    window = well_specified(rng, 500)[0]
    by_threshold = cbpe.estimate(window)
    assert by_threshold.threshold == 0.3
    predicted = names[(window >= 0.3).astype(int)]
    by_labels = cbpe.estimate(window, predicted=predicted.tolist())
    assert by_labels.threshold is None
    for name in METRICS:
        assert getattr(by_labels, name) == getattr(by_threshold, name)
    missing = predicted.astype(object)
    missing[:10] = None
    assert cbpe.estimate(window, predicted=missing).n_scored == 490


def test_undefined_precision_without_positive_predictions() -> None:
    cbpe = CBPE.fit(*well_specified(np.random.default_rng(10), 1000), calibrate=False)
    result = cbpe.estimate(np.linspace(0.05, 0.45, 50))
    assert result.precision == Estimate(None, None)
    assert result.f1.value == 0.0
    assert any("precision is undefined" in note for note in result.notes)
    certain = cbpe.estimate(np.ones(40))
    assert certain.roc_auc == Estimate(None, None)
    assert (certain.accuracy.value, certain.accuracy.standard_error) == (1.0, 0.0)


def test_state_round_trips_through_json(reference: tuple[np.ndarray, np.ndarray]) -> None:
    cbpe = CBPE.fit(*reference)
    state = json.loads(json.dumps(cbpe.to_dict(), allow_nan=False))
    again = CBPE.from_dict(state)
    scores = reference[0][:3000]
    assert again.estimate(scores) == cbpe.estimate(scores)
    result = cbpe.estimate(scores)
    assert isinstance(result, EstimatedQuality)
    encoded = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert encoded["accuracy"]["value"] == result.accuracy.value
    assert result.accuracy.interval(1.0) == (
        result.accuracy.value - result.accuracy.standard_error,  # type: ignore[operator]
        result.accuracy.value + result.accuracy.standard_error,  # type: ignore[operator]
    )
    with pytest.raises(ValidationError, match="not a fitted CBPE state"):
        CBPE.from_dict({"threshold": 0.5})


@pytest.mark.parametrize(
    ("scores", "target", "kwargs", "error", "message"),
    [
        ([0.5] * 100, [1] * 100, {}, ComputeError, "single class"),
        ([0.5] * 100, [0, 1] * 50, {"positive_label": "yes"}, ValidationError, "positive_label"),
        ([0.5] * 100, [0, 1] * 49, {}, ValidationError, "rows"),
        ([0.5] * 20, [0, 1] * 10, {}, ComputeError, "at least 30"),
        ([[0.5, 0.5]] * 100, [0, 1] * 50, {}, ValidationError, "one score column"),
        ([1.5] * 100, [0, 1] * 50, {}, ValidationError, "probabilities"),
        ([0.5] * 100, [0, 1] * 50, {"threshold": -1.0}, ValidationError, "threshold"),
    ],
)
def test_fit_rejects_unusable_references(
    scores: Any, target: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        CBPE.fit(scores, target, **kwargs)


def test_estimate_rejects_mismatched_predictions() -> None:
    cbpe = CBPE.fit(*well_specified(np.random.default_rng(1), 500))
    with pytest.raises(ValidationError, match="predicted has 2 rows"):
        cbpe.estimate([0.1, 0.2, 0.3], predicted=[0, 1])
