"""Model schemas: the columns of a monitored model, their types and their roles.

A schema is inferred from the first records a model logs and then pinned: later records are
checked (and safely coerced) against it, new columns are added and recorded as changes, and a
value that does not fit its column's type is rejected with the record index and the field.

    >>> schema, changes = ModelSchema("churn").evolve([{"age": 31, "plan": "pro"}], [0.3], None)
    >>> [(c.name, c.type.value, c.role.value) for c in schema.features]
    [('age', 'number', 'numerical'), ('plan', 'string', 'categorical')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sightline.errors import SchemaError

__all__ = ["RESERVED_NAMES", "ColumnRole", "ColumnSpec", "ColumnType", "ModelSchema", "Scalar"]

Scalar = float | str | bool | None

#: Column names the stores use for their own bookkeeping; features and outputs may not use them.
RESERVED_NAMES = frozenset(
    {
        "record_id",
        "request_id",
        "ts",
        "received_at",
        "model_version",
        "tags",
        "sample_rate",
        "target",
        "feedback_ts",
    }
)
MAX_NAME_LENGTH = 128
_WIRE = {"feature": "features", "output": "prediction"}  # where a column is on the wire


class ColumnType(StrEnum):
    """How a column's values are stored."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"


class ColumnRole(StrEnum):
    """What a column means to the model."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    PREDICTION = "prediction"
    TARGET = "target"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    role: ColumnRole

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type.value, "role": self.role.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        return cls(str(data["name"]), ColumnType(data["type"]), ColumnRole(data["role"]))

    def conform(self, value: object, field: str, index: int | None = None) -> Scalar:
        """``value`` converted to this column's type, or a SchemaError saying why it cannot be."""
        return conform_value(self.type, value, field, index)


