"""Scheduled reports: a model's report for every closed day or week, saved to a folder and
optionally emailed through an email channel of the alerting section.

    reports:
      - model: churn
        every: 1d                    # 1d (daily) or 1w (weekly, Monday to Monday, UTC)
        folder: ./reports            # relative to the config file; default <data_dir>/reports
        segments: [plan]             # break the report down by these columns
        email: {channel: ml-team, to: [ml@example.com]}

:func:`parse_reports` reads the section with the config file's errors (file, line, field).
:class:`ReportScheduler` runs the due reports on a timer, with an injected clock: a closed
period is reported once; after downtime it catches up on the periods it missed (as far back as
``catchup``); a failure is recorded and retried a few times; every attempt is appended to
``runs.jsonl`` in the report's folder, which is what makes a period "done" across restarts.
Rendering is a callback (``render(schedule, window)``): this package computes nothing and draws
nothing; the server passes the report builder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sightline.errors import ConfigError, ConfigErrors, SightlineError
from sightline.monitoring.alerts.notifiers import EmailNotifier, build_notifier
from sightline.monitoring.alerts.policy import ChannelConfig
from sightline.monitoring.alerts.policy_config import PolicyParser
from sightline.monitoring.clock import Clock, SystemClock
from sightline.schema import Window, floor_time, parse_time, windows_between
from sightline.schema.yamldoc import YamlDoc

__all__ = [
    "RUN_LOG",
    "RenderedReport",
    "ReportEmail",
    "ReportRun",
    "ReportSchedule",
    "ReportScheduler",
    "parse_reports",
    "report_message",
]

log = logging.getLogger(__name__)

Location = tuple[str | int, ...]

REPORT_KEYS = {"name", "model", "every", "folder", "segments", "reference", "email"}
EMAIL_KEYS = {"channel", "to", "attach"}
EVERY = {"1d": "1d", "daily": "1d", "1w": "1w", "weekly": "1w"}
PERIOD_NAMES = {"1d": "daily", "1w": "weekly"}
#: The run log in each report folder: one JSON line per attempt.
RUN_LOG = "runs.jsonl"
DONE = ("ok", "no_data")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ReportEmail:
    """Where a scheduled report is emailed: an email channel of the alerting section, the
    recipients (the channel's unless given) and whether the HTML is attached or only linked."""

    channel: ChannelConfig
    to: tuple[str, ...]
    attach: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel.name, "to": list(self.to), "attach": self.attach}


@dataclass(frozen=True)
class ReportSchedule:
    """One ``reports:`` entry: ``model``'s report for every closed ``every`` period."""

    name: str
    model: str
    every: str  # "1d" or "1w"
    folder: Path
    segments: tuple[str, ...] = ()
    reference: str | None = None
    email: ReportEmail | None = None

    @property
    def period_name(self) -> str:
        return PERIOD_NAMES[self.every]

    def file_name(self, window: Window) -> str:
        return f"{self.name}-{window.start:%Y-%m-%d}.html"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "every": self.every,
            "folder": str(self.folder),
            "segments": list(self.segments),
            "reference": self.reference,
            "email": self.email.to_dict() if self.email else None,
        }


def parse_reports(
    section: Any,
    doc: YamlDoc | None = None,
    path: Location = ("reports",),
    channels: Sequence[ChannelConfig] = (),
    base_dir: Path | None = None,
    default_folder: Path = Path("reports"),
) -> tuple[ReportSchedule, ...]:
    """The schedules of a ``reports:`` section found at ``path`` of ``doc``. ``channels`` are
    the alerting section's (an email names one); a relative ``folder`` is taken from
    ``base_dir`` (the config file's directory). Every problem is collected and raised as
    ConfigErrors, each naming its line and field."""
    doc = doc or YamlDoc({"reports": section}, "<reports>")
    parser = _Parser(doc)
    schedules = parser.section(section, path, channels, base_dir or Path.cwd(), default_folder)
    if parser.errors:
        raise ConfigErrors(parser.errors)
    return schedules


