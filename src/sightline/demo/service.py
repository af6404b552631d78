"""The simulated model service behind ``sightline demo``.

A churn model (scikit-learn gradient boosting) is trained on generated customers. The service
logs a week of predictions through the real SDK over HTTP, timestamps spread over the past week;
from day 5 the customers change (higher charges, more support calls, more monthly contracts), and
the labels arrive a day after each prediction. Each prediction is also a service event (its
latency and status); on day 6 a four-hour incident slows the service down and fails some
requests. Every window is computed, then the service keeps logging live traffic until stopped.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import uvicorn
from sklearn.ensemble import HistGradientBoostingClassifier

from sightline.config import Settings
from sightline.sdk import Client
from sightline.server import create_app

__all__ = ["Customers", "run_demo"]

MODEL = "churn"
PLANS = ["basic", "standard", "premium"]
REGIONS = ["north", "south", "east", "west", "central"]
CONTRACTS = ["monthly", "yearly", "two-year"]
NUMERICAL = ["age", "tenure_months", "monthly_charges", "support_calls", "data_usage_gb"]
CATEGORICAL = ["plan", "region", "contract"]


@dataclass
class Customers:
    """A generator of customers; ``drifted`` customers pay more, call support more and sign
    monthly contracts more often."""

    rng: np.random.Generator

    def sample(self, n: int, drifted: bool = False) -> dict[str, np.ndarray]:
        rng = self.rng
        charges_scale = 1.35 if drifted else 1.0
        data: dict[str, np.ndarray] = {
            "age": np.clip(rng.normal(42, 12, n), 18, 90).round(),
            "tenure_months": rng.gamma(2.0, 14.0, n).round(),
            "monthly_charges": (rng.lognormal(4.0, 0.35, n) * charges_scale).round(2),
            "support_calls": rng.poisson(2.6 if drifted else 1.2, n).astype(float),
            "data_usage_gb": rng.gamma(3.0, 4.0, n).round(1),
            "plan": rng.choice(PLANS, n, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(REGIONS, n),
            "contract": rng.choice(
                CONTRACTS, n, p=[0.75, 0.15, 0.10] if drifted else [0.45, 0.35, 0.20]
            ),
        }
        # A few missing values, as real logs have.
        data["data_usage_gb"][rng.random(n) < 0.02] = np.nan
        logit = (
            -1.2
            + 0.55 * data["support_calls"]
            - 0.035 * data["tenure_months"]
            + 0.012 * (data["monthly_charges"] - 55)
            + np.where(data["contract"] == "monthly", 0.9, -0.6)
            - 0.01 * (data["age"] - 42)
        )
        data["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        return data


def matrix(data: dict[str, np.ndarray]) -> np.ndarray:
    """The model's input matrix: numericals, then categories as codes."""
    columns = [data[c].astype(float) for c in NUMERICAL]
    for name, values in (("plan", PLANS), ("region", REGIONS), ("contract", CONTRACTS)):
        columns.append(np.searchsorted(np.array(sorted(values)), data[name]).astype(float))
    return np.column_stack(columns)


def train(customers: Customers) -> tuple[HistGradientBoostingClassifier, dict[str, np.ndarray]]:
    """Train the churn model; returns it and a held-out reference set with its predictions."""
    train_set = customers.sample(8000)
    model = HistGradientBoostingClassifier(max_iter=120, random_state=0)
    model.fit(matrix(train_set), train_set["churned"])
    reference = customers.sample(5000)
    scores = model.predict_proba(matrix(reference))[:, 1]
    reference["score"] = scores.round(4)
    reference["label"] = (scores >= 0.5).astype(float)
    return model, reference


def reference_table(reference: dict[str, np.ndarray]) -> pa.Table:
    columns: dict[str, Any] = {c: reference[c] for c in NUMERICAL + CATEGORICAL}
    columns["score"] = reference["score"]
    columns["label"] = reference["label"]
    columns["target"] = reference["churned"].astype(float)
    return pa.table(columns)


def _features(data: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in NUMERICAL:
        value = float(data[c][i])
        row[c] = None if value != value else value
    for c in CATEGORICAL:
        row[c] = str(data[c][i])
    return row


class ModelService:
    """The simulated service: predicts for customers and logs through the SDK."""

    def __init__(self, client: Client, model: HistGradientBoostingClassifier, customers: Customers):
        self.client = client
        self.model = model
        self.customers = customers
        self.pending_labels: deque[tuple[datetime, str, int]] = deque()
        self.rng = np.random.default_rng(11)
        self.incident: tuple[datetime, datetime] | None = None

    def serve(self, timestamps: list[datetime], drifted: bool) -> None:
        """Predict for one customer per timestamp and log each prediction with its service
        event; during the ``incident`` (start, end) requests are slower and some time out."""
        n = len(timestamps)
        data = self.customers.sample(n, drifted)
        scores = self.model.predict_proba(matrix(data))[:, 1]
        during = np.array([self._in_incident(ts) for ts in timestamps], dtype=bool)
        latencies = self.rng.lognormal(np.log(18.0), 0.35, n) * np.where(during, 2.6, 1.0)
        failed = self.rng.random(n) < np.where(during, 0.2, 0.002)
        for i, ts in enumerate(timestamps):
            if failed[i]:
                self.client.log_event(
                    MODEL, "predict", latency_ms=round(float(latencies[i]) * 3, 1),
                    status="error", error_type="TimeoutError", ts=ts, model_version="v1",
                )  # fmt: skip
                continue  # no prediction was made
            request_id = self.client.log_prediction(
                MODEL,
                _features(data, i),
                {"score": round(float(scores[i]), 4), "label": int(scores[i] >= 0.5)},
                ts=ts,
                model_version="v1",
            )
            self.client.log_event(
                MODEL, "predict", latency_ms=round(float(latencies[i]), 1), status="ok",
                ts=ts, model_version="v1",
            )  # fmt: skip
            self.pending_labels.append(
                (ts + timedelta(days=1), request_id, int(data["churned"][i]))
            )

    def _in_incident(self, ts: datetime) -> bool:
        return self.incident is not None and self.incident[0] <= ts < self.incident[1]

    def deliver_labels(self, now: datetime) -> int:
        """Log the labels that are due (a day after their prediction)."""
        sent = 0
        while self.pending_labels and self.pending_labels[0][0] <= now:
            due, request_id, label = self.pending_labels.popleft()
            self.client.log_feedback(MODEL, request_id, label, ts=due)
            sent += 1
        return sent


def start_server(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, Any]:
    app = create_app(settings, start_scheduler=False)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="sightline-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the demo server did not start on {settings.host}:{settings.port}")
        time.sleep(0.05)
    return server, thread, app


