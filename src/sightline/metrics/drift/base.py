"""The drift method registry, the default choice of method, and the per-column drift check.

A method is either a statistical check (its score is a p-value: drift when ``score <
threshold``) or a distance (drift when ``score >= threshold``). Built-in methods register
through :func:`register`, exactly as a third-party method would.

One name can carry an implementation per column kind (``psi`` on decile bins of a numerical
column and on the shares of a categorical one): register the name once per kind, with the same
title, threshold and direction; :func:`detect_drift` decides the kind a column is compared as
and calls that kind's implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from types import MappingProxyType
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
    """What a method computes: its score, and the raw statistic / p-value behind it.

    ``details`` holds what else a person needs to read the score (e.g. that a p-value was
    capped by the method); :func:`detect_drift` copies it into :attr:`DriftResult.details`.
    """

    score: float
    statistic: float | None = None
    p_value: float | None = None
    exact: bool = True
    details: dict[str, Any] = field(default_factory=dict)


#: The computation of a method for one column kind: (reference, current) -> score.
Compute = Callable[[Any, Any], MethodScore]


@dataclass(frozen=True)
class DriftMethod:
    """A registered drift method: one name, threshold and direction, an implementation per kind."""

    name: str
    title: str
    default_threshold: float
    is_test: bool  # True: the score is a p-value
    implementations: Mapping[ColumnKind, Compute] = field(hash=False)

    @property
    def kinds(self) -> frozenset[ColumnKind]:
        """The column kinds the method has an implementation for."""
        return frozenset(self.implementations)

    def is_drift(self, score: float, threshold: float) -> bool:
        return score < threshold if self.is_test else score >= threshold

    def compute(self, reference: ColumnData, current: ColumnData) -> MethodScore:
        """Run the implementation for the kind of the inputs."""
        kind = _kind_of(reference, current)
        implementation = self.implementations.get(kind)
        if implementation is None:
            raise ValidationError(
                f"method {self.name!r} does not apply to {kind.value} columns", field="method"
            )
        return implementation(reference, current)


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
    kinds: AbstractSet[ColumnKind],
    threshold: float,
    is_test: bool,
) -> Callable[[Compute], Compute]:
    """Register ``compute`` as the drift method ``name`` for the column ``kinds`` (a decorator).

    Registering a name again for another kind adds that kind's implementation: title,
    threshold and direction (``is_test``) must then be those already registered, since they
    belong to the name. Registering a kind again replaces its implementation.

    >>> from sightline.metrics.columns import ColumnKind
    >>> @register("mean_shift", title="Mean shift", kinds={ColumnKind.NUMERICAL},
    ...           threshold=1.0, is_test=False)
    ... def mean_shift(reference, current):
    ...     return MethodScore(abs(current.mean - reference.mean))
    >>> drift_method("mean_shift").kinds == {ColumnKind.NUMERICAL}
    True
    """
    if not kinds:
        raise ValueError(f"drift method {name!r} must apply to at least one column kind")

    def decorate(compute: Compute) -> Compute:
        added = dict.fromkeys(kinds, compute)
        existing = _REGISTRY.get(name)
        if existing is None or existing.kinds <= set(kinds):
            _REGISTRY[name] = DriftMethod(name, title, threshold, is_test, MappingProxyType(added))
            return compute
        if (existing.title, existing.default_threshold, existing.is_test) != (
            title,
            threshold,
            is_test,
        ):
            raise ValueError(
                f"drift method {name!r} is registered for "
                f"{', '.join(sorted(k.value for k in existing.kinds))} with another title, "
                "threshold or direction; one name has one title, threshold and direction"
            )
        merged = MappingProxyType({**existing.implementations, **added})
        _REGISTRY[name] = replace(existing, implementations=merged)
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
    number of distinct values (:func:`default_method`). A chosen method compares the column as
    the kind it has: a numerical column is compared as categories (its distinct values) by a
    method made for categorical columns only, and by a method made for both kinds when it has
    at most five distinct values, as the default does. Fewer than ``min_rows`` present values
    on either side (or none at all) gives ``status="insufficient_data"`` and no verdict, never
    drift. A method that cannot compute on the data raises :class:`ComputeError`.
    """
    kind = _kind_of(reference, current)
    if method is None:
        n_unique = _n_unique(reference, current)
        method, kind = default_method(kind, min(reference.n, current.n), n_unique)
        chosen = drift_method(method)
    else:
        chosen = drift_method(method)
        kind = _compared_kind(column, chosen, reference, current)
    limit = chosen.default_threshold if threshold is None else threshold
    ref, cur = _as_kind(reference, kind), _as_kind(current, kind)
    if ref.n < max(min_rows, 1) or cur.n < max(min_rows, 1):
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
        result = chosen.implementations[kind](ref, cur)
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
        details=dict(result.details),
    )


def _kind_of(reference: ColumnData, current: ColumnData) -> ColumnKind:
    if isinstance(reference, NumericalValues) and isinstance(current, NumericalValues):
        return ColumnKind.NUMERICAL
    if isinstance(reference, CategoricalCounts) and isinstance(current, CategoricalCounts):
        return ColumnKind.CATEGORICAL
    raise ComputeError("reference and current must be columns of the same kind")


def _compared_kind(
    column: str, chosen: DriftMethod, reference: ColumnData, current: ColumnData
) -> ColumnKind:
    """The kind a column is compared as by a method the caller chose (see detect_drift)."""
    kinds = chosen.kinds
    if isinstance(reference, CategoricalCounts):
        if ColumnKind.CATEGORICAL in kinds:
            return ColumnKind.CATEGORICAL
        raise ValidationError(
            f"method {chosen.name!r} does not apply to categorical column '{column}'",
            field="method",
        )
    if ColumnKind.NUMERICAL not in kinds:
        return ColumnKind.CATEGORICAL
    if ColumnKind.CATEGORICAL in kinds and _n_unique(reference, current) <= FEW_VALUES:
        return ColumnKind.CATEGORICAL
    return ColumnKind.NUMERICAL


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
