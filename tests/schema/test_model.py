"""Model schemas: inference from first records, pinning, reserved names and value coercion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sightline.errors import SchemaError, ValidationError
from sightline.schema.model import (
    RESERVED_NAMES,
    ColumnRole,
    ColumnSpec,
    ColumnType,
    ModelSchema,
    conform_value,
    infer_type,
)

NUMBER, STRING, BOOLEAN = ColumnType.NUMBER, ColumnType.STRING, ColumnType.BOOLEAN


def specs(columns: tuple[ColumnSpec, ...]) -> list[tuple[str, str, str]]:
    return [(c.name, c.type.value, c.role.value) for c in columns]


# --- evolve: inference --------------------------------------------------------------------------


def test_evolve_infers_features_outputs_and_target() -> None:
    schema, changes = ModelSchema("churn").evolve(
        [{"age": 31, "plan": "pro", "active": True, "score": 0.5}],
        [{"label": "yes", "proba": 0.83}],
        [1],
    )
    assert specs(schema.features) == [
        ("age", "number", "numerical"),
        ("plan", "string", "categorical"),
        ("active", "boolean", "categorical"),
        ("score", "number", "numerical"),
    ]
    # every output is a prediction, whatever its type
    assert specs(schema.outputs) == [
        ("label", "string", "prediction"),
        ("proba", "number", "prediction"),
    ]
    assert schema.target == ColumnSpec("target", NUMBER, ColumnRole.TARGET)
    assert changes == [
        "added feature 'age' (number)",
        "added feature 'plan' (string)",
        "added feature 'active' (boolean)",
        "added feature 'score' (number)",
        "added output 'label' (string)",
        "added output 'proba' (number)",
        "added target (number)",
    ]
    assert [c.name for c in schema.columns()] == [
        "age",
        "plan",
        "active",
        "score",
        "label",
        "proba",
        "target",
    ]


def test_a_plain_prediction_is_an_output_named_prediction() -> None:
    schema, _ = ModelSchema("m").evolve([{}], [0.3], None)
    assert specs(schema.outputs) == [("prediction", "number", "prediction")]
    assert schema.target is None


def test_missing_values_do_not_add_a_column_until_a_value_shows_its_type() -> None:
    schema, changes = ModelSchema("m").evolve(
        [{"a": None, "b": float("nan")}, {"a": None}], [0.1, 0.2], [None, float("nan")]
    )
    assert schema.features == ()
    assert schema.target is None
    assert changes == ["added output 'prediction' (number)"]
    schema, changes = schema.evolve([{"a": "x", "b": 2}], [0.3], [True])
    assert specs(schema.features) == [("a", "string", "categorical"), ("b", "number", "numerical")]
    assert schema.target is not None
    assert schema.target.type is BOOLEAN
    assert changes == [
        "added feature 'a' (string)",
        "added feature 'b' (number)",
        "added target (boolean)",
    ]


def test_type_comes_from_the_first_present_value() -> None:
    schema, _ = ModelSchema("m").evolve([{"x": None}, {"x": 3}, {"x": "three"}], [1, 2, 3], None)
    assert specs(schema.features) == [("x", "number", "numerical")]


def test_known_columns_are_pinned() -> None:
    schema, _ = ModelSchema("m").evolve([{"age": 31}], [0.5], [0])
    again, changes = schema.evolve([{"age": "thirty", "new": "x"}], ["label"], ["yes"])
    assert changes == ["added feature 'new' (string)"]
    assert again.features[0] == ColumnSpec("age", NUMBER, ColumnRole.NUMERICAL)
    assert again.outputs == schema.outputs
    assert again.target == schema.target
    assert again.model == "m"


def test_evolve_with_nothing_new_changes_nothing() -> None:
    schema, _ = ModelSchema("m").evolve([{"a": 1}], [1], [1])
    again, changes = schema.evolve([{"a": 2}, {}], [3], [0])
    assert again == schema
    assert changes == []


def test_nested_first_values_are_not_columns_yet() -> None:
    schema, changes = ModelSchema("m").evolve([{"meta": {"a": 1}, "ids": [1, 2]}], [1], None)
    assert schema.feature_names == []
    assert changes == ["added output 'prediction' (number)"]


def test_infer_type() -> None:
    assert infer_type(None) is None
    assert infer_type(float("nan")) is None
    assert infer_type(True) is BOOLEAN
    assert infer_type(0) is NUMBER
    assert infer_type(2.5) is NUMBER
    assert infer_type("2.5") is STRING


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESERVED_NAMES))
def test_reserved_feature_name_is_rejected_with_its_field(name: str) -> None:
    with pytest.raises(SchemaError) as caught:
        ModelSchema("m").evolve([{name: 1}], [0.5], None)
    assert caught.value.field == f"features.{name}"
    assert "reserved" in str(caught.value)
    assert "rename" in str(caught.value)


@pytest.mark.parametrize("name", ["ts", "target", "record_id"])
def test_reserved_output_name_is_rejected_with_its_field(name: str) -> None:
    with pytest.raises(SchemaError) as caught:
        ModelSchema("m").evolve([{}], [{name: 1}], None)
    assert caught.value.field == f"prediction.{name}"
    assert isinstance(caught.value, ValidationError)


def test_feature_and_output_may_not_share_a_name() -> None:
    with pytest.raises(SchemaError) as caught:
        ModelSchema("m").evolve([{"score": 1.0}], [{"score": 0.3}], None)
    assert caught.value.field == "prediction.score"
    assert "same name" in str(caught.value)


@pytest.mark.parametrize("name", ["", "x" * 129, "tab\there", "new\nline"])
def test_bad_feature_names_are_rejected(name: str) -> None:
    with pytest.raises(SchemaError) as caught:
        ModelSchema("m").evolve([{name: 1}], [0], None)
    assert caught.value.field == "features"
    assert "printable" in str(caught.value)


def test_longest_allowed_name() -> None:
    schema, _ = ModelSchema("m").evolve([{"x" * 128: 1}], [0], None)
    assert schema.feature_names == ["x" * 128]


# --- conform ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (2.5, 2.5),
        (-0.0, 0.0),
        ("3.25", 3.25),
        (" 42 ", 42.0),
        ("1e3", 1000.0),
        ("-7", -7.0),
        (None, None),
        (float("nan"), None),
        ("nan", None),
        ("NaN", None),
    ],
)
def test_conform_number(value: object, expected: float | None) -> None:
    result = conform_value(NUMBER, value, "features.x", 0)
    assert result == expected
    if expected is not None:
        assert type(result) is float


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (float("inf"), "infinity"),
        (float("-inf"), "infinity"),
        ("inf", "infinity"),
        ("-Infinity", "infinity"),
        ("1e400", "infinity"),
        (True, "boolean"),
        (False, "boolean"),
        ("abc", "string 'abc'"),
        ("", "string ''"),
        (datetime(2026, 1, 1, tzinfo=UTC), "datetime"),
    ],
)
def test_conform_number_rejects(value: object, fragment: str) -> None:
    with pytest.raises(SchemaError) as caught:
        conform_value(NUMBER, value, "features.x", 5)
    assert caught.value.index == 5
    assert caught.value.field == "features.x"
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("record 5, field 'features.x': ")


def test_conform_number_rejects_an_integer_beyond_float_range() -> None:
    with pytest.raises(SchemaError) as caught:
        conform_value(NUMBER, 10**400, "features.x", 0)
    assert caught.value.field == "features.x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pro", "pro"),
        ("", ""),
        (3, "3"),
        (-12, "-12"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_conform_string(value: object, expected: str | None) -> None:
    result = conform_value(STRING, value, "features.plan", 0)
    assert result == expected
    assert expected is None or type(result) is str


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        ("true", True),
        ("False", False),
        (None, None),
    ],
)
def test_conform_boolean(value: object, expected: bool | None) -> None:
    assert conform_value(BOOLEAN, value, "target", 0) is expected


@pytest.mark.parametrize("value", [2, 0.5, "yes", "1", float("nan")])
def test_conform_boolean_rejects(value: object) -> None:
    with pytest.raises(SchemaError) as caught:
        conform_value(BOOLEAN, value, "target", 9)
    assert (caught.value.index, caught.value.field) == (9, "target")


@pytest.mark.parametrize("kind", list(ColumnType))
@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], (1,), []])
def test_nested_values_are_rejected_for_every_type(kind: ColumnType, value: object) -> None:
    with pytest.raises(SchemaError) as caught:
        conform_value(kind, value, "features.meta", 2)
    assert (caught.value.index, caught.value.field) == (2, "features.meta")
    assert "nested" in str(caught.value)
    assert "flatten" in str(caught.value)


def test_conform_features_outputs_and_target_name_their_fields() -> None:
    schema, _ = ModelSchema("m").evolve(
        [{"age": 31, "plan": "pro"}], [{"label": "a", "score": 0.5}], [1]
    )
    assert schema.conform_features({"age": "40", "plan": 7, "extra": "x"}, 0) == {
        "age": 40.0,
        "plan": "7",
    }
    assert schema.conform_features({}, 0) == {"age": None, "plan": None}
    assert schema.conform_outputs({"label": True, "score": "0.25"}, 0) == {
        "label": "true",
        "score": 0.25,
    }
    assert schema.conform_target("1", 0) == 1.0
    with pytest.raises(SchemaError) as caught:
        schema.conform_features({"age": "old"}, 3)
    assert (caught.value.index, caught.value.field) == (3, "features.age")
    with pytest.raises(SchemaError) as caught:
        schema.conform_outputs({"score": float("inf")}, 4)
    assert (caught.value.index, caught.value.field) == (4, "prediction.score")
    with pytest.raises(SchemaError) as caught:
        schema.conform_target([1], 6)
    assert (caught.value.index, caught.value.field) == (6, "target")


def test_conform_plain_prediction_names_the_prediction_field() -> None:
    schema, _ = ModelSchema("m").evolve([{}], [0.5], None)
    assert schema.conform_outputs("0.75", 0) == {"prediction": 0.75}
    with pytest.raises(SchemaError) as caught:
        schema.conform_outputs(True, 1)
    assert (caught.value.index, caught.value.field) == (1, "prediction")
    assert schema.conform_target(1, 0) is None  # no target column yet


def test_schema_dict_round_trip() -> None:
    schema, _ = ModelSchema("churn").evolve([{"age": 31, "plan": "pro"}], [{"p": 0.1}], ["yes"])
    data = schema.to_dict()
    assert data["target"] == {"name": "target", "type": "string", "role": "target"}
    assert ModelSchema.from_dict(data) == schema
    empty = ModelSchema("m")
    assert ModelSchema.from_dict(empty.to_dict()) == empty
