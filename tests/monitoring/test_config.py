"""The YAML config file: what a valid file gives, and where each mistake is reported.

Every error must read ``file:line: dotted.field: message``. The mistakes below are written as
small YAML files with ``# <-`` on the line the error must name, so the expected line number is
read from the text itself, not counted by hand.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sightline.cli.main import main
from sightline.config import Settings
from sightline.errors import ConfigError, ValidationError
from sightline.monitoring.config import (
    config_for,
    load_config,
    model_config_from_dict,
    parse_config,
    parse_duration,
)
from sightline.schema.monitors import SUITES, ModelConfig, Monitor, ReferenceSpec
from tests.conftest import ROOT

SOURCE = "sightline.yaml"

FULL = """\
defaults:
  granularity: 1d
  delay: 5m
  min_rows: 50
  suites: [drift, data_quality]
  thresholds: {x: 0.3}
  reference: {trailing_windows: 3}

models:
  churn:
    task: classification
    prediction_score: score
    prediction_label: label
    positive_label: 1
    columns:
      zip_code: categorical
      customer_id: ignore
      age: numerical
    bounds:
      age: [18, 120]
      income: [0.5, 1000000]
    reference:
      dataset: golden
    monitors:
      - name: hourly
        granularity: 1h
        delay: 2h
        suites: [drift, data_quality, model_quality, estimated_quality, service_health]
        segments: [region, plan]
        top_segments: 5
        methods: {age: psi, region: jensenshannon}
        thresholds: {age: 0.2}
        drift_share: 0.25
      - name: daily
        granularity: 1d
        delay: 300
        reference: {range: {from: 2026-01-01, to: "2026-01-08T12:00:00Z"}}
      - name: moving
        reference: {previous_window: true}
      - name: versions
        granularity: 1w
        reference:
          previous_version: {days: 3}
  fraud:
    task: regression
    granularity: 15m
    delay: 90s
    min_rows: 10
    reference: {previous_version: true}
  plain: {}
  empty:
