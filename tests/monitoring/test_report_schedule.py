"""Scheduled reports: the ``reports:`` section, what is due when (an injected clock, never
sleeping), the run log across restarts, failures and retries, and email through a real SMTP
server (aiosmtpd)."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from sightline.errors import ComputeError, ConfigError, ConfigErrors
from sightline.monitoring.alerts import parse_alerting
from sightline.monitoring.config import parse_config
from sightline.monitoring.report_schedule import (
    RUN_LOG,
    RenderedReport,
    ReportSchedule,
    ReportScheduler,
    parse_reports,
)
from sightline.schema import Window
from tests.conftest import free_port

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # Monday 2 March 2026
DELAY = timedelta(minutes=5)

CONFIG = """\
alerting:
  receivers:
    ml-team:
      - slack: {{url: https://hooks.example.com/x}}
      - email: {{to: [ml@example.com], from: sightline@example.com, host: 127.0.0.1,
                 port: {port}, security: none, timeout: 5}}
    pager:
      - webhook: {{url: https://oncall.example.com/hook}}
reports:
  - model: churn
    every: 1d
    folder: out/daily
    segments: [plan]
    email: {{channel: ml-team, to: [ana@example.com, bo@example.com]}}
  - model: churn
    every: weekly
    name: churn-week
    reference: previous
    email: {{channel: ml-team/1-email, attach: false}}
"""


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime):
        self.time = now

    def now(self) -> datetime:
        return self.time


def parse(text: str, base_dir: Path = Path("/srv/sightline")) -> tuple[ReportSchedule, ...]:
    config = parse_config(text, "sightline.yaml")
    alerting = parse_alerting(config.alerting, config.doc, ("alerting",), {})
    return parse_reports(
        config.reports,
        config.doc,
        ("reports",),
        alerting.policy.channels,
        base_dir,
        Path("/data/reports"),
    )


# -- the config section -----------------------------------------------------------------------


def test_the_reports_section_is_read_with_its_email_channels():
    daily, weekly = parse(CONFIG.format(port=2525))

    assert (daily.name, daily.model, daily.every) == ("churn-daily", "churn", "1d")
    assert daily.folder == Path("/srv/sightline/out/daily")  # relative to the config file
    assert daily.segments == ("plan",)
    assert daily.email is not None
    assert daily.email.channel.name == "ml-team/1-email"  # the receiver's email channel
    assert daily.email.to == ("ana@example.com", "bo@example.com")
    assert daily.email.attach is True
    assert (weekly.name, weekly.every, weekly.reference) == ("churn-week", "1w", "previous")
    assert weekly.folder == Path("/data/reports")  # the default folder
    assert weekly.email is not None
    assert weekly.email.to == ("ml@example.com",)  # the channel's recipients
    assert weekly.email.attach is False


def test_a_config_without_reports_has_none():
    assert parse("models: {churn: {granularity: 1d}}\n") == ()


ALERTING = CONFIG.format(port=2525).split("reports:")[0]  # lines 1-8


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            "reports:\n  - model: churn\n    every: 1m\n",
            "sightline.yaml:11: reports[0].every: expected 1d (daily) or 1w (weekly)",
        ),
        (
            "reports:\n  - model: churn\n    every: 1d\n    emial: {}\n",
            "sightline.yaml:12: reports[0].emial: unknown field 'emial'; did you mean 'email'?",
        ),
        (
            "reports:\n  - every: 1d\n",
            "sightline.yaml:10: reports[0].model: expected the name of a model",
        ),
        (
            "reports:\n  - {model: churn, every: 1d, email: {channel: pager}}\n",
            "sightline.yaml:10: reports[0].email.channel: no email channel 'pager'; "
            "email channels: ml-team, ml-team/1-email",
        ),
        (
            "reports:\n  - {model: churn, every: 1d, email: {channel: ml-team, to: bob}}\n",
            "sightline.yaml:10: reports[0].email.to: expected an address or a list of addresses",
        ),
        (
            "reports:\n  - {model: churn, every: 1d}\n  - {model: churn, every: daily}\n",
            "sightline.yaml:11: reports[1]: two reports are named 'churn-daily'; give one a 'name'",
        ),
        ("reports: {model: churn}\n", "sightline.yaml:9: reports: expected a list of reports"),
    ],
)
def test_mistakes_name_the_line_and_the_field(section: str, error: str):
    with pytest.raises(ConfigErrors) as caught:
        parse(ALERTING + section)
    assert caught.value.errors == [error]


def test_every_mistake_is_reported_at_once():
    text = "reports:\n  - {model: churn, every: 2d}\n  - {every: 1d}\n"
    with pytest.raises(ConfigErrors) as caught:
        parse(text)
    assert len(caught.value.errors) == 2


def test_without_an_email_channel_the_error_says_how_to_add_one():
    with pytest.raises(ConfigError, match="add a receiver with an email channel"):
        parse("reports:\n  - {model: churn, every: 1d, email: {channel: ml-team}}\n")


# -- what is due, and when --------------------------------------------------------------------


class Renderer:
    """The render callback: records the periods asked for; fails or finds no data on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.fail: Exception | None = None
        self.empty = False

    def __call__(self, schedule: ReportSchedule, window: Window) -> RenderedReport | None:
        self.calls.append((schedule.name, window.start))
        if self.fail is not None:
            raise self.fail
        if self.empty:
            return None
        html = f"<html><title>{schedule.model}</title><body>{window.start:%Y-%m-%d}</body></html>"
        return RenderedReport(html, f"120 predictions of {window.start:%Y-%m-%d}", 120)


def schedule(folder: Path, every: str = "1d", **fields: Any) -> ReportSchedule:
    return ReportSchedule(fields.pop("name", f"churn-{every}"), "churn", every, folder, **fields)


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


def scheduler(
    schedules: list[ReportSchedule], renderer: Renderer, clock: FakeClock, **options: Any
) -> ReportScheduler:
    return ReportScheduler(
        schedules, renderer, clock=clock, delay=DELAY, catchup=timedelta(days=30), **options
    )


def test_a_new_schedule_reports_the_last_closed_day_once(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=3, minutes=6))  # Thursday 00:06
    daily = schedule(tmp_path)
    reports = scheduler([daily], renderer, clock)

    [run] = reports.run_pending()
    assert (run.status, run.period_start, run.period_end) == (
        "ok",
        MONDAY + timedelta(days=2),
        MONDAY + timedelta(days=3),
    )
    assert run.file == "churn-1d-2026-03-04.html"
    assert (tmp_path / run.file).read_text().endswith("2026-03-04</body></html>")
    assert reports.run_pending() == []  # once
    clock.time += timedelta(hours=23, minutes=57)  # Friday 00:03: Thursday waits for the delay
    assert reports.run_pending() == []
    clock.time += timedelta(minutes=2)
    [thursday] = reports.run_pending()
    assert thursday.period_start == MONDAY + timedelta(days=3)
    assert renderer.calls == [
        ("churn-1d", MONDAY + timedelta(days=2)),
        ("churn-1d", MONDAY + timedelta(days=3)),
    ]


def test_after_downtime_every_missed_day_is_reported_oldest_first(
    tmp_path: Path, renderer: Renderer
):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    daily = schedule(tmp_path)
    scheduler([daily], renderer, clock).run_pending()  # Monday
    clock.time += timedelta(days=4)  # the server was down from Tuesday to Friday

    restarted = scheduler([daily], renderer, clock)  # a new process: the run log remembers
    runs = restarted.run_pending()

    assert [r.period_start.day for r in runs] == [3, 4, 5, 6]
    assert {r.status for r in runs} == {"ok"}
    assert [path.name for _, path in restarted.files(daily)] == [
        f"churn-1d-2026-03-0{day}.html" for day in (6, 5, 4, 3, 2)
    ]
    assert restarted.run_pending() == []


def test_catching_up_stops_at_the_catchup_limit(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    daily = schedule(tmp_path)
    scheduler([daily], renderer, clock).run_pending()
    clock.time += timedelta(days=60)

    runs = scheduler([daily], renderer, clock).run_pending()

    assert len(runs) == 30
    assert runs[-1].period_end == MONDAY + timedelta(days=61)


def test_a_weekly_report_covers_monday_to_monday(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=6))  # Sunday: the week is still open
    weekly = schedule(tmp_path, "1w")
    reports = scheduler([weekly], renderer, clock)
    [last_week] = reports.run_pending()
    assert last_week.period_start == MONDAY - timedelta(days=7)

    clock.time = MONDAY + timedelta(days=7, minutes=6)
    [run] = reports.run_pending()

    assert (run.period_start, run.period_end) == (MONDAY, MONDAY + timedelta(days=7))
    assert run.file == "churn-1w-2026-03-02.html"


def test_a_period_without_data_is_recorded_and_not_retried(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    renderer.empty = True
    reports = scheduler([schedule(tmp_path)], renderer, clock)

    [run] = reports.run_pending()
    clock.time += timedelta(hours=5)

    assert (run.status, run.file) == ("no_data", "")
    assert reports.run_pending() == []
    assert not list(tmp_path.glob("*.html"))


def test_a_failure_is_recorded_retried_and_then_given_up(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    renderer.fail = ComputeError("model 'churn' has no data in its reference range")
    daily = schedule(tmp_path)
    reports = scheduler([daily], renderer, clock, retry_after=timedelta(minutes=15))

    [first] = reports.run_pending()
    assert (first.status, first.attempt) == ("error", 1)
    assert "no data in its reference range" in first.error
    assert reports.run_pending() == []  # not before retry_after
    clock.time += timedelta(minutes=15)
    [second] = reports.run_pending()
    clock.time += timedelta(minutes=15)
    [third] = reports.run_pending()
    clock.time += timedelta(minutes=15)

    assert [second.attempt, third.attempt] == [2, 3]
    assert reports.run_pending() == []  # given up after three attempts
    assert [r.status for r in reports.runs(daily)] == ["error"] * 3  # visible, newest first
    lines = (tmp_path / RUN_LOG).read_text().splitlines()
    assert [json.loads(line)["attempt"] for line in lines] == [1, 2, 3]


def test_a_failure_that_clears_is_reported_on_the_retry(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    renderer.fail = RuntimeError("a bug")
    daily = schedule(tmp_path)
    reports = scheduler([daily], renderer, clock)
    [failed] = reports.run_pending()
    renderer.fail = None
    clock.time += timedelta(minutes=20)

    [run] = reports.run_pending()

    assert failed.error == "internal error: RuntimeError: a bug"
    assert (run.status, run.attempt) == ("ok", 2)
    assert reports.run_pending() == []


def test_one_schedule_failing_does_not_stop_the_others(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    broken = schedule(tmp_path / "file-not-dir", name="broken")
    (tmp_path / "file-not-dir").write_text("a file where the folder should be")
    fine = schedule(tmp_path / "fine", name="fine")

    runs = scheduler([broken, fine], renderer, clock).run_pending()

    assert [(r.schedule, r.status) for r in runs] == [("broken", "error"), ("fine", "ok")]
    assert "cannot write the report to" in runs[0].error


def test_only_recorded_files_can_be_found(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    daily = schedule(tmp_path / "reports")
    reports = scheduler([daily], renderer, clock)
    [run] = reports.run_pending()
    (tmp_path / "reports" / "other.html").write_text("not a report")

    assert reports.find_file(run.file) == tmp_path / "reports" / run.file
    assert reports.find_file("other.html") is None
    assert reports.find_file("../reports/" + run.file) is None
    assert reports.find_file(RUN_LOG) is None


def test_a_torn_line_in_the_run_log_is_skipped(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    daily = schedule(tmp_path)
    scheduler([daily], renderer, clock).run_pending()
    with (tmp_path / RUN_LOG).open("a") as log:
        log.write('{"schedule": "churn-1d", "stat')  # the process died while writing

    reports = scheduler([daily], renderer, clock)
    assert len(reports.runs(daily)) == 1
    assert reports.run_pending() == []


def test_the_lease_keeps_a_second_server_from_running_a_pass(tmp_path: Path, renderer: Renderer):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    reports = scheduler([schedule(tmp_path)], renderer, clock, lease=lambda: False)
    assert reports.run_pending() == []
    assert renderer.calls == []


# -- email ---------------------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps what it receives."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []
        self.port = port or free_port()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                mailbox.recipients.append(list(envelope.rcpt_tos))
                mailbox.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.stop()


def emailed(folder: Path, port: int, attach: bool = True) -> ReportSchedule:
    config = CONFIG.format(port=port)
    if not attach:
        config = config.replace("to: [ana@example.com, bo@example.com]}", "attach: false}")
    daily = parse(config, folder)[0]
    return ReportSchedule(
        daily.name, daily.model, daily.every, folder, daily.segments, None, daily.email
    )


def parts(message: Message) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[part.get_filename() or part.get_content_type()] = payload.decode()
    return found


def test_a_report_is_emailed_with_the_html_attached(
    tmp_path: Path, renderer: Renderer, mailbox: Mailbox
):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    daily = emailed(tmp_path, mailbox.port)
    link = "https://sl.example.com/reports/files/"
    reports = scheduler([daily], renderer, clock, link=lambda name: link + name)

    [run] = reports.run_pending()

    assert run.status == "ok"
    assert run.emailed == ("ana@example.com", "bo@example.com")
    [message] = mailbox.messages
    assert message["Subject"] == "Sightline report: churn, 2026-03-02 (daily)"
    assert message["From"] == "sightline@example.com"
    assert mailbox.recipients == [["ana@example.com", "bo@example.com"]]
    body = parts(message)
    text = body["text/plain"]
    assert "120 predictions of 2026-03-02" in text
    assert f"Report: {link}churn-daily-2026-03-02.html" in text
    assert body["churn-daily-2026-03-02.html"].strip() == (tmp_path / run.file).read_text()


def test_a_report_can_be_linked_instead_of_attached(
    tmp_path: Path, renderer: Renderer, mailbox: Mailbox
):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    reports = scheduler([emailed(tmp_path, mailbox.port, attach=False)], renderer, clock)

    reports.run_pending()

    [message] = mailbox.messages
    assert list(parts(message)) == ["text/plain"]
    assert message["To"] == "ml@example.com"


def test_an_unreachable_smtp_server_keeps_the_file_and_retries_the_email(
    tmp_path: Path, renderer: Renderer
):
    clock = FakeClock(MONDAY + timedelta(days=1, hours=1))
    port = free_port()  # nothing listens there yet
    daily = emailed(tmp_path, port)
    reports = scheduler([daily], renderer, clock)

    [failed] = reports.run_pending()
    assert failed.status == "email_failed"
    assert f"SMTP server 127.0.0.1:{port}" in failed.error
    assert (tmp_path / failed.file).is_file()  # saved all the same
    assert [p.name for _, p in reports.files(daily)] == [failed.file]

    box = Mailbox(port)  # the SMTP server comes back
    try:
        clock.time += timedelta(minutes=15)
        [retried] = reports.run_pending()
    finally:
        box.stop()

    assert (retried.status, retried.attempt, retried.error) == ("ok", 2, "")
    assert len(box.messages) == 1
    assert reports.run_pending() == []
