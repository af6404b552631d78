"""The scheduler with a clock moved by hand: which windows are due, and when. Nothing sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from sightline.monitoring import JobRunner, Monitor, Scheduler
from sightline.schema import JobRun
from sightline.schema.monitors import ModelConfig
from sightline.store import MetricStore, PredictionStore
from tests.monitoring.conftest import DAY0, traffic, write_traffic

TEN = DAY0 + timedelta(hours=10)  # the first prediction of model "m"
DELAY = timedelta(minutes=5)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime):
        self.time = now

    def now(self) -> datetime:
        return self.time

    def set(self, when: datetime) -> None:
        self.time = when


def starts(runs: list[JobRun]) -> list[datetime]:
    return [r.window_start for r in runs]


def hours(*offsets: int) -> list[datetime]:
    """Window starts at TEN + each offset, in hours."""
    return [TEN + timedelta(hours=h) for h in offsets]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TEN)


@pytest.fixture
def runner(predictions: PredictionStore, metrics: MetricStore, clock: FakeClock) -> JobRunner:
    """Model ``m`` logs 40 predictions an hour from 10:00 to 14:00 on DAY0."""
    for h in range(4):
        write_traffic(predictions, "m", TEN + timedelta(hours=h), traffic(40))
    return JobRunner(predictions, metrics, clock=clock)


@pytest.fixture
def scheduler(runner: JobRunner, clock: FakeClock) -> Scheduler:
    return Scheduler(runner, clock=clock, delay=DELAY, catchup=timedelta(days=30), interval=0)


def test_a_window_is_computed_once_it_has_closed_plus_the_delay(
    scheduler: Scheduler, clock: FakeClock, metrics: MetricStore
) -> None:
    for now in (
        TEN,
        TEN + timedelta(minutes=30),
        TEN + timedelta(hours=1),  # closed, but late data may still come
        TEN + timedelta(hours=1) + DELAY - timedelta(microseconds=1),
    ):
        clock.set(now)
        assert scheduler.due_windows("m") == [], now
        assert scheduler.run_pending() == [], now
    assert metrics.runs("m") == []

    clock.set(TEN + timedelta(hours=1) + DELAY)
    [run] = scheduler.run_pending()

    assert (run.model, run.window_start, run.window_end, run.status) == (
        "m",
        TEN,
        TEN + timedelta(hours=1),
        "ok",
    )
    assert run.n_rows == 40
    assert metrics.runs("m") == [run]


def test_each_window_is_computed_exactly_once(
    scheduler: Scheduler, clock: FakeClock, metrics: MetricStore
) -> None:
    computed: list[datetime] = []
    for minutes in range(60, 3 * 60 + 1, 5):  # a pass every 5 minutes, 11:00 .. 13:00
        clock.set(TEN + timedelta(minutes=minutes))
        computed += starts(scheduler.run_pending())
        computed += starts(scheduler.run_pending())  # a second pass at the same time

    assert computed == hours(0, 1)
    assert len(metrics.runs("m")) == 2
    row_counts = metrics.query("m", metric="row_count")
    assert [(p.window_start, p.value) for p in row_counts] == [(TEN, 40.0), (hours(1)[0], 40.0)]


def test_missed_windows_are_caught_up_after_downtime(
    scheduler: Scheduler, clock: FakeClock, metrics: MetricStore
) -> None:
    clock.set(TEN + timedelta(hours=1) + DELAY)
    assert starts(scheduler.run_pending()) == hours(0)

    clock.set(TEN + timedelta(hours=8, minutes=20))  # down from 11:05 to 18:20
    runs = scheduler.run_pending()

    assert starts(runs) == hours(1, 2, 3, 4, 5, 6, 7)  # each missed window, oldest first
    assert [r.status for r in runs] == ["ok"] * 3 + ["no_data"] * 4  # data ends at 14:00
    assert scheduler.run_pending() == []
    assert len(metrics.runs("m")) == 8
    assert len(metrics.query("m", metric="row_count")) == 8


def test_catch_up_reaches_back_only_as_far_as_the_limit(
    runner: JobRunner, clock: FakeClock, metrics: MetricStore
) -> None:
    scheduler = Scheduler(runner, clock=clock, delay=DELAY, catchup=timedelta(hours=3))
    clock.set(TEN + timedelta(hours=10, minutes=5))  # 20:05: windows 10:00 .. 19:00 are closed

    runs = scheduler.run_pending()

    # 17:05 is the limit: the window holding it, and every later closed one.
    assert starts(runs) == hours(7, 8, 9)
    assert scheduler.run_pending() == []
    assert {r.window_start for r in metrics.runs("m")} == set(hours(7, 8, 9))


def test_a_model_without_data_has_no_due_windows(
    scheduler: Scheduler, predictions: PredictionStore, clock: FakeClock
) -> None:
    clock.set(TEN + timedelta(days=2))
    assert scheduler.due_windows("ghost") == []
    assert all(r.model == "m" for r in scheduler.run_pending())


def test_failed_windows_are_retried_on_the_next_pass(
    scheduler: Scheduler, runner: JobRunner, clock: FakeClock, metrics: MetricStore
) -> None:
    runner.set_config(ModelConfig("m", monitors=(Monitor(methods={"x": "no-such-method"}),)))
    clock.set(TEN + timedelta(hours=2) + DELAY)

    first = scheduler.run_pending()
    again = scheduler.run_pending()

    assert [(r.window_start, r.status) for r in first] == [(t, "error") for t in hours(0, 1)]
    assert [(r.window_start, r.status) for r in again] == [(t, "error") for t in hours(0, 1)]

    runner.set_config(ModelConfig("m", monitors=(Monitor(),)))  # the configuration is fixed
    fixed = scheduler.run_pending()
    assert [(r.window_start, r.status) for r in fixed] == [(t, "ok") for t in hours(0, 1)]
    assert scheduler.run_pending() == []
    assert len(metrics.runs("m")) == 6


def test_every_model_gets_its_own_windows_and_granularity(
    scheduler: Scheduler, runner: JobRunner, predictions: PredictionStore, clock: FakeClock
) -> None:
    write_traffic(predictions, "daily", TEN + timedelta(hours=3), traffic(40))
    runner.set_config(ModelConfig("daily", monitors=(Monitor(granularity="1d"),)))

    clock.set(DAY0 + timedelta(hours=23, minutes=59))
    runs = scheduler.run_pending()
    assert {r.model for r in runs} == {"m"}  # the day of "daily" has not closed yet
    assert starts(runs) == hours(*range(13))  # 10:00 .. 22:00

    clock.set(DAY0 + timedelta(days=1) + DELAY)
    runs = scheduler.run_pending()
    assert [(r.model, r.granularity, r.window_start, r.trigger) for r in runs] == [
        ("daily", "1d", DAY0, "schedule"),
        ("m", "1h", TEN + timedelta(hours=13), "schedule"),
        ("m", "1d", DAY0, "rollup"),  # the closed day of the hourly model, from its hours
    ]  # (its week has not closed: no weekly roll-up yet)
    assert runs[0].n_rows == 40


def test_one_broken_model_does_not_stop_the_others(
    scheduler: Scheduler, predictions: PredictionStore, clock: FakeClock
) -> None:
    write_traffic(predictions, "a-broken", TEN, traffic(40))
    predictions.save_reference("a-broken", "default", pa.table({"x": ["ten"] * 40}))
    clock.set(TEN + timedelta(hours=1) + DELAY)

    runs = scheduler.run_pending()

    assert [(r.model, r.status) for r in runs] == [("a-broken", "error"), ("m", "ok")]
