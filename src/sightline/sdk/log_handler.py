"""A ``logging.Handler`` that turns a service's log records into service events.

    >>> logging.getLogger("app").addHandler(SightlineHandler("churn"))  # doctest: +SKIP

Each record at or above the handler's level (WARNING by default) becomes a ``log`` event with
status ``error`` (ERROR and above) or the level's name, the exception type when the record
carries one, and the logger, level and message as attributes. Records of Sightline's own logger
are skipped, so a warning about delivery never feeds itself.
"""

from __future__ import annotations

import logging

from sightline.sdk.client import Client, default_client

__all__ = ["SightlineHandler"]

MAX_MESSAGE = 1000


class SightlineHandler(logging.Handler):
    """Sends log records to Sightline as service events of ``model``."""

    def __init__(
        self,
        model: str,
        *,
        client: Client | None = None,
        level: int = logging.WARNING,
        event: str = "log",
    ):
        super().__init__(level)
        self.model = model
        self.client = client
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "sightline" or record.name.startswith("sightline."):
            return
        client = self.client or default_client()
        if client is None:
            return
        try:
            error_type = (
                record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
            )
            client.log_event(
                self.model,
                self.event,
                status="error" if record.levelno >= logging.ERROR else record.levelname.lower(),
                error_type=error_type,
                attributes={
                    "logger": record.name,
                    "level": record.levelname,
                    "message": record.getMessage()[:MAX_MESSAGE],
                },
                ts=record.created,
            )
        except Exception:
            self.handleError(record)
