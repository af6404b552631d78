"""References: what "normal" is for a model.

A model's reference is the uploaded dataset named by its monitor (``default`` unless
configured). A model without one is compared with its own first day of production data, pinned:
that day never changes once it has passed, so every later window is compared with the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ComputeError, SchemaError, ValidationError
from sightline.schema import ColumnType, ModelSchema, Window
from sightline.store import PredictionStore

__all__ = ["Reference", "conform_reference", "resolve_reference"]

ARROW_TYPES = {
    ColumnType.NUMBER: pa.float64(),
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
}


@dataclass(frozen=True)
class Reference:
    """A reference table and a description of where it came from."""

    table: pa.Table
    source: str  # "dataset:<name>" or "production:<start>/<end>"


def resolve_reference(store: PredictionStore, schema: ModelSchema, name: str) -> Reference:
    """The reference of ``schema.model``: the dataset ``name``, else its first day of data."""
    table = store.read_reference(schema.model, name)
    if table is not None:
        try:
            return Reference(conform_reference(schema, table), f"dataset:{name}")
        except ValidationError as error:
            raise ComputeError(
                f"reference dataset '{name}' does not fit the model: {error}"
            ) from None
    info = next((m for m in store.models() if m.name == schema.model), None)
    if info is None or info.first_ts is None:
        raise ComputeError(
            f"model '{schema.model}' has no reference dataset '{name}' and no data to use instead"
        )
    first_day = Window.containing(info.first_ts, "1d")
    pinned = Window(first_day.start, first_day.start + timedelta(days=1), "1d")
    return Reference(
        store.read_window(schema.model, pinned),
        f"production:{pinned.start.isoformat()}/{pinned.end.isoformat()}",
    )


def conform_reference(schema: ModelSchema, table: pa.Table) -> pa.Table:
    """The columns of a reference dataset that the model has, cast to the model's types.

    Columns the model does not have are left out. A column whose values cannot be cast (text
    where the model has numbers) is refused with its name; so is a dataset sharing no column
    with the model.
    """
    columns: dict[str, pa.ChunkedArray] = {}
    for spec in schema.columns():
        if spec.name not in table.column_names:
            continue
        column = table.column(spec.name)
        target = ARROW_TYPES[spec.type]
        textual = (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_dictionary(column.type)
            or pa.types.is_integer(column.type)
            or pa.types.is_boolean(column.type)
        )
        if spec.type is ColumnType.STRING and not textual:
            raise SchemaError(
                f"reference column '{spec.name}' has type {column.type}; the model has text there",
                field=spec.name,
            )
        try:
            columns[spec.name] = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SchemaError(
                f"reference column '{spec.name}' has type {column.type}, which does not convert "
                f"to the model's {spec.type.value} column",
                field=spec.name,
            ) from None
    if not columns:
        known = ", ".join(c.name for c in schema.columns())
        raise ValidationError(
            f"the reference shares no column with model '{schema.model}' (its columns: {known})",
            field="body",
        )
    return pa.table(columns)
