"""A real Sightline server in a subprocess (uvicorn on a free 127.0.0.1 port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.conftest import ROOT, free_port, require


class ServerProcess:
    """``sightline serve`` as a child process; start, stop or kill it like an operator would."""

    def __init__(
        self, data_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None
    ):
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        command = [
            sys.executable, "-m", "sightline.cli.main", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port), *self.extra,
        ]  # fmt: skip
        self._log = log = self.log_path.open("ab")
        env = {**os.environ, "SIGHTLINE_LOG_LEVEL": "warning", **self.env}
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer: {self.log_path.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=30)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.url + path, timeout=120, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", tmp_path / "server.log", "--no-scheduler")
    process.start()
    try:
        yield process
    finally:
        process.stop()


#: Debian's Chromium, driven by Playwright with the flags of the developers' guide.
CHROMIUM = os.environ.get("SIGHTLINE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where the browser tests save their screenshots (a CI artifact).
SHOTS = ROOT / "artifacts" / "screenshots"


def require_chromium() -> None:
    """Skip on a laptop without Chromium; fail under CI=true (see tests.conftest.require)."""
    require(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module's tests (each opens its own pages)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
