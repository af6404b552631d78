"""What the CLI commands share: settings from flags, the server's API, local stores, tables.

Exit codes: 0 success, 1 a job or check failed, 2 bad usage or configuration, 3 the server or
the store could not be reached.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sightline.config import Settings
from sightline.errors import ConfigError, SightlineError, TransportError, ValidationError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "add_location",
    "api",
    "auth_headers",
    "local_stores",
    "print_table",
    "server_up",
    "settings_from",
    "stores",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def add_location(
    parser: argparse.ArgumentParser, server: bool = False, data_dir: str = "./sightline-data"
) -> None:
    """The flags that say where the data is: ``--data-dir``, ``--url`` (and, for commands that
    start a server, ``--host``, ``--port``, ``--config``)."""
    parser.add_argument(
        "--data-dir", type=Path, help=f"directory of the embedded stores (default {data_dir})"
    )
    parser.add_argument(
        "--url", help="URL of a running Sightline server (default http://127.0.0.1:8000)"
    )
    parser.add_argument("--config", help="the YAML config file (models, monitors, alerting)")
    if server:
        parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port to listen on (default 8000)")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.load(
        os.environ,
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        url=getattr(args, "url", None),
        config=getattr(args, "config", None),
    )


def server_up(settings: Settings) -> bool:
    import httpx  # lazy: only commands that talk to a server pay for it

    try:
        return httpx.get(settings.url.rstrip("/") + "/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def auth_headers(settings: Settings) -> dict[str, str]:
    """The API key of the settings as a bearer token, when there is one."""
    return {"authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}


def api(settings: Settings, method: str, path: str, **kwargs: Any) -> Any:
    """Call the server's HTTP API; its errors become SightlineErrors with its message."""
    import httpx

    try:
        response = httpx.request(
            method,
            settings.url.rstrip("/") + path,
            headers=auth_headers(settings),
            timeout=600.0,
            **kwargs,
        )
    except httpx.HTTPError as error:
        raise TransportError(
            f"cannot reach the Sightline server at {settings.url}: {error}"
        ) from error
    is_json = response.headers.get("content-type", "").startswith("application/json")
    body = response.json() if is_json else {}
    if response.status_code >= 400:
        message = (
            body.get("message", response.text[:500]) if isinstance(body, dict) else response.text
        )
        if response.status_code in (404, 413, 422):
            raise ValidationError(message)
        raise SightlineError(f"HTTP {response.status_code}: {message}")
    return body


def local_stores(settings: Settings) -> tuple[Any, Any]:
    """The stores of the data directory, opened directly (no server is using them)."""
    from sightline.store import open_metric_store, open_prediction_store

    if not settings.prediction_store and not settings.data_dir.is_dir():
        raise ConfigError(
            f"no data directory at {settings.data_dir} and no server answering at {settings.url}; "
            "pass --data-dir or --url"
        )
    predictions = open_prediction_store(settings.prediction_store_url)
    try:
        metrics = open_metric_store(settings.metric_store_url)
    except BaseException:
        predictions.close()
        raise
    return predictions, metrics


@contextmanager
def stores(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """The data directory's prediction and metric stores, closed on the way out."""
    predictions, metrics = local_stores(settings)
    try:
        yield predictions, metrics
    finally:
        predictions.close()
        metrics.close()


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
