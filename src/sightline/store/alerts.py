"""The state store of alerting: alert instances and their history, silences, rules set through
the API, notification groups and the notification outbox.

Four small Protocols, one per concern, and :class:`AlertStore` joining them; a backend
implements all four (:class:`sightline.store.alerts_duckdb.DuckDBAlertStore`, opened with
:func:`sightline.store.open_state_store`). The contract tests in
``tests/store/test_alert_store.py`` run against every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sightline.schema.alerts import (
    AlertInstance,
    GroupState,
    OutboxEntry,
    Silence,
    Transition,
)

__all__ = ["AlertStateStore", "AlertStore", "OutboxStore", "RuleStore", "SilenceStore"]


class AlertStateStore(Protocol):
    """Alert instances (their current state) and the transitions between states."""

    def instances(self, state: str | None = None, model: str | None = None) -> list[AlertInstance]:
        """Instances, optionally only those in ``state`` and of ``model``, by fingerprint."""
        ...

    def instance(self, fingerprint: str) -> AlertInstance | None: ...

    def save_instances(
        self, instances: Sequence[AlertInstance], transitions: Sequence[Transition]
    ) -> None:
        """Upsert ``instances`` and append ``transitions`` in one transaction."""
        ...

    def transitions(
        self, fingerprint: str | None = None, model: str | None = None, limit: int = 100
    ) -> list[Transition]:
        """The latest transitions (of one instance, or of one model's), newest first."""
        ...


class SilenceStore(Protocol):
    def save_silence(self, silence: Silence) -> None: ...

    def silences(self) -> list[Silence]:
        """Every silence, expired ones too, newest first."""
        ...

    def delete_silence(self, silence_id: str) -> bool:
        """Remove a silence; False when there was none with this id."""
        ...


class RuleStore(Protocol):
    """Alert rules set through the API, as their definitions (the format of a config file's
    ``alerting.rules`` items, ``name`` included)."""

    def save_rule(self, definition: dict[str, Any]) -> None:
        """Insert or replace the rule named ``definition["name"]``."""
        ...

    def rules(self) -> list[dict[str, Any]]:
        """Every stored definition, by name."""
        ...

    def delete_rule(self, name: str) -> bool:
        """Remove a rule; False when there was none with this name."""
        ...


class OutboxStore(Protocol):
    """Notification groups and the outbox. A dispatch (group states and the notifications they
    produced) is stored in one transaction, so a notification is never lost nor queued twice."""

    def groups(self) -> list[GroupState]: ...

    def record_dispatch(
        self, groups: Sequence[GroupState], deleted: Sequence[str], entries: Sequence[OutboxEntry]
    ) -> None:
        """Upsert ``groups``, delete the groups keyed ``deleted``, queue ``entries``."""
        ...

    def due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        """Pending entries whose next attempt is due, oldest first."""
        ...

    def update_entry(self, entry: OutboxEntry) -> None:
        """Store the outcome of a delivery attempt."""
        ...

    def entries(self, status: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        """Outbox entries (optionally with ``status``), newest first."""
        ...


class AlertStore(AlertStateStore, SilenceStore, RuleStore, OutboxStore, Protocol):
    """Everything alerting keeps; one backend implements it all."""

    def export(self, directory: Path) -> None:
        """Everything the store holds into ``directory`` (see :mod:`sightline.store.backup`)."""
        ...

    def close(self) -> None: ...
