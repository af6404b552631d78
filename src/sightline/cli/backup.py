"""``sightline backup`` and ``sightline restore``: every store of a data directory in one file.

``backup`` asks the running server (``POST /v1/backup``: consistent snapshots, the server keeps
taking data), or with ``--local`` (or no server answering) opens the data directory itself.
``restore`` rebuilds the stores of a data directory that no server is using.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sightline.cli.common import EXIT_OK, add_location, auth_headers, server_up, settings_from
from sightline.config import Settings
from sightline.errors import SightlineError, TransportError, ValidationError

__all__ = ["add_parsers"]


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.output or f"sightline-backup-{stamp}.tar.gz")
    if not args.local and server_up(settings):
        _download(settings, output)
        where = settings.url
    else:
        _local(settings, output)
        where = str(settings.data_dir)
    from sightline.store.backup import read_manifest

    manifest = read_manifest(output)
    print(f"backup of {where} written to {output} ({_size(output)}): "
          f"{', '.join(manifest['stores'])}{', API keys' if manifest['keys'] else ''}")  # fmt: skip
    return EXIT_OK


def _download(settings: Settings, output: Path) -> None:
    import httpx

    headers = auth_headers(settings)
    part = output.with_name(output.name + ".part")
    try:
        with httpx.stream(
            "POST", settings.url.rstrip("/") + "/v1/backup", headers=headers, timeout=3600.0
        ) as response:
            if response.status_code >= 400:
                response.read()
                message = f"HTTP {response.status_code}: {response.text[:500]}"
                if response.status_code in (401, 403):
                    raise ValidationError(f"{message} (backups need a key with the admin scope)")
                raise SightlineError(message)
            descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:  # it holds the session secret
                for chunk in response.iter_bytes():
                    file.write(chunk)
    except httpx.HTTPError as error:
        part.unlink(missing_ok=True)
        raise TransportError(
            f"cannot reach the Sightline server at {settings.url}: {error}"
        ) from error
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(output)


def _local(settings: Settings, output: Path) -> None:
    from sightline.cli.common import local_stores
    from sightline.store import open_state_store
    from sightline.store.backup import write_backup

    predictions, metrics = local_stores(settings)
    try:
        state = open_state_store(settings.state_store_url)
        try:
            stores: dict[str, Any] = {
                "predictions": predictions,
                "metrics": metrics,
                "state": state,
            }
            write_backup(stores, settings.keys_path, output)
        finally:
            state.close()
    finally:
        predictions.close()
        metrics.close()


def cmd_restore(args: argparse.Namespace) -> int:
    from sightline.store import store_path
    from sightline.store.backup import restore

    settings = settings_from(args)
    targets = {
        "predictions": store_path(settings.prediction_store_url),
        "metrics": store_path(settings.metric_store_url),
        "state": store_path(settings.state_store_url),
    }
    manifest = restore(Path(args.file), targets, settings.keys_path, force=args.force)
    keys = " and the API keys" if manifest["keys"] else ""
    print(f"restored {', '.join(manifest['stores'])}{keys} of the backup taken "
          f"{manifest['created_at']} into {settings.data_dir}")  # fmt: skip
    if args.force:
        print("files that were there are kept beside, as *.before-restore")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    """Register ``sightline backup`` and ``sightline restore``."""
    p = sub.add_parser(
        "backup",
        help="write every store (predictions, metrics, alerting state) and the API keys to a "
        ".tar.gz",
        description="Back up a data directory: through the running server (consistent "
        "snapshots; it keeps taking data), or with --local from the files themselves. The "
        "backup holds each store's tables as Parquet files and the SQL that rebuilds them.",
    )
    add_location(p)
    p.add_argument(
        "-o", "--output", help="the file to write (default sightline-backup-<time>.tar.gz)"
    )
    p.add_argument(
        "--local", action="store_true", help="open the data directory even if a server answers"
    )
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="rebuild a data directory's stores from a backup (no server may be using it)",
        description="Restore FILE (made by `sightline backup`) into --data-dir. Existing store "
        "files are refused, or with --force moved aside to *.before-restore.",
    )
    add_location(p)
    p.add_argument("file", help="the backup (.tar.gz)")
    p.add_argument(
        "--force", action="store_true", help="move existing store files aside and restore"
    )
    p.set_defaults(func=cmd_restore)
