"""Alerting: rules on metric points, alert states, grouped notifications that reach people once.

    rules.py       conditions, scope, for / keep_firing_for      builtin.py   default rules
    evaluation.py  points (or the clock) → observations          state.py     the state machine
    policy.py      routes, receivers, inhibition                  dispatcher.py  grouping
    outbox.py      persistent delivery with retries               notifiers/   channels
    context.py     what a notification says                       config.py    the YAML section
    engine.py      :class:`Alerting`, the facade the server uses

See docs/alerting.md.
"""

from sightline.monitoring.alerts.config import AlertingConfig, load_rules_file, parse_alerting
from sightline.monitoring.alerts.engine import Alerting
from sightline.monitoring.alerts.rules import Rule

__all__ = ["Alerting", "AlertingConfig", "Rule", "load_rules_file", "parse_alerting"]
