"""The full drift method set: each method against scipy or its formula, the per-kind registry,
degenerate inputs, and the multivariate domain classifier check."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from sightline.errors import ComputeError, ValidationError
from sightline.metrics.columns import CategoricalCounts, ColumnKind, NumericalValues
from sightline.metrics.drift import (
    MethodScore,
    MultivariateDriftResult,
    detect_drift,
    domain_classifier_drift,
    drift_method,
    drift_methods,
    register,
)
from sightline.metrics.drift import base as registry

TOL = {"rel": 1e-9, "abs": 1e-9}
FAST = settings(max_examples=30, deadline=None)
NUM, CAT = ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL

#: name -> (default threshold, score is a p-value, kinds): the conventions of the brief.
EXPECTED = {
    "ks": (0.05, True, {NUM}),
    "wasserstein": (0.1, False, {NUM}),
    "anderson": (0.05, True, {NUM}),
    "cramervonmises": (0.05, True, {NUM}),
    "energy": (0.1, False, {NUM}),
    "epps_singleton": (0.05, True, {NUM}),
    "mannwhitney": (0.05, True, {NUM}),
    "ttest": (0.05, True, {NUM}),
    "psi": (0.1, False, {NUM, CAT}),
    "jensenshannon": (0.1, False, {NUM, CAT}),
    "hellinger": (0.1, False, {NUM, CAT}),
    "kl": (0.1, False, {NUM, CAT}),
    "chisquare": (0.05, True, {CAT}),
    "z": (0.05, True, {CAT}),
    "g": (0.05, True, {CAT}),
    "fisher": (0.05, True, {CAT}),
    "tvd": (0.1, False, {CAT}),
    "linf": (0.1, False, {CAT}),
}
NUMERICAL_METHODS = sorted(name for name, (_, _, kinds) in EXPECTED.items() if NUM in kinds)
CATEGORICAL_METHODS = sorted(name for name, (_, _, kinds) in EXPECTED.items() if CAT in kinds)


def num(values: object) -> NumericalValues:
    return NumericalValues.from_numpy(np.asarray(values, dtype=np.float64))


def cat(values: list[str]) -> CategoricalCounts:
    return CategoricalCounts.from_arrow(pa.array(values, pa.string()))


def smoothed(counts: np.ndarray) -> np.ndarray:
    """Evidently's smoothing: shares, an empty bin or category counted as 0.0001."""
    shares = counts / counts.sum()
    shares[shares == 0] = 0.0001
    return shares


