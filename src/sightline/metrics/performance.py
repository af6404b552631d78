"""Model quality once the truth is known: classification and regression metrics of a window.

Every metric equals scikit-learn's on the same rows (the tests hold them to 1e-9), but is
computed directly with NumPy: one sort of the scores serves ROC AUC and average precision, one
``bincount`` gives the confusion matrix, so a million binary rows take a fraction of a second.
Where a metric is undefined on the data (ROC AUC with one class present, precision with no
positive prediction) it is None and ``notes`` says why; nothing raises or warns for it.

>>> quality = classification_quality([0, 1, 1, 0], scores=[0.2, 0.9, 0.4, 0.1])
>>> quality.accuracy, quality.recall, quality.roc_auc
(0.75, 0.5, 1.0)
>>> regression_quality([3.0, 5.0, None], [2.5, 5.0, 4.0]).mae
0.25
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError

__all__ = [
    "CalibrationBin",
    "ClassScores",
    "ClassificationQuality",
    "RegressionQuality",
    "classification_quality",
    "regression_quality",
]

Label = str | int | float | bool
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Probabilities are clipped to [EPS, 1 - EPS] for the log loss, as scikit-learn does (it uses
#: the machine epsilon of float64 since version 1.5; it used 1e-15 before).
EPS = float(np.finfo(np.float64).eps)
#: The error quantiles of a regression, as (name, quantile).
ERROR_QUANTILES = (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95))


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class (one-vs-rest), and its support (target count)."""

    label: Label
    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    roc_auc: float | None = None
    average_precision: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
        }


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a calibration curve: predicted probability against observed frequency."""

    lower: float
    upper: float
    mean_predicted: float
    fraction_positive: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "mean_predicted": self.mean_predicted,
            "fraction_positive": self.fraction_positive,
            "count": self.count,
        }


@dataclass(frozen=True)
class ClassificationQuality:
    """The quality of a classifier on one window of labelled rows.

    ``n_evaluated`` rows (those with a target and a prediction) are the rows every metric is
    computed on. ``precision``/``recall``/``f1`` are those of ``positive_label`` for a binary
    task and None for a multiclass one (read the macro/weighted averages there). Averages leave
    undefined per-class values out, as scikit-learn does with ``zero_division=np.nan``.
    ``confusion_matrix[i][j]`` counts rows with target ``labels[i]`` predicted ``labels[j]``.
    """

    task: str  # "binary" or "multiclass"
    labels: tuple[Label, ...]
    positive_label: Label | None
    n_rows: int
    n_labelled: int
    n_evaluated: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    weighted_precision: float | None
    weighted_recall: float | None
    weighted_f1: float | None
    per_class: tuple[ClassScores, ...]
    confusion_matrix: tuple[tuple[int, ...], ...]
    roc_auc: float | None = None
    pr_auc: float | None = None
    log_loss: float | None = None
    brier_score: float | None = None
    calibration: tuple[CalibrationBin, ...] | None = None
    threshold: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def label_coverage(self) -> float | None:
        """Share of the window's rows that have a target."""
        return self.n_labelled / self.n_rows if self.n_rows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "labels": list(self.labels),
            "positive_label": self.positive_label,
            "n_rows": self.n_rows,
            "n_labelled": self.n_labelled,
            "label_coverage": self.label_coverage,
            "n_evaluated": self.n_evaluated,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "weighted_precision": self.weighted_precision,
            "weighted_recall": self.weighted_recall,
            "weighted_f1": self.weighted_f1,
            "per_class": [c.to_dict() for c in self.per_class],
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "log_loss": self.log_loss,
            "brier_score": self.brier_score,
            "calibration": (
                None if self.calibration is None else [b.to_dict() for b in self.calibration]
            ),
            "threshold": self.threshold,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class RegressionQuality:
    """The quality of a regression model on one window of labelled rows.

    Errors are ``prediction - target``: a positive ``mean_error`` means the model predicts too
    high on average. The error quantiles are linear-interpolated (NumPy's default method).
    """

    n_rows: int
    n_labelled: int
    n_evaluated: int
    mae: float | None
    rmse: float | None
    mape: float | None
    r2: float | None
    mean_error: float | None
    error_p5: float | None
    error_p25: float | None
    error_p50: float | None
    error_p75: float | None
    error_p95: float | None
    max_abs_error: float | None
    notes: tuple[str, ...] = ()

    @property
    def label_coverage(self) -> float | None:
        """Share of the window's rows that have a target."""
        return self.n_labelled / self.n_rows if self.n_rows else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_labelled": self.n_labelled,
            "label_coverage": self.label_coverage,
            "n_evaluated": self.n_evaluated,
            "mae": self.mae,
            "rmse": self.rmse,
            "mape": self.mape,
            "r2": self.r2,
            "mean_error": self.mean_error,
            "error_p5": self.error_p5,
            "error_p25": self.error_p25,
            "error_p50": self.error_p50,
            "error_p75": self.error_p75,
            "error_p95": self.error_p95,
            "max_abs_error": self.max_abs_error,
            "notes": list(self.notes),
        }


