"""Time windows: the slices of time that monitoring jobs compute metrics for.

Windows are half-open ``[start, end)`` intervals in UTC, aligned to their granularity (weeks
start on Monday, as in ISO 8601).

    >>> w = Window.containing(parse_time("2026-03-04T10:17:00Z"), "1h")
    >>> w.start.isoformat(), w.end.isoformat()
    ('2026-03-04T10:00:00+00:00', '2026-03-04T11:00:00+00:00')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sightline.errors import ValidationError

__all__ = ["GRANULARITIES", "Window", "floor_time", "parse_time", "to_utc", "windows_between"]

#: Supported window lengths in seconds.
GRANULARITIES: dict[str, int] = {
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "1d": 86400,
    "1w": 7 * 86400,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)  # weeks are aligned on Mondays


def granularity_seconds(granularity: str) -> int:
    try:
        return GRANULARITIES[granularity]
    except KeyError:
        known = ", ".join(GRANULARITIES)
        raise ValidationError(
            f"unknown granularity {granularity!r}; use one of {known}", field="granularity"
        ) from None


def to_utc(ts: datetime) -> datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_time(value: object, field: str = "ts") -> datetime:
    """Parse an ISO 8601 string, epoch seconds or a datetime into an aware UTC datetime."""
    if isinstance(value, datetime):
        try:
            return to_utc(value)
        except OverflowError:
            raise ValidationError(f"time {value!r} is out of range", field=field) from None
    if isinstance(value, date):  # a calendar date (e.g. from YAML): its midnight, UTC
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool):
        raise ValidationError("expected a time, got a boolean", field=field)
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError("expected a time, got a non-finite number", field=field)
        try:
            return _EPOCH + timedelta(seconds=float(value))
        except OverflowError:
            raise ValidationError(f"time {value!r} is out of range", field=field) from None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            try:
                return to_utc(parsed)
            except OverflowError:
                raise ValidationError(f"time {text[:64]!r} is out of range", field=field) from None
        try:
            return parse_time(float(text), field)
        except ValueError:
            raise ValidationError(
                f"expected an ISO 8601 time or epoch seconds, got {value[:64]!r}", field=field
            ) from None
    raise ValidationError(
        f"expected an ISO 8601 time or epoch seconds, got {type(value).__name__}", field=field
    )


def floor_time(ts: datetime, granularity: str) -> datetime:
    """The start of the window of ``granularity`` that contains ``ts``."""
    seconds = granularity_seconds(granularity)
    anchor = _MONDAY if granularity == "1w" else _EPOCH
    offset = (to_utc(ts) - anchor) // timedelta(seconds=seconds)
    return anchor + timedelta(seconds=offset * seconds)


@dataclass(frozen=True, order=True)
class Window:
    """A half-open time window ``[start, end)`` of a given granularity."""

    start: datetime
    end: datetime
    granularity: str

    @classmethod
    def containing(cls, ts: datetime, granularity: str) -> Window:
        start = floor_time(ts, granularity)
        return cls(start, start + timedelta(seconds=granularity_seconds(granularity)), granularity)

    def __str__(self) -> str:
        return f"{self.granularity} window {self.start.isoformat()} .. {self.end.isoformat()}"


def windows_between(start: datetime, end: datetime, granularity: str) -> Iterator[Window]:
    """Every aligned window that overlaps ``[start, end)``, oldest first."""
    end = to_utc(end)
    if to_utc(start) >= end:
        return
    window = Window.containing(start, granularity)
    while window.start < end:
        yield window
        window = Window(window.end, window.end + (window.end - window.start), granularity)
