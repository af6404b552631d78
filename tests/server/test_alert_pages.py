"""The alert pages and the debug view as HTML from the real app (the browser tests are in
tests/e2e/test_alert_pages.py): escaping of hostile names, unknown alerts and models, the
debug form's canonical URL, mistakes shown on the page, paging links.

A model named like markup, with a feature and a category named like markup too, drifts on
DAY1; a rule fires at once on its drift.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from markupsafe import escape

from sightline.config import Settings
from sightline.monitoring.config import parse_config
from sightline.server import create_app
from tests.monitoring.alerts.conftest import FakeClock
from tests.server.conftest import DAY0, DAY1, ingest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

MODEL = "<b>\"m\"&'x'"
FEATURE = "<img src=x onerror=alert(1)>"
CATEGORY = "<script>alert(1)</script>"
CONFIG = """\
alerting:
  builtin: {enabled: false}
  rules:
    - name: drifting
      metric: drift_detected
      condition: drifted
      annotations:
        runbook_url: "javascript:alert(1)"
        wiki: https://wiki.example.com/a?b=1&c=<2>
"""


def records(start: Any, n: int, shift: float, categories: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "kind": "prediction",
            "model": MODEL,
            "ts": (start + timedelta(hours=1) * i / n).isoformat(),
            "request_id": f"r-{start.isoformat()}-{i}",
            "features": {FEATURE: shift + (i % 10), "kind": categories[i % len(categories)]},
            "prediction": (i % 10) / 10,
        }
        for i in range(n)
    ]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    config = parse_config(CONFIG, "sightline.yaml")
    clock = FakeClock(DAY1 + timedelta(hours=2))
    app = create_app(settings, clock=clock, start_scheduler=False, config=config)
    with TestClient(app, raise_server_exceptions=False) as client:
        for hour in range(24):
            ingest(client, records(DAY0 + timedelta(hours=hour), 40, 0.0, ("a", "b")))
        ingest(client, records(DAY1, 120, 30.0, (CATEGORY, "b")))
        body = {"from": DAY1.isoformat(), "to": (DAY1 + timedelta(hours=1)).isoformat()}
        assert client.post(f"/v1/models/{quote(MODEL)}/runs", json=body).status_code == 200
        yield client


def alert_of(client: TestClient, column: str) -> dict[str, Any]:
    alerts = client.get("/v1/alerts", params={"state": "firing"}).json()["alerts"]
    alert: dict[str, Any] = next(a for a in alerts if a["labels"]["column"] == column)
    return alert


def esc(text: str) -> str:
    """``text`` as the templates write it."""
    return str(escape(text))


def no_raw_markup(page: str) -> None:
    for raw in (MODEL, FEATURE, CATEGORY, "<b>", "<script>alert", "<img src"):
        assert raw not in page


def test_alert_list_escapes_every_name(client: TestClient) -> None:
    response = client.get("/alerts")
    assert response.status_code == 200
    page = response.text
    no_raw_markup(page)
    assert esc(MODEL) in page
    assert esc(f"drift_detected[{FEATURE}]") in page
    assert page.count('class="alert-row"') == 2  # the feature and the category
    filtered = client.get("/alerts", params={"model": "other"}).text
    assert 'class="alert-row"' not in filtered
    assert esc(MODEL) in filtered  # still offered in the model filter


def test_alert_page_shows_the_window_ranking_and_escapes(client: TestClient) -> None:
    alert = alert_of(client, FEATURE)
    response = client.get(f"/alerts/{alert['fingerprint']}")
    assert response.status_code == 200
    page = response.text
    no_raw_markup(page)
    assert "Debug rows of this window" in page
    assert 'href="javascript:' not in page  # only http(s) annotations become links
    assert 'href="https://wiki.example.com/a?b=1&amp;c=&lt;2&gt;"' in page
    # The distributions go to the script as JSON that cannot end the <script> element.
    data = re.search(r'<script type="application/json" id="charts-data">(.*?)</script>', page)
    assert data is not None
    assert "<" not in data.group(1)
    assert "\\u003cimg" in data.group(1)
    # The rows link selects the alert's window; the moved-most links add their bin.
    rows = re.search(r'<a class="button primary" href="([^"]+)">Debug rows', page)
    assert rows is not None
    url = urlsplit(html.unescape(rows.group(1)))
    assert url.path == f"/models/{quote(MODEL, safe='')}/debug"
    assert dict(parse_qsl(url.query)) == {
        "start": DAY1.isoformat(),
        "end": (DAY1 + timedelta(hours=1)).isoformat(),
    }
    assert esc(f"{FEATURE} in [") in page


def test_unknown_alert_and_model_pages_are_404(client: TestClient) -> None:
    missing = client.get("/alerts/0123456789abcdef")
    assert missing.status_code == 404
    assert "Unknown alert" in missing.text
    unknown = client.get("/models/nope/debug")
    assert unknown.status_code == 404
    assert "Unknown model" in unknown.text


def debug(client: TestClient, **params: Any) -> Any:
    return client.get(f"/models/{quote(MODEL, safe='')}/debug", params=params)


def test_debug_view_lists_filters_and_escapes(client: TestClient) -> None:
    response = debug(client, filter=f"kind={CATEGORY}")
    assert response.status_code == 200
    page = response.text
    no_raw_markup(page)
    assert "Rows 1–60 of 60" in page
    assert page.count(esc(CATEGORY)) >= 60
    csv = re.search(r'<a href="([^"]+)" download>CSV', page)
    assert csv is not None
    query = dict(parse_qsl(urlsplit(html.unescape(csv.group(1))).query))
    assert query["filter"] == f"kind={CATEGORY}"
    assert "limit" not in query
    assert "offset" not in query


def test_the_form_redirects_to_canonical_filters(client: TestClient) -> None:
    params = [
        ("start", DAY1.isoformat()), ("end", (DAY1 + timedelta(hours=1)).isoformat()),
        ("fc", FEATURE), ("fo", ">="), ("fv", "35"),
        ("fc", "kind"), ("fo", "missing"), ("fv", ""),
        ("fc", ""), ("fo", "="), ("fv", "ignored"),
        ("sort", FEATURE), ("dir", "desc"), ("limit", "25"),
    ]  # fmt: skip
    response = client.get(
        f"/models/{quote(MODEL, safe='')}/debug", params=params, follow_redirects=False
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert parse_qsl(target.query) == [
        ("start", DAY1.isoformat()),
        ("end", (DAY1 + timedelta(hours=1)).isoformat()),
        ("limit", "25"),
        ("filter", f'"{FEATURE}">=35'),
        ("filter", "kind is missing"),
        ("order", "-" + FEATURE),
    ]
    page = client.get(response.headers["location"]).text
    assert "No row matches." in page  # no row misses its kind


def test_paging_links_and_mistakes_on_the_page(client: TestClient) -> None:
    page = debug(client, start=DAY1.isoformat(), limit=25, offset=25).text
    assert "Rows 26–50 of 120" in page
    links = {
        name: dict(parse_qsl(urlsplit(html.unescape(href)).query))
        for href, name in re.findall(r'<a href="([^"]+)"(?: rel="\w+")?>([^<]+)</a>', page)
    }
    assert links["next ›"]["offset"] == "50"
    assert "offset" not in links["« first"]
    assert links["last »"]["offset"] == "100"
    wrong = debug(client, filter=["kind=a", "kind>>1"])
    assert wrong.status_code == 422
    assert "filter[1]" in wrong.text
    assert 'value="kind&gt;&gt;1"' in wrong.text  # kept in the form, to correct it
    assert debug(client, limit="lots").status_code == 422
    assert debug(client, labelled="perhaps").status_code == 422


def test_scripts_are_served(client: TestClient) -> None:
    for name in ("alerts.js", "debug.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")


def test_the_list_carries_what_alerts_js_compares_to_reload(client: TestClient) -> None:
    """alerts.js reloads the list when the signature of GET /v1/alerts differs from the
    page's: the page must carry exactly what the script computes from the API."""
    page = client.get("/alerts").text
    found = re.search(r'data-signature="([^"]*)"', page)
    assert found is not None
    alerts = client.get("/v1/alerts").json()["alerts"]
    expected = " ".join(
        sorted(
            f"{a['fingerprint']}:{a['state']}:{1 if a['acked_at'] else 0}"
            for a in alerts
            if a["state"] in ("pending", "firing", "resolved")
        )
    )
    assert found.group(1) == expected
    assert len(expected.split()) == 2
    fingerprint = alerts[0]["fingerprint"]
    assert client.post(f"/v1/alerts/{fingerprint}/ack", json={"by": "x"}).status_code == 200
    again = re.search(r'data-signature="([^"]*)"', client.get("/alerts").text)
    assert again is not None
    assert again.group(1) != found.group(1)