# --- classification -------------------------------------------------------------------------


def classification_quality(
    target: Any,
    *,
    predicted: Any = None,
    scores: Any = None,
    labels: Sequence[Label] | None = None,
    positive_label: Label | None = None,
    threshold: float = 0.5,
    calibration_bins: int = 10,
) -> ClassificationQuality:
    """Accuracy, precision/recall/F1, confusion matrix and score metrics of a classifier.

    ``target``, ``predicted`` and ``scores`` are NumPy arrays, lists or Arrow (chunked) arrays
    of one length. ``scores`` holds positive-class probabilities (1-D, binary) or one column of
    class probabilities per label (2-D, in ``labels`` order; sorted labels when not given).
    Without ``predicted`` the predicted label comes from the scores: ``score >= threshold`` is
    ``positive_label`` (binary), the most probable class otherwise. Rows with a missing target
    (None/NaN) are left out, as are rows missing their prediction or scores (with a note).

    ``positive_label`` defaults to 1 (or True) for 0/1 and boolean labels, else to the last
    label in sorted order. Score metrics (None without ``scores``):

    - ``roc_auc``: binary ROC AUC; multiclass: one-vs-rest, macro-averaged.
    - ``pr_auc``: average precision (scikit-learn's ``average_precision_score``), macro
      over classes for multiclass.
    - ``log_loss``: mean negative log-likelihood of the target, probabilities clipped to
      [eps, 1 - eps] (eps of float64, as scikit-learn).
    - ``brier_score``: binary: mean of (score - y)²; multiclass: mean over rows of the sum over
      classes of the squared difference to the one-hot target (scikit-learn's
      ``brier_score_loss`` in both cases).
    - ``calibration``: equal-width bins on [0, 1] (empty bins left out) of the positive-class
      probability; multiclass: of the top-class probability against "prediction correct".

    >>> q = classification_quality(["a", "b", "c", "a"], predicted=["a", "b", "b", "a"])
    >>> q.task, q.accuracy, q.confusion_matrix
    ('multiclass', 0.75, ((2, 0, 0), (0, 1, 0), (0, 1, 0)))
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValidationError(f"threshold must be in [0, 1], got {threshold}", field="threshold")
    if calibration_bins < 1:
        raise ValidationError(
            f"calibration_bins must be at least 1, got {calibration_bins}",
            field="calibration_bins",
        )
    notes: list[str] = []
    target_codes, target_values = read_labels(target, "target")
    n_rows = int(target_codes.size)
    predicted_codes, predicted_values = (
        (None, []) if predicted is None else read_labels(predicted, "predicted")
    )
    probabilities = None if scores is None else read_probabilities(scores, "scores")
    for name, array in (("predicted", predicted_codes), ("scores", probabilities)):
        if array is not None and array.shape[0] != n_rows:
            raise ValidationError(
                f"{name} has {array.shape[0]} rows but target has {n_rows}", field=name
            )
    if predicted_codes is None and probabilities is None:
        raise ValidationError(
            "give predicted labels, scores or both to measure a classifier", field="predicted"
        )

    classes = _classes(labels, target_values, predicted_values, positive_label)
    task = _task(classes, probabilities, labels_given=labels is not None)
    if not classes:
        return _nothing_labelled(task, n_rows, threshold if predicted is None else None)
    positive = None
    if task == "multiclass" and positive_label is not None:
        notes.append("positive_label is ignored: the task is multiclass")
    if task == "binary":
        classes, positive = _binary_classes(classes, positive_label, notes)
        if len(classes) < 2 and probabilities is not None:
            raise ValidationError(
                f"only the label {classes[0]!r} occurs, so the other class of this binary "
                "task is unknown: pass labels=[...] with both classes",
                field="labels",
            )
    n_classes = len(classes)
    if probabilities is not None and probabilities.ndim == 2:
        if probabilities.shape[1] != n_classes:
            raise ValidationError(
                f"scores has {probabilities.shape[1]} columns but there are {n_classes} labels "
                f"{list(classes)}: pass labels=[...] in the order of the score columns",
                field="labels",
            )
        if task == "binary":
            assert positive is not None
            probabilities = probabilities[:, classes.index(positive)]

    target_index = _to_class_index(target_codes, target_values, classes, "target")
    if predicted_codes is not None:
        predicted_index = _to_class_index(predicted_codes, predicted_values, classes, "predicted")
        used_threshold = None
    else:
        assert probabilities is not None
        predicted_index = _predict(probabilities, classes, positive, threshold)
        used_threshold = threshold if task == "binary" else None

    labelled = target_index >= 0
    n_labelled = int(np.count_nonzero(labelled))
    valid = labelled & (predicted_index >= 0)
    if probabilities is not None:
        finite = np.isfinite(probabilities)
        valid &= finite if finite.ndim == 1 else finite.all(axis=1)
    n_evaluated = int(np.count_nonzero(valid))
    if n_evaluated < n_labelled:
        notes.append(
            f"{n_labelled - n_evaluated} labelled rows have no prediction or scores and are "
            "left out"
        )
    if n_evaluated < n_rows:
        target_index, predicted_index = target_index[valid], predicted_index[valid]
        if probabilities is not None:
            probabilities = probabilities[valid]
    if n_evaluated == 0:
        notes.append("no row has both a target and a prediction: no metric can be computed")

    pos_index = None if positive is None else classes.index(positive)
    counts = _label_metrics(target_index, predicted_index, classes, pos_index, notes)
    score_metrics: dict[str, Any] = {}
    per_class_ranking: list[tuple[float | None, float | None]] = [(None, None)] * n_classes
    if probabilities is not None and n_evaluated:
        if task == "binary":
            assert pos_index is not None
            score_metrics = _binary_score_metrics(
                target_index == pos_index, probabilities, calibration_bins, notes
            )
        else:
            score_metrics, per_class_ranking = _multiclass_score_metrics(
                target_index, probabilities, classes, calibration_bins, notes
            )

    per_class = tuple(
        ClassScores(
            label=label,
            precision=counts.precision[i],
            recall=counts.recall[i],
            f1=counts.f1[i],
            support=counts.support[i],
            roc_auc=per_class_ranking[i][0],
            average_precision=per_class_ranking[i][1],
        )
        for i, label in enumerate(classes)
    )
    return ClassificationQuality(
        task=task,
        labels=tuple(classes),
        positive_label=positive,
        n_rows=n_rows,
        n_labelled=n_labelled,
        n_evaluated=n_evaluated,
        accuracy=counts.accuracy,
        precision=None if pos_index is None else counts.precision[pos_index],
        recall=None if pos_index is None else counts.recall[pos_index],
        f1=None if pos_index is None else counts.f1[pos_index],
        macro_precision=counts.macro[0],
        macro_recall=counts.macro[1],
        macro_f1=counts.macro[2],
        weighted_precision=counts.weighted[0],
        weighted_recall=counts.weighted[1],
        weighted_f1=counts.weighted[2],
        per_class=per_class,
        confusion_matrix=counts.matrix,
        threshold=used_threshold,
        notes=tuple(notes),
        **score_metrics,
    )


def _nothing_labelled(task: str, n_rows: int, threshold: float | None) -> ClassificationQuality:
    """The result for a window where no row has a target (and no labels are known)."""
    return ClassificationQuality(
        task=task,
        labels=(),
        positive_label=None,
        n_rows=n_rows,
        n_labelled=0,
        n_evaluated=0,
        accuracy=None,
        precision=None,
        recall=None,
        f1=None,
        macro_precision=None,
        macro_recall=None,
        macro_f1=None,
        weighted_precision=None,
        weighted_recall=None,
        weighted_f1=None,
        per_class=(),
        confusion_matrix=(),
        threshold=threshold,
        notes=("no row has a target: no metric can be computed",),
    )


@dataclass(frozen=True)
class _LabelCounts:
    accuracy: float | None
    precision: list[float | None]
    recall: list[float | None]
    f1: list[float | None]
    support: list[int]
    macro: tuple[float | None, float | None, float | None]
    weighted: tuple[float | None, float | None, float | None]
    matrix: tuple[tuple[int, ...], ...]


def _label_metrics(
    target: IntArray,
    predicted: IntArray,
    classes: list[Label],
    pos_index: int | None,
    notes: list[str],
) -> _LabelCounts:
    """Confusion matrix and everything computed from it (one bincount over the rows)."""
    k = len(classes)
    matrix = np.bincount(target * k + predicted, minlength=k * k).reshape(k, k)
    true_positive = np.diag(matrix).astype(np.float64)
    predicted_sum = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1)
    true_sum = support.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = true_positive / predicted_sum
        recall = true_positive / true_sum
        f1 = 2 * true_positive / (predicted_sum + true_sum)
    n = int(support.sum())
    checked = [] if n == 0 else range(k) if pos_index is None else [pos_index]
    undefined_class = False
    for i in range(k):
        label = classes[i]
        if predicted_sum[i] == 0:
            undefined_class = True
            if i in checked:
                notes.append(f"precision of {label!r} is undefined: no row was predicted {label!r}")
        if true_sum[i] == 0:
            undefined_class = True
            if i in checked:
                notes.append(f"recall of {label!r} is undefined: no row has target {label!r}")
    if undefined_class and n:
        notes.append(
            "macro and weighted averages leave out the undefined per-class values "
            "(as scikit-learn does with zero_division=nan)"
        )
    return _LabelCounts(
        accuracy=float(np.trace(matrix)) / n if n else None,
        precision=[_finite(v) for v in precision],
        recall=[_finite(v) for v in recall],
        f1=[_finite(v) for v in f1],
        support=[int(s) for s in support],
        macro=(_nanmean(precision), _nanmean(recall), _nanmean(f1)),
        weighted=(
            _nanaverage(precision, true_sum),
            _nanaverage(recall, true_sum),
            _nanaverage(f1, true_sum),
        ),
        matrix=tuple(tuple(int(c) for c in row) for row in matrix),
    )


def _binary_score_metrics(
    positive: BoolArray, scores: FloatArray, bins: int, notes: list[str]
) -> dict[str, Any]:
    roc_auc, average_precision = _ranking_metrics(positive, scores, notes, "")
    truth = np.where(positive, scores, 1.0 - scores)
    np.clip(truth, EPS, 1.0 - EPS, out=truth)
    return {
        "roc_auc": roc_auc,
        "pr_auc": average_precision,
        "log_loss": float(-np.mean(np.log(truth))),
        "brier_score": float(np.mean(np.square(scores - positive))),
        "calibration": calibration_curve(positive, scores, bins),
    }


def _multiclass_score_metrics(
    target: IntArray,
    scores: FloatArray,
    classes: list[Label],
    bins: int,
    notes: list[str],
) -> tuple[dict[str, Any], list[tuple[float | None, float | None]]]:
    per_class: list[tuple[float | None, float | None]] = []
    for i, label in enumerate(classes):
        per_class.append(_ranking_metrics(target == i, scores[:, i], notes, f" of {label!r}"))
    roc = [r for r, _ in per_class if r is not None]
    ap = [a for _, a in per_class if a is not None]
    if len(roc) < len(classes) and roc:
        notes.append("the macro ROC AUC and PR AUC average the classes where they are defined")
    rows = np.arange(target.size)
    truth = np.clip(scores[rows, target], EPS, 1.0 - EPS)
    squared = np.square(scores)
    brier = squared.sum(axis=1) - 2.0 * scores[rows, target] + 1.0
    sums = scores.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=np.sqrt(EPS), atol=0.0):
        notes.append("the score rows do not sum to 1: are they class probabilities?")
    top = scores.argmax(axis=1)
    confidence = scores[rows, top]
    metrics = {
        "roc_auc": float(np.mean(roc)) if roc else None,
        "pr_auc": float(np.mean(ap)) if ap else None,
        "log_loss": float(-np.mean(np.log(truth))),
        "brier_score": float(np.mean(brier)),
        "calibration": calibration_curve(top == target, confidence, bins),
    }
    return metrics, per_class


def _ranking_metrics(
    positive: BoolArray, scores: FloatArray, notes: list[str], what: str
) -> tuple[float | None, float | None]:
    """ROC AUC and average precision from one descending sort of the scores.

    At each distinct score (ties form one threshold) the cumulative true and false positive
    counts give one point of the ROC and precision-recall curves, as in scikit-learn's
    ``_binary_clf_curve``. The ROC AUC is the trapezoid area, summed in integers and divided
    once; average precision is ``sum((R_n - R_{n-1}) * P_n)``.
    """
    order = np.argsort(scores)[::-1]
    ordered = scores[order]
    ends = np.append(np.flatnonzero(np.diff(ordered)), ordered.size - 1)
    true_positives = np.cumsum(positive[order], dtype=np.int64)[ends]
    false_positives = ends + 1 - true_positives
    n_positive, n_negative = int(true_positives[-1]), int(false_positives[-1])
    if n_positive == 0 or n_negative == 0:
        present = "positive" if n_negative == 0 else "negative"
        notes.append(f"ROC AUC{what} is undefined: every labelled row is {present}")
    roc_auc = None
    if n_positive and n_negative:
        step_fp = np.diff(false_positives, prepend=0)
        height = true_positives + np.concatenate(([0], true_positives[:-1]))
        roc_auc = int(np.dot(step_fp, height)) / (2 * n_positive * n_negative)
    if n_positive == 0:
        notes.append(f"average precision{what} is undefined: no row has a positive target")
        return roc_auc, None
    precision = true_positives / (ends + 1)
    step_tp = np.diff(true_positives, prepend=0)
    return roc_auc, float(np.dot(step_tp, precision)) / n_positive


def calibration_curve(
    positive: BoolArray, probabilities: FloatArray, bins: int = 10
) -> tuple[CalibrationBin, ...]:
    """Equal-width calibration bins on [0, 1], empty bins left out.

    Bin edges and the assignment of a value on an edge follow scikit-learn's
    ``calibration_curve(strategy="uniform")``.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], probabilities)
    count = np.bincount(ids, minlength=bins)
    predicted_sum = np.bincount(ids, weights=probabilities, minlength=bins)
    positive_sum = np.bincount(ids, weights=positive.astype(np.float64), minlength=bins)
    return tuple(
        CalibrationBin(
            lower=float(edges[i]),
            upper=float(edges[i + 1]),
            mean_predicted=float(predicted_sum[i] / count[i]),
            fraction_positive=float(positive_sum[i] / count[i]),
            count=int(count[i]),
        )
        for i in np.flatnonzero(count)
    )


