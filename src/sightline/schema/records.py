"""Records as they travel from the SDK to the collector, and their validation.

The wire format of ``POST /v1/ingest`` is ``{"records": [...]}``, each record one of:

    {"kind": "prediction", "model": "churn", "record_id": "…", "request_id": "…",
     "ts": "2026-03-04T10:17:00Z", "model_version": "v2", "features": {"age": 31},
     "prediction": 0.83, "tags": {"region": "eu"}, "sample_rate": 1.0}
    {"kind": "feedback", "model": "churn", "record_id": "…", "request_id": "…",
     "ts": 1772619420.0, "target": 1}
    {"kind": "event", "model": "churn", "record_id": "…", "name": "http.request",
     "ts": 1772619420.0, "latency_ms": 12.5, "status": "200", "error_type": null,
     "attributes": {"route": "/predict"}}

``prediction`` is one value or an object of named outputs (``{"label": 1, "score": 0.83}``).
``ts`` is ISO 8601 or epoch seconds; ``record_id`` makes retries idempotent and is generated
when missing, as is a prediction's ``request_id``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sightline.errors import ValidationError
from sightline.schema.model import check_text
from sightline.schema.windows import parse_time

__all__ = [
    "MAX_ERRORS",
    "EventRecord",
    "FeedbackRecord",
    "PredictionRecord",
    "is_error_status",
    "parse_model_name",
    "parse_name",
    "parse_record",
    "parse_records",
    "parse_tags",
]

MAX_ID_LENGTH = 256
#: Most errors one ingest answer lists (the rest are counted, and all are quarantined).
MAX_ERRORS = 100
MAX_ATTRIBUTES = 64
MAX_TEXT = 1024
KINDS = ("prediction", "feedback", "event")


@dataclass(slots=True)
class PredictionRecord:
    model: str
    record_id: str
    request_id: str
    ts: datetime
    features: Mapping[str, object]
    prediction: object
    model_version: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    sample_rate: float = 1.0


@dataclass(slots=True)
class FeedbackRecord:
    model: str
    record_id: str
    request_id: str
    ts: datetime
    target: object


@dataclass(slots=True)
class EventRecord:
    """A service event: a request served, a prediction call, a log line, with its outcome."""

    model: str
    record_id: str
    ts: datetime
    name: str
    latency_ms: float | None = None
    status: str = ""
    error_type: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    model_version: str = ""

    @property
    def is_error(self) -> bool:
        return bool(self.error_type) or is_error_status(self.status)


def is_error_status(status: str) -> bool:
    """Whether an event status means failure: ``error``/``failed``/``exception`` or HTTP 5xx."""
    lowered = status.strip().lower()
    if lowered in ("error", "failed", "failure", "exception"):
        return True
    return len(lowered) == 3 and lowered.isdigit() and lowered[0] == "5"


Record = PredictionRecord | FeedbackRecord | EventRecord


def parse_records(
    payload: object, received_at: datetime
) -> tuple[list[Record], list[ValidationError]]:
    """Parse an ingest payload into its good records and one error per bad record (each with
    the record's index and the field).

    Records without ``ts`` get ``received_at``. Raises ValidationError when the payload is not
    a batch at all (not an object with a ``records`` list).
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("records"), list):
        raise ValidationError('the body must be a JSON object {"records": [...]}', field="records")
    records: list[Record] = []
    errors: list[ValidationError] = []
    for index, raw in enumerate(payload["records"]):
        try:
            records.append(parse_record(raw, index, received_at))
        except ValidationError as error:
            errors.append(error)
    return records, errors


