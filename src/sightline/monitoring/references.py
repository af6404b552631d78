"""References: what "normal" is for a monitor, resolved for a window and prepared once.

The kinds (:class:`~sightline.schema.monitors.ReferenceSpec`):

- ``dataset``: an uploaded reference dataset (``default`` unless configured). A model without
  one is compared with its own first day of production data, pinned: that day never changes once
  it has passed, so every later window is compared with the same data.
- ``range``: a pinned range of production data.
- ``previous_window`` / ``trailing_windows``: the window(s) just before the one computed.
- ``previous_version``: the last days of data of the model version before the window's version.

Pinned references are prepared once (sorted values, edges, the fitted CBPE estimator) and kept
in a cache keyed by where they come from, so every window of a backfill reuses them; a
re-uploaded dataset gets a new key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ComputeError, SchemaError, ValidationError
from sightline.metrics import ColumnKind, ReferenceProfile
from sightline.metrics.segments import split_segments, top_segments
from sightline.schema import ColumnType, ModelSchema, Window
from sightline.schema.monitors import ReferenceSpec
from sightline.schema.windows import granularity_seconds
from sightline.store import ModelInfo, PredictionStore

__all__ = ["Reference", "ReferenceCache", "conform_reference", "resolve_reference"]

ARROW_TYPES = {
    ColumnType.NUMBER: pa.float64(),
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
}


@dataclass
class Reference:
    """A reference table, where it came from, and what is derived from it (lazily, once)."""

    table: pa.Table
    source: str  # "dataset:<name>", "production:<start>/<end>", "window:<start>/<end>", ...
    pinned: bool = True
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def derived(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` computed once per ``key`` for this reference (e.g. its profile)."""
        with self._lock:
            if key not in self._derived:
                self._derived[key] = make()
            return self._derived[key]

    def top_segments(self, column: str, top: int) -> list[str]:
        """The ``top`` largest values of a segment column in this reference (computed once)."""
        values: list[str] = self.derived(
            ("segments", column, top), lambda: top_segments(self.table, column, top)
        )
        return values

    def segment(self, column: str, value: str, top: int) -> Reference:
        """The part of this reference in one segment (``"other"``: outside the ``top``
        largest values), so that each segment of a window is compared with its own kind;
        this reference itself when it lacks the column."""
        if column not in self.table.column_names:
            return self
        values = self.top_segments(column, top)

        def split() -> dict[str, Reference]:
            parts = split_segments(self.table, column, values)
            return {
                v: Reference(t, f"{self.source} [{column}={v}]", self.pinned)
                for v, t in parts.items()
            }

        parts: dict[str, Reference] = self.derived(("segment-parts", column, top), split)
        return parts.get(value, self)

    def profile(
        self, columns: dict[str, ColumnKind], bounds: dict[str, tuple[float, float]]
    ) -> ReferenceProfile:
        key = (
            "profile",
            tuple(sorted((k, v.value) for k, v in columns.items())),
            tuple(sorted(bounds.items())),
        )
        profile: ReferenceProfile = self.derived(
            key, lambda: ReferenceProfile.from_table(self.table, columns, bounds=bounds)
        )
        return profile


def resolve_reference(
    store: PredictionStore,
    schema: ModelSchema,
    spec: ReferenceSpec | str,
    window: Window | None = None,
    version: str = "",
) -> Reference:
    """The reference of ``schema.model`` for ``window`` (of model version ``version``)."""
    if isinstance(spec, str):
        spec = ReferenceSpec("dataset", name=spec)
    model = schema.model
    if spec.kind == "range":
        if spec.start is None or spec.end is None:
            raise ComputeError("a range reference needs 'from' and 'to'")
        pinned = Window(spec.start, spec.end, "range")
        return Reference(_production(store, model, pinned), f"production:{_span(pinned)}")
    if spec.kind in ("previous_window", "trailing_windows"):
        if window is None:
            raise ComputeError("a moving reference needs the window it is computed for")
        count = spec.windows if spec.kind == "trailing_windows" else 1
        length = timedelta(seconds=granularity_seconds(window.granularity))
        before = Window(window.start - count * length, window.start, window.granularity)
        table = store.read_window(model, before, version or None)
        return Reference(table, f"window:{_span(before)}", pinned=False)
    if spec.kind == "previous_version" and version:
        previous = _previous_version(store, model, version)
        if previous is not None:
            info = next(m for m in store.models() if m.name == model)
            end = info.last_ts or datetime.now().astimezone()
            span = Window(end - timedelta(days=spec.days), end + timedelta(microseconds=1), "range")
            table = store.read_window(model, span, previous)
            if table.num_rows:
                return Reference(table, f"version:{previous}:{_span(span)}")
    return _dataset(store, schema, spec.name)


