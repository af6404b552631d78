"""Alertmanager channel: forwards alerts to a real Alertmanager's ``/api/v2/alerts``.

Alertmanager then groups, routes, silences and notifies by its own configuration. A firing
alert is posted with ``endsAt`` = now + ``ttl`` (Alertmanager resolves it by itself if Sightline
stops re-sending it, e.g. when Sightline is down), so keep ``repeat_interval`` below ``ttl``; a
resolved alert is posted with its resolution time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sightline.monitoring.alerts.notifiers.webhook import post_json, rfc3339
from sightline.schema.alerts import Notification

__all__ = ["AlertmanagerNotifier", "postable_alerts"]


def postable_alerts(notification: Notification, now: datetime, ttl: float) -> list[dict[str, Any]]:
    """The alerts of a notification in Alertmanager's API v2 ``PostableAlerts`` shape."""
    alerts = []
    for alert in notification.alerts:
        ends = alert.ends_at if alert.status == "resolved" else now + timedelta(seconds=ttl)
        alerts.append(
            {
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": rfc3339(alert.starts_at),
                "endsAt": rfc3339(ends),
                "generatorURL": alert.generator_url,
            }
        )
    return alerts


class AlertmanagerNotifier:
    """POSTs to ``{url}/api/v2/alerts`` (``url`` is Alertmanager's base URL)."""

    def __init__(
        self, url: str, *, ttl: float = 12 * 3600.0, timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ):  # fmt: skip
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.ttl = ttl
        self.timeout = timeout
        self.headers = dict(headers or {})

    def send(self, notification: Notification) -> None:
        # Alertmanager judges endsAt against its own clock: the notification's creation time
        # is the injected clock's, so firing alerts are kept alive relative to it.
        post_json(
            self.url,
            postable_alerts(notification, notification.created_at, self.ttl),
            timeout=self.timeout,
            headers=self.headers,
        )