"""


def parse(text: str) -> dict[str, ModelConfig]:
    return parse_config(text, SOURCE).models


# -- a valid file --------------------------------------------------------------------------------


def test_a_full_file_gives_the_expected_model_sections() -> None:
    config = parse_config(FULL, SOURCE)

    assert list(config.models) == ["churn", "fraud", "plain", "empty"]
    churn = config.models["churn"]
    assert (churn.name, churn.task, churn.prediction_score, churn.prediction_label) == (
        "churn",
        "classification",
        "score",
        "label",
    )
    assert churn.positive_label == 1
    assert churn.columns == {"zip_code": "categorical", "customer_id": "ignore", "age": "numerical"}
    assert churn.bounds == {"age": (18.0, 120.0), "income": (0.5, 1e6)}
    assert [m.name for m in churn.monitors] == ["hourly", "daily", "moving", "versions"]
    assert churn.monitor() is churn.monitors[0]
    assert churn.monitor("moving") is churn.monitors[2]
    with pytest.raises(KeyError):
        churn.monitor("weekly")


def test_a_full_file_gives_the_expected_monitors() -> None:
    hourly, daily, moving, versions = parse(FULL)["churn"].monitors

    assert hourly == Monitor(
        name="hourly",
        granularity="1h",
        reference=ReferenceSpec("dataset", name="golden"),  # the model's reference
        suites=SUITES,
        min_rows=50,  # from the defaults
        drift_share=0.25,
        methods={"age": "psi", "region": "jensenshannon"},
        thresholds={"x": 0.3, "age": 0.2},  # the defaults' thresholds, then its own
        segments=("region", "plan"),
        top_segments=5,
        delay=7200.0,
    )
    assert daily.granularity == "1d"
    assert daily.delay == 300.0
    assert daily.reference == ReferenceSpec(
        "range",
        start=datetime(2026, 1, 1, tzinfo=UTC),  # a YAML date: its midnight, UTC
        end=datetime(2026, 1, 8, 12, tzinfo=UTC),
    )
    assert daily.suites == frozenset({"drift", "data_quality"})  # the defaults' suites
    assert daily.segments == ()
    # A monitor without a name is named after its position; fields not given are the defaults'.
    assert moving.reference == ReferenceSpec("previous_window")
    assert moving.reference.moving
    assert (moving.granularity, moving.delay, moving.min_rows) == ("1d", 300.0, 50)
    assert versions.reference == ReferenceSpec("previous_version", days=3.0)
    assert versions.granularity == "1w"


def test_defaults_inherit_into_models_and_shorthand_monitors() -> None:
    config = parse_config(FULL, SOURCE)

    # The defaults section is a model section of its own ...
    [default] = config.defaults.monitors
    assert (default.name, default.granularity, default.delay, default.min_rows) == (
        "default",
        "1d",
        300.0,
        50,
    )
    assert default.reference == ReferenceSpec("trailing_windows", windows=3)
    # ... which a shorthand section (monitor fields on the model) starts from ...
    [fraud] = config.models["fraud"].monitors
    assert fraud == Monitor(
        name="default",
        granularity="15m",
        reference=ReferenceSpec("previous_version", days=7.0),
        suites=frozenset({"drift", "data_quality"}),
        min_rows=10,
        thresholds={"x": 0.3},
        delay=90.0,
    )
    assert config.models["fraud"].task == "regression"
    # ... and that an empty section (or a bare name) gets whole.
    assert config.models["plain"].monitors == (default,)
    assert config.models["empty"].monitors == (default,)
    # A model that is not in the file gets the defaults under its own name.
    other = config.model("other")
    assert (other.name, other.monitors) == ("other", (default,))
    assert config.model("churn") is config.models["churn"]


def test_a_monitor_starts_from_the_base_monitor_without_defaults() -> None:
    base = Monitor(granularity="5m", min_rows=7)
    config = parse_config("models:\n  churn:\n    segments: [plan]\n", SOURCE, base)

    [monitor] = config.models["churn"].monitors
    assert (monitor.granularity, monitor.min_rows, monitor.segments) == ("5m", 7, ("plan",))
    assert parse_config("", SOURCE, base).model("x").monitors == (
        Monitor(granularity="5m", min_rows=7),
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("{dataset: golden}", ReferenceSpec("dataset", name="golden"), id="dataset"),
        pytest.param("golden", ReferenceSpec("dataset", name="golden"), id="dataset-shorthand"),
        pytest.param(
            "{range: {from: 2026-01-01, to: 1767830400}}",
            ReferenceSpec(
                "range",
                start=datetime(2026, 1, 1, tzinfo=UTC),
                end=datetime(2026, 1, 8, tzinfo=UTC),
            ),
            id="range",
        ),
        pytest.param("{previous_window: true}", ReferenceSpec("previous_window"), id="previous"),
        pytest.param(
            "{trailing_windows: 24}", ReferenceSpec("trailing_windows", windows=24), id="trailing"
        ),
        pytest.param(
            "{previous_version: true}", ReferenceSpec("previous_version", days=7.0), id="version"
        ),
        pytest.param(
            "{previous_version: {days: 2.5}}",
            ReferenceSpec("previous_version", days=2.5),
            id="version-days",
        ),
    ],
)
def test_every_reference_kind(written: str, expected: ReferenceSpec) -> None:
    [monitor] = parse(f"models:\n  churn:\n    reference: {written}\n")["churn"].monitors
    assert monitor.reference == expected


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("5m", 300.0),
        ("2h", 7200.0),
        ("300", 300.0),
        ("90s", 90.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
    ],
)
def test_delay_durations(written: str, seconds: float) -> None:
    [monitor] = parse(f"models:\n  churn:\n    delay: {written}\n")["churn"].monitors
    assert monitor.delay == seconds
    assert parse_duration(written) == seconds


def test_the_example_in_the_docs_is_valid() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block is not None, "docs/configuration.md lost its YAML example"

    config = parse_config(block.group(1), "docs.yaml")

    churn = config.models["churn"]
    assert [(m.name, m.granularity) for m in churn.monitors] == [("hourly", "1h"), ("daily", "1d")]
    assert churn.monitors[0].segments == ("region",)
    assert churn.monitors[1].reference == ReferenceSpec("trailing_windows", windows=7)
    assert churn.columns == {"zip_code": "categorical", "customer_id": "ignore"}


def test_the_error_in_the_docs_is_the_one_the_parser_writes() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    documented = re.search(r"error: sightline\.yaml:\d+: (.*)", page)
    assert documented is not None
    text = "models:\n  churn:\n    monitors:\n      - name: a\n      - granularity: 7m\n"

    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)

    assert str(caught.value) == f"{SOURCE}:5: {documented.group(1)}"


# -- mistakes: file, line and field --------------------------------------------------------------

MISTAKES = [
    pytest.param(
        """
        models:
          churn:
            monitors:
              - name: hourly
                granularity: 1h
              - name: daily
                granularty: 1d  # <-
        """,
        "models.churn.monitors[1].granularty",
        "unknown field 'granularty'; did you mean 'granularity'?",
        id="unknown-monitor-field",
    ),
    pytest.param(
        """
        defaults:
          granularity: 1h
        model:  # <-
          churn: {}
        """,
        "model",
        "unknown field 'model'; did you mean 'models'?",
        id="unknown-top-level-field",
    ),
    pytest.param(
        """
        models:
          churn:
            prediction_score: score
            positive_lable: 1  # <-
        """,
        "models.churn.positive_lable",
        "did you mean 'positive_label'?",
        id="unknown-model-field",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors:
              - name: hourly
                granularity: 1h
              - name: weekly
                granularity: 7m  # <-
        """,
        "models.churn.monitors[1].granularity",
        "unknown granularity '7m'; use one of 5m, 15m, 1h, 1d, 1w",
        id="unknown-granularity",
    ),
    pytest.param(
        """
        defaults:
          granularity: 2h  # <-
        """,
        "defaults.granularity",
        "unknown granularity '2h'",
        id="unknown-granularity-in-defaults",
    ),
    pytest.param(
        """
        models:
          churn:
            suites:
              - drift
              - vibes  # <-
        """,
        "models.churn.suites[1]",
        "unknown suite 'vibes'; use: data_quality, drift",
        id="unknown-suite",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors:
              - methods:
                  age: psi
                  plan: psy  # <-
        """,
        "models.churn.monitors[0].methods.plan",
        "unknown drift method 'psy'; known: ",
        id="unknown-drift-method",
    ),
    pytest.param(
        """
        models:
          churn:
            methods:
              age: [psi, ks]  # <-
        """,
        "models.churn.methods.age",
        "drift method",
        id="method-not-a-string",
    ),
    pytest.param(
        """
        models:
          churn:
            thresholds:
              age: 0.1
              plan: high  # <-
        """,
        "models.churn.thresholds.plan",
        "expected a number",
        id="bad-threshold",
    ),
    pytest.param(
        """
        models:
          churn:
            bounds:
              age: [18, 120]
              income: [100, 10]  # <-
        """,
        "models.churn.bounds.income",
        "low (100) must be below high (10)",
        id="bounds-reversed",
    ),
    pytest.param(
        """
        models:
          churn:
            bounds:
              age: [18]  # <-
        """,
        "models.churn.bounds.age",
        "expected [low, high]",
        id="bounds-not-a-pair",
    ),
    pytest.param(
        """
        models:
          churn:
            bounds:
              age: [low, high]  # <-
        """,
        "models.churn.bounds.age",
        "expected [low, high]",
        id="bounds-not-numbers",
    ),
    pytest.param(
        """
        models:
          churn:
            reference:  # <-
              dataset: golden
              previous_window: true
        """,
        "models.churn.reference",
        "give exactly one of: dataset, previous_version, previous_window, range",
        id="reference-with-two-kinds",
    ),
    pytest.param(
        """
        models:
          churn:
            reference:
              last_week: true  # <-
        """,
        "models.churn.reference.last_week",
        "unknown field 'last_week'",
        id="unknown-reference-kind",
    ),
    pytest.param(
        """
        models:
          churn:
            reference:
              range:
                from: 2026-01-08
                to: 2026-01-01  # <-
        """,
        "models.churn.reference.range.to",
        "'to' must be after 'from'",
        id="range-to-before-from",
    ),
    pytest.param(
        """
        models:
          churn:
            reference:
              range:
                from: 2026-01-08
                to: 2026-01-08  # <-
        """,
        "models.churn.reference.range.to",
        "'to' must be after 'from'",
        id="range-empty",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors:
              - reference:
                  range:
                    from: last tuesday  # <-
                    to: 2026-01-08
        """,
        "models.churn.monitors[0].reference.range.from",
        "expected an ISO 8601 time or epoch seconds, got 'last tuesday'",
        id="range-bad-time",
    ),
    pytest.param(
        """
        models:
          churn:
            reference:
              trailing_windows: 0  # <-
        """,
        "models.churn.reference.trailing_windows",
        "at least 1",
        id="trailing-windows-zero",
    ),
    pytest.param(
        """
        models:
          churn:
            granularity: 1h
            delay: soon  # <-
        """,
        "models.churn.delay",
        "expected a duration such as 5m, 2h or 1d, got 'soon'",
        id="bad-duration",
    ),
    pytest.param(
        """
        defaults:
          delay: -5  # <-
        """,
        "defaults.delay",
        "cannot be negative",
        id="negative-duration",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors:
              - name: hourly
                granularity: 1h
              - name: daily
                granularity: 1d
              - name: hourly  # <-
        """,
        "models.churn.monitors[2].name",
        "two monitors are named 'hourly'",
        id="duplicate-monitor-names",
    ),
    pytest.param(
        """
        models:
          churn:
            task: classification
            granularity: 1d  # <-
            monitors:
              - name: hourly
        """,
        "models.churn.granularity",
        "'granularity' belongs inside one of the monitors when 'monitors' is given",
        id="monitor-field-beside-monitors",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors: []  # <-
        """,
        "models.churn.monitors",
        "expected a non-empty list of monitors",
        id="no-monitors",
    ),
    pytest.param(
        """
        models:
          churn:
            task: ranking  # <-
        """,
        "models.churn.task",
        "expected classification or regression, got 'ranking'",
        id="bad-task",
    ),
    pytest.param(
        """
        models:
          churn:
            columns:
              zip: text  # <-
        """,
        "models.churn.columns.zip",
        "expected numerical, categorical or ignore, got 'text'",
        id="bad-column-role",
    ),
    pytest.param(
        """
        models:
          churn:
            min_rows: 0  # <-
        """,
        "models.churn.min_rows",
        "expected a whole number of at least 1",
        id="min-rows-zero",
    ),
    pytest.param(
        """
        models:
          churn:
            segments: region  # <-
        """,
        "models.churn.segments",
        "expected a list of column names",
        id="segments-not-a-list",
    ),
    pytest.param(
        """
        models:
          churn:
            drift_share: 1.5  # <-
        """,
        "models.churn.drift_share",
        "expected a share in (0, 1]",
        id="drift-share-above-one",
    ),
    pytest.param(
        """
        models:
          churn:
            monitors:
              - name: a
              - granularity  # <-
        """,
        "models.churn.monitors[1]",
        "expected a mapping (key: value), got str",
        id="monitor-not-a-mapping",
    ),
]


