"""The embedded DuckDB backend of the prediction store (the metric store is in metrics_duckdb).

One file per store, owned by one process (the server). Each model gets a predictions table and
a feedback table whose columns follow its pinned schema; a schema change adds columns, it never
rewrites them. Writes are transactions: when :meth:`DuckDBPredictionStore.write` returns, the
data is in DuckDB's write-ahead log on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ConfigError, NotFoundError, StoreError
from sightline.schema import ColumnType, ModelSchema, Window
from sightline.schema.rows import RowFilter, RowQuery, RowsPage, row_columns
from sightline.store.base import (
    TS,
    EventRow,
    ModelInfo,
    QuarantinedRecord,
    WriteBatch,
    feedback_table,
    naive_utc,
    prediction_table,
)

__all__ = ["Database", "DuckDBPredictionStore", "aware_utc", "quote"]

log = logging.getLogger(__name__)

SQL_TYPES = {
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.STRING: "VARCHAR",
    ColumnType.BOOLEAN: "BOOLEAN",
}
EVENT_COLUMNS = (
    "model VARCHAR, model_version VARCHAR, record_id VARCHAR, name VARCHAR, ts TIMESTAMP,"
    " received_at TIMESTAMP, latency_ms DOUBLE, status VARCHAR, error_type VARCHAR,"
    " error BOOLEAN, attributes JSON"
)
QUARANTINE_COLUMNS = (
    "model VARCHAR, kind VARCHAR, record_id VARCHAR, received_at TIMESTAMP, idx BIGINT,"
    " field VARCHAR, message VARCHAR, record VARCHAR"
)


#: DuckDB memory limit of the prediction store unless its URL sets ``memory_limit``.
DEFAULT_MEMORY_LIMIT = "1GB"


def quote(name: str) -> str:
    """A SQL identifier for any column name."""
    return '"' + name.replace('"', '""') + '"'


def aware_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


class Database:
    """One DuckDB file. Writers take turns (one lock); readers get their own cursor and read a
    consistent snapshot while a write goes on."""

    def __init__(self, path: Path, options: dict[str, str] | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = dict(options or {})
        try:
            self.con = duckdb.connect(str(path), config=config)
        except (duckdb.InvalidInputException, duckdb.CatalogException, duckdb.ParserException) as e:
            raise ConfigError(
                f"a DuckDB option in the store URL of {path} is invalid: {e}"
            ) from None
        except duckdb.IOException as error:
            raise StoreError(
                f"cannot open {path}: {error}. If a Sightline server is running on this data "
                "directory, talk to it (--url) instead of opening its files."
            ) from error
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock, self.con.cursor() as cursor:
            cursor.begin()
            try:
                yield cursor
            except BaseException:
                cursor.rollback()
                raise
            cursor.commit()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.con.cursor() as cursor:
            yield cursor

    def export(self, directory: Path) -> None:
        """Every table of the file (and its sequences) into ``directory`` as Parquet files and
        the SQL that rebuilds them, from one consistent snapshot; writers are not held up."""
        with self.reading() as cursor:
            try:
                cursor.execute(f"EXPORT DATABASE '{_sql_path(directory)}' (FORMAT PARQUET)")
            except duckdb.Error as error:
                raise StoreError(f"cannot export {self.path}: {error}") from error

    def close(self) -> None:
        with self.lock:
            self.con.close()


def import_database(path: Path, directory: Path) -> None:
    """A new DuckDB file at ``path`` holding what :meth:`Database.export` wrote to
    ``directory``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(f"IMPORT DATABASE '{_sql_path(directory)}'")
    except duckdb.Error as error:
        raise StoreError(f"cannot restore {path} from {directory}: {error}") from error
    finally:
        con.close()


def ensure_unused(path: Path) -> None:
    """A StoreError when another process (a running server) has the DuckDB file at ``path``
    open."""
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            return  # not a DuckDB file it can open: nobody holds it either
        raise StoreError(
            f"{path} is in use ({error}); stop the Sightline server using this data directory first"
        ) from None
    except duckdb.Error:
        return  # damaged or not a DuckDB file: it can be set aside


