"""The ``sightline`` command: thin subcommands, each calling one library function.

Exit codes: 0 success, 1 a job or check failed, 2 bad usage or configuration, 3 the server or
the store could not be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import sightline.cli.ingest as ingest_command
import sightline.cli.quarantine as quarantine_command
from sightline.cli import alerts, backup, keys, monitoring, report, reports
from sightline.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    add_location,
    api,
    print_table,
    server_up,
    settings_from,
    stores,
)
from sightline.config import Settings
from sightline.errors import (
    ConfigError,
    SightlineError,
    StoreError,
    TransportError,
    ValidationError,
)

__all__ = ["build_parser", "main", "settings_markdown"]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server's dependencies load only for server commands

    from sightline.server import create_app

    settings = settings_from(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings, start_scheduler=not args.no_scheduler)
    print(
        f"Sightline serving on http://{settings.host}:{settings.port} (data: {settings.data_dir})"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if server_up(settings):
        models = api(settings, "GET", "/v1/models")["models"]
    else:
        with stores(settings) as (predictions, _metrics):
            models = [m.to_dict() for m in predictions.models()]
    if args.json:
        print(json.dumps(models, indent=2))
        return EXIT_OK
    print_table(
        ["model", "predictions", "labels", "first", "last"],
        [
            [m["name"], m["n_predictions"], m["n_feedback"], m["first_ts"], m["last_ts"]]
            for m in models
        ],
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from sightline.demo import run_demo

    if args.data_dir is None:
        args.data_dir = Path("sightline-demo")
    settings = settings_from(args)
    run_demo(
        settings,
        days=args.days,
        per_hour=args.per_hour,
        live_rate=args.live_rate,
        duration=args.duration,
    )
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings_markdown())
        return EXIT_OK
    rows = Settings.table()
    print_table(["env", "default", "help"], [[r["env"], r["default"], r["help"]] for r in rows])
    return EXIT_OK


def settings_markdown() -> str:
    """The settings table as Markdown (docs/configuration.md embeds it)."""
    lines = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for r in Settings.table():
        default = f"`{r['default']}`" if r["default"] else "(empty)"
        lines.append(f"| `{r['env']}` | {r['type']} | {default} | {r['help']} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sightline",
        description="Sightline: ML monitoring. Every option can also be set as SIGHTLINE_<NAME> "
        "(see `sightline settings`).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the server: collector, API, dashboard, scheduler")
    add_location(p, server=True)
    p.add_argument(
        "--no-scheduler", action="store_true", help="do not compute windows on a schedule"
    )
    p.set_defaults(func=cmd_serve)

    monitoring.add_parsers(sub)

    p = sub.add_parser("models", help="list the models that have logged data")
    add_location(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "demo",
        help="start a server with a simulated model service and a week of data",
        description="Start a fresh server (data in ./sightline-demo), train a small scikit-learn "
        "model, log a week of its predictions through the SDK with drift from day 5 and labels a "
        "day late, compute every window, print the dashboard URL and keep logging live traffic "
        "until Ctrl-C.",
    )
    add_location(p, server=True, data_dir="./sightline-demo")
    p.add_argument("--days", type=int, default=7, help="days of history to log (default 7)")
    p.add_argument(
        "--per-hour", type=int, default=600, help="predictions per hour of history (default 600)"
    )
    p.add_argument(
        "--live-rate", type=float, default=2.0, help="live predictions per second (default 2)"
    )
    p.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds of live traffic"
    )
    p.set_defaults(func=cmd_demo)

    report.add_parser(sub)

    p = sub.add_parser("settings", help="print every setting with its environment variable")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=cmd_settings)

    ingest_command.add_parser(sub)
    quarantine_command.add_parser(sub)
    alerts.add_parsers(sub)
    reports.add_parsers(sub)
    keys.add_parsers(sub)
    backup.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_OK
    except (ConfigError, ValidationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (TransportError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except SightlineError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
