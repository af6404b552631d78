"""Ad-hoc comparison of a reference and a current dataset: everything the engine computes.

Data quality and drift per column, dataset-level checks, model quality on both sides when
targets and predictions are present, estimated quality (CBPE) for an unlabelled current set of a
binary classifier, and the same per segment. :func:`sightline.compare` wraps this for
DataFrames and files and renders the result.

    >>> import pyarrow as pa
    >>> labels = [i % 2 for i in range(400)]
    >>> ref = pa.table({"x": [float(i % 40) for i in range(400)], "target": labels})
    >>> cur = pa.table({"x": [float(i % 40) + 9 for i in range(400)], "target": labels})
    >>> comparison = compare_datasets(ref, cur)
    >>> comparison.data.drifted_columns
    ['x']
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from sightline.errors import SightlineError
from sightline.metrics.columns import ColumnKind
from sightline.metrics.dataset import DatasetReport, ReferenceProfile, compare_tables
from sightline.metrics.drift import MultivariateDriftResult, domain_classifier_drift
from sightline.metrics.estimation import CBPE, EstimatedQuality
from sightline.metrics.mapping import infer_mapping
from sightline.metrics.performance import (
    ClassificationQuality,
    RegressionQuality,
    classification_quality,
    regression_quality,
)
from sightline.metrics.segments import split_segments, top_segments
from sightline.schema.mapping import ColumnMapping

__all__ = ["Comparison", "SegmentComparison", "compare_datasets"]

Quality = ClassificationQuality | RegressionQuality


@dataclass(frozen=True)
class SegmentComparison:
    """One segment's comparison: its drift and data quality, and its model quality."""

    column: str
    value: str
    data: DatasetReport
    quality: Quality | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "n_reference": self.data.n_reference,
            "n_current": self.data.n_current,
            "share_of_drifted_columns": self.data.share_of_drifted_columns,
            "dataset_drift": self.data.dataset_drift,
            "drifted_columns": self.data.drifted_columns,
            "quality": self.quality.to_dict() if self.quality else None,
        }


@dataclass(frozen=True)
class Comparison:
    """Everything known about a current dataset compared with its reference."""

    mapping: ColumnMapping
    data: DatasetReport
    reference_quality: Quality | None = None
    current_quality: Quality | None = None
    estimated_quality: EstimatedQuality | None = None
    segments: list[SegmentComparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    multivariate: MultivariateDriftResult | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at.isoformat(),
            "mapping": self.mapping.to_dict(),
            "data": self.data.to_dict(),
            "reference_quality": self.reference_quality.to_dict()
            if self.reference_quality
            else None,
            "current_quality": self.current_quality.to_dict() if self.current_quality else None,
            "estimated_quality": self.estimated_quality.to_dict()
            if self.estimated_quality
            else None,
            "segments": [s.to_dict() for s in self.segments],
            "multivariate": self.multivariate.to_dict() if self.multivariate else None,
            "notes": self.notes,
        }