def test_the_alert_list_shows_the_rules_with_their_source_and_alerts(client: TestClient) -> None:
    body = {"metric": "<i>share</i>", "condition": {"change": "< -10%", "sigmas": 3}}
    assert client.put("/v1/rules/mine", json=body).status_code == 200
    page = client.get("/alerts").text
    no_raw_markup(page)
    assert "<i>share</i>" not in page
    rows = re.findall(r'<tr class="rule-row" data-rule="([^"]+)">(.*?)</tr>', page, re.S)
    cells = {name: re.sub(r"<[^>]+>", "|", row) for name, row in rows}
    assert list(cells) == ["drifting", "mine"]
    drifting = [c.strip() for c in cells["drifting"].split("|") if c.strip()]
    assert drifting == ["drifting", "drift_detected", "drifted", "at once", "—", "warning",
                        "config", "2", "0"]  # fmt: skip
    assert "beyond 3 standard errors" in cells["mine"]
    assert "api" in cells["mine"]
    assert html.escape("<i>share</i>") in page


def test_a_change_alert_shows_its_standard_error_and_how_far_it_is(client: TestClient) -> None:
    from sightline.schema import MetricPoint, Window

    body = {"metric": "accuracy", "condition": {"change": "< -10%", "sigmas": 3}}
    assert client.put("/v1/rules/acc", json=body).status_code == 200
    window = Window(DAY1 + timedelta(hours=1), DAY1 + timedelta(hours=2), "1h")
    point = MetricPoint(
        MODEL, "accuracy", window.start, window.end, "1h", 0.6, 400,
        details={"reference_value": 0.8, "standard_error": 0.02},
    )  # fmt: skip
    services = client.app.state.services  # type: ignore[attr-defined]
    services.metrics.replace_window(MODEL, "default", window, [point])
    services.alerting.evaluate(MODEL, window=window)
    [alert] = [a for a in client.get("/v1/alerts").json()["alerts"] if a["rule"] == "acc"]
    page = client.get(f"/alerts/{alert['fingerprint']}").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "0.6 baseline 0.8 · standard error 0.02: -10 standard errors from the baseline" in text


def test_the_debug_view_says_when_the_retention_deleted_the_rows(settings: Settings) -> None:
    from dataclasses import replace

    from tests.server.conftest import traffic

    clock = FakeClock(DAY0 + timedelta(days=10))
    kept = replace(settings, retention_days=3.0)
    app = create_app(kept, clock=clock, start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        for day in range(10):
            ingest(client, traffic(DAY0 + timedelta(days=day), 24, span=timedelta(days=1)))
        app.state.services.scheduler.prune(clock.now())

        def note(day: int) -> str:
            start = DAY0 + timedelta(days=day)
            params = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
            page = client.get("/models/churn/debug", params=params).text
            return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

        gone = note(2)
        assert "No row matches." in gone
        assert "Rows from before 2026-03-09 00:00 are past the retention and deleted" in gone
        assert "past the retention" not in note(8)  # recent: still there
        assert "past the retention" not in note(0)  # the first day is kept
        assert "Rows 1–1 of 1" in note(0)
