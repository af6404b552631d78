"""Monitoring jobs: compute windows of a model against its reference, on a schedule or on demand."""

from sightline.monitoring.jobs import JobRunner, Monitor
from sightline.monitoring.scheduler import Clock, Scheduler, SystemClock

__all__ = ["Clock", "JobRunner", "Monitor", "Scheduler", "SystemClock"]
