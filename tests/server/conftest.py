"""The real app in-process, its stores in a tmp data dir, and builders of ingest records."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sightline.config import Settings
from sightline.server import create_app

with warnings.catch_warnings():
    # Starlette's test client asks for the `httpx2` package and warns when it falls back to
    # `httpx`, which is what the project depends on. The warning is about the test client's
    # packaging, not about Sightline; the suite otherwise turns every warning into an error.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

#: The first day of data: Monday 2 March 2026, 00:00 UTC.
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
DAY1 = DAY0 + timedelta(days=1)
NORMAL = ("a", "b", "c")
SHIFTED = ("c", "c", "c", "d")


def prediction(
    ts: datetime | str | float,
    x: float | None = 1.0,
    plan: str = "a",
    *,
    model: str = "churn",
    **fields: Any,
) -> dict[str, Any]:
    """One prediction record as the SDK sends it."""
    record: dict[str, Any] = {
        "kind": "prediction",
        "model": model,
        "ts": ts.isoformat() if isinstance(ts, datetime) else ts,
        "features": {"x": x, "plan": plan},
        "prediction": None if x is None else x / 10,
    }
    record.update(fields)
    return record


def traffic(
    start: datetime,
    n: int,
    *,
    low: float = 0.0,
    high: float = 10.0,
    plans: Sequence[str] = NORMAL,
    span: timedelta = timedelta(hours=1),
    model: str = "churn",
) -> list[dict[str, Any]]:
    """``n`` predictions over ``[start, start + span)``, ``x`` spread evenly over [low, high)."""
    return [
        prediction(
            start + span * i / n,
            low + (high - low) * (i + 0.5) / n,
            plans[i % len(plans)],
            model=model,
            request_id=f"{model}-{(start + span * i / n).isoformat()}",
        )
        for i in range(n)
    ]


def open_client(settings: Settings) -> TestClient:
    """A client of a fresh app; use it in a ``with`` block so the stores open and close.

    Server errors come back as 500 responses (not raised), so tests can check the status.
    """
    return TestClient(create_app(settings, start_scheduler=False), raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with open_client(settings) as client:
        yield client


def ingest(client: TestClient, records: list[dict[str, Any]]) -> int:
    """Post ``records``; fails the test unless all of them are accepted."""
    response = client.post("/v1/ingest", json={"records": records})
    assert response.status_code == 200, response.text
    accepted: int = response.json()["accepted"]
    assert accepted == len(records)
    return accepted
