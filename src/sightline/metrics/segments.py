"""Segments: any metric broken down by the values of a segment column.

The segments are the ``top_k`` values of the column by volume in the reference (so they stay
the same from window to window; in the current data when the reference lacks the column); all
other values (and missing values) form the segment ``"other"``. Each segment of the current
data is compared with the same segment of the reference.

    >>> import pyarrow as pa
    >>> table = pa.table({"region": ["eu", "eu", "us", None], "x": [1.0, 2.0, 3.0, 4.0]})
    >>> {k: v.num_rows for k, v in split_segments(table, "region", ["eu"]).items()}
    {'eu': 2, 'other': 2}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ValidationError

__all__ = ["OTHER", "slice_table", "split_segments", "top_segments"]

#: The segment of every value outside the top ones.
OTHER = "other"


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    return pc.cast(column, pa.string())


def top_segments(table: pa.Table, column: str, top_k: int = 10) -> list[str]:
    """The ``top_k`` most frequent values of ``column`` (ties broken by value), as text."""
    if column not in table.column_names:
        raise ValidationError(f"segment column '{column}' is not in the data", field=column)
    counted = pc.value_counts(pc.drop_null(_as_text(table.column(column))))
    pairs = sorted(
        zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return [value for value, _ in pairs[:top_k]]


def split_segments(table: pa.Table, column: str, segments: Sequence[str]) -> dict[str, pa.Table]:
    """``table`` split into ``segments`` (values of ``column``) and ``"other"`` (the rest)."""
    if column not in table.column_names:
        raise ValidationError(f"segment column '{column}' is not in the data", field=column)
    text = _as_text(table.column(column))
    parts = {value: table.filter(pc.equal(text, value)) for value in segments}
    rest = pc.invert(
        pc.fill_null(pc.is_in(text, value_set=pa.array(list(segments), pa.string())), False)
    )
    other = table.filter(rest)
    if other.num_rows:
        parts[OTHER] = other
    return parts


def slice_table(
    table: pa.Table,
    *,
    versions: bool = True,
    segments: Mapping[str, Sequence[str] | None] | None = None,
    top_k: int = 10,
) -> list[tuple[tuple[str, str, str], pa.Table]]:
    """The slices of a window's rows, keyed by (model version, segment column, value): all
    rows first, then each model version present (``versions``), then each segment of each
    segment column the table has. ``segments`` maps a column to its segment values (the
    reference's largest ones), or to None for the ``top_k`` largest of ``table`` itself."""
    slices: list[tuple[tuple[str, str, str], pa.Table]] = [(("", "", ""), table)]
    if versions and "model_version" in table.column_names:
        column = table.column("model_version")
        for version in sorted(v for v in pc.unique(column).to_pylist() if v):
            slices.append(((version, "", ""), table.filter(pc.equal(column, version))))
    for name, values in (segments or {}).items():
        if name not in table.column_names:
            continue
        chosen = top_segments(table, name, top_k) if values is None else values
        for value, part in split_segments(table, name, chosen).items():
            slices.append((("", name, value), part))
    return slices