def _sql_path(path: Path) -> str:
    """``path`` as a SQL string literal's content."""
    return str(path).replace("'", "''")


class DuckDBPredictionStore:
    """Prediction store in an embedded DuckDB file (``options``: DuckDB settings such as
    ``memory_limit``)."""

    def __init__(self, path: Path, options: dict[str, str] | None = None):
        # DuckDB caches up to 80 % of the machine's memory by default; a collector should not.
        self.db = Database(path, {"memory_limit": DEFAULT_MEMORY_LIMIT, **(options or {})})
        with self.db.transaction() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS sl_models (name VARCHAR PRIMARY KEY, id INTEGER,"
                " schema JSON, created_at TIMESTAMP, updated_at TIMESTAMP)"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS sl_schema_changes (model VARCHAR, changed_at TIMESTAMP,"
                " change VARCHAR)"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS sl_references (model VARCHAR, name VARCHAR,"
                " table_name VARCHAR, n_rows BIGINT, created_at TIMESTAMP,"
                " PRIMARY KEY (model, name))"
            )
            # Service events of every model in one table; quarantined records likewise.
            con.execute(f"CREATE TABLE IF NOT EXISTS sl_events ({EVENT_COLUMNS})")
            con.execute(f"CREATE TABLE IF NOT EXISTS sl_quarantine ({QUARANTINE_COLUMNS})")
            rows = con.execute("SELECT name, id, schema FROM sl_models").fetchall()
        self._models: dict[str, tuple[int, ModelSchema]] = {
            name: (model_id, ModelSchema.from_dict(json.loads(schema)))
            for name, model_id, schema in rows
        }
        # First and last event time per model: kept up to date by writes, so that listing
        # models does not scan the events table (the ASGI middleware fills it fast).
        self._event_spans = self._scan_event_spans()

    # -- schema -----------------------------------------------------------------------------

    def schema(self, model: str) -> ModelSchema | None:
        entry = self._models.get(model)
        return entry[1] if entry else None

    def _save_schema(
        self, con: duckdb.DuckDBPyConnection, schema: ModelSchema, changes: list[str]
    ) -> None:
        now = naive_utc(datetime.now(UTC))
        entry = self._models.get(schema.model)
        if entry is None:
            model_id = 1 + max((i for i, _ in self._models.values()), default=0)
            con.execute(
                f"CREATE TABLE {_predictions(model_id)} (record_id VARCHAR, request_id VARCHAR,"
                " ts TIMESTAMP, received_at TIMESTAMP, model_version VARCHAR, sample_rate DOUBLE,"
                " tags JSON)"
            )
            con.execute(
                f"CREATE TABLE {_feedback(model_id)} (record_id VARCHAR, request_id VARCHAR,"
                " ts TIMESTAMP, received_at TIMESTAMP)"
            )
            con.execute(
                "INSERT INTO sl_models VALUES (?, ?, ?, ?, ?)",
                [schema.model, model_id, json.dumps(schema.to_dict()), now, now],
            )
            old = ModelSchema(schema.model)
        else:
            model_id, old = entry
            con.execute(
                "UPDATE sl_models SET schema = ?, updated_at = ? WHERE name = ?",
                [json.dumps(schema.to_dict()), now, schema.model],
            )
        known = {c.name for c in (*old.features, *old.outputs)}
        for column in (*schema.features, *schema.outputs):
            if column.name not in known:
                con.execute(
                    f"ALTER TABLE {_predictions(model_id)} ADD COLUMN {quote(column.name)}"
                    f" {SQL_TYPES[column.type]}"
                )
        if schema.target is not None and old.target is None:
            con.execute(
                f"ALTER TABLE {_feedback(model_id)} ADD COLUMN target"
                f" {SQL_TYPES[schema.target.type]}"
            )
        for change in changes:
            con.execute(
                "INSERT INTO sl_schema_changes VALUES (?, ?, ?)", [schema.model, now, change]
            )
        self._models[schema.model] = (model_id, schema)

    # -- writing ----------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> int:
        previous = dict(self._models)
        stored = 0
        try:
            with self.db.transaction() as con:
                for schema, changes in batch.schemas.values():
                    self._save_schema(con, schema, changes)
                for model in {*batch.predictions, *batch.prediction_tables}:
                    model_id, schema = self._models[model]
                    tables = list(batch.prediction_tables.get(model, ()))
                    if batch.predictions.get(model):
                        tables.append(prediction_table(schema, batch.predictions[model]))
                    tables = [t for t in tables if t.num_rows]
                    if tables:
                        data = pa.concat_tables(tables, promote_options="permissive")
                        stored += _insert_new(con, _predictions(model_id), data)
                for model, feedback in batch.feedback.items():
                    if feedback:
                        model_id, schema = self._models[model]
                        stored += _insert_new(
                            con, _feedback(model_id), feedback_table(schema, feedback)
                        )
                if batch.events:
                    stored += _insert_new(con, "sl_events", _event_table(batch.events))
                if batch.quarantine:
                    _insert_quarantine(con, _quarantine_table(batch.quarantine))
        except (duckdb.Error, pa.ArrowException) as error:
            self._models = previous
            raise StoreError(f"writing {batch.n_records} records failed: {error}") from error
        except BaseException:
            self._models = previous
            raise
        if batch.events:
            spans = dict(self._event_spans)
            for event in batch.events:
                ts = aware_utc(event.ts)
                first, last = spans.get(event.model, (ts, ts))
                spans[event.model] = (min(first, ts), max(last, ts))
            self._event_spans = spans  # replaced whole: readers never see it half updated
        return stored

    # -- reading ----------------------------------------------------------------------------

    def _model(self, model: str) -> tuple[int, ModelSchema]:
        entry = self._models.get(model)
        if entry is None:
            raise NotFoundError(f"model '{model}' has logged nothing yet")
        return entry

    def read_window(self, model: str, window: Window, model_version: str | None = None) -> pa.Table:
        model_id, schema = self._model(model)
        target = "f.target" if schema.target is not None else "NULL"
        version = " AND p.model_version = ?" if model_version is not None else ""
        params: list[Any] = [naive_utc(window.start), naive_utc(window.end)]
        if model_version is not None:
            params.append(model_version)
        sql = (
            f"WITH p AS (SELECT * FROM {_predictions(model_id)} p"
            f" WHERE p.ts >= ? AND p.ts < ?{version}),"
            f" f AS (SELECT request_id, arg_max({target.removeprefix('f.')}, received_at)"
            f" AS target, arg_max(ts, received_at) AS ts FROM {_feedback(model_id)}"
            " WHERE request_id IN (SELECT request_id FROM p) GROUP BY request_id)"
            f" SELECT p.*, {target} AS target, f.ts AS feedback_ts FROM p"
            " LEFT JOIN f ON p.request_id = f.request_id"
        )
        plain = (
            f"SELECT *, NULL::{SQL_TYPES[schema.target.type] if schema.target else 'VARCHAR'}"
            f" AS target, NULL::TIMESTAMP AS feedback_ts FROM {_predictions(model_id)} p"
            f" WHERE p.ts >= ? AND p.ts < ?{version}"
        )
        with self.db.reading() as con:
            # Without any ground truth yet (common for fresh windows), skip the join.
            labelled = con.execute(f"SELECT count(*) FROM {_feedback(model_id)}").fetchall()[0][0]
            return con.sql(sql if labelled else plain, params=params).to_arrow_table()

    def prune(self, before: datetime, keep: Mapping[str, Sequence[Window]]) -> dict[str, int]:
        cutoff = naive_utc(before)
        counts = {"predictions": 0, "feedback": 0, "events": 0, "quarantine": 0}
        # One transaction per model (then one for the rest), so ingestion waits for one
        # model's deletes at a time, not for all of them.
        for name, (model_id, _) in list(self._models.items()):
            kept = [w for w in keep.get(name, ()) if w.start < before]
            spared = "".join(" AND NOT (ts >= ? AND ts < ?)" for _ in kept)
            params: list[Any] = [cutoff]
            for window in kept:
                params += [naive_utc(window.start), naive_utc(window.end)]
            with self.db.transaction() as con:
                counts["predictions"] += _deleted(
                    con, f"DELETE FROM {_predictions(model_id)} WHERE ts < ?{spared}", params
                )
                counts["feedback"] += _deleted(
                    con,
                    f"DELETE FROM {_feedback(model_id)} f WHERE f.ts < ? AND NOT EXISTS"
                    f" (SELECT 1 FROM {_predictions(model_id)} p"
                    " WHERE p.request_id = f.request_id)",
                    [cutoff],
                )
        with self.db.transaction() as con:
            counts["events"] = _deleted(con, "DELETE FROM sl_events WHERE ts < ?", [cutoff])
            counts["quarantine"] = _deleted(
                con, "DELETE FROM sl_quarantine WHERE received_at < ?", [cutoff]
            )
        if counts["events"]:
            self._event_spans = self._scan_event_spans()
        if any(counts.values()):
            try:
                with self.db.lock, self.db.con.cursor() as con:
                    con.execute("CHECKPOINT")  # new rows reuse the deleted rows' blocks
            except duckdb.Error as error:  # the rows are gone either way; DuckDB will later
                log.warning("checkpoint after deleting old rows failed: %s", error)
        return counts

    def labelled_count(self, model: str, window: Window) -> int:
        model_id, _ = self._model(model)
        with self.db.reading() as con:
            row = con.execute(
                f"SELECT count(*) FROM {_predictions(model_id)} p"
                f" SEMI JOIN {_feedback(model_id)} f ON p.request_id = f.request_id"
                " WHERE p.ts >= ? AND p.ts < ?",
                [naive_utc(window.start), naive_utc(window.end)],
            ).fetchall()[0]
        return int(row[0])

    def rows(self, model: str, query: RowQuery) -> RowsPage:
        model_id, schema = self._model(model)
        available = row_columns(schema)
        query.check(available)
        columns = query.selected(available)
        where = ["ts >= ?", "ts < ?"]
        params: list[Any] = [naive_utc(query.start), naive_utc(query.end)]
        if query.model_version is not None:
            where.append("model_version = ?")
            params.append(query.model_version)
        joined: list[str] = []  # conditions on the feedback, applied after the join
        joined_params: list[Any] = []
        for column, condition, values in _conditions(query.filters):
            if column in FEEDBACK_COLUMNS:
                joined.append(condition)
                joined_params += values
            else:
                where.append(condition)
                params += values
        if query.labelled is not None:
            joined.append(f"feedback_ts IS {'NOT ' if query.labelled else ''}NULL")
        order = query.order
        order_sql = (
            f"{_expression(order.column)} {'DESC' if order.descending else 'ASC'} NULLS LAST,"
            " ts, record_id"
        )
        selected = ", ".join(f"{_expression(c)} AS {quote(c)}" for c in columns)
        target = "target" if schema.target is not None else "NULL"

        def with_feedback(source: str) -> str:
            return (
                f"f AS (SELECT request_id, arg_max({target}, received_at) AS target,"
                f" arg_max(ts, received_at) AS feedback_ts FROM {_feedback(model_id)}"
                f" WHERE request_id IN (SELECT request_id FROM {source}) GROUP BY request_id),"
                f" j AS (SELECT {source}.*, f.target AS target, f.feedback_ts AS feedback_ts"
                f" FROM {source} LEFT JOIN f ON {source}.request_id = f.request_id)"
            )

        window_rows = f"SELECT * FROM {_predictions(model_id)} WHERE {' AND '.join(where)}"
        if joined or order.column in FEEDBACK_COLUMNS:
            # Filters or order on the ground truth: join the whole selection, then page.
            head = f"WITH p AS ({window_rows}), {with_feedback('p')}"
            condition = " AND ".join(joined) or "true"
            sql = (
                f"{head} SELECT {selected} FROM j WHERE {condition} ORDER BY {order_sql}"
                " LIMIT ? OFFSET ?"
            )
            sql_params = [*params, *joined_params, query.limit, query.offset]
            count_sql = f"{head} SELECT count(*) FROM j WHERE {condition}"
            count_params = [*params, *joined_params]
        else:
            # Page the predictions first, then join the feedback of that page only.
            page = f"{window_rows} ORDER BY {order_sql} LIMIT ? OFFSET ?"
            sql = (
                f"WITH page AS ({page}), {with_feedback('page')}"
                f" SELECT {selected} FROM j ORDER BY {order_sql}"
            )
            sql_params = [*params, query.limit, query.offset]
            count_sql = f"SELECT count(*) FROM {_predictions(model_id)} WHERE {' AND '.join(where)}"
            count_params = params
        with self.db.reading() as con:
            con.begin()  # the page and the total from one snapshot
            try:
                table = con.sql(sql, params=sql_params).to_arrow_table()
                total = con.execute(count_sql, count_params).fetchall()[0][0]
            finally:
                con.rollback()
        return RowsPage(table, int(total))

    def models(self) -> list[ModelInfo]:
        infos = []
        with self.db.reading() as con:
            for name, (model_id, schema) in sorted(self._models.items()):
                row = con.execute(
                    f"SELECT count(*), min(ts), max(ts) FROM {_predictions(model_id)}"
                ).fetchall()[0]
                fb = con.execute(f"SELECT count(*) FROM {_feedback(model_id)}").fetchall()[0]
                assert row is not None
                assert fb is not None
                infos.append(
                    ModelInfo(
                        name,
                        schema,
                        int(row[0]),
                        int(fb[0]),
                        aware_utc(row[1]) if row[1] else None,
                        aware_utc(row[2]) if row[2] else None,
                    )
                )
        # A service that only logs events (e.g. through the ASGI middleware) is a model too.
        for name, (first, last) in self.event_models().items():
            if name not in self._models:
                infos.append(ModelInfo(name, ModelSchema(name), 0, 0, first, last))
        return sorted(infos, key=lambda info: info.name)

    # -- references -------------------------------------------------------------------------

    def save_reference(self, model: str, name: str, table: pa.Table) -> None:
        model_id, _ = self._model(model)
        table_name = f"reference_{model_id}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"
        with self.db.transaction() as con:
            con.register("sl_reference_upload", table)
            try:
                con.execute(
                    f"CREATE OR REPLACE TABLE {table_name} AS SELECT * FROM sl_reference_upload"
                )
            finally:
                con.unregister("sl_reference_upload")
            con.execute(
                "INSERT OR REPLACE INTO sl_references VALUES (?, ?, ?, ?, ?)",
                [model, name, table_name, table.num_rows, naive_utc(datetime.now(UTC))],
            )

    def read_reference(self, model: str, name: str) -> pa.Table | None:
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT table_name FROM sl_references WHERE model = ? AND name = ?", [model, name]
            ).fetchall()
            if not rows:
                return None
            row = rows[0]
            return con.sql(f"SELECT * FROM {row[0]}").to_arrow_table()

    def references(self, model: str) -> list[tuple[str, int, datetime]]:
        """The reference datasets of ``model``: name, rows, upload time."""
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT name, n_rows, created_at FROM sl_references WHERE model = ? ORDER BY name",
                [model],
            ).fetchall()
        return [(r[0], int(r[1]), aware_utc(r[2])) for r in rows]

    def reference_info(self, model: str, name: str) -> tuple[int, datetime] | None:
        """Rows and upload time of the reference dataset ``name``, or None."""
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT n_rows, created_at FROM sl_references WHERE model = ? AND name = ?",
                [model, name],
            ).fetchall()
        return (int(rows[0][0]), aware_utc(rows[0][1])) if rows else None

    def event_models(self) -> dict[str, tuple[datetime, datetime]]:
        """Models that logged service events: first and last event time of each."""
        return dict(sorted(self._event_spans.items()))

    def _scan_event_spans(self) -> dict[str, tuple[datetime, datetime]]:
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT model, min(ts), max(ts) FROM sl_events GROUP BY model"
            ).fetchall()
        return {r[0]: (aware_utc(r[1]), aware_utc(r[2])) for r in rows}

    # -- versions and activity ---------------------------------------------------------------

    def versions(self, model: str) -> list[tuple[str, datetime]]:
        """The model's versions with the time each was first seen, oldest first."""
        entry = self._models.get(model)
        if entry is None:
            return []
        with self.db.reading() as con:
            rows = con.execute(
                f"SELECT model_version, min(ts) FROM {_predictions(entry[0])}"
                " GROUP BY model_version ORDER BY 2, 1"
            ).fetchall()
        return [(r[0] or "", aware_utc(r[1])) for r in rows]

    def activity(
        self, model: str, granularity_seconds: int, received_since: datetime, ts_since: datetime
    ) -> dict[datetime, datetime]:
        """For windows (of ``granularity_seconds``, starting at or after ``ts_since``) that
        received predictions or feedback after ``received_since``: window start → the latest
        time something arrived for it. Feedback counts for the window of its prediction."""
        entry = self._models.get(model)
        if entry is None:
            return {}
        model_id = entry[0]
        width = granularity_seconds
        offset = 4 * 86400 if width == 7 * 86400 else 0  # weeks start on Monday
        bucket = f"floor((epoch({{ts}}) - {offset}) / {width}) * {width} + {offset}"
        sql = (
            f"SELECT b, max(r) FROM (SELECT {bucket.format(ts='ts')} AS b, received_at AS r"
            f" FROM {_predictions(model_id)} WHERE received_at > ? AND ts >= ?"
            f" UNION ALL SELECT {bucket.format(ts='p.ts')} AS b, f.received_at AS r"
            f" FROM {_feedback(model_id)} f JOIN {_predictions(model_id)} p"
            " ON p.request_id = f.request_id WHERE f.received_at > ? AND p.ts >= ?) GROUP BY b"
        )
        since, low = naive_utc(received_since), naive_utc(ts_since)
        with self.db.reading() as con:
            rows = con.execute(sql, [since, low, since, low]).fetchall()
        return {
            datetime.fromtimestamp(float(r[0]), UTC): aware_utc(r[1])
            for r in rows
            if r[0] is not None
        }

    # -- service events and quarantine -----------------------------------------------------

    def read_events(self, model: str, window: Window) -> pa.Table:
        with self.db.reading() as con:
            return con.sql(
                "SELECT ts, model_version, name, latency_ms, status, error_type, error"
                " FROM sl_events WHERE model = ? AND ts >= ? AND ts < ? ORDER BY ts",
                params=[model, naive_utc(window.start), naive_utc(window.end)],
            ).to_arrow_table()

    def quarantined(self, model: str | None = None, limit: int = 100) -> list[QuarantinedRecord]:
        where, params = ("WHERE model = ?", [model]) if model is not None else ("", [])
        with self.db.reading() as con:
            rows = con.execute(
                "SELECT model, kind, record_id, received_at, idx, field, message, record"
                f" FROM sl_quarantine {where} ORDER BY received_at DESC, idx LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [
            QuarantinedRecord(r[0], r[1], r[2], aware_utc(r[3]), r[4], r[5], r[6], r[7])
            for r in rows
        ]

    def export(self, directory: Path) -> None:
        self.db.export(directory)

    def close(self) -> None:
        self.db.close()


