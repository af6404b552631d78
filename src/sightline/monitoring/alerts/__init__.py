"""Alerting: rules on metric points, alert states, grouped notifications that reach people once.

    conditions.py  when a point is abnormal       rules.py       scope, for, fingerprints
    builtin.py     the default rules              evaluation.py  points or the clock → observations
    state.py       the state machine              policy.py      routes, receivers, inhibition
    dispatcher.py  grouping, repeats, silences    outbox.py      persistent delivery, retries
    notifiers/     the channels                   context.py     what a notification says
    config.py      the YAML section               engine.py      :class:`Alerting`, the facade

See docs/alerting.md.
"""

from sightline.monitoring.alerts.config import AlertingConfig, load_rules_file, parse_alerting
from sightline.monitoring.alerts.engine import Alerting
from sightline.monitoring.alerts.rules import Rule

__all__ = ["Alerting", "AlertingConfig", "Rule", "load_rules_file", "parse_alerting"]
