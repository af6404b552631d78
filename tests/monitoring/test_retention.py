"""Retention with a clock moved by hand: the scheduler deletes old raw data once a day, keeps
the first day (the fallback reference), keeps every metric point, and refuses to recompute a
window whose rows are gone rather than replace its points with empty ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sightline.monitoring import JobRunner, Scheduler
from sightline.monitoring.retention import horizon
from sightline.schema import Window
from sightline.store import MetricStore, PredictionStore
from tests.monitoring.alerts.conftest import FakeClock
from tests.monitoring.conftest import DAY0, SHIFTED, traffic, write_traffic

DELAY = timedelta(minutes=5)


def days(store: PredictionStore) -> dict[int, int]:
    """Rows per day of model ``m`` (day number from DAY0)."""
    table = store.read_window("m", Window(DAY0, DAY0 + timedelta(days=30), "range"))
    counts: dict[int, int] = {}
    for ts in table.column("ts").to_pylist():
        day = (ts.replace(tzinfo=DAY0.tzinfo) - DAY0).days
        counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY0)


def test_old_raw_data_goes_once_a_day_and_what_was_computed_stays(
    predictions: PredictionStore, metrics: MetricStore, clock: FakeClock
) -> None:
    # Ten days of daily traffic; from day 8 on it drifts.
    for day in range(10):
        shifted = day >= 8
        rows = traffic(960, low=5 if shifted else 0, high=15 if shifted else 10,
                       plans=SHIFTED if shifted else ("a", "b", "c"))  # fmt: skip
        write_traffic(predictions, "m", DAY0 + timedelta(days=day), rows, span=timedelta(days=1))
    runner = JobRunner(predictions, metrics, clock=clock, retention=timedelta(days=3))
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, catchup=timedelta(days=30),
                          interval=0)  # fmt: skip
    clock.time = DAY0 + timedelta(days=2, minutes=10)  # days 0-1 are computed, nothing is old
    runs = [r for r in scheduler.run_pending() if r.granularity == "1h"]
    assert len(runs) == 2 * 24
    assert days(predictions) == dict.fromkeys(range(10), 960)

    clock.time = DAY0 + timedelta(days=10, hours=1)
    assert horizon(clock.now(), timedelta(days=3)) == DAY0 + timedelta(days=7)
    runs = [r for r in scheduler.run_pending() if r.granularity == "1h"]
    # Catching up skips the windows before the horizon: days 2-6 lose their rows.
    assert min(r.window_start for r in runs) == DAY0 + timedelta(days=7)
    assert len(runs) == 3 * 24
    # Deleted: days 1-6 (day 0, the reference, is kept); the points of days 0 and 1 stay.
    assert set(days(predictions)) == {0, 7, 8, 9}
    row_counts = metrics.query("m", metric="row_count", granularity="1h", model_version="",
                               segment_key="")  # fmt: skip
    assert {(p.window_start - DAY0).days for p in row_counts} == {0, 1, 7, 8, 9}
    # The reference is still the first day: day 8 drifts against it.
    drifted = metrics.query("m", metric="drift_detected", column="x", granularity="1h",
                            start=DAY0 + timedelta(days=8), end=DAY0 + timedelta(days=9),
                            model_version="", segment_key="")  # fmt: skip
    assert len(drifted) == 24
    assert all(p.value == 1.0 for p in drifted)

    # A window whose rows are gone is not recomputed: its points stay as they were.
    old = Window(DAY0 + timedelta(days=1, hours=5), DAY0 + timedelta(days=1, hours=6), "1h")
    before = metrics.query("m", metric="row_count", start=old.start, end=old.end)
    run = runner.run_window("m", old, trigger="backfill")
    assert run.status == "error"
    assert "deleted by retention" in run.error
    assert metrics.query("m", metric="row_count", start=old.start, end=old.end) == before
    # The first day is kept, so it can still be recomputed.
    first = Window(DAY0 + timedelta(hours=5), DAY0 + timedelta(hours=6), "1h")
    assert runner.run_window("m", first, trigger="backfill").status == "ok"

    # Once a day: new old data waits for the next day's pass.
    write_traffic(predictions, "m", DAY0 + timedelta(days=6), traffic(96), span=timedelta(days=1))
    clock.time += timedelta(hours=12)
    scheduler.run_pending()
    assert 6 in days(predictions)
    clock.time += timedelta(hours=12)
    scheduler.run_pending()
    assert set(days(predictions)) == {0, 8, 9}  # the horizon moved a day: day 7 went too


def test_without_retention_nothing_is_deleted(
    predictions: PredictionStore, metrics: MetricStore, clock: FakeClock
) -> None:
    for day in range(3):
        write_traffic(predictions, "m", DAY0 + timedelta(days=day), traffic(24),
                      span=timedelta(days=1))  # fmt: skip
    scheduler = Scheduler(JobRunner(predictions, metrics, clock=clock), clock=clock, interval=0)
    clock.time = DAY0 + timedelta(days=400)
    assert scheduler.prune(clock.now()) == {}
    assert set(days(predictions)) == {0, 1, 2}


def test_a_quiet_day_rolls_up_as_no_data_not_as_an_error(
    predictions: PredictionStore, metrics: MetricStore, clock: FakeClock
) -> None:
    write_traffic(predictions, "m", DAY0, traffic(960), span=timedelta(days=1))
    runner = JobRunner(predictions, metrics, clock=clock)
    clock.time = DAY0 + timedelta(days=2, hours=1)
    runner.run_range("m", DAY0, DAY0 + timedelta(days=2), "1h")
    day0, day1 = runner.rollup_range("m", DAY0, DAY0 + timedelta(days=2), runner.monitor("m"))
    assert (day0.status, day0.n_rows) == ("ok", 960)
    assert (day1.status, day1.n_rows, day1.error) == ("no_data", 0, "")
    [quiet] = metrics.query("m", metric="row_count", granularity="1d", start=day1.window_start,
                            end=day1.window_end)  # fmt: skip
    assert quiet.value == 0
