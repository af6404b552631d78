"""The embedded DuckDB backend of the metric store: metric points, window summaries, job runs
and leases.

Points are one long table keyed by model, monitor, granularity, window, version, segment,
metric and column. Recomputing a window replaces its points and summaries in one transaction,
so readers never see a half-written window and nothing is ever duplicated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sightline.schema import JobRun, MetricPoint, Window, WindowSummary
from sightline.schema.monitors import ModelConfig
from sightline.store.base import TS, PointFilter, naive_utc
from sightline.store.duckdb import Database, aware_utc

__all__ = ["DuckDBMetricStore"]

POINT_COLUMNS = (
    'model VARCHAR, model_version VARCHAR, monitor VARCHAR, metric VARCHAR, "column" VARCHAR,'
    " segment_key VARCHAR, segment_value VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP,"
    " granularity VARCHAR, value DOUBLE, n_rows BIGINT, details JSON, computed_at TIMESTAMP"
)
SUMMARY_COLUMNS = (
    "model VARCHAR, monitor VARCHAR, granularity VARCHAR, window_start TIMESTAMP,"
    " window_end TIMESTAMP, model_version VARCHAR, segment_key VARCHAR, segment_value VARCHAR,"
    ' "column" VARCHAR, reference VARCHAR, data JSON'
)
RUN_COLUMNS = (
    "model VARCHAR, monitor VARCHAR, granularity VARCHAR, window_start TIMESTAMP,"
    " window_end TIMESTAMP, status VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,"
    " n_rows BIGINT, error VARCHAR, trigger VARCHAR"
)
#: What identifies a series of points, in :meth:`DuckDBMetricStore.query_series` order.
#: The keys of a :class:`PointFilter` that are columns of ``metric_points`` (times aside).
SLICE_KEYS = (
    "column", "granularity", "model_version", "monitor", "segment_key", "segment_value",
)  # fmt: skip
SERIES_KEY = (
    "metric", "column", "model_version", "segment_key", "segment_value", "monitor", "granularity",
)  # fmt: skip
#: The columns of :meth:`DuckDBMetricStore.query_table`, in order.
TABLE_COLUMNS = (
    "window_start", "window_end", "granularity", "monitor", "model_version", "segment_key",
    "segment_value", "metric", "column", "value", "n_rows",
)  # fmt: skip


def _points_table(points: Sequence[MetricPoint], now: datetime) -> pa.Table:
    return pa.table(
        {
            "model": pa.array([p.model for p in points], pa.string()),
            "model_version": pa.array([p.model_version for p in points], pa.string()),
            "monitor": pa.array([p.monitor for p in points], pa.string()),
            "metric": pa.array([p.metric for p in points], pa.string()),
            "column": pa.array([p.column for p in points], pa.string()),
            "segment_key": pa.array([p.segment_key for p in points], pa.string()),
            "segment_value": pa.array([p.segment_value for p in points], pa.string()),
            "window_start": pa.array([naive_utc(p.window_start) for p in points], TS),
            "window_end": pa.array([naive_utc(p.window_end) for p in points], TS),
            "granularity": pa.array([p.granularity for p in points], pa.string()),
            "value": pa.array([p.value for p in points], pa.float64()),
            "n_rows": pa.array([p.n_rows for p in points], pa.int64()),
            "details": pa.array([json.dumps(p.details, default=str) for p in points], pa.string()),
            "computed_at": pa.array([now] * len(points), TS),
        }
    )


def _summaries_table(summaries: Sequence[WindowSummary]) -> pa.Table:
    return pa.table(
        {
            "model": pa.array([s.model for s in summaries], pa.string()),
            "monitor": pa.array([s.monitor for s in summaries], pa.string()),
            "granularity": pa.array([s.granularity for s in summaries], pa.string()),
            "window_start": pa.array([naive_utc(s.window_start) for s in summaries], TS),
            "window_end": pa.array([naive_utc(s.window_end) for s in summaries], TS),
            "model_version": pa.array([s.model_version for s in summaries], pa.string()),
            "segment_key": pa.array([s.segment_key for s in summaries], pa.string()),
            "segment_value": pa.array([s.segment_value for s in summaries], pa.string()),
            "column": pa.array([s.column for s in summaries], pa.string()),
            "reference": pa.array([s.reference for s in summaries], pa.string()),
            "data": pa.array([json.dumps(s.data) for s in summaries], pa.string()),
        }
    )


class DuckDBMetricStore:
    """Metric store in an embedded DuckDB file."""

    def __init__(self, path: Path):
        self.db = Database(path)
        with self.db.transaction() as con:
            con.execute(f"CREATE TABLE IF NOT EXISTS metric_points ({POINT_COLUMNS})")
            con.execute(f"CREATE TABLE IF NOT EXISTS window_summaries ({SUMMARY_COLUMNS})")
            con.execute(f"CREATE TABLE IF NOT EXISTS job_runs ({RUN_COLUMNS})")
            # Files written before runs had a trigger get the column (migrations add, never drop).
            con.execute("ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS trigger VARCHAR")
            con.execute(
                "CREATE TABLE IF NOT EXISTS leases (name VARCHAR PRIMARY KEY, owner VARCHAR,"
                " expires_at TIMESTAMP)"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS model_configs (model VARCHAR PRIMARY KEY,"
                " config JSON, updated_at TIMESTAMP)"
            )

    # -- points -----------------------------------------------------------------------------

    def replace_window(
        self,
        model: str,
        monitor: str,
        window: Window,
        points: Sequence[MetricPoint],
        summaries: Sequence[WindowSummary] = (),
    ) -> None:
        key = [model, monitor, window.granularity, naive_utc(window.start)]
        where = "model = ? AND monitor = ? AND granularity = ? AND window_start = ?"
        with self.db.transaction() as con:
            con.execute(f"DELETE FROM metric_points WHERE {where}", key)
            con.execute(f"DELETE FROM window_summaries WHERE {where}", key)
            if points:
                _insert(con, "metric_points", _points_table(points, naive_utc(datetime.now(UTC))))
            if summaries:
                _insert(con, "window_summaries", _summaries_table(summaries))

    def _where(
        self, model: str, filters: PointFilter, metrics: Sequence[str] | None = None
    ) -> tuple[str, list[Any]]:
        """The SQL condition (and its parameters) of ``model``'s points that pass ``filters``
        and, when given, have one of ``metrics``."""
        where: list[str] = ["model = ?"]
        params: list[Any] = [model]
        for name in SLICE_KEYS:
            value = filters.get(name)
            if value is not None:
                where.append(f'"{name}" = ?')
                params.append(value)
        if metrics:
            where.append(f"metric IN ({', '.join('?' for _ in metrics)})")
            params.extend(metrics)
        start, end = filters.get("start"), filters.get("end")
        if start is not None:
            where.append("window_start >= ?")
            params.append(naive_utc(start))
        if end is not None:
            where.append("window_end <= ?")
            params.append(naive_utc(end))
        return " AND ".join(where), params

    def query(
        self,
        model: str,
        *,
        metric: str | None = None,
        **filters: Unpack[PointFilter],
    ) -> list[MetricPoint]:
        where, params = self._where(model, filters, [metric] if metric is not None else None)
        sql = (
            "SELECT model, metric, window_start, window_end, granularity, value, n_rows,"
            ' "column", model_version, monitor, segment_key, segment_value, details'
            f' FROM metric_points WHERE {where} ORDER BY window_start, metric, "column"'
        )
        with self.db.reading() as con:
            rows = con.execute(sql, params).fetchall()
        return [
            MetricPoint(
                model=r[0],
                metric=r[1],
                window_start=aware_utc(r[2]),
                window_end=aware_utc(r[3]),
                granularity=r[4],
                value=r[5],
                n_rows=r[6],
                column=r[7],
                model_version=r[8],
                monitor=r[9],
                segment_key=r[10],
                segment_value=r[11],
                details=json.loads(r[12]) if r[12] else {},
            )
            for r in rows
        ]

    def query_table(
        self,
        model: str,
        *,
        metrics: Sequence[str] | None = None,
        details: bool = False,
        **filters: Unpack[PointFilter],
    ) -> pa.Table:
        """The same points as :meth:`query`, as one Arrow table (fast for long series)."""
        where, params = self._where(model, filters, metrics)
        selected = ", ".join(f'"{c}"' for c in TABLE_COLUMNS) + (", details" if details else "")
        sql = (
            f"SELECT {selected} FROM metric_points WHERE {where}"
            ' ORDER BY window_start, metric, "column", segment_key, segment_value'
        )
        with self.db.reading() as con:
            return con.sql(sql, params=params).to_arrow_table()

    def query_worst(
        self,
        model: str,
        *,
        metrics: Sequence[str],
        **filters: Unpack[PointFilter],
    ) -> pa.Table:
        where, params = self._where(model, filters, metrics)
        known = "value IS NOT NULL AND NOT isnan(value)"
        sql = (
            "SELECT metric, epoch(window_start)::BIGINT AS start,"
            f" max(value) FILTER (WHERE {known}) AS value,"
            f' first("column" ORDER BY value DESC, "column") FILTER (WHERE {known}) AS "column",'
            " count(*) AS n_columns"
            f" FROM metric_points WHERE {where}"
            " GROUP BY metric, window_start ORDER BY metric, window_start"
        )
        with self.db.reading() as con:
            return con.sql(sql, params=params).to_arrow_table()

    def query_series(
        self,
        model: str,
        *,
        metrics: Sequence[str] | None = None,
        **filters: Unpack[PointFilter],
    ) -> pa.Table:
        """Points ordered by series (metric, column, version, segment, monitor, granularity),
        then time, with ``start`` in epoch seconds: what charts of long ranges need.

        The distinct series are looked up first; only the key columns that differ between them
        are read per point and sorted on (usually just the column), the others are constant."""
        where, params = self._where(model, filters, metrics)
        keys = ", ".join(f'"{k}"' for k in SERIES_KEY)
        with self.db.reading() as con:
            distinct = con.sql(
                f"SELECT DISTINCT {keys} FROM metric_points WHERE {where}", params=params
            ).to_arrow_table()
            varying = [k for k in SERIES_KEY if len(pc.unique(distinct.column(k))) > 1]
            order = ", ".join([*(f'"{k}"' for k in varying), "window_start"])
            selected = ", ".join([*(f'"{k}"' for k in varying), ""])
            table = con.sql(
                f"SELECT {selected}CAST(epoch(window_start) AS BIGINT) AS start, value, n_rows"
                f" FROM metric_points WHERE {where} ORDER BY {order}",
                params=params,
            ).to_arrow_table()
        n = table.num_rows
        for key in SERIES_KEY:
            if key not in varying:
                value = distinct.column(key)[0].as_py() if distinct.num_rows else ""
                constant = pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
                )
                table = table.append_column(key, constant)
        return table

    # -- summaries --------------------------------------------------------------------------

    def summaries(
        self,
        model: str,
        monitor: str,
        granularity: str,
        start: datetime,
        end: datetime,
    ) -> list[WindowSummary]:
        """Stored summaries of the windows in ``[start, end)``, oldest first."""
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT window_start, window_end, model_version, segment_key, segment_value,"
                ' "column", reference, data FROM window_summaries WHERE model = ? AND monitor = ?'
                " AND granularity = ? AND window_start >= ? AND window_start < ?"
                ' ORDER BY window_start, "column"',
                [model, monitor, granularity, naive_utc(start), naive_utc(end)],
            ).fetchall()
        return [
            WindowSummary(
                model,
                monitor,
                granularity,
                aware_utc(r[0]),
                aware_utc(r[1]),
                r[5],
                r[6],
                json.loads(r[7]),
                r[2],
                r[3],
                r[4],
            )
            for r in rows
        ]

    # -- runs -------------------------------------------------------------------------------

    def record_run(self, run: JobRun) -> None:
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO job_runs (model, monitor, granularity, window_start, window_end,"
                " status, started_at, finished_at, n_rows, error, trigger)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run.model,
                    run.monitor,
                    run.granularity,
                    naive_utc(run.window_start),
                    naive_utc(run.window_end),
                    run.status,
                    naive_utc(run.started_at),
                    naive_utc(run.finished_at),
                    run.n_rows,
                    run.error,
                    run.trigger,
                ],
            )

    def runs(self, model: str, limit: int = 100, monitor: str | None = None) -> list[JobRun]:
        where, params = "model = ?", [model]
        if monitor is not None:
            where += " AND monitor = ?"
            params.append(monitor)
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT model, monitor, granularity, window_start, window_end, status, started_at,"
                f" finished_at, n_rows, error, trigger FROM job_runs WHERE {where}"
                " ORDER BY finished_at DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [
            JobRun(
                r[0],
                r[1],
                r[2],
                aware_utc(r[3]),
                aware_utc(r[4]),
                r[5],
                aware_utc(r[6]),
                aware_utc(r[7]),
                r[8],
                r[9],
                r[10] or "",
            )
            for r in rows
        ]

    def computed_windows(
        self, model: str, granularity: str, since: datetime, monitor: str | None = None
    ) -> set[datetime]:
        return set(self.last_computed(model, granularity, since, monitor))

    def last_computed(
        self, model: str, granularity: str, since: datetime, monitor: str | None = None
    ) -> dict[datetime, datetime]:
        """Start → start time of the latest successful run, for windows since ``since``."""
        where, params = (
            "model = ? AND granularity = ? AND window_start >= ?",
            [
                model,
                granularity,
                naive_utc(since),
            ],
        )
        if monitor is not None:
            where += " AND monitor = ?"
            params.append(monitor)
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT window_start, max(started_at) FROM job_runs"
                f" WHERE {where} AND status <> 'error' GROUP BY window_start",
                params,
            ).fetchall()
        return {aware_utc(r[0]): aware_utc(r[1]) for r in rows}

    # -- leases -----------------------------------------------------------------------------

    def acquire_lease(self, name: str, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Take (or renew) the lease ``name`` for ``owner`` unless someone else holds it."""
        with self.db.transaction() as con:
            rows = con.execute(
                "SELECT owner, expires_at FROM leases WHERE name = ?", [name]
            ).fetchall()
            if rows and rows[0][0] != owner and aware_utc(rows[0][1]) > now:
                return False
            con.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
                [name, owner, naive_utc(now + ttl)],
            )
            return True

    def release_lease(self, name: str, owner: str) -> None:
        with self.db.transaction() as con:
            con.execute("DELETE FROM leases WHERE name = ? AND owner = ?", [name, owner])

    # -- model configuration set at run time ---------------------------------------------------

    def save_model_config(self, config: ModelConfig) -> None:
        with self.db.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO model_configs VALUES (?, ?, ?)",
                [config.name, json.dumps(config.to_dict()), naive_utc(datetime.now(UTC))],
            )

    def delete_model_config(self, model: str) -> None:
        with self.db.transaction() as con:
            con.execute("DELETE FROM model_configs WHERE model = ?", [model])

    def model_configs(self) -> list[ModelConfig]:
        with self.db.reading() as con:
            rows = con.execute("SELECT config FROM model_configs ORDER BY model").fetchall()
        return [ModelConfig.from_dict(json.loads(r[0])) for r in rows]

    def models(self) -> list[str]:
        with self.db.reading() as con:
            rows = con.execute("SELECT DISTINCT model FROM metric_points ORDER BY model").fetchall()
        return [r[0] for r in rows]

    def export(self, directory: Path) -> None:
        self.db.export(directory)

    def close(self) -> None:
        self.db.close()


def _insert(con: Any, table: str, data: pa.Table) -> None:
    con.register("sl_batch", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM sl_batch")
    finally:
        con.unregister("sl_batch")
