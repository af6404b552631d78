"""Drift methods: a registry of two-sample checks, each with applicability and a default threshold.

>>> from sightline.metrics.drift import drift_method
>>> drift_method("ks").default_threshold
0.05
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
