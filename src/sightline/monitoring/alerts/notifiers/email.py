"""Email channel: one message per notification over SMTP (plain, STARTTLS or SSL)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sightline.errors import DeliveryError
from sightline.monitoring.alerts.notifiers.base import body, subject
from sightline.schema.alerts import Notification

__all__ = ["EmailNotifier", "email_message"]


def email_message(notification: Notification, sender: str, to: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Sightline {subject(notification)}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(notification.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(idstring=notification.id, domain="sightline")
    message["X-Sightline-Notification"] = notification.id
    message.set_content(body(notification))
    return message


class EmailNotifier:
    """Sends through the SMTP server ``host:port``; ``security`` is ``none``, ``starttls``
    (upgrade the connection, the default) or ``ssl`` (TLS from the start). The server's
    certificate is checked against the system's CAs, or ``context``'s (``ca_file`` in the
    config)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        to: Sequence[str],
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ):
        self.host = host
        self.port = port
        self.sender = sender
        self.to = list(to)
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.context = context

    def send(self, notification: Notification) -> None:
        self.deliver(email_message(notification, self.sender, self.to))

    def deliver(self, message: EmailMessage) -> None:
        """Send a prepared message (a notification's, or a scheduled report's) through this
        channel's SMTP server; its envelope recipients are the message's ``To``."""
        context = self.context or ssl.create_default_context()
        where = f"SMTP server {self.host}:{self.port}"
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{where}: {error or type(error).__name__}") from error
