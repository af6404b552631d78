"""The view of a dashboard page: which monitor's windows, of which granularity, over which
time range, for which slice (all data, a model version, a segment value).

The pages keep it in their URL (``range`` or ``start``/``end``, ``granularity``, ``version``,
``segment``, ``monitor``); :func:`resolve_view` checks it and fills in the defaults:

    >>> view = resolve_view(services, info, range="1y")          # doctest: +SKIP
    >>> view.granularity, view.rollup                              # doctest: +SKIP
    ('1d', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query

from sightline.errors import SightlineError, ValidationError
from sightline.monitoring.rollups import coarser
from sightline.schema import GRANULARITIES, parse_time
from sightline.schema.monitors import Monitor
from sightline.schema.points import parse_segment
from sightline.store import ModelInfo, PointFilter

__all__ = [
    "DEFAULT_RANGE",
    "FOCUS_WINDOWS",
    "MAX_WINDOWS",
    "RANGES",
    "Params",
    "View",
    "ViewParams",
    "parse_param_time",
    "resolve_view",
]

#: The ranges the pages offer, as (key, label, length); ``None`` = all data.
RANGES: list[tuple[str, str, timedelta | None]] = [
    ("24h", "24 hours", timedelta(hours=24)),
    ("7d", "7 days", timedelta(days=7)),
    ("30d", "30 days", timedelta(days=30)),
    ("90d", "90 days", timedelta(days=90)),
    ("1y", "1 year", timedelta(days=365)),
    ("all", "All", None),
]
DEFAULT_RANGE = "7d"
#: The automatic granularity is the finest that gives at most this many windows in the range.
MAX_WINDOWS = 2500
#: A custom range of fewer windows than this is shown as a highlight in a wider range.
FOCUS_WINDOWS = 24


def parse_param_time(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_time(value, name)
    except ValidationError as error:
        raise ValidationError(error.message, field=name) from None


# -- the view: range, granularity, slice ----------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What a page shows: one monitor's windows of one granularity, over a time range, for
    one slice (all data, a model version, or a segment value)."""

    monitor: Monitor
    granularity: str
    granularities: tuple[str, ...]
    range: str  # a key of RANGES, or "custom" (start/end given)
    start: datetime | None
    end: datetime | None
    version: str = ""
    segment_key: str = ""
    segment_value: str = ""
    auto_granularity: bool = False
    focus_start: datetime | None = None
    focus_end: datetime | None = None
    default_monitor: bool = True  # the model's first monitor (the pages' default)

    @property
    def segment(self) -> str:
        return f"{self.segment_key}={self.segment_value}" if self.segment_key else ""

    @property
    def rollup(self) -> bool:
        return self.granularity != self.monitor.granularity

    def filters(self, granularity: str | None = None) -> PointFilter:
        """Keyword filters of the metric store's queries for this view."""
        return {
            "granularity": granularity or self.granularity,
            "monitor": self.monitor.name,
            "start": self.start,
            "end": self.end,
            "model_version": self.version,
            "segment_key": self.segment_key,
            "segment_value": self.segment_value,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor.name,
            "monitor_granularity": self.monitor.granularity,
            "granularity": self.granularity,
            "granularities": list(self.granularities),
            "auto_granularity": self.auto_granularity,
            "rollup": self.rollup,
            "range": self.range,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "version": self.version,
            "segment": self.segment,
            "focus_start": self.focus_start.isoformat() if self.focus_start else None,
            "focus_end": self.focus_end.isoformat() if self.focus_end else None,
        }


def resolve_view(
    svc: Any,
    info: ModelInfo,
    *,
    monitor: str | None = None,
    granularity: str | None = None,
    range: str | None = None,
    start: str | None = None,
    end: str | None = None,
    version: str = "",
    segment: str = "",
    now: datetime | None = None,
) -> View:
    """The view the parameters of a page (or request) describe, checked, with the defaults
    filled in. Relative ranges end now; ``start``/``end`` make a custom range."""
    try:
        chosen = svc.runner.monitor(info.name, monitor or None)
    except SightlineError as error:
        raise ValidationError(str(error), field="monitor") from None
    choices = (chosen.granularity, *coarser(chosen.granularity))
    if granularity and granularity not in choices:
        raise ValidationError(
            f"granularity {granularity!r} is not offered for monitor '{chosen.name}'"
            f" ({chosen.granularity} windows); use one of {', '.join(choices)}",
            field="granularity",
        )
    if version == "*":
        raise ValidationError("choose one version, or '' for all versions", field="version")
    key, value = parse_segment(segment)
    if segment and (key is None or value is None):
        raise ValidationError(
            "choose one segment value, as key=value, or '' for all data", field="segment"
        )
    if version and segment:
        raise ValidationError(
            "points are computed per model version or per segment value, not per both: choose"
            " one of version and segment",
            field="segment",
        )
    now = now or datetime.now(UTC)
    first, last = parse_param_time(start, "start"), parse_param_time(end, "end")
    if first is not None or last is not None:
        range_key = "custom"
    else:
        known = {k for k, _, _ in RANGES} | {"1d"}
        if range and range not in known:
            raise ValidationError(
                f"unknown range {range!r}; use one of {', '.join(k for k, _, _ in RANGES)}",
                field="range",
            )
        range_key = "24h" if range == "1d" else (range or DEFAULT_RANGE)
        length = next(length for k, _, length in RANGES if k == range_key)
        first = now - length if length is not None else None
    if first is not None and last is not None and last <= first:
        raise ValidationError("'end' must be after 'start'", field="end")
    focus: tuple[datetime | None, datetime | None] = (None, None)
    step = timedelta(seconds=GRANULARITIES[chosen.granularity])
    if range_key == "custom" and first and last and last - first < FOCUS_WINDOWS * step:
        # A few windows (an alert's link): show them highlighted, with the day around them.
        focus = (first, last)
        first, last = first - FOCUS_WINDOWS * step, last + FOCUS_WINDOWS // 2 * step
    auto = not granularity
    if auto:
        span_start = first or info.first_ts or now
        span = ((last or now) - span_start).total_seconds()
        granularity = next(
            (g for g in choices if span / GRANULARITIES[g] <= MAX_WINDOWS), choices[-1]
        )
    assert granularity is not None
    return View(
        chosen, granularity, choices, range_key, first, last, version, key or "", value or "",
        auto, *focus, chosen.name == svc.runner.monitors(info.name)[0].name,
    )  # fmt: skip


@dataclass(frozen=True)
class ViewParams:
    """The view parameters of a request, as given."""

    monitor: str | None = None
    granularity: str | None = None
    range: str | None = None
    start: str | None = None
    end: str | None = None
    version: str = ""
    segment: str = ""

    def resolve(self, svc: Any, info: ModelInfo) -> View:
        return resolve_view(svc, info, **self.__dict__)


def view_params(
    monitor: str | None = None,
    granularity: str | None = None,
    range: Annotated[str | None, Query(description="24h, 7d, 30d, 90d, 1y or all")] = None,
    start: Annotated[str | None, Query(description="ISO 8601 or epoch seconds")] = None,
    end: str | None = None,
    version: Annotated[str, Query(description="'' all versions together, or one")] = "",
    segment: Annotated[str, Query(description="'' all data, or key=value")] = "",
) -> ViewParams:
    return ViewParams(monitor, granularity, range, start, end, version, segment)


Params = Annotated[ViewParams, Depends(view_params)]
