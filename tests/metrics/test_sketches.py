"""The mergeable sketches: relative-error quantiles and HyperLogLog distinct counts.

Known answers come from NumPy on the same data (``np.quantile(..., method="lower")``, the exact
distinct count); hypothesis checks that merging is exact whatever the chunking and order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sightline.metrics.sketches import MIN_MAGNITUDE, DistinctSketch, QuantileSketch

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
QS = np.linspace(0.0, 1.0, 201)


def same_sketch(a: QuantileSketch, b: QuantileSketch) -> bool:
    return (
        a.alpha == b.alpha
        and a.zeros == b.zeros
        and all(
            np.array_equal(getattr(a, name), getattr(b, name))
            for name in ("positive_keys", "positive_counts", "negative_keys", "negative_counts")
        )
    )


def relative_error(approx: FloatArray, exact: FloatArray) -> FloatArray:
    """|approx - exact| / |exact|, with values the sketch counts as zero compared absolutely."""
    scale = np.where(np.abs(exact) < MIN_MAGNITUDE, 1.0, np.abs(exact))
    error: FloatArray = np.abs(approx - exact) / scale
    return error


def _zeros_and_negatives(rng: np.random.Generator, n: int) -> FloatArray:
    values = rng.normal(5.0, 10.0, n)
    values[rng.random(n) < 0.3] = 0.0
    return values


DISTRIBUTIONS: dict[str, Callable[[np.random.Generator, int], FloatArray]] = {
    "normal": lambda rng, n: rng.normal(0.0, 1.0, n),
    "normal far from zero": lambda rng, n: rng.normal(1000.0, 1.0, n),
    "lognormal": lambda rng, n: rng.lognormal(0.0, 2.0, n),
    "zeros and negatives": _zeros_and_negatives,
    "integers": lambda rng, n: rng.integers(-50, 1000, n).astype(np.float64),
    "tiny magnitudes": lambda rng, n: rng.normal(0.0, 1e-6, n),
    "huge magnitudes": lambda rng, n: -1e250 * rng.lognormal(0.0, 5.0, n),
    "all negative": lambda rng, n: -rng.exponential(3.0, n),
}


# --- quantiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.005, 0.01, 0.05])
@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quantiles_are_within_alpha_of_the_exact_lower_quantile(name: str, alpha: float) -> None:
    rng = np.random.default_rng(sorted(DISTRIBUTIONS).index(name))
    values = DISTRIBUTIONS[name](rng, 50_000)
    assert np.isfinite(values).all()
    sketch = QuantileSketch.from_values(values, alpha)
    got = np.array(sketch.quantiles(QS), dtype=np.float64)
    exact = np.quantile(values, QS, method="lower")
    # Rounding of the bucket's representative value may add a few ulps to the bound.
    assert relative_error(got, exact).max() <= alpha * (1 + 1e-9)
    assert sketch.count == values.size


def test_quantile_of_a_single_value_and_of_nothing() -> None:
    sketch = QuantileSketch.from_values(np.array([42.0]))
    assert sketch.quantile(0.0) == sketch.quantile(1.0) == pytest.approx(42.0, rel=0.005)
    assert sketch.quantile(0.5) != 42.0  # a bucket's representative, not the value itself
    empty = QuantileSketch.empty()
    assert empty.count == 0
    assert empty.quantiles([0.1, 0.9]) == [None, None]
    assert QuantileSketch.from_values(np.empty(0)).quantile(0.5) is None


def test_values_below_the_minimum_magnitude_count_as_zero() -> None:
    values = np.array([0.0, -0.0, 1e-13, -1e-13, MIN_MAGNITUDE, -MIN_MAGNITUDE, 3.0])
    sketch = QuantileSketch.from_values(values)
    assert sketch.zeros == 4
    assert sketch.positive_counts.sum() == 2
    assert sketch.negative_counts.sum() == 1
    assert same_sketch(sketch, QuantileSketch.from_sorted(np.sort(values)))


finite_values = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
samples = hnp.arrays(np.float64, st.integers(0, 300), elements=finite_values)


@settings(max_examples=200, deadline=None)
@given(values=samples)
def test_from_sorted_equals_from_values(values: FloatArray) -> None:
    assert same_sketch(
        QuantileSketch.from_sorted(np.sort(values)), QuantileSketch.from_values(values)
    )


def test_from_sorted_equals_from_values_on_bucket_boundaries() -> None:
    # Values exactly on γ^k, and one ulp either side: where a binary search and a per-value
    # logarithm could disagree.
    alpha = 0.005
    log_gamma = math.log((1 + alpha) / (1 - alpha))
    keys = np.arange(-3000, 3000)
    on = np.exp(keys * log_gamma)
    values = np.concatenate((on, np.nextafter(on, 0.0), np.nextafter(on, np.inf)))
    values = np.concatenate((values, -values, np.zeros(5)))
    assert same_sketch(
        QuantileSketch.from_sorted(np.sort(values), alpha),
        QuantileSketch.from_values(values, alpha),
    )


@st.composite
def chunked(draw: st.DrawFn) -> tuple[FloatArray, list[FloatArray]]:
    """A sample and the same values split into random chunks, shuffled."""
    values = draw(
        hnp.arrays(
            np.float64,
            st.integers(0, 400),
            elements=st.one_of(finite_values, st.sampled_from([0.0, 1.0, -1.0, 2.5])),
        )
    )
    cuts = sorted(draw(st.lists(st.integers(0, values.size), max_size=8)))
    chunks = np.split(values, cuts)
    order = draw(st.permutations(range(len(chunks))))
    return values, [chunks[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(data=chunked(), use_sorted=st.booleans())
def test_merging_chunks_in_any_order_gives_the_sketch_of_the_whole(
    data: tuple[FloatArray, list[FloatArray]], use_sorted: bool
) -> None:
    values, chunks = data
    merged = QuantileSketch.empty()
    for chunk in chunks:
        part = (
            QuantileSketch.from_sorted(np.sort(chunk))
            if use_sorted
            else QuantileSketch.from_values(chunk)
        )
        merged = merged.merge(part)
    whole = QuantileSketch.from_values(values)
    assert same_sketch(merged, whole)
    assert merged.quantiles(QS) == whole.quantiles(QS)


def test_merge_is_commutative_and_rejects_another_accuracy() -> None:
    rng = np.random.default_rng(5)
    a = QuantileSketch.from_values(rng.normal(size=1000))
    b = QuantileSketch.from_values(rng.lognormal(size=700))
    assert same_sketch(a.merge(b), b.merge(a))
    with pytest.raises(ValueError, match="accurac"):
        a.merge(QuantileSketch.from_values(rng.normal(size=10), alpha=0.01))


@pytest.mark.parametrize("name", ["zeros and negatives", "lognormal", "integers"])
def test_quantile_sketch_dict_round_trip_is_lossless(name: str) -> None:
    rng = np.random.default_rng(11)
    sketch = QuantileSketch.from_values(DISTRIBUTIONS[name](rng, 5000), alpha=0.01)
    data = json.loads(json.dumps(sketch.to_dict()))
    back = QuantileSketch.from_dict(data)
    assert same_sketch(back, sketch)
    assert back.positive_keys.dtype == np.int64
    assert back.quantiles(QS) == sketch.quantiles(QS)
    empty = QuantileSketch.from_dict(json.loads(json.dumps(QuantileSketch.empty().to_dict())))
    assert same_sketch(empty, QuantileSketch.empty())


# --- distinct counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("cardinality", [10, 100, 1000, 5000, 20_000, 50_000, 200_000])
def test_distinct_estimate_is_within_5_percent(cardinality: int) -> None:
    rng = np.random.default_rng(cardinality)
    distinct = rng.normal(size=cardinality)
    # Each value several times, shuffled: only distinct values count.
    values = rng.permutation(np.repeat(distinct, 3))
    estimate = DistinctSketch.from_values(values).estimate()
    assert len(np.unique(values)) == cardinality
    assert estimate == pytest.approx(cardinality, rel=0.05)


def test_distinct_counts_integers_and_signed_zeros() -> None:
    values = np.concatenate((np.arange(3000.0), [0.0, -0.0, -0.0]))
    assert DistinctSketch.from_values(values).estimate() == pytest.approx(3000, rel=0.05)
    signed_zeros = DistinctSketch.from_values(np.array([0.0, -0.0]))
    assert signed_zeros.estimate() == pytest.approx(1.0, rel=0.01)
    assert DistinctSketch.empty().estimate() == 0.0


@settings(max_examples=40, deadline=None)
@given(data=chunked())
def test_distinct_merge_equals_the_sketch_of_the_union(
    data: tuple[FloatArray, list[FloatArray]],
) -> None:
    values, chunks = data
    merged = DistinctSketch.empty()
    for chunk in chunks:
        merged = merged.merge(DistinctSketch.from_values(chunk))
    assert np.array_equal(merged.registers, DistinctSketch.from_values(values).registers)


def test_distinct_merge_of_overlapping_sets() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 60_000, 80_000).astype(np.float64)
    b = rng.integers(40_000, 100_000, 80_000).astype(np.float64)
    union = DistinctSketch.from_values(np.concatenate((a, b)))
    merged = DistinctSketch.from_values(a).merge(DistinctSketch.from_values(b))
    assert np.array_equal(merged.registers, union.registers)
    exact = len(np.unique(np.concatenate((a, b))))
    assert merged.estimate() == pytest.approx(exact, rel=0.05)


def test_distinct_sketch_dict_round_trip_is_lossless() -> None:
    sketch = DistinctSketch.from_values(np.random.default_rng(4).normal(size=30_000))
    back = DistinctSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    assert back.registers.dtype == np.uint8
    assert np.array_equal(back.registers, sketch.registers)
    assert back.estimate() == sketch.estimate()
    back.registers[0] = 0  # a copy: the restored sketch owns its registers
