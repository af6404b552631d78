"""Column mappings: which columns of a dataset are features, target, predictions, ids, times.

>>> mapping = ColumnMapping(numerical_features=("age",), categorical_features=("plan",))
>>> mapping.features
('age', 'plan')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sightline.errors import ValidationError

__all__ = ["ColumnMapping"]


@dataclass(frozen=True)
class ColumnMapping:
    """The roles of a dataset's columns. Unset roles are inferred from the data
    (:func:`sightline.metrics.mapping.infer_mapping`).

    ``prediction_label`` is the predicted class (classification) or value (regression);
    ``prediction_score`` the predicted probability of ``positive_label`` (binary
    classification). ``segments`` are columns to break every metric down by.
    """

    numerical_features: tuple[str, ...] | None = None
    categorical_features: tuple[str, ...] | None = None
    target: str | None = None
    prediction_label: str | None = None
    prediction_score: str | None = None
    positive_label: Any = None
    task: str | None = None  # "classification", "regression" or None (inferred)
    id_column: str | None = None
    timestamp_column: str | None = None
    segments: tuple[str, ...] = ()
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task is not None and self.task not in ("classification", "regression"):
            raise ValidationError(
                f"task must be 'classification' or 'regression', not {self.task!r}", field="task"
            )

    @property
    def features(self) -> tuple[str, ...]:
        return (self.numerical_features or ()) + (self.categorical_features or ())

    def to_dict(self) -> dict[str, Any]:
        return {
            "numerical_features": list(self.numerical_features or ()),
            "categorical_features": list(self.categorical_features or ()),
            "target": self.target,
            "prediction_label": self.prediction_label,
            "prediction_score": self.prediction_score,
            "positive_label": self.positive_label,
            "task": self.task,
            "id_column": self.id_column,
            "timestamp_column": self.timestamp_column,
            "segments": list(self.segments),
            "bounds": {k: list(v) for k, v in self.bounds.items()},
        }
