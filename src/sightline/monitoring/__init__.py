"""Monitoring jobs: compute windows of a model against its reference, on a schedule or on demand."""

from sightline.monitoring.clock import Clock, SystemClock
from sightline.monitoring.jobs import JobRunner, Monitor
from sightline.monitoring.scheduler import Scheduler

__all__ = ["Clock", "JobRunner", "Monitor", "Scheduler", "SystemClock"]