# --- labels ---------------------------------------------------------------------------------


def _classes(
    labels: Sequence[Label] | None,
    target_values: list[Label],
    predicted_values: list[Label],
    positive_label: Label | None,
) -> list[Label]:
    if labels is not None:
        classes = [_plain(label, "labels") for label in labels]
        if len(set(classes)) != len(classes):
            raise ValidationError(f"labels has duplicates: {classes}", field="labels")
        if len(classes) < 2:
            raise ValidationError(
                f"labels needs at least two classes, got {classes}", field="labels"
            )
        return classes
    found = set(target_values) | set(predicted_values)
    if positive_label is not None:
        found.add(_plain(positive_label, "positive_label"))
    try:
        return sorted(found)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in found})
        raise ValidationError(
            f"target and predicted mix label types ({', '.join(kinds)}): use one type, "
            "or pass labels=[...]",
            field="labels",
        ) from None


def _task(classes: list[Label], probabilities: FloatArray | None, *, labels_given: bool) -> str:
    if probabilities is not None and probabilities.ndim == 1:
        if len(classes) > 2:
            where = "labels has" if labels_given else "target and predicted have"
            raise ValidationError(
                f"scores is one column (binary) but {where} {len(classes)} labels: give one "
                "score column per class for a multiclass model",
                field="scores",
            )
        return "binary"
    if probabilities is not None:
        return "binary" if probabilities.shape[1] == 2 else "multiclass"
    return "binary" if len(classes) <= 2 else "multiclass"


