"""Alerting test kit: a hand-moved clock, metric points written straight to a real metric
store, a real state store, and a real HTTP receiver in a thread.

Windows are hourly from DAY0; ``write_window`` stores the points a job would have written, so
tests state exactly what each window says and evaluate it at its end plus a delay.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sightline.monitoring.alerts import Alerting, parse_alerting
from sightline.monitoring.alerts.config import AlertingConfig
from sightline.schema import MetricPoint, Window
from sightline.store import MetricStore, open_metric_store
from sightline.store.alerts import AlertStore
from tests.conftest import free_port

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
DELAY = timedelta(minutes=5)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime):
        self.time = now

    def now(self) -> datetime:
        return self.time

    def set(self, when: datetime) -> None:
        self.time = when

    def advance(self, delta: timedelta) -> datetime:
        self.time += delta
        return self.time


def window(hour: int) -> Window:
    start = DAY0 + hour * HOUR
    return Window(start, start + HOUR, "1h")


def point(
    hour: int, metric: str, value: float | None, column: str = "", *, model: str = "churn",
    segment: tuple[str, str] = ("", ""), **details: Any,
) -> MetricPoint:  # fmt: skip
    w = window(hour)
    return MetricPoint(
        model=model,
        metric=metric,
        window_start=w.start,
        window_end=w.end,
        granularity="1h",
        value=value,
        n_rows=600,
        column=column,
        segment_key=segment[0],
        segment_value=segment[1],
        details=details,
    )


def drift_points(
    hour: int, drifted: Sequence[str], columns: Sequence[str], *, model: str = "churn"
) -> list[MetricPoint]:
    """What a drift job writes: drift_score and drift_detected per column, and the share."""
    points = [point(hour, "row_count", 600.0, model=model)]
    for i, column in enumerate(columns):
        moved = column in drifted
        score = 0.3 + 0.01 * i if moved else 0.02
        points.append(
            point(
                hour,
                "drift_score",
                score,
                column,
                model=model,
                method="wasserstein",
                threshold=0.1,
                drifted=moved,
                status="ok",
                n_reference=5000,
                n_current=600,
                distribution={
                    "moved": [
                        {"range": [1.0, 2.0], "reference": 0.1, "current": 0.3, "change": 0.2}
                    ]
                },
            )
        )
        points.append(point(hour, "drift_detected", float(moved), column, model=model))
        points.append(point(hour, "missing_share", 0.0, column, model=model))
    share = len(drifted) / len(columns)
    points.append(
        point(
            hour,
            "share_of_drifted_columns",
            share,
            model=model,
            drifted_columns=list(drifted),
            dataset_drift=share >= 0.5,
            threshold=0.5,
            status="ok",
        )
    )
    return points


def write_window(metrics: MetricStore, hour: int, points: Sequence[MetricPoint]) -> Window:
    w = window(hour)
    model = points[0].model if points else "churn"
    metrics.replace_window(model, "default", w, list(points))
    return w


def config(text: str | Mapping[str, Any]) -> AlertingConfig:
    """An alerting config from YAML text or a dict."""
    if isinstance(text, str):
        from sightline.schema.yamldoc import YamlDoc

        doc = YamlDoc.parse(text, "alerting.yaml")
        return parse_alerting(doc.data, doc)
    return parse_alerting(dict(text))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY0)


@pytest.fixture
def metrics(tmp_path: Path) -> Iterator[MetricStore]:
    store = open_metric_store(f"duckdb:///{tmp_path / 'metrics.duckdb'}")
    yield store
    store.close()


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'state.duckdb'}"


@pytest.fixture
def state(state_url: str) -> Iterator[AlertStore]:
    from sightline.store import open_state_store

    store = open_state_store(state_url)
    yield store
    store.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent; ``stop()`` takes it off
    the network (connections refused) and ``start()`` brings it back on the same port."""

    port: int = field(default_factory=free_port)
    status: int = 200
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                self.send_response(receiver.status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.received]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


def make_alerting(
    cfg: AlertingConfig, state: AlertStore, metrics: MetricStore, clock: FakeClock, **kwargs: Any
) -> Alerting:
    return Alerting(cfg, state, metrics, clock=clock, interval=0, **kwargs)
