"""Ingest payload parsing: every malformed record gives an error with its index and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sightline.errors import ValidationError
from sightline.schema.records import (
    MAX_ERRORS,
    MAX_ID_LENGTH,
    FeedbackRecord,
    PredictionRecord,
    parse_records,
)

RECEIVED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def prediction(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "prediction",
        "model": "churn",
        "record_id": "r1",
        "request_id": "q1",
        "ts": "2026-03-04T10:17:00Z",
        "model_version": "v2",
        "features": {"age": 31, "plan": "pro"},
        "prediction": 0.83,
        "tags": {"region": "eu"},
        "sample_rate": 0.5,
    }
    record.update(changes)
    return record


def feedback(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "feedback",
        "model": "churn",
        "record_id": "f1",
        "request_id": "q1",
        "ts": 1772619420.0,
        "target": 1,
    }
    record.update(changes)
    return record


def without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


def only_error(raw: object, index_in_batch: int = 0) -> ValidationError:
    """Parse ``raw`` as record ``index_in_batch`` of a batch of good records; its one error."""
    batch: list[object] = [prediction(record_id=f"ok{i}") for i in range(index_in_batch)]
    batch.append(raw)
    records, errors = parse_records({"records": batch}, RECEIVED)
    assert len(records) == index_in_batch
    assert len(errors) == 1, errors
    return errors[0]


# --- good records -------------------------------------------------------------------------------


def test_full_prediction_record() -> None:
    records, errors = parse_records({"records": [prediction()]}, RECEIVED)
    assert errors == []
    assert records == [
        PredictionRecord(
            model="churn",
            record_id="r1",
            request_id="q1",
            ts=datetime(2026, 3, 4, 10, 17, tzinfo=UTC),
            features={"age": 31, "plan": "pro"},
            prediction=0.83,
            model_version="v2",
            tags={"region": "eu"},
            sample_rate=0.5,
        )
    ]


def test_full_feedback_record() -> None:
    records, errors = parse_records({"records": [feedback()]}, RECEIVED)
    assert errors == []
    assert records == [
        FeedbackRecord("churn", "f1", "q1", datetime(2026, 3, 4, 10, 17, tzinfo=UTC), 1)
    ]


def test_minimal_prediction_gets_defaults_and_generated_ids() -> None:
    records, errors = parse_records({"records": [{"model": "m", "prediction": 1}]}, RECEIVED)
    assert errors == []
    (record,) = records
    assert isinstance(record, PredictionRecord)
    assert len(record.record_id) == 32
    int(record.record_id, 16)  # a uuid4 hex
    assert record.request_id == record.record_id
    assert record.ts == RECEIVED
    assert record.features == {}
    assert record.model_version == ""
    assert record.tags == {}
    assert record.sample_rate == 1.0


def test_generated_record_ids_are_unique() -> None:
    payload = {"records": [{"model": "m", "prediction": i} for i in range(50)]}
    records, _ = parse_records(payload, RECEIVED)
    assert len({r.record_id for r in records}) == 50


def test_missing_request_id_falls_back_to_the_record_id() -> None:
    records, _ = parse_records({"records": [without(prediction(), "request_id")]}, RECEIVED)
    assert records[0].request_id == "r1"
    records, _ = parse_records({"records": [prediction(request_id="")]}, RECEIVED)
    assert records[0].request_id == "r1"


def test_integer_ids_become_strings() -> None:
    records, _ = parse_records({"records": [prediction(record_id=7, request_id=8)]}, RECEIVED)
    assert (records[0].record_id, records[0].request_id) == ("7", "8")


def test_named_outputs_and_tag_values_pass_through() -> None:
    records, _ = parse_records(
        {"records": [prediction(prediction={"label": 1, "score": 0.8}, tags={"n": 3})]},
        RECEIVED,
    )
    record = records[0]
    assert isinstance(record, PredictionRecord)
    assert record.prediction == {"label": 1, "score": 0.8}
    assert record.tags == {"n": "3"}


def test_ids_of_the_maximum_length_are_accepted() -> None:
    records, errors = parse_records(
        {"records": [prediction(record_id="x" * MAX_ID_LENGTH)]}, RECEIVED
    )
    assert errors == []
    assert records[0].record_id == "x" * MAX_ID_LENGTH


def test_payload_from_json_wire_format() -> None:
    body = json.loads(
        '{"records": [{"kind": "prediction", "model": "churn", "ts": 1772619420,'
        ' "features": {"age": 31}, "prediction": 0.83},'
        ' {"kind": "feedback", "model": "churn", "request_id": "q", "target": 1}]}'
    )
    records, errors = parse_records(body, RECEIVED)
    assert errors == []
    assert isinstance(records[0], PredictionRecord)
    assert isinstance(records[1], FeedbackRecord)
    assert records[1].target == 1
    assert records[1].ts == RECEIVED


def test_a_null_target_is_not_a_label() -> None:
    body = {"records": [{"kind": "feedback", "model": "m", "request_id": "q", "target": None}]}
    records, errors = parse_records(body, RECEIVED)
    assert records == []
    assert [(e.index, e.field) for e in errors] == [(0, "target")]


def test_empty_batch() -> None:
    assert parse_records({"records": []}, RECEIVED) == ([], [])


# --- malformed payloads and records -------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [None, [], "records", {"record": []}, {"records": None}, {"records": {"0": {}}}],
)
def test_payload_must_be_an_object_with_a_list_of_records(payload: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_records(payload, RECEIVED)
    assert caught.value.field == "records"
    assert caught.value.index is None


@pytest.mark.parametrize("raw", [None, 1, "record", ["model", "m"]])
def test_a_record_must_be_an_object(raw: object) -> None:
    error = only_error(raw, 2)
    assert error.index == 2
    assert error.field is None
    assert "JSON object" in str(error)


BAD_PREDICTIONS = [
    (without(prediction(), "model"), "model"),
    (prediction(model=""), "model"),
    (prediction(model="   "), "model"),
    (prediction(model=3), "model"),
    (prediction(model="m" * 129), "model"),
    (prediction(model="new\nline"), "model"),
    (prediction(record_id=["a"]), "record_id"),
    (prediction(record_id=True), "record_id"),
    (prediction(record_id=1.5), "record_id"),
    (prediction(record_id="x" * (MAX_ID_LENGTH + 1)), "record_id"),
    (prediction(request_id={"id": 1}), "request_id"),
    (prediction(request_id="y" * (MAX_ID_LENGTH + 1)), "request_id"),
    (prediction(ts="last tuesday"), "ts"),
    (prediction(ts=True), "ts"),
    (prediction(ts=float("nan")), "ts"),
    (prediction(ts=[2026]), "ts"),
    (prediction(features=[1, 2]), "features"),
    (prediction(features="age=31"), "features"),
    (prediction(features=None), "features"),
    (prediction(features={1: "a"}), "features"),
    (without(prediction(), "prediction"), "prediction"),
    (prediction(model_version=2.5), "model_version"),
    (prediction(model_version=False), "model_version"),
    (prediction(tags=["eu"]), "tags"),
    (prediction(tags="eu"), "tags"),
    (prediction(tags={"region": {"a": 1}}), "tags.region"),
    (prediction(tags={"region": ["eu"]}), "tags.region"),
    (prediction(sample_rate=0), "sample_rate"),
    (prediction(sample_rate=-0.5), "sample_rate"),
    (prediction(sample_rate=1.5), "sample_rate"),
    (prediction(sample_rate=float("nan")), "sample_rate"),
    (prediction(sample_rate=float("inf")), "sample_rate"),
    (prediction(sample_rate="0.5"), "sample_rate"),
    (prediction(sample_rate=True), "sample_rate"),
    (prediction(sample_rate=None), "sample_rate"),
    (prediction(kind="label"), "kind"),
    (prediction(model="team/churn"), "model"),
    (prediction(kind=None), "kind"),
]

BAD_FEEDBACK = [
    (without(feedback(), "request_id"), "request_id"),
    (feedback(request_id=""), "request_id"),
    (feedback(request_id=None), "request_id"),
    (feedback(request_id=[1]), "request_id"),
    (without(feedback(), "target"), "target"),
    (without(feedback(), "model"), "model"),
    (feedback(ts="soon"), "ts"),
    (feedback(record_id={"a": 1}), "record_id"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_PREDICTIONS + BAD_FEEDBACK)
def test_malformed_record_names_index_and_field(raw: dict[str, Any], field: str) -> None:
    error = only_error(raw, 3)
    assert error.index == 3
    assert error.field == field
    assert str(error).startswith(f"record 3, field '{field}': ")
    assert error.message  # says what is wrong, not only where


def test_errors_are_collected_for_every_bad_record() -> None:
    batch = [
        prediction(record_id="a"),
        prediction(model=""),
        feedback(),
        feedback(target=1, request_id=None),
        "oops",
        prediction(ts="never"),
        prediction(record_id="b"),
    ]
    records, errors = parse_records({"records": batch}, RECEIVED)
    assert [r.record_id for r in records] == ["a", "f1", "b"]
    assert [(e.index, e.field) for e in errors] == [
        (1, "model"),
        (3, "request_id"),
        (4, None),
        (5, "ts"),
    ]


def test_every_bad_record_gets_its_error() -> None:
    # Each bad record is quarantined with its reason, so none may go without an error (the
    # collector's answer lists at most MAX_ERRORS of them).
    batch = [{"model": ""} for _ in range(MAX_ERRORS + 50)]
    records, errors = parse_records({"records": batch}, RECEIVED)
    assert records == []
    assert [e.index for e in errors] == list(range(MAX_ERRORS + 50))


def test_time_error_keeps_the_reason() -> None:
    error = only_error(prediction(ts=True))
    assert "boolean" in error.message
    error = only_error(prediction(ts=1e300))
    assert "out of range" in error.message


def test_a_null_tag_does_not_become_the_string_none() -> None:
    records, errors = parse_records({"records": [prediction(tags={"region": None})]}, RECEIVED)
    assert errors or records[0].tags.get("region") != "None"  # type: ignore[union-attr]
