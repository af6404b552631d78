"""Each channel against a real receiver in this process: Slack's incoming webhook shape over
HTTP, email through a real SMTP server (aiosmtpd; plain, STARTTLS and SSL), the log channel."""

from __future__ import annotations

import email
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from sightline.errors import DeliveryError
from sightline.monitoring.alerts.notifiers import build_notifier
from sightline.monitoring.alerts.notifiers.base import body, subject
from sightline.monitoring.alerts.policy import ChannelConfig
from sightline.schema.alerts import Notification, NotifiedAlert
from tests.conftest import free_port, require
from tests.monitoring.alerts.conftest import HttpReceiver

T0 = datetime(2026, 3, 6, 14, 5, tzinfo=UTC)


def notification(n_alerts: int = 3, status: str = "firing") -> Notification:
    features = ["monthly_charges (wasserstein 0.42 vs 0.1): monthly_charges in [65, 72) +12 pts"]
    alerts = tuple(
        NotifiedAlert(
            fingerprint=f"fp{i}",
            status=status,
            labels={"alertname": "feature_drift", "model": "churn", "column": f"f{i}"},
            annotations={
                "summary": f"f{i} drifted on churn",
                "value": "0.42",
                "threshold": "drifted: wasserstein >= 0.1",
                "window": "2026-03-06T13:00:00+00:00 .. 2026-03-06T14:00:00+00:00",
                "dashboard_url": "https://sl.example.com/models/churn?metric=drift_score",
                "runbook_url": "https://wiki.example.com/drift",
            },
            starts_at=T0,
            ends_at=T0 if status == "resolved" else None,
            generator_url=f"https://sl.example.com/alerts/fp{i}",
            context={"top_features": features},
        )
        for i in range(n_alerts)
    )
    return Notification(
        "n-1", "0:team:[]", "team", status, {"alertname": "feature_drift", "model": "churn"},
        {"alertname": "feature_drift", "model": "churn"}, {}, "https://sl.example.com", alerts, T0,
    )  # fmt: skip


def channel(kind: str, **settings: Any) -> ChannelConfig:
    return ChannelConfig(f"team/0-{kind}", "team", kind, settings)


def test_text_rendering_names_everything_once():
    text = body(notification())
    assert subject(notification()) == "[FIRING:3] feature_drift churn"
    assert text.count("monthly_charges (wasserstein 0.42") == 1  # shared by the three alerts
    assert "value: 0.42 (drifted: wasserstein >= 0.1)" in text
    assert "runbook: https://wiki.example.com/drift" in text
    assert "alert: https://sl.example.com/alerts/fp2" in text
    assert subject(notification(2, "resolved")) == "[RESOLVED:2] feature_drift churn"


def test_slack_gets_an_incoming_webhook_message(receiver: HttpReceiver):
    notifier = build_notifier(channel("slack", url=receiver.url + "/T0/B0", channel="#ml"))
    notifier.send(notification(25))
    [request] = receiver.received
    assert request.path == "/T0/B0"
    message = request.json()
    assert message["text"] == "[FIRING:25] feature_drift churn"
    assert message["channel"] == "#ml"
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 20  # Slack's block limit is respected; the rest are counted
    assert "and 5 more alerts" in blocks[-1]["elements"][0]["text"]
    assert sections[0]["text"]["type"] == "mrkdwn"
    assert "<https://sl.example.com/alerts/fp0|alert>" in sections[0]["text"]["text"]
    assert "top drifting: monthly_charges" in sections[0]["text"]["text"]


def test_a_refusing_or_absent_http_receiver_is_a_delivery_error(receiver: HttpReceiver):
    receiver.status = 404
    with pytest.raises(DeliveryError, match="answered HTTP 404"):
        build_notifier(channel("slack", url=receiver.url)).send(notification())
    receiver.stop()
    with pytest.raises(DeliveryError, match="cannot reach"):
        build_notifier(channel("webhook", url=receiver.url, timeout=2.0)).send(notification())


def test_the_log_channel_writes_the_text(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="sightline.alerts"):
        build_notifier(channel("log", level="info")).send(notification(1))
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "[FIRING:1] feature_drift churn" in record.getMessage()


class Mailbox:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

    def __init__(self, **tls: Any):
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.port = free_port()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                mailbox.envelopes.append(envelope)
                mailbox.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **tls)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.stop()


def email_channel(port: int, **settings: Any) -> ChannelConfig:
    base = {
        "host": "127.0.0.1",
        "port": port,
        "from": "sightline@example.com",
        "to": ["ml@example.com", "oncall@example.com"],
        "security": "none",
        "timeout": 5.0,
    }
    return channel("email", **{**base, **settings})


def test_email_reaches_a_real_smtp_server(mailbox: Mailbox):
    build_notifier(email_channel(mailbox.port)).send(notification())
    [message] = mailbox.messages
    assert message["Subject"] == "Sightline [FIRING:3] feature_drift churn"
    assert message["From"] == "sightline@example.com"
    assert message["To"] == "ml@example.com, oncall@example.com"
    assert message["X-Sightline-Notification"] == "n-1"
    assert mailbox.envelopes[0].rcpt_tos == ["ml@example.com", "oncall@example.com"]
    text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "f2 drifted on churn" in text
    assert "dashboard: https://sl.example.com/models/churn?metric=drift_score" in text


def test_starttls_to_a_server_without_it_fails_rather_than_sending_in_clear(mailbox: Mailbox):
    with pytest.raises(DeliveryError, match="STARTTLS"):
        build_notifier(email_channel(mailbox.port, security="starttls")).send(notification())
    assert mailbox.messages == []


def test_an_absent_smtp_server_is_a_delivery_error():
    with pytest.raises(DeliveryError, match=r"SMTP server 127\.0\.0\.1"):
        build_notifier(email_channel(free_port())).send(notification())


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    require(openssl is not None, "the openssl command is not installed")
    assert openssl is not None
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_checks_the_certificate(certificate: tuple[Path, Path], security: str):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tls = {"tls_context": context, "require_starttls": True}
    box = Mailbox(**(tls if security == "starttls" else {"ssl_context": context}))
    try:
        trusted = email_channel(box.port, security=security, ca_file=str(cert))
        build_notifier(trusted).send(notification())
        assert len(box.messages) == 1
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            build_notifier(email_channel(box.port, security=security)).send(notification())
        assert len(box.messages) == 1
    finally:
        box.stop()


def test_an_unreadable_ca_file_is_a_config_error(tmp_path: Path):
    from sightline.errors import ConfigError

    with pytest.raises(ConfigError, match=r"channel team/0-email: .*No such file"):
        build_notifier(email_channel(25, security="ssl", ca_file=str(tmp_path / "nope.pem")))
