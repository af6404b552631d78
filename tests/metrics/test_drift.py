"""Column preparation and drift methods, checked against scipy on the same inputs."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial import distance

from sightline.errors import ComputeError, ValidationError
from sightline.metrics.columns import (
    CategoricalCounts,
    ColumnKind,
    NumericalValues,
    infer_kind,
    union_categories,
)
from sightline.metrics.drift import (
    DriftResult,
    default_method,
    detect_drift,
    drift_method,
    drift_methods,
)
from sightline.metrics.drift.numerical import wasserstein_sorted

TOL = {"rel": 1e-9, "abs": 1e-9}


def num(values: object) -> NumericalValues:
    return NumericalValues.from_numpy(np.asarray(values, dtype=np.float64))


def cat(values: list[object]) -> CategoricalCounts:
    return CategoricalCounts.from_arrow(pa.array(values))


def categorical_sample(
    rng: np.random.Generator, categories: list[str], shares: list[float], n: int
) -> list[object]:
    return [str(c) for c in rng.choice(categories, size=n, p=shares)]


# --- columns ------------------------------------------------------------------------------------


def test_numerical_values_drop_nulls_and_nans_and_sort() -> None:
    column = pa.chunked_array([[3.0, None, float("nan")], [1.0, 2.0], [None]])
    values = NumericalValues.from_arrow(column)
    assert values.values.tolist() == [1.0, 2.0, 3.0]
    assert values.n == 3
    assert values.n_missing == 3
    assert values.n_rows == 6


def test_numerical_values_from_integers_and_numpy() -> None:
    values = NumericalValues.from_arrow(pa.array([5, None, -2, 5]))
    assert values.values.dtype == np.float64
    assert values.values.tolist() == [-2.0, 5.0, 5.0]
    assert values.n_missing == 1
    assert values.n_unique() == 2
    from_numpy = NumericalValues.from_numpy(np.array([[2.0, np.nan], [1.0, 1.0]]))
    assert from_numpy.values.tolist() == [1.0, 1.0, 2.0]
    assert from_numpy.n_missing == 1
    assert num([]).n_unique() == 0


def test_numerical_as_categorical_labels_integral_values_without_fraction() -> None:
    counts = num([1.0, 0.5, 1.0, 2.0, np.nan]).as_categorical()
    assert counts.categories == ("0.5", "1", "2")
    assert counts.counts.tolist() == [1, 2, 1]
    assert counts.n_missing == 1


def test_categorical_counts_from_strings() -> None:
    counts = cat(["b", "a", None, "b", "c", None])
    assert counts.categories == ("a", "b", "c")
    assert counts.counts.tolist() == [1, 2, 1]
    assert counts.n == 4
    assert counts.n_missing == 2
    assert counts.n_rows == 6


def test_categorical_counts_from_other_arrow_types() -> None:
    booleans = CategoricalCounts.from_arrow(pa.chunked_array([[True, None], [False, True]]))
    assert (booleans.categories, booleans.counts.tolist()) == (("false", "true"), [1, 2])
    assert booleans.n_missing == 1
    floats = CategoricalCounts.from_arrow(pa.array([3.0, 3.5, float("nan"), None, 3.0]))
    assert (floats.categories, floats.counts.tolist()) == (("3", "3.5"), [2, 1])
    assert floats.n_missing == 2
    ints = CategoricalCounts.from_arrow(pa.array([3, None, 3, 10]))
    assert (ints.categories, ints.counts.tolist()) == (("10", "3"), [1, 2])
    dictionary = CategoricalCounts.from_arrow(pa.array(["x", "y", "x", None]).dictionary_encode())
    assert (dictionary.categories, dictionary.counts.tolist()) == (("x", "y"), [2, 1])
    assert dictionary.n_missing == 1
    empty = CategoricalCounts.from_arrow(pa.array([None, None], pa.string()))
    assert (empty.categories, empty.n, empty.n_missing) == ((), 0, 2)


def test_aligned_counts_and_union() -> None:
    ref, cur = cat(["a", "b", "b"]), cat(["c", "b"])
    union = union_categories(ref, cur)
    assert union == ("a", "b", "c")
    assert ref.aligned(union).tolist() == [1, 2, 0]
    assert cur.aligned(union).tolist() == [0, 1, 1]


def test_infer_kind() -> None:
    assert infer_kind(pa.array([1, 2])) is ColumnKind.NUMERICAL
    assert infer_kind(pa.array([1.5])) is ColumnKind.NUMERICAL
    assert infer_kind(pa.array([1], pa.decimal128(5, 2))) is ColumnKind.NUMERICAL
    assert infer_kind(pa.array(["a"])) is ColumnKind.CATEGORICAL
    assert infer_kind(pa.array([True])) is ColumnKind.CATEGORICAL
    assert infer_kind(pa.array(["a"]).dictionary_encode()) is ColumnKind.CATEGORICAL


# --- registry -----------------------------------------------------------------------------------


def test_builtin_methods_are_registered_with_conventional_thresholds() -> None:
    methods = drift_methods()
    assert {"ks", "wasserstein", "chisquare", "z", "jensenshannon"} <= set(methods)
    expected = {
        "ks": (0.05, True, {ColumnKind.NUMERICAL}),
        "wasserstein": (0.1, False, {ColumnKind.NUMERICAL}),
        "chisquare": (0.05, True, {ColumnKind.CATEGORICAL}),
        "z": (0.05, True, {ColumnKind.CATEGORICAL}),
        # decile bins of numerical columns, shares of categorical ones
        "jensenshannon": (0.1, False, {ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL}),
    }
    for name, (threshold, is_test, kinds) in expected.items():
        method = drift_method(name)
        assert method.name == name
        assert method.title
        assert method.default_threshold == threshold
        assert method.is_test is is_test
        assert method.kinds == kinds


def test_drift_methods_returns_a_copy() -> None:
    methods = drift_methods()
    methods.pop("ks")
    assert "ks" in drift_methods()


def test_is_drift_direction() -> None:
    # p-values drift when small; distances drift when large (at the threshold included)
    assert drift_method("ks").is_drift(0.01, 0.05)
    assert not drift_method("ks").is_drift(0.05, 0.05)
    assert drift_method("wasserstein").is_drift(0.1, 0.1)
    assert not drift_method("wasserstein").is_drift(0.09, 0.1)


def test_unknown_method_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        drift_method("psi2")
    assert caught.value.field == "method"
    assert "ks" in str(caught.value)
    assert "jensenshannon" in str(caught.value)


# --- each method against scipy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"), [(40, 35, 0.0), (300, 500, 0.3), (2000, 1500, 0.05)]
)
def test_ks_matches_scipy(n_ref: int, n_cur: int, shift: float) -> None:
    rng = np.random.default_rng(n_ref)
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(shift, 1.2, n_cur)
    result = detect_drift("x", num(ref), num(cur), method="ks")
    # scipy's exact p-value up to 10^6 = n_ref * n_cur, its asymptotic one beyond
    method = "exact" if n_ref * n_cur <= 1_000_000 else "asymp"
    expected = stats.ks_2samp(ref, cur, method=method)
    assert result.details["p_value_method"] == method
    assert result.method == "ks"
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.score == pytest.approx(expected.pvalue, **TOL)
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.drifted is bool(expected.pvalue < 0.05)
    assert (result.n_reference, result.n_current) == (n_ref, n_cur)
    assert result.status == "ok"


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    ref = rng.integers(0, 20, 400).astype(float)
    cur = rng.integers(2, 22, 300).astype(float)
    result = detect_drift("x", num(ref), num(cur))
    expected = stats.ks_2samp(ref, cur)
    assert result.method == "ks"
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.drifted is True


def test_ks_on_a_near_identical_window_does_not_warn() -> None:
    ref = np.arange(30.0)
    cur = ref.copy()
    cur[5] = 5.5  # one value moved a little: D = 1/30, p = 1
    result = detect_drift("x", num(ref), num(cur))
    assert result.method == "ks"
    assert result.drifted is False
    assert result.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("scale", "shift"), [(1.0, 0.0), (1.0, 0.5), (5.0, 3.0), (0.01, 0.02)])
def test_wasserstein_matches_scipy(scale: float, shift: float) -> None:
    rng = np.random.default_rng(int(scale * 100))
    ref = rng.normal(10, scale, 1500)
    cur = rng.normal(10 + shift, scale, 1200)
    result = detect_drift("x", num(ref), num(cur), method="wasserstein")
    w = stats.wasserstein_distance(ref, cur)
    expected = w / max(np.std(ref), 0.001)
    assert result.score == pytest.approx(expected, **TOL)
    assert result.statistic == pytest.approx(w, **TOL)
    assert result.p_value is None
    assert result.drifted is bool(expected >= 0.1)


def test_wasserstein_constant_reference_uses_the_std_floor() -> None:
    ref = np.full(100, 4.0)
    cur = np.concatenate([np.full(50, 4.0), np.full(50, 4.002)])
    result = detect_drift("x", num(ref), num(cur), method="wasserstein")
    expected = stats.wasserstein_distance(ref, cur) / 0.001
    assert result.score == pytest.approx(expected, **TOL)
    assert result.score == pytest.approx(1.0, **TOL)
    assert result.drifted is True


def test_wasserstein_sorted_matches_scipy_on_unequal_sizes() -> None:
    rng = np.random.default_rng(3)
    a = np.sort(rng.exponential(2.0, 37))
    b = np.sort(rng.normal(1.0, 3.0, 101))
    assert wasserstein_sorted(a, b) == pytest.approx(stats.wasserstein_distance(a, b), **TOL)
    assert wasserstein_sorted(a, a) == 0.0


@pytest.mark.parametrize(
    ("shares_ref", "shares_cur"),
    [
        ([0.5, 0.3, 0.2], [0.5, 0.3, 0.2]),
        ([0.5, 0.3, 0.2], [0.3, 0.3, 0.4]),
        ([0.4, 0.4, 0.1, 0.1], [0.4, 0.4, 0.2, 0.0]),
    ],
)
def test_chisquare_matches_scipy(shares_ref: list[float], shares_cur: list[float]) -> None:
    rng = np.random.default_rng(11)
    names = [f"c{i}" for i in range(len(shares_ref))]
    ref_values = categorical_sample(rng, names, shares_ref, 600)
    cur_values = categorical_sample(rng, names, shares_cur, 400)
    result = detect_drift("plan", cat(ref_values), cat(cur_values), method="chisquare")
    union = sorted(set(ref_values) | set(cur_values))
    table = np.array([[ref_values.count(c) for c in union], [cur_values.count(c) for c in union]])
    expected = stats.chi2_contingency(table, correction=False)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.score == pytest.approx(expected.pvalue, **TOL)
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.drifted is bool(expected.pvalue < 0.05)


def test_chisquare_counts_a_category_seen_on_one_side_only() -> None:
    ref = ["a"] * 50 + ["b"] * 50
    cur = ["a"] * 40 + ["b"] * 40 + ["new"] * 20
    result = detect_drift("c", cat(ref), cat(cur), method="chisquare")
    expected = stats.chi2_contingency(np.array([[50, 50, 0], [40, 40, 20]]), correction=False)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.drifted is True


def test_chisquare_single_category_is_no_drift() -> None:
    result = detect_drift("c", cat(["a"] * 40), cat(["a"] * 60), method="chisquare")
    assert (result.score, result.statistic, result.drifted) == (1.0, 0.0, False)


@pytest.mark.parametrize(("ref_a", "cur_a"), [(300, 140), (300, 200), (250, 250), (10, 390)])
def test_z_matches_uncorrected_chi2_on_the_2x2_table(ref_a: int, cur_a: int) -> None:
    ref = ["a"] * ref_a + ["b"] * (600 - ref_a)
    cur = ["a"] * cur_a + ["b"] * (400 - cur_a)
    result = detect_drift("c", cat(ref), cat(cur), method="z")
    table = np.array([[ref_a, 600 - ref_a], [cur_a, 400 - cur_a]])
    expected = stats.chi2_contingency(table, correction=False)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.statistic is not None
    assert result.statistic**2 == pytest.approx(expected.statistic, **TOL)
    # the sign says which way the share of the first category moved
    assert np.sign(result.statistic) == np.sign(cur_a / 400 - ref_a / 600)
    assert result.drifted is bool(expected.pvalue < 0.05)


def test_z_with_no_variance_is_no_drift() -> None:
    result = detect_drift("c", cat(["a"] * 50), cat(["a"] * 50), method="z")
    assert (result.score, result.statistic, result.drifted) == (1.0, 0.0, False)


def test_z_on_more_than_two_categories_is_a_compute_error() -> None:
    with pytest.raises(ComputeError, match="'z' failed on column 'plan'"):
        detect_drift("plan", cat(["a", "b", "c"] * 20), cat(["a", "b"] * 30), method="z")


@pytest.mark.parametrize("n_categories", [2, 5, 40])
def test_jensenshannon_matches_scipy(n_categories: int) -> None:
    rng = np.random.default_rng(n_categories)
    names = [f"k{i:02d}" for i in range(n_categories)]
    p_ref = rng.dirichlet(np.ones(n_categories))
    p_cur = rng.dirichlet(np.ones(n_categories))
    ref_values = categorical_sample(rng, names, list(p_ref), 3000)
    cur_values = categorical_sample(rng, names, list(p_cur), 2000)
    result = detect_drift("k", cat(ref_values), cat(cur_values), method="jensenshannon")
    union = sorted(set(ref_values) | set(cur_values))
    ref_counts = np.array([ref_values.count(c) for c in union], dtype=float)
    cur_counts = np.array([cur_values.count(c) for c in union], dtype=float)
    expected = distance.jensenshannon(ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum())
    assert result.score == pytest.approx(expected, **TOL)
    assert result.drifted is bool(expected >= 0.1)


def test_jensenshannon_of_disjoint_categories_is_its_maximum() -> None:
    result = detect_drift("k", cat(["a"] * 40), cat(["b"] * 40), method="jensenshannon")
    assert result.score == pytest.approx(np.sqrt(np.log(2)), **TOL)
    assert result.drifted is True


def test_categorical_method_on_numerical_data_compares_the_values_as_categories() -> None:
    ref = [0.0] * 30 + [1.0] * 30 + [2.5] * 40
    cur = [0.0] * 50 + [1.0] * 30 + [2.5] * 20
    result = detect_drift("x", num(ref), num(cur), method="chisquare")
    expected = stats.chi2_contingency(np.array([[30, 30, 40], [50, 30, 20]]), correction=False)
    assert result.kind is ColumnKind.CATEGORICAL
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)


def test_numerical_method_on_categorical_data_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        detect_drift("plan", cat(["a"] * 40), cat(["b"] * 40), method="ks")
    assert caught.value.field == "method"
    assert "'plan'" in str(caught.value)


def test_threshold_override() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(0, 1, 500), rng.normal(0.05, 1, 500)
    default = detect_drift("x", num(ref), num(cur), method="wasserstein")
    assert default.threshold == 0.1
    assert default.drifted is False
    strict = detect_drift("x", num(ref), num(cur), method="wasserstein", threshold=1e-6)
    assert strict.threshold == 1e-6
    assert strict.score == default.score
    assert strict.drifted is True


# --- default choice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n_reference", "n_unique", "expected"),
    [
        (ColumnKind.NUMERICAL, 1000, 6, ("ks", ColumnKind.NUMERICAL)),
        (ColumnKind.NUMERICAL, 1001, 6, ("wasserstein", ColumnKind.NUMERICAL)),
        (ColumnKind.NUMERICAL, 1000, 5, ("chisquare", ColumnKind.CATEGORICAL)),
        (ColumnKind.NUMERICAL, 1000, 2, ("z", ColumnKind.CATEGORICAL)),
        (ColumnKind.NUMERICAL, 1001, 5, ("jensenshannon", ColumnKind.CATEGORICAL)),
        (ColumnKind.CATEGORICAL, 1000, 2, ("z", ColumnKind.CATEGORICAL)),
        (ColumnKind.CATEGORICAL, 1000, 3, ("chisquare", ColumnKind.CATEGORICAL)),
        (ColumnKind.CATEGORICAL, 1001, 2, ("jensenshannon", ColumnKind.CATEGORICAL)),
        (ColumnKind.CATEGORICAL, 50_000, 100, ("jensenshannon", ColumnKind.CATEGORICAL)),
    ],
)
def test_default_method_table(
    kind: ColumnKind, n_reference: int, n_unique: int, expected: tuple[str, ColumnKind]
) -> None:
    assert default_method(kind, n_reference, n_unique) == expected


# The size that picks statistical check or distance is that of the smaller side (see
# default_method's docstring): a distance on a few hundred current rows is mostly noise.
@pytest.mark.parametrize(
    ("n_ref", "n_cur", "expected"),
    [
        (1000, 5000, "ks"),
        (1001, 1001, "wasserstein"),
        (5000, 1001, "wasserstein"),
        (5000, 1000, "ks"),
        (200, 5000, "ks"),
    ],
)
def test_detect_drift_picks_numerical_default_by_the_smaller_side(
    n_ref: int, n_cur: int, expected: str
) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    result = detect_drift("x", num(rng.normal(size=n_ref)), num(rng.normal(size=n_cur)))
    assert result.method == expected
    assert result.kind is ColumnKind.NUMERICAL
    assert (result.n_reference, result.n_current) == (n_ref, n_cur)


@pytest.mark.parametrize(
    ("n_categories", "n_ref", "n_cur", "expected"),
    [
        (2, 1000, 1000, "z"),
        (3, 1000, 1000, "chisquare"),
        (2, 1001, 1200, "jensenshannon"),
        (3, 1500, 1001, "jensenshannon"),
        (3, 1500, 300, "chisquare"),
        (2, 300, 1500, "z"),
    ],
)
def test_detect_drift_picks_categorical_default(
    n_categories: int, n_ref: int, n_cur: int, expected: str
) -> None:
    names = [f"c{i}" for i in range(n_categories)]
    ref = [names[i % n_categories] for i in range(n_ref)]
    cur = [names[i % n_categories] for i in range(n_cur)]
    result = detect_drift("c", cat(ref), cat(cur))
    assert result.method == expected
    assert result.drifted is False


def test_categories_of_both_sides_count_for_the_default() -> None:
    # two categories in the reference, a third only in the current data: not a Z-test
    result = detect_drift("c", cat(["a", "b"] * 50), cat(["a", "b", "c"] * 20))
    assert result.method == "chisquare"


@pytest.mark.parametrize(
    ("distinct", "expected"), [([0.0, 1.0], "z"), ([1.0, 2.0, 3.0, 4.0, 5.0], "chisquare")]
)
def test_numerical_column_with_few_values_is_compared_as_categories(
    distinct: list[float], expected: str
) -> None:
    ref = [distinct[i % len(distinct)] for i in range(300)]
    cur = [distinct[i % len(distinct)] for i in range(200)]
    result = detect_drift("x", num(ref), num(cur))
    assert result.method == expected
    assert result.kind is ColumnKind.CATEGORICAL
    assert result.drifted is False


def test_numerical_column_with_six_values_stays_numerical() -> None:
    ref = [float(i % 6) for i in range(300)]
    result = detect_drift("x", num(ref), num(ref))
    assert (result.method, result.kind) == ("ks", ColumnKind.NUMERICAL)


def test_few_values_in_large_samples_use_jensenshannon() -> None:
    ref = [float(i % 3) for i in range(5000)]
    cur = [0.0] * 1800 + [1.0] * 600 + [2.0] * 600
    result = detect_drift("x", num(ref), num(cur))
    assert (result.method, result.kind) == ("jensenshannon", ColumnKind.CATEGORICAL)
    expected = distance.jensenshannon(
        np.array([1667, 1667, 1666]) / 5000, np.array([1800, 600, 600]) / 3000
    )
    assert result.score == pytest.approx(expected, **TOL)
    assert result.drifted is True


# --- insufficient data --------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "ks", "wasserstein", "chisquare", "jensenshannon"])
def test_too_few_current_values_is_insufficient_data_never_drift(method: str | None) -> None:
    ref = num(np.linspace(0, 1, 200))
    cur = num(np.full(29, 1000.0))  # wildly shifted, but too few values to judge
    result = detect_drift("x", ref, cur, method=method, min_rows=30)
    assert result.status == "insufficient_data"
    assert result.drifted is None
    assert result.score is None
    assert result.n_current == 29
    assert result.n_reference == 200
    assert result.to_dict()["min_rows"] == 30


def test_too_few_reference_values_is_insufficient_data() -> None:
    result = detect_drift("c", cat(["a"] * 10), cat(["b"] * 500), min_rows=11)
    assert result.status == "insufficient_data"
    assert result.drifted is None


def test_missing_values_do_not_count_toward_min_rows() -> None:
    ref = NumericalValues.from_arrow(pa.array(list(np.linspace(0, 1, 100))))
    cur = NumericalValues.from_arrow(pa.array([5.0] * 20 + [None] * 50 + [float("nan")] * 50))
    assert cur.n_rows == 120
    result = detect_drift("x", ref, cur, min_rows=30)
    assert result.status == "insufficient_data"
    assert result.n_current == 20


def test_exactly_min_rows_is_enough() -> None:
    ref = num(np.linspace(0, 1, 30))
    cur = num(np.linspace(5, 6, 30))
    result = detect_drift("x", ref, cur, min_rows=30)
    assert result.status == "ok"
    assert result.drifted is True


def test_empty_sides_are_insufficient_not_an_error() -> None:
    result = detect_drift("x", num([]), num([]))
    assert result.status == "insufficient_data"
    assert (result.n_reference, result.n_current, result.drifted) == (0, 0, None)
    result = detect_drift("c", cat([None, None]), cat(["a"] * 100))
    assert result.status == "insufficient_data"


def test_drift_result_to_dict_is_json_ready() -> None:
    rng = np.random.default_rng(0)
    result = detect_drift("age", num(rng.normal(size=100)), num(rng.normal(3, 1, 100)))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["column"] == "age"
    assert data["kind"] == "numerical"
    assert data["method"] == "ks"
    assert data["drifted"] is True
    assert data["status"] == "ok"
    assert data["threshold"] == 0.05
    assert data["n_reference"] == data["n_current"] == 100
    assert data["exact"] is True
    assert isinstance(result, DriftResult)
