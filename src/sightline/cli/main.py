"""The ``sightline`` command: thin subcommands, each calling one library function.

Exit codes: 0 success, 1 a job or check failed, 2 bad usage or configuration, 3 the server or
the store could not be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sightline.cli.ingest as ingest_command
import sightline.cli.quarantine as quarantine_command
from sightline.cli import report
from sightline.config import Settings
from sightline.errors import (
    ConfigError,
    SightlineError,
    StoreError,
    TransportError,
    ValidationError,
)
from sightline.schema import JobRun, parse_time

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _local_stores(settings: Settings) -> tuple[Any, Any]:
    """The stores of the data directory, opened directly (no server is using them)."""
    from sightline.store import open_metric_store, open_prediction_store

    if not settings.prediction_store and not settings.data_dir.is_dir():
        raise ConfigError(
            f"no data directory at {settings.data_dir} and no server answering at {settings.url}; "
            "pass --data-dir or --url"
        )
    predictions = open_prediction_store(settings.prediction_store_url)
    try:
        metrics = open_metric_store(settings.metric_store_url)
    except BaseException:
        predictions.close()
        raise
    return predictions, metrics


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        os.environ,
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        url=getattr(args, "url", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server's dependencies load only for server commands

    from sightline.server import create_app

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings, start_scheduler=not args.no_scheduler)
    print(
        f"Sightline serving on http://{settings.host}:{settings.port} (data: {settings.data_dir})"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    return EXIT_OK


def _server_up(settings: Settings) -> bool:
    import httpx

    try:
        return httpx.get(settings.url.rstrip("/") + "/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _api(settings: Settings, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        response = httpx.request(
            method, settings.url.rstrip("/") + path, headers=headers, timeout=600.0, **kwargs
        )
    except httpx.HTTPError as error:
        raise TransportError(
            f"cannot reach the Sightline server at {settings.url}: {error}"
        ) from error
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code >= 400:
        message = (
            body.get("message", response.text[:500]) if isinstance(body, dict) else response.text
        )
        if response.status_code == 404:
            raise ValidationError(message)
        raise SightlineError(f"HTTP {response.status_code}: {message}")
    return body


def cmd_run(args: argparse.Namespace) -> int:
    """Compute the windows of a model in a time range, on the running server or locally."""
    settings = _settings(args)
    start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
    if end <= start:
        raise ValidationError("--to must be after --from", field="--to")
    if not args.local and _server_up(settings):
        body = {"from": start.isoformat(), "to": end.isoformat(), "granularity": args.granularity}
        result = _api(settings, "POST", f"/v1/models/{args.model}/runs", json=body)
        runs = [_run_from_dict(r) for r in result["runs"]]
    else:
        from sightline.monitoring import JobRunner, Monitor

        predictions, metrics = _local_stores(settings)
        try:
            if predictions.schema(args.model) is None:
                raise ValidationError(
                    f"model '{args.model}' has logged nothing in {settings.data_dir}"
                )
            runner = JobRunner(
                predictions,
                metrics,
                default=Monitor(granularity=settings.granularity, min_rows=settings.min_rows),
            )
            runs = runner.run_range(args.model, start, end, args.granularity)
        finally:
            predictions.close()
            metrics.close()
    _print_table(
        ["window_start", "window_end", "status", "rows", "seconds", "error"],
        [
            [
                r.window_start.isoformat(),
                r.window_end.isoformat(),
                r.status,
                r.n_rows,
                f"{r.duration_s:.3f}",
                r.error,
            ]
            for r in runs
        ],
    )
    failed = [r for r in runs if r.status == "error"]
    print(f"{len(runs)} window(s) computed, {len(failed)} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _run_from_dict(data: dict[str, Any]) -> JobRun:
    times = {
        k: parse_time(data[k]) for k in ("window_start", "window_end", "started_at", "finished_at")
    }
    return JobRun(
        data["model"],
        data["monitor"],
        data["granularity"],
        times["window_start"],
        times["window_end"],
        data["status"],
        times["started_at"],
        times["finished_at"],
        data["n_rows"],
        data["error"],
    )


def cmd_models(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if _server_up(settings):
        models = _api(settings, "GET", "/v1/models")["models"]
    else:
        predictions, metrics = _local_stores(settings)
        try:
            models = [m.to_dict() for m in predictions.models()]
        finally:
            predictions.close()
            metrics.close()
    if args.json:
        print(json.dumps(models, indent=2))
        return EXIT_OK
    _print_table(
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
    settings = _settings(args)
    run_demo(
        settings,
        days=args.days,
        per_hour=args.per_hour,
        live_rate=args.live_rate,
        duration=args.duration,
    )
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    rows = Settings.table()
    if args.markdown:
        print(settings_markdown())
        return EXIT_OK
    _print_table(["env", "default", "help"], [[r["env"], r["default"], r["help"]] for r in rows])
    return EXIT_OK


def settings_markdown() -> str:
    """The settings table as Markdown (docs/configuration.md embeds it)."""
    lines = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for r in Settings.table():
        default = f"`{r['default']}`" if r["default"] else "(empty)"
        lines.append(f"| `{r['env']}` | {r['type']} | {default} | {r['help']} |")
    return "\n".join(lines)


def _print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sightline",
        description="Sightline: ML monitoring. Every option can also be set as SIGHTLINE_<NAME> "
        "(see `sightline settings`).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, server: bool = False) -> None:
        p.add_argument(
            "--data-dir",
            type=Path,
            help="directory of the embedded stores (default ./sightline-data)",
        )
        p.add_argument(
            "--url", help="URL of a running Sightline server (default http://127.0.0.1:8000)"
        )
        if server:
            p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
            p.add_argument("--port", type=int, help="port to listen on (default 8000)")

    p = sub.add_parser("serve", help="run the server: collector, API, dashboard, scheduler")
    common(p, server=True)
    p.add_argument(
        "--no-scheduler", action="store_true", help="do not compute windows on a schedule"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "run",
        help="compute a model's windows in a time range now",
        description="Compute every window of MODEL overlapping [--from, --to). Goes through the "
        "server at --url when it answers, else opens the data directory directly. Exit code 1 "
        "when a window failed.",
    )
    common(p)
    p.add_argument("--model", required=True, help="the model")
    p.add_argument("--from", dest="start", required=True, help="start (ISO 8601 or epoch seconds)")
    p.add_argument(
        "--to", dest="end", required=True, help="end, exclusive (ISO 8601 or epoch seconds)"
    )
    p.add_argument(
        "--granularity", help="window length: 5m, 15m, 1h, 1d or 1w (default: the monitor's)"
    )
    p.add_argument(
        "--local", action="store_true", help="open the data directory even if a server answers"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("models", help="list the models that have logged data")
    common(p)
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
    common(p, server=True)
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
