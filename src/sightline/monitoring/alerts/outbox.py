"""The outbox: every notification is stored before it is sent, then delivered with retries.

A notification becomes one outbox entry per channel of its receiver, written in the same
transaction as the group state that produced it. :meth:`Outbox.deliver` sends the due entries,
oldest first: a delivered entry is marked and never sent again (after a restart too); a failed
one is retried with exponential backoff, and after ``give_up_after`` it is marked ``failed``
with its last error (``GET /v1/notifications``, ``sightline alerts notifications``).

Delivery is at least once: if the process dies between a channel's answer and the mark, the
entry is sent again after the restart. Webhook receivers can drop such a duplicate by its
``X-Sightline-Notification`` header.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sightline.errors import DeliveryError
from sightline.monitoring.alerts.notifiers import Notifier
from sightline.monitoring.alerts.policy import DeliveryPolicy, Policy
from sightline.schema.alerts import Notification, OutboxEntry
from sightline.store.alerts import OutboxStore

__all__ = ["Delivery", "Outbox"]

log = logging.getLogger("sightline.alerts")


@dataclass(frozen=True)
class Delivery:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class Outbox:
    """Queues notifications per channel and delivers them through the channels' notifiers."""

    def __init__(
        self,
        store: OutboxStore,
        policy: DeliveryPolicy,
        notifiers: Mapping[str, Notifier],
    ):
        self.store = store
        self.policy = policy
        self.notifiers = dict(notifiers)
        #: Delivery attempts of this process by (channel, outcome: delivered, retrying,
        #: failed), what ``/metrics`` counts.
        self.attempts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    @staticmethod
    def entries(policy: Policy, notifications: Sequence[Notification]) -> list[OutboxEntry]:
        """One pending entry per channel of each notification's receiver."""
        return [
            OutboxEntry(
                id=uuid.uuid4().hex,
                channel=channel.name,
                notification=notification,
                created_at=notification.created_at,
                next_attempt_at=notification.created_at,
            )
            for notification in notifications
            for channel in policy.receiver_channels(notification.receiver)
        ]

    def deliver(self, now: datetime, limit: int = 100) -> Delivery:
        """Send every due entry once (a channel that fails is not tried again this pass)."""
        delivered = retrying = failed = 0
        with self._lock:
            down: set[str] = set()
            for entry in self.store.due(now, limit):
                if entry.channel in down:
                    continue  # keep the channel's order: its older entry failed just now
                outcome = self._attempt(entry, now)
                self.store.update_entry(outcome)
                if outcome.status == "delivered":
                    delivered += 1
                elif outcome.status == "failed":
                    failed += 1
                else:
                    retrying += 1
                    down.add(entry.channel)
                result = "retrying" if outcome.status == "pending" else outcome.status
                self.attempts[entry.channel, result] += 1
        return Delivery(delivered, retrying, failed)

    def _attempt(self, entry: OutboxEntry, now: datetime) -> OutboxEntry:
        attempts = entry.attempts + 1
        notifier = self.notifiers.get(entry.channel)
        if notifier is None:
            return replace(
                entry,
                status="failed",
                attempts=attempts,
                last_attempt_at=now,
                last_error=f"channel {entry.channel} is no longer configured",
            )
        try:
            notifier.send(entry.notification)
        except Exception as error:  # a channel's bug must not stop the outbox
            message = str(error) if isinstance(error, DeliveryError) else repr(error)
            give_up = now - entry.created_at >= timedelta(seconds=self.policy.give_up_after)
            retry_at = now + timedelta(seconds=self.policy.backoff(attempts))
            log.warning(
                "notification %s to %s failed (attempt %d): %s%s",
                entry.notification.id,
                entry.channel,
                attempts,
                message,
                "; giving up" if give_up else f"; retrying at {retry_at.isoformat()}",
            )
            return replace(
                entry,
                status="failed" if give_up else "pending",
                attempts=attempts,
                last_attempt_at=now,
                next_attempt_at=entry.next_attempt_at if give_up else retry_at,
                last_error=message,
            )
        return replace(
            entry,
            status="delivered",
            attempts=attempts,
            last_attempt_at=now,
            delivered_at=now,
            last_error="",
        )
