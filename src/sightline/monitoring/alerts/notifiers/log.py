"""Log channel: the notification as text in the server's log (logger ``sightline.alerts``)."""

from __future__ import annotations

import logging

from sightline.monitoring.alerts.notifiers.base import body
from sightline.schema.alerts import Notification

__all__ = ["LogNotifier"]

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogNotifier:
    def __init__(self, level: str = "warning", logger: str = "sightline.alerts"):
        self.level = LEVELS[level]
        self.log = logging.getLogger(logger)

    def send(self, notification: Notification) -> None:
        self.log.log(self.level, "%s", body(notification))
