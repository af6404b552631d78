"""Evaluation: what each rule sees in a computed window (or on the clock), as observations.

For a point rule and a window: the points its scope matches, each judged by its condition
(with the trailing baseline read from the metric store when the condition needs one), and a
"does not hold" for each of its pending or firing series that the window no longer has while
it does have the rule's metric (a column that went away resolves its alert). For a timer rule:
the time since the model's last prediction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sightline.monitoring.alerts.conditions import NoData
from sightline.monitoring.alerts.context import (
    alert_annotations,
    alert_context,
    humanize,
    model_context,
)
from sightline.monitoring.alerts.rules import Rule, fingerprint
from sightline.monitoring.alerts.state import Observation
from sightline.schema import MetricPoint, Window
from sightline.schema.alerts import AlertInstance
from sightline.schema.windows import granularity_seconds
from sightline.store import MetricStore

__all__ = ["Evaluator", "series_key"]

SeriesKey = tuple[str, str, str, str, str, str]


def series_key(point: MetricPoint) -> SeriesKey:
    return (
        point.metric,
        point.column,
        point.segment_key,
        point.segment_value,
        point.model_version,
        point.monitor,
    )


class Evaluator:
    """Turns points (or the clock) into observations for the state machine."""

    def __init__(self, metrics: MetricStore, external_url: str):
        self.metrics = metrics
        self.external_url = external_url

    def window(
        self,
        rules: Sequence[Rule],
        model: str,
        window: Window,
        points: Sequence[MetricPoint],
        roles: Mapping[str, str],
        instances: Sequence[AlertInstance],
    ) -> list[Observation]:
        observations: list[Observation] = []
        for rule in rules:
            if rule.timer or not rule.scope.applies_to(model):
                continue
            matched = [p for p in points if rule.scope.matches(p, roles)]
            allowed = rule.only_if.allows(list(points)) if rule.only_if else True
            baselines = (
                self.baselines(model, window, rule, matched) if rule.condition.trailing else {}
            )
            seen = set()
            for point in matched:
                outcome = rule.condition.check(point, baselines.get(series_key(point)))
                labels = rule.series_labels(point)
                fp = fingerprint(rule.name, labels)
                seen.add(fp)
                context = alert_context(rule, point, outcome, labels, fp, points, self.external_url)
                observations.append(
                    Observation(
                        rule,
                        labels,
                        fp,
                        outcome.holds if allowed else False,
                        outcome.value,
                        window.end,
                        window.start,
                        context,
                        alert_annotations(rule, context),
                    )
                )
            monitors = {p.monitor for p in points if rule.scope.covers_metric(p.metric)}
            if not monitors:
                continue  # the window has nothing of this rule's metrics: nothing to conclude
            for instance in instances:
                if (
                    instance.rule == rule.name
                    and instance.state in ("pending", "firing")
                    and instance.fingerprint not in seen
                    and instance.model == model
                    and instance.labels.get("monitor", "default") in monitors
                    and instance.context.get("granularity") == window.granularity
                ):
                    observations.append(
                        Observation(
                            rule,
                            instance.labels,
                            instance.fingerprint,
                            False,
                            None,
                            window.end,
                            window.start,
                            instance.context,
                            instance.annotations,
                        )
                    )
        return observations

    def baselines(
        self, model: str, window: Window, rule: Rule, points: Sequence[MetricPoint]
    ) -> dict[SeriesKey, float]:
        """The mean of each series over the ``trailing`` windows before ``window``."""
        wanted = {series_key(p) for p in points}
        if not wanted:
            return {}
        length = timedelta(seconds=granularity_seconds(window.granularity))
        start = window.start - rule.condition.trailing * length
        values: dict[SeriesKey, list[float]] = defaultdict(list)
        for metric in sorted({p.metric for p in points}):
            for past in self.metrics.query(
                model, metric=metric, granularity=window.granularity, start=start, end=window.start
            ):
                key = series_key(past)
                if key in wanted and past.value is not None and past.value == past.value:
                    values[key].append(past.value)
        return {key: sum(v) / len(v) for key, v in values.items() if v}

    def timer(
        self, rules: Sequence[Rule], model: str, last_seen: datetime | None, now: datetime
    ) -> list[Observation]:
        """Observations of the timer rules for ``model``, last heard of at ``last_seen``."""
        observations = []
        for rule in rules:
            if not isinstance(rule.condition, NoData) or not rule.scope.applies_to(model):
                continue
            if last_seen is None:
                continue  # a model never heard of is not "stalled"
            silent = max((now - last_seen).total_seconds(), 0.0)
            outcome = rule.condition.silent_for(silent)
            labels = rule.model_labels(model)
            fp = fingerprint(rule.name, labels)
            context = model_context(rule, model, silent, labels, fp, self.external_url)
            context["last_seen"] = last_seen.isoformat()
            context["silent_for"] = humanize(silent)
            observations.append(
                Observation(
                    rule,
                    labels,
                    fp,
                    outcome.holds,
                    silent,
                    now,
                    None,
                    context,
                    alert_annotations(rule, context),
                )
            )
        return observations
