"""Parsing of the notification policy part of ``alerting:``: receivers and their channels,
the routing tree, inhibition rules and delivery retries (see :mod:`.config` for the rest).

    receivers:
      ml-team:
        - webhook: {url: https://hooks.example.com/sightline, secret: "${HOOK_SECRET}"}
        - email: {to: [ml@example.com], from: sightline@example.com, host: smtp.example.com}
    route:
      receiver: ml-team
      group_by: [alertname, model]
      routes:
        - matchers: [severity=critical]
          receiver: pager
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from sightline.errors import ConfigError, ConfigErrors, ValidationError
from sightline.monitoring.alerts.policy import (
    ChannelConfig,
    DeliveryPolicy,
    InhibitRule,
    Policy,
    Route,
    number_routes,
)
from sightline.monitoring.config import parse_duration
from sightline.schema.alerts import Matcher
from sightline.schema.yamldoc import YamlDoc

__all__ = ["CHANNEL_KEYS", "PolicyParser"]

Location = tuple[str | int, ...]
T = TypeVar("T")

#: channel type → (required settings, allowed settings)
CHANNEL_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "webhook": ({"url"}, {"url", "secret", "headers", "timeout"}),
    "slack": ({"url"}, {"url", "channel", "username", "timeout"}),
    "email": (
        {"to", "from", "host"},
        {"to", "from", "host", "port", "security", "username", "password", "timeout", "ca_file"},
    ),
    "alertmanager": ({"url"}, {"url", "ttl", "timeout", "headers"}),
    "log": (set(), {"level"}),
}
ROUTE_KEYS = {
    "receiver", "matchers", "group_by", "group_wait", "group_interval", "repeat_interval",
    "send_resolved", "continue", "routes",
}  # fmt: skip
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PolicyParser:
    """Shared helpers (errors with line and field, collected) and the policy parser."""

    def __init__(self, doc: YamlDoc, environ: Mapping[str, str] | None = None):
        self.doc = doc
        self.environ = environ
        self.errors: list[str] = []

    def fail(self, path: Location, message: str) -> ConfigError:
        return self.doc.error(path, message)

    def guarded(self, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``parse(*args, **kwargs)``, or None with its error collected."""
        try:
            return parse(*args, **kwargs)
        except ConfigErrors as error:
            self.errors.extend(error.errors)
        except ConfigError as error:
            self.errors.append(str(error))
        return None

    def mapping(self, value: Any, path: Location) -> Mapping[str, Any]:
        return self.doc.mapping(value, path)

    def known(self, data: Mapping[str, Any], keys: set[str], path: Location) -> None:
        self.doc.known(data, keys, path)

    def strings(self, value: Any, path: Location) -> dict[str, str]:
        data = self.mapping(value, path)
        for key, item in data.items():
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise self.fail((*path, key), "expected a string")
        return {str(k): str(v) for k, v in data.items()}

    def seconds(self, value: Any, path: Location) -> float:
        try:
            return parse_duration(value)
        except ValueError as error:
            raise self.fail(path, str(error)) from None

    def matchers(self, value: Any, path: Location) -> tuple[Matcher, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, "expected a list of matchers such as [severity=critical]")
        found = []
        for i, text in enumerate(value):
            try:
                found.append(Matcher.parse(text))
            except ValidationError as error:
                raise self.fail((*path, i), error.message) from None
        return tuple(found)

    # -- the policy -------------------------------------------------------------------------

    def policy(
        self, data: Mapping[str, Any], path: Location, default_inhibit: list[dict[str, Any]]
    ) -> Policy:
        channels: list[ChannelConfig] = []
        receivers = self.guarded(self.mapping, data.get("receivers"), (*path, "receivers"))
        for name, items in (receivers or {}).items():
            where = (*path, "receivers", name)
            if not isinstance(items, list) or not items:
                self.errors.append(str(self.fail(where, "expected a list of channels")))
                continue
            for i, item in enumerate(items):
                channel = self.guarded(self.channel, name, i, item, where)
                if channel is not None:
                    channels.append(channel)
        names = {c.receiver for c in channels} | set(receivers or {})
        if not names:
            names = {"log"}
            channels.append(ChannelConfig("log/0-log", "log", "log"))
        default = next(iter(receivers or {"log": None}))  # the first receiver written
        route = self.guarded(self.route, data.get("route"), (*path, "route"), None, names, default)
        inhibit = []
        items = data.get("inhibit_rules") or []
        if not isinstance(items, list):
            self.errors.append(str(self.fail((*path, "inhibit_rules"), "expected a list")))
            items = []
        for spec, where in [(s, path) for s in default_inhibit] + [
            (s, (*path, "inhibit_rules", i)) for i, s in enumerate(items)
        ]:
            rule = self.guarded(self.inhibit, spec, where)
            if rule is not None:
                inhibit.append(rule)
        delivery = self.guarded(self.delivery, data.get("delivery"), (*path, "delivery"))
        return Policy(
            number_routes(route or Route(default)),
            tuple(channels),
            tuple(inhibit),
            delivery or DeliveryPolicy(),
        )

    def channel(self, receiver: str, index: int, value: Any, path: Location) -> ChannelConfig:
        where = (*path, index)
        data = self.mapping(value, where)
        if len(data) != 1 or next(iter(data)) not in CHANNEL_KEYS:
            kinds = ", ".join(CHANNEL_KEYS)
            raise self.fail(where, f"expected one channel {{type: settings}}, type one of {kinds}")
        kind, settings = next(iter(data.items()))
        where = (*where, kind)
        settings = dict(self.mapping(settings, where))
        required, allowed = CHANNEL_KEYS[kind]
        self.known(settings, allowed, where)
        for key in sorted(required - set(settings)):
            raise self.fail(where, f"a {kind} channel needs '{key}'")
        for key, item in settings.items():
            settings[key] = self.expand(item, (*where, key))
        for key in ("url",):
            if key in settings and not str(settings[key]).startswith(("http://", "https://")):
                raise self.fail((*where, key), "expected an http(s):// URL")
        for key in ("timeout", "ttl"):
            if key in settings:
                settings[key] = self.seconds(settings[key], (*where, key))
        if kind == "email":
            to = settings["to"]
            settings["to"] = [to] if isinstance(to, str) else to
            if not isinstance(settings["to"], list) or not all(
                isinstance(a, str) and "@" in a for a in settings["to"]
            ):
                raise self.fail((*where, "to"), "expected an address or a list of addresses")
            security = settings.setdefault("security", "starttls")
            if security not in ("none", "starttls", "ssl"):
                raise self.fail((*where, "security"), "expected none, starttls or ssl")
            port = settings.setdefault("port", {"ssl": 465, "starttls": 587}.get(security, 25))
            if not isinstance(port, int) or not 0 < port < 65536:
                raise self.fail((*where, "port"), "expected a port number")
        if kind == "log" and settings.get("level", "warning") not in ("info", "warning", "error"):
            raise self.fail((*where, "level"), "expected info, warning or error")
        if "headers" in settings:
            settings["headers"] = self.strings(settings["headers"], (*where, "headers"))
        return ChannelConfig(f"{receiver}/{index}-{kind}", receiver, kind, settings)

    def expand(self, value: Any, path: Location) -> Any:
        """``${NAME}`` in a string setting replaced from the environment given."""
        if not isinstance(value, str) or self.environ is None:
            return value
        environ = self.environ

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in environ:
                raise self.fail(path, f"environment variable {match.group(1)} is not set")
            return environ[match.group(1)]

        return _ENV.sub(replace, value)

    def route(
        self, value: Any, path: Location, parent: Route | None, names: set[str], default: str
    ) -> Route:
        data = self.mapping(value, path)
        self.known(data, ROUTE_KEYS, path)
        base = parent or Route(default)
        receiver = data.get("receiver", base.receiver)
        if receiver not in names:
            raise self.fail(
                (*path, "receiver"), f"no receiver {receiver!r}; known: {', '.join(sorted(names))}"
            )
        group_by = data.get("group_by", list(base.group_by))
        if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
            raise self.fail((*path, "group_by"), "expected a list of label names (or ['...'])")
        timings = {
            key: self.seconds(data[key], (*path, key)) if key in data else getattr(base, key)
            for key in ("group_wait", "group_interval", "repeat_interval")
        }
        for key in ("send_resolved", "continue"):
            if key in data and not isinstance(data[key], bool):
                raise self.fail((*path, key), "expected true or false")
        node = Route(
            receiver=receiver,
            matchers=self.matchers(data.get("matchers"), (*path, "matchers")),
            group_by=tuple(group_by),
            send_resolved=data.get("send_resolved", base.send_resolved),
            continue_=data.get("continue", False),
            group_wait=timings["group_wait"],
            group_interval=timings["group_interval"],
            repeat_interval=timings["repeat_interval"],
        )
        children = data.get("routes") or []
        if not isinstance(children, list):
            raise self.fail((*path, "routes"), "expected a list of routes")
        routes = tuple(
            self.route(child, (*path, "routes", i), node, names, default)
            for i, child in enumerate(children)
        )
        return replace(node, routes=routes)

    def inhibit(self, value: Any, path: Location) -> InhibitRule:
        data = self.mapping(value, path)
        self.known(data, {"source_matchers", "target_matchers", "equal"}, path)
        for key in ("source_matchers", "target_matchers"):
            if not data.get(key):
                raise self.fail((*path, key), "expected a non-empty list of matchers")
        equal = data.get("equal", [])
        if not isinstance(equal, list) or not all(isinstance(e, str) for e in equal):
            raise self.fail((*path, "equal"), "expected a list of label names")
        return InhibitRule(
            self.matchers(data["source_matchers"], (*path, "source_matchers")),
            self.matchers(data["target_matchers"], (*path, "target_matchers")),
            tuple(equal),
        )

    def delivery(self, value: Any, path: Location) -> DeliveryPolicy:
        data = self.mapping(value, path)
        self.known(data, {"retry_initial", "retry_max", "give_up_after"}, path)
        values = {k: self.seconds(v, (*path, k)) for k, v in data.items()}
        policy = DeliveryPolicy(**values)
        if policy.retry_initial <= 0 or policy.retry_max < policy.retry_initial:
            raise self.fail(path, "expected 0 < retry_initial <= retry_max")
        return policy