@dataclass(frozen=True)
class ModelSchema:
    """The pinned columns of one model: features, outputs (predictions) and the target."""

    model: str
    features: tuple[ColumnSpec, ...] = ()
    outputs: tuple[ColumnSpec, ...] = ()
    target: ColumnSpec | None = None

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]

    @property
    def output_names(self) -> list[str]:
        return [c.name for c in self.outputs]

    def columns(self) -> list[ColumnSpec]:
        """Every monitored column: features, then outputs, then the target."""
        return [*self.features, *self.outputs, *([self.target] if self.target else [])]

    def evolve(
        self,
        features: Iterable[Mapping[str, object]],
        outputs: Iterable[object],
        targets: Iterable[object] | None,
    ) -> tuple[ModelSchema, list[str]]:
        """This schema extended with the columns first seen in a batch, and what changed.

        Types of known columns are never changed here: values that do not fit are rejected by
        :meth:`conform_features`. A column whose values are all missing is not added until a
        value shows its type.
        """
        new_features = _new_columns(self.features, features, numeric_role=ColumnRole.NUMERICAL)
        new_outputs = _new_columns(
            self.outputs, (_outputs_dict(o) for o in outputs), numeric_role=ColumnRole.PREDICTION
        )
        new_outputs = [replace(c, role=ColumnRole.PREDICTION) for c in new_outputs]
        target = self.target
        if target is None and targets is not None:
            kind = next((t for t in map(infer_type, targets) if t is not None), None)
            if kind is not None:
                target = ColumnSpec("target", kind, ColumnRole.TARGET)
        changes = [f"added feature '{c.name}' ({c.type.value})" for c in new_features]
        changes += [f"added output '{c.name}' ({c.type.value})" for c in new_outputs]
        if target is not None and self.target is None:
            changes.append(f"added target ({target.type.value})")
        schema = replace(
            self,
            features=self.features + tuple(new_features),
            outputs=self.outputs + tuple(new_outputs),
            target=target,
        )
        schema.check_names()
        return schema, changes

    def check_names(self) -> None:
        seen: dict[str, str] = {}
        for kind, columns in (("feature", self.features), ("output", self.outputs)):
            for c in columns:
                check_name(c.name, kind)
                if c.name in seen:
                    raise SchemaError(
                        f"{kind} '{c.name}' has the same name as a {seen[c.name]}; rename one",
                        field=f"{_WIRE[kind]}.{c.name}",
                    )
                seen[c.name] = kind

    def conform_features(self, features: Mapping[str, object], index: int) -> dict[str, Scalar]:
        return {
            c.name: c.conform(features.get(c.name), f"features.{c.name}", index)
            for c in self.features
        }

    def conform_outputs(self, prediction: object, index: int) -> dict[str, Scalar]:
        outputs = _outputs_dict(prediction)
        field = "prediction" if not isinstance(prediction, Mapping) else "prediction.{}"
        return {
            c.name: c.conform(outputs.get(c.name), field.format(c.name), index)
            for c in self.outputs
        }

    def conform_target(self, target: object, index: int) -> Scalar:
        if self.target is None:
            return None
        return self.target.conform(target, "target", index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "features": [c.to_dict() for c in self.features],
            "outputs": [c.to_dict() for c in self.outputs],
            "target": self.target.to_dict() if self.target else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSchema:
        return cls(
            model=str(data["model"]),
            features=tuple(ColumnSpec.from_dict(c) for c in data.get("features", [])),
            outputs=tuple(ColumnSpec.from_dict(c) for c in data.get("outputs", [])),
            target=ColumnSpec.from_dict(data["target"]) if data.get("target") else None,
        )


def check_name(name: str, kind: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise SchemaError(
            f"{kind} name {name[:40]!r} must be 1 to {MAX_NAME_LENGTH} printable characters",
            field=_WIRE[kind],
        )
    if name in RESERVED_NAMES:
        raise SchemaError(
            f"{kind} name '{name}' is reserved by Sightline; rename it (reserved: "
            f"{', '.join(sorted(RESERVED_NAMES))})",
            field=f"{_WIRE[kind]}.{name}",
        )


def infer_type(value: object) -> ColumnType | None:
    """The column type a first value implies; None for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return ColumnType.BOOLEAN
    if isinstance(value, int | float):
        return ColumnType.NUMBER
    return ColumnType.STRING


def conform_value(kind: ColumnType, value: object, field: str, index: int | None) -> Scalar:
    """Coerce ``value`` to ``kind`` where that is safe; raise SchemaError where it is not."""
    if value is None:
        return None
    # The common cases first, cheaply (this runs for every value of every record).
    if type(value) is float:
        if kind is ColumnType.NUMBER and math.isfinite(value):
            return value
    elif type(value) is str and kind is ColumnType.STRING:
        return check_text(value, field, index)
    if isinstance(value, Mapping | list | tuple):
        raise SchemaError(
            f"nested values are not supported; flatten them into separate fields ({kind.value} "
            "expected)",
            index=index,
            field=field,
        )
    if kind is ColumnType.NUMBER:
        if isinstance(value, bool):
            raise SchemaError("expected a number, got a boolean", index=index, field=field)
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError:
                raise SchemaError(
                    "expected a finite number, got an integer too large for a float",
                    index=index,
                    field=field,
                ) from None
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise SchemaError(
                    f"expected a number, got the string {value[:40]!r}", index=index, field=field
                ) from None
        else:
            raise SchemaError(
                f"expected a number, got {type(value).__name__}", index=index, field=field
            )
        if math.isnan(number):
            return None
        if math.isinf(number):
            raise SchemaError(
                "expected a finite number, got infinity; send null for a missing value",
                index=index,
                field=field,
            )
        return number
    if kind is ColumnType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise SchemaError(f"expected a boolean, got {value!r:.40}", index=index, field=field)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        raise SchemaError(
            "expected a string, got infinity; send null for a missing value",
            index=index,
            field=field,
        )
    if isinstance(value, int | float):
        return number_label(value)
    if isinstance(value, str):
        return check_text(value, field, index)
    raise SchemaError(f"expected a string, got {type(value).__name__}", index=index, field=field)


def check_text(value: str, field: str, index: int | None) -> str:
    """``value`` if it is valid Unicode text (no lone surrogates), else a SchemaError."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaError(
            "is not valid Unicode text (it holds a lone surrogate)", index=index, field=field
        ) from None
    return value


def number_label(value: float) -> str:
    """A number as a category label: 3 and 3.0 are both "3", 2.5 is "2.5"."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _outputs_dict(prediction: object) -> Mapping[str, object]:
    if isinstance(prediction, Mapping):
        return prediction
    return {"prediction": prediction}


def _new_columns(
    known: tuple[ColumnSpec, ...],
    rows: Iterable[Mapping[str, object]],
    numeric_role: ColumnRole,
) -> list[ColumnSpec]:
    names = {c.name for c in known}
    found: dict[str, ColumnSpec] = {}
    for row in rows:
        for name, value in row.items():
            if name in names or name in found:
                continue
            kind = infer_type(value)
            if kind is None or isinstance(value, Mapping | list | tuple):
                continue  # typed once a value shows up; nested values are rejected later
            role = numeric_role if kind is ColumnType.NUMBER else ColumnRole.CATEGORICAL
            found[name] = ColumnSpec(str(name), kind, role)
    return list(found.values())
