"""The overview, model and feature pages in a real browser (Playwright driving Debian's
Chromium) on a real server, seeded through the SDK: three days of a churn model with two
versions, a segment, labels a day late, service events, and drift (and errors) in the last day.

Screenshots of each page go to artifacts/screenshots/ (overview.png, model.png, ...).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest

from sightline.sdk import Client
from tests.e2e.conftest import SHOTS, ServerProcess, require_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODEL = "churn"
#: A second model and columns whose names would break a page that does not escape them.
HOSTILE = '<img src=x onerror=alert(1)> & "q"'
SLASHED = "income/month"
HOURS = 72
DRIFT_FROM = 48  # the last day drifts
CONFIG = {
    "task": "classification",
    "prediction_score": "score",
    "prediction_label": "label",
    "positive_label": 1,
    "monitors": [{"name": "hourly", "granularity": "1h", "segments": ["region"]}],
}


def seed(server: ServerProcess, now: datetime) -> datetime:
    """Three days of hourly traffic ending at ``now`` (an hour start), every window computed.
    Returns the start of the data."""
    start = now - timedelta(hours=HOURS)
    response = httpx.put(f"{server.url}/v1/models/{MODEL}/config", json=CONFIG, timeout=30)
    assert response.status_code == 200, response.text
    rng = random.Random(7)
    client = Client(server.url, flush_interval=0.05)
    feedback: list[tuple[str, int, datetime]] = []
    for hour in range(HOURS):
        drift = hour >= DRIFT_FROM
        for i in range(50):
            ts = start + timedelta(hours=hour, seconds=i * 70)
            age = rng.gauss(52 if drift else 40, 9)
            plan = rng.choices(["basic", "pro", "team"], [5, 3, 2] if drift else [2, 3, 5])[0]
            score = 1 / (1 + math.exp(-(age - 45) / 6))
            version = "v1" if hour < 30 else "v2" if hour >= 40 else rng.choice(["v1", "v2"])
            request_id = client.log_prediction(
                MODEL,
                {"age": age, SLASHED: rng.gauss(3000, 500), "plan": plan,
                 "region": rng.choice(["eu", "eu", "us", "apac"])},
                {"score": score, "label": int(score > 0.5)},
                ts=ts,
                model_version=version,
            )  # fmt: skip
            truth = int(rng.random() < (0.35 if drift else score))
            feedback.append((request_id, truth, ts + timedelta(hours=24)))
            failing = 50 <= hour < 54 and rng.random() < 0.3
            client.log_event(
                MODEL,
                "predict",
                latency_ms=rng.gauss(35 if drift else 20, 4),
                status="error" if failing else "ok",
                ts=ts,
                model_version=version,
            )
    for request_id, truth, ts in feedback:
        if ts < now:  # labels arrive a day later
            client.log_feedback(MODEL, request_id, truth, ts=ts)
    for hour in range(24):  # a small second model with a hostile name
        for i in range(40):
            client.log_prediction(
                HOSTILE, {"<i>x": rng.random(), 'a&b "c"': rng.choice("xy")}, rng.random(),
                ts=now - timedelta(hours=24 - hour, seconds=-i * 60),
            )  # fmt: skip
    assert client.flush(60)
    client.close()
    for model, first in ((MODEL, start), (HOSTILE, now - timedelta(hours=24))):
        body = {"from": first.isoformat(), "to": now.isoformat()}
        response = server.post(f"/v1/models/{quote(model, safe='')}/runs", json=body)
        assert response.status_code == 200, response.text
    return start


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("dashboard")
    server = ServerProcess(
        tmp / "data", tmp / "server.log", "--no-scheduler",
        env={"SIGHTLINE_ALERT_INTERVAL": "0", "SIGHTLINE_SCHEDULE_INTERVAL": "0"},
    )  # fmt: skip
    server.start()
    try:
        seed(server, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A laptop-sized page (1366 x 768) that fails the test on a script error or a dialog."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/favicon" not in r.url
            else None
        ),
    )
    yield page
    context.close()
    assert problems == []


#: The pixel position of point ``i`` (negative: from the end) of a chart's first trace, or of
#: its alert markers' trace.
POINT = """([id, i, alerts]) => {
  const el = document.getElementById(id);
  const n = alerts ? el.data.findIndex(t => t.meta === 'alerts') : 0;
  const d = el.data[n];
  const xa = el._fullLayout.xaxis, ya = el._fullLayout[alerts ? 'yaxis9' : 'yaxis'];
  const k = i < 0 ? d.x.length + i : i;
  return [xa._offset + xa.d2p(d.x[k]), ya._offset + ya.d2p(d.y[k])];
}"""


def loaded(page: Any, root: str = "model") -> None:
    page.wait_for_function(f"document.getElementById('{root}')?.dataset.loaded === 'true'")


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def trace_x(page: Any, chart: str, index: int = 0) -> list[Any]:
    return list(page.evaluate(f"document.getElementById('{chart}').data[{index}].x"))


def test_overview_to_model_to_feature(seeded: ServerProcess, page: Any):
    page.goto(seeded.url + "/")
    row = page.locator("tr", has=page.get_by_role("link", name=MODEL, exact=True))
    assert row.locator(".health").inner_text() == "firing"  # error_rate and drift alerts
    assert row.locator("svg.spark polyline").count() == 1
    assert "firing" in row.get_by_role("link", name="firing").inner_text()
    assert row.locator("a[href^='/alerts/']").count() >= 1
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    row.get_by_role("link", name=MODEL, exact=True).click()
    page.wait_for_url(f"**/models/{MODEL}")
    loaded(page)
    for panel in (
        "volume",
        "service",
        "drift",
        "prediction",
        "quality",
        "labels",
        "issues",
        "heatmap",
    ):
        assert page.locator(f"#chart-{panel}.js-plotly-plot").count() == 1, panel
    assert len(trace_x(page, "chart-volume")) >= 7 * 24 - 96  # the last 7 days: all 72 hours
    markers = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].flatMap(el => el.data)"
        ".filter(t => t.meta === 'alerts').reduce((n, t) => n + t.x.length, 0)"
    )
    assert markers >= 2  # alert markers on the charts
    quality = page.evaluate("document.getElementById('chart-quality').data.map(t => t.name)")
    assert "accuracy (realized)" in quality
    assert "estimated_accuracy (CBPE)" in quality
    assert page.locator("#alerts a[href^='/alerts/']").count() >= 1
    page.screenshot(path=str(SHOTS / "model.png"), full_page=True)

    # An alert marker opens its alert.
    page.locator("#chart-drift").scroll_into_view_if_needed()
    x, y = page.evaluate(POINT, ["chart-drift", -1, True])
    box = page.locator("#chart-drift").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/alerts/*")
    page.go_back()
    loaded(page)

    page.locator("#columns").get_by_role("link", name="age", exact=True).click()
    page.wait_for_url(f"**/models/{MODEL}/features/age")
    loaded(page, "feature")
    names = page.evaluate("document.getElementById('chart-distribution').data.map(t => t.name)")
    assert names == ["reference", "this window"]
    facts = page.locator("section#window").inner_text()
    assert "Kolmogorov–Smirnov" in facts
    assert "default rule" in facts
    page.screenshot(path=str(SHOTS / "feature.png"), full_page=True)

    # A window picked on the drift chart is kept in the URL.
    heading = page.locator("#h-window").inner_text()
    page.get_by_role("link", name="← previous").click()
    page.wait_for_function("new URLSearchParams(location.search).has('window')")
    loaded(page, "feature")
    assert page.locator("#h-window").inner_text() != heading
    chosen = query(page)["window"][0]
    page.locator("#chart-drift-time").scroll_into_view_if_needed()
    x, y = page.evaluate(POINT, ["chart-drift-time", -12, False])  # a point of the drift chart
    box = page.locator("#chart-drift-time").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function(f"new URLSearchParams(location.search).get('window') !== {chosen!r}")
    loaded(page, "feature")
    page.screenshot(path=str(SHOTS / "feature-window.png"), full_page=True)

    page.go_back()  # the window before, from the URL
    page.wait_for_function(f"new URLSearchParams(location.search).get('window') === {chosen!r}")


def test_filters_change_the_url_and_the_charts(seeded: ServerProcess, page: Any):
    page.goto(f"{seeded.url}/models/{MODEL}")
    loaded(page)
    everything = len(trace_x(page, "chart-volume"))

    page.get_by_role("link", name="24 hours").click()
    page.wait_for_url("**?range=24h")
    loaded(page)
    assert 20 <= len(trace_x(page, "chart-volume")) <= 25 < everything

    page.get_by_label("Version").select_option("v1")
    page.wait_for_function("new URLSearchParams(location.search).get('version') === 'v1'")
    loaded(page)
    assert "range=24h" in page.url  # filters combine
    assert page.locator("#chart-volume").is_hidden()  # v1 stopped serving 32 hours ago
    assert "No window" in page.locator("#note-volume").inner_text()

    page.get_by_role("link", name="7 days").click()
    page.wait_for_function("!new URLSearchParams(location.search).has('range')")
    loaded(page)
    v1 = trace_x(page, "chart-volume")
    assert 30 <= len(v1) <= 40

    page.get_by_label("Segment").select_option("region=eu")
    page.wait_for_function("new URLSearchParams(location.search).get('segment') === 'region=eu'")
    loaded(page)
    assert "version" not in query(page)  # points are per version or per segment, not both
    rows = page.evaluate("document.getElementById('chart-volume').data[0].y")
    assert max(rows) < 50  # a part of the 50 rows an hour

    page.get_by_label("Windows").select_option("1d")
    page.wait_for_function("new URLSearchParams(location.search).get('granularity') === '1d'")
    loaded(page)
    days = trace_x(page, "chart-volume")
    assert 1 <= len(days) <= 3  # closed days only
    page.screenshot(path=str(SHOTS / "model-filtered.png"), full_page=True)

    # The URL alone gives the same view (shared or reloaded), and so does going back.
    page.reload()
    loaded(page)
    assert page.get_by_label("Windows").input_value() == "1d"
    assert page.get_by_label("Segment").input_value() == "region=eu"
    page.go_back()
    page.wait_for_function("!new URLSearchParams(location.search).has('granularity')")
    loaded(page)
    assert page.get_by_label("Windows").input_value() == ""

    # Keyboard: the range links are reachable and work with Enter; focus is visible.
    link = page.get_by_role("link", name="30 days")
    link.focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.wait_for_url("**range=30d**")
    loaded(page)


def test_charts_extend_when_new_windows_are_computed(seeded: ServerProcess, page: Any):
    page.add_init_script("window.sightlinePollMs = 500")
    page.goto(f"{seeded.url}/models/{MODEL}?range=24h")
    loaded(page)
    before = trace_x(page, "chart-volume")
    page.evaluate("window.notReloaded = true")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    client = Client(seeded.url, flush_interval=0.05)
    for i in range(40):
        client.log_prediction(MODEL, {"age": 41.0, "plan": "pro", "region": "eu",
                                      SLASHED: 3000.0}, {"score": 0.3, "label": 0},
                              ts=now + timedelta(seconds=i))  # fmt: skip
    assert client.flush(30)
    client.close()
    body = {"from": now.isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    assert seeded.post(f"/v1/models/{MODEL}/runs", json=body).status_code == 200
    page.wait_for_function(
        f"document.getElementById('chart-volume').data[0].x.length > {len(before)}", timeout=15_000
    )
    assert page.evaluate("window.notReloaded") is True
    after = trace_x(page, "chart-volume")
    assert after[-1] > before[-1]


def test_names_are_escaped_everywhere(seeded: ServerProcess, page: Any):
    page.goto(seeded.url + "/")
    link = page.get_by_role("link", name=HOSTILE, exact=True)
    assert link.count() == 1  # the name as text, not markup
    link.click()
    page.wait_for_url(f"**/models/{quote(HOSTILE, safe='')}")
    loaded(page)
    assert page.locator("h1").inner_text() == HOSTILE
    page.locator("#columns").get_by_role("link", name='a&b "c"', exact=True).click()
    page.wait_for_url("**/features/**")
    loaded(page, "feature")
    assert page.locator("h1").inner_text() == 'a&b "c"'
    ticks = page.evaluate(
        "[...document.querySelectorAll('#chart-distribution .xtick text')].map(t => t.textContent)"
    )
    assert sorted(ticks) == ["x", "y"]
    legend = page.evaluate("document.getElementById('chart-distribution').layout.xaxis.title.text")
    assert legend == 'a&amp;b "c"'  # escaped for Plotly, shown as a&b "c"
    assert page.locator("#chart-distribution .xtitle").text_content() == 'a&b "c"'

    # A column with a slash has its own page.
    page.goto(f"{seeded.url}/models/{MODEL}/features/{quote(SLASHED, safe='')}")
    loaded(page, "feature")
    assert page.locator("h1").inner_text() == SLASHED


def test_an_alert_link_opens_the_model_page_on_its_window(seeded: ServerProcess, page: Any):
    alerts = seeded.get("/v1/alerts", state="firing", model=MODEL).json()["alerts"]
    [drift] = [a for a in alerts if a["rule"] == "dataset_drift"]
    link = urlparse(drift["context"]["dashboard_url"])  # as notifications carry it
    page.goto(f"{seeded.url}{link.path}?{link.query}")
    loaded(page)
    assert "share_of_drifted_columns" in page.locator("#focus-note").inner_text()
    assert "focus" in (page.locator("#panel-drift").get_attribute("class") or "")
    shapes = page.evaluate("document.getElementById('chart-drift').layout.shapes.length")
    assert shapes >= 2  # the threshold and the highlighted window
    days = len(trace_x(page, "chart-volume"))
    assert 24 <= days <= 37  # the window, the day before it, half a day after (if any)
