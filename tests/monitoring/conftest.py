"""Real DuckDB stores in tmp_path, and a writer of predictions with chosen distributions.

Feature values are spread evenly over their range (no random draws), so a window drawn from the
reference's distribution never drifts by chance and a shifted one always does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from sightline.schema import ModelSchema
from sightline.store import (
    MetricStore,
    PredictionRow,
    PredictionStore,
    WriteBatch,
    open_metric_store,
    open_prediction_store,
)

#: The first day of data: Monday 2 March 2026, 00:00 UTC.
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
NORMAL = ("a", "b", "c")  # the categories of ``plan`` in normal traffic
SHIFTED = ("c", "c", "c", "d")  # ... and after a drift


def spread(n: int, low: float, high: float) -> list[float]:
    """``n`` values spread evenly over ``[low, high)``."""
    return [low + (high - low) * (i + 0.5) / n for i in range(n)]


def traffic(
    n: int, *, low: float = 0.0, high: float = 10.0, plans: Sequence[str] = NORMAL
) -> list[dict[str, float | str | None]]:
    """Feature rows: ``x`` spread over ``[low, high)``, ``plan`` cycling through ``plans``."""
    xs = spread(n, low, high)
    return [{"x": x, "plan": plans[i % len(plans)]} for i, x in enumerate(xs)]


def reference_table(n: int, *, low: float = 0.0, high: float = 10.0) -> pa.Table:
    """A reference dataset with the model's columns, as a person would upload it."""
    rows = traffic(n, low=low, high=high)
    return pa.table(
        {
            "x": [r["x"] for r in rows],
            "plan": [r["plan"] for r in rows],
            "prediction": [float(r["x"]) / 10 for r in rows],  # type: ignore[arg-type]
        }
    )


def write_traffic(
    store: PredictionStore,
    model: str,
    start: datetime,
    rows: Sequence[dict[str, float | str | None]],
    *,
    span: timedelta = timedelta(hours=1),
    version: str = "",
) -> None:
    """Log ``rows`` as predictions of ``model`` spread over ``[start, start + span)``.

    The prediction is ``x / 10`` (missing when ``x`` is), so it drifts with ``x``.
    """
    step = span / len(rows)
    records = []
    for i, features in enumerate(rows):
        x = features.get("x")
        ts = start + i * step
        key = f"{model}-{ts.isoformat()}-{i}-{uuid.uuid4().hex[:8]}"  # record ids are unique
        records.append(
            PredictionRow(
                record_id=key,
                request_id=key,
                ts=ts,
                received_at=ts,
                model_version=version,
                sample_rate=1.0,
                tags={},
                features=dict(features),
                outputs={"prediction": None if x is None else float(x) / 10},
            )
        )
    old = store.schema(model)
    schema, changes = (old or ModelSchema(model)).evolve(
        [r.features for r in records], [r.outputs for r in records], None
    )
    batch = WriteBatch(predictions={model: records})
    if old is None or changes:
        batch.schemas[model] = (schema, changes)
    store.write(batch)


@pytest.fixture
def predictions(tmp_path: Path) -> Iterator[PredictionStore]:
    store = open_prediction_store(f"duckdb:///{tmp_path / 'predictions.duckdb'}")
    yield store
    store.close()


@pytest.fixture
def metrics(tmp_path: Path) -> Iterator[MetricStore]:
    store = open_metric_store(f"duckdb:///{tmp_path / 'metrics.duckdb'}")
    yield store
    store.close()
