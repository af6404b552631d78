"""Reports from the server: a model's report for a range (API and dashboard pages), and the
scheduled reports (saved, listed, downloaded, emailed through a real SMTP server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sightline.config import Settings
from sightline.errors import ConfigErrors
from sightline.server import create_app
from tests.monitoring.test_report_schedule import Mailbox, parts
from tests.server.conftest import DAY0, DAY1, SHIFTED, TestClient, ingest, open_client, traffic

DAY2 = DAY1 + timedelta(days=1)
ARROW = "application/vnd.apache.arrow.stream"


def seed(client: TestClient) -> list[dict[str, Any]]:
    """Monday as normal traffic, Tuesday shifted; labels for every prediction."""
    records = traffic(DAY0, 240, span=timedelta(days=1))
    records += traffic(DAY1, 240, low=4, high=14, plans=SHIFTED, span=timedelta(days=1))
    ingest(client, records)
    labels = [
        {"kind": "feedback", "model": "churn", "request_id": r["request_id"], "target": i % 2}
        for i, r in enumerate(records)
    ]
    ingest(client, labels)
    return records


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    seed(client)
    return client


def report(client: TestClient, **params: Any) -> Any:
    response = client.get("/v1/models/churn/report", params={"format": "json", **params})
    assert response.status_code == 200, response.text
    return response.json()


def tuesday(**params: Any) -> dict[str, Any]:
    return {"start": DAY1.isoformat(), "end": DAY2.isoformat(), **params}


def test_a_report_compares_the_range_with_the_models_reference(seeded: TestClient):
    body = report(seeded, **tuesday())

    assert (body["model"], body["start"], body["end"]) == (
        "churn",
        DAY1.isoformat(),
        DAY2.isoformat(),
    )
    # Without an uploaded dataset the reference is the model's first day of data.
    assert body["reference"] == f"production:{DAY0.isoformat()}/{DAY1.isoformat()}"
    assert body["data"]["n_current"] == 240
    assert body["data"]["n_reference"] == 240
    assert set(body["data"]["drifted_columns"]) >= {"x", "plan"}
    mapping = body["mapping"]
    assert mapping["numerical_features"] == ["x"]
    assert mapping["categorical_features"] == ["plan"]
    assert (mapping["target"], mapping["prediction_score"]) == ("target", "prediction")
    assert mapping["task"] == "classification"
    assert body["reference_quality"] is not None  # the joined feedback is the target


def test_the_html_report_is_a_standalone_page(seeded: TestClient):
    response = seeded.get("/v1/models/churn/report", params=tuesday())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"] == (
        'inline; filename="churn-20260303T0000-20260304T0000.html"'
    )
    page = response.text
    assert (
        "<title>churn: 2026-03-03 – 2026-03-04 UTC · vs production data 2026-03-02 – 2026-03-03"
        "</title>"
    ) in page
    assert "<script src=" not in page  # self-contained: works offline


def test_the_models_configured_roles_are_used(client: TestClient):
    records = [
        {
            "kind": "prediction",
            "model": "churn",
            "request_id": f"r{i}",
            "ts": (DAY0 + timedelta(minutes=5 * i)).isoformat(),
            "features": {"x": float(i % 10), "plan": "abc"[i % 3]},
            "prediction": {"proba": (i % 10) / 10, "label": "yes" if i % 10 >= 5 else "no"},
        }
        for i in range(400)
    ]
    ingest(client, records)
    ingest(
        client,
        [
            {"kind": "feedback", "model": "churn", "request_id": f"r{i}", "target": "yes"}
            if i % 10 >= 4
            else {"kind": "feedback", "model": "churn", "request_id": f"r{i}", "target": "no"}
            for i in range(400)
        ],
    )
    config = {"prediction_score": "proba", "prediction_label": "label", "positive_label": "yes"}
    assert client.put("/v1/models/churn/config", json=config).status_code == 200

    body = report(client, start=DAY1.isoformat(), end=(DAY1 + timedelta(hours=9)).isoformat())

    mapping = body["mapping"]
    assert (mapping["prediction_score"], mapping["prediction_label"]) == ("proba", "label")
    assert (mapping["positive_label"], mapping["task"]) == ("yes", "classification")
    quality = body["current_quality"]
    rows = range(288, 396)  # the predictions of the range: one every 5 minutes from DAY0
    assert quality["accuracy"] == pytest.approx(sum(i % 10 != 4 for i in rows) / len(rows))


def arrow(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_the_reference_may_be_an_uploaded_dataset_or_the_previous_period(seeded: TestClient):
    shifted = pa.table(
        {
            "x": [4 + 10 * (i + 0.5) / 300 for i in range(300)],
            "plan": [SHIFTED[i % 4] for i in range(300)],
        }
    )
    response = seeded.put(
        "/v1/models/churn/references/default",
        content=arrow(shifted),
        headers={"content-type": ARROW},
    )
    assert response.status_code == 200, response.text

    uploaded = report(seeded, **tuesday())
    previous = report(seeded, **tuesday(reference="previous"))

    assert uploaded["reference"] == "dataset:default"
    assert uploaded["data"]["n_reference"] == 300
    assert "x" not in uploaded["data"]["drifted_columns"]  # Tuesday looks like this dataset
    assert previous["reference"] == f"production:{DAY0.isoformat()}/{DAY1.isoformat()}"
    assert "x" in previous["data"]["drifted_columns"]
    # Schema changes are of the model's columns: the dataset lacks the output and target, the stored
    # ids and times are not the model's (a 'previous' period has the same columns).
    assert uploaded["data"]["quality"]["new_columns"] == ["prediction", "target"]
    assert not previous["data"]["quality"]["schema_changed"]


def test_an_unknown_reference_dataset_is_refused(seeded: TestClient):
    response = seeded.get("/v1/models/churn/report", params=tuesday(reference="holdout"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reference"
    assert "no reference dataset 'holdout'" in response.json()["message"]


def test_segments_break_the_report_down(seeded: TestClient):
    body = report(seeded, **tuesday(segment=["plan"]))

    assert body["segment_columns"] == ["plan"]
    # The reference's plans, as in the monitoring jobs; plan "d", which the reference never
    # had, falls in "other".
    segments = {s["value"]: s for s in body["segments"]}
    assert "d" not in segments
    assert {"c", "other"} <= set(segments)
    assert {s["column"] for s in body["segments"]} == {"plan"}
    assert sum(s["n_current"] for s in body["segments"]) == body["data"]["n_current"]
    assert segments["other"]["n_reference"] == 0

    response = seeded.get("/v1/models/churn/report", params=tuesday(segment=["age"]))
    assert response.status_code == 422
    assert "unknown segment column 'age'; use one of: x, plan, model_version" in response.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"end": DAY2.isoformat()}, "start", "'start' is required"),
        ({"start": DAY1.isoformat(), "end": "soon"}, "end", "expected an ISO 8601 time"),
        ({"start": DAY2.isoformat(), "end": DAY1.isoformat()}, "end", "must be after 'start'"),
    ],
)
def test_a_bad_range_is_a_clear_422(
    seeded: TestClient, params: dict[str, str], field: str, message: str
):
    response = seeded.get("/v1/models/churn/report", params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert message in response.json()["message"]


def test_a_range_without_predictions_and_an_unknown_model(seeded: TestClient):
    empty = seeded.get(
        "/v1/models/churn/report", params={"start": "2027-01-01", "end": "2027-01-02"}
    )
    ghost = seeded.get("/v1/models/ghost/report", params=tuesday())

    assert empty.status_code == 422
    assert "no predictions between 2027-01-01" in empty.json()["message"]
    assert ghost.status_code == 404


def test_a_report_reads_at_most_report_max_rows(tmp_path: Path):
    settings = Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, report_max_rows=300)
    with open_client(settings) as client:
        seed(client)  # 480 predictions: more than the limit, so ranges are read a day at a time
        small = client.get("/v1/models/churn/report", params={**tuesday(), "format": "json"})
        large = client.get(
            "/v1/models/churn/report", params={"start": DAY0.isoformat(), "end": DAY2.isoformat()}
        )

    assert small.status_code == 200, small.text
    assert small.json()["data"]["n_current"] == 240
    assert large.status_code == 422
    assert large.json()["errors"][0]["field"] == "end"
    message = large.json()["message"]
    assert "the range holds more than 300 predictions of model 'churn'" in message
    assert "SIGHTLINE_REPORT_MAX_ROWS" in message


# -- dashboard pages ----------------------------------------------------------------------------


def test_the_reports_page_links_every_model(seeded: TestClient):
    page = seeded.get("/reports")

    assert page.status_code == 200
    assert 'href="/models/churn/report"' in page.text
    assert "None scheduled" in page.text


def test_the_report_form_offers_ranges_references_and_segments(seeded: TestClient):
    page = seeded.get("/models/churn/report")

    assert page.status_code == 200
    text = page.text
    assert 'action="/models/churn/report/view"' in text
    assert 'name="start" value="2026-02-25T00:00"' in text  # a week up to the last data
    assert 'name="end" value="2026-03-04T00:00"' in text
    assert 'value="plan"' in text
    assert 'value="model_version"' in text
    assert 'value="previous"' in text
    assert "/models/churn/report/view?start=2026-03-03T00%3A00&amp;end=2026-03-04T00%3A00" in text


def test_submitting_the_form_opens_the_report(seeded: TestClient):
    view = seeded.get(
        "/models/churn/report/view",
        params={"start": "2026-03-03T00:00", "end": "2026-03-04T00:00", "segment": "plan"},
    )

    assert view.status_code == 200
    assert "<title>churn: 2026-03-03 – 2026-03-04 UTC" in view.text


def test_a_mistake_in_the_form_shows_the_form_again_with_the_problem(seeded: TestClient):
    view = seeded.get(
        "/models/churn/report/view", params={"start": "2026-03-04T00:00", "end": "2026-03-03T00:00"}
    )

    assert view.status_code == 422
    assert 'id="report-error"' in view.text
    assert "&#39;end&#39; must be after &#39;start&#39;" in view.text
    assert 'name="start" value="2026-03-04T00:00"' in view.text  # what was typed is kept
    assert seeded.get("/models/ghost/report").status_code == 404


# -- scheduled reports --------------------------------------------------------------------------


class HandClock:
    def __init__(self, now: Any):
        self.time = now

    def now(self) -> Any:
        return self.time


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.stop()


def scheduled_config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "sightline.yaml"
    path.write_text(
        f"""\
