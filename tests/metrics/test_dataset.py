"""compare_tables: column by column drift, missing values and the dataset verdict."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from sightline.errors import ValidationError
from sightline.metrics.columns import ColumnKind
from sightline.metrics.dataset import DEFAULT_DRIFT_SHARE, TOP_MOVED, DatasetReport, compare_tables

TOL = {"rel": 1e-9, "abs": 1e-9}


def make_table(rng: np.random.Generator, n: int, *, shift: bool = False) -> pa.Table:
    """Four columns; with ``shift`` every one of them moves clearly."""
    plans = ["basic", "pro", "team"]
    return pa.table(
        {
            "age": rng.normal(45 if shift else 35, 8, n),
            "income": rng.lognormal(11 if shift else 10, 0.5, n),
            "plan": rng.choice(plans, size=n, p=[0.1, 0.3, 0.6] if shift else [0.6, 0.3, 0.1]),
            "active": rng.random(n) < (0.8 if shift else 0.3),
        }
    )


def test_unshifted_data_does_not_drift() -> None:
    # Two samples of one distribution; a fixed seed, since each check has a 5 % false-alarm rate.
    rng = np.random.default_rng(3)
    report = compare_tables(make_table(rng, 800), make_table(rng, 600))
    assert set(report.columns) == {"age", "income", "plan", "active"}
    assert report.drifted_columns == []
    assert report.share_of_drifted_columns == 0.0
    assert report.dataset_drift is False
    assert (report.n_reference, report.n_current) == (800, 600)


def test_clearly_shifted_data_drifts_in_every_column() -> None:
    rng = np.random.default_rng(2)
    report = compare_tables(make_table(rng, 800), make_table(rng, 600, shift=True))
    assert sorted(report.drifted_columns) == ["active", "age", "income", "plan"]
    assert report.share_of_drifted_columns == 1.0
    assert report.dataset_drift is True
    methods = {name: c.drift.method for name, c in report.columns.items()}
    assert methods == {"age": "ks", "income": "ks", "plan": "chisquare", "active": "z"}
    kinds = {name: c.kind for name, c in report.columns.items()}
    assert kinds["age"] is ColumnKind.NUMERICAL
    assert kinds["plan"] is kinds["active"] is ColumnKind.CATEGORICAL


def test_large_tables_use_the_distances() -> None:
    rng = np.random.default_rng(3)
    report = compare_tables(make_table(rng, 3000), make_table(rng, 2000, shift=True))
    methods = {name: c.drift.method for name, c in report.columns.items()}
    assert methods == {
        "age": "wasserstein",
        "income": "wasserstein",
        "plan": "jensenshannon",
        "active": "jensenshannon",
    }
    assert report.dataset_drift is True


def test_column_drift_matches_scipy_on_the_present_values() -> None:
    rng = np.random.default_rng(4)
    ref_values = rng.normal(0, 1, 400)
    cur_values = rng.normal(0.25, 1, 300)
    ref = pa.table({"x": pa.array(list(ref_values) + [None] * 40, pa.float64())})
    cur = pa.table({"x": list(cur_values) + [float("nan")] * 20})
    drift = compare_tables(ref, cur).columns["x"].drift
    expected = stats.ks_2samp(ref_values, cur_values)
    assert drift.p_value == pytest.approx(expected.pvalue, **TOL)
    assert drift.statistic == pytest.approx(expected.statistic, **TOL)
    assert (drift.n_reference, drift.n_current) == (400, 300)


def test_nan_and_none_count_as_missing() -> None:
    ref = pa.table({"x": [float(i) for i in range(100)], "c": ["a", "b"] * 50})
    cur = pa.table(
        {
            "x": pa.array([1.0, None, float("nan"), 3.0] * 25, pa.float64()),
            "c": pa.array(["a", None, "b", None] * 25),
        }
    )
    report = compare_tables(ref, cur)
    x, c = report.columns["x"], report.columns["c"]
    assert (x.n_rows, x.n_missing, x.missing_share) == (100, 50, 0.5)
    assert (c.n_rows, c.n_missing, c.missing_share) == (100, 50, 0.5)
    assert x.drift.n_current == 50
    assert c.drift.n_current == 50


def test_nan_in_a_float_column_compared_as_categories_is_missing() -> None:
    ref = pa.table({"k": [1.0, 2.0] * 50})
    cur = pa.table({"k": [1.0, 2.0, float("nan"), None] * 25})
    report = compare_tables(ref, cur, {"k": ColumnKind.CATEGORICAL})
    column = report.columns["k"]
    assert (column.n_rows, column.n_missing) == (100, 50)
    assert column.distribution["categories"] == ["1", "2"]


def test_missing_values_can_leave_a_column_with_insufficient_data() -> None:
    rng = np.random.default_rng(5)
    ref = pa.table({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    cur = pa.table(
        {
            "x": pa.array([100.0] * 10 + [None] * 190, pa.float64()),
            "y": rng.normal(size=200),
        }
    )
    report = compare_tables(ref, cur, min_rows=30)
    x = report.columns["x"]
    assert x.drift.status == "insufficient_data"
    assert x.drift.drifted is None
    assert [c.column for c in report.checked] == ["y"]
    assert report.drifted_columns == []
    assert report.share_of_drifted_columns == 0.0


def test_every_column_insufficient_gives_no_dataset_verdict() -> None:
    ref = pa.table({"x": [1.0, 2.0, 3.0] * 5, "c": ["a"] * 15})
    cur = pa.table({"x": [50.0] * 15, "c": ["b"] * 15})
    report = compare_tables(ref, cur)
    assert report.checked == []
    assert report.share_of_drifted_columns is None
    assert report.dataset_drift is None
    assert all(c.drift.status == "insufficient_data" for c in report.columns.values())
    report = compare_tables(ref, cur, min_rows=15)
    assert report.dataset_drift is True


def test_empty_current_table() -> None:
    ref = pa.table({"x": [float(i) for i in range(100)]})
    cur = pa.table({"x": pa.array([], pa.float64())})
    report = compare_tables(ref, cur)
    column = report.columns["x"]
    assert (column.n_rows, column.n_missing, column.missing_share) == (0, 0, None)
    assert column.drift.status == "insufficient_data"
    assert report.dataset_drift is None


@pytest.mark.parametrize(
    ("n_drifted", "drift_share", "expected"),
    [(1, 0.5, False), (2, 0.5, True), (3, 0.5, True), (1, 0.25, True), (3, 0.9, False)],
)
def test_dataset_drift_share(n_drifted: int, drift_share: float, expected: bool) -> None:
    # four columns, the first n_drifted move far
    rng = np.random.default_rng(6)
    names = ["a", "b", "c", "d"]
    ref = pa.table({n: rng.normal(size=300) for n in names})
    cur = pa.table({n: rng.normal(5 if i < n_drifted else 0, 1, 300) for i, n in enumerate(names)})
    report = compare_tables(ref, cur, drift_share=drift_share)
    assert report.drifted_columns == names[:n_drifted]
    assert report.share_of_drifted_columns == n_drifted / 4
    assert report.dataset_drift is expected
    assert report.drift_share == drift_share


def test_default_drift_share_is_half() -> None:
    assert DEFAULT_DRIFT_SHARE == 0.5
    report = compare_tables(pa.table({"x": [1.0]}), pa.table({"x": [1.0]}))
    assert report.drift_share == 0.5


def test_dataset_report_properties_from_hand_made_columns() -> None:
    rng = np.random.default_rng(7)
    ref = pa.table({"x": rng.normal(size=100), "y": rng.normal(size=100)})
    cur = pa.table({"x": rng.normal(3, 1, 100), "y": rng.normal(size=100)})
    full = compare_tables(ref, cur)
    assert full.share_of_drifted_columns == 0.5
    only_y = DatasetReport(100, 100, {"y": full.columns["y"]}, 0.5)
    assert only_y.dataset_drift is False
    assert DatasetReport(0, 0, {}, 0.5).dataset_drift is None


def test_only_shared_columns_are_compared_by_default() -> None:
    ref = pa.table({"x": [1.0] * 40, "only_ref": [1] * 40})
    cur = pa.table({"only_cur": ["a"] * 40, "x": [1.0] * 40})
    report = compare_tables(ref, cur)
    assert list(report.columns) == ["x"]


def test_explicit_columns_and_their_kinds() -> None:
    ref = pa.table({"code": [1, 2, 3, 4, 5, 6, 7] * 20, "ignored": [0.0] * 140})
    cur = pa.table({"code": [1, 2, 3, 4, 5, 6, 7] * 20, "ignored": [9.0] * 140})
    report = compare_tables(ref, cur, {"code": ColumnKind.CATEGORICAL})
    assert list(report.columns) == ["code"]
    column = report.columns["code"]
    assert column.kind is ColumnKind.CATEGORICAL
    assert column.drift.method == "chisquare"
    assert column.drift.drifted is False


@pytest.mark.parametrize("side", ["reference", "current"])
def test_a_missing_column_names_the_column_and_the_side(side: str) -> None:
    full = pa.table({"x": [1.0] * 40, "y": [2.0] * 40})
    partial = pa.table({"x": [1.0] * 40})
    ref, cur = (partial, full) if side == "reference" else (full, partial)
    with pytest.raises(ValidationError) as caught:
        compare_tables(ref, cur, {"x": ColumnKind.NUMERICAL, "y": ColumnKind.NUMERICAL})
    assert caught.value.field == "y"
    assert f"missing from the {side} data" in str(caught.value)


def test_methods_and_thresholds_per_column() -> None:
    rng = np.random.default_rng(8)
    ref = pa.table({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    cur = pa.table({"x": rng.normal(0.1, 1, 300), "y": rng.normal(0.1, 1, 300)})
    report = compare_tables(
        ref, cur, methods={"x": "wasserstein"}, thresholds={"x": 0.01, "y": 0.999}
    )
    x, y = report.columns["x"].drift, report.columns["y"].drift
    assert (x.method, x.threshold) == ("wasserstein", 0.01)
    expected = stats.wasserstein_distance(ref["x"].to_numpy(), cur["x"].to_numpy()) / np.std(
        ref["x"].to_numpy()
    )
    assert x.score == pytest.approx(expected, **TOL)
    assert x.drifted is bool(expected >= 0.01)
    assert (y.method, y.threshold) == ("ks", 0.999)
    assert y.drifted is True  # any p-value below 0.999 counts as drift at that threshold


def test_min_rows_is_passed_to_every_column() -> None:
    ref = pa.table({"x": [float(i) for i in range(50)]})
    cur = pa.table({"x": [float(i) for i in range(50)]})
    assert compare_tables(ref, cur, min_rows=51).columns["x"].drift.status == "insufficient_data"
    assert compare_tables(ref, cur, min_rows=50).columns["x"].drift.status == "ok"


# --- distributions ------------------------------------------------------------------------------


def test_numerical_distribution_bins_both_sides_alike() -> None:
    ref = pa.table({"x": [float(i % 100) for i in range(1000)]})
    cur = pa.table({"x": [float(i % 100) + 50 for i in range(500)]})
    dist = compare_tables(ref, cur).columns["x"].distribution
    edges = dist["edges"]
    assert len(edges) == 21
    assert edges[0] == 0.0
    assert edges[-1] == 149.0
    assert sum(dist["reference"]) == pytest.approx(1.0)
    assert sum(dist["current"]) == pytest.approx(1.0)
    assert np.histogram(ref["x"].to_numpy(), bins=edges)[0].tolist() == [
        round(s * 1000) for s in dist["reference"]
    ]
    assert np.histogram(cur["x"].to_numpy(), bins=edges)[0].tolist() == [
        round(s * 500) for s in dist["current"]
    ]
    moved = dist["moved"]
    assert len(moved) == TOP_MOVED
    changes = [abs(m["change"]) for m in moved]
    assert changes == sorted(changes, reverse=True)
    # the lowest reference decile emptied out entirely in the current window
    lowest = next(m for m in moved if m["range"][0] is None)
    assert lowest["reference"] == pytest.approx(0.1)
    assert lowest["current"] == 0.0


def test_categorical_distribution_lists_what_moved_most() -> None:
    ref = pa.table({"c": ["a"] * 60 + ["b"] * 30 + ["c"] * 10})
    cur = pa.table({"c": ["a"] * 20 + ["b"] * 30 + ["c"] * 10 + ["d"] * 40})
    dist = compare_tables(ref, cur).columns["c"].distribution
    assert dist["categories"] == ["a", "b", "d", "c"]  # by total count, most first
    assert dist["reference"] == [0.6, 0.3, 0.0, 0.1]
    assert dist["current"] == [0.2, 0.3, 0.4, 0.1]
    moved = {m["category"]: m["change"] for m in dist["moved"]}
    assert {m["category"] for m in dist["moved"][:2]} == {"a", "d"}
    assert moved == pytest.approx({"a": -0.4, "b": 0.0, "c": 0.0, "d": 0.4})


def test_report_to_dict_is_strict_json() -> None:
    rng = np.random.default_rng(9)
    report = compare_tables(make_table(rng, 300), make_table(rng, 200, shift=True))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["dataset_drift"] is True
    assert data["n_reference"] == 300
    assert sorted(data["drifted_columns"]) == ["active", "age", "income", "plan"]
    assert data["columns"]["age"]["drift"]["method"] == "ks"
    assert data["columns"]["plan"]["kind"] == "categorical"
    assert data["columns"]["age"]["missing_share"] == 0.0
