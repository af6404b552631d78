"""Metric series for the dashboard's charts, from the metric store's Arrow tables: points
grouped into series with arrays (and chosen detail fields), the worst column of each window,
finer windows averaged into coarser ones.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sightline.schema import GRANULARITIES

__all__ = ["ISSUE_METRICS", "averaged", "detail_series", "epoch_seconds", "issue_series"]

#: Data-quality metrics of the issues panel: per column (the worst is kept) and whole-table.
ISSUE_METRICS = (
    "missing_share", "out_of_range_share", "unseen_share", "duplicated_rows_share",
    "schema_changes",
)  # fmt: skip


def epoch_seconds(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp column (microseconds) as epoch seconds."""
    micros = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(micros, dtype=np.int64) // 1_000_000


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    return np.asarray(encoded.indices, dtype=np.int64), encoded.dictionary.to_pylist()


def _values(table: pa.Table) -> np.ndarray:
    return np.asarray(
        pc.fill_null(table.column("value"), np.nan).to_numpy(zero_copy_only=False), np.float64
    )


def detail_series(table: pa.Table, fields: list[str]) -> list[dict[str, Any]]:
    """Points of one slice grouped into series (metric, column), each with arrays of window
    starts (epoch seconds), values, row counts and the detail ``fields`` asked for."""
    n = table.num_rows
    if n == 0:
        return []
    starts = epoch_seconds(table.column("window_start"))
    metrics, metric_names = _codes(table.column("metric"))
    columns, column_names = _codes(table.column("column"))
    order = np.lexsort((starts, columns, metrics))
    values = _values(table)[order]
    rows = np.asarray(table.column("n_rows").to_numpy(zero_copy_only=False), np.int64)[order]
    starts, metrics, columns = starts[order], metrics[order], columns[order]
    details: list[dict[str, Any]] = []
    if fields:
        raw = table.column("details").to_pylist()
        details = [orjson.loads(raw[i]) if raw[i] else {} for i in order.tolist()]
    change = np.ones(n, dtype=bool)
    change[1:] = (metrics[1:] != metrics[:-1]) | (columns[1:] != columns[:-1])
    bounds = [*np.flatnonzero(change).tolist(), n]
    series = []
    for low, high in itertools.pairwise(bounds):
        series.append(
            {
                "metric": metric_names[metrics[low]],
                "column": column_names[columns[low]],
                "start": starts[low:high],
                "value": values[low:high],
                "n_rows": rows[low:high],
                "fields": {f: [d.get(f) for d in details[low:high]] for f in fields},
            }
        )
    return series


#: Weeks start on Monday 5 January 1970 (epoch seconds).
_MONDAY = 4 * 86400


def averaged(series: list[dict[str, Any]], granularity: str) -> list[dict[str, Any]]:
    """Series of finer windows as series of ``granularity``: the value of each coarse window
    is the mean of its fine windows' values weighted by their rows (exact for shares such as
    an error rate or an estimated accuracy, an approximation for quantiles), its rows their
    sum. The series are marked ``approximate``."""
    seconds = GRANULARITIES[granularity]
    anchor = _MONDAY if granularity == "1w" else 0
    out = []
    for s in series:
        starts = np.asarray(s["start"], np.int64)
        if not len(starts):
            continue
        values = np.asarray(s["value"], np.float64)
        rows = np.asarray(s["n_rows"], np.int64)
        keys = (starts - anchor) // seconds * seconds + anchor
        bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        present = ~np.isnan(values)
        weights = np.where(present, np.maximum(rows, 1), 0).astype(np.float64)
        total = np.add.reduceat(weights, bounds)
        weighted = np.add.reduceat(np.where(present, values * weights, 0.0), bounds)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(total > 0, weighted / np.where(total > 0, total, 1), np.nan)
        out.append(
            {
                **s,
                "start": keys[bounds],
                "value": value,
                "n_rows": np.add.reduceat(rows, bounds),
                "fields": {},
                "granularity": granularity,
                "approximate": True,
                "from_granularity": s.get("granularity"),
            }
        )
    return out


def issue_series(table: pa.Table) -> dict[str, Any]:
    """The data-quality panel's series from :meth:`MetricStore.query_worst`'s table: per
    metric, the windows, the worst value over the columns and the column having it (an index
    into ``columns``, -1 for none)."""
    if table.num_rows == 0:
        return {"columns": [], "series": []}
    starts = np.asarray(table.column("start").to_numpy(), dtype=np.int64)
    metrics, metric_names = _codes(table.column("metric"))
    encoded = pc.dictionary_encode(table.column("column")).combine_chunks()
    columns = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
    values = _values(table)
    counts = np.asarray(table.column("n_columns").to_numpy(), dtype=np.int64)
    series = []
    for code in np.unique(metrics).tolist():
        mask = metrics == code
        series.append(
            {
                "metric": metric_names[code],
                "start": starts[mask],
                "value": values[mask],
                "column": columns[mask],
                "n_columns": counts[mask],
            }
        )
    series.sort(key=lambda s: ISSUE_METRICS.index(s["metric"]))
    return {"columns": encoded.dictionary.to_pylist(), "series": series}
