"""Slack channel: an incoming webhook, one message per notification (mrkdwn blocks)."""

from __future__ import annotations

from typing import Any

from sightline.monitoring.alerts.notifiers.base import subject
from sightline.monitoring.alerts.notifiers.webhook import post_json
from sightline.schema.alerts import Notification, NotifiedAlert

__all__ = ["SlackNotifier", "slack_payload"]

#: Slack allows 50 blocks a message; beyond this many alerts the rest are counted.
MAX_ALERTS = 20


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _alert_text(alert: NotifiedAlert) -> str:
    notes = alert.annotations
    icon = ":red_circle:" if alert.status == "firing" else ":large_green_circle:"
    lines = [f"{icon} *{_escape(notes.get('summary', alert.labels.get('alertname', '')))}*"]
    if notes.get("value"):
        lines.append(f"value `{notes['value']}` ({_escape(notes.get('threshold', ''))})")
    if notes.get("window"):
        lines.append(f"window {notes['window']}")
    features = alert.context.get("top_features") or []
    if features:
        lines.append("top drifting: " + _escape("; ".join(features[:3])))
    links = [f"<{alert.generator_url}|alert>"]
    if notes.get("dashboard_url"):
        links.append(f"<{notes['dashboard_url']}|dashboard>")
    if notes.get("runbook_url"):
        links.append(f"<{notes['runbook_url']}|runbook>")
    lines.append(" · ".join(links))
    return "\n".join(lines)


def slack_payload(
    notification: Notification, channel: str | None = None, username: str | None = None
) -> dict[str, Any]:
    """The Slack message of a notification: a text fallback and one section per alert."""
    title = subject(notification)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    ]
    for alert in notification.alerts[:MAX_ALERTS]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _alert_text(alert)}})
    hidden = len(notification.alerts) - MAX_ALERTS
    if hidden > 0:
        more = f"... and {hidden} more alerts: <{notification.external_url}/alerts|all alerts>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    payload: dict[str, Any] = {"text": title, "blocks": blocks}
    if channel:
        payload["channel"] = channel
    if username:
        payload["username"] = username
    return payload


class SlackNotifier:
    """Posts to a Slack incoming webhook ``url``."""

    def __init__(
        self, url: str, *, channel: str | None = None, username: str | None = None,
        timeout: float = 10.0,
    ):  # fmt: skip
        self.url = url
        self.channel = channel
        self.username = username
        self.timeout = timeout

    def send(self, notification: Notification) -> None:
        post_json(
            self.url,
            slack_payload(notification, self.channel, self.username),
            timeout=self.timeout,
        )
