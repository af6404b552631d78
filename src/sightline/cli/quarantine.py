"""``sightline quarantine list``: the records the collector refused, with their reasons.

Asks the running server (``GET /v1/quarantine``); with no server answering, reads the data
directory's prediction store directly.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from sightline.config import Settings
from sightline.errors import ConfigError, TransportError

__all__ = ["add_parser", "cmd_quarantine_list"]


def _from_server(settings: Settings, model: str | None, limit: int) -> list[dict[str, Any]] | None:
    """The quarantine as the server lists it; None when no server answers."""
    import httpx  # the SDK's one dependency, loaded only when a command talks to a server

    headers = {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    params: dict[str, Any] = {"limit": limit, **({"model": model} if model else {})}
    try:
        response = httpx.get(
            settings.url.rstrip("/") + "/v1/quarantine", params=params, headers=headers, timeout=30
        )
    except httpx.ConnectError:
        return None
    except httpx.HTTPError as error:
        raise TransportError(f"cannot reach the server at {settings.url}: {error}") from error
    if response.status_code >= 400:
        raise TransportError(f"HTTP {response.status_code}: {response.text[:300]}")
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def _from_store(settings: Settings, model: str | None, limit: int) -> list[dict[str, Any]]:
    from sightline.store import open_prediction_store  # DuckDB loads only when needed

    if not settings.prediction_store and not settings.data_dir.is_dir():
        raise ConfigError(
            f"no data directory at {settings.data_dir} and no server answering at {settings.url}; "
            "pass --data-dir or --url"
        )
    store = open_prediction_store(settings.prediction_store_url)
    try:
        return [r.to_dict() for r in store.quarantined(model, limit)]
    finally:
        store.close()


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    settings = Settings.load(os.environ, url=args.url, data_dir=args.data_dir)
    records = _from_server(settings, args.model, args.limit)
    if records is None:
        records = _from_store(settings, args.model, args.limit)
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    rows = [
        [
            r["received_at"][:19],
            r["model"],
            r["kind"],
            "" if r["index"] is None else r["index"],
            r["field"],
            r["message"][:80],
        ]
        for r in records
    ]
    header = ["received_at", "model", "kind", "index", "field", "reason"]
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"{len(records)} quarantined record(s)")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("quarantine", help="records the collector refused, with their reasons")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="list quarantined records, newest first")
    q.add_argument("--model", help="only this model's records")
    q.add_argument("--limit", type=int, default=100, help="most records to list (default 100)")
    q.add_argument("--json", action="store_true", help="print JSON, with each record as received")
    q.add_argument("--url", help="URL of a running Sightline server")
    q.add_argument("--data-dir", help="the data directory, when no server runs")
    q.set_defaults(func=cmd_quarantine_list)