#: Row columns that come from the joined feedback rather than the predictions table.
FEEDBACK_COLUMNS = frozenset({"target", "feedback_ts"})


def _expression(column: str) -> str:
    """The SQL expression of a row column (tags are kept as JSON; they are listed as text)."""
    return "CAST(tags AS VARCHAR)" if column == "tags" else quote(column)


def _conditions(filters: tuple[RowFilter, ...]) -> list[tuple[str, str, list[Any]]]:
    """SQL conditions (column, condition, parameters) of row filters: ``=`` filters on one
    column together as ``IN``, ``!=`` as ``NOT IN`` (missing values pass it), each range on its
    own. Values are always parameters."""
    by_column: dict[str, list[RowFilter]] = {}
    for f in filters:
        by_column.setdefault(f.column, []).append(f)
    out: list[tuple[str, str, list[Any]]] = []
    for column, group in by_column.items():
        name = _expression(column)

        def value(f: RowFilter) -> Any:
            return naive_utc(f.value) if isinstance(f.value, datetime) else f.value

        equal = [value(f) for f in group if f.op == "="]
        if equal:
            marks = ", ".join("?" * len(equal))
            out.append((column, f"{name} IN ({marks})", equal))
        unequal = [value(f) for f in group if f.op == "!="]
        if unequal:
            marks = ", ".join("?" * len(unequal))
            out.append((column, f"({name} IS NULL OR {name} NOT IN ({marks}))", unequal))
        for f in group:
            if f.op in ("<", "<=", ">", ">="):
                out.append((column, f"{name} {f.op} ?", [value(f)]))
            elif f.op in ("missing", "present"):
                out.append((column, f"{name} IS {'NOT ' if f.op == 'present' else ''}NULL", []))
    return out


