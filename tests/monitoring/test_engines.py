"""The engine seam: the registry (entry points, built-ins included) and the local engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from sightline.errors import ConfigError
from sightline.metrics import ColumnKind
from sightline.metrics.evaluation import SliceKey, prepare_baseline
from sightline.metrics.segments import OTHER
from sightline.monitoring.engines import EngineRegistry, SummaryPlan, engines, open_engine
from sightline.monitoring.engines.local import LocalEngine
from sightline.schema import Window

WINDOW = Window(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), "1d")


class TableSource:
    def __init__(self, table: pa.Table):
        self.table = table

    def read(self, window: Window) -> pa.Table:
        return self.table


def test_the_built_in_engines_come_from_entry_points() -> None:
    assert "local" in engines.names()
    assert isinstance(open_engine("local"), LocalEngine)


def test_an_unknown_engine_or_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown engine 'nope'; use one of: .*local"):
        open_engine("nope")
    with pytest.raises(ConfigError, match="engine 'local' does not take these options"):
        open_engine("local", {"colour": "blue"})


def test_an_engine_registers_in_process_like_a_third_party() -> None:
    registry = EngineRegistry(group="sightline.no-such-group")
    registry.register("mine", LocalEngine)
    assert registry.names() == ["mine"]
    assert isinstance(registry.create("mine"), LocalEngine)


def test_the_local_engine_slices_by_version_and_segment() -> None:
    table = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "plan": ["a", "a", "b", "c", None],
            "model_version": ["v1", "v2", "v2", "", "v1"],
        }
    )
    reference = pa.table({"x": [1.0, 2.0], "plan": ["a", "b"]})
    baseline = prepare_baseline(reference, {"x": ColumnKind.NUMERICAL})
    plan = SummaryPlan(
        {"x": ColumnKind.NUMERICAL},
        lambda key: baseline,
        segments=("plan", "absent"),
        segment_values=lambda column: ["a", "b"],
    )
    slices = LocalEngine().summarize(TableSource(table), WINDOW, plan)
    assert [(s.key, s.n_rows) for s in slices] == [
        (SliceKey(), 5),
        (SliceKey("v1"), 2),
        (SliceKey("v2"), 2),
        (SliceKey("", "plan", "a"), 2),
        (SliceKey("", "plan", "b"), 1),
        (SliceKey("", "plan", OTHER), 2),
    ]
    assert all(s.table is not None and s.table.num_rows == s.n_rows for s in slices)


def test_an_empty_window_is_one_empty_slice_and_needs_no_reference() -> None:
    def no_reference(key: SliceKey) -> None:
        raise AssertionError("the reference was resolved for an empty window")

    empty = pa.table({"x": pa.array([], pa.float64())})
    plan = SummaryPlan({"x": ColumnKind.NUMERICAL}, no_reference)  # type: ignore[arg-type]
    slices = LocalEngine().summarize(TableSource(empty), WINDOW, plan)
    assert [(s.key, s.n_rows) for s in slices] == [(SliceKey(), 0)]
