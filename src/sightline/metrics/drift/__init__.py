"""Drift methods: a registry of two-sample checks, each with applicability and a default threshold.

>>> from sightline.metrics.drift import drift_method
>>> drift_method("ks").default_threshold
0.05
>>> sorted(kind.value for kind in drift_method("psi").kinds)
['categorical', 'numerical']

The multivariate check (:func:`domain_classifier_drift`) compares whole tables instead.
"""

from sightline.metrics.drift import categorical as _categorical  # noqa: F401  (registers)
from sightline.metrics.drift import numerical as _numerical  # noqa: F401  (registers)
from sightline.metrics.drift.base import (
    DriftMethod,
    DriftResult,
    MethodScore,
    default_method,
    detect_drift,
    drift_method,
    drift_methods,
    register,
)
from sightline.metrics.drift.multivariate import (
    ColumnImportance,
    MultivariateDriftResult,
    domain_classifier_drift,
)

__all__ = [
    "ColumnImportance",
    "DriftMethod",
    "DriftResult",
    "MethodScore",
    "MultivariateDriftResult",
    "default_method",
    "detect_drift",
    "domain_classifier_drift",
    "drift_method",
    "drift_methods",
    "register",
]
