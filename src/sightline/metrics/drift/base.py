"""The drift method registry, the default choice of method, and the per-column drift check.

A method is either a statistical check (its score is a p-value: drift when ``score <
threshold``) or a distance (drift when ``score >= threshold``). Built-in methods register
through :func:`register`, exactly as a third-party method would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sightline.errors import ComputeError, ValidationError
from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues

__all__ = [
    "DriftMethod",
    "DriftResult",
    "MethodScore",
    "default_method",
    "detect_drift",
    "drift_method",
    "drift_methods",
    "register",
]

ColumnData = NumericalValues | CategoricalCounts

#: Sample size (of the smaller side) up to which the defaults use statistical checks.
SMALL_SAMPLE = 1000
#: Numerical columns with at most this many distinct values are compared as categories.
FEW_VALUES = 5


@dataclass(frozen=True)
class MethodScore:
    """What a method computes: its score, and the raw statistic / p-value behind it."""

    score: float
    statistic: float | None = None
    p_value: float | None = None
    exact: bool = True


@dataclass(frozen=True)
class DriftMethod:
    """A registered drift method."""

    name: str
    title: str
    kinds: frozenset[ColumnKind]
    default_threshold: float
    is_test: bool  # True: the score is a p-value
    compute: Callable[[Any, Any], MethodScore]

    def is_drift(self, score: float, threshold: float) -> bool:
        return score < threshold if self.is_test else score >= threshold


@dataclass(frozen=True)
class DriftResult:
    """The drift check of one column: everything a person needs to judge it."""

    column: str
    kind: ColumnKind
    method: str
    threshold: float
    score: float | None
    drifted: bool | None
    n_reference: int
    n_current: int
    status: str = "ok"  # "ok", or "insufficient_data" when a side has too few values
    statistic: float | None = None
    p_value: float | None = None
    exact: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "method": self.method,
            "threshold": self.threshold,
            "score": self.score,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "status": self.status,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "exact": self.exact,
            **self.details,
        }


_REGISTRY: dict[str, DriftMethod] = {}


def register(
    name: str,
    *,
    title: str,
    kinds: set[ColumnKind],
    threshold: float,
    is_test: bool,
) -> Callable[[Callable[[Any, Any], MethodScore]], Callable[[Any, Any], MethodScore]]:
    """Register a drift method under ``name`` (used as a decorator)."""

    def decorate(
        compute: Callable[[Any, Any], MethodScore],
    ) -> Callable[[Any, Any], MethodScore]:
        _REGISTRY[name] = DriftMethod(name, title, frozenset(kinds), threshold, is_test, compute)
        return compute

    return decorate


def drift_methods() -> dict[str, DriftMethod]:
    return dict(_REGISTRY)


def drift_method(name: str) -> DriftMethod:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValidationError(
            f"unknown drift method {name!r}; known: {known}", field="method"
        ) from None


def default_method(kind: ColumnKind, n_values: int, n_unique: int) -> tuple[str, ColumnKind]:
    """The conventional default method for a column, and the kind it compares the column as.

    ``n_values`` is the size of the smaller side. Up to 1000 values: KS for numerical,
    chi-square for categorical (Z-test for two categories). Above: normalized Wasserstein for
    numerical, Jensen–Shannon for categorical. Numerical columns with at most five distinct
    values are compared as categories.

    Evidently picks by the reference size alone; Sightline uses the smaller side, because
    monitoring windows are often small: a distance on a few hundred current rows is mostly
    sampling noise (a normalized Wasserstein distance of 0.1 is typical for 60 rows drawn from
    the reference itself), while a statistical check keeps its false-alarm rate at its level.
    """
    if kind is ColumnKind.NUMERICAL and n_unique > FEW_VALUES:
        return ("ks" if n_values <= SMALL_SAMPLE else "wasserstein"), kind
    if n_values <= SMALL_SAMPLE:
        return ("z" if n_unique <= 2 else "chisquare"), ColumnKind.CATEGORICAL
    return "jensenshannon", ColumnKind.CATEGORICAL


def detect_drift(
    column: str,
    reference: ColumnData,
    current: ColumnData,
    *,
    method: str | None = None,
    threshold: float | None = None,
    min_rows: int = 30,
) -> DriftResult:
    """Compare one column of a reference and a current window.

    With ``method`` None the default is chosen from the size of the smaller side and the
    number of distinct values (:func:`default_method`). Fewer than ``min_rows`` present values
    on either side gives ``status="insufficient_data"`` and no verdict, never drift.
    """
    kind = (
        ColumnKind.NUMERICAL if isinstance(reference, NumericalValues) else ColumnKind.CATEGORICAL
    )
    if method is None:
        n_unique = _n_unique(reference, current)
        method, kind = default_method(kind, min(reference.n, current.n), n_unique)
    chosen = drift_method(method)
    if kind not in chosen.kinds:
        if ColumnKind.CATEGORICAL in chosen.kinds and isinstance(reference, NumericalValues):
            kind = ColumnKind.CATEGORICAL
        else:
            raise ValidationError(
                f"method {method!r} does not apply to {kind.value} column '{column}'",
                field="method",
            )
    limit = chosen.default_threshold if threshold is None else threshold
    ref, cur = _as_kind(reference, kind), _as_kind(current, kind)
    if ref.n < min_rows or cur.n < min_rows:
        return DriftResult(
            column,
            kind,
            method,
            limit,
            None,
            None,
            ref.n,
            cur.n,
            status="insufficient_data",
            details={"min_rows": min_rows},
        )
    try:
        result = chosen.compute(ref, cur)
    except (ValueError, FloatingPointError) as error:
        raise ComputeError(
            f"drift method {method!r} failed on column '{column}': {error}"
        ) from error
    return DriftResult(
        column=column,
        kind=kind,
        method=method,
        threshold=limit,
        score=result.score,
        drifted=chosen.is_drift(result.score, limit),
        n_reference=ref.n,
        n_current=cur.n,
        statistic=result.statistic,
        p_value=result.p_value,
        exact=result.exact,
    )


def _n_unique(reference: ColumnData, current: ColumnData) -> int:
    if isinstance(reference, NumericalValues) and isinstance(current, NumericalValues):
        if reference.n_unique() > FEW_VALUES:
            return reference.n_unique()
        return len(
            set(reference.as_categorical().categories) | set(current.as_categorical().categories)
        )
    if isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts):
        return len(set(reference.categories) | set(current.categories))
    raise ComputeError("reference and current must be columns of the same kind")


def _as_kind(data: ColumnData, kind: ColumnKind) -> ColumnData:
    if kind is ColumnKind.CATEGORICAL and isinstance(data, NumericalValues):
        return data.as_categorical()
    return data
