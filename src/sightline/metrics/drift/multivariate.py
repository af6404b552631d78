"""Multivariate drift: can a classifier tell the current rows from the reference rows?

Per-column checks miss a change in how columns move together (the same marginals, a new joint
distribution). The domain classifier check labels reference rows 0 and current rows 1 and
fits a gradient-boosted classifier on the columns; its out-of-fold ROC AUC is the score: 0.5
when the two sets of rows cannot be told apart, towards 1 the more they differ. Shuffling one
column in the held-out rows and measuring the drop in AUC says which columns carry the change.

>>> import numpy as np, pyarrow as pa
>>> from sightline.metrics.columns import ColumnKind
>>> rng = np.random.default_rng(0)
>>> ref = pa.table({"x": rng.normal(0, 1, 500), "y": rng.normal(0, 1, 500)})
>>> cur = pa.table({"x": rng.normal(2, 1, 500), "y": rng.normal(0, 1, 500)})
>>> kinds = {"x": ColumnKind.NUMERICAL, "y": ColumnKind.NUMERICAL}
>>> result = domain_classifier_drift(ref, cur, kinds)
>>> result.drifted, result.importances[0].column
(True, 'x')
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError
from sightline.metrics.columns import ColumnKind
from sightline.schema.model import number_label

__all__ = ["ColumnImportance", "MultivariateDriftResult", "domain_classifier_drift"]

#: Rows a side needs for a verdict; fewer gives status "insufficient_data".
MIN_ROWS = 30
#: Most distinct codes a categorical feature may have (scikit-learn's histogram bins): the
#: most frequent categories keep their own code, the rest share the last one.
MAX_CATEGORIES = 255

# threadpoolctl's thread limit is process-wide: one check at a time sets and restores it.
_ONE_THREAD = threading.Lock()


@dataclass(frozen=True)
class ColumnImportance:
    """How much a column tells the two sides apart: the drop in out-of-fold AUC when its
    values are shuffled among the held-out rows (0 or below: the column does not help)."""

    column: str
    importance: float

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "importance": self.importance}


@dataclass(frozen=True)
class MultivariateDriftResult:
    """The domain classifier check of a current table against its reference."""

    auc: float | None
    threshold: float
    drifted: bool | None
    n_reference: int  # rows used, after subsampling
    n_current: int
    importances: tuple[ColumnImportance, ...] = ()  # most important first
    status: str = "ok"  # "ok", or "insufficient_data" when a side has too few rows
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "domain_classifier",
            "auc": self.auc,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "status": self.status,
            "importances": [i.to_dict() for i in self.importances],
            **self.details,
        }


def domain_classifier_drift(
    reference: pa.Table,
    current: pa.Table,
    columns: Mapping[str, ColumnKind],
    *,
    max_rows: int = 20_000,
    threshold: float = 0.55,
    folds: int = 5,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
) -> MultivariateDriftResult:
    """Whether a classifier tells ``current`` rows from ``reference`` rows on ``columns``.

    Each side is subsampled to at most ``max_rows`` rows (seeded). Numerical columns enter as
    numbers, missing (and infinite) values as NaN; categorical columns as codes over the
    categories of both sides, missing values as their own branch. A
    ``HistGradientBoostingClassifier`` is fitted in stratified ``folds``-fold cross-validation;
    drift when the out-of-fold ROC AUC is at least ``threshold``. Fewer than ``min_rows`` rows
    on a side gives ``status="insufficient_data"`` and no verdict. Deterministic for a ``seed``.
    """
    if not columns:
        raise ValidationError("no columns to compare: pass at least one", field="columns")
    if folds < 2:
        raise ValidationError(f"folds must be at least 2, got {folds}", field="folds")
    if max_rows < 1:
        raise ValidationError(f"max_rows must be positive, got {max_rows}", field="max_rows")
    for name in columns:
        for table, side in ((reference, "reference"), (current, "current")):
            if name not in table.column_names:
                raise ValidationError(
                    f"column '{name}' is missing from the {side} data", field=name
                )
    rng = np.random.default_rng(seed)
    ref = _subsample(reference.select(list(columns)), max_rows, rng)
    cur = _subsample(current.select(list(columns)), max_rows, rng)
    settings = {"folds": folds, "seed": seed, "max_rows": max_rows}
    if ref.num_rows < max(min_rows, folds) or cur.num_rows < max(min_rows, folds):
        return MultivariateDriftResult(
            None,
            threshold,
            None,
            ref.num_rows,
            cur.num_rows,
            status="insufficient_data",
            details={**settings, "min_rows": min_rows},
        )
    features = np.column_stack(
        [_encode(name, ref.column(name), cur.column(name), kind) for name, kind in columns.items()]
    )
    categorical = np.array([kind is ColumnKind.CATEGORICAL for kind in columns.values()])
    labels = np.concatenate((np.zeros(ref.num_rows), np.ones(cur.num_rows)))
    auc, drops = _cross_validated_auc(features, labels, categorical, folds, seed, rng)
    importances = sorted(
        (ColumnImportance(name, drop) for name, drop in zip(columns, drops, strict=True)),
        key=lambda i: (-i.importance, i.column),
    )
    return MultivariateDriftResult(
        auc,
        threshold,
        auc >= threshold,
        ref.num_rows,
        cur.num_rows,
        tuple(importances),
        details=settings,
    )


def _cross_validated_auc(
    features: np.ndarray,
    labels: np.ndarray,
    categorical: np.ndarray,
    folds: int,
    seed: int,
    rng: np.random.Generator,
) -> tuple[float, list[float]]:
    """Out-of-fold AUC, and its drop with each column shuffled among the held-out rows."""
    # scikit-learn (and threadpoolctl, its dependency) is a heavy import, about a second,
    # needed by this check only: load it here.
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    n_columns = features.shape[1]
    scores = np.empty(labels.size)
    shuffled_scores = np.empty((n_columns, labels.size))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One OpenMP thread: the fits are small (at most 2 × max_rows rows), and with more threads
    # than idle cores OpenMP's spin-waiting stalls them (measured on a loaded 2-core machine:
    # 0.6 s per check single-threaded, up to 24 s with two threads).
    with _ONE_THREAD, threadpool_limits(limits=1, user_api="openmp"):
        for train, test in splitter.split(features, labels):
            model = HistGradientBoostingClassifier(
                categorical_features=categorical if categorical.any() else None,
                random_state=seed,
            )
            model.fit(features[train], labels[train])
            held_out = features[test]
            scores[test] = model.predict_proba(held_out)[:, 1]
            for j in range(n_columns):
                shuffled = held_out.copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                shuffled_scores[j, test] = model.predict_proba(shuffled)[:, 1]
    auc = float(roc_auc_score(labels, scores))
    drops = [auc - float(roc_auc_score(labels, s)) for s in shuffled_scores]
    return auc, drops


def _subsample(table: pa.Table, max_rows: int, rng: np.random.Generator) -> pa.Table:
    if table.num_rows <= max_rows:
        return table
    keep = np.sort(rng.choice(table.num_rows, size=max_rows, replace=False))
    return table.take(pa.array(keep, pa.int64()))


def _encode(
    name: str, reference: pa.ChunkedArray, current: pa.ChunkedArray, kind: ColumnKind
) -> np.ndarray:
    """One feature column over both sides: reference rows first, then current rows."""
    if kind is ColumnKind.NUMERICAL:
        return np.concatenate((_numbers(name, reference), _numbers(name, current)))
    labels = _labels(reference) + _labels(current)
    counts = Counter(label for label in labels if label is not None)
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    codes = {c: float(min(i, MAX_CATEGORIES - 1)) for i, c in enumerate(ranked)}
    return np.array([np.nan if label is None else codes[label] for label in labels])


def _numbers(name: str, column: pa.ChunkedArray) -> np.ndarray:
    try:
        floats = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValidationError(
            f"column '{name}' is compared as numerical but holds {column.type}: {error}",
            field=name,
        ) from error
    # a copy: Arrow's buffers are read-only
    values = np.array(pc.fill_null(floats, np.nan).to_numpy(zero_copy_only=False), np.float64)
    values[np.isinf(values)] = np.nan  # the classifier takes no infinities: count as missing
    return values


def _labels(column: pa.ChunkedArray) -> list[str | None]:
    """Category labels as :class:`~sightline.metrics.columns.CategoricalCounts` makes them."""
    kind = column.type
    if pa.types.is_floating(kind):
        return [None if v is None or v != v else number_label(v) for v in column.to_pylist()]
    if pa.types.is_boolean(kind):
        return [None if v is None else ("true" if v else "false") for v in column.to_pylist()]
    labels: list[str | None] = pc.cast(column, pa.string()).to_pylist()
    return labels
