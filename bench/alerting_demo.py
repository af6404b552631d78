"""Alerting on the demo scenario: how many notifications, and how soon after the drift.

    .venv/bin/python bench/alerting_demo.py [--days 7] [--per-hour 600]

Replays `sightline demo` in simulated time, in-process: the demo's churn model and customers
(src/sightline/demo/service.py), a week of hourly traffic with drift from day 5 and labels a
day late, the demo's reference dataset. Each hour's predictions arrive during that hour; the
built-in scheduler computes every window once it has closed plus 5 minutes (and recomputes
windows whose labels arrived), the alerting hook evaluates the built-in rules after each window,
and the alerting timer ticks (every 30 s of simulated time for the first 5 minutes after a
window, then every 5 minutes). Notifications go to a real webhook receiver on 127.0.0.1.

Printed: the notifications received (total, by rule and status) and the time from the start of
the drift to the first notification, with the configuration as shipped (built-in rules, the
default route: group_wait 30 s, group_interval 5 m, repeat_interval 4 h).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sightline.config import Settings  # noqa: E402
from sightline.demo.service import (  # noqa: E402
    MODEL,
    Customers,
    _features,
    matrix,
    reference_table,
    train,
)
from sightline.monitoring import JobRunner, Scheduler  # noqa: E402
from sightline.monitoring.alerts import Alerting, parse_alerting  # noqa: E402
from sightline.monitoring.config import config_for  # noqa: E402
from sightline.monitoring.references import conform_reference  # noqa: E402
from sightline.server.ingest import Ingestor  # noqa: E402
from sightline.store import (  # noqa: E402
    open_metric_store,
    open_prediction_store,
    open_state_store,
)

BEGIN = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; day 5 starts on Friday
DELAY = timedelta(minutes=5)


class Clock:
    def __init__(self, now: datetime):
        self.time = now

    def now(self) -> datetime:
        return self.time


class Receiver:
    """A webhook receiver on a free loopback port; notes the simulated time of each message."""

    def __init__(self, clock: Clock):
        self.messages: list[tuple[datetime, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.messages.append((clock.now(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-hour", type=int, default=600)
    parser.add_argument(
        "--ack", action="store_true", help="acknowledge each alert once notified (no repeats)"
    )
    args = parser.parse_args()

    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="sightline-alerting-bench-"))
    settings = Settings.load(data_dir=data_dir)
    clock = Clock(BEGIN)
    receiver = Receiver(clock)
    predictions = open_prediction_store(settings.prediction_store_url)
    metrics = open_metric_store(settings.metric_store_url)
    state = open_state_store(settings.state_store_url)
    alerting_config = parse_alerting(
        {"receivers": {"demo": [{"webhook": {"url": receiver.url}}]}},
        external_url="http://127.0.0.1:8000",
    )
    alerting = Alerting(alerting_config, state, metrics, predictions, clock=clock, interval=0)
    runner = JobRunner(
        predictions, metrics, config_for(settings).model, clock=clock,
        on_window=alerting.on_window,
    )  # fmt: skip
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, interval=0)
    ingestor = Ingestor(predictions)

    customers = Customers(np.random.default_rng(42))
    model, reference = train(customers)
    rng = np.random.default_rng(7)
    drift_from = BEGIN + timedelta(days=4)  # day 5 onwards, as in the demo
    pending_labels: list[tuple[datetime, dict[str, Any]]] = []
    windows = 0
    hours = args.days * 24
    for h in range(hours):
        hour = BEGIN + timedelta(hours=h)
        data = customers.sample(args.per_hour, drifted=hour >= drift_from)
        scores = model.predict_proba(matrix(data))[:, 1]
        offsets = np.sort(rng.uniform(0, 3600, args.per_hour))
        records = []
        for i, offset in enumerate(offsets):
            ts = hour + timedelta(seconds=float(offset))
            request_id = f"r-{h}-{i}"
            records.append(
                {
                    "kind": "prediction",
                    "model": MODEL,
                    "request_id": request_id,
                    "record_id": request_id,
                    "ts": ts.isoformat(),
                    "model_version": "v1",
                    "features": _features(data, i),
                    "prediction": {
                        "score": round(float(scores[i]), 4),
                        "label": int(scores[i] >= 0.5),
                    },
                }
            )
            pending_labels.append(
                (
                    ts + timedelta(days=1),
                    {
                        "kind": "feedback",
                        "model": MODEL,
                        "request_id": request_id,
                        "record_id": f"f-{request_id}",
                        "ts": (ts + timedelta(days=1)).isoformat(),
                        "target": int(data["churned"][i]),
                    },
                )
            )
        end = hour + timedelta(hours=1)
        due = [r for t, r in pending_labels if t < end]
        pending_labels = [(t, r) for t, r in pending_labels if t >= end]
        clock.time = end
        ingestor.ingest({"records": records + due}, end)
        if h == 0:
            schema = predictions.schema(MODEL)
            assert schema is not None
            predictions.save_reference(
                MODEL, "default", conform_reference(schema, reference_table(reference))
            )
        # The window closes; 5 minutes later the scheduler computes it; the timer ticks.
        clock.time = end + DELAY
        windows += len(scheduler.run_pending())
        tick = clock.time
        while tick < end + timedelta(hours=1):
            tick += timedelta(seconds=30) if tick < end + 2 * DELAY else timedelta(minutes=5)
            clock.time = min(tick, end + timedelta(hours=1))
            seen = len(receiver.messages)
            alerting.tick()
            if args.ack:  # the on-call engineer acknowledges what was just notified
                for _, message in receiver.messages[seen:]:
                    for alert in message["alerts"]:
                        if alert["status"] == "firing":
                            alerting.acknowledge(alert["fingerprint"], "on-call")

    messages = receiver.messages
    counts: Counter[tuple[str, str]] = Counter()
    last: dict[str, set[str]] = {}
    for _, m in messages:
        firing = {a["fingerprint"] for a in m["alerts"] if a["status"] == "firing"}
        kind = "repeat" if firing and last.get(m["groupKey"]) == firing else m["status"]
        last[m["groupKey"]] = firing
        counts[(m["groupLabels"].get("alertname", "?"), kind)] += 1
    first = next(((t, m) for t, m in messages if t >= drift_from), None)
    before = [m for t, m in messages if t < drift_from]
    print(f"demo scenario: {args.days} days x 24 hourly windows, {args.per_hour} predictions/hour,")
    print(f"  drift from {drift_from:%Y-%m-%d %H:%M} UTC (day 5), labels a day late")
    print(f"  {windows} window computations (recomputes for late labels included)")
    policy = "alerts acknowledged once notified" if args.ack else "nobody acknowledges"
    print(f"notifications sent: {len(messages)} ({len(before)} before the drift; {policy})")
    for (name, status), n in sorted(counts.items()):
        print(f"  {name:24} {status:9} {n}")
    if first is not None:
        at, message = first
        delay = at - drift_from
        names = sorted({a["labels"]["alertname"] for a in message["alerts"]})
        print(
            f"first notification after the drift began: {delay} "
            f"({at:%Y-%m-%d %H:%M:%S} UTC; {', '.join(names)})"
        )
    else:
        print("no notification after the drift began")
    print(f"(wall time {time.monotonic() - started:.0f} s)")
    alerting.stop()
    state.close()
    metrics.close()
    predictions.close()
    receiver.server.shutdown()
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
