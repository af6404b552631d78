"""Row selections: which stored predictions of a time range to list, in what order, a page at a
time — what the debug view, its downloads and ``GET /v1/models/{model}/rows`` ask the
prediction store for.

A filter is written as in a URL: ``age>=30``, ``plan=pro``, ``plan!=basic``, ``score<0.2``,
``age is missing``, ``age is present``. Several ``=`` filters on one column mean "any of these
values" (SQL ``IN``); every other filter must hold too (AND). A column name that holds an
operator character (``<``, ``>``, ``=``, ``!``) or a quote is written in double quotes,
doubling quotes inside: ``"a>b">=1``. Values are taken verbatim after the operator and
converted to the column's type (numbers, ``true``/``false``, times as ISO 8601 or epoch
seconds).

    >>> columns = {"age": "number", "plan": "string"}
    >>> RowFilter.parse("age>=30", columns)
    RowFilter(column='age', op='>=', value=30.0)
    >>> str(RowFilter.parse("plan=pro", columns)), str(RowFilter("a>b", ">=", 1.0))
    ('plan=pro', '"a>b">=1')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from sightline.errors import ValidationError
from sightline.schema.model import ModelSchema
from sightline.schema.windows import parse_time

__all__ = [
    "COLUMN_KINDS",
    "OPERATORS",
    "RowFilter",
    "RowOrder",
    "RowQuery",
    "RowsPage",
    "row_columns",
]

#: Kinds of the columns rows are listed with; filters convert their values to these.
COLUMN_KINDS = ("number", "string", "boolean", "time")
#: Comparison operators, longest first (the order a filter is parsed in).
OPERATORS = (">=", "<=", "!=", ">", "<", "=")
#: Operators without a value.
MISSING, PRESENT = " is missing", " is present"
RANGE_OPERATORS = frozenset({">=", "<=", ">", "<"})
#: Characters that make a column name need quotes in a filter.
_SPECIAL = frozenset('<>=!"')
#: Longest accepted filter text.
MAX_FILTER_LENGTH = 2000


def row_columns(schema: ModelSchema) -> dict[str, str]:
    """Every column rows of ``schema``'s model can be listed with, and its kind, in display
    order: request id, time, version, features, outputs, target and feedback time, then the
    bookkeeping columns (``tags`` as JSON text, ``record_id``, ``received_at``,
    ``sample_rate``), which are listed only when asked for."""
    columns = {"request_id": "string", "ts": "time", "model_version": "string"}
    for spec in (*schema.features, *schema.outputs):
        columns[spec.name] = spec.type.value
    columns["target"] = schema.target.type.value if schema.target is not None else "number"
    columns["feedback_ts"] = "time"
    columns.update(tags="string", record_id="string", received_at="time", sample_rate="number")
    return columns


#: Columns listed when no columns are asked for: all but these bookkeeping ones.
HIDDEN = ("tags", "record_id", "received_at", "sample_rate")

Value = float | str | bool | datetime | None


@dataclass(frozen=True)
class RowFilter:
    """One condition on one column: ``op`` is one of :data:`OPERATORS`, ``missing`` or
    ``present`` (which take no value)."""

    column: str
    op: str
    value: Value = None

    @classmethod
    def parse(cls, text: str, columns: Mapping[str, str], field: str = "filter") -> RowFilter:
        """The filter ``text`` on one of ``columns`` (name → kind), or a ValidationError
        naming ``field`` and saying what is wrong and how to write it."""
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(
                "empty filter; write column, operator and value, e.g. age>=30 or plan=pro",
                field=field,
            )
        if len(text) > MAX_FILTER_LENGTH:
            raise ValidationError(
                f"filter {text[:40]!r}... is longer than {MAX_FILTER_LENGTH} characters",
                field=field,
            )
        column, rest = _split_column(text, columns, field)
        for suffix, op in ((MISSING, "missing"), (PRESENT, "present")):
            if rest.lower() == suffix:
                return cls(column, op)
        found = next((o for o in OPERATORS if rest.startswith(o)), None)
        if found is None:
            raise ValidationError(
                f"filter {text[:80]!r}: expected an operator ({', '.join(OPERATORS)}, "
                f"'is missing' or 'is present') after the column '{column}'",
                field=field,
            )
        op, kind = found, columns[column]
        raw = rest[len(op) :]
        if op in RANGE_OPERATORS and kind not in ("number", "time"):
            raise ValidationError(
                f"filter {text[:80]!r}: '{column}' is a {kind} column; compare it with = or != "
                "(ranges apply to numbers and times)",
                field=field,
            )
        return cls(column, op, _convert(raw, kind, text, field))

    @property
    def value_text(self) -> str:
        """The value as written in a filter (empty for ``missing`` and ``present``)."""
        return _format(self.value)

    def __str__(self) -> str:
        name = self.column
        if (
            not name
            or any(c in _SPECIAL for c in name)
            or name != name.strip()
            or name.lower().endswith((MISSING, PRESENT))
        ):
            name = '"' + name.replace('"', '""') + '"'
        if self.op == "missing":
            return name + MISSING
        if self.op == "present":
            return name + PRESENT
        return f"{name}{self.op}{self.value_text}"


def _split_column(text: str, columns: Mapping[str, str], field: str) -> tuple[str, str]:
    """The column a filter starts with and the rest of it."""
    if text.startswith('"'):
        chars: list[str] = []
        i = 1
        while i < len(text):
            if text[i] == '"':
                if text[i + 1 : i + 2] == '"':
                    chars.append('"')
                    i += 2
                    continue
                break
            chars.append(text[i])
            i += 1
        else:
            raise ValidationError(
                f"filter {text[:80]!r}: the quoted column never ends", field=field
            )
        column = "".join(chars)
        if column not in columns:
            raise ValidationError(f"filter {text[:80]!r}: {_unknown(column, columns)}", field=field)
        return column, text[i + 1 :]
    # A bare name runs to the first operator character (names holding one are quoted).
    cut = min((i for i in map(text.find, "<>=!") if i >= 0), default=len(text))
    head, rest = text[:cut], text[cut:]
    if not rest:  # no operator: "column is missing" / "column is present"
        lowered = head.lower()
        suffix = next((x for x in (MISSING, PRESENT) if lowered.endswith(x)), "")
        head, rest = head[: len(head) - len(suffix)], head[len(head) - len(suffix) :]
    for candidate in (head, head.strip()):
        if candidate in columns:
            return candidate, rest
    raise ValidationError(
        f"filter {text[:80]!r}: {_unknown(head.strip(), columns)}; write column, operator "
        'and value, e.g. age>=30 or plan=pro (quote a name holding <, >, =, ! or ": "a>b">=1)',
        field=field,
    )


def _unknown(column: str, columns: Iterable[str]) -> str:
    names = list(columns)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"unknown column {column[:80]!r} (the columns: {shown})"


def _convert(raw: str, kind: str, text: str, field: str) -> Value:
    if kind == "number":
        try:
            number = float(raw.strip())
        except ValueError:
            raise ValidationError(
                f"filter {text[:80]!r}: expected a number after the operator, got {raw[:40]!r}",
                field=field,
            ) from None
        if not math.isfinite(number):
            raise ValidationError(
                f"filter {text[:80]!r}: expected a finite number, got {raw[:40]!r}", field=field
            )
        return number
    if kind == "boolean":
        word = raw.strip().lower()
        if word not in ("true", "false", "1", "0"):
            raise ValidationError(
                f"filter {text[:80]!r}: expected true or false, got {raw[:40]!r}", field=field
            )
        return word in ("true", "1")
    if kind == "time":
        try:
            return parse_time(raw, field)
        except ValidationError as error:
            raise ValidationError(f"filter {text[:80]!r}: {error.message}", field=field) from None
    return raw


def _format(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else str(value)


@dataclass(frozen=True)
class RowOrder:
    """Sort by ``column`` (written ``-column`` in a URL when ``descending``); missing values
    last either way."""

    column: str = "ts"
    descending: bool = False

    @classmethod
    def parse(cls, text: str, columns: Mapping[str, str], field: str = "order") -> RowOrder:
        if text in columns:
            return cls(text)
        if text.startswith("-") and text[1:] in columns:
            return cls(text[1:], True)
        raise ValidationError(
            f"cannot order by {text[:80]!r}: {_unknown(text.removeprefix('-'), columns)}; "
            "write a column, or -column for descending",
            field=field,
        )

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.column


@dataclass(frozen=True)
class RowQuery:
    """Predictions with ``start <= ts < end`` (of ``model_version`` when given; ``labelled``
    True: with ground truth only, False: without), passing every filter, ordered, one page of
    ``limit`` rows from ``offset``; ``columns`` None lists every column but the bookkeeping
    ones."""

    start: datetime
    end: datetime
    filters: tuple[RowFilter, ...] = ()
    model_version: str | None = None
    labelled: bool | None = None
    columns: tuple[str, ...] | None = None
    order: RowOrder = field(default_factory=RowOrder)
    limit: int = 100
    offset: int = 0

    def selected(self, available: Mapping[str, str]) -> list[str]:
        """The columns to list, checked against ``available`` (name → kind)."""
        if self.columns is None:
            return [c for c in available if c not in HIDDEN]
        unknown = [c for c in self.columns if c not in available]
        if unknown:
            raise ValidationError(_unknown(unknown[0], available), field="column")
        return list(dict.fromkeys(self.columns))

    def check(self, available: Mapping[str, str]) -> None:
        """Raise a ValidationError unless every column this query names is in ``available``
        (a query built by hand rather than parsed against the model's columns)."""
        self.selected(available)
        for f in self.filters:
            if f.column not in available:
                raise ValidationError(_unknown(f.column, available), field="filter")
            if f.op not in (*OPERATORS, "missing", "present"):
                raise ValidationError(f"unknown filter operator {f.op!r}", field="filter")
        if self.order.column not in available:
            raise ValidationError(_unknown(self.order.column, available), field="order")
        if self.limit < 0 or self.offset < 0:
            raise ValidationError("limit and offset cannot be negative", field="limit")


@dataclass(frozen=True)
class RowsPage:
    """One page of rows (``table``, in the store layout: times as naive UTC) and how many rows
    the query selects in all (``total``)."""

    table: pa.Table
    total: int
