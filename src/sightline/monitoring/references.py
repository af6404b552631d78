"""References: what "normal" is for a model.

A model's reference is the uploaded dataset named by its monitor (``default`` unless
configured). A model without one is compared with its own first day of production data, pinned:
that day never changes once it has passed, so every later window is compared with the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyarrow as pa

from sightline.errors import ComputeError
from sightline.schema import ModelSchema, Window
from sightline.store import PredictionStore

__all__ = ["Reference", "resolve_reference"]


@dataclass(frozen=True)
class Reference:
    """A reference table and a description of where it came from."""

    table: pa.Table
    source: str  # "dataset:<name>" or "production:<start>/<end>"


def resolve_reference(store: PredictionStore, schema: ModelSchema, name: str) -> Reference:
    """The reference of ``schema.model``: the dataset ``name``, else its first day of data."""
    table = store.read_reference(schema.model, name)
    if table is not None:
        return Reference(table, f"dataset:{name}")
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
