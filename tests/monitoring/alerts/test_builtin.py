"""The built-in rules on what real monitoring jobs write: a JobRunner on real stores calls the
alerting hook after each window, and a real HTTP receiver hears about drift and silence."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from sightline.monitoring import JobRunner
from sightline.monitoring.alerts import Alerting
from sightline.schema import Window
from sightline.store import MetricStore, PredictionStore
from sightline.store.alerts import AlertStore
from tests.monitoring.alerts.conftest import (
    DELAY,
    FakeClock,
    HttpReceiver,
    config,
    make_alerting,
    point,
    write_window,
)
from tests.monitoring.conftest import DAY0, SHIFTED, traffic, write_traffic

DAY1 = DAY0 + timedelta(days=1)


def test_builtin_rules_notify_drift_then_no_data_which_holds_the_drift_back(
    predictions: PredictionStore,
    metrics: MetricStore,
    state: AlertStore,
    receiver: HttpReceiver,
    clock: FakeClock,
):
    cfg = config(
        {
            "receivers": {"team": [{"webhook": {"url": receiver.url}}]},
            "route": {"group_wait": "30s", "repeat_interval": "12h"},
        }
    )
    alerting = Alerting(cfg, state, metrics, predictions, clock=clock, interval=0)
    runner = JobRunner(predictions, metrics, on_window=alerting.on_window, clock=clock)
    # Day 0 is normal traffic: the model's fallback reference. Day 1 drifts from 06:00.
    write_traffic(predictions, "m", DAY0, traffic(720), span=timedelta(days=1))
    for hour in range(12):
        start = DAY1 + timedelta(hours=hour)
        drifted = hour >= 6
        rows = traffic(120, low=5.0 if drifted else 0.0, high=15.0 if drifted else 10.0,
                       plans=SHIFTED if drifted else ("a", "b", "c"))  # fmt: skip
        write_traffic(predictions, "m", start, rows)
    for hour in range(12):
        window = Window(DAY1 + timedelta(hours=hour), DAY1 + timedelta(hours=hour + 1), "1h")
        clock.set(window.end + DELAY)
        run = runner.run_window("m", window)
        assert run.status == "ok", run.error
        for _ in range(4):
            clock.set(clock.now() + timedelta(seconds=30))
            alerting.tick()
    names = [(b["groupLabels"]["alertname"], b["status"]) for b in receiver.bodies()]
    assert names == [("dataset_drift", "firing"), ("prediction_drift", "firing")]
    drift = receiver.bodies()[0]
    assert drift["receiver"] == "team"
    [alert] = drift["alerts"]
    assert alert["labels"]["category"] == "drift"
    assert alert["annotations"]["summary"] == "Dataset drift on m: 100% of the columns drifted"
    assert alert["annotations"]["top_features"].split("; ")[0].split(" (")[0] in {
        "x", "plan", "prediction",
    }  # fmt: skip
    first = receiver.received[0]
    # Drift starts at 06:00; with `for: 2` windows it fires once 07:00-08:00 is computed.
    assert alert["startsAt"] == (DAY1 + timedelta(hours=8) + DELAY).isoformat().replace(
        "+00:00", "Z"
    )
    assert first.path == "/"

    # The model stops logging at noon: two hours later, no_data fires and holds back drift.
    clock.set(DAY1 + timedelta(hours=14))
    alerting.tick()
    clock.set(clock.now() + timedelta(seconds=30))
    alerting.tick()
    names = [(b["groupLabels"]["alertname"], b["status"]) for b in receiver.bodies()]
    assert names[2:] == [("no_data", "firing")]
    no_data = receiver.bodies()[2]["alerts"][0]
    assert no_data["annotations"]["summary"] == "No data from m for 2h 1m (ingestion stalled?)"
    drifting = [a for a in alerting.alerts(state="firing") if a.rule == "dataset_drift"]
    assert [alerting.muted(a) for a in drifting] == ["inhibited"]
    clock.set(DAY1 + timedelta(hours=21))  # past the drift's repeat interval (12 h)
    alerting.tick()
    assert len(receiver.received) == 3  # drift is not repeated while it is inhibited


def test_quality_drop_ignores_the_noise_of_small_windows_and_fires_on_a_real_drop(
    metrics: MetricStore, state: AlertStore, clock: FakeClock
):
    """Precision 0.6 on the reference, windows of ~80 predicted positives (standard error
    0.055): a week of chance dips, some beyond -10 %, stays quiet; a drop to 0.42 fires, and
    the alert outlasts a good window, and resolves once
    quality has been back for 6 hours (keep_firing_for: 6h)."""
    alerting = make_alerting(config({}), state, metrics, clock)
    rng = np.random.default_rng(11)
    normal = list(rng.normal(0.6, 0.055, 168))
    assert sum(v < 0.54 for v in normal) >= 10  # dips below -10 % happen by chance
    values = [*normal, 0.42, 0.43, 0.61, 0.41, *[0.6] * 8]
    states = []
    for hour, value in enumerate(values):
        p = point(hour, "precision", value, reference_value=0.6, standard_error=0.055)
        w = write_window(metrics, hour, [p])
        clock.set(w.end + DELAY)
        alerting.evaluate("churn", window=w)
        found = [a.state for a in alerting.alerts() if a.rule == "quality_drop"]
        states.append(found[0] if found else "inactive")
    assert set(states[:168]) == {"inactive"}
    # Clear from 172:00; six clear hours later (the window ending 178:00) it resolves.
    assert states[168:] == ["firing"] * 9 + ["resolved"] * 3
    # ... and says what it saw while it held, not the recovered value.
    [alert] = [a for a in alerting.alerts() if a.rule == "quality_drop"]
    assert alert.value == 0.41
    assert alert.annotations["summary"] == "precision of churn dropped to 0.410 (baseline 0.600)"
