"""Live counters and latency histograms of the collector, served at ``GET /metrics`` in the
Prometheus text format.

Computed as data arrives (the push side of the design): records accepted, duplicated and
quarantined per model, version and kind; service events and their errors per model, version and
event name; the latency of service events and of ingest requests. Labels stay low-cardinality:
past a bound, new label values are counted under ``other``; none is empty (a record without a
model version counts under ``version="unversioned"``).

    >>> live = LiveMetrics()
    >>> live.observe_request("json", 0.004)
    >>> b"sightline_ingest_requests_total" in live.render()
    True
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from sightline.schema.records import KINDS
from sightline.server.ingest import IngestResult

__all__ = ["CONTENT_TYPE", "MAX_LABEL_VALUES", "UNVERSIONED", "LiveMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Most distinct models, versions and event names tracked (each); the rest are ``other``.
MAX_LABEL_VALUES = 100
#: The ``version`` label of records that name no model version (label values are never empty).
UNVERSIONED = "unversioned"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LiveMetrics:
    """The collector's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "sightline_records",
            "Records accepted by the collector, by kind (prediction, feedback, event).",
            ("model", "version", "kind"),
            registry=r,
        )
        labels = ("model", "version", "event")
        self.duplicates = Counter(
            "sightline_records_duplicate",
            "Records received again (a retry) and not stored twice.",
            registry=r,
        )
        self.quarantined = Counter(
            "sightline_records_quarantined",
            "Records refused and kept in the quarantine.",
            ("model", "kind"),
            registry=r,
        )
        self.events = Counter(
            "sightline_events", "Service events, by event name.", labels, registry=r
        )
        self.event_errors = Counter(
            "sightline_event_errors", "Service events that failed.", labels, registry=r
        )
        self.event_latency = Histogram(
            "sightline_event_latency_seconds",
            "Latency of service events, as logged by the service.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "sightline_ingest_requests", "Ingest requests served.", ("format",), registry=r
        )
        self.request_latency = Histogram(
            "sightline_ingest_request_duration_seconds",
            "Time to check and durably store one ingest batch.",
            ("format",),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._seen: dict[str, set[str]] = {"model": set(), "version": set(), "event": set()}
        self._lock = threading.Lock()

    def _label(self, name: str, value: str) -> str:
        if not value and name == "version":
            return UNVERSIONED
        seen = self._seen[name]
        if value in seen:
            return value
        with self._lock:
            if len(seen) >= MAX_LABEL_VALUES:
                return "other"
            seen.add(value)
        return value

    def observe(self, result: IngestResult) -> None:
        """Count what one batch came to."""
        for (model, version, kind), n in result.counts.items():
            if kind != "event":
                labels = self._label("model", model), self._label("version", version), kind
                self.records.labels(*labels).inc(n)
        if result.duplicates:
            self.duplicates.inc(result.duplicates)
        for record in result.quarantine:
            kind = record.kind if record.kind in KINDS else "other"
            self.quarantined.labels(self._label("model", record.model), kind).inc()
        for event in result.events:
            labels = (
                self._label("model", event.model),
                self._label("version", event.model_version),
                self._label("event", event.name),
            )
            self.records.labels(labels[0], labels[1], "event").inc()
            self.events.labels(*labels).inc()
            if event.error:
                self.event_errors.labels(*labels).inc()
            if event.latency_ms is not None:
                self.event_latency.labels(*labels).observe(event.latency_ms / 1000)

    def observe_request(self, wire_format: str, seconds: float) -> None:
        self.requests.labels(wire_format).inc()
        self.request_latency.labels(wire_format).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        data: bytes = generate_latest(self.registry)
        return data
