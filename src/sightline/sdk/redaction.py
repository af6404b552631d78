"""Redaction: which fields may leave the process, and which identifiers leave only hashed.

Applied by the sender thread to every record before it is encoded, spilled or sent, so the
model's thread pays nothing for it. Names are matched in features, named outputs, tags and event
attributes; ``request_id`` may be hashed too (feedback is hashed the same way, so the join still
works).

    >>> r = Redaction(deny=["email"], hash=["user_id"], salt="s3cret")
    >>> r.apply({"features": {"email": "a@b.c", "user_id": "u1", "age": 31}})["features"]
    {'user_id': 'h:8f0d05b747219f7d9f13a44304bbda13', 'age': 31}
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

__all__ = ["Redaction"]

_NESTED = ("features", "prediction", "tags", "attributes")


class Redaction:
    """Drop fields by an allow list (keep only these) or a deny list, hash identifiers.

    ``allow`` — when given, only these feature/tag/attribute names are kept;
    ``deny`` — names always removed; ``hash`` — names whose values are replaced by a keyed
    hash (HMAC-SHA256 with ``salt``, 32 hex digits after ``h:``), including ``request_id``.
    """

    def __init__(
        self,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] = (),
        hash: Iterable[str] = (),
        salt: str = "",
    ):
        self.allow = frozenset(allow) if allow is not None else None
        self.deny = frozenset(deny)
        self.hash = frozenset(hash)
        self._key = salt.encode()

    def __bool__(self) -> bool:
        return self.allow is not None or bool(self.deny or self.hash)

    def digest(self, value: object) -> str:
        """The keyed hash of ``value``'s text."""
        mac = hmac.new(self._key, str(value).encode("utf-8", "surrogatepass"), hashlib.sha256)
        return "h:" + mac.hexdigest()[:32]

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` with its fields redacted (the record is changed in place and returned)."""
        if "request_id" in self.hash and record.get("request_id") is not None:
            record["request_id"] = self.digest(record["request_id"])
        for part in _NESTED:
            values = record.get(part)
            if isinstance(values, dict):
                record[part] = self._fields(values, keep_all=part == "prediction")
        return record

    def apply_all(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.apply(r) for r in records]

    def _fields(self, values: dict[str, Any], keep_all: bool) -> dict[str, Any]:
        result = {}
        for name, value in values.items():
            if name in self.deny or (
                not keep_all and self.allow is not None and name not in self.allow
            ):
                continue
            result[name] = self.digest(value) if name in self.hash and value is not None else value
        return result