def _binary_classes(
    classes: list[Label], positive_label: Label | None, notes: list[str]
) -> tuple[list[Label], Label | None]:
    """The two classes of a binary task (completed for 0/1 and booleans) and the positive."""
    positive = None if positive_label is None else _plain(positive_label, "positive_label")
    if positive is not None and positive not in classes:
        raise ValidationError(
            f"positive_label {positive!r} is not one of the labels {classes}",
            field="positive_label",
        )
    if _zero_one(classes):
        if len(classes) == 1:
            only = classes[0]
            assert not isinstance(only, str)
            other = (not only) if isinstance(only, bool) else type(only)(1 - only)
            classes = sorted([only, other])
        return classes, classes[1] if positive is None else positive
    if positive is not None or not classes:
        return classes, positive
    notes.append(f"positive_label not given: took {classes[-1]!r}, the last label in sorted order")
    return classes, classes[-1]


def _zero_one(classes: list[Label]) -> bool:
    return bool(classes) and all(
        isinstance(c, bool) or (isinstance(c, int | float) and c in (0, 1)) for c in classes
    )


def _to_class_index(
    codes: IntArray, values: list[Label], classes: list[Label], name: str
) -> IntArray:
    """Class positions (-1 for missing) from dictionary codes (-1 for missing)."""
    position = {c: i for i, c in enumerate(classes)}
    unknown = [v for v in values if v not in position]
    if unknown:
        raise ValidationError(
            f"{name} has values that are not in labels {classes}: {unknown[:5]}", field=name
        )
    lookup = np.array([position[v] for v in values] + [-1], dtype=np.int64)
    index: IntArray = lookup[codes]  # a code of -1 reads the trailing -1
    return index


