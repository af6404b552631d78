"""Shared fixtures. A test that needs a missing component skips on a laptop and fails in CI."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sightline.config import Settings

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def require(available: bool, reason: str) -> None:
    """Skip (on a laptop) or fail (under CI=true) when a component is missing."""
    if available:
        return
    if CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data directory, scheduler off (tests drive windows themselves)."""
    return Settings.load(data_dir=tmp_path / "data", schedule_interval=0.0, port=free_port())


@pytest.fixture
def shared_data() -> Path:
    path = SHARED / "data"
    require(path.is_dir(), f"the shared datasets are missing at {path}")
    return path