def compare_datasets(
    reference: pa.Table,
    current: pa.Table,
    mapping: ColumnMapping | None = None,
    *,
    methods: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    min_rows: int = 30,
    drift_share: float = 0.5,
    top_segments_k: int = 10,
    multivariate: bool = False,
    schema_columns: Collection[str] | None = None,
) -> Comparison:
    """Compare ``current`` with ``reference`` (Arrow tables) under ``mapping`` (roles not given
    are inferred, see :func:`~sightline.metrics.mapping.infer_mapping`).

    Drift is checked on the features and on the prediction columns (prediction drift) and the
    target (target drift) when both sides have them. ``multivariate=True`` adds the domain
    classifier check on the features together. ``schema_columns`` limits the schema check
    (missing, new and retyped columns) to those columns (default: all of both tables).
    """
    mapping = infer_mapping(reference, mapping)
    columns = _monitored(mapping, reference, current)
    profile = ReferenceProfile.from_table(reference, columns, bounds=mapping.bounds)
    data = compare_tables(
        profile,
        current,
        columns,
        methods=methods,
        thresholds=thresholds,
        min_rows=min_rows,
        drift_share=drift_share,
        id_column=mapping.id_column if mapping.id_column in current.column_names else None,
        schema_columns=schema_columns,
    )
    notes: list[str] = []
    reference_quality = _quality(mapping, reference, notes, "reference")
    current_quality = _quality(mapping, current, notes, "current")
    estimated = _estimate(mapping, reference, current, notes)
    segments: list[SegmentComparison] = []
    for segment in mapping.segments:
        for value, (ref_part, cur_part) in _segment_pairs(
            reference, current, segment, top_segments_k
        ):
            part = compare_tables(
                profile
                if ref_part is reference
                else ReferenceProfile.from_table(ref_part, columns),
                cur_part,
                columns,
                methods=methods,
                thresholds=thresholds,
                min_rows=min_rows,
                drift_share=drift_share,
            )
            segments.append(
                SegmentComparison(segment, value, part, _quality(mapping, cur_part, [], "segment"))
            )
    joint = None
    if multivariate:
        features = {n: k for n, k in columns.items() if n in mapping.features}
        joint = domain_classifier_drift(reference, current, features)
    return Comparison(
        mapping, data, reference_quality, current_quality, estimated, segments, notes, joint
    )


def _monitored(
    mapping: ColumnMapping, reference: pa.Table, current: pa.Table
) -> dict[str, ColumnKind]:
    columns = dict.fromkeys(mapping.numerical_features or (), ColumnKind.NUMERICAL)
    columns |= dict.fromkeys(mapping.categorical_features or (), ColumnKind.CATEGORICAL)
    columns = {n: k for n, k in columns.items() if n in current.column_names}
    for name in (mapping.prediction_score, mapping.prediction_label, mapping.target):
        if name and name in reference.column_names and name in current.column_names:
            numeric = pa.types.is_floating(reference.column(name).type) or (
                mapping.task == "regression" and pa.types.is_integer(reference.column(name).type)
            )
            columns[name] = ColumnKind.NUMERICAL if numeric else ColumnKind.CATEGORICAL
    return columns


def _quality(
    mapping: ColumnMapping, table: pa.Table, notes: list[str], side: str
) -> Quality | None:
    target = mapping.target
    if not target or target not in table.column_names:
        return None
    label = mapping.prediction_label if mapping.prediction_label in table.column_names else None
    score = mapping.prediction_score if mapping.prediction_score in table.column_names else None
    if label is None and score is None:
        return None
    try:
        if mapping.task == "regression":
            if label is None:
                return None
            return regression_quality(table.column(target), table.column(label))
        return classification_quality(
            table.column(target),
            predicted=table.column(label) if label else None,
            scores=table.column(score) if score else None,
            positive_label=mapping.positive_label,
        )
    except SightlineError as error:
        notes.append(f"model quality of the {side} data could not be computed: {error}")
        return None


def _estimate(
    mapping: ColumnMapping, reference: pa.Table, current: pa.Table, notes: list[str]
) -> EstimatedQuality | None:
    score, target = mapping.prediction_score, mapping.target
    if mapping.task != "classification" or not score or not target:
        return None
    if score not in current.column_names or target not in reference.column_names:
        return None
    try:
        positive = 1 if mapping.positive_label is None else mapping.positive_label
        estimator = CBPE.fit(
            reference.column(score), reference.column(target), positive_label=positive
        )
        label = mapping.prediction_label
        predicted = current.column(label) if label and label in current.column_names else None
        return estimator.estimate(current.column(score), predicted=predicted)
    except SightlineError as error:
        notes.append(f"estimated quality could not be computed: {error}")
        return None


def _segment_pairs(
    reference: pa.Table, current: pa.Table, column: str, top_k: int
) -> list[tuple[str, tuple[pa.Table, pa.Table]]]:
    values = top_segments(current, column, top_k)
    current_parts = split_segments(current, column, values)
    reference_parts = (
        split_segments(reference, column, values) if column in reference.column_names else {}
    )
    empty = reference.schema.empty_table()
    return [
        (value, (reference_parts.get(value, empty), part)) for value, part in current_parts.items()
    ]