def _predict(
    probabilities: FloatArray, classes: list[Label], positive: Label | None, threshold: float
) -> IntArray:
    predicted: IntArray
    if probabilities.ndim == 2:
        predicted = probabilities.argmax(axis=1).astype(np.int64)
        predicted[~np.isfinite(probabilities).all(axis=1)] = -1
        return predicted
    assert positive is not None
    pos = classes.index(positive)
    with np.errstate(invalid="ignore"):
        predicted = np.where(probabilities >= threshold, pos, 1 - pos).astype(np.int64)
    predicted[np.isnan(probabilities)] = -1
    return predicted


# --- reading inputs -------------------------------------------------------------------------


def read_labels(values: Any, name: str) -> tuple[IntArray, list[Label]]:
    """Dictionary-encode a label column: codes (-1 = missing: None or NaN) and the values.

    Accepts NumPy arrays, lists and Arrow (chunked) arrays; encoding is hash-based, so strings
    and numbers cost about the same.
    """
    array = _to_arrow(values, name)
    if pa.types.is_null(array.type):
        return np.full(len(array), -1, dtype=np.int64), []
    if pa.types.is_floating(array.type) and array.null_count < len(array):
        nan = pc.is_nan(array)
        if pc.any(nan).as_py():
            array = pc.if_else(nan, None, array)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    try:
        encoded = pc.dictionary_encode(array)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValidationError(f"cannot read {name} as labels: {error}", field=name) from None
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
    return codes, [_plain(v, name) for v in encoded.dictionary.to_pylist()]


