"""The ``alerting:`` section of the config file: rules, built-in toggles, receivers and their
channels, the routing tree, inhibition, delivery retries and the external URL.

    >>> config = parse_alerting({"rules": [{"name": "slow", "metric": "latency_p95",
    ...                                     "condition": "> 500", "for": "15m"}]})
    >>> config.rule("slow").condition.describe(), config.rule("slow").for_.seconds
    ('> 500', 900.0)

Every problem is collected (not just the first) and reported with the file, the line and the
dotted field: ``sightline.yaml:12: alerting.rules[0].condition: expected ...``. The format is
described in docs/alerting.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightline.errors import ConfigError, ConfigErrors, ValidationError
from sightline.monitoring.alerts.builtin import BUILTIN, DEFAULT_INHIBIT_RULES
from sightline.monitoring.alerts.conditions import (
    OPS,
    Change,
    Condition,
    Drifted,
    Guard,
    NoData,
    OutsideRange,
    Threshold,
)
from sightline.monitoring.alerts.policy import Policy
from sightline.monitoring.alerts.policy_config import PolicyParser
from sightline.monitoring.alerts.rules import SEVERITIES, Rule, Scope, Span
from sightline.monitoring.alerts.templates import FIELDS, placeholders
from sightline.monitoring.config import parse_config, parse_duration
from sightline.schema.yamldoc import YamlDoc

__all__ = ["AlertingConfig", "load_rules_file", "parse_alerting", "rule_from_dict"]

Location = tuple[str | int, ...]

TOP_KEYS = {"external_url", "builtin", "rules", "receivers", "route", "inhibit_rules", "delivery"}
RULE_KEYS = {
    "name", "model", "version", "metric", "column", "segment", "role", "condition", "only_if",
    "for", "keep_firing_for", "severity", "labels", "annotations",
}  # fmt: skip
RESERVED_LABELS = (
    "alertname", "model", "model_version", "monitor", "metric", "column", "segment", "severity",
)  # fmt: skip
BUILTIN_KEYS = {"enabled", "disabled", "models", "overrides", "inhibit"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.-]*$")
_CHANGE = re.compile(r"^\s*(>=|<=|>|<)\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class AlertingConfig:
    """The effective rules (enabled built-ins, then yours), the policy and the external URL."""

    rules: tuple[Rule, ...] = ()
    policy: Policy = field(default_factory=Policy)
    external_url: str = "http://127.0.0.1:8000"
    source: str = "<alerting>"

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def summary(self) -> str:
        builtin = sum(r.builtin for r in self.rules)
        routes = len(self.policy.route.walk())
        return (
            f"{self.source}: {len(self.rules)} rules ({builtin} built-in, "
            f"{len(self.rules) - builtin} custom), {len(self.policy.channels)} channel(s), "
            f"{routes} route(s), {len(self.policy.inhibit_rules)} inhibition rule(s)"
        )


def parse_alerting(
    section: Any,
    doc: YamlDoc | None = None,
    path: Location = (),
    environ: Mapping[str, str] | None = None,
    external_url: str = "http://127.0.0.1:8000",
) -> AlertingConfig:
    """Parse an ``alerting:`` section found at ``path`` of ``doc`` (a plain dict without).

    ``environ`` fills ``${NAME}`` placeholders in channel settings (secrets); None leaves them
    as written (``sightline rules check`` validates a file without the secrets).
    ``external_url`` is where links point when the section does not say."""
    doc = doc or YamlDoc(section, "<alerting>")
    parser = _Parser(doc, environ)
    parser.external_url = external_url
    config = parser.config(section, path)
    if parser.errors:
        raise ConfigErrors(parser.errors)
    return config


def rule_from_dict(name: str, data: Mapping[str, Any], taken: Collection[str] = ()) -> Rule:
    """One rule from plain data: the HTTP API's JSON body, an item of ``alerting.rules`` whose
    ``name`` may be left out. The name may not be a built-in's nor one of ``taken`` (the
    config file's rules). A mistake raises ValidationError naming the field
    (``condition.sigmas``).

        >>> rule_from_dict("slow", {"metric": "latency_p95", "condition": "> 500"}).name
        'slow'
        >>> try:
        ...     rule_from_dict("slow", {"metric": "latency_p95", "condition": "> fast"})
        ... except ValidationError as error:
        ...     print(error.field)
        condition
    """
    if not isinstance(data, Mapping):
        raise ValidationError("expected a JSON object: the fields of a rule", field="body")
    body = {"name": name, **data}
    if body["name"] != name:
        raise ValidationError(
            f"the body names the rule '{body['name']}' and the URL '{name}'", field="name"
        )
    if name in BUILTIN:
        raise ValidationError(
            f"'{name}' is a built-in rule: change it with alerting.builtin.overrides in the "
            "config file, or switch it off there",
            field="name",
        )
    if name in taken:
        message = f"'{name}' is a rule of the config file: change it there"
        raise ValidationError(message, field="name")
    doc = YamlDoc.parse(json.dumps({"rule": body}, default=str), "body")
    try:
        return _Parser(doc, None).rule(doc.data["rule"], ("rule",))
    except ConfigError as error:
        match = re.match(r"^body(?::\d+)?: rule\.?(\S*): (.*)$", str(error), re.S)
        if match is None:
            raise ValidationError(str(error), field="body") from None
        raise ValidationError(match.group(2), field=match.group(1) or "body") from None


def load_rules_file(path: str | Path, environ: Mapping[str, str] | None = None) -> AlertingConfig:
    """Validate a rules file: a whole config file (its ``alerting:`` section, and the rest
    too) or a bare alerting section (``rules:``, ``route:`` ... at the top)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the rules file {file}: {error}") from None
    doc = YamlDoc.parse(text, str(file))
    root = doc.data
    if isinstance(root, Mapping) and {"alerting", "models", "defaults"} & set(root):
        errors: list[str] = []
        try:
            parse_config(text, str(file))
        except ConfigErrors as error:
            errors += error.errors
        except ConfigError as error:
            errors.append(str(error))
        try:
            config = parse_alerting(root.get("alerting"), doc, ("alerting",), environ)
        except ConfigErrors as error:
            errors += error.errors
        if errors:
            raise ConfigErrors(list(dict.fromkeys(errors)))
    else:
        config = parse_alerting(root, doc, (), environ)
    return AlertingConfig(config.rules, config.policy, config.external_url, str(file))


