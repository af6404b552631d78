"""Backups: every store of a data directory in one ``.tar.gz``, and back.

A backup holds, per store (``predictions``, ``metrics``, ``state``), its tables as Parquet files
and the SQL that rebuilds them (DuckDB's ``EXPORT DATABASE``, taken from one consistent
snapshot while the server keeps writing), the API keys file when there is one, and a manifest
(``sightline-backup.json``: format, time, what it holds). Being Parquet and SQL, it also
outlives the DuckDB file format. A restore rebuilds each store file from it, into a data
directory no server is using, and never over existing files unless asked to (they are then
kept beside, as ``*.before-restore``).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sightline.errors import ValidationError

__all__ = ["MANIFEST", "STORES", "read_manifest", "restore", "write_backup"]

MANIFEST = "sightline-backup.json"
FORMAT = 1
#: The stores of a data directory, in a backup's order.
STORES = ("predictions", "metrics", "state")
KEYS = "keys.json"


class Exportable(Protocol):
    def export(self, directory: Path) -> None: ...


def write_backup(
    stores: Mapping[str, Exportable],
    keys: Path | None,
    archive: Path,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Write the backup of ``stores`` (and the ``keys`` file, if it exists) to ``archive``,
    readable by its owner only (it holds the session secret); the stores are exported in a
    temporary directory under ``workdir`` first. Returns the manifest."""
    with tempfile.TemporaryDirectory(prefix="sightline-backup-", dir=workdir) as tmp:
        root = Path(tmp)
        for name, store in stores.items():
            store.export(root / name)
        if keys is not None and keys.is_file():
            shutil.copy2(keys, root / KEYS)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "stores": list(stores),
            "keys": (root / KEYS).exists(),
            "files": {name: sorted(p.name for p in (root / name).iterdir()) for name in stores},
        }
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        descriptor = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(archive, 0o600)  # also when the file was there before
        with os.fdopen(descriptor, "wb") as file, tarfile.open(fileobj=file, mode="w:gz") as tar:
            tar.add(root / MANIFEST, arcname=MANIFEST)
            for name in stores:
                tar.add(root / name, arcname=name)
            if manifest["keys"]:
                tar.add(root / KEYS, arcname=KEYS)
    return manifest


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup, or a ValidationError saying why ``archive`` is not one."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except FileNotFoundError:
        raise ValidationError(f"no backup at {archive}", field="file") from None
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise ValidationError(
            f"{archive} is not a Sightline backup ({error}); make one with `sightline backup`",
            field="file",
        ) from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("stores"), list):
        raise ValidationError(
            f"{archive} is a backup of an unknown format ({manifest.get('format')!r})",
            field="file",
        )
    return manifest


def restore(
    archive: Path, targets: Mapping[str, Path], keys: Path, *, force: bool = False
) -> dict[str, Any]:
    """Rebuild each store of the backup at its file in ``targets`` (and the keys file at
    ``keys``). Existing files are refused, or with ``force`` moved aside to
    ``*.before-restore``. Returns the manifest."""
    from sightline.store.duckdb import ensure_unused, import_database  # loaded when used

    manifest = read_manifest(archive)
    unknown = [name for name in manifest["stores"] if name not in targets]
    if unknown:
        raise ValidationError(f"the backup holds unknown stores: {unknown}", field="file")
    stores = [targets[name] for name in manifest["stores"]]
    taken = [path for path in stores if path.exists()]
    if manifest.get("keys") and keys.exists():
        taken.append(keys)
    if taken and not force:
        raise ValidationError(
            "these files exist already: " + ", ".join(str(p) for p in taken) + "; restore into "
            "an empty data directory (--data-dir), or pass --force to move them aside",
            field="data_dir",
        )
    for path in stores:
        if path.exists():
            ensure_unused(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="sightline-restore-") as tmp:
        root = Path(tmp)
        _extract(archive, root)
        # Every store is rebuilt beside its target first: a failure leaves the old files as
        # they were. Only then are the old files moved aside and the new ones put in place.
        built = {name: _beside(targets[name], ".restoring") for name in manifest["stores"]}
        try:
            for name, path in built.items():
                path.unlink(missing_ok=True)
                import_database(path, root / name)
        except BaseException:
            for path in built.values():
                path.unlink(missing_ok=True)
            raise
        for path in taken:
            _move_aside(path, stamp)
        for name, path in built.items():
            path.replace(targets[name])
        if manifest.get("keys"):
            keys.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / KEYS, keys)
    return manifest


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _move_aside(path: Path, stamp: str) -> None:
    """``path`` (and its DuckDB write-ahead log) renamed ``*.before-restore``, or with the time
    when such a file is there already: an earlier restore's leftovers are never overwritten."""
    target = _beside(path, ".before-restore")
    if target.exists():
        target = _beside(path, f".before-restore-{stamp}")
    path.rename(target)
    wal = _beside(path, ".wal")
    if wal.exists():
        wal.rename(_beside(target, ".wal"))


def _extract(archive: Path, root: Path) -> None:
    """Unpack ``archive`` into ``root``, refusing members that would land outside it."""
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(root, filter="data")
            return
        for member in tar.getmembers():
            where = (root / member.name).resolve()
            unsafe = member.issym() or member.islnk() or (not member.isreg() and not member.isdir())
            if unsafe or not where.is_relative_to(root.resolve()):
                raise ValidationError(f"{archive} holds an unsafe entry {member.name!r}")
        tar.extractall(root)  # every member checked above
