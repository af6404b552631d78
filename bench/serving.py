"""What the benchmarks that talk HTTP share: a free port and a real ``sightline serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``sightline serve --no-scheduler`` on ``data_dir`` (extra ``SIGHTLINE_*`` variables in
    ``env``), once it answers: its URL and process; stopped on the way out."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sightline.cli.main", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--no-scheduler"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "SIGHTLINE_LOG_LEVEL": "warning",
             **env},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped (exit code {server.returncode})")
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)
