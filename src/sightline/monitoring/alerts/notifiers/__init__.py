"""Notification channels, one module each, behind one Protocol (:class:`Notifier`).

Channels are built from their config by type; a third party adds a type with
:func:`register_notifier`, the way the built-ins are registered here.

    >>> notifier = build_notifier(ChannelConfig("ops/0-log", "ops", "log", {"level": "info"}))
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any

from sightline.errors import ConfigError
from sightline.monitoring.alerts.notifiers.alertmanager import AlertmanagerNotifier
from sightline.monitoring.alerts.notifiers.base import Notifier
from sightline.monitoring.alerts.notifiers.email import EmailNotifier
from sightline.monitoring.alerts.notifiers.log import LogNotifier
from sightline.monitoring.alerts.notifiers.slack import SlackNotifier
from sightline.monitoring.alerts.notifiers.webhook import WebhookNotifier
from sightline.monitoring.alerts.policy import ChannelConfig

__all__ = [
    "AlertmanagerNotifier",
    "EmailNotifier",
    "LogNotifier",
    "Notifier",
    "SlackNotifier",
    "WebhookNotifier",
    "build_notifier",
    "register_notifier",
]

Factory = Callable[[Mapping[str, Any]], Notifier]
_FACTORIES: dict[str, Factory] = {}


def register_notifier(kind: str, factory: Factory) -> None:
    """Make channels of type ``kind`` buildable: ``factory(settings) -> Notifier``."""
    _FACTORIES[kind] = factory


def build_notifier(channel: ChannelConfig) -> Notifier:
    factory = _FACTORIES.get(channel.type)
    if factory is None:
        raise ConfigError(f"channel {channel.name}: unknown channel type '{channel.type}'")
    try:
        return factory(channel.settings)
    except (OSError, ssl.SSLError) as error:  # e.g. an unreadable ca_file
        raise ConfigError(f"channel {channel.name}: {error}") from None


def _timeout(s: Mapping[str, Any]) -> float:
    return float(s.get("timeout", 10.0))


register_notifier(
    "webhook",
    lambda s: WebhookNotifier(
        s["url"], secret=s.get("secret"), headers=s.get("headers"), timeout=_timeout(s)
    ),
)
register_notifier(
    "slack",
    lambda s: SlackNotifier(
        s["url"], channel=s.get("channel"), username=s.get("username"), timeout=_timeout(s)
    ),
)
register_notifier(
    "email",
    lambda s: EmailNotifier(
        s["host"],
        int(s.get("port", 587)),
        s["from"],
        s["to"],
        security=s.get("security", "starttls"),
        username=s.get("username"),
        password=s.get("password"),
        timeout=_timeout(s),
        context=ssl.create_default_context(cafile=s["ca_file"]) if s.get("ca_file") else None,
    ),
)
register_notifier(
    "alertmanager",
    lambda s: AlertmanagerNotifier(
        s["url"],
        ttl=float(s.get("ttl", 12 * 3600.0)),
        timeout=_timeout(s),
        headers=s.get("headers"),
    ),
)
register_notifier("log", lambda s: LogNotifier(s.get("level", "warning")))
