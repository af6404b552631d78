"""``sightline keys ...``: create, list and revoke the API keys of a server.

Keys live in the keys file (``SIGHTLINE_KEYS_FILE``, default ``<data_dir>/keys.json``) on the
server's machine; these commands edit it directly, and a running server picks the change up on
its next request. ``create`` prints the new key once, alone on stdout (``KEY=$(sightline keys
create ...)``), and what it made on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sightline.cli.common import EXIT_OK, print_table, settings_from
from sightline.errors import NotFoundError, ValidationError
from sightline.store.keys import SCOPES, KeyStore

__all__ = ["add_parsers"]


def _store(args: argparse.Namespace) -> KeyStore:
    if args.keys_file is not None:
        return KeyStore(args.keys_file)
    return KeyStore(settings_from(args).keys_path)


def cmd_create(args: argparse.Namespace) -> int:
    store = _store(args)
    key, secret = store.create(args.name, args.scope)
    print(secret)
    print(
        f"Created the API key '{key.name}' (scopes: {', '.join(key.scopes)}) in {store.path}. "
        "It is shown once: store it now (e.g. as SIGHTLINE_API_KEY).",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    keys = store.list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return EXIT_OK
    print_table(
        ["name", "scopes", "key starts with", "created"],
        [[k.name, ",".join(k.scopes), k.prefix + "…", k.created_at.isoformat()[:19]] for k in keys],
    )
    print(f"{len(keys)} key(s) in {store.path}")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        key = store.revoke(args.name)
    except NotFoundError as error:  # a name that is not there: a usage mistake (exit 2)
        raise ValidationError(str(error), field="name") from None
    print(f"Revoked the API key '{key.name}': it and its dashboard sessions stop working now.")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser(
        "keys",
        help="create, list and revoke API keys (scopes: ingest, read, admin)",
        description="Manage the API keys a server with SIGHTLINE_AUTH=true accepts. Keys are "
        "stored hashed in the keys file (SIGHTLINE_KEYS_FILE, default <data_dir>/keys.json); a "
        "running server picks changes up at once. Scopes: ingest (POST /v1/ingest), read (the "
        "query API and the dashboard), admin (everything).",
    )
    commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")

    def location(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", type=Path, help="the server's data directory (default ./sightline-data)"
        )
        p.add_argument(
            "--keys-file", type=Path, help="the keys file (default <data-dir>/keys.json)"
        )

    p = commands.add_parser("create", help="make a key and print it once")
    location(p)
    p.add_argument("--name", required=True, help="who or what uses it (e.g. svc-churn, ana)")
    p.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=SCOPES,
        help="what it may do; repeat for several",
    )
    p.set_defaults(func=cmd_create)

    p = commands.add_parser("list", help="the keys: name, scopes, first characters, creation")
    location(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("revoke", help="delete a key: it stops working at once")
    location(p)
    p.add_argument("name", help="the key's name")
    p.set_defaults(func=cmd_revoke)