def marked_line(text: str) -> int:
    [line] = [n for n, content in enumerate(text.splitlines(), 1) if "# <-" in content]
    return line


@pytest.mark.parametrize(("text", "field", "message"), MISTAKES)
def test_a_mistake_names_the_file_line_and_field(text: str, field: str, message: str) -> None:
    text = textwrap.dedent(text).lstrip("\n")

    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)

    error = str(caught.value)
    prefix = f"{SOURCE}:{marked_line(text)}: {field}: "
    assert error.startswith(prefix), f"{error!r} does not start with {prefix!r}"
    assert message in error


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("models:\n  churn:\n    granularity: 1h\n   monitors: x\n", 4, id="indent"),
        pytest.param("models:\n  churn:\n    granularity: 1h\n\tfraud: {}\n", 4, id="tab"),
        pytest.param("models:\n  churn: {task: [classification}\n", 2, id="unclosed"),
    ],
)
def test_text_that_is_not_yaml_names_the_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}:{line}: not valid YAML: ")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- churn\n- fraud\n", "list"), ("churn and fraud\n", "str"), ("42\n", "int")],
)
def test_a_file_that_is_not_a_mapping_is_refused(text: str, kind: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value) == f"{SOURCE}:1: expected a mapping (key: value), got {kind}"