alerting:
  external_url: https://sl.example.com
  receivers:
    ml-team:
      - email: {{to: [ml@example.com], from: sightline@example.com, host: 127.0.0.1,
                 port: {port}, security: none, timeout: 5}}
reports:
  - model: churn
    every: 1d
    folder: saved
    segments: [plan]
    email: {{channel: ml-team}}
"""
    )
    return path


def test_scheduled_reports_are_saved_listed_downloaded_and_emailed(
    tmp_path: Path, mailbox: Mailbox
):
    settings = Settings.load(
        data_dir=tmp_path / "data",
        schedule_interval=0.0,
        config=str(scheduled_config(tmp_path, mailbox.port)),
    )
    clock = HandClock(DAY2 + timedelta(hours=1))
    app = create_app(settings, clock=clock, start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        seed(client)
        [run] = client.app.state.reports.scheduler.run_pending()  # type: ignore[attr-defined]

        assert (run.status, run.period_start, run.n_rows) == ("ok", DAY1, 240)
        saved = tmp_path / "saved" / "churn-daily-2026-03-03.html"
        assert saved.is_file()  # the folder is relative to the config file

        [listed] = client.get("/v1/reports").json()["reports"]
        assert (listed["name"], listed["model"], listed["every"]) == ("churn-daily", "churn", "1d")
        assert listed["email"] == {
            "channel": "ml-team/0-email",
            "to": ["ml@example.com"],
            "attach": True,
        }
        assert listed["last_run"]["status"] == "ok"
        assert listed["next_run"] == (DAY2 + timedelta(days=1, minutes=5)).isoformat()
        [file] = listed["files"]
        assert file["name"] == saved.name
        assert file["url"] == "/v1/reports/files/churn-daily-2026-03-03.html"

        download = client.get(file["url"])
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/html")
        assert download.text == saved.read_text()
        assert client.get(f"/reports/files/{saved.name}").text == saved.read_text()
        assert client.get("/v1/reports/files/runs.jsonl").status_code == 404
        assert client.get("/v1/reports/files/..%2Fsightline.yaml").status_code == 404

        page = client.get("/reports").text
        assert "churn-daily" in page
        assert f'href="/reports/files/{saved.name}"' in page

    [message] = mailbox.messages
    assert message["Subject"] == "Sightline report: churn, 2026-03-03 (daily)"
    body = parts(message)
    assert (
        "Report: https://sl.example.com/reports/files/churn-daily-2026-03-03.html"
        in body["text/plain"]
    )
    assert "240 predictions vs 240 reference rows" in body["text/plain"]
    assert saved.name in body


def test_a_mistake_in_the_reports_section_stops_the_server(tmp_path: Path):
    path = tmp_path / "sightline.yaml"
    path.write_text("reports:\n  - {model: churn, every: 1d, email: {channel: ml-team}}\n")
    settings = Settings.load(data_dir=tmp_path / "data", config=str(path))

    with pytest.raises(ConfigErrors, match=r"sightline.yaml:2: reports\[0\].email.channel"):
        create_app(settings)
