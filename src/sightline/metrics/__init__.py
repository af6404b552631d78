"""The metrics engine: pure computation on Arrow / NumPy columns, returning plain results.

No storage, no HTTP, no HTML here: callers hand in tables and get result objects back.
"""

from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues
from sightline.metrics.dataset import ColumnReport, DatasetReport, compare_tables
from sightline.metrics.drift import DriftResult, drift_method, drift_methods

__all__ = [
    "CategoricalCounts",
    "ColumnKind",
    "ColumnReport",
    "DatasetReport",
    "DriftResult",
    "NumericalValues",
    "compare_tables",
    "drift_method",
    "drift_methods",
]