def test_a_second_mistake_is_not_reported_before_the_first() -> None:
    text = "models:\n  churn:\n    granularity: 7m\n  fraud:\n    granularity: 9m\n"
    with pytest.raises(ConfigError, match=r"^sightline\.yaml:3: models\.churn\.granularity: "):
        parse_config(text, SOURCE)


def test_a_key_written_twice_is_an_error() -> None:
    text = "models:\n  churn:\n    granularity: 1h\n  churn:  # <-\n    granularity: 1d\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}:4: models.churn: ")


def test_previous_version_days_written_as_a_duration() -> None:
    [monitor] = parse("models:\n  churn:\n    reference: {previous_version: {days: 2d}}\n")[
        "churn"
    ].monitors
    assert monitor.reference.days == 2.0


def test_previous_version_days_must_be_positive() -> None:
    text = "models:\n  churn:\n    reference:\n      previous_version: {days: -3}\n"
    with pytest.raises(ConfigError, match=r"^sightline\.yaml:4: models\.churn\.reference\."):
        parse_config(text, SOURCE)


# -- model_config_from_dict (the HTTP API's JSON body) -------------------------------------------


def test_model_config_from_dict_gives_what_the_file_gives() -> None:
    body = {
        "task": "classification",
        "prediction_score": "score",
        "columns": {"customer_id": "ignore"},
        "bounds": {"age": [18, 120]},
        "monitors": [
            {"name": "hourly", "granularity": "1h", "segments": ["plan"], "delay": "2h"},
            {"name": "daily", "granularity": "1d", "reference": {"trailing_windows": 7}},
        ],
    }
    yaml_text = "models:\n  churn: " + json.dumps(body) + "\n"
    base = Monitor(granularity="15m", min_rows=5)

    config = model_config_from_dict("churn", body, base)

    assert config == parse_config(yaml_text, SOURCE, base).models["churn"]
    assert [m.min_rows for m in config.monitors] == [5, 5]  # from the base monitor
    assert config.monitors[0].delay == 7200.0
    assert config.bounds == {"age": (18.0, 120.0)}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"monitors": [{"granularity": "7m"}]}, "monitors[0].granularity", "unknown granularity"),
        ({"granularty": "1h"}, "granularty", "did you mean 'granularity'?"),
        ({"methods": {"age": "psy"}}, "methods.age", "unknown drift method 'psy'"),
        ({"thresholds": {"age": "high"}}, "thresholds.age", "expected a number"),
        ({"bounds": {"age": [9, 1]}}, "bounds.age", "must be below"),
        (
            {"reference": {"dataset": "a", "previous_window": True}},
            "reference",
            "give exactly one of",
        ),
        (
            {"reference": {"range": {"from": "2026-01-08", "to": "2026-01-01"}}},
            "reference.range.to",
            "'to' must be after 'from'",
        ),
        ({"delay": "soon"}, "delay", "expected a duration"),
        (
            {"monitors": [{"name": "a"}, {"name": "a"}]},
            "monitors[1].name",
            "two monitors are named 'a'",
        ),
        ({"granularity": "1d", "monitors": [{}]}, "granularity", "belongs inside one of"),
    ],
)
def test_model_config_from_dict_validates_like_the_file(
    body: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model_config_from_dict("churn", body)
    assert caught.value.field == field
    assert message in caught.value.message


# -- round trip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["churn", "fraud", "plain"])
def test_a_model_config_survives_to_dict_json_and_from_dict(name: str) -> None:
    config = parse(FULL)[name]

    data = json.loads(json.dumps(config.to_dict()))  # as the metric store keeps it

    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict(data).to_dict() == config.to_dict()


def test_every_reference_kind_survives_the_round_trip() -> None:
    references = [
        ReferenceSpec("dataset", name="golden"),
        ReferenceSpec(
            "range", start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2, tzinfo=UTC)
        ),
        ReferenceSpec("previous_window"),
        ReferenceSpec("trailing_windows", windows=24),
        ReferenceSpec("previous_version", days=2.5),
    ]
    config = ModelConfig(
        "churn",
        monitors=tuple(
            Monitor(name=r.kind, reference=r, delay=None if i else 60.0)
            for i, r in enumerate(references)
        ),
        positive_label="yes",
    )
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


