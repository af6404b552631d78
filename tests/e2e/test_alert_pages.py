"""The alert pages and the debug view in a real browser (Playwright driving Debian's Chromium)
on a real `sightline serve` whose config file makes drift rules fire.

Model ``churn`` logs through the SDK: a normal day (its reference: the first day of data is
pinned), then twelve hours where ``monthly_charges`` is 30 higher all along and ``contract``
turns monthly for the first six hours only. Every third prediction gets ground truth. The
windows are computed with ``POST /v1/models/churn/runs``, so ``feature_drift`` fires for
``monthly_charges`` (and the score) and has resolved for ``contract``; ``dataset_shift``
fires too.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sightline.sdk import Client
from tests.e2e.conftest import SHOTS, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CONFIG = """\
alerting:
  external_url: EXTERNAL
  builtin: {enabled: false}
  rules:
    - name: feature_drift
      metric: drift_detected
      condition: drifted
      annotations:
        runbook_url: https://wiki.example.com/runbooks/drift
    - name: dataset_shift
      metric: share_of_drifted_columns
      condition: drifted
      severity: critical
  route: {group_wait: 0s}
models:
  churn:
    monitors:
      - name: hourly
        granularity: 1h
        segments: [region]
        min_rows: 10
"""
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
DAY1 = DAY0 + timedelta(days=1)
PER_HOUR = 40
CONTRACTS = ("monthly", "annual", "two_year")


def seed(server: ServerProcess) -> None:
    rng = random.Random(7)
    client = Client(server.url, flush_interval=0.05)
    for hour in range(36):
        shifted = hour >= 24
        for i in range(PER_HOUR):
            ts = DAY0 + timedelta(hours=hour, seconds=i * 3600 / PER_HOUR)
            charges = rng.gauss(70 + (30 if shifted else 0), 10)
            contract = "monthly" if 24 <= hour < 30 else rng.choice(CONTRACTS)
            score = min(1.0, max(0.0, (charges - 40) / 80))
            request_id = client.log_prediction(
                "churn",
                {
                    "monthly_charges": charges,
                    "contract": contract,
                    "region": ("eu", "us", "apac")[i % 3],
                    "support_calls": rng.randrange(5),
                },
                {"score": score, "label": int(score > 0.5)},
                ts=ts,
            )
            if i % 3 == 0:
                client.log_feedback("churn", request_id, int(rng.random() < score))
    assert client.flush(60)
    client.close()
    body = {"from": DAY0.isoformat(), "to": (DAY1 + timedelta(hours=12)).isoformat()}
    response = server.post("/v1/models/churn/runs", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = tmp_path_factory.mktemp("alert-pages")
    server = ServerProcess(
        path / "data",
        path / "server.log",
        "--config",
        str(path / "sightline.yaml"),
        env={"SIGHTLINE_SCHEDULE_INTERVAL": "0", "SIGHTLINE_ALERT_INTERVAL": "0.2"},
    )
    (path / "sightline.yaml").write_text(CONFIG.replace("EXTERNAL", server.url))
    server.start()
    try:
        seed(server)
        yield server
    finally:
        server.stop()


def firing(server: ServerProcess, rule: str, column: str = "") -> dict[str, Any]:
    alerts = server.get("/v1/alerts", state="firing").json()["alerts"]
    return next(a for a in alerts if a["rule"] == rule and a["labels"].get("column", "") == column)


def new_page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def test_from_the_alert_list_to_the_rows_of_its_window(
    served: ServerProcess, browser: Any, tmp_path: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = new_page(browser)
    alert = firing(served, "feature_drift", "monthly_charges")

    # The list: firing, pending, resolved; every alert links to its page.
    page.goto(served.url + "/alerts")
    firing_rows = page.locator("section[aria-labelledby=h-firing] tr.alert-row")
    assert firing_rows.count() >= 3
    resolved = page.locator("section[aria-labelledby=h-resolved]").inner_text()
    assert "drift_detected[contract]" in resolved
    page.screenshot(path=str(SHOTS / "alerts.png"), full_page=True)
    page.locator(f'tr[data-fingerprint="{alert["fingerprint"]}"] a').first.click()
    page.wait_for_url(f"**/alerts/{alert['fingerprint']}")

    # The alert: its window, value against threshold, what moved, distributions, history.
    assert page.locator("h1").inner_text().startswith("FIRING feature_drift")
    facts = page.locator("dl.facts").inner_text()
    window_start = datetime.fromisoformat(alert["context"]["window_start"])
    assert window_start.strftime("%Y-%m-%d %H:%M:%S") in facts
    assert "Threshold\ndrifted" in facts
    ranked = [t.split()[0] for t in page.locator("table.ranking-table tbody th").all_inner_texts()]
    assert "monthly_charges" in ranked[:3]
    assert ranked[-1] in ("region", "support_calls")  # unchanged
    page.wait_for_function("document.getElementById('distributions').dataset.loaded === 'true'")
    assert page.locator("figure.dist .main-svg").count() >= 2
    assert "region=" in page.locator("table.slices-table").inner_text()
    assert page.locator("ol.timeline li").count() >= 2
    page.screenshot(path=str(SHOTS / "alert.png"), full_page=True)

    # The rows of that window, with their ground truth.
    page.get_by_role("link", name="Debug rows of this window").click()
    page.wait_for_url("**/models/churn/debug?*")
    count = page.locator("#row-count").inner_text()
    assert count == f"Rows 1–{PER_HOUR} of {PER_HOUR}"
    headers = page.locator("table.rows-table thead th").all_inner_texts()
    assert {"monthly_charges", "contract", "target", "feedback_ts"} <= {h.strip() for h in headers}
    assert page.locator("table.rows-table td.truth:not(:has(.null))").count() > 0

    # A filter changes the URL and the rows.
    page.select_option("#fc-1", "region")
    page.select_option("#fo-1", "=")
    page.fill("#fv-1", "eu")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*filter=region%3Deu.*"))
    assert "fc=" not in page.url
    count = page.locator("#row-count").inner_text()
    assert count.startswith("Rows 1–14 of 14")
    region = headers.index(next(h for h in headers if h.strip() == "region"))
    cells = page.locator(f"table.rows-table tbody td:nth-child({region + 1})").all_inner_texts()
    assert set(cells) == {"eu"}
    page.screenshot(path=str(SHOTS / "debug.png"), full_page=True)

    # Download the selection as CSV: the same rows.
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    frame = pd.read_csv(io.BytesIO(saved.read_bytes()))
    assert len(frame) == 14
    assert set(frame["region"]) == {"eu"}
    assert download.suggested_filename.startswith("churn-")
    assert errors == []


def test_silence_and_acknowledge_from_the_pages(served: ServerProcess, browser: Any) -> None:
    page, errors = new_page(browser)
    alert = firing(served, "dataset_shift")
    page.goto(served.url + f"/alerts/{alert['fingerprint']}")
    page.fill("#actor", "ana")
    page.fill("#ack-comment", "looking at the charges")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("#status:has-text('Acknowledged')")
    facts = page.locator("dl.facts").inner_text()
    assert "by ana" in facts
    assert "looking at the charges" in facts
    assert served.get(f"/v1/alerts/{alert['fingerprint']}").json()["alert"]["acked_by"] == "ana"

    page.locator("details.silence summary").click()
    matchers = page.locator("#silence-matchers").input_value()
    assert "alertname=dataset_shift" in matchers
    assert "model=churn" in matchers
    page.fill("#silence-duration", "1h")
    page.fill("#silence-comment", "retraining")
    page.get_by_role("button", name="Silence", exact=True).click()
    page.wait_for_selector("#status:has-text('Silenced until')")
    assert "silenced by" in page.locator("dl.facts").inner_text()
    [silence] = served.get("/v1/silences").json()["silences"]
    assert silence["created_by"] == "ana"

    page.goto(served.url + "/alerts?model=churn")
    row = page.locator(f'tr.silence-row[data-silence="{silence["id"]}"]')
    assert "retraining" in row.inner_text()
    page.screenshot(path=str(SHOTS / "alerts-silenced.png"), full_page=True)
    row.get_by_role("button", name="End now").focus()
    page.keyboard.press("Enter")  # keyboard usable
    page.wait_for_selector("#status:has-text('Silence ended')")
    assert page.locator("tr.silence-row").count() == 0
    assert served.get("/v1/silences").json()["silences"] == []
    assert errors == []


def test_overview_model_alert_rows(served: ServerProcess, browser: Any) -> None:
    """The issue's path: overview → model → alert → debug rows."""
    page, errors = new_page(browser)
    page.goto(served.url + "/")
    page.get_by_role("link", name="churn", exact=True).first.click()
    page.wait_for_url("**/models/churn*")
    alert = firing(served, "feature_drift", "monthly_charges")
    page.locator(f'a[href="/alerts/{alert["fingerprint"]}"]').first.click()
    page.wait_for_url(f"**/alerts/{alert['fingerprint']}")
    page.get_by_role("link", name="Debug rows of this window").click()
    page.wait_for_url("**/models/churn/debug?*")
    assert page.locator("#row-count").inner_text() == f"Rows 1–{PER_HOUR} of {PER_HOUR}"
    assert errors == []
