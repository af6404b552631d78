"""The bootstrap noise of quality metrics against the spread of truly independent windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics

from sightline.metrics import unit_errors


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A model's scores and the true labels: positives score higher on average."""
    target = (rng.random(n) < 0.3).astype(int)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1.2, n) + 1.4 * target - 0.9)))
    return target, scores


def quality(target: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    predicted = (scores >= 0.5).astype(int)
    return {
        "accuracy": metrics.accuracy_score(target, predicted),
        "precision": metrics.precision_score(target, predicted, zero_division=np.nan),
        "recall": metrics.recall_score(target, predicted),
        "f1": metrics.f1_score(target, predicted),
        "roc_auc": metrics.roc_auc_score(target, scores),
    }


def test_the_reference_bootstrap_predicts_how_much_independent_windows_spread() -> None:
    rng = np.random.default_rng(3)
    target, scores = draw(rng, 5000)  # the reference
    units = unit_errors(lambda rows: quality(target[rows], scores[rows]), target.size)
    n = 400  # windows of 400 labelled rows, drawn afresh from the same population
    windows = [quality(*draw(rng, n)) for _ in range(400)]
    for metric, unit in units.items():
        observed = np.std([w[metric] for w in windows], ddof=1)
        assert unit / math.sqrt(n) == pytest.approx(observed, rel=0.2), metric


def test_accuracy_noise_is_the_binomial_standard_deviation() -> None:
    hits = np.random.default_rng(0).random(20_000) < 0.75
    units = unit_errors(lambda rows: {"accuracy": float(hits[rows].mean())}, hits.size)
    assert units["accuracy"] == pytest.approx(math.sqrt(0.75 * 0.25), rel=0.15)


def test_failed_resamples_and_undefined_values_are_left_out_and_the_result_is_seeded() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=300)

    def compute(rows: np.ndarray) -> dict[str, object]:
        if rows[0] % 5 == 0:
            raise ValueError("one class only")
        return {"mean": float(values[rows].mean()), "nan": math.nan, "flag": True, "name": "x"}

    first = unit_errors(compute, values.size, seed=4)
    assert set(first) == {"mean"}
    assert first == unit_errors(compute, values.size, seed=4)
    assert first["mean"] == pytest.approx(np.std(values), rel=0.3)
    assert unit_errors(compute, 1) == {}
    assert unit_errors(lambda rows: {"rare": 1.0} if rows[0] == 0 else {}, 300) == {}
