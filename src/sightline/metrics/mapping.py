"""Inference of column roles for ad-hoc comparisons.

Roles not given in a :class:`~sightline.schema.mapping.ColumnMapping` are inferred from column
names and types: ``target`` (or ``y``, ``class``) is the target; ``prediction``/``score``/
``probability`` holding numbers in [0, 1] next to a classification target is the predicted score,
``predicted_label``/``prediction_label`` (or ``prediction`` when it is not a score) the predicted
label; ``id``/``request_id``/``record_id`` the id; timestamp-typed columns (or ``ts``,
``timestamp``) the time. Every other column is a feature: numerical when it holds numbers,
categorical otherwise. The task is classification when the target holds text, booleans or at
most 20 distinct integers, or when a score is given; regression otherwise. The positive label of
a binary target is 1 or True when present, else its rarer class in the reference.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError
from sightline.schema.mapping import ColumnMapping

__all__ = ["infer_mapping"]

TARGET_NAMES = ("target", "y", "class")
SCORE_NAMES = ("prediction", "score", "probability", "prediction_score", "predicted_probability")
LABEL_NAMES = ("predicted_label", "prediction_label", "prediction")
ID_NAMES = ("id", "request_id", "record_id")
TIME_NAMES = ("ts", "timestamp")
MAX_CLASSES = 20


def infer_mapping(reference: pa.Table, mapping: ColumnMapping | None = None) -> ColumnMapping:
    """``mapping`` completed with the roles it leaves unset, inferred from ``reference``."""
    mapping = mapping or ColumnMapping()
    names = reference.column_names
    for role, value in (
        ("target", mapping.target),
        ("prediction_label", mapping.prediction_label),
        ("prediction_score", mapping.prediction_score),
        ("id_column", mapping.id_column),
        ("timestamp_column", mapping.timestamp_column),
    ):
        if value is not None and value not in names:
            raise ValidationError(f"{role} column '{value}' is not in the data", field=role)
    for name in (*mapping.features, *mapping.segments):
        if name not in names:
            raise ValidationError(f"column '{name}' is not in the data", field=name)

    def first(candidates: tuple[str, ...], taken: set[str]) -> str | None:
        return next((n for n in candidates if n in names and n not in taken), None)

    target = mapping.target or first(TARGET_NAMES, set())
    taken = {target} if target else set()
    task = mapping.task or (_task(reference.column(target)) if target else None)
    score = mapping.prediction_score
    if score is None and task == "classification" and mapping.prediction_label is None:
        score = next(
            (n for n in SCORE_NAMES if n in names and _is_probability(reference.column(n))), None
        )
    taken |= {score} if score else set()
    label = mapping.prediction_label or (first(LABEL_NAMES, taken) if target or score else None)
    taken |= {label} if label else set()
    id_column = mapping.id_column or first(ID_NAMES, taken)
    taken |= {id_column} if id_column else set()
    timestamp = mapping.timestamp_column or next(
        (n for n in names if n not in taken and pa.types.is_timestamp(reference.column(n).type)),
        first(TIME_NAMES, taken),
    )
    taken |= {timestamp} if timestamp else set()
    numerical, categorical = mapping.numerical_features, mapping.categorical_features
    if numerical is None and categorical is None:
        rest = [n for n in names if n not in taken]
        numerical = tuple(n for n in rest if _is_number(reference.column(n)))
        categorical = tuple(n for n in rest if not _is_number(reference.column(n)))
    positive = mapping.positive_label
    if positive is None and task == "classification" and target is not None:
        positive = _positive_label(reference.column(target))
    return replace(
        mapping,
        numerical_features=numerical or (),
        categorical_features=categorical or (),
        target=target,
        prediction_label=label,
        prediction_score=score,
        positive_label=positive,
        task=task,
        id_column=id_column,
        timestamp_column=timestamp,
    )


def _is_number(column: pa.ChunkedArray) -> bool:
    kind = column.type
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def _is_probability(column: pa.ChunkedArray) -> bool:
    if not pa.types.is_floating(column.type):
        return False
    bounds = pc.min_max(column).as_py()
    low, high = bounds["min"], bounds["max"]
    return low is not None and high is not None and low >= 0.0 and high <= 1.0


def _task(column: pa.ChunkedArray) -> str:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return "classification"
    if pa.types.is_dictionary(kind):
        return "classification"
    if pa.types.is_integer(kind) or (pa.types.is_floating(kind) and _integral(column)):
        return (
            "classification" if pc.count_distinct(column).as_py() <= MAX_CLASSES else "regression"
        )
    return "regression"


def _integral(column: pa.ChunkedArray) -> bool:
    values = np.asarray(pc.drop_null(column).to_numpy(zero_copy_only=False), dtype=np.float64)
    return bool(values.size) and bool(np.all(np.isnan(values) | (values == np.round(values))))


def _positive_label(column: pa.ChunkedArray) -> Any:
    counted = pc.value_counts(pc.drop_null(column))
    values = counted.field("values").to_pylist()
    counts = counted.field("counts").to_pylist()
    if len(values) != 2:
        return None
    for value in values:
        if value is True or (not isinstance(value, bool) and value in (1, "1", "true", "yes")):
            return value
    return values[int(np.argmin(counts))]
