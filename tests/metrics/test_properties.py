"""Invariants of the drift engine, checked with hypothesis on generated data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sightline.metrics.columns import CategoricalCounts, NumericalValues
from sightline.metrics.dataset import compare_tables
from sightline.metrics.drift import detect_drift
from sightline.metrics.drift.numerical import wasserstein_sorted

FAST = settings(max_examples=50, deadline=None)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Samples with few distinct values (ties, the few-values path) as well as continuous ones.
few_values = st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0, 7.0]), min_size=30, max_size=150)
many_values = st.lists(finite, min_size=30, max_size=150)
numbers = st.one_of(few_values, many_values)
words = st.lists(st.sampled_from(["a", "b", "c", "d", "é", ""]), min_size=30, max_size=150)
binary = st.lists(st.sampled_from(["yes", "no"]), min_size=30, max_size=150)
# Missing values mixed in: None and NaN.
gappy_numbers = st.lists(st.one_of(finite, st.none(), st.just(float("nan"))), max_size=120)
gappy_words = st.lists(st.one_of(st.sampled_from(["x", "y", "z"]), st.none()), max_size=120)


def num(values: list[float]) -> NumericalValues:
    return NumericalValues.from_numpy(np.asarray(values, dtype=np.float64))


def cat(values: list[str]) -> CategoricalCounts:
    return CategoricalCounts.from_arrow(pa.array(values, pa.string()))


# --- drift(x, x) never drifts -------------------------------------------------------------------


@FAST
@given(values=numbers, method=st.sampled_from([None, "ks", "wasserstein", "chisquare"]))
def test_numerical_sample_against_itself_never_drifts(
    values: list[float], method: str | None
) -> None:
    result = detect_drift("x", num(values), num(values), method=method)
    assert result.status == "ok"
    assert result.drifted is False
    assert result.score is not None
    if method in ("ks", "chisquare"):
        assert result.score == pytest.approx(1.0)
    if method == "wasserstein":
        assert result.score == 0.0


@FAST
@given(values=numbers)
def test_jensenshannon_of_a_numerical_sample_against_itself_is_zero(values: list[float]) -> None:
    result = detect_drift("x", num(values), num(values), method="jensenshannon")
    assert result.drifted is False
    assert result.score == 0.0


@FAST
@given(values=words, method=st.sampled_from([None, "chisquare", "jensenshannon"]))
def test_categorical_sample_against_itself_never_drifts(
    values: list[str], method: str | None
) -> None:
    result = detect_drift("c", cat(values), cat(values), method=method)
    assert result.status == "ok"
    assert result.drifted is False
    assert result.score is not None
    if method == "jensenshannon":
        assert result.score == 0.0
    else:
        assert result.score == pytest.approx(1.0)


@FAST
@given(values=binary, method=st.sampled_from([None, "z", "chisquare", "jensenshannon"]))
def test_two_category_sample_against_itself_never_drifts(
    values: list[str], method: str | None
) -> None:
    result = detect_drift("c", cat(values), cat(values), method=method)
    assert result.drifted is False
    if method in (None, "z"):
        assert result.method == "z"
        assert result.score == pytest.approx(1.0)
        assert result.statistic == pytest.approx(0.0, abs=1e-12)


# --- row order does not matter ------------------------------------------------------------------


@FAST
@given(data=st.data(), x=gappy_numbers, c=gappy_words, current=st.lists(finite, max_size=120))
def test_results_do_not_depend_on_row_order(
    data: st.DataObject, x: list[float | None], c: list[str | None], current: list[float]
) -> None:
    n = min(len(x), len(c))
    x, c = x[:n], c[:n]
    order = data.draw(st.permutations(range(n)))
    reference = pa.table({"x": pa.array(x, pa.float64()), "c": pa.array(c, pa.string())})
    shuffled = reference.take(pa.array(order, pa.int64()))
    m = len(current)
    cur = pa.table(
        {
            "x": pa.array(current, pa.float64()),
            "c": pa.array([["x", "y", None][i % 3] for i in range(m)], pa.string()),
        }
    )
    cur_order = data.draw(st.permutations(range(m)))
    cur_shuffled = cur.take(pa.array(cur_order, pa.int64()))
    expected = compare_tables(reference, cur, min_rows=5).to_dict()
    assert compare_tables(shuffled, cur, min_rows=5).to_dict() == expected
    assert compare_tables(reference, cur_shuffled, min_rows=5).to_dict() == expected


@FAST
@given(values=gappy_numbers, split=st.integers(min_value=0, max_value=120))
def test_chunking_does_not_change_prepared_columns(values: list[float | None], split: int) -> None:
    whole = pa.chunked_array([pa.array(values, pa.float64())])
    chunks = pa.chunked_array(
        [pa.array(values[:split], pa.float64()), pa.array(values[split:], pa.float64())]
    )
    a, b = NumericalValues.from_arrow(whole), NumericalValues.from_arrow(chunks)
    assert a.values.tolist() == b.values.tolist()
    assert a.n_missing == b.n_missing
    assert a.n_rows == len(values)
    assert a.n_missing == sum(v is None or v != v for v in values)
    ca, cb = CategoricalCounts.from_arrow(whole), CategoricalCounts.from_arrow(chunks)
    assert ca.categories == cb.categories
    assert ca.counts.tolist() == cb.counts.tolist()
    assert ca.n_missing == a.n_missing


# --- Wasserstein against scipy ------------------------------------------------------------------


@FAST
@given(a=st.lists(finite, min_size=1, max_size=100), b=st.lists(finite, min_size=1, max_size=100))
def test_wasserstein_sorted_equals_scipy(a: list[float], b: list[float]) -> None:
    sa, sb = np.sort(np.asarray(a)), np.sort(np.asarray(b))
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_sorted(sa, sb) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert wasserstein_sorted(sb, sa) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@FAST
@given(a=many_values, b=many_values)
def test_normalized_wasserstein_equals_scipy(a: list[float], b: list[float]) -> None:
    result = detect_drift("x", num(a), num(b), method="wasserstein")
    expected = stats.wasserstein_distance(a, b) / max(float(np.std(a)), 0.001)
    assert result.score == pytest.approx(expected, rel=1e-9, abs=1e-9)


# scipy warns when its exact KS p-value fails and it falls back to the asymptotic one (for
# near-identical samples); both sides fall back alike. See test_drift.py for that warning.
@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@FAST
@given(a=numbers, b=numbers)
def test_ks_equals_scipy(a: list[float], b: list[float]) -> None:
    result = detect_drift("x", num(a), num(b), method="ks")
    expected = stats.ks_2samp(a, b)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert 0.0 <= result.p_value <= 1.0  # type: ignore[operator]
