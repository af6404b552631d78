"""Columnar ingestion: predictions sent as an Arrow IPC stream, checked a column at a time.

Checking a record at a time in Python costs tens of microseconds per record; checking a column
at a time with Arrow compute costs a fraction of that, which is how one collector keeps up with
tens of thousands of records per second. The rules are the JSON path's (same coercions, same
messages): where a column is not of a type the fast path knows, its values go one by one through
:func:`sightline.schema.model.conform_value`, as JSON values do.

The wire columns are the JSON record's fields, nested ones flattened with a dot:
``kind``, ``model``, ``record_id``, ``request_id``, ``ts``, ``model_version``, ``sample_rate``,
``tags`` (JSON text), ``features.<name>``, ``prediction`` or ``prediction.<name>``, ``target``,
``name``, ``latency_ms``, ``status``, ``error_type``, ``attributes`` (JSON text).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError
from sightline.schema import ColumnSpec, ColumnType, ModelSchema, parse_time
from sightline.schema.model import conform_value
from sightline.schema.records import MAX_ID_LENGTH, parse_tags
from sightline.store.base import ARROW_TYPES, TS, naive_utc

__all__ = ["WIRE_COLUMNS", "PredictionColumns", "conform_predictions", "read_stream", "records"]

#: Columns an Arrow batch may have besides ``features.*`` and ``prediction.*``.
WIRE_COLUMNS = frozenset(
    {
        "kind",
        "model",
        "record_id",
        "request_id",
        "ts",
        "model_version",
        "sample_rate",
        "tags",
        "prediction",
        "target",
        "name",
        "latency_ms",
        "status",
        "error_type",
        "attributes",
    }
)
_MICROS = 1_000_000
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
# Epoch seconds DuckDB and Python both represent (years 1 to 9999).
_MIN_EPOCH, _MAX_EPOCH = -62_135_596_800.0, 253_402_300_799.0


def read_stream(body: bytes, model: str | None, kind: str | None) -> pa.Table:
    """The table of an Arrow IPC stream body, with ``model``/``kind`` columns filled from the
    query's defaults; a ValidationError (field ``body``) when it is not a usable batch."""
    if not body.endswith(_END_OF_STREAM):
        # A stream cut short may still hold whole record batches: storing those would be a
        # partial write the sender cannot tell from success.
        raise ValidationError(
            "the Arrow IPC stream is truncated (it lacks the end-of-stream marker)", field="body"
        )
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValidationError(
            f"the body is not a valid Arrow IPC stream: {error}", field="body"
        ) from None
    unknown = [
        name
        for name in table.column_names
        if name not in WIRE_COLUMNS and not name.startswith(("features.", "prediction."))
    ]
    if unknown:
        raise ValidationError(
            f"unknown column {unknown[0][:80]!r}: name features 'features.<name>' and outputs "
            "'prediction' or 'prediction.<name>'",
            field="body",
        )
    if len(set(table.column_names)) != table.num_columns:
        raise ValidationError("the stream has two columns of the same name", field="body")
    for name, default in (("model", model), ("kind", kind)):
        if default is not None and name not in table.column_names:
            table = table.append_column(name, pa.array([default] * table.num_rows, pa.string()))
    return table


