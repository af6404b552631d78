"""``sightline reports ...``: a model's report for a time range, and the scheduled reports.

``reports run`` goes through the server at ``--url`` when it answers (the server owns the
stores), else opens the data directory; ``reports list`` asks the server, else reads the config
file's schedules and their run logs; ``reports check FILE`` validates a config file's
``reports:`` section offline.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sightline.cli.common import (
    EXIT_OK,
    add_location,
    api,
    auth_headers,
    print_table,
    server_up,
    settings_from,
    stores,
)
from sightline.config import Settings
from sightline.errors import ComputeError, SightlineError, TransportError, ValidationError
from sightline.schema import parse_time

__all__ = ["add_parsers"]


def _time(value: str, flag: str) -> datetime:
    try:
        return parse_time(value, flag)
    except ValidationError as error:
        raise ValidationError(f"{flag}: {error.message}", field=flag) from None


def _fetch(settings: Settings, path: str, params: list[tuple[str, str]]) -> str:
    """A report's body from the server (HTML or JSON text); errors keep the server's message."""
    import httpx  # lazy: only commands that talk to a server pay for it

    headers = auth_headers(settings)
    try:
        response = httpx.get(
            settings.url.rstrip("/") + path,
            params=tuple(params),
            headers=headers,
            timeout=1800.0,
        )
    except httpx.HTTPError as error:
        raise TransportError(
            f"cannot reach the Sightline server at {settings.url}: {error}"
        ) from error
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text[:500])
        except ValueError:
            message = response.text[:500]
        if response.status_code in (404, 422):
            raise ValidationError(message)
        raise SightlineError(f"HTTP {response.status_code}: {message}")
    return response.text


def _local_report(
    settings: Settings, args: argparse.Namespace, start: datetime, end: datetime
) -> Any:
    # Lazy: the engine and the server load only for this command. The report builder joins
    # monitoring and reports, so it lives in the server layer.
    from sightline.monitoring import JobRunner
    from sightline.server.model_report import model_report

    with stores(settings) as (predictions, metrics):
        runner = JobRunner.from_settings(settings, predictions, metrics)
        try:
            return model_report(
                predictions,
                runner,
                args.model,
                start,
                end,
                segments=args.segment or [],
                reference=args.reference,
                max_rows=settings.report_max_rows,
            )
        except ComputeError as error:  # no data in the range or the reference: as the API's 422
            raise ValidationError(str(error)) from None


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    start, end = _time(args.start, "--from"), _time(args.end, "--to")
    output: Path | None = args.output
    if output is None and args.json is None:
        output = Path(f"{args.model}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.html")
    to_stdout = str(args.json) == "-"
    notes = sys.stderr if to_stdout else sys.stdout  # stdout carries only the JSON then
    if not args.local and server_up(settings):
        params = [("start", start.isoformat()), ("end", end.isoformat())]
        params += [("segment", s) for s in args.segment or []]
        if args.reference:
            params.append(("reference", args.reference))
        path = f"/v1/models/{args.model}/report"
        summary = "made by the server at " + settings.url
        if args.json is not None:
            text = _fetch(settings, path, [*params, ("format", "json")])
            summary = _summary(json.loads(text))
            _write_json(text, args.json)
        if output is not None:
            html = _fetch(settings, path, [*params, ("format", "html")])
            output.write_text(html, encoding="utf-8")
            print(f"HTML report: {output}", file=notes)
    else:
        built = _local_report(settings, args, start, end)
        summary = built.summary()
        if args.json is not None:
            _write_json(built.to_json(), args.json)
        if output is not None:
            output.write_text(built.to_html(), encoding="utf-8")
            print(f"HTML report: {output}", file=notes)
    print(summary, file=notes)
    return EXIT_OK


def _write_json(text: str, target: Path) -> None:
    if str(target) == "-":
        sys.stdout.write(text.rstrip("\n") + "\n")
    else:
        target.write_text(text, encoding="utf-8")
        print(f"JSON report: {target}")


def _summary(body: dict[str, Any]) -> str:
    data = body.get("data", {})
    drifted = data.get("drifted_columns", [])
    share = data.get("share_of_drifted_columns")
    drift = "n/a (too little data)" if share is None else f"{share:.0%}"
    return (
        f"{data.get('n_current', 0):,} predictions vs {data.get('n_reference', 0):,} reference "
        f"rows ({body.get('reference', '')}); drifted columns: {len(drifted)} of "
        f"{len(data.get('columns', {}))} ({drift})" + (f": {', '.join(drifted)}" if drifted else "")
    )


def _local_status(settings: Settings) -> list[dict[str, Any]]:
    """The schedules of the config file with their run logs (no server needed)."""
    from sightline.monitoring.alerts import parse_alerting
    from sightline.monitoring.config import config_for
    from sightline.monitoring.report_schedule import ReportScheduler, parse_reports

    config = config_for(settings)
    alerting = parse_alerting(config.alerting, config.doc, ("alerting",), None, settings.url)
    base_dir = Path(settings.config).resolve().parent if settings.config else Path.cwd()
    schedules = parse_reports(
        config.reports,
        config.doc,
        ("reports",),
        alerting.policy.channels,
        base_dir,
        settings.data_dir / "reports",
    )
    scheduler = ReportScheduler(schedules, lambda schedule, window: None)
    out = []
    for schedule in schedules:
        runs = scheduler.runs(schedule, 1)
        view = schedule.to_dict()
        view["last_run"] = runs[0].to_dict() if runs else None
        view["next_run"] = scheduler.next_due(schedule).isoformat()
        view["files"] = [{"name": p.name} for _, p in scheduler.files(schedule)]
        out.append(view)
    return out


def cmd_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if server_up(settings):
        reports = api(settings, "GET", "/v1/reports")["reports"]
    else:
        reports = _local_status(settings)
    if args.json:
        print(json.dumps(reports, indent=2))
        return EXIT_OK
    rows = []
    for r in reports:
        last = r.get("last_run") or {}
        email = ", ".join(r["email"]["to"]) if r.get("email") else ""
        rows.append(
            [
                r["name"],
                r["model"],
                "day" if r["every"] == "1d" else "week",
                (last.get("period_start") or "")[:10],
                last.get("status", "never run"),
                len(r.get("files", [])),
                email,
                (last.get("error") or "")[:60],
            ]
        )
    print_table(
        ["report", "model", "every", "last period", "status", "files", "email", "error"], rows
    )
    print(f"{len(reports)} scheduled report(s)")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from sightline.monitoring.alerts import parse_alerting
    from sightline.monitoring.config import load_config
    from sightline.monitoring.report_schedule import parse_reports

    config = load_config(args.file)
    # Secrets stay as written: the check needs no environment.
    alerting = parse_alerting(config.alerting, config.doc, ("alerting",), None)
    schedules = parse_reports(
        config.reports,
        config.doc,
        ("reports",),
        alerting.policy.channels,
        Path(args.file).resolve().parent,
    )
    print(f"{args.file}: {len(schedules)} scheduled report(s)")
    for s in schedules:
        email = f", emailed to {', '.join(s.email.to)}" if s.email else ""
        print(f"  {s.name}: model {s.model}, every {s.every}, to {s.folder}{email}")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    reports = sub.add_parser(
        "reports",
        help="a model's report for a time range; the scheduled reports",
        description="Make a model's report (its predictions in a range compared with its "
        "reference) through the server at --url, or on the data directory; list or check the "
        "scheduled reports of the config file.",
    )
    commands = reports.add_subparsers(dest="reports_command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "run",
        help="write the report of a model over a time range",
        description="Compare the predictions of MODEL in [--from, --to) (joined with their "
        "ground truth) with its reference and write the HTML (-o) and/or JSON (--json) report. "
        "Through the server at --url when it answers, else on the data directory.",
    )
    add_location(p)
    p.add_argument("--model", required=True, help="the model")
    p.add_argument("--from", dest="start", required=True, help="start (ISO 8601 or epoch seconds)")
    p.add_argument("--to", dest="end", required=True, help="end, exclusive")
    p.add_argument("-o", "--output", type=Path, help="write the HTML report here")
    p.add_argument("--json", type=Path, help="write the JSON report here ('-' for stdout)")
    p.add_argument("--segment", action="append", metavar="COLUMN", help="break down by a column")
    p.add_argument(
        "--reference", help="an uploaded reference dataset, or 'previous' (default: the monitor's)"
    )
    p.add_argument(
        "--local", action="store_true", help="open the data directory even if a server answers"
    )
    p.set_defaults(func=cmd_run)

    p = commands.add_parser("list", help="the scheduled reports, their last run and files")
    add_location(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("check", help="validate the reports section of a config file")
    p.add_argument("file", help="the YAML config file")
    p.set_defaults(func=cmd_check)
