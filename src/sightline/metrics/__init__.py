"""The metrics engine: pure computation on Arrow / NumPy columns, returning plain results.

No storage, no HTTP, no HTML here: callers hand in tables and get result objects back.
"""

from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues
from sightline.metrics.compare import Comparison, SegmentComparison, compare_datasets
from sightline.metrics.dataset import (
    ColumnProfile,
    ColumnReport,
    DatasetReport,
    ReferenceProfile,
    compare_tables,
)
from sightline.metrics.drift import DriftResult, drift_method, drift_methods
from sightline.metrics.estimation import CBPE, Estimate, EstimatedQuality
from sightline.metrics.mapping import infer_mapping
from sightline.metrics.performance import (
    ClassificationQuality,
    RegressionQuality,
    classification_quality,
    regression_quality,
)
from sightline.metrics.quality import ColumnQuality, DatasetQuality
from sightline.metrics.sampling import unit_errors
from sightline.metrics.summaries import CategoricalSummary, NumericalSummary

__all__ = [
    "CBPE",
    "CategoricalCounts",
    "CategoricalSummary",
    "ClassificationQuality",
    "ColumnKind",
    "ColumnProfile",
    "ColumnQuality",
    "ColumnReport",
    "Comparison",
    "DatasetQuality",
    "DatasetReport",
    "DriftResult",
    "Estimate",
    "EstimatedQuality",
    "NumericalSummary",
    "NumericalValues",
    "ReferenceProfile",
    "RegressionQuality",
    "SegmentComparison",
    "classification_quality",
    "compare_datasets",
    "compare_tables",
    "drift_method",
    "drift_methods",
    "infer_mapping",
    "regression_quality",
    "unit_errors",
]