def run_demo(
    settings: Settings,
    *,
    days: int = 7,
    per_hour: int = 600,
    live_rate: float = 2.0,
    duration: float | None = None,
    stop: threading.Event | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Run the demo until ``stop`` is set, ``duration`` seconds of live traffic pass, or Ctrl-C."""
    data_dir = settings.data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings.load(
        data_dir=data_dir,
        host=settings.host,
        port=settings.port,
        window_delay=60.0,
        schedule_interval=10.0,
        granularity="1h",
    )
    base = f"http://{settings.host}:{settings.port}"
    started = time.monotonic()
    say(f"Starting the Sightline server on {base} (data in {data_dir}) ...")
    server, thread, app = start_server(settings)
    client = Client(base, batch_size=1000, flush_interval=0.2, max_queue=2_000_000)
    try:
        customers = Customers(np.random.default_rng(42))
        say("Training a churn model (scikit-learn) on generated customers ...")
        model, reference = train(customers)
        service = ModelService(client, model, customers)

        now = datetime.now(UTC).replace(microsecond=0)
        begin = now - timedelta(days=days)
        drift_from = begin + timedelta(days=4)  # day 5 onwards
        incident = (begin + timedelta(days=5, hours=10)).replace(minute=0, second=0)  # day 6
        hours = int((now - begin).total_seconds() // 3600)
        service.incident = (incident, incident + timedelta(hours=4))
        say(
            f"Logging {days} days of predictions ({per_hour}/hour) through the SDK; "
            f"drift from day 5 ({drift_from:%Y-%m-%d %H:%M} UTC), labels a day late, "
            f"a service incident on day 6 ({incident:%Y-%m-%d %H:%M} UTC) ..."
        )
        rng = np.random.default_rng(7)
        for h in range(hours):
            hour = begin + timedelta(hours=h)
            offsets = np.sort(rng.uniform(0, 3600, per_hour))
            service.serve(
                [hour + timedelta(seconds=float(s)) for s in offsets],
                drifted=hour >= drift_from,
            )
            service.deliver_labels(now)
        client.flush(120)

        buffer = io.BytesIO()
        table = reference_table(reference)
        with pa.ipc.new_stream(buffer, table.schema) as writer:
            writer.write_table(table)
        httpx.put(
            f"{base}/v1/models/{MODEL}/references/default",
            content=buffer.getvalue(),
            headers={"content-type": "application/vnd.apache.arrow.stream"},
            timeout=60,
        ).raise_for_status()

        closed = now.replace(minute=0, second=0)  # the current hour is computed once it closes
        say("Computing every closed hourly window ...")
        response = httpx.post(
            f"{base}/v1/models/{MODEL}/runs",
            json={"from": begin.isoformat(), "to": closed.isoformat(), "granularity": "1h"},
            timeout=600,
        )
        response.raise_for_status()
        runs = response.json()["runs"]
        services = app.state.services
        services.scheduler.start()
        services.alerting.start()  # notifications of what the week's windows raised
        firing = services.alerting.alerts(state="firing", model=MODEL)
        stats = client.stats()
        say(
            f"Done in {time.monotonic() - started:.0f} s: {stats['sent']:,} records logged, "
            f"{len(runs)} windows computed, {len(firing)} alert(s) firing."
        )
        say("")
        say(f"  Dashboard:  {base}/models/{MODEL}")
        say("")
        say("Live traffic continues (press Ctrl-C to stop) ...")
        _live(service, live_rate, duration, stop)
    except KeyboardInterrupt:
        pass
    finally:
        client.close(timeout=5)
        server.should_exit = True
        thread.join(timeout=30)
        say("Stopped.")


def _live(
    service: ModelService, rate: float, duration: float | None, stop: threading.Event | None
) -> None:
    end = None if duration is None else time.monotonic() + duration
    stop = stop or threading.Event()
    while not stop.is_set() and (end is None or time.monotonic() < end):
        now = datetime.now(UTC)
        count = max(1, int(rate))
        service.serve([now] * count, drifted=True)
        service.deliver_labels(now)
        stop.wait(max(count / rate, 0.05) if rate > 0 else 1.0)
