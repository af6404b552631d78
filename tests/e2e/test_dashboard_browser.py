"""The dashboard in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sightline.sdk import Client
from tests.e2e.conftest import SHOTS, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def seed(server: ServerProcess) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=2)
    rng = random.Random(5)
    client = Client(server.url, flush_interval=0.05)
    for hour in range(48):
        for i in range(40):
            ts = start + timedelta(hours=hour, seconds=i * 90)
            shift = 30 if hour >= 24 else 0
            client.log_prediction(
                "pricing",
                {"price": rng.gauss(100 + shift, 10), "region": rng.choice("abc")},
                rng.random(),
                ts=ts,
            )
    assert client.flush(60)
    client.close()
    body = {"from": start.isoformat(), "to": now.isoformat()}
    assert server.post("/v1/models/pricing/runs", json=body).status_code == 200


def test_model_page_draws_charts_and_keeps_the_range_in_the_url(
    server: ServerProcess, browser: Any
):
    seed(server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(server.url + "/")
    page.get_by_role("link", name="pricing").click()
    page.wait_for_url("**/models/pricing")
    page.wait_for_function("document.getElementById('model').dataset.loaded === 'true'")
    for chart in ("volume", "drift", "prediction", "heatmap"):
        assert page.locator(f"#chart-{chart}.js-plotly-plot").count() == 1, chart
    assert page.locator("#chart-heatmap .hm").count() == 1
    assert "price" in page.locator("#columns").inner_text()
    page.screenshot(path=str(SHOTS / "pricing-model.png"), full_page=True)

    page.get_by_role("link", name="24 hours").click()
    page.wait_for_url("**/models/pricing?range=24h")
    page.wait_for_function("document.getElementById('model').dataset.loaded === 'true'")
    bars = page.evaluate("document.getElementById('chart-volume').data[0].x.length")
    assert 20 <= bars <= 25  # one day of hourly windows, not two
    page.screenshot(path=str(SHOTS / "pricing-model-24h.png"), full_page=True)
    assert errors == []