class _Parser(PolicyParser):
    external_url = "http://127.0.0.1:8000"

    def config(self, section: Any, path: Location) -> AlertingConfig:
        data = self.guarded(self.mapping, section, path) or {}
        self.guarded(self.known, data, TOP_KEYS, path)
        external_url = str(data.get("external_url") or self.external_url).rstrip("/")
        if not external_url.startswith(("http://", "https://")):
            self.errors.append(
                str(self.fail((*path, "external_url"), "expected an http(s):// URL"))
            )
        builtin = self.guarded(self.mapping, data.get("builtin"), (*path, "builtin")) or {}
        rules = self.guarded(self.builtin_rules, builtin, (*path, "builtin")) or []
        taken = {r.name for r in rules} | set(BUILTIN)
        items = data.get("rules") or []
        if not isinstance(items, list):
            self.errors.append(str(self.fail((*path, "rules"), "expected a list of rules")))
            items = []
        for i, item in enumerate(items):
            rule = self.guarded(self.rule, item, (*path, "rules", i))
            if rule is None:
                continue
            if rule.name in taken:
                hint = (
                    "; to change a built-in rule use alerting.builtin.overrides"
                    if rule.name in BUILTIN
                    else ""
                )
                self.errors.append(
                    str(self.fail((*path, "rules", i, "name"), f"'{rule.name}' is taken{hint}"))
                )
                continue
            taken.add(rule.name)
            rules.append(rule)
        inhibit = DEFAULT_INHIBIT_RULES if builtin.get("inhibit", True) is not False else []
        policy = self.policy(data, path, inhibit)
        return AlertingConfig(tuple(rules), policy, external_url, self.doc.source)

    def builtin_rules(self, data: Mapping[str, Any], path: Location) -> list[Rule]:
        self.known(data, BUILTIN_KEYS, path)
        for key in ("enabled", "inhibit"):
            if key in data and not isinstance(data[key], bool):
                self.errors.append(str(self.fail((*path, key), "expected true or false")))
        disabled = set(self.names(data.get("disabled"), (*path, "disabled")))
        excluded: dict[str, list[str]] = {name: [] for name in BUILTIN}
        models = self.mapping(data.get("models"), (*path, "models"))
        for model, spec in models.items():
            where = (*path, "models", model)
            if spec is False or (isinstance(spec, Mapping) and spec.get("enabled") is False):
                names = list(BUILTIN)
            else:
                spec = self.mapping(spec, where)
                self.known(spec, {"enabled", "disabled"}, where)
                names = self.names(spec.get("disabled"), (*where, "disabled"))
            for name in names:
                excluded[name].append(str(model))
        overrides = self.mapping(data.get("overrides"), (*path, "overrides"))
        for name in overrides:
            if name not in BUILTIN:
                self.errors.append(
                    str(self.fail((*path, "overrides", name), f"no built-in rule '{name}'"))
                )
        if data.get("enabled") is False:
            return []
        rules = []
        for name, spec in BUILTIN.items():
            if name in disabled:
                continue
            override = self.mapping(overrides.get(name), (*path, "overrides", name))
            where = (*path, "overrides", name) if override else path
            rule = self.guarded(
                self.rule,
                {**spec, **override, "name": name},
                where,
                builtin=True,
                exclude=tuple(excluded[name]),
            )
            if rule is not None:
                rules.append(rule)
        return rules

    def names(self, value: Any, path: Location) -> list[str]:
        """Built-in rule names (``disabled: [no_data, latency]``)."""
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        names = []
        for i, name in enumerate(items):
            where = (*path, i) if isinstance(value, list) else path
            if name not in BUILTIN:
                self.errors.append(
                    str(self.fail(where, f"no built-in rule {name!r}; known: {', '.join(BUILTIN)}"))
                )
            else:
                names.append(str(name))
        return names

    def rule(
        self,
        data: Any,
        path: Location,
        *,
        builtin: bool = False,
        exclude: tuple[str, ...] = (),
    ) -> Rule:
        data = self.mapping(data, path)
        self.known(data, RULE_KEYS, path)
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail((*path, "name"), "expected a name of letters, digits, _ : . -")
        if "condition" not in data:
            raise self.fail(path, "a rule needs a condition")
        condition = self.condition(data["condition"], (*path, "condition"))
        timer = isinstance(condition, NoData)
        if not timer and "metric" not in data:
            raise self.fail(path, "a rule needs a metric (a name or a glob such as estimated_*)")
        role = data.get("role")
        if role not in (None, "feature", "output"):
            raise self.fail((*path, "role"), "expected feature or output")
        segment = data.get("segment", "")
        if not isinstance(segment, str):
            raise self.fail((*path, "segment"), "expected '', '*', a segment column or key=glob")
        scope = Scope(
            metrics=self.globs(data.get("metric", "*"), (*path, "metric")),
            models=self.globs(data.get("model", "*"), (*path, "model")),
            versions=self.globs(data.get("version", ""), (*path, "version")),
            columns=self.globs(data.get("column", "*"), (*path, "column")),
            segment=segment,
            role=role,
            exclude_models=exclude,
        )
        severity = data.get("severity", "warning")
        if severity not in SEVERITIES:
            raise self.fail((*path, "severity"), f"expected one of {', '.join(SEVERITIES)}")
        for_ = self.span(data.get("for", 0), (*path, "for"), timer)
        keep = self.span(data.get("keep_firing_for", 0), (*path, "keep_firing_for"), timer)
        labels = self.strings(data.get("labels"), (*path, "labels"))
        for reserved in RESERVED_LABELS:
            if reserved in labels:
                raise self.fail((*path, "labels", reserved), f"'{reserved}' is set by Sightline")
        annotations = self.strings(data.get("annotations"), (*path, "annotations"))
        for key, template in annotations.items():
            for placeholder in placeholders(template):
                if placeholder.split(".")[0] not in FIELDS:
                    raise self.fail(
                        (*path, "annotations", key),
                        f"unknown template field '{{{placeholder}}}'; known: "
                        + ", ".join(sorted(FIELDS)),
                    )
        only_if = self.guard(data["only_if"], (*path, "only_if")) if "only_if" in data else None
        return Rule(
            name=name,
            scope=scope,
            condition=condition,
            for_=for_,
            keep_firing_for=keep,
            severity=severity,
            labels=labels,
            annotations=annotations,
            only_if=only_if,
            builtin=builtin,
        )

    def condition(self, value: Any, path: Location) -> Condition:
        if value == "drifted":
            return Drifted()
        if isinstance(value, str):
            return Threshold(*self.comparison(value, path, percent=False))
        data = self.mapping(value, path)
        kinds = {"outside", "change", "no_data", "drifted"}
        found = [k for k in data if k in kinds]
        if len(found) != 1:
            raise self.fail(
                path,
                "expected 'drifted', a threshold such as '> 0.1', or one of "
                "{outside: [low, high]}, {change: '< -10%', baseline: trailing, windows: 7}, "
                "{no_data: 2h}",
            )
        kind = found[0]
        where = (*path, kind)
        if kind == "drifted":
            self.known(data, {"drifted"}, path)
            return Drifted()
        if kind == "no_data":
            self.known(data, {"no_data"}, path)
            return NoData(self.duration(data["no_data"], where))
        if kind == "outside":
            self.known(data, {"outside"}, path)
            pair = data["outside"]
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
                and pair[0] <= pair[1]
            ):
                raise self.fail(where, "expected [low, high] with low <= high")
            return OutsideRange(float(pair[0]), float(pair[1]))
        self.known(data, {"change", "baseline", "windows", "sigmas"}, path)
        op, amount, relative = self.comparison(data["change"], where, percent=True)
        baseline = data.get("baseline", "auto")
        if baseline not in ("auto", "trailing", "reference"):
            raise self.fail((*path, "baseline"), "expected trailing, reference or auto")
        windows = data.get("windows", 7)
        if not isinstance(windows, int) or isinstance(windows, bool) or not 1 <= windows <= 1000:
            raise self.fail((*path, "windows"), "expected a number of windows from 1 to 1000")
        sigmas = data.get("sigmas")
        if sigmas is not None and (
            not isinstance(sigmas, int | float) or isinstance(sigmas, bool) or not 0 < sigmas <= 10
        ):
            raise self.fail((*path, "sigmas"), "expected a number of standard errors from 0 to 10")
        return Change(op, amount, baseline, windows, relative, sigmas)

    def comparison(self, value: Any, path: Location, *, percent: bool) -> Any:
        match = _CHANGE.match(value) if isinstance(value, str) else None
        if match is None or (match.group(3) and not percent):
            example = "'< -10%' or '> 0.05'" if percent else "'> 0.1' or '<= 0.8'"
            raise self.fail(
                path, f"expected an operator ({', '.join(OPS)}) and a number: {example}"
            )
        number = float(match.group(2))
        if percent:
            relative = bool(match.group(3))
            return match.group(1), number / 100 if relative else number, relative
        return match.group(1), number

    def guard(self, value: Any, path: Location) -> Guard:
        data = self.mapping(value, path)
        self.known(data, {"metric", "op", "value", "missing"}, path)
        if not isinstance(data.get("metric"), str):
            raise self.fail((*path, "metric"), "expected a metric name")
        if data.get("op") not in OPS:
            raise self.fail((*path, "op"), f"expected one of {', '.join(OPS)}")
        number = data.get("value")
        if not isinstance(number, int | float) or isinstance(number, bool):
            raise self.fail((*path, "value"), "expected a number")
        missing = data.get("missing", True)
        if not isinstance(missing, bool):
            raise self.fail((*path, "missing"), "expected true or false")
        return Guard(data["metric"], data["op"], float(number), missing)

    def globs(self, value: Any, path: Location) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) for v in items):
            raise self.fail(path, "expected a name, a glob (such as drift_*) or a list of them")
        return tuple(items)

    def span(self, value: Any, path: Location, timer: bool) -> Span:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise self.fail(path, "expected a number of windows (>= 0) or a duration")
            if value and timer:
                raise self.fail(path, "a no_data rule is evaluated on a timer: give a duration")
            return Span(windows=value)
        return Span(seconds=self.duration(value, path))

    def duration(self, value: Any, path: Location) -> float:
        try:
            return parse_duration(value)
        except ValueError as error:
            raise self.fail(path, str(error)) from None
