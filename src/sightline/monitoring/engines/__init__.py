"""Engines: what turns a window's rows into the per-slice data the evaluation works from.

An engine summarizes one window of a source (the prediction store, a Parquet dataset, a Spark
catalog table) into :class:`~sightline.metrics.evaluation.SliceData` — all rows, each model
version, each segment — against the reference's bin edges and categories that the
:class:`SummaryPlan` carries; :func:`sightline.metrics.evaluation.evaluate_slice` finalizes
every slice the same way whatever the engine. Built in:

- ``local`` (:class:`~sightline.monitoring.engines.local.LocalEngine`): Arrow and NumPy in
  this process, raw rows kept, so every method is exact;
- ``spark`` (:class:`~sightline.monitoring.engines.spark.SparkEngine`, extra ``spark``):
  mergeable summaries computed on an Apache Spark cluster, for data that outgrows one machine.

Engines are found through the ``sightline.engines`` entry point group, the built-ins too, so a
third-party engine registers the same way (in its ``pyproject.toml``)::

    [project.entry-points."sightline.engines"]
    duckdb = "my_package.engine:DuckDBEngine"

An entry is a class (or factory) called with the engine's options (``engine:`` in the config
file) as keyword arguments, returning an object that follows :class:`Engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from sightline.errors import ConfigError
from sightline.metrics import ColumnKind
from sightline.metrics.evaluation import Baseline, SliceData, SliceKey
from sightline.schema import Window

__all__ = [
    "ENTRY_POINTS",
    "Engine",
    "EngineRegistry",
    "SummaryPlan",
    "WindowSource",
    "engines",
    "open_engine",
]

#: The entry point group engines register in.
ENTRY_POINTS = "sightline.engines"


@runtime_checkable
class WindowSource(Protocol):
    """Where a model's rows come from: ``read`` returns the rows of one window (predictions
    joined with their ground truth, in the prediction store's layout) as an Arrow table."""

    def read(self, window: Window) -> pa.Table: ...


@dataclass(frozen=True)
class SummaryPlan:
    """What to summarize of a window, and against what.

    ``baseline(key)`` gives each slice's reference side (profiles: edges, bounds, categories;
    column roles; the CBPE estimator); ``segment_values(column)`` the reference's segment
    values of a segment column (None: the window's own ``top_segments`` largest). Both are
    called only when the window has rows, so an empty window needs no reference.
    """

    columns: Mapping[str, ColumnKind]
    baseline: Callable[[SliceKey], Baseline]
    segments: Sequence[str] = ()
    segment_values: Callable[[str], Sequence[str] | None] = lambda column: None
    top_segments: int = 10
    versions: bool = True


class Engine(Protocol):
    """Summarizes the windows of a source, slice by slice, for the evaluation."""

    name: str

    def summarize(self, source: WindowSource, window: Window, plan: SummaryPlan) -> list[SliceData]:
        """The slices of ``window``: all rows first (``n_rows`` 0 when the window is empty,
        and then nothing else), each model version, each segment."""
        ...

    def close(self) -> None:
        """Release what the engine holds (a Spark session, threads)."""
        ...


@dataclass(frozen=True)
class _Entry:
    name: str
    factory: Callable[..., Engine]
    origin: str


@dataclass
class EngineRegistry:
    """The engines that can be chosen by name, filled from the ``sightline.engines`` entry
    points on first use; :meth:`register` adds one in-process (tests, notebooks)."""

    group: str = ENTRY_POINTS
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _loaded: bool = False

    def register(self, name: str, factory: Callable[..., Engine], origin: str = "") -> None:
        self._entries[name] = _Entry(name, factory, origin or repr(factory))

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def create(self, name: str, options: Mapping[str, Any] | None = None) -> Engine:
        """A new engine ``name`` built with ``options``; ConfigError for an unknown name or
        options the engine refuses."""
        self._load()
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(sorted(self._entries)) or "none installed"
            raise ConfigError(f"unknown engine '{name}'; use one of: {known}")
        try:
            return entry.factory(**dict(options or {}))
        except TypeError as error:
            raise ConfigError(f"engine '{name}' does not take these options: {error}") from None

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for point in entry_points(group=self.group):
            if point.name in self._entries:
                continue

            def factory(*args: Any, _point: Any = point, **kwargs: Any) -> Engine:
                # Loaded when chosen: an engine's heavy dependencies (PySpark) stay unloaded.
                made: Engine = _point.load()(*args, **kwargs)
                return made

            self._entries[point.name] = _Entry(point.name, factory, point.value)


#: The registry every entry point of Sightline uses.
engines = EngineRegistry()


def open_engine(name: str = "local", options: Mapping[str, Any] | None = None) -> Engine:
    """The engine ``name`` (see :data:`engines`) built with ``options``."""
    return engines.create(name, options)