def parse_record(raw: object, index: int, received_at: datetime) -> Record:
    if not isinstance(raw, Mapping):
        raise ValidationError("a record must be a JSON object", index=index)
    kind = raw.get("kind", "prediction")
    model = parse_model_name(raw.get("model"), index)
    record_id = _optional_id(raw.get("record_id"), "record_id", index) or uuid.uuid4().hex
    ts = _time(raw.get("ts"), index, received_at)
    if kind == "prediction":
        features = raw.get("features", {})
        if not isinstance(features, Mapping):
            raise ValidationError(
                "must be an object of feature values", index=index, field="features"
            )
        for name in features:
            if not isinstance(name, str):
                raise ValidationError(
                    "feature names must be strings", index=index, field="features"
                )
        if "prediction" not in raw:
            raise ValidationError("is required for a prediction", index=index, field="prediction")
        return PredictionRecord(
            model=model,
            record_id=record_id,
            request_id=_optional_id(raw.get("request_id"), "request_id", index) or record_id,
            ts=ts,
            features=features,
            prediction=raw["prediction"],
            model_version=_optional_id(raw.get("model_version"), "model_version", index) or "",
            tags=parse_tags(raw.get("tags"), index),
            sample_rate=_sample_rate(raw.get("sample_rate", 1.0), index),
        )
    if kind == "feedback":
        request_id = _optional_id(raw.get("request_id"), "request_id", index)
        if not request_id:
            raise ValidationError(
                "is required for feedback: it names the prediction the target belongs to",
                index=index,
                field="request_id",
            )
        if raw.get("target") is None:
            raise ValidationError(
                "is required for feedback (null is not a label)", index=index, field="target"
            )
        return FeedbackRecord(model, record_id, request_id, ts, raw["target"])
    if kind == "event":
        return EventRecord(
            model=model,
            record_id=record_id,
            ts=ts,
            name=parse_name(raw.get("name"), "name", index),
            latency_ms=_latency(raw.get("latency_ms"), index),
            status=_text(raw.get("status"), "status", index),
            error_type=_text(raw.get("error_type"), "error_type", index),
            attributes=_attributes(raw.get("attributes"), index),
            model_version=_optional_id(raw.get("model_version"), "model_version", index) or "",
        )
    raise ValidationError(
        f"unknown record kind {kind!r:.40}; use 'prediction', 'feedback' or 'event'",
        index=index,
        field="kind",
    )


def parse_name(value: object, field: str, index: int | None) -> str:
    """A model or event name: 1 to 128 printable characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            "is required and must be a non-empty string", index=index, field=field
        )
    if len(value) > 128 or not value.isprintable():
        raise ValidationError("must be 1 to 128 printable characters", index=index, field=field)
    return check_text(value, field, index)


def parse_model_name(value: object, index: int | None) -> str:
    """A model name: a name (see :func:`parse_name`) without ``/``, as it is a part of the
    HTTP API's paths (``/v1/models/{model}/...``)."""
    name = parse_name(value, "model", index)
    if "/" in name:
        raise ValidationError(
            f"{name[:40]!r} contains '/'; model names are a part of URL paths, "
            "use '-' or '.' instead",
            index=index,
            field="model",
        )
    return name


def _optional_id(value: object, field: str, index: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError("must be a string", index=index, field=field)
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise ValidationError(
            f"must be at most {MAX_ID_LENGTH} characters", index=index, field=field
        )
    return check_text(text, field, index)


def _time(value: object, index: int, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        return parse_time(value)
    except ValidationError as error:
        raise ValidationError(error.message, index=index, field="ts") from None


def parse_tags(value: object, index: int | None) -> dict[str, str]:
    """Tags as flat string pairs (a null tag is an absent tag)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object of string values", index=index, field="tags")
    tags: dict[str, str] = {}
    for key, tag in value.items():
        if isinstance(tag, Mapping | list) or not isinstance(key, str):
            raise ValidationError("must be flat key/value pairs", index=index, field=f"tags.{key}")
        if tag is None:
            continue  # a null tag is an absent tag
        text = ("true" if tag else "false") if isinstance(tag, bool) else str(tag)
        tags[check_text(key, "tags", index)] = check_text(text, f"tags.{key}", index)
    return tags


def _text(value: object, field: str, index: int) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        raise ValidationError("must be a string", index=index, field=field)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if len(text) > MAX_TEXT:
        raise ValidationError(f"must be at most {MAX_TEXT} characters", index=index, field=field)
    return check_text(text, field, index)


def _latency(value: object, index: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("must be a number of milliseconds", index=index, field="latency_ms")
    try:
        latency = float(value)
    except OverflowError:
        latency = math.inf
    if math.isnan(latency):
        return None
    if not 0.0 <= latency < math.inf:
        raise ValidationError(
            "must be a finite, non-negative number of milliseconds", index=index, field="latency_ms"
        )
    return latency


def _attributes(value: object, index: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object of flat values", index=index, field="attributes")
    if len(value) > MAX_ATTRIBUTES:
        raise ValidationError(
            f"must have at most {MAX_ATTRIBUTES} entries", index=index, field="attributes"
        )
    attributes: dict[str, str] = {}
    for key, item in value.items():
        where = f"attributes.{str(key)[:40]}"
        if not isinstance(key, str) or isinstance(item, Mapping | list):
            raise ValidationError("must be flat key/value pairs", index=index, field=where)
        if item is not None:
            attributes[check_text(key, "attributes", index)] = _text(item, where, index)
    return attributes


def _sample_rate(value: Any, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("must be a number in (0, 1]", index=index, field="sample_rate")
    try:
        rate = float(value)
    except OverflowError:
        rate = math.inf
    if math.isnan(rate) or not 0.0 < rate <= 1.0:
        raise ValidationError("must be a number in (0, 1]", index=index, field="sample_rate")
    return rate
