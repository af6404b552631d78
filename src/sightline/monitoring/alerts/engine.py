"""The alerting facade: evaluate rules after each window, tick on a timer, read the state.

    alerting = Alerting(config, state_store, metric_store, prediction_store, clock=clock)
    runner = JobRunner(predictions, metrics, on_window=alerting.on_window)
    alerting.start()    # a thread ticks: no-data rules, group flushes, delivery

Time always comes from the injected clock (or the ``now`` passed in), so tests move it by hand.
One lock orders evaluations, ticks and API writes; deliveries run outside it.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sightline.errors import NotFoundError, ValidationError
from sightline.monitoring.alerts.config import AlertingConfig, rule_from_dict
from sightline.monitoring.alerts.dispatcher import dispatch, mute_reason
from sightline.monitoring.alerts.evaluation import Evaluator
from sightline.monitoring.alerts.notifiers import Notifier, build_notifier
from sightline.monitoring.alerts.outbox import Delivery, Outbox
from sightline.monitoring.alerts.rules import Rule
from sightline.monitoring.alerts.state import Observation, acknowledge, advance
from sightline.monitoring.scheduler import Clock, SystemClock
from sightline.schema import JobRun, Window
from sightline.schema.alerts import (
    AlertInstance,
    Matcher,
    Notification,
    OutboxEntry,
    Silence,
    Transition,
)
from sightline.schema.monitors import Monitor
from sightline.store import MetricStore, PredictionStore
from sightline.store.alerts import AlertStore

__all__ = ["Alerting"]

log = logging.getLogger("sightline.alerts")


class Alerting:
    """Rules → alert states → grouped notifications → outbox → channels."""

    def __init__(
        self,
        config: AlertingConfig,
        store: AlertStore,
        metrics: MetricStore,
        predictions: PredictionStore | None = None,
        *,
        clock: Clock | None = None,
        notifiers: Mapping[str, Notifier] | None = None,
        interval: float = 10.0,
    ):
        self.config = config
        self.store = store
        self.metrics = metrics
        self.predictions = predictions
        self.clock = clock or SystemClock()
        self.interval = interval
        built = {c.name: build_notifier(c) for c in config.policy.channels}
        self.outbox = Outbox(store, config.policy.delivery, {**built, **(notifiers or {})})
        self.evaluator = Evaluator(metrics, config.external_url)
        self._lock = threading.RLock()
        self._api_rules: dict[str, Rule] = {}
        self._definitions: dict[str, dict[str, Any]] = {}
        for definition in store.rules():
            name = str(definition.get("name", ""))
            try:
                self._api_rules[name] = rule_from_dict(name, definition, self._file_rules())
                self._definitions[name] = definition
            except ValidationError as error:  # e.g. the config file took the name since
                log.warning("rule '%s' set through the API is not evaluated: %s", name, error)
        self._instances = {i.fingerprint: i for i in store.instances()}
        self._retire(set(), self.clock.now())  # alerts of rules that are gone
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules evaluated: the config file's (built-ins first), then those set through
        the API, by name."""
        api = self._api_rules  # replaced whole on change, never mutated: a consistent view
        return self.config.rules + tuple(api[name] for name in sorted(api))

    def _file_rules(self) -> set[str]:
        return {rule.name for rule in self.config.rules}

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(
        self,
        model: str,
        now: datetime | None = None,
        window: Window | None = None,
        monitor: str = "default",
    ) -> list[Transition]:
        """Evaluate the point rules on one computed window of ``model``'s ``monitor`` (default:
        the latest window computed), then flush the notification groups."""
        now = now or self.clock.now()
        if window is None:
            runs = self.metrics.runs(model, limit=1)
            if not runs:
                return []
            window = Window(runs[0].window_start, runs[0].window_end, runs[0].granularity)
            monitor = runs[0].monitor
        points = self.metrics.query(
            model,
            granularity=window.granularity,
            start=window.start,
            end=window.end,
            monitor=monitor,
        )
        roles = self._roles(model)
        with self._lock:
            instances = [i for i in self._instances.values() if i.model == model]
            observations = self.evaluator.window(
                self.rules, model, window, points, roles, instances
            )
            transitions = self._apply(observations, now)
            self.flush(now)
        self._wake.set()
        return transitions

    def on_window(self, model: str, monitor: Monitor, window: Window, run: JobRun) -> None:
        """The JobRunner's callback after a window is computed; never raises. Roll-ups (days
        made of hours) are not evaluated: they would alert twice on the same data."""
        if run.status == "error" or run.trigger == "rollup":
            return
        try:
            self.evaluate(model, window=window, monitor=monitor.name)
        except Exception:  # alerting must never break the monitoring jobs
            log.exception("alert evaluation of %s of model '%s' failed", window, model)

    def tick(self, now: datetime | None = None, *, deliver: bool = True) -> Delivery:
        """The timer: no-data rules, group flushes (group wait, repeats, resolved), delivery."""
        now = now or self.clock.now()
        if self.predictions is not None and any(r.timer for r in self.rules):
            for info in self.predictions.models():
                observations = self.evaluator.timer(self.rules, info.name, info.last_ts, now)
                with self._lock:
                    self._apply(observations, now)
        with self._lock:
            self.flush(now)
        return self.deliver(now) if deliver else Delivery()

    def _apply(self, observations: Sequence[Observation], now: datetime) -> list[Transition]:
        changed, transitions = [], []
        current = {rule.name for rule in self.rules}
        for observation in observations:
            if observation.rule.name not in current:
                continue  # its rule was removed while it was being evaluated
            old = self._instances.get(observation.fingerprint)
            new, transition = advance(old, observation, now)
            if old is None and new.state == "inactive":
                continue
            if new != old:
                self._instances[new.fingerprint] = new
                changed.append(new)
            if transition is not None:
                transitions.append(transition)
        self.store.save_instances(changed, transitions)
        return transitions

    def _roles(self, model: str) -> dict[str, str]:
        schema = self.predictions.schema(model) if self.predictions is not None else None
        if schema is None:
            return {}
        roles = {c.name: "feature" for c in schema.features}
        roles.update({c.name: "output" for c in schema.outputs})
        return roles

    # -- notification -----------------------------------------------------------------------

    def flush(self, now: datetime | None = None) -> list[Notification]:
        """Group the alerts and queue the notifications that are due (stored atomically)."""
        now = now or self.clock.now()
        with self._lock:
            groups = {g.key: g for g in self.store.groups()}
            result = dispatch(
                list(self._instances.values()),
                self.store.silences(),
                self.config.policy,
                groups,
                now,
                self.config.external_url,
            )
            entries = Outbox.entries(self.config.policy, result.notifications)
            self.store.record_dispatch(result.groups, result.deleted, entries)
        return result.notifications

    def deliver(self, now: datetime | None = None) -> Delivery:
        """Send the outbox entries that are due."""
        return self.outbox.deliver(now or self.clock.now())

    def start(self) -> None:
        """Tick in a background thread every ``interval`` seconds (and after evaluations)."""
        if self._thread is not None or self.interval <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sightline-alerting", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must survive anything a pass throws
                log.exception("alerting tick failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    # -- reading and acting -----------------------------------------------------------------

    def alerts(self, state: str | None = None, model: str | None = None) -> list[AlertInstance]:
        with self._lock:
            found = [
                i
                for i in self._instances.values()
                if (state is None or i.state == state) and (model is None or i.model == model)
            ]
        return sorted(found, key=lambda i: (i.model, i.rule, i.fingerprint))

    def alert(self, fingerprint: str) -> AlertInstance:
        with self._lock:
            instance = self._instances.get(fingerprint)
        if instance is None:
            raise NotFoundError(f"no alert with fingerprint '{fingerprint}'")
        return instance

    def muted(self, instance: AlertInstance, now: datetime | None = None) -> str:
        """Why ``instance`` is not notified (silenced, inhibited), or ``""``."""
        now = now or self.clock.now()
        with self._lock:
            firing = [i for i in self._instances.values() if i.state == "firing"]
        return mute_reason(instance, self.store.silences(), self.config.policy, firing, now)

    def history(
        self, fingerprint: str | None = None, model: str | None = None, limit: int = 100
    ) -> list[Transition]:
        return self.store.transitions(fingerprint, model, limit)

    def acknowledge(
        self, fingerprint: str, by: str = "", comment: str = "", now: datetime | None = None
    ) -> AlertInstance:
        """Mark a pending or firing alert as being handled: it is not repeated any more."""
        now = now or self.clock.now()
        with self._lock:
            instance = self.alert(fingerprint)
            if instance.state not in ("pending", "firing"):
                raise ValidationError(
                    f"alert {fingerprint} is {instance.state}; only pending or firing alerts "
                    "can be acknowledged",
                    field="fingerprint",
                )
            acked = acknowledge(instance, by, comment, now)
            note = Transition(
                fingerprint,
                instance.rule,
                dict(instance.labels),
                now,
                instance.state,
                instance.state,
                instance.value,
                summary=f"acknowledged by {by or 'someone'}" + (f": {comment}" if comment else ""),
            )
            self._instances[fingerprint] = acked
            self.store.save_instances([acked], [note])
        return acked

    # -- rules set through the API ----------------------------------------------------------

    def rule_source(self, name: str) -> str:
        """Where rule ``name`` comes from: ``builtin``, ``config`` (the file) or ``api``."""
        if name in self._api_rules:
            return "api"
        return (
            "builtin" if any(r.name == name and r.builtin for r in self.config.rules) else "config"
        )

    def definition(self, name: str) -> dict[str, Any]:
        """The definition a rule was set with through the API."""
        with self._lock:
            if name not in self._definitions:
                raise NotFoundError(f"no rule '{name}' set through the API")
            return dict(self._definitions[name])

    def put_rule(self, name: str, definition: Mapping[str, Any]) -> Rule:
        """Add or replace a rule (the fields of an ``alerting.rules`` item): validated, kept in
        the state store (it survives restarts) and evaluated from the next window on. A
        replaced rule's alerts keep their state, except those its new scope leaves out (a
        model, metric or column no longer covered, or a condition of another kind), which end.
        The config file's rules and the built-ins
        are changed in the file; a mistake raises ValidationError naming the field."""
        rule = rule_from_dict(name, definition, self._file_rules())
        stored = {"name": name, **definition}
        with self._lock:
            self.store.save_rule(stored)
            self._api_rules = {**self._api_rules, name: rule}
            self._definitions = {**self._definitions, name: stored}

            def outside(instance: AlertInstance) -> bool:  # what the new scope leaves out
                return instance.rule == name and not _covers(rule, instance.labels)

            transitions = self._retire(set(), self.clock.now(), outside, "changed its scope")
            if transitions:
                self.flush()
        return rule

    def delete_rule(self, name: str, now: datetime | None = None) -> list[Transition]:
        """Remove a rule set through the API; its pending alerts end and its firing alerts
        resolve (and are notified so)."""
        now = now or self.clock.now()
        with self._lock:
            if name not in self._api_rules:
                if name in self._file_rules():
                    raise ValidationError(
                        f"'{name}' is a rule of the config file (or a built-in): remove or "
                        "switch it off there",
                        field="name",
                    )
                raise NotFoundError(f"no rule '{name}' set through the API")
            self.store.delete_rule(name)
            self._api_rules = {k: v for k, v in self._api_rules.items() if k != name}
            self._definitions = {k: v for k, v in self._definitions.items() if k != name}
            transitions = self._retire({name}, now)
            self.flush(now)
        self._wake.set()
        return transitions

    def _retire(
        self,
        names: set[str],
        now: datetime,
        ends: Callable[[AlertInstance], bool] | None = None,
        why: str = "was removed",
    ) -> list[Transition]:
        """End the active alerts of rules ``names`` and of rules that no longer exist (or,
        with ``ends``, the alerts it picks)."""
        known = {rule.name for rule in self.rules} - names

        def gone(instance: AlertInstance) -> bool:
            return instance.rule not in known

        pick = ends or gone
        changed, transitions = [], []
        for instance in list(self._instances.values()):
            if not pick(instance) or instance.state not in ("pending", "firing"):
                continue
            firing = instance.state == "firing"
            new = replace(
                instance,
                state="resolved" if firing else "inactive",
                resolved_at=now if firing else instance.resolved_at,
                active_since=None,
                streak=0,
                clear_since=None,
                clear_streak=0,
                updated_at=now,
            )
            self._instances[new.fingerprint] = new
            changed.append(new)
            transitions.append(
                Transition(
                    new.fingerprint,
                    new.rule,
                    dict(new.labels),
                    now,
                    instance.state,
                    new.state,
                    instance.value,
                    summary=f"rule '{instance.rule}' {why}",
                )
            )
        if changed:
            self.store.save_instances(changed, transitions)
        return transitions

    def silence(
        self,
        matchers: Sequence[str],
        *,
        duration: float | None = None,
        ends_at: datetime | None = None,
        starts_at: datetime | None = None,
        created_by: str = "",
        comment: str = "",
    ) -> Silence:
        """Mute the alerts ``matchers`` match until ``ends_at`` (or for ``duration`` s)."""
        now = self.clock.now()
        if not matchers:
            raise ValidationError("a silence needs at least one matcher", field="matchers")
        parsed = tuple(Matcher.parse(m) for m in matchers)
        start = starts_at or now
        if ends_at is None:
            if duration is None or duration <= 0:
                raise ValidationError("give a positive duration or an end time", field="duration")
            ends_at = start + timedelta(seconds=duration)
        if ends_at <= start:
            raise ValidationError("the silence must end after it starts", field="ends_at")
        silence = Silence(uuid.uuid4().hex[:12], parsed, start, ends_at, created_by, comment, now)
        self.store.save_silence(silence)
        return silence

    def silences(self, include_expired: bool = False) -> list[Silence]:
        now = self.clock.now()
        return [s for s in self.store.silences() if include_expired or now < s.ends_at]

    def expire_silence(self, silence_id: str) -> None:
        if not self.store.delete_silence(silence_id):
            raise NotFoundError(f"no silence with id '{silence_id}'")

    def notifications(self, status: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        return self.store.entries(status, limit)

    def status(self) -> dict[str, Any]:
        """Counts for a glance: alerts by state, outbox by status."""
        with self._lock:
            states: dict[str, int] = {}
            for instance in self._instances.values():
                states[instance.state] = states.get(instance.state, 0) + 1
        outbox = {s: len(self.store.entries(s, 10_000)) for s in ("pending", "failed")}
        return {"alerts": states, "outbox": outbox, "rules": len(self.rules)}


def _covers(rule: Rule, labels: Mapping[str, str]) -> bool:
    """Whether ``rule`` still speaks of the series an alert's ``labels`` name."""
    scope = rule.scope
    if rule.timer:
        return not labels.get("metric") and scope.applies_to(labels.get("model", ""))
    metric, column = labels.get("metric", ""), labels.get("column", "")
    return (
        bool(metric)
        and scope.applies_to(labels.get("model", ""))
        and scope.covers_metric(metric)
        and any(fnmatch.fnmatchcase(column, pattern) for pattern in scope.columns)
    )