# -- files, settings and `sightline config check` ------------------------------------------------


def test_load_config_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(FULL)
    assert list(load_config(good).models) == ["churn", "fraud", "plain", "empty"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  churn:\n    granularity: 7m\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(bad))}:3: models\.churn\.granularity"):
        load_config(bad)

    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "missing.yaml")


def test_config_for_starts_monitors_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "sightline.yaml"
    path.write_text("models:\n  churn:\n    delay: 1m\n")

    settings = Settings.load(data_dir=tmp_path, granularity="1d", min_rows=12)
    [monitor] = config_for(settings).model("anything").monitors
    assert (monitor.granularity, monitor.min_rows, monitor.delay) == ("1d", 12, None)

    configured = config_for(Settings.load(data_dir=tmp_path, granularity="1d", config=str(path)))
    [churn] = configured.models["churn"].monitors
    assert (churn.granularity, churn.delay) == ("1d", 60.0)


def test_config_check_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sightline.yaml"
    path.write_text(FULL)

    assert main(["config", "check", str(path)]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"{path}: OK — 4 model(s) configured")
    assert "churn: hourly (1h), daily (1d), moving (1d), versions (1w)" in out


def test_config_check_refuses_a_broken_file_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sightline.yaml"
    path.write_text(FULL.replace("        top_segments: 5\n", "        top_segments: five\n"))
    line = FULL.splitlines().index("        top_segments: 5") + 1

    assert main(["config", "check", str(path)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {path}:{line}: models.churn.monitors[0].top_segments: ")


def test_config_check_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the config file" in capsys.readouterr().err
