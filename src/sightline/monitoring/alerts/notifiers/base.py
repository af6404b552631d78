"""The notifier interface, and the plain-text rendering the human-facing channels share.

A notifier delivers one :class:`~sightline.schema.alerts.Notification` to one channel and
raises :class:`~sightline.errors.DeliveryError` when it could not; the outbox retries.

    >>> class Printer:
    ...     def send(self, notification: Notification) -> None:
    ...         print(subject(notification))
"""

from __future__ import annotations

from typing import Protocol

from sightline.schema.alerts import Notification, NotifiedAlert

__all__ = ["Notifier", "alert_lines", "body", "shared_features", "subject"]


class Notifier(Protocol):
    """Delivers notifications to one channel; raises DeliveryError on failure."""

    def send(self, notification: Notification) -> None: ...


def subject(notification: Notification) -> str:
    """``[FIRING:3] dataset_drift churn`` — the status, the count and the group's labels."""
    count = (
        len(notification.firing) if notification.status == "firing" else len(notification.resolved)
    )
    labels = " ".join(v for v in notification.group_labels.values() if v)
    return f"[{notification.status.upper()}:{count}] {labels}".rstrip()


def shared_features(notification: Notification) -> list[str]:
    """The top drifting features when every alert of the notification names the same ones
    (alerts of one window), to print once instead of under each alert."""
    lists = [tuple(a.context.get("top_features") or ()) for a in notification.alerts]
    return list(lists[0]) if len(lists) > 1 and lists[0] and len(set(lists)) == 1 else []


def alert_lines(alert: NotifiedAlert, features: bool = True) -> list[str]:
    """A few lines about one alert: summary, where, value vs threshold, top features, links."""
    context = alert.context
    annotations = alert.annotations
    lines = [f"[{alert.status.upper()}] {annotations.get('summary') or alert.labels}"]
    where = [f"model: {alert.labels.get('model', '')}"]
    for key in ("model_version", "metric", "column", "segment"):
        if alert.labels.get(key):
            where.append(f"{key}: {alert.labels[key]}")
    lines.append("  " + "  ".join(where))
    if annotations.get("window"):
        lines.append(f"  window: {annotations['window']}")
    if annotations.get("value"):
        baseline = f", baseline {annotations['baseline']}" if annotations.get("baseline") else ""
        lines.append(
            f"  value: {annotations['value']} ({annotations.get('threshold', '')}{baseline})"
        )
    top = (context.get("top_features") or []) if features else []
    if top:
        lines.append("  top drifting features:")
        lines += [f"    - {f}" for f in top]
    segments = context.get("top_segments") or []
    if segments:
        lines.append("  top segments: " + "; ".join(segments))
    description = annotations.get("description")
    if description and description != annotations.get("summary"):
        lines.append(f"  {description}")
    if annotations.get("runbook_url"):
        lines.append(f"  runbook: {annotations['runbook_url']}")
    lines.append(f"  alert: {alert.generator_url}")
    if annotations.get("dashboard_url"):
        lines.append(f"  dashboard: {annotations['dashboard_url']}")
    if alert.status == "resolved" and alert.ends_at is not None:
        lines.append(f"  resolved at {alert.ends_at.isoformat()}")
    return lines


def body(notification: Notification) -> str:
    """The whole notification as plain text (email, log)."""
    lines = [subject(notification), ""]
    shared = shared_features(notification)
    if shared:
        lines.append("Top drifting features:")
        lines += [f"  - {f}" for f in shared]
        lines.append("")
    for alert in notification.alerts:
        lines += alert_lines(alert, features=not shared)
        lines.append("")
    lines.append(f"Sightline: {notification.external_url}/alerts")
    return "\n".join(lines)
