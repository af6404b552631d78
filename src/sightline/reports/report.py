"""The ad-hoc API: compare two datasets and get a report, no server needed.

    >>> import sightline
    >>> report = sightline.compare("reference.parquet", "current.parquet")   # doctest: +SKIP
    >>> report.drifted_columns                                               # doctest: +SKIP
    ['num_0', 'num_1']
    >>> report.save_html("report.html")                                     # doctest: +SKIP

Datasets may be pandas or Polars DataFrames, Arrow tables, or paths to Parquet, CSV or JSON
Lines files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from sightline.errors import ValidationError
from sightline.metrics.compare import Comparison, compare_datasets
from sightline.reports.html import render_html
from sightline.schema.mapping import ColumnMapping

__all__ = ["Report", "compare", "load_table"]


def load_table(data: Any, name: str = "data") -> pa.Table:
    """An Arrow table from a DataFrame (pandas, Polars), an Arrow table or a file path."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise ValidationError(f"no file at {path}", field=name)
        suffix = path.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                return pq.read_table(path)
            if suffix in (".csv", ".tsv"):
                options = pa_csv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
                return pa_csv.read_csv(path, parse_options=options)
            if suffix in (".jsonl", ".ndjson", ".json"):
                return pa_json.read_json(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise ValidationError(f"cannot read {path}: {error}", field=name) from None
        raise ValidationError(
            f"unknown file type {suffix!r}; use .parquet, .csv, .tsv or .jsonl", field=name
        )
    to_arrow = getattr(data, "to_arrow", None)  # Polars
    if callable(to_arrow):
        table = to_arrow()
        if isinstance(table, pa.Table):
            return table
    module = type(data).__module__
    if module.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise ValidationError(
        f"expected a DataFrame, an Arrow table or a file path, got {type(data).__name__}",
        field=name,
    )


class Report:
    """The result of :func:`compare`: every metric, as a dict, JSON or a standalone HTML page."""

    def __init__(self, comparison: Comparison):
        self.comparison = comparison

    @property
    def drifted_columns(self) -> list[str]:
        return self.comparison.data.drifted_columns

    @property
    def dataset_drift(self) -> bool | None:
        return self.comparison.data.dataset_drift

    def to_dict(self) -> dict[str, Any]:
        return self.comparison.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON; non-finite numbers are written as null."""
        return json.dumps(_finite(self.to_dict()), indent=indent, default=str, allow_nan=False)

    def to_html(self) -> str:
        return render_html(self.comparison)

    def save_html(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file (works offline)."""
        target = Path(path)
        target.write_text(self.to_html(), encoding="utf-8")
        return target

    def save_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    def _repr_html_(self) -> str:  # notebooks
        return self.to_html()

    def __repr__(self) -> str:
        data = self.comparison.data
        share = data.share_of_drifted_columns
        drift = "n/a" if share is None else f"{share:.0%} of columns drifted"
        return (
            f"<Report {data.n_reference:,} reference vs {data.n_current:,} current rows: {drift}>"
        )


def compare(
    reference: Any,
    current: Any,
    *,
    mapping: ColumnMapping | None = None,
    methods: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    min_rows: int = 30,
    drift_share: float = 0.5,
    multivariate: bool = False,
    **roles: Any,
) -> Report:
    """Compare a current dataset with a reference one.

    ``mapping`` (or its fields as keyword arguments: ``target=``, ``prediction_score=``,
    ``segments=``, ...) says which columns play which role; what it leaves out is inferred.
    ``methods``/``thresholds`` choose the drift method of a column; ``multivariate=True`` adds
    a domain-classifier check of all features together.
    """
    if roles:
        if mapping is not None:
            raise ValidationError(
                "pass either mapping= or role keywords, not both", field="mapping"
            )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in roles.items()
        }
        try:
            mapping = ColumnMapping(**values)
        except TypeError as error:
            raise ValidationError(f"unknown column role: {error}", field="mapping") from None
    comparison = compare_datasets(
        load_table(reference, "reference"),
        load_table(current, "current"),
        mapping,
        methods=methods,
        thresholds=thresholds,
        min_rows=min_rows,
        drift_share=drift_share,
        multivariate=multivariate,
    )
    return Report(comparison)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
