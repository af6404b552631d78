"""Login and reports in a real browser (Playwright driving Debian's Chromium) against a real
server with auth on: a page sends the browser to the login form, a wrong key is refused, a read
key logs in (a Secure HttpOnly cookie), the report form opens a generated report, logout ends
the session. Screenshots: artifacts/screenshots/login.png and report.png."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sightline.sdk import Client
from sightline.store.keys import KeyStore
from tests.e2e.conftest import SHOTS, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.browser]


class Secured:
    """A server with auth on, its keys, and two days of a model's traffic (the second drifted)."""

    def __init__(self, tmp_path: Path):
        data = tmp_path / "data"
        store = KeyStore(data / "keys.json")
        _, self.ingest_key = store.create("svc-pricing", ["ingest"])
        _, self.read_key = store.create("ana", ["read"])
        self.server = ServerProcess(
            data, tmp_path / "server.log", "--no-scheduler", env={"SIGHTLINE_AUTH": "true"}
        )
        self.day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def seed(self) -> None:
        rng = random.Random(7)
        client = Client(self.server.url, api_key=self.ingest_key, flush_interval=0.05)
        start = self.day - timedelta(days=2)
        for hour in range(48):
            for i in range(30):
                ts = start + timedelta(hours=hour, seconds=i * 120)
                shift = 30 if hour >= 24 else 0
                request_id = client.log_prediction(
                    "pricing",
                    {"price": rng.gauss(100 + shift, 10), "region": rng.choice("abc")},
                    rng.random(),
                    ts=ts,
                )
                client.log_feedback("pricing", request_id, rng.random() < 0.5, ts=ts)
        assert client.flush(60)
        stats = client.stats()
        client.close()
        assert stats["rejected"] == 0


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    setup = Secured(tmp_path)
    setup.server.start()
    try:
        setup.seed()
        yield setup
    finally:
        setup.server.stop()


def test_login_report_and_logout(secured: Secured, browser: Any):
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = secured.server.url
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # A page sends the browser to the login form, remembering where it was going.
    page.goto(url + "/models/pricing/report")
    page.wait_for_url("**/login?next=%2Fmodels%2Fpricing%2Freport")
    page.get_by_label("API key").fill("sl_not-a-real-key")
    page.get_by_role("button", name="Log in").click()
    assert "Unknown or revoked API key." in page.locator("#login-error").inner_text()
    page.screenshot(path=str(SHOTS / "login.png"), full_page=True)

    # A read key logs in: back to the report form, with a session cookie (not the key).
    page.get_by_label("API key").fill(secured.read_key)
    page.get_by_label("API key").press("Enter")
    page.wait_for_url("**/models/pricing/report")
    [cookie] = context.cookies()
    assert cookie["name"] == "sightline_session"
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert secured.read_key not in cookie["value"]
    assert page.get_by_role("link", name="Log out").is_visible()
    assert "ana" in page.locator("header").inner_text()

    page.screenshot(path=str(SHOTS / "report-form.png"), full_page=True)

    # The form: yesterday (the drifted day), broken down by region.
    yesterday = secured.day - timedelta(days=1)
    page.get_by_label("From", exact=True).fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To", exact=True).fill(secured.day.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("region", exact=True).check()
    page.get_by_role("button", name="Generate report").click()
    page.wait_for_url("**/models/pricing/report/view?**")
    heading = page.locator("h1").inner_text()
    assert heading.startswith(f"pricing: {yesterday:%Y-%m-%d}")
    assert "price" in page.content()
    page.screenshot(path=str(SHOTS / "report.png"), full_page=False)

    # Logout ends the session: pages go back to the login form.
    page.go_back()
    page.get_by_role("link", name="Log out").click()
    page.wait_for_url("**/login")
    assert context.cookies() == []
    page.goto(url + "/")
    page.wait_for_url("**/login?next=%2F")
    assert errors == []
