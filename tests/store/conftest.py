"""Store backends for the contract suite: every test taking ``backend`` runs once per backend.

A backend is a pair of store URLs. Opening a URL again reaches the same data, which is how the
suite checks persistence. To add PostgreSQL, add its name to ``BACKENDS`` and a branch in
``backend`` that ``require``s a reachable server and hands out URLs of a fresh database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sightline.store import MetricStore, PredictionStore, open_metric_store, open_prediction_store

BACKENDS = ["duckdb"]


@dataclass(frozen=True)
class Backend:
    """Where one backend's stores live; each ``open_*`` call is a new connection to them."""

    name: str
    prediction_url: str
    metric_url: str

    def open_predictions(self) -> PredictionStore:
        return open_prediction_store(self.prediction_url)

    def open_metrics(self) -> MetricStore:
        return open_metric_store(self.metric_url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "duckdb":
        return Backend(
            "duckdb",
            f"duckdb:///{tmp_path / 'predictions.duckdb'}",
            f"duckdb:///{tmp_path / 'metrics.duckdb'}",
        )
    raise AssertionError(f"no set-up for backend {request.param!r}")


@pytest.fixture
def predictions(backend: Backend) -> Iterator[PredictionStore]:
    store = backend.open_predictions()
    yield store
    store.close()


@pytest.fixture
def metrics(backend: Backend) -> Iterator[MetricStore]:
    store = backend.open_metrics()
    yield store
    store.close()