def _deleted(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    """Run a DELETE; how many rows it deleted."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _predictions(model_id: int) -> str:
    return f"predictions_{model_id}"


def _feedback(model_id: int) -> str:
    return f"feedback_{model_id}"


def _insert(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    con.register("sl_batch", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM sl_batch")
    finally:
        con.unregister("sl_batch")


def _insert_new(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> int:
    """Insert the records of ``data`` whose ``record_id`` is not stored yet; returns how many.

    A retried record carries its first attempt's event time, so only stored rows of the batch's
    time range are looked at (DuckDB skips the rest by their min/max).
    """
    ids = data.column("record_id")
    if pc.count_distinct(ids).as_py() < data.num_rows:  # rare: keep the first of each id
        first = (
            pa.table({"record_id": ids, "sl_row": pa.array(range(data.num_rows), pa.int64())})
            .group_by("record_id", use_threads=False)
            .aggregate([("sl_row", "min")])
        )
        kept = first.column("sl_row_min").combine_chunks()
        data = data.take(kept.take(pc.array_sort_indices(kept)))
    timestamps = data.column("ts")
    low, high = pc.min(timestamps).as_py(), pc.max(timestamps).as_py()
    con.register("sl_batch", data)
    try:
        rows = con.execute(
            f"INSERT INTO {table} BY NAME SELECT * FROM sl_batch WHERE record_id NOT IN"
            f" (SELECT record_id FROM {table} WHERE ts BETWEEN ? AND ?)",
            [low, high],
        ).fetchall()
    finally:
        con.unregister("sl_batch")
    return int(rows[0][0]) if rows else 0


def _insert_quarantine(con: duckdb.DuckDBPyConnection, data: pa.Table) -> None:
    """Quarantine records, skipping those whose record id is quarantined already (a retry)."""
    con.register("sl_batch", data)
    try:
        con.execute(
            "INSERT INTO sl_quarantine BY NAME SELECT * FROM sl_batch WHERE record_id = ''"
            " OR record_id NOT IN (SELECT record_id FROM sl_quarantine)"
        )
    finally:
        con.unregister("sl_batch")


def _event_table(rows: list[EventRow]) -> pa.Table:
    return pa.table(
        {
            "model": pa.array([r.model for r in rows], pa.string()),
            "model_version": pa.array([r.model_version for r in rows], pa.string()),
            "record_id": pa.array([r.record_id for r in rows], pa.string()),
            "name": pa.array([r.name for r in rows], pa.string()),
            "ts": pa.array([naive_utc(r.ts) for r in rows], TS),
            "received_at": pa.array([naive_utc(r.received_at) for r in rows], TS),
            "latency_ms": pa.array([r.latency_ms for r in rows], pa.float64()),
            "status": pa.array([r.status for r in rows], pa.string()),
            "error_type": pa.array([r.error_type for r in rows], pa.string()),
            "error": pa.array([r.error for r in rows], pa.bool_()),
            "attributes": pa.array(
                [json.dumps(r.attributes) if r.attributes else None for r in rows], pa.string()
            ),
        }
    )


def _quarantine_table(rows: list[QuarantinedRecord]) -> pa.Table:
    return pa.table(
        {
            "model": pa.array([r.model for r in rows], pa.string()),
            "kind": pa.array([r.kind for r in rows], pa.string()),
            "record_id": pa.array([r.record_id for r in rows], pa.string()),
            "received_at": pa.array([naive_utc(r.received_at) for r in rows], TS),
            "idx": pa.array([r.index for r in rows], pa.int64()),
            "field": pa.array([r.field for r in rows], pa.string()),
            "message": pa.array([r.message for r in rows], pa.string()),
            "record": pa.array([r.record for r in rows], pa.string()),
        }
    )
