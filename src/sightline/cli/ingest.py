"""``sightline ingest``: send the predictions of a batch model from a file to the collector.

Parquet, CSV and JSON Lines files are read as a stream of chunks (pyarrow's Parquet batch
reader, CSV and JSON streaming readers), so memory stays flat whatever the file's size; each
chunk is sent as an Arrow IPC stream, with retries, while the next one is read. Record ids
derive from the file and the row number, so ingesting the same file again stores nothing twice.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from sightline.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from sightline.errors import TransportError, ValidationError

__all__ = ["FORMATS", "Progress", "add_parser", "cmd_ingest", "read_chunks"]

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl"}


class Progress:
    """A progress bar on a terminal (redrawn in place), plain lines every few seconds elsewhere."""

    def __init__(self, total: int | None, stream: IO[str] | None = None, every: float = 5.0):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.1 if self.tty else every
        self.done = 0
        self.started = time.monotonic()
        self._shown = -math.inf  # the first update always shows, whatever the clock reads

    def update(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self._shown >= self.every:
            self._shown = now
            self._show(final=False)

    def finish(self) -> None:
        self._show(final=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = f"{self.done / elapsed:,.0f} rows/s"
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            return f"[{bar:<30}] {share:6.1%} {self.done:,}/{self.total:,} rows  {rate}"
        return f"{self.done:,} rows  {rate}"

    def _show(self, final: bool) -> None:
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


def read_chunks(path: Path, file_format: str, chunk_rows: int) -> tuple[Iterator[Any], int | None]:
    """Record batches of ``path`` read as a stream, and the row count when the file says it."""
    import pyarrow.csv as pa_csv  # heavy: loaded only by this command
    import pyarrow.json as pa_json
    import pyarrow.parquet as pa_parquet

    if file_format == "parquet":
        # No pre-buffering: pages are read as they are decoded, so memory holds about one chunk
        # whatever the size of the file's row groups (the dataset scanner buffers far more).
        parquet = pa_parquet.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        return parquet.iter_batches(batch_size=chunk_rows), parquet.metadata.num_rows
    if file_format == "csv":
        reader = pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=16 << 20))
        return iter(reader), None
    reader = pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=16 << 20))
    return iter(reader), None


def _file_key(path: Path, model: str) -> str:
    stat = path.stat()
    text = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{model}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def cmd_ingest(args: argparse.Namespace) -> int:
    import pyarrow as pa  # heavy: loaded only by this command
    import pyarrow.compute as pc

    from sightline.sdk.batches import wire_chunks
    from sightline.sdk.transport import HTTPTransport, table_payload

    settings = settings_from(args)
    path = Path(args.file)
    if not path.is_file():
        raise ValidationError(f"no file at {path}", field="FILE")
    file_format = args.format or FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ValidationError(
            f"cannot tell the format of {path.name}; pass --format parquet, csv or jsonl",
            field="--format",
        )
    key = _file_key(path, args.model)

    def new_ids(start: int, n: int) -> Any:
        rows = pa.array(range(start, start + n), pa.int64()).cast(pa.string())
        return pc.binary_join_element_wise(pa.scalar(key + "-"), rows, "")

    try:
        batches, total = read_chunks(path, file_format, args.chunk_rows)
    except (pa.ArrowException, ValueError) as error:
        raise _unreadable(path, 0, error) from None
    progress = Progress(total)
    transport = HTTPTransport(settings.url, settings.api_key or None, timeout=args.timeout)
    totals = {"accepted": 0, "duplicates": 0, "quarantined": 0}

    def send(table: Any) -> tuple[int, dict[str, Any]]:
        payload = table_payload(table, compress=not args.no_compress)
        deadline, delay = time.monotonic() + args.retry_for, 0.2
        while True:
            result = transport.send(payload)
            if result.outcome == "ok":
                return (0 if "kind" in table.column_names else table.num_rows), result.answer
            if result.outcome == "rejected" or time.monotonic() > deadline:
                raise TransportError(f"the collector at {settings.url} failed: {result.detail}")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 10.0)

    chunks = wire_chunks(
        batches,
        model=args.model,
        outputs=args.prediction or ["prediction"],
        request_id=args.request_id,
        ts=args.ts,
        target=args.target,
        model_version=args.model_version,
        chunk_rows=args.chunk_rows,
        new_ids=new_ids,
    )
    # One chunk is sent while the next is read: at most two chunks in memory at once.
    in_flight: list[Future[tuple[int, dict[str, Any]]]] = []
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            for chunk in _readable(chunks, path, progress.done):
                in_flight.append(pool.submit(send, chunk))
                while len(in_flight) > 1:
                    _settle(in_flight.pop(0), progress, totals)
            while in_flight:
                _settle(in_flight.pop(0), progress, totals)
    finally:
        for future in in_flight:
            future.cancel()
        transport.close()
    progress.finish()
    print(
        f"{args.model}: {progress.done:,} rows from {path.name} — accepted {totals['accepted']:,} "
        f"({totals['duplicates']:,} already stored), quarantined {totals['quarantined']:,}"
    )
    if totals["quarantined"]:
        print(
            f"see the reasons with: sightline quarantine list --model {args.model}",
            file=sys.stderr,
        )
        return EXIT_FAILED  # records were quarantined
    return EXIT_OK


def _readable(chunks: Iterator[Any], path: Path, done: int) -> Iterator[Any]:
    """The chunks, with a file the reader cannot parse reported as the user's error."""
    import pyarrow as pa  # loaded already by the command

    try:
        yield from chunks
    except (pa.ArrowException, ValueError) as error:
        raise _unreadable(path, done, error) from None


def _unreadable(path: Path, done: int, error: Exception) -> ValidationError:
    return ValidationError(
        f"cannot read {path.name} after {done:,} rows: {error}. Every value of a column must "
        "have one type (pass --format if the extension misleads)",
        field="FILE",
    )


def _settle(
    future: Future[tuple[int, dict[str, Any]]], progress: Progress, totals: dict[str, int]
) -> None:
    rows, answer = future.result()
    for name in totals:
        totals[name] += int(answer.get(name, 0))
    progress.update(rows)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "ingest",
        help="send a batch model's predictions from a Parquet, CSV or JSONL file",
        description="Stream FILE in chunks (constant memory) to the server at --url as Arrow. "
        "Columns --prediction are the outputs, --request-id and --ts are used when present, "
        "--target is sent as feedback, every other column is a feature. Ingesting a file again "
        "stores nothing twice. Exit code 1 when records were quarantined.",
    )
    p.add_argument("file", metavar="FILE", help="a .parquet, .csv or .jsonl file")
    p.add_argument("--model", required=True, help="the model the rows belong to")
    p.add_argument("--url", help="URL of the Sightline server (default http://127.0.0.1:8000)")
    p.add_argument("--format", choices=("parquet", "csv", "jsonl"), help="default: by extension")
    p.add_argument(
        "--prediction",
        action="append",
        help="an output column (repeat for several; default: prediction)",
    )
    p.add_argument("--request-id", default="request_id", help="request id column")
    p.add_argument("--ts", default="ts", help="event time column (default ts; else now)")
    p.add_argument("--target", help="a column of ground truth, sent as feedback")
    p.add_argument("--model-version", help="model version of every row")
    p.add_argument("--chunk-rows", type=int, default=50_000, help="rows per request")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    p.add_argument(
        "--retry-for", type=float, default=300.0, help="seconds to retry an unreachable server"
    )
    p.add_argument("--no-compress", action="store_true", help="send bodies uncompressed")
    p.set_defaults(func=cmd_ingest)
