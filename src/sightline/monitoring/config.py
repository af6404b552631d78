"""The configuration file: models, their monitors and references (and the alerting section).

    >>> config = parse_config('''
    ... models:
    ...   churn:
    ...     prediction_score: score
    ...     monitors:
    ...       - granularity: 1d
    ...         methods: {age: psi}
    ... ''')
    >>> config.models["churn"].monitors[0].granularity
    '1d'

Every problem is reported with the file, the line and the field (``sightline.yaml:7:
models.churn.monitors[0].granularity: unknown granularity '7m'; use one of ...``). The format is
described in docs/configuration.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightline.config import Settings
from sightline.errors import ConfigError, SightlineError, ValidationError
from sightline.metrics.drift import drift_method
from sightline.schema import GRANULARITIES, parse_time
from sightline.schema.monitors import SUITES, ModelConfig, Monitor, ReferenceSpec
from sightline.schema.yamldoc import YamlDoc

__all__ = [
    "SightlineConfig",
    "config_for",
    "load_config",
    "model_config_from_dict",
    "parse_config",
    "parse_duration",
]

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class SightlineConfig:
    """A parsed configuration file."""

    models: dict[str, ModelConfig] = field(default_factory=dict)
    defaults: ModelConfig = field(default_factory=lambda: ModelConfig("*"))
    alerting: Any = None  # the raw `alerting:` section, parsed by the alerting package
    doc: YamlDoc | None = None
    reports: Any = None  # the raw `reports:` section, parsed by monitoring.report_schedule

    def model(self, name: str) -> ModelConfig:
        """The configuration of ``name``: its own, else the defaults."""
        config = self.models.get(name)
        if config is not None:
            return config
        return ModelConfig(name, **{k: v for k, v in self.defaults.__dict__.items() if k != "name"})

    def to_dict(self) -> dict[str, Any]:
        return {
            "defaults": self.defaults.to_dict(),
            "models": {name: m.to_dict() for name, m in self.models.items()},
        }


def load_config(path: str | Path, base: Monitor | None = None) -> SightlineConfig:
    """Read and validate a configuration file; ``base`` is the monitor every monitor starts
    from (the server's settings: granularity, minimum rows)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the config file {file}: {error}") from None
    return parse_config(text, str(file), base)


def parse_config(
    text: str, source: str = "<config>", base: Monitor | None = None
) -> SightlineConfig:
    doc = YamlDoc.parse(text, source)
    return _Parser(doc, base or Monitor()).config()


def config_for(settings: Settings) -> SightlineConfig:
    """The config file named by the settings (or defaults only), over the settings' monitor
    (granularity, minimum rows)."""
    base = Monitor(granularity=settings.granularity, min_rows=settings.min_rows)
    if settings.config:
        return load_config(settings.config, base)
    return SightlineConfig(defaults=ModelConfig("*", monitors=(base,)))


def model_config_from_dict(
    name: str, data: Mapping[str, Any], base: Monitor | None = None
) -> ModelConfig:
    """One model's configuration from plain data (the HTTP API's JSON body), validated like the
    file's ``models.<name>`` section; what ``GET .../config`` returns is accepted too. A
    mistake raises ValidationError naming the field (``monitors[0].granularity``)."""
    body = {k: v for k, v in data.items() if not (k == "name" and v == name)}
    doc = YamlDoc.parse(json.dumps({"models": {name: body}}), "body")
    try:
        return _Parser(doc, base or Monitor()).config().models[name]
    except ConfigError as error:
        match = re.match(
            rf"^body(?::\d+)?: models\.{re.escape(name)}\.?(\S*): (.*)$", str(error), re.S
        )
        if match is None:
            raise ValidationError(str(error), field="body") from None
        field = match.group(1) or "body"
        raise ValidationError(match.group(2), field=field) from None


def _number(value: object) -> float | None:
    """A number, also from text such as "1e6" (YAML 1.1 reads that as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: object) -> float:
    """Seconds from ``300``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1w"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5m, 2h or 1d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as 5m, 2h or 1d, got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


MODEL_KEYS = {
    "task", "prediction_score", "prediction_label", "positive_label", "columns", "bounds",
    "reference", "monitors",
}  # fmt: skip
MONITOR_KEYS = {
    "name", "granularity", "reference", "suites", "min_rows", "drift_share", "methods",
    "thresholds", "segments", "top_segments", "delay",
}  # fmt: skip


class _Parser:
    def __init__(self, doc: YamlDoc, base: Monitor):
        self.doc = doc
        self.base = base

    def fail(self, path: Location, message: str) -> ConfigError:
        return self.doc.error(path, message)

    def mapping(self, value: Any, path: Location) -> Mapping[str, Any]:
        return self.doc.mapping(value, path)

    def known(self, data: Mapping[str, Any], keys: set[str], path: Location) -> None:
        self.doc.known(data, keys, path)

    def config(self) -> SightlineConfig:
        root = self.mapping(self.doc.data, ())
        self.known(root, {"defaults", "models", "alerting", "reports"}, ())
        defaults = self.model(
            "*", self.mapping(root.get("defaults"), ("defaults",)), ("defaults",), None
        )
        models = {}
        for name, data in self.mapping(root.get("models"), ("models",)).items():
            path: Location = ("models", name)
            if not isinstance(name, str) or not name.strip():
                raise self.fail(path, "a model name must be a non-empty string")
            models[name] = self.model(name, self.mapping(data, path), path, defaults)
        return SightlineConfig(
            models, defaults, root.get("alerting"), self.doc, reports=root.get("reports")
        )

    def model(
        self, name: str, data: Mapping[str, Any], path: Location, defaults: ModelConfig | None
    ) -> ModelConfig:
        self.known(data, MODEL_KEYS | (MONITOR_KEYS - {"name", "reference"}), path)
        task = data.get("task")
        if task is not None and task not in ("classification", "regression"):
            raise self.fail((*path, "task"), f"expected classification or regression, got {task!r}")
        for key in ("prediction_score", "prediction_label"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise self.fail((*path, key), "expected the name of an output column")
        columns = {}
        for column, role in self.mapping(data.get("columns"), (*path, "columns")).items():
            if role not in ("numerical", "categorical", "ignore"):
                raise self.fail(
                    (*path, "columns", column),
                    f"expected numerical, categorical or ignore, got {role!r}",
                )
            columns[str(column)] = role
        bounds = {}
        for column, pair in self.mapping(data.get("bounds"), (*path, "bounds")).items():
            where = (*path, "bounds", column)
            numbers = [_number(v) for v in pair] if isinstance(pair, list) else []
            low = numbers[0] if len(numbers) == 2 else None
            high = numbers[1] if len(numbers) == 2 else None
            if low is None or high is None:
                raise self.fail(where, "expected [low, high], two numbers")
            if low >= high:
                raise self.fail(where, f"low ({pair[0]}) must be below high ({pair[1]})")
            bounds[str(column)] = (low, high)
        reference = (
            self.reference(data["reference"], (*path, "reference"))
            if "reference" in data
            else (defaults.monitors[0].reference if defaults else self.base.reference)
        )
        shorthand = {k: v for k, v in data.items() if k in MONITOR_KEYS - {"name", "reference"}}
        base = defaults.monitors[0] if defaults is not None else self.base
        if "monitors" in data:
            if shorthand:
                first = next(iter(shorthand))
                raise self.fail(
                    (*path, first),
                    f"'{first}' belongs inside one of the monitors when 'monitors' is given",
                )
            items = data["monitors"]
            if not isinstance(items, list) or not items:
                raise self.fail((*path, "monitors"), "expected a non-empty list of monitors")
            monitors = tuple(
                self.monitor(
                    self.mapping(m, (*path, "monitors", i)),
                    (*path, "monitors", i),
                    reference,
                    i,
                    base,
                )
                for i, m in enumerate(items)
            )
            names = [m.name for m in monitors]
            for i, monitor_name in enumerate(names):
                if names.index(monitor_name) != i:
                    raise self.fail(
                        (*path, "monitors", i, "name"), f"two monitors are named '{monitor_name}'"
                    )
        elif shorthand or defaults is None:
            monitors = (self.monitor(shorthand, path, reference, 0, base),)
        else:
            monitors = tuple(
                Monitor(**{**m.__dict__, "reference": reference}) for m in defaults.monitors
            )
        return ModelConfig(
            name=name,
            monitors=monitors,
            task=task,
            prediction_score=data.get("prediction_score"),
            prediction_label=data.get("prediction_label"),
            positive_label=data.get("positive_label"),
            columns=columns,
            bounds=bounds,
        )

    def monitor(
        self,
        data: Mapping[str, Any],
        path: Location,
        reference: ReferenceSpec,
        index: int,
        base: Monitor,
    ) -> Monitor:
        """A monitor: ``data`` over ``base`` (the defaults' first monitor)."""
        self.known(data, MONITOR_KEYS, path)
        values: dict[str, Any] = dict(base.__dict__)
        values["name"] = str(data.get("name", "default" if index == 0 else f"monitor-{index}"))
        if "granularity" in data:
            if data["granularity"] not in GRANULARITIES:
                known = ", ".join(GRANULARITIES)
                raise self.fail(
                    (*path, "granularity"),
                    f"unknown granularity {data['granularity']!r}; use one of {known}",
                )
            values["granularity"] = data["granularity"]
        values["reference"] = (
            self.reference(data["reference"], (*path, "reference"))
            if "reference" in data
            else reference
        )
        if "suites" in data:
            suites = data["suites"]
            if not isinstance(suites, list) or not suites:
                raise self.fail(
                    (*path, "suites"), f"expected a list from: {', '.join(sorted(SUITES))}"
                )
            for i, suite in enumerate(suites):
                if suite not in SUITES:
                    raise self.fail(
                        (*path, "suites", i),
                        f"unknown suite {suite!r}; use: {', '.join(sorted(SUITES))}",
                    )
            values["suites"] = frozenset(suites)
        for key, low in (("min_rows", 1), ("top_segments", 1)):
            if key in data:
                if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < low:
                    raise self.fail((*path, key), f"expected a whole number of at least {low}")
                values[key] = data[key]
        if "drift_share" in data:
            share = data["drift_share"]
            if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
                raise self.fail((*path, "drift_share"), "expected a share in (0, 1]")
            values["drift_share"] = float(share)
        methods = {}
        for column, method in self.mapping(data.get("methods"), (*path, "methods")).items():
            if not isinstance(method, str):
                raise self.fail((*path, "methods", column), "expected the name of a drift method")
            try:
                drift_method(str(method))
            except SightlineError as error:
                raise self.fail((*path, "methods", column), str(error).split(": ", 1)[-1]) from None
            methods[str(column)] = str(method)
        values["methods"] = {**base.methods, **methods}
        thresholds = {}
        for column, value in self.mapping(data.get("thresholds"), (*path, "thresholds")).items():
            number = _number(value)
            if number is None:
                raise self.fail((*path, "thresholds", column), "expected a number")
            thresholds[str(column)] = number
        values["thresholds"] = {**base.thresholds, **thresholds}
        if "segments" in data:
            segments = data["segments"]
            if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
                raise self.fail((*path, "segments"), "expected a list of column names")
            values["segments"] = tuple(segments)
        if "delay" in data and data["delay"] is not None:
            try:
                values["delay"] = parse_duration(data["delay"])
            except ValueError as error:
                raise self.fail((*path, "delay"), str(error)) from None
        return Monitor(**values)

    def _long_form(self, data: Mapping[str, Any], path: Location) -> dict[str, Any]:
        kind = data["kind"]
        extra = {k: v for k, v in data.items() if k != "kind"}
        if kind == "dataset":
            return {"dataset": extra.get("name", "default")}
        if kind == "range":
            return {"range": extra}
        if kind == "previous_window":
            return {"previous_window": True}
        if kind == "trailing_windows":
            return {"trailing_windows": extra.get("windows")}
        if kind == "previous_version":
            return {"previous_version": extra or True}
        raise self.fail((*path, "kind"), f"unknown reference kind {kind!r}")

    def reference(self, value: object, path: Location) -> ReferenceSpec:
        if isinstance(value, str):
            return ReferenceSpec("dataset", name=value)
        data = self.mapping(value, path)
        if "kind" in data:  # the long form, as the API returns it: {"kind": "range", "from": ...}
            data = self._long_form(data, path)
        kinds = {"dataset", "range", "previous_window", "trailing_windows", "previous_version"}
        self.known(data, kinds, path)
        if len(data) != 1:
            raise self.fail(path, f"give exactly one of: {', '.join(sorted(kinds))}")
        kind, spec = next(iter(data.items()))
        where = (*path, kind)
        if kind == "dataset":
            if not isinstance(spec, str) or not spec:
                raise self.fail(where, "expected the name of an uploaded reference dataset")
            return ReferenceSpec("dataset", name=spec)
        if kind == "range":
            bounds = self.mapping(spec, where)
            self.known(bounds, {"from", "to"}, where)
            for side in ("from", "to"):
                if bounds.get(side) is None:
                    raise self.fail((*where, side), f"'{side}' is required")
            try:
                start = parse_time(bounds.get("from"), "from")
                end = parse_time(bounds.get("to"), "to")
            except SightlineError as error:
                field_name = getattr(error, "field", None) or "from"
                raise self.fail(
                    (*where, field_name), getattr(error, "message", str(error))
                ) from None
            if end <= start:
                raise self.fail((*where, "to"), "'to' must be after 'from'")
            return ReferenceSpec("range", start=start, end=end)
        if kind == "previous_window":
            if spec is not True:
                raise self.fail(where, "write previous_window: true")
            return ReferenceSpec("previous_window")
        if kind == "trailing_windows":
            if not isinstance(spec, int) or isinstance(spec, bool) or spec < 1:
                raise self.fail(where, "expected the number of windows (at least 1)")
            return ReferenceSpec("trailing_windows", windows=spec)
        days = 7.0
        if isinstance(spec, Mapping):
            self.known(spec, {"days"}, where)
            value = spec.get("days", 7)
            try:
                # A number is days; a duration ("36h", "2d") is converted to days.
                days = (
                    float(value)
                    if isinstance(value, int | float) and not isinstance(value, bool)
                    else parse_duration(value) / 86400
                )
            except ValueError as error:
                raise self.fail((*where, "days"), str(error)) from None
            if not days > 0:
                raise self.fail(
                    (*where, "days"), f"expected a positive number of days, got {value!r}"
                )
        elif spec is not True:
            raise self.fail(where, "write previous_version: true or previous_version: {days: 7}")
        return ReferenceSpec("previous_version", days=days)
