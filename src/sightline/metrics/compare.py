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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from sightline.metrics.columns import ColumnKind
from sightline.metrics.dataset import DatasetReport
from sightline.metrics.drift import MultivariateDriftResult, domain_classifier_drift
from sightline.metrics.estimation import EstimatedQuality
from sightline.metrics.evaluation import (
    EvaluationOptions,
    Quality,
    SliceData,
    SliceKey,
    evaluate_slice,
    prepare_baseline,
)
from sightline.metrics.mapping import infer_mapping
from sightline.metrics.segments import split_segments, top_segments
from sightline.schema.mapping import ColumnMapping

__all__ = ["Comparison", "SegmentComparison", "compare_datasets"]


@dataclass(frozen=True)
class SegmentComparison:
    """One segment's comparison: its drift and data quality, its model quality and its
    estimated quality (CBPE, from the segment's part of the reference)."""

    column: str
    value: str
    data: DatasetReport
    quality: Quality | None = None
    estimated_quality: EstimatedQuality | None = None

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
            "estimated_quality": self.estimated_quality.to_dict()
            if self.estimated_quality
            else None,
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

    The segments of a column of ``mapping.segments`` are its ``top_segments_k`` largest values
    in the reference (in the current data when the reference lacks the column) plus "other",
    each compared with the same segment of the reference — as the monitoring jobs do. Both
    sides go through :func:`~sightline.metrics.evaluation.evaluate_slice`.
    """
    mapping = infer_mapping(reference, mapping)
    columns = _monitored(mapping, reference, current)
    baseline = prepare_baseline(reference, columns, mapping, bounds=mapping.bounds)
    options = EvaluationOptions(
        methods=methods or {},
        thresholds=thresholds or {},
        min_rows=min_rows,
        drift_share=drift_share,
        id_column=mapping.id_column,
        schema_columns=schema_columns,
    )
    whole = evaluate_slice(baseline, SliceData.of(current), options, columns=columns)
    assert whole.data is not None
    notes = [*baseline.notes, *whole.notes]
    segment_options = replace(options, id_column=None, schema_columns=None)
    segments: list[SegmentComparison] = []
    for segment in mapping.segments:
        in_reference = segment in reference.column_names
        values = top_segments(reference if in_reference else current, segment, top_segments_k)
        reference_parts = split_segments(reference, segment, values) if in_reference else {}
        for value, part in split_segments(current, segment, values).items():
            own = reference_parts.get(value, reference.schema.empty_table())
            # Each segment against the same segment of the reference (the whole reference
            # when it lacks the column).
            own_baseline = (
                prepare_baseline(own, columns, mapping, bounds=mapping.bounds)
                if in_reference
                else baseline
            )
            result = evaluate_slice(
                own_baseline,
                SliceData.of(part, SliceKey("", segment, value)),
                segment_options,
                columns=columns,
            )
            assert result.data is not None
            segments.append(
                SegmentComparison(segment, value, result.data, result.realized, result.estimated)
            )
    joint = None
    if multivariate:
        features = {n: k for n, k in columns.items() if n in mapping.features}
        joint = domain_classifier_drift(reference, current, features)
    return Comparison(
        mapping,
        whole.data,
        baseline.quality,
        whole.realized,
        whole.estimated,
        segments,
        notes,
        joint,
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