def read_probabilities(values: Any, name: str) -> FloatArray:
    """Scores as float64 (1-D, or 2-D with one column per class), NaN where missing.

    Values outside [0, 1] are rejected: the scores must be probabilities.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if pa.types.is_list(values.type) or pa.types.is_fixed_size_list(values.type):
            values = values.to_pylist()
        else:
            values = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"cannot read {name} as numbers: {error}", field=name) from None
    if array.ndim not in (1, 2):
        raise ValidationError(
            f"{name} must be 1-D or 2-D (rows × classes), got shape {array.shape}", field=name
        )
    present = array[~np.isnan(array)]
    if present.size and (present.min() < 0.0 or present.max() > 1.0):
        raise ValidationError(
            f"{name} must be probabilities in [0, 1], got values in "
            f"[{present.min():g}, {present.max():g}]",
            field=name,
        )
    return array


def _to_arrow(values: Any, name: str) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValidationError(f"{name} must be 1-D, got shape {values.shape}", field=name)
    try:
        return pa.array(
            values if isinstance(values, np.ndarray) else list(values), from_pandas=True
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise ValidationError(f"cannot read {name} as one column: {error}", field=name) from None


def _plain(value: Any, name: str) -> Label:
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, str | int | float | bool):
        raise ValidationError(
            f"labels must be strings, numbers or booleans, got {value!r}", field=name
        )
    return value


def _finite(value: Any) -> float | None:
    return float(value) if np.isfinite(value) else None


def _nanmean(values: FloatArray) -> float | None:
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else None


def _nanaverage(values: FloatArray, weights: FloatArray) -> float | None:
    """scikit-learn's ``_nanaverage``: undefined values out; all-zero weights → plain mean."""
    keep = ~np.isnan(values)
    if not keep.any():
        return None
    if weights[keep].sum() == 0:
        return float(values[keep].mean())
    return float(np.average(values[keep], weights=weights[keep]))


