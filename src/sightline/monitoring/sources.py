"""Window sources: where a monitoring job reads a model's rows from.

- :class:`StoreSource`: the prediction store (predictions joined with their ground truth);
- :class:`ParquetSource` and :class:`CatalogTableSource`: external data in a lake, with the
  column mapping of the model's config (see :mod:`sightline.monitoring.external`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sightline.schema import Window
from sightline.store import PredictionStore

__all__ = ["StoreSource"]


@dataclass(frozen=True)
class StoreSource:
    """The windows of ``model`` in the prediction store."""

    store: PredictionStore
    model: str

    def read(self, window: Window) -> pa.Table:
        return self.store.read_window(self.model, window)
