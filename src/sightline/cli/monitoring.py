"""Monitoring commands: run and backfill windows, list runs, query metrics, references, config.

Each goes through the running server's API when it answers at ``--url`` (the server owns the
embedded stores), else opens the data directory directly.
"""

from __future__ import annotations

import argparse
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sightline.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_location,
    api,
    print_table,
    server_up,
    settings_from,
    stores,
)
from sightline.config import Settings
from sightline.errors import ValidationError
from sightline.schema import GRANULARITIES, JobRun, parse_time
from sightline.schema.points import parse_segment

__all__ = ["add_parsers"]


def _runner(settings: Settings, predictions: Any, metrics: Any) -> Any:
    from sightline.monitoring import JobRunner

    return JobRunner.from_settings(settings, predictions, metrics)


def _run_from_dict(data: dict[str, Any]) -> JobRun:
    times = {
        k: parse_time(data[k]) for k in ("window_start", "window_end", "started_at", "finished_at")
    }
    return JobRun(
        data["model"], data["monitor"], data["granularity"], times["window_start"],
        times["window_end"], data["status"], times["started_at"], times["finished_at"],
        data["n_rows"], data["error"], data.get("trigger", ""),
    )  # fmt: skip


def _range(args: argparse.Namespace) -> tuple[datetime, datetime, str | None]:
    if getattr(args, "window", None):
        if args.start or args.end:
            raise ValidationError("give either --window or --from/--to", field="--window")
        # The one window (of --granularity, else of the monitor's) that holds this time.
        moment = parse_time(args.window, "--window")
        return moment, moment + timedelta(microseconds=1), args.granularity
    if not args.start or not args.end:
        raise ValidationError("give --from and --to (or --window)", field="--from")
    start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
    if end <= start:
        raise ValidationError("--to must be after --from", field="--to")
    return start, end, args.granularity


def _known(predictions: Any, model: str, settings: Settings) -> None:
    if predictions.schema(model) is None:
        raise ValidationError(f"model '{model}' has logged nothing in {settings.data_dir}")


