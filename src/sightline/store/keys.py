"""API keys: a small JSON file of hashed keys with their scopes, and the dashboard's session
secret.

    >>> keys = KeyStore(Path("sightline-data/keys.json"))                      # doctest: +SKIP
    >>> key, secret = keys.create("svc-a", ["ingest"])                         # doctest: +SKIP
    >>> keys.find(secret).name                                                 # doctest: +SKIP
    'svc-a'

A key is ``sl_`` and 43 random URL-safe characters (256 bits), shown once when it is created;
the file keeps only its SHA-256 (a fast hash is enough for random keys of that length: there is
nothing to guess), its first characters (to recognise it in a list), its name, scopes and
creation time. Scopes: ``ingest`` (send records), ``read`` (the query API and the dashboard),
``admin`` (everything, including configuration, runs, silences and references).

The file is written atomically (a temporary file renamed over it) with mode 0600, under a lock
file so two ``sightline keys`` commands cannot lose each other's changes; a server re-reads it
when it changes, so creating or revoking a key needs no restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sightline.errors import ConfigError, NotFoundError, ValidationError
from sightline.schema import parse_time

__all__ = ["SCOPES", "ApiKey", "KeyStore", "hash_key"]

SCOPES = ("ingest", "read", "admin")
PREFIX = "sl_"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@")


def hash_key(key: str) -> str:
    """The SHA-256 of a key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key: never the key itself, only its hash and first characters."""

    id: str  # random, stable: what a dashboard session refers to
    name: str
    scopes: tuple[str, ...]
    key_hash: str
    prefix: str
    created_at: datetime

    def allows(self, scope: str) -> bool:
        """``admin`` allows everything; the other scopes only themselves."""
        return scope in self.scopes or "admin" in self.scopes

    def to_dict(self, secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
        }
        if secret:
            data["sha256"] = self.key_hash
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        return cls(
            str(data["id"]),
            str(data["name"]),
            tuple(str(s) for s in data["scopes"]),
            str(data["sha256"]),
            str(data.get("prefix", "")),
            parse_time(data["created_at"], "created_at"),
        )


class KeyStore:
    """The keys file at ``path`` (created on the first write)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = (-1, -1, -1)  # never read
        self._keys: dict[str, ApiKey] = {}  # by hash
        self._secret = b""

    # -- reading ----------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": 1, "session_secret": "", "keys": []}
        except OSError as error:
            raise ConfigError(f"cannot read the keys file {self.path}: {error}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
                raise ValueError("expected an object with a 'keys' list")
            for item in data["keys"]:
                ApiKey.from_dict(item)
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"the keys file {self.path} is damaged ({error}); restore it from a backup or "
                "remove it and create the keys again"
            ) from None
        return data

    def _refresh(self) -> None:
        """Re-read the file when it changed since the last read (cheap: one stat)."""
        try:
            info = self.path.stat()
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp == self._stamp:
                return
            data = self._read()
            self._keys = {k.key_hash: k for k in map(ApiKey.from_dict, data["keys"])}
            self._secret = str(data.get("session_secret", "")).encode()
            self._stamp = stamp

    def list(self) -> list[ApiKey]:
        """Every key, oldest first."""
        self._refresh()
        return sorted(self._keys.values(), key=lambda k: k.created_at)

    def find(self, key: str) -> ApiKey | None:
        """The stored key ``key`` is, or None (unknown or revoked)."""
        if not key.startswith(PREFIX):
            return None
        self._refresh()
        return self._keys.get(hash_key(key))

    def by_id(self, key_id: str) -> ApiKey | None:
        self._refresh()
        return next((k for k in self._keys.values() if k.id == key_id), None)

    def session_secret(self) -> bytes:
        """The secret that signs dashboard sessions (made and saved on first use)."""
        self._refresh()
        if not self._secret:
            with self._editing() as data:
                if not data.get("session_secret"):
                    data["session_secret"] = secrets.token_urlsafe(32)
            self._refresh()
        return self._secret

    # -- writing ----------------------------------------------------------------------------

    @contextmanager
    def _editing(self) -> Iterator[dict[str, Any]]:
        """The file's data to change in place, written back atomically under a lock."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                data = self._read()
                data.setdefault("session_secret", "")
                yield data
                partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=2)
                    out.write("\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(partial, self.path)
        except OSError as error:
            raise ConfigError(f"cannot write the keys file {self.path}: {error}") from None

    def create(
        self, name: str, scopes: Sequence[str], now: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key called ``name`` with ``scopes``: the stored record and the key itself,
        which is shown once and never stored."""
        if not name or len(name) > 100 or not set(name) <= _NAME_CHARS:
            raise ValidationError(
                f"a key name is 1 to 100 letters, digits, '-', '_', '.' or '@'; got {name!r}",
                field="name",
            )
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValidationError(
                f"unknown scope(s) {', '.join(unknown) or '(none given)'}; use one or more of "
                f"{', '.join(SCOPES)}",
                field="scope",
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            secrets.token_hex(8),
            name,
            tuple(s for s in SCOPES if s in scopes),
            hash_key(secret),
            secret[:8],
            now or datetime.now(UTC),
        )
        with self._editing() as data:
            if any(k["name"] == name for k in data["keys"]):
                raise ValidationError(
                    f"a key named '{name}' exists; revoke it first or choose another name",
                    field="name",
                )
            if not data.get("session_secret"):
                data["session_secret"] = secrets.token_urlsafe(32)
            data["keys"].append(key.to_dict(secret=True))
        return key, secret

    def revoke(self, name: str) -> ApiKey:
        """Delete the key called ``name``: it (and every dashboard session made with it) stops
        working at once."""
        with self._editing() as data:
            found = next((k for k in data["keys"] if k["name"] == name), None)
            if found is None:
                names = ", ".join(k["name"] for k in data["keys"]) or "none"
                raise NotFoundError(f"no API key named '{name}' (keys: {names})")
            data["keys"].remove(found)
        return ApiKey.from_dict(found)
