"""Estimated model quality before the truth arrives: confidence-based performance estimation.

CBPE, as NannyML defines it, for binary classifiers: if the scores are calibrated
probabilities, a row scored 0.8 is a true positive with probability 0.8 when predicted positive
and a false negative with probability 0.8 when predicted negative. Summing these probabilities
over a window gives the expected confusion matrix, hence expected accuracy, precision, recall,
F1 and ROC AUC — with no label in sight. The calibration is learned once on a labelled
reference (:meth:`CBPE.fit`); a window is then estimated from its scores alone
(:meth:`CBPE.estimate`).

The estimate holds while P(target | score) stays what it was on the reference (covariate shift
is fine, concept drift is not): it is a view of the quality to expect, not a measurement.

>>> rng = np.random.default_rng(0)
>>> reference_scores = rng.random(5000)
>>> reference_target = (rng.random(5000) < reference_scores).astype(int)
>>> cbpe = CBPE.fit(reference_scores, reference_target)
>>> window = cbpe.estimate(rng.random(2000))
>>> window.status, round(window.accuracy.value, 2), round(window.roc_auc.value, 2)
('ok', 0.75, 0.84)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sightline.errors import ComputeError, ValidationError
from sightline.metrics.performance import (
    FloatArray,
    Label,
    calibration_curve,
    read_labels,
    read_probabilities,
)

__all__ = ["CBPE", "Estimate", "EstimatedQuality", "expected_calibration_error"]

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
Knots = tuple[FloatArray, FloatArray]

#: Windows with fewer scored rows than this get no estimate (status "insufficient_data").
MIN_ROWS = 30
#: Cross-validation folds: they decide whether to calibrate, and measure the calibration's error.
CALIBRATION_FOLDS = 5
#: Equal-width bins of the expected calibration error.
ECE_BINS = 10
#: The estimated metrics, in the order of EstimatedQuality's fields.
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass(frozen=True)
class Estimate:
    """An estimated metric and its standard error (None when the metric is undefined).

    ``standard_error`` combines ``sampling_error`` (the labels' randomness given the window's
    scores) and ``calibration_error`` (how much the estimate moves with the reference sample the
    calibration was learned from; None when the raw scores are used as they are).
    """

    value: float | None
    standard_error: float | None
    sampling_error: float | None = None
    calibration_error: float | None = None

    def interval(self, z: float = 2.0) -> tuple[float, float] | None:
        """``value ± z · standard_error``, or None without an estimate."""
        if self.value is None or self.standard_error is None:
            return None
        return self.value - z * self.standard_error, self.value + z * self.standard_error

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "standard_error": self.standard_error,
            "sampling_error": self.sampling_error,
            "calibration_error": self.calibration_error,
        }


NO_ESTIMATE = Estimate(None, None)


@dataclass(frozen=True)
class EstimatedQuality:
    """The estimated quality of a binary classifier on one unlabelled window.

    ``expected_tp`` etc. are the expected confusion-matrix entries. ``status`` is "ok", or
    "insufficient_data" when fewer than ``min_rows`` rows have a score (no estimate then).
    """

    status: str
    n_rows: int
    n_scored: int
    min_rows: int
    accuracy: Estimate = NO_ESTIMATE
    precision: Estimate = NO_ESTIMATE
    recall: Estimate = NO_ESTIMATE
    f1: Estimate = NO_ESTIMATE
    roc_auc: Estimate = NO_ESTIMATE
    expected_tp: float | None = None
    expected_fp: float | None = None
    expected_fn: float | None = None
    expected_tn: float | None = None
    calibrated: bool = False
    threshold: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "n_rows": self.n_rows,
            "n_scored": self.n_scored,
            "min_rows": self.min_rows,
            **{name: getattr(self, name).to_dict() for name in METRICS},
            "expected_tp": self.expected_tp,
            "expected_fp": self.expected_fp,
            "expected_fn": self.expected_fn,
            "expected_tn": self.expected_tn,
            "calibrated": self.calibrated,
            "threshold": self.threshold,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, eq=False)
class CBPE:
    """Confidence-based performance estimation for a binary classifier, fitted on a reference.

    Build it with :meth:`fit`. It keeps only calibration maps (the knots of isotonic
    regressions, applied by linear interpolation clipped at the ends, exactly as scikit-learn's
    ``IsotonicRegression(out_of_bounds="clip").predict``): estimating needs no scikit-learn,
    and the fitted state round-trips through :meth:`to_dict` / :meth:`from_dict`.

    >>> cbpe = CBPE.fit([0.1, 0.4, 0.35, 0.8] * 10, [0, 0, 1, 1] * 10)
    >>> cbpe.estimate([0.1, 0.4, 0.35, 0.8] * 10).accuracy.value
    0.75
    """

    threshold: float
    positive_label: Label
    calibrated: bool
    calibration: Knots
    n_reference: int
    ece_raw: float
    ece_calibrated: float | None
    fold_calibrations: tuple[Knots, ...] = ()
    min_rows: int = MIN_ROWS

    @classmethod
    def fit(
        cls,
        reference_scores: Any,
        reference_target: Any,
        *,
        threshold: float = 0.5,
        positive_label: Label = 1,
        calibrate: bool | None = None,
        min_rows: int = MIN_ROWS,
    ) -> CBPE:
        """Learn the calibration of the scores from a labelled reference.

        ``reference_scores`` are the model's positive-class probabilities, ``reference_target``
        the true labels (rows with a missing target or score are left out).

        With ``calibrate`` None (the default) the scores are calibrated only when they need
        it, as NannyML decides: isotonic regressions are fitted on 5 cross-validation folds of
        the reference, and calibration is used when the expected calibration error (10
        equal-width bins) of the held-out calibrated scores is below that of the raw scores.
        The calibrator is then refitted on the whole reference; the fold calibrators are kept
        to measure the calibration's own uncertainty. True/False force the choice.
        """
        if not 0.0 <= threshold <= 1.0:
            raise ValidationError(
                f"threshold must be in [0, 1], got {threshold}", field="threshold"
            )
        scores, positive = _labelled_reference(
            reference_scores, reference_target, positive_label, min_rows
        )
        ece_raw = expected_calibration_error(positive, scores)
        ece_calibrated = None
        folds: tuple[Knots, ...] = ()
        if calibrate is not False:
            held_out, folds = _cross_validated_calibration(scores, positive)
            ece_calibrated = expected_calibration_error(positive, held_out)
        if calibrate is None:
            calibrate = ece_calibrated is not None and ece_calibrated < ece_raw
        identity = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        return cls(
            threshold=threshold,
            positive_label=positive_label,
            calibrated=bool(calibrate),
            calibration=_isotonic_knots(scores, positive) if calibrate else identity,
            n_reference=int(scores.size),
            ece_raw=ece_raw,
            ece_calibrated=ece_calibrated,
            fold_calibrations=folds if calibrate else (),
            min_rows=min_rows,
        )

    def probabilities(self, scores: Any) -> FloatArray:
        """Calibrated positive-class probabilities of ``scores`` (NaN stays NaN)."""
        raw = _one_column(read_probabilities(scores, "scores"))
        return _apply(self.calibration, raw) if self.calibrated else raw

    def estimate(self, scores: Any, *, predicted: Any = None) -> EstimatedQuality:
        """Expected accuracy, precision, recall, F1 and ROC AUC of one unlabelled window.

        ``predicted`` are the model's labels (default: ``score >= threshold`` is positive).
        With p the calibrated probabilities and ŷ the predictions, E[TP] = Σ p over rows
        predicted positive, E[FP] = Σ (1 - p) over them, E[FN] = Σ p and E[TN] = Σ (1 - p) over
        rows predicted negative; the metrics are the usual ratios of these.

        ROC AUC is the expected number of correctly ordered (positive, negative) pairs over the
        expected number of such pairs, ranking by the raw scores (ties count one half):
        ``Σ_{i≠j} p_i (1 - p_j) K_ij / Σ_{i≠j} p_i (1 - p_j)`` with K_ij = 1 when s_i > s_j and
        ½ when s_i = s_j. This is NannyML's expected ROC curve integrated by trapezoids, without
        its i = j terms (a row is never paired with itself), which bias small windows.

        Standard error: ``sqrt(sampling² + calibration²)``.

        - sampling: the spread of the realized metric around the estimate given the window's
          scores, labels being independent Bernoulli(p_i); each metric is linearized in the
          labels (the delta method). Exact for accuracy, sqrt(Σ p(1 - p)) / n, and precision,
          sqrt(Σ_{ŷ=1} p(1 - p)) / n_predicted_positive. It shrinks like 1/sqrt(n).
        - calibration: the delete-a-fold jackknife over the 5 fold calibrators of :meth:`fit`,
          ``(K - 1)/K · Σ_k (θ_k - mean θ)²``: the error of learning the calibration from a
          finite reference, which does not shrink with the window.

        Neither covers concept drift (P(target | score) moving away from the reference's).
        """
        raw = _one_column(read_probabilities(scores, "scores"))
        n_rows = int(raw.size)
        keep = ~np.isnan(raw)
        predicted_positive: BoolArray | None = None
        if predicted is not None:
            codes, values = read_labels(predicted, "predicted")
            if codes.size != n_rows:
                raise ValidationError(
                    f"predicted has {codes.size} rows but scores has {n_rows}", field="predicted"
                )
            positive_codes = [i for i, v in enumerate(values) if v == self.positive_label]
            predicted_positive = np.isin(codes, positive_codes)
            keep &= codes >= 0
        n_scored = int(keep.sum())
        notes: list[str] = []
        if n_scored < n_rows:
            notes.append(f"{n_rows - n_scored} rows have no score or prediction and are left out")
        if n_scored < self.min_rows:
            notes.append(f"{n_scored} scored rows, fewer than the {self.min_rows} needed")
            return EstimatedQuality(
                "insufficient_data", n_rows, n_scored, self.min_rows, notes=tuple(notes)
            )
        if n_scored < n_rows:
            raw = raw[keep]
            predicted_positive = None if predicted_positive is None else predicted_positive[keep]
        if predicted_positive is None:
            predicted_positive = raw >= self.threshold
        ranking = _Ranking.of(raw)
        p = _apply(self.calibration, raw) if self.calibrated else raw
        expected = _expected_metrics(p, predicted_positive, ranking)
        folds = [
            _expected_metrics(_apply(knots, raw), predicted_positive, ranking)
            for knots in self.fold_calibrations
        ]
        estimates = {
            name: _combine(expected.values[name], [f.values[name] for f in folds])
            for name in METRICS
        }
        if estimates["precision"] is NO_ESTIMATE:
            notes.append("precision is undefined: no row is predicted positive")
        if estimates["recall"] is NO_ESTIMATE:
            notes.append("recall is undefined: the expected number of positives is 0")
        if estimates["roc_auc"] is NO_ESTIMATE:
            notes.append("ROC AUC is undefined: the calibrated probabilities are all 0 or all 1")
        return EstimatedQuality(
            status="ok",
            n_rows=n_rows,
            n_scored=n_scored,
            min_rows=self.min_rows,
            **estimates,
            expected_tp=expected.tp,
            expected_fp=expected.fp,
            expected_fn=expected.fn,
            expected_tn=expected.tn,
            calibrated=self.calibrated,
            threshold=self.threshold if predicted is None else None,
            notes=tuple(notes),
        )

    def to_dict(self) -> dict[str, Any]:
        """The fitted state, JSON-friendly (:meth:`from_dict` rebuilds the same estimator)."""
        return {
            "threshold": self.threshold,
            "positive_label": self.positive_label,
            "calibrated": self.calibrated,
            "calibration": _knots_to_lists(self.calibration),
            "n_reference": self.n_reference,
            "ece_raw": self.ece_raw,
            "ece_calibrated": self.ece_calibrated,
            "fold_calibrations": [_knots_to_lists(k) for k in self.fold_calibrations],
            "min_rows": self.min_rows,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CBPE:
        """Rebuild a fitted CBPE from :meth:`to_dict` output."""
        try:
            return cls(
                threshold=float(state["threshold"]),
                positive_label=state["positive_label"],
                calibrated=bool(state["calibrated"]),
                calibration=_knots_from_lists(state["calibration"]),
                n_reference=int(state["n_reference"]),
                ece_raw=float(state["ece_raw"]),
                ece_calibrated=(
                    None if state["ece_calibrated"] is None else float(state["ece_calibrated"])
                ),
                fold_calibrations=tuple(_knots_from_lists(k) for k in state["fold_calibrations"]),
                min_rows=int(state.get("min_rows", MIN_ROWS)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationError(f"not a fitted CBPE state: {error!r}", field="state") from None


def expected_calibration_error(
    positive: BoolArray, probabilities: FloatArray, bins: int = ECE_BINS
) -> float:
    """Count-weighted mean |mean probability − fraction positive| over equal-width bins.

    >>> round(expected_calibration_error(np.array([True, False]), np.array([0.9, 0.2])), 6)
    0.15
    """
    curve = calibration_curve(positive, probabilities, bins)
    total = sum(b.count for b in curve)
    return sum(b.count * abs(b.mean_predicted - b.fraction_positive) for b in curve) / total


# --- the expected metrics -------------------------------------------------------------------

Value = tuple[float, float] | None  # (value, sampling standard error), None when undefined


@dataclass(frozen=True)
class _Ranking:
    """The rows sorted by raw score and grouped by distinct score: shared by every calibrator."""

    order: IntArray
    starts: IntArray
    group: IntArray  # the group of each sorted row

    @classmethod
    def of(cls, scores: FloatArray) -> _Ranking:
        order = np.argsort(scores)
        ordered = scores[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(ordered)) + 1)).astype(np.int64)
        sizes = np.diff(np.append(starts, ordered.size))
        return cls(order, starts, np.repeat(np.arange(starts.size), sizes))


@dataclass(frozen=True)
class _Expected:
    values: dict[str, Value]
    tp: float
    fp: float
    fn: float
    tn: float


def _expected_metrics(p: FloatArray, predicted_positive: BoolArray, ranking: _Ranking) -> _Expected:
    """Expected confusion matrix and metrics of one window, with delta-method sampling errors.

    With A = Σ_{ŷ=1} y and B = Σ_{ŷ=0} y (independent, variances vA and vB the sums of
    p(1 - p)) and m the number of predicted positives: precision = A/m, recall = A/(A + B),
    F1 = 2A/(m + A + B); the variance of each is the squared gradient in (A, B) times (vA, vB).
    """
    n = p.size
    variance = p * (1.0 - p)
    m = float(predicted_positive.sum())
    a = float(p[predicted_positive].sum())  # E[TP]
    b = float(p.sum()) - a  # E[FN]
    var_a = float(variance[predicted_positive].sum())
    var_b = float(variance.sum()) - var_a
    values: dict[str, Value] = {
        "accuracy": ((a + (n - m - b)) / n, np.sqrt(var_a + var_b) / n),
        "precision": (a / m, np.sqrt(var_a) / m) if m > 0 else None,
        "recall": (
            (a / (a + b), np.sqrt(b * b * var_a + a * a * var_b) / (a + b) ** 2)
            if a + b > 0
            else None
        ),
        "f1": (
            (
                2 * a / (m + a + b),
                2 * np.sqrt((m + b) ** 2 * var_a + a * a * var_b) / (m + a + b) ** 2,
            )
            if m + a + b > 0
            else None
        ),
        "roc_auc": _expected_roc_auc(p, ranking),
    }
    return _Expected(values, tp=a, fp=m - a, fn=b, tn=n - m - b)


def _expected_roc_auc(p: FloatArray, ranking: _Ranking) -> Value:
    """Expected ROC AUC and its delta-method sampling error (see :meth:`CBPE.estimate`).

    With N(y) = Σ_{i≠j} y_i (1 - y_j) K_ij and D(y) = Σ_{i≠j} y_i (1 - y_j), the realized AUC
    is N(y)/D(y); both are linear in each y_k, so the gradient at y = p is exact and
    Var ≈ Σ_k (∂(N/D)/∂y_k)² p_k (1 - p_k). Rows are grouped by distinct score (ascending):
    everything is a cumulative sum over the groups.
    """
    p_sorted = p[ranking.order]
    q_sorted = 1.0 - p_sorted
    group_p = np.add.reduceat(p_sorted, ranking.starts)
    group_q = np.add.reduceat(q_sorted, ranking.starts)
    below_q = np.cumsum(group_q) - group_q  # Σ (1 - p) of strictly lower scores
    total_p, total_q = float(group_p.sum()), float(group_q.sum())
    above_p = total_p - np.cumsum(group_p)  # Σ p of strictly higher scores
    variance = p_sorted * q_sorted
    self_pairs = float(variance.sum())
    numerator = float(np.dot(group_p, below_q + 0.5 * group_q)) - 0.5 * self_pairs
    denominator = total_p * total_q - self_pairs
    if denominator <= 0.0:
        return None
    g = ranking.group
    d_numerator = (below_q[g] + 0.5 * (group_q[g] - q_sorted)) - (
        above_p[g] + 0.5 * (group_p[g] - p_sorted)
    )
    d_denominator = (total_q - q_sorted) - (total_p - p_sorted)
    gradient = (d_numerator * denominator - numerator * d_denominator) / denominator**2
    return numerator / denominator, float(np.sqrt(np.dot(gradient**2, variance)))


def _combine(expected: Value, folds: list[Value]) -> Estimate:
    """The estimate with its sampling error and the fold calibrators' jackknife error."""
    if expected is None:
        return NO_ESTIMATE
    value, sampling = float(expected[0]), float(expected[1])
    fold_values = [f[0] for f in folds if f is not None]
    if not folds or len(fold_values) < len(folds):
        return Estimate(value, sampling, sampling, None)
    k = len(fold_values)
    calibration = float(
        np.sqrt((k - 1) / k * np.sum(np.square(np.subtract(fold_values, np.mean(fold_values)))))
    )
    return Estimate(value, float(np.hypot(sampling, calibration)), sampling, calibration)


# --- fitting --------------------------------------------------------------------------------


def _labelled_reference(
    reference_scores: Any, reference_target: Any, positive_label: Label, min_rows: int
) -> tuple[FloatArray, BoolArray]:
    """The reference's scores and "is positive" flags, rows with a target and a score only."""
    scores = _one_column(read_probabilities(reference_scores, "reference_scores"))
    codes, values = read_labels(reference_target, "reference_target")
    if codes.size != scores.size:
        raise ValidationError(
            f"reference_target has {codes.size} rows but reference_scores has {scores.size}",
            field="reference_target",
        )
    positive_codes = [i for i, v in enumerate(values) if v == positive_label]
    if values and not positive_codes:
        raise ValidationError(
            f"positive_label {positive_label!r} does not occur in reference_target "
            f"(labels {values[:10]}): pass the positive class as positive_label",
            field="positive_label",
        )
    keep = (codes >= 0) & ~np.isnan(scores)
    positive = np.isin(codes[keep], positive_codes)
    needed = max(min_rows, 2 * CALIBRATION_FOLDS)
    if positive.size < needed:
        raise ComputeError(
            f"the reference has {positive.size} labelled rows with a score; CBPE needs at "
            f"least {needed}"
        )
    if positive.all() or not positive.any():
        raise ComputeError(
            "the reference has a single class; CBPE needs both classes to learn how "
            "scores map to outcomes"
        )
    return scores[keep], positive


def _isotonic_knots(scores: FloatArray, positive: BoolArray) -> Knots:
    # scikit-learn is heavy: imported only when a CBPE is fitted with calibration.
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(scores, positive.astype(np.float64))
    return (
        np.asarray(model.X_thresholds_, dtype=np.float64),
        np.asarray(model.y_thresholds_, dtype=np.float64),
    )


def _cross_validated_calibration(
    scores: FloatArray, positive: BoolArray
) -> tuple[FloatArray, tuple[Knots, ...]]:
    """Each row calibrated by a model that did not see it, and the fold models."""
    fold = np.empty(scores.size, dtype=np.int64)
    fold[np.random.default_rng(0).permutation(scores.size)] = (
        np.arange(scores.size) % CALIBRATION_FOLDS
    )
    calibrated = np.empty_like(scores)
    models = []
    for k in range(CALIBRATION_FOLDS):
        held_out = fold == k
        knots = _isotonic_knots(scores[~held_out], positive[~held_out])
        calibrated[held_out] = _apply(knots, scores[held_out])
        models.append(knots)
    return calibrated, tuple(models)


def _apply(knots: Knots, scores: FloatArray) -> FloatArray:
    calibrated: FloatArray = np.interp(scores, knots[0], knots[1])
    return calibrated


def _one_column(scores: FloatArray) -> FloatArray:
    if scores.ndim != 1:
        raise ValidationError(
            f"CBPE takes one score column (positive-class probability), got shape {scores.shape}",
            field="scores",
        )
    return scores


def _knots_to_lists(knots: Knots) -> list[list[float]]:
    return [[float(v) for v in knots[0]], [float(v) for v in knots[1]]]


def _knots_from_lists(lists: Any) -> Knots:
    x, y = (np.asarray(v, dtype=np.float64) for v in lists)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError("calibration knots must be two lists of one length")
    return x, y
