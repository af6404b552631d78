"""Public names: every package's ``__all__`` is sorted and names what the module defines."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import sightline

MODULES = [
    "sightline",
    *sorted(m.name for m in pkgutil.walk_packages(sightline.__path__, "sightline.")),
]


def isort_style(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions (ruff's RUF022 order)."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name: str):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert list(exported) == sorted(exported, key=isort_style), f"{name}.__all__ is not sorted"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_import_sightline_is_light():
    code = (
        "import sys, sightline; "
        "heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'duckdb', 'httpx', 'scipy', 'fastapi') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import sightline pulled in: {out.stdout.strip()}"