def cmd_run(args: argparse.Namespace, trigger: str = "manual") -> int:
    """Compute the windows of a model in a range, on the running server or locally."""
    settings = settings_from(args)
    start, end, granularity = _range(args)
    if not args.local and server_up(settings):
        body = {
            "from": start.isoformat(), "to": end.isoformat(), "granularity": granularity,
            "monitor": args.monitor, "trigger": trigger,
        }  # fmt: skip
        result = api(settings, "POST", f"/v1/models/{args.model}/runs", json=body)
        runs = [_run_from_dict(r) for r in result["runs"]]
        rollups = [_run_from_dict(r) for r in result.get("rollups", [])]
    else:
        with stores(settings) as (predictions, metrics):
            _known(predictions, args.model, settings)
            runner = _runner(settings, predictions, metrics)
            runs = runner.run_range(args.model, start, end, granularity, args.monitor, trigger)
            rollups = []
            if any(r.status != "error" for r in runs):
                chosen = runner.monitor(args.model, args.monitor, granularity)
                rollups = runner.rollup_range(
                    args.model, runs[0].window_start, runs[-1].window_end, chosen
                )
    print_table(
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
    done = f"{len(runs)} window(s) computed, {len(failed)} failed"
    if rollups:
        done += f"; {len(rollups)} day/week roll-up(s)"
    print(done)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    return cmd_run(args, trigger="backfill")


def cmd_runs(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if server_up(settings):
        params: dict[str, Any] = {"limit": args.limit}
        if args.monitor:
            params["monitor"] = args.monitor
        runs = api(settings, "GET", f"/v1/models/{args.model}/runs", params=params)["runs"]
    else:
        with stores(settings) as (predictions, metrics):
            _known(predictions, args.model, settings)
            runs = [
                r.to_dict()
                for r in metrics.runs(args.model, limit=args.limit, monitor=args.monitor)
            ]
    if args.json:
        print(json.dumps(runs, indent=2))
        return EXIT_OK
    print_table(
        ["window_start", "granularity", "monitor", "status", "trigger", "rows", "seconds", "error"],
        [
            [
                r["window_start"],
                r["granularity"],
                r["monitor"],
                r["status"],
                r.get("trigger", ""),
                r["n_rows"],
                f"{r['duration_s']:.3f}",
                r["error"],
            ]
            for r in runs
        ],
    )
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    params: dict[str, Any] = {"details": "false", "version": args.version, "segment": args.segment}
    for key in ("column", "granularity", "monitor"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    if args.start:
        params["start"] = parse_time(args.start, "--from").isoformat()
    if args.end:
        params["end"] = parse_time(args.end, "--to").isoformat()
    if args.metric:
        params["metric"] = args.metric
    if server_up(settings):
        points = api(settings, "GET", f"/v1/models/{args.model}/metrics", params=params)["points"]
    else:
        if args.granularity and args.granularity not in GRANULARITIES:
            known = ", ".join(GRANULARITIES)
            raise ValidationError(f"unknown granularity {args.granularity!r}; use one of {known}")
        with stores(settings) as (predictions, metrics):
            _known(predictions, args.model, settings)
            granularity = args.granularity or (
                _runner(settings, predictions, metrics)
                .monitor(args.model, args.monitor)
                .granularity
            )
            found = []
            segment_key, segment_value = parse_segment(args.segment)
            names: list[str | None] = list(args.metric) if args.metric else [None]
            for metric in names:
                found += metrics.query(
                    args.model,
                    metric=metric,
                    column=args.column,
                    granularity=granularity,
                    monitor=args.monitor,
                    model_version=None if args.version == "*" else args.version,
                    segment_key=segment_key,
                    segment_value=segment_value,
                    start=parse_time(args.start, "--from") if args.start else None,
                    end=parse_time(args.end, "--to") if args.end else None,
                )
            points = [{**p.to_dict(), "details": {}} for p in found]
    if args.json:
        print(json.dumps(points, indent=2))
        return EXIT_OK
    header = ["window_start", "granularity", "metric", "column", "value", "rows"]
    extra = args.version == "*" or args.segment not in ("",)
    if extra:
        header += ["version", "segment"]
    rows = []
    for p in points:
        value = p["value"]
        row = [p["window_start"], p["granularity"], p["metric"], p["column"],
               "—" if value is None else f"{value:.6g}", p["n_rows"]]  # fmt: skip
        if extra:
            segment = f"{p['segment_key']}={p['segment_value']}" if p["segment_key"] else ""
            row += [p["model_version"], segment]
        rows.append(row)
    print_table(header, rows)
    print(f"{len(points)} point(s)")
    return EXIT_OK


def cmd_reference_upload(args: argparse.Namespace) -> int:
    import pyarrow as pa  # the engine's dependencies load only for this command

    from sightline.reports import load_table

    settings = settings_from(args)
    table = load_table(args.file, "file")
    if server_up(settings):
        buffer = io.BytesIO()
        with pa.ipc.new_stream(buffer, table.schema) as writer:
            writer.write_table(table)
        result = api(
            settings,
            "PUT",
            f"/v1/models/{args.model}/references/{args.name}",
            content=buffer.getvalue(),
            headers={"content-type": "application/vnd.apache.arrow.stream"},
        )
        columns = ", ".join(result["columns"])
        print(f"reference '{args.name}' of '{args.model}': {result['n_rows']:,} rows ({columns})")
        return EXIT_OK
    from sightline.monitoring.references import conform_reference

    with stores(settings) as (predictions, _metrics):
        schema = predictions.schema(args.model)
        if schema is None:
            raise ValidationError(
                f"model '{args.model}' has logged nothing yet: log a prediction first"
            )
        conformed = conform_reference(schema, table)
        predictions.save_reference(args.model, args.name, conformed)
    columns = ", ".join(conformed.column_names)
    print(f"reference '{args.name}' of '{args.model}': {conformed.num_rows:,} rows ({columns})")
    return EXIT_OK


def cmd_reference_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if server_up(settings):
        references = api(settings, "GET", f"/v1/models/{args.model}/references")["references"]
    else:
        with stores(settings) as (predictions, _metrics):
            references = [
                {"name": n, "n_rows": r, "created_at": c.isoformat()}
                for n, r, c in predictions.references(args.model)
            ]
    print_table(
        ["name", "rows", "uploaded"],
        [[r["name"], r["n_rows"], r["created_at"]] for r in references],
    )
    return EXIT_OK


def cmd_config_check(args: argparse.Namespace) -> int:
    from sightline.monitoring.config import load_config

    config = load_config(args.file)
    print(f"{args.file}: OK — {len(config.models)} model(s) configured")
    for name, model in config.models.items():
        monitors = ", ".join(f"{m.name} ({m.granularity})" for m in model.monitors)
        print(f"  {name}: {monitors}")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    def window_args(p: argparse.ArgumentParser) -> None:
        add_location(p)
        p.add_argument("--model", required=True, help="the model")
        p.add_argument("--from", dest="start", help="start (ISO 8601 or epoch seconds)")
        p.add_argument("--to", dest="end", help="end, exclusive (ISO 8601 or epoch seconds)")
        p.add_argument("--window", help="compute the one window containing this time")
        p.add_argument(
            "--granularity", help="window length: 5m, 15m, 1h, 1d or 1w (default: the monitor's)"
        )
        p.add_argument("--monitor", help="the monitor (default: the model's first)")
        p.add_argument(
            "--local", action="store_true", help="open the data directory even if a server answers"
        )

    p = sub.add_parser(
        "run",
        help="compute a model's windows in a time range (or one window) now",
        description="Compute every window of MODEL overlapping [--from, --to), or the one "
        "--window containing a time. Goes through the server at --url when it answers, else "
        "opens the data directory directly. Exit code 1 when a window failed, 2 on bad usage, "
        "3 when the store cannot be opened.",
    )
    window_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "backfill",
        help="recompute a model's windows in a time range (replaces their points)",
        description="Recompute every window of MODEL overlapping [--from, --to). Recomputing a "
        "window replaces its points; nothing is duplicated. Exit codes as `run`.",
    )
    window_args(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("runs", help="list a model's job runs (status, duration, rows, error)")
    add_location(p)
    p.add_argument("--model", required=True)
    p.add_argument("--monitor")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("metrics", help="print a model's metric points as a table")
    add_location(p)
    p.add_argument("--model", required=True)
    p.add_argument("--metric", action="append", help="metric name (repeat for several)")
    p.add_argument("--column")
    p.add_argument("--granularity", help="5m, 15m, 1h, 1d or 1w (coarser ones are roll-ups)")
    p.add_argument("--from", dest="start")
    p.add_argument("--to", dest="end")
    p.add_argument(
        "--version", default="", help="'' all versions together (default), a version, or '*'"
    )
    p.add_argument("--segment", default="", help="'' all data (default), KEY, KEY=VALUE or '*'")
    p.add_argument("--monitor")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("reference", help="upload or list a model's reference datasets")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("upload", help="upload a Parquet/CSV/JSONL file as a reference dataset")
    add_location(up)
    up.add_argument("--model", required=True)
    up.add_argument("--name", default="default", help="the reference's name (default: default)")
    up.add_argument("file", type=Path)
    up.set_defaults(func=cmd_reference_upload)
    ls = actions.add_parser("list", help="list the reference datasets of a model")
    add_location(ls)
    ls.add_argument("--model", required=True)
    ls.set_defaults(func=cmd_reference_list)

    p = sub.add_parser("config", help="check a config file")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate a config file offline (exit 2 on errors)")
    check.add_argument("file", type=Path)
    check.set_defaults(func=cmd_config_check)
