"""``sightline quarantine list``: the records the collector refused, with their reasons.

Asks the running server (``GET /v1/quarantine``); with no server answering, reads the data
directory's prediction store directly.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sightline.cli.common import (
    EXIT_OK,
    add_location,
    api,
    print_table,
    server_up,
    settings_from,
    stores,
)

__all__ = ["add_parser", "cmd_quarantine_list"]


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if server_up(settings):
        params: dict[str, Any] = {
            "limit": args.limit,
            **({"model": args.model} if args.model else {}),
        }
        records = api(settings, "GET", "/v1/quarantine", params=params)["records"]
    else:
        with stores(settings) as (predictions, _metrics):
            records = [r.to_dict() for r in predictions.quarantined(args.model, args.limit)]
    if args.json:
        print(json.dumps(records, indent=2))
        return EXIT_OK
    print_table(
        ["received_at", "model", "kind", "index", "field", "reason"],
        [
            [
                r["received_at"][:19],
                r["model"],
                r["kind"],
                r["index"],
                r["field"],
                r["message"][:80],
            ]
            for r in records
        ],
    )
    print(f"{len(records)} quarantined record(s)")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("quarantine", help="records the collector refused, with their reasons")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="list quarantined records, newest first")
    add_location(q)
    q.add_argument("--model", help="only this model's records")
    q.add_argument("--limit", type=int, default=100, help="most records to list (default 100)")
    q.add_argument("--json", action="store_true", help="print JSON, with each record as received")
    q.set_defaults(func=cmd_quarantine_list)
