"""Settings (one declarative table, read once at the edge) and the exception tree."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

import sightline.errors as errors_module
from sightline.config import ENV_PREFIX, Settings
from sightline.errors import (
    BatchError,
    ComputeError,
    ConfigError,
    NotFoundError,
    SchemaError,
    SightlineError,
    StoreError,
    TransportError,
    ValidationError,
)

# --- Settings.load ------------------------------------------------------------------------------


def test_defaults_without_environment() -> None:
    s = Settings.load()
    assert s.port == 8000
    assert s.host == "127.0.0.1"
    assert s.data_dir == Path("sightline-data")
    assert s.min_rows == 30
    assert s.window_delay == 300.0
    assert s.granularity == "1h"


def test_load_ignores_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing reads os.environ implicitly: the edge passes the environment in.
    monkeypatch.setenv("SIGHTLINE_PORT", "9123")
    assert Settings.load().port == 8000
    assert Settings.load(environ={"SIGHTLINE_PORT": "9123"}).port == 9123


def test_environment_values_are_parsed_to_their_types() -> None:
    s = Settings.load(
        environ={
            "SIGHTLINE_PORT": "9000",
            "SIGHTLINE_WINDOW_DELAY": "12.5",
            "SIGHTLINE_DATA_DIR": "/tmp/sl",
            "SIGHTLINE_API_KEY": "secret",
            "SIGHTLINE_MIN_ROWS": " 7 ",
            "SIGHTLINE_SCHEDULE_INTERVAL": "0",
        }
    )
    assert s.port == 9000
    assert isinstance(s.port, int)
    assert s.window_delay == 12.5
    assert isinstance(s.window_delay, float)
    assert s.data_dir == Path("/tmp/sl")
    assert isinstance(s.data_dir, Path)
    assert s.api_key == "secret"
    assert s.min_rows == 7
    assert s.schedule_interval == 0.0
    assert isinstance(s.schedule_interval, float)


def test_unrelated_environment_variables_are_ignored() -> None:
    s = Settings.load(environ={"PORT": "1", "SIGHTLINE_NOT_A_SETTING": "x", "sightline_port": "2"})
    assert s == Settings()


def test_overrides_win_over_environment() -> None:
    s = Settings.load(environ={"SIGHTLINE_PORT": "9000", "SIGHTLINE_HOST": "0.0.0.0"}, port=9100)
    assert s.port == 9100
    assert s.host == "0.0.0.0"


def test_none_overrides_are_ignored() -> None:
    # CLI flags that were not given arrive as None and must not clobber the environment.
    s = Settings.load(environ={"SIGHTLINE_PORT": "9000"}, port=None, host=None)
    assert s.port == 9000
    assert s.host == "127.0.0.1"


def test_string_overrides_are_parsed_and_typed_overrides_kept() -> None:
    s = Settings.load(port="9001", data_dir="relative/dir", window_delay=1.5)
    assert s.port == 9001
    assert s.data_dir == Path("relative/dir")
    assert s.window_delay == 1.5


def test_unknown_override_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        Settings.load(prot=9000)


@pytest.mark.parametrize(
    ("env", "raw", "expected_type"),
    [
        ("SIGHTLINE_PORT", "eighty", "int"),
        ("SIGHTLINE_PORT", "80.5", "int"),
        ("SIGHTLINE_PORT", "", "int"),
        ("SIGHTLINE_MIN_ROWS", "1e3", "int"),
        ("SIGHTLINE_WINDOW_DELAY", "five minutes", "float"),
        ("SIGHTLINE_CATCHUP_DAYS", "", "float"),
        ("SIGHTLINE_MAX_BODY_BYTES", "64MB", "int"),
    ],
)
def test_bad_environment_value_names_the_variable(env: str, raw: str, expected_type: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={env: raw})
    message = str(caught.value)
    assert env in message
    assert f"expected {expected_type}" in message
    assert repr(raw) in message


def test_bad_string_override_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="port: expected int, got 'abc'"):
        Settings.load(port="abc")


def test_settings_are_frozen() -> None:
    s = Settings.load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_store_urls_default_to_the_data_dir(tmp_path: Path) -> None:
    s = Settings.load(data_dir=tmp_path)
    assert s.prediction_store_url == f"duckdb:///{tmp_path / 'predictions.duckdb'}"
    assert s.metric_store_url == f"duckdb:///{tmp_path / 'metrics.duckdb'}"
    s = Settings.load(environ={"SIGHTLINE_METRIC_STORE": "duckdb:///elsewhere.duckdb"})
    assert s.metric_store_url == "duckdb:///elsewhere.duckdb"


def test_conftest_settings_fixture(settings: Settings, tmp_path: Path) -> None:
    assert settings.data_dir == tmp_path / "data"
    assert settings.schedule_interval == 0.0
    assert settings.port != 8000


# --- Settings.table -----------------------------------------------------------------------------


def test_table_has_one_complete_row_per_setting() -> None:
    rows = Settings.table()
    fields = dataclasses.fields(Settings)
    assert [r["name"] for r in rows] == [f.name for f in fields]
    for row, f in zip(rows, fields, strict=True):
        assert set(row) == {"name", "type", "default", "env", "help"}
        assert row["env"] == ENV_PREFIX + f.name.upper()
        assert row["default"] == str(f.default)
        assert row["help"].strip(), f"setting {f.name} has no help text"
        assert all(isinstance(v, str) for v in row.values())


def test_table_types_match_what_load_parses() -> None:
    by_name = {r["name"]: r for r in Settings.table()}
    assert by_name["port"]["type"] == "int"
    assert by_name["window_delay"]["type"] == "float"
    assert by_name["data_dir"]["type"] == "Path"
    assert by_name["host"]["type"] == "str"
    assert by_name["data_dir"]["default"] == "sightline-data"
    assert by_name["max_body_bytes"]["default"] == str(64 * 1024 * 1024)


def test_every_row_of_the_table_round_trips_through_the_environment() -> None:
    # Each row's env var really sets that setting, and its default parses back to the default.
    for row in Settings.table():
        s = Settings.load(environ={row["env"]: row["default"]})
        assert getattr(s, row["name"]) == getattr(Settings(), row["name"])


# --- the exception tree -------------------------------------------------------------------------


def _error_classes() -> list[type[Exception]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == errors_module.__name__
    ]


def test_every_error_subclasses_the_root() -> None:
    classes = _error_classes()
    assert len(classes) == len(errors_module.__all__)
    for cls in classes:
        assert issubclass(cls, SightlineError), cls
    assert sorted(errors_module.__all__) == errors_module.__all__
    assert {c.__name__ for c in classes} == set(errors_module.__all__)


def test_tree_matches_the_docstring() -> None:
    for cls in (ConfigError, ValidationError, NotFoundError, StoreError, ComputeError):
        assert cls.__bases__ == (SightlineError,)
    assert TransportError.__bases__ == (SightlineError,)
    assert SchemaError.__bases__ == (ValidationError,)
    assert BatchError.__bases__ == (ValidationError,)
    for cls in _error_classes():
        assert cls.__name__ in (errors_module.__doc__ or "")


def test_validation_error_message_has_record_index_and_field() -> None:
    error = ValidationError("expected a number", index=3, field="features.age")
    assert str(error) == "record 3, field 'features.age': expected a number"
    assert error.index == 3
    assert error.field == "features.age"
    assert error.message == "expected a number"
    assert error.to_dict() == {
        "index": 3,
        "field": "features.age",
        "message": "expected a number",
    }


def test_validation_error_message_with_only_part_of_the_location() -> None:
    assert str(ValidationError("bad", index=0)) == "record 0: bad"
    assert str(ValidationError("bad", field="records")) == "field 'records': bad"
    assert str(ValidationError("bad")) == "bad"


def test_schema_error_is_a_validation_error_with_location() -> None:
    with pytest.raises(ValidationError, match=r"record 1, field 'prediction': no"):
        raise SchemaError("no", index=1, field="prediction")


def test_batch_error_lists_every_error() -> None:
    errors = [
        ValidationError("is required", index=0, field="model"),
        SchemaError("expected a number", index=4, field="features.age"),
    ]
    batch = BatchError(errors)
    assert batch.errors == errors
    assert batch.index == 0
    assert batch.field == "model"
    data = batch.to_dict()
    assert data["errors"] == [
        {"index": 0, "field": "model", "message": "is required"},
        {"index": 4, "field": "features.age", "message": "expected a number"},
    ]
    assert data["message"] == "record 0, field 'model': is required (and 1 more)"


def test_batch_error_with_one_error_has_no_more_suffix() -> None:
    batch = BatchError([ValidationError("is required", index=2, field="target")])
    assert batch.to_dict()["message"] == "record 2, field 'target': is required"
    assert len(batch.to_dict()["errors"]) == 1  # type: ignore[arg-type]


def test_empty_batch_error_still_has_a_message() -> None:
    batch = BatchError([])
    assert batch.to_dict() == {"message": "invalid batch", "errors": []}
    assert batch.index is None


def test_batch_error_str_states_the_location_once() -> None:
    batch = BatchError(
        [
            ValidationError("is required", index=0, field="model"),
            ValidationError("is required", index=1, field="model"),
        ]
    )
    assert str(batch) == "record 0, field 'model': is required (and 1 more)"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("SIGHTLINE_GRANULARITY", "7m", "one of 5m, 15m, 1h, 1d, 1w"),
        ("SIGHTLINE_PORT", "-1", "at least 1"),
        ("SIGHTLINE_PORT", "70000", "at most 65535"),
        ("SIGHTLINE_LOG_LEVEL", "loud", "one of debug"),
        ("SIGHTLINE_WINDOW_DELAY", "nan", "NaN"),
        ("SIGHTLINE_MIN_ROWS", "0", "at least 1"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_variable(env, value, expected):
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={env: value})
    assert env in str(caught.value)
    assert expected in str(caught.value)


def test_a_boolean_is_not_a_port():
    with pytest.raises(ConfigError, match="SIGHTLINE_PORT"):
        Settings.load(port=True)


def test_integer_overrides_of_float_settings_become_floats():
    assert Settings.load(window_delay=5).window_delay == 5.0
    assert isinstance(Settings.load(window_delay=5).window_delay, float)


def test_granularity_choices_match_the_windows_module():
    from sightline.schema import GRANULARITIES

    row = next(f for f in dataclasses.fields(Settings) if f.name == "granularity")
    assert set(row.metadata["choices"]) == set(GRANULARITIES)


def test_the_url_follows_the_host_and_port_unless_set() -> None:
    assert Settings.load({}, port=8765).url == "http://127.0.0.1:8765"
    assert Settings.load({"SIGHTLINE_HOST": "0.0.0.0", "SIGHTLINE_PORT": "9000"}).url == (
        "http://127.0.0.1:9000"
    )
    assert Settings.load({"SIGHTLINE_URL": "https://sightline.example"}, port=1).url == (
        "https://sightline.example"
    )
    assert Settings.load({}).url == "http://127.0.0.1:8000"