def records(table: pa.Table, indices: list[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows ``indices`` of a wire table as JSON-style records (``features.x`` nested again)."""
    if not indices:
        return
    rows = table.take(pa.array(indices, pa.int64())).to_pylist()
    for index, row in zip(indices, rows, strict=True):
        record: dict[str, Any] = {}
        for name, value in row.items():
            if value is None and name != "prediction":
                continue
            head, dot, rest = name.partition(".")
            if dot and head in ("features", "prediction"):
                nested = record.setdefault(head, {})
                if isinstance(nested, dict):
                    nested[rest] = value
            elif name in ("tags", "attributes") and isinstance(value, str):
                record[name] = _json_object(value)
            else:
                record[name] = value
        yield index, record


def _json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text  # refused by the record parser, with the field named


@dataclass
class PredictionColumns:
    """Predictions of one model, conformed: the rows to store, and one error per bad row."""

    schema: ModelSchema
    changes: list[str]
    table: pa.Table  # store layout, good rows only
    errors: dict[int, ValidationError] = field(default_factory=dict)  # batch index → error


class _Rows:
    """The row errors of a column-wise check; the first error of a row wins."""

    def __init__(self, indices: pa.Array):
        self.indices = indices.to_pylist()
        self.errors: dict[int, ValidationError] = {}

    def fail(self, positions: Any, message: str, field: str) -> None:
        for position in positions:
            index = self.indices[position]
            if index not in self.errors:
                self.errors[index] = ValidationError(message, index=index, field=field)

    def fail_mask(self, mask: pa.Array, message: str, field: str) -> None:
        mask = pc.fill_null(mask, False)
        if pc.any(mask).as_py():
            self.fail(pc.indices_nonzero(mask).to_pylist(), message, field)

    def fail_error(self, position: int, error: ValidationError, field: str) -> None:
        index = self.indices[position]
        if index not in self.errors:
            self.errors[index] = ValidationError(
                error.message, index=index, field=error.field or field
            )


def conform_predictions(
    schema: ModelSchema, table: pa.Table, indices: pa.Array, received_at: datetime
) -> PredictionColumns:
    """Check the prediction rows ``table`` of one model (their batch positions in ``indices``)
    against ``schema``, evolving it with the columns first seen; never raises for a bad row."""
    rows = _Rows(indices)
    n = table.num_rows
    names = table.column_names
    features = {name[len("features.") :]: name for name in names if name.startswith("features.")}
    outputs = {name[len("prediction.") :]: name for name in names if name.startswith("prediction.")}
    if "prediction" in names:
        if outputs:
            rows.fail(range(n), "is either one value or named outputs, not both", "prediction")
        outputs["prediction"] = "prediction"
    if not outputs:
        rows.fail(range(n), "is required for a prediction", "prediction")

    schema, changes = _evolve(schema, table, features, outputs, rows)

    record_ids = _ids(table, "record_id", rows, generate=True)
    columns: dict[str, pa.Array] = {
        "record_id": record_ids,
        "request_id": pc.coalesce(_ids(table, "request_id", rows, generate=False), record_ids),
        "ts": _times(table, rows, received_at),
        "received_at": pa.array([naive_utc(received_at)] * n, TS),
        "model_version": pc.fill_null(_ids(table, "model_version", rows, generate=False), ""),
        "sample_rate": _sample_rates(table, rows),
        "tags": _tags(table, rows),
    }
    for spec in schema.features:
        columns[spec.name] = _conform(spec, table, features.get(spec.name), "features.", rows)
    for spec in schema.outputs:
        wire = outputs.get(spec.name)
        prefix = "" if wire == "prediction" else "prediction."
        columns[spec.name] = _conform(spec, table, wire, prefix, rows)
    conformed = pa.table(columns)
    if rows.errors:
        bad = set(rows.errors)
        keep = pa.array([i not in bad for i in rows.indices], pa.bool_())
        conformed = conformed.filter(keep)
    return PredictionColumns(schema, changes, conformed, rows.errors)


def _first_values(table: pa.Table, wire: Mapping[str, str]) -> dict[str, object]:
    """The first non-null value of each column: what the schema infers a new column's type from."""
    sample: dict[str, object] = {}
    for name, column in wire.items():
        values = table.column(column)
        if values.null_count == len(values):
            continue
        valid = pc.drop_null(values)
        if pa.types.is_floating(valid.type):
            valid = valid.filter(pc.invert(pc.is_nan(valid)))
        if len(valid):
            sample[name] = valid[0].as_py()
    return sample


def _evolve(
    schema: ModelSchema,
    table: pa.Table,
    features: dict[str, str],
    outputs: dict[str, str],
    rows: _Rows,
) -> tuple[ModelSchema, list[str]]:
    """``schema`` evolved by the batch's columns; a column that cannot be added (a reserved or
    clashing name) fails the rows that carry it and is left out."""
    while True:
        try:
            return schema.evolve(
                [_first_values(table, features)], [_first_values(table, outputs)], None
            )
        except ValidationError as error:
            kind, _, name = (error.field or "").partition(".")
            wire = features if kind == "features" else outputs
            if name not in wire:
                name = next(iter(wire), "")  # not locatable: fail on the first new column
            column = wire.pop(name, None)
            if column is None:
                rows.fail(range(table.num_rows), error.message, error.field or "")
                return schema, []
            rows.fail_mask(pc.is_valid(table.column(column)), error.message, error.field or "")


def _ids(table: pa.Table, name: str, rows: _Rows, *, generate: bool) -> pa.Array:
    n = table.num_rows
    if name not in table.column_names:
        values = pa.nulls(n, pa.string())
    else:
        values = _as_strings(table.column(name), name, rows)
        too_long = pc.greater(pc.utf8_length(values), MAX_ID_LENGTH)
        rows.fail_mask(too_long, f"must be at most {MAX_ID_LENGTH} characters", name)
    if generate and values.null_count:
        filled = values.to_pylist()
        values = pa.array([v if v is not None else uuid.uuid4().hex for v in filled], pa.string())
    return values


def _as_strings(column: pa.ChunkedArray, name: str, rows: _Rows) -> pa.Array:
    values = column.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values.cast(pa.string())
    if pa.types.is_integer(values.type):
        return values.cast(pa.string())
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    rows.fail_mask(pc.is_valid(values), "must be a string", name)
    return pa.nulls(len(values), pa.string())


def _times(table: pa.Table, rows: _Rows, received_at: datetime) -> pa.Array:
    n = table.num_rows
    default = pa.scalar(naive_utc(received_at), TS)
    if "ts" not in table.column_names:
        return pa.array([default.as_py()] * n, TS)
    values = table.column("ts").combine_chunks()
    kind = values.type
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            values = values.cast(pa.timestamp(kind.unit, "UTC")).cast(pa.timestamp(kind.unit))
        return pc.fill_null(values.cast(TS, safe=False), default)
    if pa.types.is_date(kind):
        return pc.fill_null(values.cast(pa.timestamp("s")).cast(TS), default)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = values.cast(pa.float64())
        bad = pc.or_(
            pc.invert(pc.is_finite(seconds)),
            pc.or_(pc.less(seconds, _MIN_EPOCH), pc.greater(seconds, _MAX_EPOCH)),
        )
        rows.fail_mask(bad, "expected a time in years 1 to 9999 (epoch seconds)", "ts")
        seconds = pc.if_else(pc.fill_null(bad, False), 0.0, seconds)
        micros = pc.round(pc.multiply(seconds, float(_MICROS))).cast(pa.int64())
        return pc.fill_null(micros.cast(TS), default)
    # ISO 8601 text and anything else: parsed one value at a time, like JSON values.
    parsed: list[datetime] = []
    for position, value in enumerate(values.to_pylist()):
        try:
            parsed.append(naive_utc(received_at if value is None else parse_time(value)))
        except ValidationError as error:
            rows.fail_error(position, error, "ts")
            parsed.append(naive_utc(received_at))
    return pa.array(parsed, TS)


def _sample_rates(table: pa.Table, rows: _Rows) -> pa.Array:
    n = table.num_rows
    if "sample_rate" not in table.column_names:
        return pa.array([1.0] * n, pa.float64())
    values = table.column("sample_rate").combine_chunks()
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        if pa.types.is_null(values.type):
            return pa.array([1.0] * n, pa.float64())
        rows.fail_mask(pc.is_valid(values), "must be a number in (0, 1]", "sample_rate")
        return pa.array([1.0] * n, pa.float64())
    rates = values.cast(pa.float64())
    bad = pc.invert(pc.and_(pc.greater(rates, 0.0), pc.less_equal(rates, 1.0)))
    rows.fail_mask(bad, "must be a number in (0, 1]", "sample_rate")
    return pc.fill_null(rates, 1.0)


def _tags(table: pa.Table, rows: _Rows) -> pa.Array:
    n = table.num_rows
    if "tags" not in table.column_names:
        return pa.nulls(n, pa.string())
    texts: list[str | None] = []
    for position, value in enumerate(table.column("tags").to_pylist()):
        if value is None:
            texts.append(None)
            continue
        raw = _json_object(value) if isinstance(value, str) else value
        if isinstance(raw, list) and all(isinstance(p, tuple) for p in raw):
            raw = dict(raw)  # an Arrow map column
        try:
            tags = parse_tags(raw, rows.indices[position])
        except ValidationError as error:
            rows.fail_error(position, error, "tags")
            texts.append(None)
            continue
        texts.append(json.dumps(tags) if tags else None)
    return pa.array(texts, pa.string())


def _conform(
    spec: ColumnSpec, table: pa.Table, wire: str | None, prefix: str, rows: _Rows
) -> pa.Array:
    """One stored column of ``spec`` from the wire column ``wire`` (absent: all null)."""
    n = table.num_rows
    target = ARROW_TYPES[spec.type]
    if wire is None:
        return pa.nulls(n, target)
    field = f"{prefix}{spec.name}" if prefix else "prediction"
    values = table.column(wire).combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    kind = values.type
    if pa.types.is_null(kind):
        return pa.nulls(n, target)
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if spec.type is ColumnType.NUMBER and numeric and not pa.types.is_float16(kind):
        numbers = values.cast(pa.float64())
        infinite = pc.and_(pc.is_inf(numbers), pc.is_valid(numbers))
        rows.fail_mask(
            infinite, "expected a finite number, got infinity; send null for a missing value", field
        )
        return pc.if_else(pc.fill_null(pc.or_(pc.is_nan(numbers), infinite), False), None, numbers)
    if spec.type is ColumnType.BOOLEAN and pa.types.is_boolean(kind):
        return values
    if spec.type is ColumnType.STRING and (
        pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        return values.cast(pa.string())
    # Anything else: the JSON path's rules, one value at a time.
    conformed: list[object] = []
    for position, value in enumerate(values.to_pylist()):
        if isinstance(value, float) and math.isnan(value):
            value = None
        try:
            conformed.append(conform_value(spec.type, value, field, None))
        except ValidationError as error:
            rows.fail_error(position, error, field)
            conformed.append(None)
    return pa.array(conformed, target)