class _Parser(PolicyParser):
    def section(
        self,
        section: Any,
        path: Location,
        channels: Sequence[ChannelConfig],
        base_dir: Path,
        default_folder: Path,
    ) -> tuple[ReportSchedule, ...]:
        if section is None:
            return ()
        if not isinstance(section, list):
            self.errors.append(str(self.fail(path, "expected a list of reports")))
            return ()
        schedules: list[ReportSchedule] = []
        for i, item in enumerate(section):
            schedule = self.guarded(
                self.schedule, item, (*path, i), channels, base_dir, default_folder
            )
            if schedule is None:
                continue
            if any(s.name == schedule.name for s in schedules):
                where = (*path, i, "name") if "name" in item else (*path, i)
                self.errors.append(
                    str(
                        self.fail(
                            where,
                            f"two reports are named '{schedule.name}'; give one a 'name'",
                        )
                    )
                )
                continue
            schedules.append(schedule)
        return tuple(schedules)

    def schedule(
        self,
        value: Any,
        path: Location,
        channels: Sequence[ChannelConfig],
        base_dir: Path,
        default_folder: Path,
    ) -> ReportSchedule:
        data = self.mapping(value, path)
        self.known(data, REPORT_KEYS, path)
        model = data.get("model")
        if not isinstance(model, str) or not model.strip():
            raise self.fail((*path, "model"), "expected the name of a model")
        every = EVERY.get(str(data.get("every", "")))
        if every is None:
            raise self.fail((*path, "every"), "expected 1d (daily) or 1w (weekly)")
        name = data.get("name", f"{model}-{PERIOD_NAMES[every]}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail((*path, "name"), "expected a name of letters, digits, '-', '_' and '.'")
        folder = default_folder
        if data.get("folder") is not None:
            if not isinstance(data["folder"], str) or not data["folder"].strip():
                raise self.fail((*path, "folder"), "expected a directory path")
            folder = Path(data["folder"]).expanduser()
            folder = folder if folder.is_absolute() else base_dir / folder
        segments = data.get("segments") or []
        if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
            raise self.fail((*path, "segments"), "expected a list of column names")
        reference = data.get("reference")
        if reference is not None and (not isinstance(reference, str) or not reference):
            raise self.fail(
                (*path, "reference"), "expected the name of a reference dataset, or 'previous'"
            )
        email = None
        if data.get("email") is not None:
            email = self.email(data["email"], (*path, "email"), channels)
        return ReportSchedule(name, model, every, folder, tuple(segments), reference, email)

    def email(self, value: Any, path: Location, channels: Sequence[ChannelConfig]) -> ReportEmail:
        data = self.mapping(value, path)
        self.known(data, EMAIL_KEYS, path)
        wanted = data.get("channel")
        emails = [c for c in channels if c.type == "email"]
        if not isinstance(wanted, str) or not wanted:
            raise self.fail((*path, "channel"), "expected the name of an email channel")
        # A receiver's name picks its (first) email channel; a channel's full name, that one.
        found = next((c for c in emails if wanted in (c.name, c.receiver)), None)
        if found is None:
            known = ", ".join(sorted({c.receiver for c in emails} | {c.name for c in emails}))
            hint = (
                f"; email channels: {known}"
                if known
                else "; add a receiver with an email channel under alerting.receivers"
            )
            raise self.fail((*path, "channel"), f"no email channel '{wanted}'{hint}")
        to = data.get("to", found.settings.get("to", []))
        to = [to] if isinstance(to, str) else to
        if (
            not isinstance(to, list)
            or not to
            or not all(isinstance(a, str) and "@" in a for a in to)
        ):
            raise self.fail((*path, "to"), "expected an address or a list of addresses")
        attach = data.get("attach", True)
        if not isinstance(attach, bool):
            raise self.fail((*path, "attach"), "expected true or false")
        return ReportEmail(found, tuple(to), attach)


@dataclass(frozen=True)
class RenderedReport:
    """What the render callback returns: the HTML page, one line for the email, its rows."""

    html: str
    summary: str
    n_rows: int


@dataclass(frozen=True)
class ReportRun:
    """One attempt at one period of a schedule (a line of ``runs.jsonl``).

    ``status``: ``ok`` (saved, and emailed when the schedule says so), ``no_data`` (the model
    logged nothing in the period: nothing saved), ``email_failed`` (saved, not emailed) or
    ``error`` (not saved), with ``error`` saying why."""

    schedule: str
    model: str
    every: str
    period_start: datetime
    period_end: datetime
    status: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    file: str = ""
    n_rows: int = 0
    emailed: tuple[str, ...] = ()
    error: str = ""
    trigger: str = "schedule"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "model": self.model,
            "every": self.every,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "file": self.file,
            "n_rows": self.n_rows,
            "emailed": list(self.emailed),
            "error": self.error,
            "trigger": self.trigger,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportRun:
        times = {
            k: parse_time(data[k], k)
            for k in ("period_start", "period_end", "started_at", "finished_at")
        }
        return cls(
            schedule=str(data["schedule"]),
            model=str(data["model"]),
            every=str(data["every"]),
            status=str(data["status"]),
            attempt=int(data.get("attempt", 1)),
            file=str(data.get("file", "")),
            n_rows=int(data.get("n_rows", 0)),
            emailed=tuple(data.get("emailed", ())),
            error=str(data.get("error", "")),
            trigger=str(data.get("trigger", "schedule")),
            **times,
        )


Render = Callable[[ReportSchedule, Window], RenderedReport | None]


def report_message(
    schedule: ReportSchedule,
    window: Window,
    rendered: RenderedReport,
    sender: str,
    link: str,
    now: datetime,
) -> EmailMessage:
    """The email of a scheduled report: the summary and a link, the HTML attached (unless the
    schedule says ``attach: false``)."""
    assert schedule.email is not None
    period = f"{window.start:%Y-%m-%d}"
    if schedule.every == "1w":
        period = f"week of {period}"
    message = EmailMessage()
    message["Subject"] = f"Sightline report: {schedule.model}, {period} ({schedule.period_name})"
    message["From"] = sender
    message["To"] = ", ".join(schedule.email.to)
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(idstring=schedule.file_name(window), domain="sightline")
    message["X-Sightline-Report"] = schedule.name
    lines = [
        f"The {schedule.period_name} report of model '{schedule.model}' for "
        f"{window.start:%Y-%m-%d %H:%M} – {window.end:%Y-%m-%d %H:%M} UTC.",
        "",
        rendered.summary,
        "",
        f"Report: {link}",
    ]
    if schedule.email.attach:
        lines.append("(also attached as an HTML file)")
    message.set_content("\n".join(lines) + "\n")
    if schedule.email.attach:
        message.add_attachment(rendered.html, subtype="html", filename=schedule.file_name(window))
    return message


class ReportScheduler:
    """Runs the due reports of ``schedules``: in a background thread every ``interval``
    seconds, or one pass at a time (:meth:`run_pending`).

    A period is due once it has closed (its end + ``delay`` ≤ now) and until it is done (a run
    ``ok`` or ``no_data``) or has failed ``max_attempts`` times (retried ``retry_after`` after
    each failure). A schedule that never ran starts with the last closed period; after
    downtime, every period since its last run is due, as far back as ``catchup``.
    ``link(file)`` is the URL an email points at; ``lease()`` says whether this process may run
    a pass (another server may hold it)."""

    def __init__(
        self,
        schedules: Sequence[ReportSchedule],
        render: Render,
        *,
        clock: Clock | None = None,
        delay: timedelta = timedelta(minutes=5),
        catchup: timedelta = timedelta(days=30),
        interval: float = 60.0,
        retry_after: timedelta = timedelta(minutes=15),
        max_attempts: int = 3,
        link: Callable[[str], str] = lambda name: name,
        lease: Callable[[], bool] | None = None,
    ):
        self.schedules = tuple(schedules)
        self.render = render
        self.clock = clock or SystemClock()
        self.delay = delay
        self.catchup = catchup
        self.interval = interval
        self.retry_after = retry_after
        self.max_attempts = max_attempts
        self.link = link
        self.lease = lease
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def schedule(self, name: str) -> ReportSchedule:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        raise KeyError(name)

    # -- the run log ----------------------------------------------------------------------

    def runs(self, schedule: ReportSchedule, limit: int | None = None) -> list[ReportRun]:
        """Every attempt of ``schedule``, newest first."""
        path = schedule.folder / RUN_LOG
        found: list[ReportRun] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as error:
            log.warning("cannot read the report run log %s: %s", path, error)
            return []
        for line in lines:
            try:
                data = json.loads(line)
                if data.get("schedule") == schedule.name:
                    found.append(ReportRun.from_dict(data))
            except (ValueError, KeyError, TypeError, SightlineError):
                continue  # a torn last line (a crash while writing) is skipped
        found.reverse()
        return found[:limit] if limit is not None else found

    def _record(self, schedule: ReportSchedule, run: ReportRun) -> None:
        schedule.folder.mkdir(parents=True, exist_ok=True)
        with (schedule.folder / RUN_LOG).open("a", encoding="utf-8") as out:
            out.write(json.dumps(run.to_dict()) + "\n")

    def files(self, schedule: ReportSchedule) -> list[tuple[ReportRun, Path]]:
        """The saved reports of ``schedule`` that still exist, newest period first."""
        seen: set[str] = set()
        found = []
        for run in self.runs(schedule):
            if run.file and run.file not in seen and run.status in ("ok", "email_failed"):
                seen.add(run.file)
                path = schedule.folder / run.file
                if path.is_file():
                    found.append((run, path))
        found.sort(key=lambda item: item[0].period_start, reverse=True)
        return found

    def find_file(self, name: str) -> Path | None:
        """The saved report called ``name`` (only names recorded in a run log: never a path
        the caller made up)."""
        for schedule in self.schedules:
            for _, path in self.files(schedule):
                if path.name == name:
                    return path
        return None

    # -- what is due ------------------------------------------------------------------------

    def due(self, schedule: ReportSchedule) -> list[Window]:
        """The closed periods of ``schedule`` not reported yet, oldest first."""
        now = self.clock.now()
        closed_until = floor_time(now - self.delay, schedule.every)
        length = Window.containing(closed_until, schedule.every).end - closed_until
        history: dict[datetime, list[ReportRun]] = {}
        for run in self.runs(schedule):
            history.setdefault(run.period_start, []).append(run)  # newest first
        if history:
            start = max(min(history), floor_time(now - self.catchup, schedule.every))
        else:
            start = closed_until - length  # a new schedule starts with the last closed period
        due = []
        for window in windows_between(start, closed_until, schedule.every):
            attempts = history.get(window.start, [])
            if any(r.status in DONE for r in attempts) or len(attempts) >= self.max_attempts:
                continue
            if attempts and attempts[0].finished_at + self.retry_after > now:
                continue
            due.append(window)
        return due

    def next_due(self, schedule: ReportSchedule) -> datetime:
        """When the next period closes (and its report is made)."""
        now = self.clock.now()
        return Window.containing(now - self.delay, schedule.every).end + self.delay

    # -- running ----------------------------------------------------------------------------

    def run_pending(self) -> list[ReportRun]:
        """One pass: every due period of every schedule, oldest first."""
        if self.lease is not None and not self.lease():
            log.debug("another server holds the reports lease; skipping this pass")
            return []
        runs: list[ReportRun] = []
        for schedule in self.schedules:
            try:
                for window in self.due(schedule):
                    runs.append(self.run_period(schedule, window))
            except Exception:  # one schedule's failure must not starve the others
                log.exception("scheduled report '%s' failed", schedule.name)
        return runs

    def run_period(
        self, schedule: ReportSchedule, window: Window, trigger: str = "schedule"
    ) -> ReportRun:
        """Make, save and email ``schedule``'s report of ``window``; record the attempt. Never
        raises: a failure is recorded in the returned run."""
        with self._lock:
            attempt = 1 + sum(1 for r in self.runs(schedule) if r.period_start == window.start)
            started = self.clock.now()
            status, file, rows, error = "ok", "", 0, ""
            emailed: tuple[str, ...] = ()
            try:
                rendered = self.render(schedule, window)
                if rendered is None:
                    status = "no_data"
                else:
                    rows = rendered.n_rows
                    file = self._save(schedule, window, rendered)
                    if schedule.email is not None:
                        try:
                            emailed = self._email(schedule, window, rendered, file)
                        except SightlineError as failure:
                            status, error = "email_failed", str(failure)
            except SightlineError as failure:
                status, error = "error", str(failure)
            except Exception as failure:  # a bug must not stop the other reports
                status, error = "error", f"internal error: {type(failure).__name__}: {failure}"
                log.exception("report %s of '%s' failed", window, schedule.name)
            run = ReportRun(
                schedule.name, schedule.model, schedule.every, window.start, window.end,
                status, attempt, started, self.clock.now(), file, rows, emailed, error, trigger,
            )  # fmt: skip
            try:
                self._record(schedule, run)
            except OSError as failure:
                log.error("cannot record report run of '%s': %s", schedule.name, failure)
        if status in ("error", "email_failed"):
            log.warning("report %s of '%s': %s: %s", window, schedule.name, status, error)
        return run

    def _save(self, schedule: ReportSchedule, window: Window, rendered: RenderedReport) -> str:
        name = schedule.file_name(window)
        try:
            schedule.folder.mkdir(parents=True, exist_ok=True)
            partial = schedule.folder / f".{name}.partial"
            partial.write_text(rendered.html, encoding="utf-8")
            os.replace(partial, schedule.folder / name)
        except OSError as error:
            raise ConfigError(
                f"cannot write the report to {schedule.folder}: {error}; check the folder of "
                f"report '{schedule.name}'"
            ) from None
        return name

    def _email(
        self, schedule: ReportSchedule, window: Window, rendered: RenderedReport, file: str
    ) -> tuple[str, ...]:
        assert schedule.email is not None
        notifier = build_notifier(schedule.email.channel)
        if not isinstance(notifier, EmailNotifier):
            raise ConfigError(f"channel {schedule.email.channel.name} is not an email channel")
        message = report_message(
            schedule, window, rendered, notifier.sender, self.link(file), self.clock.now()
        )
        notifier.deliver(message)
        return schedule.email.to

    def start(self) -> None:
        if self._thread is not None or self.interval <= 0 or not self.schedules:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sightline-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                runs = self.run_pending()
                if runs:
                    log.info("made %d scheduled report(s)", len(runs))
            except Exception:  # the loop must survive anything a pass throws
                log.exception("scheduled reports pass failed")
            self._stop.wait(self.interval)
