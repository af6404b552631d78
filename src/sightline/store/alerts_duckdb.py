"""The embedded DuckDB backend of the alerting state store (``<data_dir>/state.duckdb``).

Each record is kept as a JSON document next to the few columns queries filter on, so adding a
field to a record needs no migration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from sightline.errors import StoreError
from sightline.schema.alerts import (
    AlertInstance,
    GroupState,
    OutboxEntry,
    Silence,
    Transition,
)
from sightline.store.base import naive_utc
from sightline.store.duckdb import Database

__all__ = ["DuckDBAlertStore"]

TABLES = (
    "CREATE TABLE IF NOT EXISTS alert_instances (fingerprint VARCHAR PRIMARY KEY, model VARCHAR,"
    " state VARCHAR, data JSON)",
    "CREATE TABLE IF NOT EXISTS alert_transitions (seq BIGINT, fingerprint VARCHAR,"
    " model VARCHAR, happened_at TIMESTAMP, data JSON)",
    "CREATE SEQUENCE IF NOT EXISTS alert_transition_seq",
    "CREATE TABLE IF NOT EXISTS alert_silences (id VARCHAR PRIMARY KEY, created_at TIMESTAMP,"
    " data JSON)",
    "CREATE TABLE IF NOT EXISTS alert_groups (key VARCHAR PRIMARY KEY, data JSON)",
    "CREATE TABLE IF NOT EXISTS alert_rules (name VARCHAR PRIMARY KEY, data JSON)",
    "CREATE SEQUENCE IF NOT EXISTS alert_outbox_seq",
    "CREATE TABLE IF NOT EXISTS alert_outbox (id VARCHAR PRIMARY KEY, seq BIGINT,"
    " created_at TIMESTAMP, status VARCHAR, next_attempt_at TIMESTAMP, data JSON)",
)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(data: dict[str, Any]) -> str:
    return json.dumps(_finite(data), default=str, allow_nan=False)


class DuckDBAlertStore:
    """Alert instances, transitions, silences, groups and the outbox in one DuckDB file."""

    def __init__(self, path: Path):
        try:
            self.db = Database(path)
        except OSError as error:
            raise StoreError(f"cannot open the alert state store {path}: {error}") from error
        try:
            with self.db.transaction() as con:
                for statement in TABLES:
                    con.execute(statement)
        except duckdb.Error as error:
            self.db.close()
            raise StoreError(f"cannot set up the alert state store {path}: {error}") from error

    def _write(self, what: str, statements: Sequence[tuple[str, list[Any]]]) -> None:
        try:
            with self.db.transaction() as con:
                for sql, params in statements:
                    con.execute(sql, params)
        except duckdb.Error as error:
            raise StoreError(f"storing {what} failed: {error}") from error

    def _rows(self, sql: str, params: list[Any]) -> list[Any]:
        with self.db.reading() as con:
            return con.execute(sql, params).fetchall()

    # -- instances and transitions ---------------------------------------------------------

    def instances(self, state: str | None = None, model: str | None = None) -> list[AlertInstance]:
        where, params = ["TRUE"], []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if model is not None:
            where.append("model = ?")
            params.append(model)
        rows = self._rows(
            f"SELECT data FROM alert_instances WHERE {' AND '.join(where)} ORDER BY fingerprint",
            params,
        )
        return [AlertInstance.from_dict(json.loads(r[0])) for r in rows]

    def instance(self, fingerprint: str) -> AlertInstance | None:
        rows = self._rows("SELECT data FROM alert_instances WHERE fingerprint = ?", [fingerprint])
        return AlertInstance.from_dict(json.loads(rows[0][0])) if rows else None

    def save_instances(
        self, instances: Sequence[AlertInstance], transitions: Sequence[Transition]
    ) -> None:
        statements: list[tuple[str, list[Any]]] = [
            (
                "INSERT OR REPLACE INTO alert_instances VALUES (?, ?, ?, ?)",
                [i.fingerprint, i.model, i.state, _json(i.to_dict())],
            )
            for i in instances
        ]
        statements += [
            (
                "INSERT INTO alert_transitions"
                " VALUES (nextval('alert_transition_seq'), ?, ?, ?, ?)",
                [t.fingerprint, t.labels.get("model", ""), naive_utc(t.at), _json(t.to_dict())],
            )
            for t in transitions
        ]
        if statements:
            self._write("alert instances", statements)

    def transitions(
        self, fingerprint: str | None = None, model: str | None = None, limit: int = 100
    ) -> list[Transition]:
        where, params = ["TRUE"], []
        if fingerprint is not None:
            where.append("fingerprint = ?")
            params.append(fingerprint)
        if model is not None:
            where.append("model = ?")
            params.append(model)
        rows = self._rows(
            f"SELECT data FROM alert_transitions WHERE {' AND '.join(where)}"
            " ORDER BY happened_at DESC, seq DESC LIMIT ?",
            [*params, limit],
        )
        return [Transition.from_dict(json.loads(r[0])) for r in rows]

    # -- silences ---------------------------------------------------------------------------

    def save_silence(self, silence: Silence) -> None:
        created = silence.created_at or silence.starts_at
        self._write(
            "a silence",
            [
                (
                    "INSERT OR REPLACE INTO alert_silences VALUES (?, ?, ?)",
                    [silence.id, naive_utc(created), _json(silence.to_dict())],
                )
            ],
        )

    def silences(self) -> list[Silence]:
        rows = self._rows("SELECT data FROM alert_silences ORDER BY created_at DESC, id", [])
        return [Silence.from_dict(json.loads(r[0])) for r in rows]

    def delete_silence(self, silence_id: str) -> bool:
        if not self._rows("SELECT 1 FROM alert_silences WHERE id = ?", [silence_id]):
            return False
        self._write("a silence", [("DELETE FROM alert_silences WHERE id = ?", [silence_id])])
        return True

    # -- rules set through the API ----------------------------------------------------------

    def save_rule(self, definition: dict[str, Any]) -> None:
        self._write(
            "a rule",
            [
                (
                    "INSERT OR REPLACE INTO alert_rules VALUES (?, ?)",
                    [definition["name"], _json(definition)],
                )
            ],
        )

    def rules(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT data FROM alert_rules ORDER BY name", [])
        return [json.loads(r[0]) for r in rows]

    def delete_rule(self, name: str) -> bool:
        if not self._rows("SELECT 1 FROM alert_rules WHERE name = ?", [name]):
            return False
        self._write("a rule", [("DELETE FROM alert_rules WHERE name = ?", [name])])
        return True

    # -- groups and outbox ------------------------------------------------------------------

    def groups(self) -> list[GroupState]:
        rows = self._rows("SELECT data FROM alert_groups ORDER BY key", [])
        return [GroupState.from_dict(json.loads(r[0])) for r in rows]

    def record_dispatch(
        self, groups: Sequence[GroupState], deleted: Sequence[str], entries: Sequence[OutboxEntry]
    ) -> None:
        statements: list[tuple[str, list[Any]]] = [
            ("DELETE FROM alert_groups WHERE key = ?", [key]) for key in deleted
        ]
        statements += [
            ("INSERT OR REPLACE INTO alert_groups VALUES (?, ?)", [g.key, _json(g.to_dict())])
            for g in groups
        ]
        statements += [
            (
                "INSERT INTO alert_outbox VALUES (?, nextval('alert_outbox_seq'), ?, ?, ?, ?)",
                [
                    e.id,
                    naive_utc(e.created_at),
                    e.status,
                    naive_utc(e.next_attempt_at or e.created_at),
                    _json(e.to_dict()),
                ],
            )
            for e in entries
        ]
        if statements:
            self._write("a notification dispatch", statements)

    def due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        rows = self._rows(
            "SELECT data FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, seq LIMIT ?",
            [naive_utc(now), limit],
        )
        return [OutboxEntry.from_dict(json.loads(r[0])) for r in rows]

    def update_entry(self, entry: OutboxEntry) -> None:
        self._write(
            "a notification",
            [
                (
                    "UPDATE alert_outbox SET status = ?, next_attempt_at = ?, data = ?"
                    " WHERE id = ?",
                    [
                        entry.status,
                        naive_utc(entry.next_attempt_at or entry.created_at),
                        _json(entry.to_dict()),
                        entry.id,
                    ],
                )
            ],
        )

    def entries(self, status: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self._rows(
            f"SELECT data FROM alert_outbox {where} ORDER BY seq DESC LIMIT ?",
            [*params, limit],
        )
        return [OutboxEntry.from_dict(json.loads(r[0])) for r in rows]

    def export(self, directory: Path) -> None:
        self.db.export(directory)

    def close(self) -> None:
        self.db.close()
