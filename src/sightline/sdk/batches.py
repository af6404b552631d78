"""Tables of a batch model (pandas, Polars, Arrow) as wire chunks for the collector.

Imported only by :meth:`Client.log_batch` and ``sightline ingest``: it needs pyarrow, which the
SDK otherwise never loads on the model's thread. Chunks are renamed and extended without copying
the data: features become ``features.<name>``, outputs ``prediction`` or ``prediction.<name>``,
and ``model`` is a dictionary column of one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PASSTHROUGH", "as_batches", "wire_chunks"]

#: Columns of a table that keep their name on the wire (the rest are features).
PASSTHROUGH = frozenset({"record_id", "model_version", "sample_rate", "tags"})


def as_batches(data: Any, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``chunk_rows`` rows from a table-like object or an iterable
    of record batches."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    elif not isinstance(data, pa.Table):
        if hasattr(data, "to_arrow") and callable(data.to_arrow):  # Polars
            data = data.to_arrow()
        elif type(data).__module__.startswith("pandas"):
            data = pa.Table.from_pandas(data, preserve_index=False)
        elif hasattr(data, "__arrow_c_stream__"):
            data = pa.table(data)
        elif isinstance(data, Iterable):
            for batch in data:
                yield from as_batches(batch, chunk_rows)
            return
        else:
            raise TypeError(
                f"cannot log a {type(data).__name__}: pass a pandas or Polars DataFrame or a "
                "pyarrow Table"
            )
    yield from data.to_batches(max_chunksize=chunk_rows)


def _constant(value: str, n: int) -> pa.Array:
    indices = pa.nulls(n, pa.int32()).fill_null(0)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


def wire_chunks(
    data: Any,
    *,
    model: str,
    outputs: list[str],
    request_id: str | None,
    ts: str | None,
    target: str | None,
    model_version: str | None,
    chunk_rows: int,
    new_ids: Callable[[int, int], Any],
) -> Iterator[pa.Table]:
    """Wire tables of predictions (and of feedback, when ``target`` names a column).

    ``new_ids(start, n)`` gives the record ids (a list or an Arrow array of strings) of rows
    ``start .. start + n`` of ``data``.
    """
    start = 0
    for batch in as_batches(data, chunk_rows):
        n = batch.num_rows
        if n == 0:
            continue
        names = batch.schema.names
        missing = [o for o in outputs if o not in names]
        if missing:
            raise ValueError(f"no output column {missing[0]!r} in {names[:20]}")
        if target is not None and target not in names:
            raise ValueError(f"no target column {target!r} in {names[:20]}")
        columns: dict[str, pa.Array] = {"model": _constant(model, n)}
        if "record_id" not in names:
            ids = new_ids(start, n)
            columns["record_id"] = ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string())
        if model_version is not None:
            columns["model_version"] = _constant(model_version, n)
        single = len(outputs) == 1 and outputs[0] == "prediction"
        for name, column in zip(names, batch.columns, strict=True):
            if name == request_id:
                columns["request_id"] = column
            elif name == ts:
                columns["ts"] = column
            elif name == target:
                continue
            elif name in outputs:
                columns["prediction" if single else f"prediction.{name}"] = column
            elif name in PASSTHROUGH:
                columns[name] = column
            else:
                columns[f"features.{name}"] = column
        chunk = pa.table(columns)
        yield chunk
        if target is not None:
            if "request_id" not in columns:
                raise ValueError("sending a target needs a request id column to join it by")
            feedback = {
                "kind": _constant("feedback", n),
                "model": columns["model"],
                "record_id": pc.binary_join_element_wise(
                    chunk.column("record_id"), pa.scalar("/target"), ""
                ),
                "request_id": columns["request_id"],
                "target": batch.column(target),
            }
            if "ts" in columns:
                feedback["ts"] = columns["ts"]
            yield pa.table(feedback)
        start += n
