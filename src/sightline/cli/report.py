"""``sightline report``: compare two datasets and write an HTML (and/or JSON) report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def cmd_report(args: argparse.Namespace) -> int:
    from sightline.reports import compare  # the engine's dependencies load only when used

    roles: dict[str, Any] = {}
    for role in ("target", "prediction_label", "prediction_score", "id_column", "timestamp_column"):
        value = getattr(args, role)
        if value:
            roles[role] = value
    if args.task:
        roles["task"] = args.task
    if args.segment:
        roles["segments"] = tuple(args.segment)
    if args.numerical:
        roles["numerical_features"] = tuple(args.numerical)
    if args.categorical:
        roles["categorical_features"] = tuple(args.categorical)
    methods = dict(_pair(m, "--method") for m in args.method or [])
    thresholds = {k: float(v) for k, v in (_pair(t, "--threshold") for t in args.threshold or [])}
    report = compare(
        args.reference,
        args.current,
        methods=methods,
        thresholds=thresholds,
        min_rows=args.min_rows,
        multivariate=args.multivariate,
        **roles,
    )
    to_stdout = str(args.json) == "-"
    notes = sys.stderr if to_stdout else sys.stdout  # stdout carries only the JSON then
    if args.output:
        print(f"HTML report: {report.save_html(args.output)}", file=notes)
    if args.json:
        if str(args.json) == "-":
            sys.stdout.write(report.to_json() + "\n")
        else:
            print(f"JSON report: {report.save_json(args.json)}")
    data = report.comparison.data
    share = data.share_of_drifted_columns
    summary = "n/a (too little data)" if share is None else f"{share:.0%}"
    print(
        f"{data.n_reference:,} reference rows, {data.n_current:,} current rows; "
        f"drifted columns: {len(data.drifted_columns)} of {len(data.columns)} ({summary})"
        + (f": {', '.join(data.drifted_columns)}" if data.drifted_columns else ""),
        file=notes,
    )
    if args.fail_on_drift and data.dataset_drift:
        return 1
    return 0


def _pair(text: str, flag: str) -> tuple[str, str]:
    from sightline.errors import ValidationError

    column, sep, value = text.partition("=")
    if not sep or not column or not value:
        raise ValidationError(f"{flag} takes COLUMN=VALUE, got {text!r}", field=flag)
    return column, value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="compare a reference and a current dataset; write an HTML/JSON report",
        description="Compare CURRENT with REFERENCE (Parquet, CSV or JSON Lines files): data "
        "quality and drift per column, model quality when target and predictions are present, "
        "estimated quality (CBPE) for an unlabelled binary classifier, per-segment breakdowns. "
        "Column roles not given are inferred. Exit code 1 with --fail-on-drift when the dataset "
        "drifted.",
    )
    p.add_argument("--reference", required=True, type=Path, help="the reference dataset")
    p.add_argument("--current", required=True, type=Path, help="the current dataset")
    p.add_argument("-o", "--output", type=Path, help="write the HTML report here")
    p.add_argument("--json", type=Path, help="write the JSON report here ('-' for stdout)")
    p.add_argument("--target", help="target column (default: 'target' if present)")
    p.add_argument("--prediction-label", dest="prediction_label", help="predicted label column")
    p.add_argument(
        "--prediction-score", dest="prediction_score", help="predicted probability column"
    )
    p.add_argument("--task", choices=("classification", "regression"), help="default: inferred")
    p.add_argument("--id-column", dest="id_column", help="id column")
    p.add_argument("--timestamp-column", dest="timestamp_column", help="time column")
    p.add_argument("--numerical", nargs="+", metavar="COLUMN", help="numerical features")
    p.add_argument("--categorical", nargs="+", metavar="COLUMN", help="categorical features")
    p.add_argument("--segment", action="append", metavar="COLUMN", help="break down by this column")
    p.add_argument(
        "--method", action="append", metavar="COLUMN=METHOD", help="drift method of a column"
    )
    p.add_argument(
        "--threshold", action="append", metavar="COLUMN=VALUE", help="drift threshold of a column"
    )
    p.add_argument("--min-rows", type=int, default=30, help="fewer values: insufficient data")
    p.add_argument("--fail-on-drift", action="store_true", help="exit 1 when the dataset drifted")
    p.add_argument(
        "--multivariate",
        action="store_true",
        help="also check all features together with a domain classifier (ROC AUC)",
    )
    p.set_defaults(func=cmd_report)
