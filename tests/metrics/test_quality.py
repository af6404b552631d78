"""Data quality: column statistics against NumPy, duplicates against pandas, schema checks."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sightline.metrics.binning import percentile_edges, sorted_quantiles
from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues
from sightline.metrics.dataset import compare_tables
from sightline.metrics.quality import (
    QUANTILES,
    TOP_CATEGORIES,
    categorical_quality,
    dataset_quality,
    numerical_quality,
)
from sightline.metrics.summaries import NumericalSummary

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
KEYS = [f"p{round(q * 100):02d}" for q in QUANTILES]


def samples() -> dict[str, FloatArray]:
    rng = np.random.default_rng(0)
    normal = rng.normal(3.0, 2.0, 5000)
    normal[rng.random(5000) < 0.05] = np.nan
    return {
        "normal with NaN": normal,
        "integers": rng.integers(-20, 20, 3000).astype(np.float64),
        "lognormal": rng.lognormal(0.0, 1.5, 4000),
        "two values": np.array([1.0, 2.0]),
        "one value": np.array([7.5]),
    }


# --- numerical columns --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(samples()))
def test_numerical_statistics_equal_numpy(name: str) -> None:
    raw = samples()[name]
    present = raw[~np.isnan(raw)]
    quality = numerical_quality("x", NumericalValues.from_numpy(raw))
    assert quality.kind is ColumnKind.NUMERICAL
    assert (quality.n_rows, quality.n_missing) == (raw.size, raw.size - present.size)
    assert quality.mean == pytest.approx(np.mean(present), rel=1e-12, abs=1e-12)
    if present.size > 1:
        assert quality.std == pytest.approx(np.std(present, ddof=1), rel=1e-12)
    else:
        assert quality.std is None
    assert (quality.minimum, quality.maximum) == (present.min(), present.max())
    expected = np.quantile(present, QUANTILES)  # linear, NumPy's default
    assert list(quality.quantiles) == KEYS
    assert list(quality.quantiles.values()) == pytest.approx(expected.tolist(), rel=1e-12)
    assert quality.n_distinct == len(np.unique(present))
    assert quality.constant is (len(np.unique(present)) == 1)
    assert quality.exact is True
    assert quality.out_of_range_share is None  # no bounds given


@settings(max_examples=100, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(1, 200),
        elements=st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
    ),
    qs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
)
def test_sorted_quantiles_equal_numpy_linear(values: FloatArray, qs: list[float]) -> None:
    ordered = np.sort(values)
    got = sorted_quantiles(ordered, np.asarray(qs))
    expected = np.quantile(ordered, qs)
    scale = float(np.abs(ordered).max())
    for g, e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12 * scale)
        assert ordered[0] <= g <= ordered[-1]


def test_out_of_range_share_counts_values_outside_inclusive_bounds() -> None:
    values = NumericalValues.from_numpy(np.array([0.0, 1.0, 2.0, 3.0, 4.0, np.nan]))
    quality = numerical_quality("x", values, bounds=(1.0, 3.0))
    assert quality.out_of_range_share == pytest.approx(2 / 5)  # of the present values
    assert quality.bounds == (1.0, 3.0)
    half_open = numerical_quality("x", values, bounds=(-math.inf, 2.5))
    assert half_open.out_of_range_share == pytest.approx(2 / 5)
    assert half_open.bounds == (None, 2.5)


def test_out_of_range_share_against_the_reference_range_and_declared_bounds() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(0.0, 1.0, 2000)
    current = rng.normal(0.8, 1.5, 3000)
    current[:30] = np.nan
    present = current[~np.isnan(current)]
    ref_table, cur_table = pa.table({"x": reference}), pa.table({"x": current})
    own = compare_tables(ref_table, cur_table).columns["x"].quality
    outside = np.count_nonzero((present < reference.min()) | (present > reference.max()))
    assert outside > 0
    assert own.out_of_range_share == pytest.approx(outside / present.size)
    assert own.bounds == (reference.min(), reference.max())
    declared = compare_tables(ref_table, cur_table, bounds={"x": (-1.0, 2.0)}).columns["x"]
    outside = np.count_nonzero((present < -1.0) | (present > 2.0))
    assert declared.quality.out_of_range_share == pytest.approx(outside / present.size)
    assert declared.quality.bounds == (-1.0, 2.0)


# --- categorical columns ------------------------------------------------------------------------


def test_categorical_top_categories_and_unseen_ones() -> None:
    rng = np.random.default_rng(2)
    known = [f"k{i:02d}" for i in range(15)]
    reference = CategoricalCounts.from_arrow(pa.array(rng.choice(known, 3000), pa.string()))
    values: list[str | None] = list(rng.choice([*known[:12], "new_a", "new_b"], 2000))
    values += ["new_c"] * 7 + [None] * 13
    current = CategoricalCounts.from_arrow(pa.array(values, pa.string()))
    quality = categorical_quality("c", current, reference=reference)
    counts = Counter(v for v in values if v is not None)
    n = sum(counts.values())
    assert (quality.n_rows, quality.n_missing, quality.n_distinct) == (2020, 13, len(counts))
    assert quality.kind is ColumnKind.CATEGORICAL
    # Most frequent first; ties in category order.
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]
    assert [(t["category"], t["count"]) for t in quality.top] == expected
    assert [t["share"] for t in quality.top] == pytest.approx([c / n for _, c in expected])
    unseen = {c: k for c, k in counts.items() if c.startswith("new")}
    assert quality.unseen_share == pytest.approx(sum(unseen.values()) / n)
    assert quality.unseen == sorted(unseen, key=lambda c: (-unseen[c], c))
    assert quality.unseen[-1] == "new_c"
    no_reference = categorical_quality("c", current)
    assert no_reference.unseen_share is None
    assert no_reference.unseen == []
    nothing_new = categorical_quality("c", reference, reference=reference)
    assert nothing_new.unseen_share == 0.0


def test_categorical_quality_through_compare_tables() -> None:
    reference = pa.table({"plan": ["basic", "pro", "team"] * 100})
    current = pa.table({"plan": ["pro"] * 150 + ["enterprise"] * 50 + [None] * 100})
    quality = compare_tables(reference, current).columns["plan"].quality
    assert quality.top == [
        {"category": "pro", "count": 150, "share": 0.75},
        {"category": "enterprise", "count": 50, "share": 0.25},
    ]
    assert quality.unseen == ["enterprise"]
    assert quality.unseen_share == 0.25
    assert quality.missing_share == pytest.approx(1 / 3)


# --- constant and empty columns -----------------------------------------------------------------


def test_constant_and_empty_columns() -> None:
    reference = pa.table(
        {"const": np.arange(100.0), "empty": np.arange(100.0), "word": ["a", "b"] * 50}
    )
    current = pa.table(
        {
            "const": np.full(80, 5.0),
            "empty": pa.nulls(80, pa.float64()),
            "word": pa.array(["a"] * 60 + [None] * 20, pa.string()),
        }
    )
    report = compare_tables(reference, current)
    const, empty, word = (report.columns[n].quality for n in ("const", "empty", "word"))
    assert (const.n_distinct, const.constant, const.std) == (1, True, 0.0)
    assert (empty.n_distinct, empty.constant, empty.missing_share) == (0, None, 1.0)
    assert empty.mean is None
    assert set(empty.quantiles.values()) == {None}
    assert report.columns["empty"].drift.status == "insufficient_data"
    assert word.constant is True
    assert report.quality is not None
    assert report.quality.constant_columns == ["const", "word"]
    assert report.quality.empty_columns == ["empty"]


def test_a_current_table_without_rows() -> None:
    reference = pa.table({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    current = reference.schema.empty_table()
    report = compare_tables(reference, current)
    for name in ("x", "c"):
        quality = report.columns[name].quality
        assert (quality.n_rows, quality.missing_share, quality.constant) == (0, None, None)
        assert report.columns[name].drift.status == "insufficient_data"
    assert report.quality is not None
    assert report.quality.duplicated_rows == 0
    assert report.quality.duplicated_rows_share is None
    assert report.quality.empty_columns == []


# --- duplicates ---------------------------------------------------------------------------------


def mixed_table(seed: int, n: int, chunks: int) -> pa.Table:
    """Numbers (with NaN, nulls, signed zeros), strings (with nulls), booleans and ids, in
    uneven chunks; few distinct values so that rows repeat."""
    rng = np.random.default_rng(seed)
    x = rng.choice([0.0, -0.0, 1.5, np.nan, 2.0, 1e300], n)
    with_nulls = [None if rng.random() < 0.1 else float(v) for v in x]
    words = [None if rng.random() < 0.1 else str(w) for w in rng.choice(["a", "b", "", "é"], n)]
    table = pa.table(
        {
            "x": x,
            "y": pa.array(with_nulls, pa.float64()),
            "i": rng.integers(0, 4, n),
            "s": pa.array(words, pa.string()),
            "d": pa.array(words, pa.string()).dictionary_encode(),
            "b": rng.random(n) < 0.5,
            "id": [f"r{v}" for v in rng.integers(0, n, n)],
            "num_id": rng.integers(0, n, n),
        }
    )
    cuts = sorted(rng.choice(np.arange(1, n), chunks - 1, replace=False).tolist())
    bounds = [0, *cuts, n]
    return pa.Table.from_batches(
        [b for a, z in itertools.pairwise(bounds) for b in table.slice(a, z - a).to_batches()]
    )


COLUMN_SETS = [["x"], ["y"], ["x", "i"], ["s"], ["d", "b"], ["y", "s", "i"], None]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("columns", COLUMN_SETS, ids=lambda c: "+".join(c) if c else "all")
def test_duplicated_rows_equal_pandas(seed: int, columns: list[str] | None) -> None:
    table = mixed_table(seed, 4000, chunks=7)
    assert table.column("x").num_chunks == 7
    frame = table.to_pandas()
    names = (
        [n for n in table.column_names if n not in ("id", "num_id")] if columns is None else columns
    )
    expected = int(frame[names].duplicated().sum())
    quality = dataset_quality(table, columns=names)
    assert quality.duplicated_rows == expected
    assert quality.duplicated_rows_share == pytest.approx(expected / 4000)


def test_duplicated_rows_of_mostly_distinct_rows_equal_pandas() -> None:
    rng = np.random.default_rng(3)
    base = pa.table(
        {"x": rng.normal(size=50_000), "s": [f"w{v}" for v in rng.integers(0, 10**6, 50_000)]}
    )
    repeats = base.take(rng.integers(0, 50_000, 1234))
    table = pa.concat_tables([base, repeats])
    expected = int(table.to_pandas().duplicated().sum())
    assert dataset_quality(table).duplicated_rows == expected
    assert expected >= 1234  # every repeat, plus any chance repeats in the base


def test_duplicated_ids_equal_pandas() -> None:
    table = mixed_table(4, 3000, chunks=3)
    frame = table.to_pandas()
    for name in ("id", "num_id"):
        quality = dataset_quality(table, id_column=name)
        assert quality.duplicated_ids == int(frame[name].duplicated().sum())
    assert dataset_quality(table, id_column="not_there").duplicated_ids is None
    assert dataset_quality(table).duplicated_ids is None


def test_duplicated_ids_of_large_integers() -> None:
    ids = 10**18 + np.arange(1000, dtype=np.int64)
    table = pa.table({"id": np.concatenate((ids, ids[:10]))})
    assert dataset_quality(table, id_column="id").duplicated_ids == 10


# --- schema changes -----------------------------------------------------------------------------


def test_schema_changes_missing_new_columns_and_type_changes() -> None:
    reference = pa.table(
        {
            "a": [1.0, 2.0],
            "b": [1, 2],
            "c": ["x", "y"],
            "d": [1, 2],
            "e": ["p", "q"],
            "gone": [0.0, 1.0],
        }
    )
    current = pa.table(
        {
            "a": ["1.0", "2.0"],  # number -> string
            "b": [1.5, 2.5],  # int -> float: still a number
            "c": [3, 4],  # string -> number
            "d": [1, 2],
            "e": pa.array(["p", "q"]).dictionary_encode(),  # dictionary of strings: a string
            "added": [True, False],
        }
    )
    quality = dataset_quality(current, reference=reference)
    assert quality.missing_columns == ["gone"]
    assert quality.new_columns == ["added"]
    assert quality.type_changes == [
        {"column": "a", "reference": "double", "current": "string"},
        {"column": "c", "reference": "string", "current": "int64"},
    ]
    assert quality.schema_changed is True
    same = dataset_quality(reference, reference=reference)
    assert (same.missing_columns, same.new_columns, same.type_changes) == ([], [], [])
    assert same.schema_changed is False


def test_compare_tables_reports_schema_changes() -> None:
    reference = pa.table({"x": np.arange(100.0), "gone": np.arange(100.0)})
    current = pa.table({"x": np.arange(100.0), "added": np.arange(100.0)})
    report = compare_tables(reference, current)
    assert list(report.columns) == ["x"]
    assert report.quality is not None
    assert report.quality.missing_columns == ["gone"]
    assert report.quality.new_columns == ["added"]

    # Only the columns named are checked: the others may come and go.
    limited = compare_tables(reference, current, schema_columns={"x", "added"})
    assert limited.quality is not None
    assert (limited.quality.missing_columns, limited.quality.new_columns) == ([], ["added"])
    by_schema = dataset_quality(current, reference=reference.schema, schema_columns={"gone"})
    assert (by_schema.missing_columns, by_schema.new_columns) == (["gone"], [])


@pytest.mark.parametrize("dictionary", [False, True])
def test_text_in_a_numerical_column_counts_as_type_mismatches(dictionary: bool) -> None:
    rng = np.random.default_rng(5)
    reference = pa.table({"x": rng.normal(10.0, 2.0, 500)})
    numbers = rng.normal(10.0, 2.0, 400)
    texts: list[str | None] = [repr(float(v)) for v in numbers]
    texts += ["abc"] * 30 + ["n/a"] * 20 + [None] * 50
    column = pa.array(texts, pa.string())
    current = pa.table({"x": column.dictionary_encode() if dictionary else column})
    report = compare_tables(reference, current)
    quality = report.columns["x"].quality
    assert quality.kind is ColumnKind.NUMERICAL
    assert quality.n_rows == 500
    assert quality.type_mismatch_share == pytest.approx(50 / 500)
    assert quality.n_missing == 100  # unparsable text and nulls
    assert quality.mean == pytest.approx(numbers.mean(), rel=1e-12)
    assert quality.n_distinct == len(np.unique(numbers))
    drift = report.columns["x"].drift
    assert drift.n_current == 400
    assert drift.drifted is False
    assert report.quality is not None
    expected_type = (
        "dictionary<values=string, indices=int32, ordered=0>" if dictionary else "string"
    )
    assert report.quality.type_changes == [
        {"column": "x", "reference": "double", "current": expected_type}
    ]
    clean = compare_tables(reference, reference).columns["x"].quality
    assert clean.type_mismatch_share == 0.0


# --- quality from a summary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(6).normal(100.0, 15.0, 50_000),
        np.random.default_rng(7).lognormal(1.0, 0.8, 50_000),
        -np.random.default_rng(8).exponential(4.0, 50_000) - 1.0,
    ],
    ids=["normal", "lognormal", "negative"],
)
def test_quality_from_a_summary_is_close_to_exact(values: FloatArray) -> None:
    raw = values.copy()
    raw[::97] = np.nan
    reference = np.sort(values[::3])
    bounds = (float(reference[5]), float(reference[-5]))
    current = NumericalValues.from_numpy(raw)
    exact = numerical_quality("x", current, bounds=bounds)
    summary = NumericalSummary.from_values(current, percentile_edges(reference), bounds)
    approx = numerical_quality("x", summary)
    assert approx.exact is False
    assert (approx.n_rows, approx.n_missing) == (exact.n_rows, exact.n_missing)
    assert approx.mean == pytest.approx(exact.mean, rel=1e-12)
    assert approx.std == pytest.approx(exact.std, rel=1e-9)
    assert (approx.minimum, approx.maximum) == (exact.minimum, exact.maximum)
    for key in KEYS:
        assert approx.quantiles[key] == pytest.approx(exact.quantiles[key], rel=0.005), key
    assert approx.n_distinct == pytest.approx(exact.n_distinct, rel=0.05)
    assert approx.out_of_range_share == pytest.approx(exact.out_of_range_share, rel=1e-12)
    assert approx.bounds == exact.bounds


def test_quality_from_a_few_valued_summary_is_exact() -> None:
    raw = np.random.default_rng(9).integers(0, 40, 5000).astype(np.float64)
    current = NumericalValues.from_numpy(raw)
    exact = numerical_quality("x", current)
    summary = NumericalSummary.from_values(current, percentile_edges(np.sort(raw)))
    approx = numerical_quality("x", summary)
    assert approx.exact is True
    assert approx.quantiles == exact.quantiles
    assert approx.n_distinct == exact.n_distinct == 40
    assert approx.out_of_range_share is None  # no bounds
    empty = NumericalSummary.from_values(
        NumericalValues.from_numpy(np.array([np.nan])), summary.edges
    )
    nothing = numerical_quality("x", empty)
    assert (nothing.n_rows, nothing.n_missing, nothing.mean, nothing.minimum) == (1, 1, None, None)
    assert set(nothing.quantiles.values()) == {None}
