"""Settings: one declarative table, read once at the edge (CLI, server) and passed down.

Each field of :class:`Settings` is a row of the table: its name, type and default, the
environment variable ``SIGHTLINE_<NAME>`` that overrides it, and a help text. Nothing below the
CLI and server reads ``os.environ``; they call :meth:`Settings.load` and hand the result on.

    >>> s = Settings.load(environ={"SIGHTLINE_PORT": "9000"})
    >>> s.port
    9000
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from sightline.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "setting"]

ENV_PREFIX = "SIGHTLINE_"


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A row of the settings table: default, help text, and the values it accepts."""
    return field(
        default=default,
        metadata={"help": help, "choices": choices, "minimum": minimum, "maximum": maximum},
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of Sightline. Override with ``SIGHTLINE_<NAME>`` or a CLI flag."""

    data_dir: Path = setting(
        Path("sightline-data"), "Directory of the embedded stores (DuckDB files)."
    )
    prediction_store: str = setting(
        "", "Prediction store URL (duckdb:///path.duckdb); empty = <data_dir>/predictions.duckdb."
    )
    metric_store: str = setting(
        "", "Metric store URL (duckdb:///path.duckdb); empty = <data_dir>/metrics.duckdb."
    )
    state_store: str = setting(
        "", "Alerting state store URL (duckdb:///path.duckdb); empty = <data_dir>/state.duckdb."
    )
    config: str = setting(
        "", "Path of the YAML config file (models, monitors, alerting); empty = defaults only."
    )
    host: str = setting("127.0.0.1", "Address the server listens on.")
    port: int = setting(8000, "Port the server listens on.", minimum=1, maximum=65535)
    url: str = setting(
        "http://127.0.0.1:8000",
        "Where the SDK and the CLI find a running Sightline server, and where the links of "
        "alerts and reports point (unless alerting.external_url says); default: host and port.",
    )
    api_key: str = setting("", "API key sent by the SDK and CLI (empty = none).")
    auth: bool = setting(
        False,
        "Require API keys with scopes on the HTTP API and a login on the dashboard "
        "(see docs/security.md).",
    )
    keys_file: str = setting(
        "", "File of the API keys (hashed) and the session secret; empty = <data_dir>/keys.json."
    )
    session_hours: float = setting(
        12.0, "How long a dashboard login lasts (hours).", minimum=0.01, maximum=24 * 90
    )
    granularity: str = setting(
        "1h",
        "Default window length of monitors: 5m, 15m, 1h, 1d or 1w.",
        choices=("5m", "15m", "1h", "1d", "1w"),
    )
    window_delay: float = setting(
        300.0, "Seconds to wait after a window closes before computing it (late data).", minimum=0
    )
    schedule_interval: float = setting(
        30.0,
        "Seconds between two scheduler passes over the models (0 disables the scheduler).",
        minimum=0,
    )
    catchup_days: float = setting(
        30.0,
        "How far back the scheduler looks for windows that were never computed (days).",
        minimum=0,
    )
    label_lookback_days: float = setting(
        30.0,
        "Windows this recent are recomputed when late data or ground truth arrives (days).",
        minimum=0,
    )
    retention_days: float = setting(
        0.0,
        "Delete raw predictions, ground truth, service events and quarantined records older "
        "than this many days, once a day (0: keep everything). Metric points are kept, and so "
        "are a model's first day and pinned reference ranges.",
        minimum=0,
    )
    alert_interval: float = setting(
        10.0,
        "Seconds between two alerting ticks: no-data rules, notification groups, delivery "
        "retries (0 disables the alerting thread).",
        minimum=0,
    )
    min_rows: int = setting(
        30, "Windows with fewer rows report insufficient data, not drift.", minimum=1
    )
    max_body_bytes: int = setting(
        64 * 1024 * 1024, "Largest ingest request body accepted (bytes).", minimum=1024
    )
    report_max_rows: int = setting(
        5_000_000, "Most predictions one report reads; a longer range is refused.", minimum=1
    )
    prometheus_max_columns: int = setting(
        100,
        "Most columns of a model's monitor whose metrics /metrics exports (the first by name); "
        "the others are counted in sightline_export_omitted. Bounds the series per model.",
        minimum=0,
    )
    prometheus_max_slices: int = setting(
        5,
        "Most slices (model versions, segments, event names) of a model's monitor exported at "
        "/metrics besides all data (the largest by rows).",
        minimum=0,
    )
    prometheus_refresh_interval: float = setting(
        30.0,
        "Seconds between two re-reads of the latest metric points and the outbox for "
        "/metrics (windows this process computes are taken when written; 0: only those, "
        "and one read at start).",
        minimum=0,
    )
    log_level: str = setting(
        "info",
        "Log level of the server: debug, info, warning, error.",
        choices=("debug", "info", "warning", "error"),
    )

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            env = ENV_PREFIX + f.name.upper()
            kind = hints[f.name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, value := float(value))
            if kind is Path and isinstance(value, str):
                object.__setattr__(self, f.name, value := Path(value))
            if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
                raise ConfigError(f"{env}: expected {kind.__name__}, got {value!r}")
            choices, low, high = (f.metadata[k] for k in ("choices", "minimum", "maximum"))
            if choices is not None and value not in choices:
                raise ConfigError(f"{env}: expected one of {', '.join(choices)}, got {value!r}")
            if isinstance(value, int | float):
                if value != value:
                    raise ConfigError(f"{env}: expected a number, got NaN")
                if low is not None and value < low:
                    raise ConfigError(f"{env}: must be at least {low:g}, got {value!r}")
                if high is not None and value > high:
                    raise ConfigError(f"{env}: must be at most {high:g}, got {value!r}")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from defaults, then ``environ`` (``SIGHTLINE_*``), then ``overrides``.

        ``overrides`` whose value is None are ignored, so CLI flags can be passed straight in.
        """
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            env = ENV_PREFIX + f.name.upper()
            if environ is not None and env in environ:
                values[f.name] = _parse(hints[f.name], environ[env], env)
        for name, value in overrides.items():
            if name not in hints:
                raise ConfigError(f"unknown setting '{name}'")
            if value is not None:
                values[name] = _parse(hints[name], value, name) if isinstance(value, str) else value
        if "url" not in values and ("host" in values or "port" in values):
            # A server on another address links to itself (alerts, reports), and the CLI finds it.
            host = values.get("host", cls.host)
            if host in ("0.0.0.0", "::", ""):
                host = "127.0.0.1"
            elif ":" in host:
                host = f"[{host}]"
            values["url"] = f"http://{host}:{values.get('port', cls.port)}"
        return cls(**values)

    @classmethod
    def table(cls) -> list[dict[str, str]]:
        """The settings table as rows (name, type, default, env, help), for docs and ``--help``."""
        hints = get_type_hints(cls)
        return [
            {
                "name": f.name,
                "type": getattr(hints[f.name], "__name__", str(hints[f.name])),
                "default": str(f.default),
                "env": ENV_PREFIX + f.name.upper(),
                "help": f.metadata["help"],
            }
            for f in dataclasses.fields(cls)
        ]

    @property
    def prediction_store_url(self) -> str:
        return self.prediction_store or f"duckdb:///{self.data_dir / 'predictions.duckdb'}"

    @property
    def metric_store_url(self) -> str:
        return self.metric_store or f"duckdb:///{self.data_dir / 'metrics.duckdb'}"

    @property
    def state_store_url(self) -> str:
        return self.state_store or f"duckdb:///{self.data_dir / 'state.duckdb'}"

    @property
    def keys_path(self) -> Path:
        return Path(self.keys_file) if self.keys_file else self.data_dir / "keys.json"


def _parse(kind: Any, raw: str, where: str) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind in (int, float, Path, str):
            return kind(raw)
    except ValueError:
        name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"{where}: expected {name}, got {raw!r}") from None
    raise ConfigError(f"{where}: unsupported setting type {kind!r}")