# --- regression -----------------------------------------------------------------------------


def regression_quality(target: Any, prediction: Any) -> RegressionQuality:
    """MAE, RMSE, MAPE, R², bias and error quantiles of a regression model on one window.

    Rows with a missing target (None/NaN) are left out, as are rows missing a prediction (with
    a note). Errors are ``prediction - target``. MAPE follows scikit-learn's
    ``mean_absolute_percentage_error``: ``mean(|error| / max(|target|, eps))`` with eps the
    float64 machine epsilon (2.2e-16), so a zero target gives a huge but finite term — it is a
    ratio, not a percentage (0.1 means 10 %). R² is None (with a note) on fewer than two rows or
    a constant target, where scikit-learn would return 1.0/0.0 or NaN.

    >>> q = regression_quality([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 4.5])
    >>> q.mae, q.mean_error, q.r2
    (0.5, 0.0, 0.7)
    """
    truth = _read_numbers(target, "target")
    predicted = _read_numbers(prediction, "prediction")
    if predicted.size != truth.size:
        raise ValidationError(
            f"prediction has {predicted.size} rows but target has {truth.size}",
            field="prediction",
        )
    notes: list[str] = []
    labelled = ~np.isnan(truth)
    valid = labelled & ~np.isnan(predicted)
    n_labelled, n_evaluated = int(labelled.sum()), int(valid.sum())
    if n_evaluated < n_labelled:
        notes.append(
            f"{n_labelled - n_evaluated} labelled rows have no prediction and are left out"
        )
    if n_evaluated == 0:
        notes.append("no row has both a target and a prediction: no metric can be computed")
        return RegressionQuality(
            n_rows=int(truth.size),
            n_labelled=n_labelled,
            n_evaluated=0,
            mae=None,
            rmse=None,
            mape=None,
            r2=None,
            mean_error=None,
            error_p5=None,
            error_p25=None,
            error_p50=None,
            error_p75=None,
            error_p95=None,
            max_abs_error=None,
            notes=tuple(notes),
        )
    if n_evaluated < truth.size:
        truth, predicted = truth[valid], predicted[valid]
    error = predicted - truth
    absolute = np.abs(error)
    squared = float(np.dot(error, error))
    r2 = None
    total = float(np.sum(np.square(truth - truth.mean())))
    if n_evaluated < 2:
        notes.append("R² is undefined on fewer than two rows")
    elif total == 0.0:
        notes.append("R² is undefined: the target is constant in this window")
    else:
        r2 = 1.0 - squared / total
    quantiles = np.quantile(error, [q for _, q in ERROR_QUANTILES])
    return RegressionQuality(
        n_rows=int(labelled.size),
        n_labelled=n_labelled,
        n_evaluated=n_evaluated,
        mae=float(absolute.mean()),
        rmse=float(np.sqrt(squared / n_evaluated)),
        mape=float(np.mean(absolute / np.maximum(np.abs(truth), EPS))),
        r2=r2,
        mean_error=float(error.mean()),
        error_p5=float(quantiles[0]),
        error_p25=float(quantiles[1]),
        error_p50=float(quantiles[2]),
        error_p75=float(quantiles[3]),
        error_p95=float(quantiles[4]),
        max_abs_error=float(absolute.max()),
        notes=tuple(notes),
    )


def _read_numbers(values: Any, name: str) -> FloatArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        try:
            values = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValidationError(f"cannot read {name} as numbers: {error}", field=name) from None
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"cannot read {name} as numbers: {error}", field=name) from None
    if array.ndim != 1:
        raise ValidationError(f"{name} must be 1-D, got shape {array.shape}", field=name)
    if np.isinf(array).any():
        raise ValidationError(f"{name} has infinite values", field=name)
    return array
