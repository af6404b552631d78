"""Acceptance: the default drift suite on the benchmark generator's data (100k reference rows, 1M
current rows) flags exactly the columns the generator drifted, whatever the chunking."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sightline.metrics.columns import ColumnKind
from sightline.metrics.dataset import DatasetReport, ReferenceProfile, compare_tables
from sightline.metrics.summaries import CategoricalSummary, NumericalSummary
from tests.conftest import SHARED, require

pytestmark = pytest.mark.slow

FEATURES = {f"num_{i}": ColumnKind.NUMERICAL for i in range(15)} | {
    f"cat_{j}": ColumnKind.CATEGORICAL for j in range(5)
}


@pytest.fixture(scope="session")
def benchmark(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The generator's output, made once per session in a temporary directory."""
    script = SHARED / "bench" / "gen_data.py"
    require(script.is_file(), f"the benchmark data generator is missing at {script}")
    out = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [sys.executable, str(script), str(out), "--ref", "100000", "--cur", "1000000"], check=True
    )
    reference = pq.read_table(out / "reference.parquet")
    current = pq.read_table(out / "current.parquet")
    assert (reference.num_rows, current.num_rows) == (100_000, 1_000_000)
    truth = json.loads((out / "truth.json").read_text())
    return {"reference": reference, "current": current, "truth": truth}


@pytest.fixture(scope="module")
def profile(benchmark: dict[str, Any]) -> ReferenceProfile:
    return ReferenceProfile.from_table(benchmark["reference"], FEATURES)


@pytest.fixture(scope="module")
def whole(profile: ReferenceProfile, benchmark: dict[str, Any]) -> DatasetReport:
    return compare_tables(profile, benchmark["current"], FEATURES, summaries=True)


def uneven_chunks(table: pa.Table, parts: int, seed: int) -> pa.Table:
    """``table`` as ``parts`` record batches of random, uneven lengths."""
    single = table.combine_chunks()
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, table.num_rows), parts - 1, replace=False))
    bounds = [0, *cuts.tolist(), table.num_rows]
    batches = [
        b for a, z in itertools.pairwise(bounds) for b in single.slice(a, z - a).to_batches()
    ]
    chunked = pa.Table.from_batches(batches, schema=table.schema)
    assert chunked.column("num_0").num_chunks == parts
    return chunked


def test_the_truth_covers_the_suite(benchmark: dict[str, Any]) -> None:
    truth = benchmark["truth"]
    assert sorted(truth["drifted"] + truth["not_drifted"]) == sorted(FEATURES)


def test_default_suite_flags_exactly_the_drifted_columns_at_1m(
    whole: DatasetReport, benchmark: dict[str, Any]
) -> None:
    truth = benchmark["truth"]
    assert whole.n_current == 1_000_000
    assert sorted(whole.drifted_columns) == sorted(truth["drifted"])
    assert not set(whole.drifted_columns) & set(truth["not_drifted"])
    # Large samples: the distances, never an insufficient-data verdict.
    for name, column in whole.columns.items():
        assert column.drift.status == "ok"
        expected = "wasserstein" if FEATURES[name] is ColumnKind.NUMERICAL else "jensenshannon"
        assert column.drift.method == expected


def test_default_suite_flags_exactly_the_drifted_columns_at_100k(
    profile: ReferenceProfile, benchmark: dict[str, Any]
) -> None:
    truth = benchmark["truth"]
    report = compare_tables(profile, benchmark["current"].slice(0, 100_000), FEATURES)
    assert report.n_current == 100_000
    assert sorted(report.drifted_columns) == sorted(truth["drifted"])


@pytest.mark.parametrize("parts", [1, 7, 100])
def test_the_result_does_not_depend_on_the_chunking(
    parts: int, whole: DatasetReport, profile: ReferenceProfile, benchmark: dict[str, Any]
) -> None:
    chunked = uneven_chunks(benchmark["current"], parts, seed=parts)
    report = compare_tables(profile, chunked, FEATURES)
    assert sorted(report.drifted_columns) == sorted(whole.drifted_columns)
    for name, column in whole.columns.items():
        drift = report.columns[name].drift
        assert drift.method == column.drift.method
        assert drift.score == pytest.approx(column.drift.score, rel=1e-12, abs=1e-12)
        assert (drift.n_reference, drift.n_current) == (
            column.drift.n_reference,
            column.drift.n_current,
        )
    assert report.quality is not None
    assert whole.quality is not None
    assert report.quality.duplicated_rows == whole.quality.duplicated_rows


def test_merged_chunk_summaries_equal_the_summary_of_the_window(
    whole: DatasetReport, profile: ReferenceProfile, benchmark: dict[str, Any]
) -> None:
    chunked = uneven_chunks(benchmark["current"], 7, seed=70)
    numerical: dict[str, NumericalSummary] = {}
    categorical: dict[str, CategoricalSummary] = {}
    for batch in chunked.to_batches():
        part = compare_tables(profile, pa.Table.from_batches([batch]), FEATURES, summaries=True)
        for name, column in part.columns.items():
            summary = column.summary
            if isinstance(summary, NumericalSummary):
                numerical[name] = numerical[name].merge(summary) if name in numerical else summary
            else:
                assert isinstance(summary, CategoricalSummary)
                categorical[name] = (
                    categorical[name].merge(summary) if name in categorical else summary
                )
    assert len(numerical) == 15
    assert len(categorical) == 5
    merged = {**numerical, **categorical}
    for name, column in whole.columns.items():
        expected, got = column.summary, merged[name]
        if isinstance(expected, CategoricalSummary):
            assert isinstance(got, CategoricalSummary)
            assert got.counts.categories == expected.counts.categories
            assert got.counts.counts.tolist() == expected.counts.counts.tolist()
            assert got.n_missing == expected.n_missing
            continue
        assert isinstance(expected, NumericalSummary)
        assert isinstance(got, NumericalSummary)
        assert (got.n, got.n_missing) == (expected.n, expected.n_missing)
        assert np.array_equal(got.counts, expected.counts)
        assert (got.minimum, got.maximum) == (expected.minimum, expected.maximum)
        assert (got.n_below, got.n_above) == (expected.n_below, expected.n_above)
        assert got.mean == pytest.approx(expected.mean, rel=1e-9, abs=1e-12)
        assert got.m2 == pytest.approx(expected.m2, rel=1e-9)
        scale = np.abs(expected.sums).max()
        np.testing.assert_allclose(got.sums, expected.sums, rtol=1e-9, atol=1e-9 * scale)
        assert got.quantiles.to_dict() == expected.quantiles.to_dict()
        assert np.array_equal(got.distinct.registers, expected.distinct.registers)
        assert (got.values is None) == (expected.values is None)
        if expected.values is not None:
            assert np.array_equal(got.values, expected.values)  # integer columns: 100 values
            assert got.value_counts is not None
            assert expected.value_counts is not None
            assert np.array_equal(got.value_counts, expected.value_counts)
