"""Time windows: alignment of every granularity, and parsing of times from the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from sightline.errors import ValidationError
from sightline.schema.windows import (
    GRANULARITIES,
    Window,
    floor_time,
    parse_time,
    to_utc,
    windows_between,
)

T = datetime(2026, 3, 4, 10, 17, 42, 123456, tzinfo=UTC)  # a Wednesday


# --- alignment ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start"),
    [
        ("5m", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
        ("15m", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
        ("1h", datetime(2026, 3, 4, 10, 0, tzinfo=UTC)),
        ("1d", datetime(2026, 3, 4, tzinfo=UTC)),
        ("1w", datetime(2026, 3, 2, tzinfo=UTC)),  # the Monday before
    ],
)
def test_floor_time_aligns_to_the_granularity(granularity: str, start: datetime) -> None:
    assert floor_time(T, granularity) == start
    window = Window.containing(T, granularity)
    assert window.start == start
    assert window.end - window.start == timedelta(seconds=GRANULARITIES[granularity])
    assert window.start <= T < window.end
    assert window.granularity == granularity


def test_weeks_start_on_monday() -> None:
    for day in range(28):  # four weeks, every weekday
        ts = datetime(2026, 2, 1, 13, 5, tzinfo=UTC) + timedelta(days=day)
        start = floor_time(ts, "1w")
        assert start.weekday() == 0
        assert start.time() == datetime.min.time()
        assert timedelta(0) <= ts - start < timedelta(days=7)


def test_a_monday_midnight_starts_its_own_week() -> None:
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert floor_time(monday, "1w") == monday
    assert floor_time(monday - timedelta(microseconds=1), "1w") == monday - timedelta(days=7)


def test_window_boundaries_are_half_open() -> None:
    boundary = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert Window.containing(boundary, "1h").start == boundary
    assert Window.containing(boundary - timedelta(microseconds=1), "1h").end == boundary


def test_alignment_before_the_epoch() -> None:
    ts = datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert floor_time(ts, "1h") == datetime(1969, 12, 31, 23, 0, tzinfo=UTC)
    assert floor_time(ts, "1d") == datetime(1969, 12, 31, tzinfo=UTC)
    assert floor_time(ts, "1w") == datetime(1969, 12, 29, tzinfo=UTC)  # a Monday


def test_floor_time_uses_utc_for_aware_and_naive_times() -> None:
    plus_five = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 3, 4, 3, 10, tzinfo=plus_five)  # 21:40 UTC the day before
    assert floor_time(local, "1d") == datetime(2026, 3, 3, tzinfo=UTC)
    assert floor_time(local, "1h") == datetime(2026, 3, 3, 21, 0, tzinfo=UTC)
    naive = datetime(2026, 3, 4, 10, 17)
    assert floor_time(naive, "1h") == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert floor_time(naive, "1h").tzinfo is UTC


def test_unknown_granularity_names_the_field_and_the_choices() -> None:
    with pytest.raises(ValidationError) as caught:
        floor_time(T, "2h")
    assert caught.value.field == "granularity"
    assert "'2h'" in str(caught.value)
    for known in GRANULARITIES:
        assert known in str(caught.value)


def test_windows_between_covers_the_range_without_gaps() -> None:
    start = datetime(2026, 3, 4, 10, 17, tzinfo=UTC)
    end = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    windows = list(windows_between(start, end, "1h"))
    assert [w.start.hour for w in windows] == [10, 11, 12]
    assert all(a.end == b.start for a, b in pairwise(windows))
    assert windows == sorted(windows)


def test_windows_between_includes_a_partial_last_window() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = datetime(2026, 3, 16, 0, 0, 1, tzinfo=UTC)
    windows = list(windows_between(start, end, "1w"))
    assert [w.start.day for w in windows] == [2, 9, 16]
    assert all(w.start.weekday() == 0 for w in windows)


def test_windows_between_an_aligned_empty_range_is_empty() -> None:
    start = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert list(windows_between(start, start, "1h")) == []


def test_windows_between_an_unaligned_empty_range_is_empty() -> None:
    start = datetime(2026, 3, 4, 10, 17, tzinfo=UTC)
    assert list(windows_between(start, start, "1h")) == []


def test_window_str_names_granularity_and_bounds() -> None:
    text = str(Window.containing(T, "1h"))
    assert text == "1h window 2026-03-04T10:00:00+00:00 .. 2026-03-04T11:00:00+00:00"


# --- parse_time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-04T10:17:00Z", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("2026-03-04T10:17:00+00:00", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("2026-03-04T12:17:00+02:00", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("2026-03-04T10:17:00.250Z", datetime(2026, 3, 4, 10, 17, 0, 250000, tzinfo=UTC)),
        ("2026-03-04 10:17:00", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("  2026-03-04T10:17:00Z  ", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=UTC)),
        (1772619420, datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        (1772619420.5, datetime(2026, 3, 4, 10, 17, 0, 500000, tzinfo=UTC)),
        ("1772619420", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        ("1772619420.0", datetime(2026, 3, 4, 10, 17, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (-86400, datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_parse_time_accepts_iso_and_epoch(value: object, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_parse_time_converts_datetimes_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    parsed = parse_time(datetime(2026, 3, 4, 19, 17, tzinfo=tokyo))
    assert parsed == datetime(2026, 3, 4, 10, 17, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    assert parse_time(datetime(2026, 3, 4, 10, 17)).tzinfo is UTC
    assert to_utc(datetime(2026, 3, 4, 10, 17)) == datetime(2026, 3, 4, 10, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("yesterday", "ISO 8601"),
        ("", "ISO 8601"),
        ("2026-13-40T00:00:00Z", "ISO 8601"),
        (True, "boolean"),
        (False, "boolean"),
        (float("nan"), "non-finite"),
        (float("inf"), "non-finite"),
        ("nan", "non-finite"),
        ("-inf", "non-finite"),
        (1e300, "out of range"),
        (-1e300, "out of range"),
        (10**400, "out of range"),
        (None, "NoneType"),
        ([2026, 3, 4], "list"),
        ({"ts": 1}, "dict"),
    ],
)
def test_parse_time_rejects_bad_input_naming_the_field(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_time(value, field="feedback_ts")
    assert caught.value.field == "feedback_ts"
    assert caught.value.index is None
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("field 'feedback_ts': ")


def test_parse_time_default_field_is_ts() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_time("not a time")
    assert caught.value.field == "ts"


def test_parse_time_truncates_long_bad_strings_in_the_message() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_time("x" * 10_000)
    assert len(str(caught.value)) < 200
