"""Webhook channel: Alertmanager's webhook JSON (version "4"), optionally HMAC-signed.

Any receiver written for Alertmanager's webhooks reads it. With a ``secret``, the header
``X-Sightline-Signature: sha256=<hex>`` carries HMAC-SHA256(secret, body); every request has
``X-Sightline-Notification: <id>`` so a receiver can drop a redelivered notification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from sightline.errors import DeliveryError
from sightline.schema.alerts import Notification, NotifiedAlert

__all__ = ["ZERO_TIME", "WebhookNotifier", "alertmanager_payload", "post_json", "rfc3339", "sign"]

#: Alertmanager's "no end time" (Go's zero time).
ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ts: datetime | None) -> str:
    return ZERO_TIME if ts is None else ts.isoformat().replace("+00:00", "Z")


def _alert(alert: NotifiedAlert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def alertmanager_payload(notification: Notification) -> dict[str, Any]:
    """The notification in Alertmanager's webhook format."""
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": notification.group_labels,
        "commonLabels": notification.common_labels,
        "commonAnnotations": notification.common_annotations,
        "externalURL": notification.external_url,
        "alerts": [_alert(a) for a in notification.alerts],
    }


def sign(secret: str, body: bytes) -> str:
    """The value of ``X-Sightline-Signature`` for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(
    url: str, payload: Any, *, timeout: float, headers: Mapping[str, str] | None = None,
    secret: str | None = None,
) -> httpx.Response:  # fmt: skip
    """POST ``payload`` as JSON; DeliveryError unless the answer is 2xx."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    if secret:
        sent["x-sightline-signature"] = sign(secret, body)
    try:
        response = httpx.post(url, content=body, headers=sent, timeout=timeout)
    except httpx.HTTPError as error:
        raise DeliveryError(f"cannot reach {url}: {error or type(error).__name__}") from error
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    return response


class WebhookNotifier:
    """POSTs Alertmanager-webhook JSON to ``url``."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ):
        self.url = url
        self.secret = secret
        self.headers = dict(headers or {})
        self.timeout = timeout

    def send(self, notification: Notification) -> None:
        headers = {**self.headers, "x-sightline-notification": notification.id}
        post_json(
            self.url,
            alertmanager_payload(notification),
            timeout=self.timeout,
            headers=headers,
            secret=self.secret,
        )