def decile_counts_by_hand(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts in the reference's deciles, outer bins open, bins [a, b) (np.histogram)."""
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    return np.histogram(ref, bins)[0], np.histogram(cur, bins)[0]


def expected_distance(name: str, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The binned distances by their formulas, on counts (bins or categories)."""
    p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    if name == "psi":
        ps, qs = smoothed(ref_counts), smoothed(cur_counts)
        return float(np.sum((qs - ps) * np.log(qs / ps)))
    if name == "kl":
        return float(stats.entropy(smoothed(ref_counts), smoothed(cur_counts)))
    if name == "jensenshannon":
        return float(distance.jensenshannon(p, q))
    if name == "hellinger":
        return float(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * q)))))
    if name == "tvd":
        return float(0.5 * np.sum(np.abs(p - q)))
    if name == "linf":
        return float(np.max(np.abs(p - q)))
    raise AssertionError(name)


def category_table(ref: list[str], cur: list[str]) -> tuple[np.ndarray, np.ndarray]:
    union = sorted(set(ref) | set(cur))
    return np.array([ref.count(c) for c in union]), np.array([cur.count(c) for c in union])


# Numerical sample pairs: same distribution, shifted, rescaled, current partly outside the
# reference's range (outer bins, empty bins), and tied integer values (merged decile edges).
def numerical_pairs() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20)
    yield "same", rng.normal(0, 1, 800), rng.normal(0, 1, 600)
    yield "shift", rng.normal(0, 1, 500), rng.normal(0.3, 1, 700)
    yield "scale", rng.lognormal(0, 0.5, 1200), rng.lognormal(0, 0.8, 900)
    yield "outside", rng.uniform(0, 1, 400), rng.uniform(0.5, 2.0, 300)
    yield "ties", rng.integers(0, 12, 600).astype(float), rng.integers(1, 14, 500).astype(float)


NUMERICAL_PAIRS = list(numerical_pairs())
PAIR_IDS = [name for name, _, _ in NUMERICAL_PAIRS]


def check_direction(name: str, score: float | None, drifted: bool | None, threshold: float) -> None:
    assert score is not None
    method = drift_method(name)
    assert drifted is (score < threshold if method.is_test else score >= threshold)


# --- registry -----------------------------------------------------------------------------------


def test_every_method_is_registered_with_its_threshold_direction_and_kinds() -> None:
    methods = drift_methods()
    assert set(EXPECTED) <= set(methods)
    for name, (threshold, is_test, kinds) in EXPECTED.items():
        method = methods[name]
        assert method.name == name
        assert method.title
        assert (method.default_threshold, method.is_test, method.kinds) == (
            threshold,
            is_test,
            kinds,
        )
        assert set(method.implementations) == kinds


def test_a_name_carries_one_implementation_per_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register("spread", title="Spread", kinds={NUM}, threshold=0.5, is_test=False)
    def spread_numerical(reference: NumericalValues, current: NumericalValues) -> MethodScore:
        return MethodScore(1.0)

    @register("spread", title="Spread", kinds={CAT}, threshold=0.5, is_test=False)
    def spread_categorical(reference: CategoricalCounts, current: CategoricalCounts) -> MethodScore:
        return MethodScore(2.0)

    method = drift_method("spread")
    assert method.kinds == {NUM, CAT}
    rng = np.random.default_rng(0)
    numbers = num(rng.normal(size=100))
    words = cat(["a", "b", "c"] * 20)
    assert method.compute(numbers, numbers).score == 1.0
    assert method.compute(words, words).score == 2.0
    assert detect_drift("x", numbers, numbers, method="spread").score == 1.0
    assert detect_drift("c", words, words, method="spread").score == 2.0
    # one name has one threshold and direction
    with pytest.raises(ValueError, match="'spread'"):
        register("spread", title="Spread", kinds={CAT}, threshold=0.05, is_test=True)(
            spread_categorical
        )
    # registering every kind again replaces the method as a whole
    register("spread", title="Spread 2", kinds={NUM, CAT}, threshold=0.05, is_test=True)(
        spread_categorical
    )
    assert drift_method("spread").default_threshold == 0.05
    with pytest.raises(ValueError, match="at least one column kind"):
        register("nothing", title="Nothing", kinds=set(), threshold=0.1, is_test=False)


def test_a_method_for_both_kinds_compares_a_column_as_its_own_kind() -> None:
    rng = np.random.default_rng(1)
    continuous = num(rng.normal(size=300))
    assert detect_drift("x", continuous, continuous, method="psi").kind is NUM
    words = cat(["a", "b"] * 50)
    assert detect_drift("c", words, words, method="psi").kind is CAT
    # five distinct values or fewer: compared as categories, as the default method does
    few = num([1.0, 2.0, 3.0] * 40)
    result = detect_drift("x", few, num([1.0, 2.0, 2.0] * 40), method="psi")
    assert result.kind is CAT
    assert result.score == pytest.approx(
        expected_distance("psi", np.array([40, 40, 40]), np.array([40, 80, 0])), **TOL
    )
    # a method for categorical columns only compares the values as categories
    assert detect_drift("x", few, few, method="tvd").kind is CAT
    # a method for numerical columns only refuses categorical data
    with pytest.raises(ValidationError, match="'energy' does not apply to categorical"):
        detect_drift("c", words, words, method="energy")


# --- numerical methods against scipy ------------------------------------------------------------


@pytest.mark.parametrize(("label", "ref", "cur"), NUMERICAL_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("name", ["psi", "kl", "jensenshannon", "hellinger"])
def test_binned_numerical_methods_equal_their_formula_on_reference_deciles(
    name: str, label: str, ref: np.ndarray, cur: np.ndarray
) -> None:
    result = detect_drift("x", num(ref), num(cur), method=name)
    expected = expected_distance(name, *decile_counts_by_hand(ref, cur))
    assert result.kind is NUM
    assert result.score == pytest.approx(expected, **TOL)
    assert result.statistic == pytest.approx(expected, **TOL)
    assert result.p_value is None
    assert result.threshold == 0.1
    check_direction(name, result.score, result.drifted, 0.1)


def test_binned_methods_count_values_outside_the_reference_in_the_outer_bins() -> None:
    ref = np.linspace(0.0, 1.0, 101)
    cur = np.concatenate((np.full(50, -5.0), np.full(50, 5.0)))  # all outside the range
    counts_ref, counts_cur = decile_counts_by_hand(ref, cur)
    assert counts_cur[0] == counts_cur[-1] == 50
    result = detect_drift("x", num(ref), num(cur), method="psi")
    assert result.score == pytest.approx(expected_distance("psi", counts_ref, counts_cur), **TOL)
    assert result.drifted is True


# The test's own call of anderson_ksamp warns when scipy floors / caps the p-value.
@pytest.mark.filterwarnings("ignore:p-value (capped|floored):UserWarning")
@pytest.mark.parametrize(("label", "ref", "cur"), NUMERICAL_PAIRS, ids=PAIR_IDS)
def test_numerical_checks_equal_scipy(label: str, ref: np.ndarray, cur: np.ndarray) -> None:
    expected = {
        "anderson": stats.anderson_ksamp([ref, cur], variant="midrank"),
        "cramervonmises": stats.cramervonmises_2samp(ref, cur),
        "mannwhitney": stats.mannwhitneyu(ref, cur, alternative="two-sided"),
        "ttest": stats.ttest_ind(ref, cur, equal_var=False),
        "epps_singleton": stats.epps_singleton_2samp(ref, cur),
    }
    for name, scipy_result in expected.items():
        result = detect_drift("x", num(ref), num(cur), method=name)
        assert result.kind is NUM
        assert result.p_value == pytest.approx(scipy_result.pvalue, **TOL), name
        assert result.score == result.p_value
        assert result.statistic == pytest.approx(scipy_result.statistic, **TOL), name
        assert result.threshold == 0.05
        assert result.exact is True
        check_direction(name, result.score, result.drifted, 0.05)


# The test's own call of anderson_ksamp warns; the method records the limit instead.
@pytest.mark.filterwarnings("ignore:p-value (capped|floored):UserWarning")
@pytest.mark.parametrize(("label", "ref", "cur"), NUMERICAL_PAIRS, ids=PAIR_IDS)
def test_anderson_records_whether_scipy_floored_or_capped_the_p_value(
    label: str, ref: np.ndarray, cur: np.ndarray
) -> None:
    result = detect_drift("x", num(ref), num(cur), method="anderson")
    p_value = stats.anderson_ksamp([ref, cur], variant="midrank").pvalue
    expected = "floored" if p_value <= 0.001 else "capped" if p_value >= 0.25 else None
    assert result.details == {"p_value_range": [0.001, 0.25], "p_value_limit": expected}
    assert result.to_dict()["p_value_limit"] == expected


@pytest.mark.filterwarnings("ignore:p-value (capped|floored):UserWarning")
def test_anderson_limits_on_known_cases() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(size=400)
    assert detect_drift("x", num(ref), num(ref), method="anderson").details["p_value_limit"] == (
        "capped"
    )
    far = detect_drift("x", num(ref), num(ref + 3), method="anderson")
    assert (far.score, far.details["p_value_limit"], far.drifted) == (0.001, "floored", True)
    # one value on both sides: scipy refuses; the same single value is no drift
    constant = detect_drift("x", num(np.ones(40)), num(np.ones(50)), method="anderson")
    assert (constant.score, constant.drifted) == (1.0, False)


@pytest.mark.parametrize(("label", "ref", "cur"), NUMERICAL_PAIRS, ids=PAIR_IDS)
def test_energy_equals_scipy_unnormalized(label: str, ref: np.ndarray, cur: np.ndarray) -> None:
    result = detect_drift("x", num(ref), num(cur), method="energy")
    expected = stats.energy_distance(ref, cur)
    assert result.score == pytest.approx(expected, **TOL)
    assert result.p_value is None
    check_direction("energy", result.score, result.drifted, 0.1)
    # not normalized: scipy's value is the square root of the energy statistic, so data ten
    # times larger gives a distance sqrt(10) times larger
    scaled = detect_drift("x", num(ref * 10), num(cur * 10), method="energy")
    assert scaled.score == pytest.approx(np.sqrt(10) * expected, **TOL)


@pytest.mark.parametrize(("label", "ref", "cur"), NUMERICAL_PAIRS, ids=PAIR_IDS)
def test_ttest_equals_scipy_from_samples_and_from_stats(
    label: str, ref: np.ndarray, cur: np.ndarray
) -> None:
    result = detect_drift("x", num(ref), num(cur), method="ttest")
    from_stats = stats.ttest_ind_from_stats(
        ref.mean(), ref.std(ddof=1), ref.size, cur.mean(), cur.std(ddof=1), cur.size, False
    )
    assert result.p_value == pytest.approx(from_stats.pvalue, **TOL)
    assert result.statistic == pytest.approx(from_stats.statistic, **TOL)


def test_ttest_uses_the_exact_moments_of_a_summary() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.normal(10, 2, 700), rng.normal(10.3, 2.5, 500)
    # values as a summary reconstructs them (rounded), exact moments alongside
    ref_summary = NumericalValues(
        values=np.sort(np.round(ref)),
        n_missing=0,
        exact=False,
        moments=(float(ref.mean()), float(ref.var(ddof=1))),
    )
    cur_summary = NumericalValues(
        values=np.sort(np.round(cur)),
        n_missing=3,
        exact=False,
        moments=(float(cur.mean()), float(cur.var(ddof=1))),
    )
    result = detect_drift("x", ref_summary, cur_summary, method="ttest")
    expected = stats.ttest_ind_from_stats(
        ref.mean(), np.sqrt(ref.var(ddof=1)), 700, cur.mean(), np.sqrt(cur.var(ddof=1)), 500, False
    )
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    assert result.p_value == pytest.approx(stats.ttest_ind(ref, cur, equal_var=False).pvalue, **TOL)
    assert result.exact is True  # the moments are exact
    # a method on the reconstructed values says it is an approximation
    assert detect_drift("x", ref_summary, cur_summary, method="mannwhitney").exact is False


def test_ttest_on_constant_sides() -> None:
    same = detect_drift("x", num(np.full(40, 3.0)), num(np.full(30, 3.0)), method="ttest")
    assert (same.score, same.statistic, same.drifted) == (1.0, 0.0, False)
    moved = detect_drift("x", num(np.full(40, 3.0)), num(np.full(30, 4.0)), method="ttest")
    assert (moved.score, moved.statistic, moved.drifted) == (0.0, None, True)
    assert json.loads(json.dumps(moved.to_dict()))["reason"]


# --- categorical methods against scipy ----------------------------------------------------------


def categorical_pairs() -> Iterator[tuple[str, list[str], list[str]]]:
    rng = np.random.default_rng(30)
    names = ["a", "b", "c", "d"]

    def sample(p: list[float], n: int) -> list[str]:
        return [str(c) for c in rng.choice(names, size=n, p=p)]

    yield "same", sample([0.4, 0.3, 0.2, 0.1], 800), sample([0.4, 0.3, 0.2, 0.1], 500)
    yield "moved", sample([0.4, 0.3, 0.2, 0.1], 600), sample([0.3, 0.3, 0.25, 0.15], 700)
    yield "new", sample([0.5, 0.5, 0.0, 0.0], 400), sample([0.4, 0.4, 0.0, 0.2], 400)
    yield "gone", sample([0.3, 0.3, 0.3, 0.1], 500), sample([0.5, 0.5, 0.0, 0.0], 300)


CATEGORICAL_PAIRS = list(categorical_pairs())
CATEGORICAL_IDS = [name for name, _, _ in CATEGORICAL_PAIRS]


@pytest.mark.parametrize(("label", "ref", "cur"), CATEGORICAL_PAIRS, ids=CATEGORICAL_IDS)
@pytest.mark.parametrize("name", ["psi", "kl", "jensenshannon", "hellinger", "tvd", "linf"])
def test_categorical_distances_equal_their_formula(
    name: str, label: str, ref: list[str], cur: list[str]
) -> None:
    result = detect_drift("c", cat(ref), cat(cur), method=name)
    expected = expected_distance(name, *category_table(ref, cur))
    assert result.kind is CAT
    assert result.score == pytest.approx(expected, **TOL)
    assert result.p_value is None
    assert result.threshold == 0.1
    check_direction(name, result.score, result.drifted, 0.1)


@pytest.mark.parametrize(("label", "ref", "cur"), CATEGORICAL_PAIRS, ids=CATEGORICAL_IDS)
def test_g_test_equals_scipy(label: str, ref: list[str], cur: list[str]) -> None:
    result = detect_drift("c", cat(ref), cat(cur), method="g")
    expected = stats.chi2_contingency(
        np.vstack(category_table(ref, cur)), correction=False, lambda_="log-likelihood"
    )
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.score == result.p_value
    assert result.statistic == pytest.approx(expected.statistic, **TOL)
    check_direction("g", result.score, result.drifted, 0.05)


@pytest.mark.parametrize(("ref_a", "cur_a"), [(30, 31), (30, 15), (40, 0), (25, 40)])
def test_fisher_equals_scipy_on_the_2x2_table(ref_a: int, cur_a: int) -> None:
    ref = ["a"] * ref_a + ["b"] * (40 - ref_a)
    cur = ["a"] * cur_a + ["b"] * (45 - cur_a)
    result = detect_drift("c", cat(ref), cat(cur), method="fisher")
    table = np.array([[ref_a, 40 - ref_a], [cur_a, 45 - cur_a]])
    expected = stats.fisher_exact(table)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    if np.isfinite(expected.statistic):
        assert result.statistic == pytest.approx(expected.statistic, **TOL)
    else:
        assert result.statistic is None  # an empty cell: no finite odds ratio
    check_direction("fisher", result.score, result.drifted, 0.05)


def test_fisher_on_one_category_is_no_drift() -> None:
    result = detect_drift("c", cat(["a"] * 40), cat(["a"] * 30), method="fisher")
    assert (result.score, result.drifted) == (1.0, False)


# --- degenerate inputs --------------------------------------------------------------------------


def test_fisher_on_more_than_two_categories_is_a_compute_error() -> None:
    with pytest.raises(ComputeError, match=r"'fisher' failed on column 'plan'.*use chisquare or g"):
        detect_drift("plan", cat(["a", "b", "c"] * 20), cat(["a", "b"] * 30), method="fisher")


@pytest.mark.parametrize(
    ("ref", "cur", "message"),
    [
        # two values only: the covariance of the empirical characteristic function is singular
        ([0.0, 1.0] * 30, [0.0, 1.0, 1.0] * 20, "singular"),
        # more than half the values are one value: interquartile range 0
        ([5.0] * 50 + list(range(10)), [5.0] * 40 + list(range(20)), "interquartile range"),
    ],
)
def test_epps_singleton_on_degenerate_data_is_a_compute_error(
    ref: list[float], cur: list[float], message: str
) -> None:
    with pytest.raises(ComputeError, match=f"'epps_singleton' failed on column 'x'.*{message}"):
        detect_drift("x", num(ref), num(cur), method="epps_singleton")


def test_epps_singleton_on_too_few_values_is_a_compute_error() -> None:
    with pytest.raises(ComputeError, match="at least 5 values on each side"):
        detect_drift(
            "x", num([1.0, 2.0, 3.0]), num(np.arange(10.0)), method="epps_singleton", min_rows=3
        )


def test_an_empty_side_is_insufficient_data_even_with_no_minimum() -> None:
    result = detect_drift("x", num([]), num(np.arange(10.0)), method="psi", min_rows=0)
    assert (result.status, result.drifted) == ("insufficient_data", None)


# --- invariants: drift(x, x) is no drift; a clear shift drifts ----------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
few_values = st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0, 7.0]), min_size=30, max_size=120)
many_values = st.lists(finite, min_size=30, max_size=120)
# Epps–Singleton is undefined on data with few distinct values (see the degenerate cases).
spread_values = st.lists(
    st.integers(min_value=-10_000, max_value=10_000), min_size=30, max_size=120, unique=True
).map(lambda xs: [x / 7 for x in xs])
words = st.lists(st.sampled_from(["a", "b", "c", "d", "é", ""]), min_size=30, max_size=120)
binary = st.lists(st.sampled_from(["yes", "no"]), min_size=30, max_size=120)


# anderson_ksamp warns that its p-value is capped when a sample is compared with itself.
@pytest.mark.filterwarnings("ignore:p-value capped:UserWarning")
@FAST
@given(data=st.data(), name=st.sampled_from(NUMERICAL_METHODS))
def test_numerical_sample_against_itself_never_drifts(data: st.DataObject, name: str) -> None:
    strategy = spread_values if name == "epps_singleton" else st.one_of(few_values, many_values)
    values = num(data.draw(strategy))
    result = detect_drift("x", values, values, method=name)
    assert result.status == "ok"
    assert result.drifted is False
    assert result.score is not None
    if not drift_method(name).is_test:
        assert result.score == pytest.approx(0.0, abs=1e-12)


@FAST
@given(data=st.data(), name=st.sampled_from(CATEGORICAL_METHODS))
def test_categorical_sample_against_itself_never_drifts(data: st.DataObject, name: str) -> None:
    values = cat(data.draw(binary if name in ("fisher", "z") else words))
    result = detect_drift("c", values, values, method=name)
    assert result.status == "ok"
    assert result.drifted is False
    assert result.score is not None
    if drift_method(name).is_test:
        assert result.score == pytest.approx(1.0)
    else:
        assert result.score == pytest.approx(0.0, abs=1e-12)


@pytest.mark.filterwarnings("ignore:p-value floored:UserWarning")
@pytest.mark.parametrize("name", NUMERICAL_METHODS)
def test_clearly_shifted_numerical_data_drifts(name: str) -> None:
    rng = np.random.default_rng(12)
    result = detect_drift("x", num(rng.normal(0, 1, 600)), num(rng.normal(1, 1, 500)), method=name)
    assert result.kind is NUM
    assert result.drifted is True


@pytest.mark.parametrize("name", CATEGORICAL_METHODS)
def test_clearly_shifted_categorical_data_drifts(name: str) -> None:
    if name in ("fisher", "z"):
        ref, cur = ["a"] * 70 + ["b"] * 30, ["a"] * 30 + ["b"] * 70
    else:
        ref = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
        cur = ["a"] * 10 + ["b"] * 30 + ["c"] * 60
    result = detect_drift("c", cat(ref * 3), cat(cur * 2), method=name)
    assert result.drifted is True


# --- multivariate: the domain classifier --------------------------------------------------------


def mixed_table(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, missing: float = 0.0
) -> pa.Table:
    """Numerical and categorical columns, with missing values when ``missing`` > 0."""
    income = rng.lognormal(10, 0.4, n)
    age = rng.normal(40 + shift, 8, n)
    plans = rng.choice(["basic", "pro", "team"], size=n, p=[0.5, 0.3, 0.2]).tolist()
    visits = rng.poisson(3, n)
    if missing:
        age[rng.random(n) < missing] = np.nan
        plans = [None if rng.random() < missing else p for p in plans]
    return pa.table(
        {
            "age": pa.array(age, pa.float64(), from_pandas=True),
            "income": income,
            "plan": pa.array(plans, pa.string()),
            "visits": pa.array([None if v == 0 else int(v) for v in visits], pa.int64()),
            "active": rng.random(n) < 0.4,
        }
    )


KINDS = {"age": NUM, "income": NUM, "plan": CAT, "visits": NUM, "active": CAT}


def test_identical_distributions_are_not_told_apart() -> None:
    rng = np.random.default_rng(40)
    result = domain_classifier_drift(mixed_table(rng, 800), mixed_table(rng, 700), KINDS)
    assert result.status == "ok"
    assert result.auc is not None
    assert abs(result.auc - 0.5) < 0.05
    assert result.drifted is False
    assert (result.n_reference, result.n_current) == (800, 700)
    assert {i.column for i in result.importances} == set(KINDS)


def test_a_shifted_feature_drifts_and_tops_the_importances() -> None:
    rng = np.random.default_rng(41)
    ref, cur = mixed_table(rng, 800), mixed_table(rng, 700, shift=8.0)
    result = domain_classifier_drift(ref, cur, KINDS)
    assert result.drifted is True
    assert result.auc is not None
    assert result.auc >= 0.55
    top = result.importances[0]
    assert top.column == "age"
    assert top.importance > 0.1
    assert all(top.importance > other.importance for other in result.importances[1:])


def test_mixed_columns_with_missing_values_and_a_missing_share_that_moves() -> None:
    rng = np.random.default_rng(42)
    ref, cur = mixed_table(rng, 600, missing=0.05), mixed_table(rng, 600, missing=0.5)
    result = domain_classifier_drift(ref, cur, KINDS)
    assert result.status == "ok"
    assert result.drifted is True  # half the age and plan values went missing
    assert result.importances[0].column in {"age", "plan"}
    data = json.loads(json.dumps(result.to_dict()))
    assert data["method"] == "domain_classifier"
    assert data["threshold"] == 0.55
    assert [i["column"] for i in data["importances"]] == [i.column for i in result.importances]


def test_subsampling_is_seeded_and_reports_the_rows_used() -> None:
    rng = np.random.default_rng(43)
    ref, cur = mixed_table(rng, 900), mixed_table(rng, 300)
    kinds = {"income": NUM, "plan": CAT}
    first = domain_classifier_drift(ref, cur, kinds, max_rows=200, folds=3, seed=7)
    again = domain_classifier_drift(ref, cur, kinds, max_rows=200, folds=3, seed=7)
    assert (first.n_reference, first.n_current) == (200, 200)
    assert first == again


def test_many_categories_and_numbers_as_categories() -> None:
    rng = np.random.default_rng(44)
    n = 600
    ref = pa.table(
        {"city": [f"c{i}" for i in rng.integers(0, 400, n)], "code": rng.integers(0, 5, n)}
    )
    cur = pa.table(
        {"city": [f"c{i}" for i in rng.integers(0, 400, n)], "code": rng.integers(0, 5, n) * 1.0}
    )
    # int 3 and float 3.0 are one category, as in per-column drift
    result = domain_classifier_drift(ref, cur, {"city": CAT, "code": CAT}, folds=3)
    assert result.status == "ok"
    assert result.drifted is False


def test_too_few_rows_is_insufficient_data() -> None:
    rng = np.random.default_rng(45)
    result = domain_classifier_drift(mixed_table(rng, 500), mixed_table(rng, 29), KINDS)
    assert isinstance(result, MultivariateDriftResult)
    assert (result.status, result.auc, result.drifted, result.importances) == (
        "insufficient_data",
        None,
        None,
        (),
    )
    assert result.to_dict()["min_rows"] == 30


def test_bad_arguments_are_validation_errors() -> None:
    rng = np.random.default_rng(46)
    ref, cur = mixed_table(rng, 50), mixed_table(rng, 50)
    with pytest.raises(ValidationError, match="'nope' is missing from the reference"):
        domain_classifier_drift(ref, cur, {"nope": NUM})
    with pytest.raises(ValidationError, match="at least one"):
        domain_classifier_drift(ref, cur, {})
    with pytest.raises(ValidationError, match="folds"):
        domain_classifier_drift(ref, cur, KINDS, folds=1)
    with pytest.raises(ValidationError, match="'plan' is compared as numerical"):
        domain_classifier_drift(ref, cur, {"plan": NUM})
