"""Row filters and orders as written in URLs: parsing, typing, errors, and text round-trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sightline.errors import ValidationError
from sightline.schema import ModelSchema
from sightline.schema.rows import RowFilter, RowOrder, row_columns

COLUMNS = {
    "age": "number",
    "plan": "string",
    "vip": "boolean",
    "ts": "time",
    "a": "number",
    "a>": "string",
    'say "hi"': "string",
    "x is missing": "string",
    " pad ": "number",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age>=30", RowFilter("age", ">=", 30.0)),
        ("age<-1.5e3", RowFilter("age", "<", -1500.0)),
        ("plan=pro", RowFilter("plan", "=", "pro")),
        ("plan=", RowFilter("plan", "=", "")),
        ("plan!=a=b c", RowFilter("plan", "!=", "a=b c")),
        ("vip=TRUE", RowFilter("vip", "=", True)),
        ("vip=0", RowFilter("vip", "=", False)),
        ("ts<2026-03-02T10:00:00Z", RowFilter("ts", "<", datetime(2026, 3, 2, 10, tzinfo=UTC))),
        ("age is missing", RowFilter("age", "missing")),
        ("plan IS PRESENT", RowFilter("plan", "present")),
        # A bare name runs to the first operator character; quotes hold any name.
        ("a>=5", RowFilter("a", ">=", 5.0)),
        ('"a>"=5', RowFilter("a>", "=", "5")),
        ("age >= 30", RowFilter("age", ">=", 30.0)),
        ('"say ""hi"""=yes', RowFilter('say "hi"', "=", "yes")),
    ],
)
def test_filters_parse(text: str, expected: RowFilter) -> None:
    assert RowFilter.parse(text, COLUMNS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty filter"),
        ("height>3", "unknown column 'height'"),
        ("age~3", "unknown column 'age~3'"),
        ("a>b>=3", "expected a number after the operator, got 'b>=3'"),
        ("age>=old", "expected a number after the operator, got 'old'"),
        ("age>=nan", "expected a finite number"),
        ("plan>b", "'plan' is a string column; compare it with = or !="),
        ("vip=maybe", "expected true or false"),
        ("ts>soon", "expected an ISO 8601 time or epoch seconds"),
        ('"age>=3', "the quoted column never ends"),
        ('"age"~3', "expected an operator"),
        ("age" + "=1" * 2000, "longer than 2000 characters"),
    ],
)
def test_bad_filters_say_what_is_wrong_and_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        RowFilter.parse(text, COLUMNS, field="filter[2]")
    assert message in error.value.message
    assert error.value.field == "filter[2]"


@given(
    column=st.sampled_from(sorted(COLUMNS)),
    op=st.sampled_from(["=", "!=", ">=", "missing"]),
    number=st.floats(allow_nan=False, allow_infinity=False),
    text=st.text(),
)
def test_a_filter_written_out_parses_back_to_itself(
    column: str, op: str, number: float, text: str
) -> None:
    kind = COLUMNS[column]
    if kind != "number" and op == ">=":
        op = "="
    value = {"number": number, "string": text, "boolean": True, "time": datetime.now(UTC)}[kind]
    original = RowFilter(column, op, None if op == "missing" else value)
    assert RowFilter.parse(str(original), COLUMNS) == original


def test_orders() -> None:
    assert RowOrder.parse("-age", COLUMNS) == RowOrder("age", descending=True)
    assert str(RowOrder("age", descending=True)) == "-age"
    assert RowOrder.parse("plan", COLUMNS) == RowOrder("plan")
    with pytest.raises(ValidationError) as error:
        RowOrder.parse("-height", COLUMNS)
    assert error.value.field == "order"


def test_row_columns_follow_the_schema() -> None:
    schema, _ = ModelSchema("m").evolve([{"age": 1, "plan": "a"}], [{"score": 0.5}], ["yes"])
    assert row_columns(schema) == {
        "request_id": "string",
        "ts": "time",
        "model_version": "string",
        "age": "number",
        "plan": "string",
        "score": "number",
        "target": "string",
        "feedback_ts": "time",
        "tags": "string",
        "record_id": "string",
        "received_at": "time",
        "sample_rate": "number",
    }