def _dataset(store: PredictionStore, schema: ModelSchema, name: str) -> Reference:
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
    return Reference(_production(store, schema.model, first_day), f"production:{_span(first_day)}")


def _production(store: PredictionStore, model: str, window: Window) -> pa.Table:
    table = store.read_window(model, window)
    if table.num_rows == 0:
        raise ComputeError(f"model '{model}' has no data in its reference range {_span(window)}")
    return table


def _previous_version(store: PredictionStore, model: str, version: str) -> str | None:
    versions = store.versions(model)
    names = [v for v, _ in versions]
    if version not in names:
        return None
    index = names.index(version)
    return names[index - 1] if index > 0 else None


def _span(window: Window) -> str:
    return f"{window.start.isoformat()}/{window.end.isoformat()}"


class ReferenceCache:
    """Pinned references by what identifies them, so backfills prepare each one once."""

    def __init__(
        self,
        store: PredictionStore,
        size: int = 32,
        label_lookback: timedelta = timedelta(days=30),
        now: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.size = size
        self.label_lookback = label_lookback
        self.now = now or (lambda: datetime.now(UTC))
        self._cache: OrderedDict[Any, Reference] = OrderedDict()
        self._labelled: dict[tuple[str, datetime], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def get(
        self, schema: ModelSchema, spec: ReferenceSpec, window: Window, version: str = ""
    ) -> Reference:
        if spec.moving:
            return resolve_reference(self.store, schema, spec, window, version)
        key = (schema.model, spec, version, self._stamp(schema.model, spec), schema)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        reference = resolve_reference(self.store, schema, spec, window, version)
        with self._lock:
            self._cache[key] = reference
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return reference

    def _stamp(self, model: str, spec: ReferenceSpec) -> Any:
        """What changes when the reference's content does."""
        if spec.kind == "dataset":
            uploaded = self.store.reference_info(model, spec.name)
            if uploaded is not None:
                return uploaded
            info = next((m for m in self.store.models() if m.name == model), None)
            first = info.first_ts if info else None
            # The first day of data is pinned once it has passed; until then it still grows.
            # Its ground truth comes later: while it may (the label look-back), its new labels
            # renew it, so that its quality and the CBPE calibration use them.
            return (
                "first-day",
                first,
                info.n_predictions if info and first and self._today(first) else None,
                self._first_day_labels(info) if info and first else None,
            )
        if spec.kind == "previous_version":
            return tuple(self.store.versions(model))
        return None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _first_day_labels(self, info: ModelInfo) -> int | None:
        """How many of the first day's predictions have labels, while more may come. Counted
        again only when the model's feedback count changed, so that labels for later windows
        cost one count, not a re-read of the first day."""
        assert info.first_ts is not None
        if not self._labels_may_come(info.first_ts):
            return None
        key = (info.name, info.first_ts)
        with self._lock:
            seen = self._labelled.get(key)
        if seen is not None and seen[0] == info.n_feedback:
            return seen[1]
        day = Window.containing(info.first_ts, "1d")
        labelled = self.store.labelled_count(info.name, day) if info.n_feedback else 0
        with self._lock:
            self._labelled[key] = (info.n_feedback, labelled)
        return labelled

    def _today(self, first: datetime) -> bool:
        return self.now() < Window.containing(first, "1d").end + timedelta(hours=1)

    def _labels_may_come(self, first: datetime) -> bool:
        return self.now() < Window.containing(first, "1d").end + self.label_lookback


def conform_reference(schema: ModelSchema, table: pa.Table) -> pa.Table:
    """The columns of a reference dataset that the model has, cast to the model's types.

    Columns the model does not have are left out, except ``target`` while the model has no
    ground truth yet (it is kept as given, and cast once labels have set its type). A column
    whose values cannot be cast (text where the model has numbers) is refused with its name;
    so is a dataset sharing no column with the model.
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
    if schema.target is None and "target" in table.column_names:
        columns["target"] = table.column("target")
    return pa.table(columns)
