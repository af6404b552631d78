"""Plain data shared by every layer: records, model schemas, windows, metric points."""

from sightline.schema.model import ColumnRole, ColumnSpec, ColumnType, ModelSchema
from sightline.schema.points import MetricPoint, WindowSummary
from sightline.schema.records import EventRecord, FeedbackRecord, PredictionRecord, parse_records
from sightline.schema.runs import JobRun
from sightline.schema.windows import GRANULARITIES, Window, floor_time, parse_time, windows_between

__all__ = [
    "GRANULARITIES",
    "ColumnRole",
    "ColumnSpec",
    "ColumnType",
    "EventRecord",
    "FeedbackRecord",
    "JobRun",
    "MetricPoint",
    "ModelSchema",
    "PredictionRecord",
    "Window",
    "WindowSummary",
    "floor_time",
    "parse_records",
    "parse_time",
    "windows_between",
]
