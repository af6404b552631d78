"""Store URLs: DuckDB settings as query parameters of the prediction store's URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.errors import ConfigError
from sightline.store import open_metric_store, open_prediction_store


def test_duckdb_settings_in_the_url_apply_to_the_prediction_store(tmp_path: Path) -> None:
    store = open_prediction_store(f"duckdb:///{tmp_path / 'p.duckdb'}?memory_limit=300MB")
    try:
        with store.db.reading() as con:  # type: ignore[attr-defined]
            [(limit,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()
        assert limit.endswith("MiB")
        assert float(limit.split()[0]) < 300
    finally:
        store.close()


@pytest.mark.parametrize("query", ["memory_limit=lots", "no_such_setting=1"])
def test_a_bad_setting_is_a_config_error(tmp_path: Path, query: str) -> None:
    with pytest.raises(ConfigError, match="DuckDB option"):
        open_prediction_store(f"duckdb:///{tmp_path / 'p.duckdb'}?{query}")


def test_other_stores_refuse_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prediction store only"):
        open_metric_store(f"duckdb:///{tmp_path / 'm.duckdb'}?memory_limit=1GB")
    with pytest.raises(ConfigError, match="unsupported store URL"):
        open_prediction_store("postgres://somewhere/db")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("duckdb:///sightline-data/p.duckdb", Path("sightline-data/p.duckdb")),
        ("duckdb:////srv/sightline/p.duckdb", Path("/srv/sightline/p.duckdb")),
        ("duckdb:///p.duckdb?memory_limit=1GB", Path("p.duckdb")),
    ],
)
def test_three_slashes_then_the_path_as_written(url: str, path: Path) -> None:
    from sightline.store import _duckdb_target

    assert _duckdb_target(url)[0] == path
