"""Ad-hoc comparisons: role inference, drift on features/predictions/target, model quality on both
sides, CBPE, segments; on the shared real datasets and on the benchmark generator's data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LinearRegression

from sightline.errors import ValidationError
from sightline.metrics.columns import ColumnKind
from sightline.metrics.compare import Comparison, compare_datasets
from sightline.metrics.dataset import compare_tables
from sightline.metrics.mapping import infer_mapping
from sightline.metrics.performance import (
    ClassificationQuality,
    RegressionQuality,
    classification_quality,
    regression_quality,
)
from sightline.metrics.segments import OTHER, split_segments, top_segments
from sightline.schema.mapping import ColumnMapping
from tests.conftest import SHARED, require

NUMERICAL = tuple(f"num_{i}" for i in range(15))
CATEGORICAL = tuple(f"cat_{j}" for j in range(5))
DRIFTED = ("num_0", "num_1", "num_2", "cat_0", "cat_1")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, pa.Table]:
    """A small reference and current set from the benchmark generator (known drift)."""
    script = SHARED / "bench" / "gen_data.py"
    require(script.is_file(), f"the benchmark data generator is missing at {script}")
    out = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [sys.executable, str(script), str(out), "--ref", "4000", "--cur", "4000"], check=True
    )
    return pq.read_table(out / "reference.parquet"), pq.read_table(out / "current.parquet")


@pytest.fixture(scope="module")
def adult() -> pa.Table:
    path = SHARED / "data" / "adult.csv"
    require(path.is_file(), f"the shared dataset is missing at {path}")
    return pa_csv.read_csv(path)


@pytest.fixture(scope="module")
def bikes() -> tuple[pa.Table, pa.Table]:
    """January 2011 as the reference, July 2011 as the current set, with the predictions of a
    linear regression fitted on January."""
    path = SHARED / "data" / "bike_sharing_hour.csv"
    require(path.is_file(), f"the shared dataset is missing at {path}")
    table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))
    features = ["hr", "weekday", "workingday", "weathersit", "temp", "atemp", "hum", "windspeed"]
    day = pc.cast(table["dteday"], pa.string())
    parts = []
    for month in ("2011-01", "2011-07"):
        part = table.filter(pc.starts_with(day, month)).select([*features, "cnt"])
        parts.append(part)
    x_ref = np.column_stack([parts[0][f].to_numpy() for f in features]).astype(np.float64)
    model = LinearRegression().fit(x_ref, parts[0]["cnt"].to_numpy())
    with_predictions = []
    for part in parts:
        x = np.column_stack([part[f].to_numpy() for f in features]).astype(np.float64)
        with_predictions.append(part.append_column("prediction", pa.array(model.predict(x))))
    return with_predictions[0], with_predictions[1]


# --- roles --------------------------------------------------------------------------------------


def test_infer_mapping_on_adult(adult: pa.Table) -> None:
    mapping = infer_mapping(adult)
    assert mapping.target == "class"
    assert mapping.task == "classification"
    assert mapping.positive_label == ">50K"  # the rarer of the two classes
    assert mapping.numerical_features == (
        "age",
        "fnlwgt",
        "education-num",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    )
    assert mapping.categorical_features == (
        "workclass",
        "education",
        "marital-status",
        "occupation",
        "relationship",
        "race",
        "sex",
        "native-country",
    )
    assert (mapping.prediction_label, mapping.prediction_score) == (None, None)
    assert (mapping.id_column, mapping.timestamp_column) == (None, None)


def test_infer_mapping_on_generated_data(generated: tuple[pa.Table, pa.Table]) -> None:
    mapping = infer_mapping(generated[0])
    assert mapping.numerical_features == NUMERICAL
    assert mapping.categorical_features == CATEGORICAL
    assert mapping.target == "target"
    assert mapping.prediction_score == "prediction"
    assert mapping.prediction_label == "predicted_label"
    assert mapping.positive_label == 1
    assert mapping.task == "classification"
    assert mapping.id_column == "request_id"
    assert mapping.timestamp_column == "ts"


def test_given_roles_are_kept(generated: tuple[pa.Table, pa.Table]) -> None:
    given = ColumnMapping(numerical_features=("num_3",), target="target", task="classification")
    mapping = infer_mapping(generated[0], given)
    assert mapping.numerical_features == ("num_3",)
    assert mapping.categorical_features == ()
    assert mapping.target == "target"


@pytest.mark.parametrize(
    "role", ["target", "prediction_label", "prediction_score", "id_column", "timestamp_column"]
)
def test_unknown_role_columns_are_validation_errors_naming_the_role(
    generated: tuple[pa.Table, pa.Table], role: str
) -> None:
    mapping = ColumnMapping(**{role: "no_such_column"})
    with pytest.raises(ValidationError, match=f"{role} column 'no_such_column'") as caught:
        infer_mapping(generated[0], mapping)
    assert caught.value.field == role


def test_unknown_features_and_segments_are_validation_errors(
    generated: tuple[pa.Table, pa.Table],
) -> None:
    for mapping in (
        ColumnMapping(numerical_features=("nope",)),
        ColumnMapping(categorical_features=("nope",)),
        ColumnMapping(segments=("nope",)),
    ):
        with pytest.raises(ValidationError, match="'nope' is not in the data") as caught:
            compare_datasets(*generated, mapping)
        assert caught.value.field == "nope"
    with pytest.raises(ValidationError, match="task must be") as caught:
        ColumnMapping(task="ranking")
    assert caught.value.field == "task"


# --- a scored binary classifier -----------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(generated: tuple[pa.Table, pa.Table]) -> Comparison:
    return compare_datasets(*generated, ColumnMapping(segments=("cat_2",)), top_segments_k=2)


def test_drift_on_features_predictions_and_target(comparison: Comparison) -> None:
    columns = comparison.data.columns
    assert list(columns) == [*NUMERICAL, *CATEGORICAL, "prediction", "predicted_label", "target"]
    assert set(DRIFTED) <= set(comparison.data.drifted_columns)
    assert set(comparison.data.drifted_columns) - set(DRIFTED) <= {
        "prediction",
        "predicted_label",
        "target",
    }
    assert columns["prediction"].kind is ColumnKind.NUMERICAL
    assert columns["prediction"].drift.drifted is True  # num_0 drives the score
    assert columns["predicted_label"].kind is ColumnKind.CATEGORICAL
    assert columns["target"].kind is ColumnKind.CATEGORICAL
    for name in ("request_id", "ts"):
        assert name not in columns
    assert comparison.data.quality is not None
    assert comparison.data.quality.duplicated_ids == 0  # request ids are unique
    assert comparison.notes == []


def test_drift_equals_compare_tables_on_the_same_columns(
    comparison: Comparison, generated: tuple[pa.Table, pa.Table]
) -> None:
    kinds = {n: c.kind for n, c in comparison.data.columns.items()}
    direct = compare_tables(*generated, kinds)
    for name, column in comparison.data.columns.items():
        assert column.drift == direct.columns[name].drift, name


def test_model_quality_on_both_sides_equals_performance(
    comparison: Comparison, generated: tuple[pa.Table, pa.Table]
) -> None:
    for table, quality in zip(
        generated, (comparison.reference_quality, comparison.current_quality), strict=True
    ):
        expected = classification_quality(
            table["target"],
            predicted=table["predicted_label"],
            scores=table["prediction"],
            positive_label=1,
        )
        assert isinstance(quality, ClassificationQuality)
        assert quality.to_dict() == expected.to_dict()
        assert quality.roc_auc is not None
        assert quality.n_evaluated == table.num_rows


def test_cbpe_estimate_for_a_scored_binary_classifier(
    comparison: Comparison, generated: tuple[pa.Table, pa.Table]
) -> None:
    estimated = comparison.estimated_quality
    assert estimated is not None
    assert estimated.status == "ok"
    assert estimated.n_scored == generated[1].num_rows
    actual = comparison.current_quality
    assert actual is not None
    assert actual.accuracy is not None
    assert estimated.accuracy.value is not None
    assert estimated.accuracy.standard_error is not None
    # The generator keeps the scores calibrated under drift: CBPE should find the accuracy.
    assert abs(estimated.accuracy.value - actual.accuracy) <= 3 * estimated.accuracy.standard_error
    assert estimated.roc_auc.value is not None


def test_no_estimate_without_scores(generated: tuple[pa.Table, pa.Table]) -> None:
    reference, current = (t.drop_columns(["prediction"]) for t in generated)
    result = compare_datasets(reference, current)
    assert result.mapping.prediction_score is None
    assert result.estimated_quality is None
    assert result.current_quality is not None
    assert result.current_quality.roc_auc is None  # labels only


def test_declared_bounds_set_the_valid_range(generated: tuple[pa.Table, pa.Table]) -> None:
    result = compare_datasets(*generated, ColumnMapping(bounds={"num_3": (-1.0, 1.0)}))
    quality = result.data.columns["num_3"].quality
    values = generated[1]["num_3"].to_numpy(zero_copy_only=False)
    present = values[~np.isnan(values)]
    outside = np.count_nonzero((present < -1.0) | (present > 1.0))
    assert quality.bounds == (-1.0, 1.0)
    assert quality.out_of_range_share == pytest.approx(outside / present.size)
    assert result.data.columns["num_4"].quality.bounds != (-1.0, 1.0)


def test_segments_are_the_top_values_and_the_rest(
    comparison: Comparison, generated: tuple[pa.Table, pa.Table]
) -> None:
    reference, current = generated
    # The reference's largest values, as the monitoring jobs choose them.
    top = top_segments(reference, "cat_2", 2)
    assert [s.value for s in comparison.segments] == [*top, OTHER]
    assert {s.column for s in comparison.segments} == {"cat_2"}
    ref_parts = split_segments(reference, "cat_2", top)
    cur_parts = split_segments(current, "cat_2", top)
    assert sum(s.data.n_current for s in comparison.segments) == current.num_rows
    assert sum(s.data.n_reference for s in comparison.segments) == reference.num_rows
    kinds = {n: c.kind for n, c in comparison.data.columns.items()}
    for segment in comparison.segments:
        ref_part, cur_part = ref_parts[segment.value], cur_parts[segment.value]
        assert segment.data.n_reference == ref_part.num_rows
        assert segment.data.n_current == cur_part.num_rows
        # The drift of a segment is the drift of the segment's rows on both sides.
        direct = compare_tables(ref_part, cur_part, kinds)
        for name in kinds:
            assert segment.data.columns[name].drift == direct.columns[name].drift
        assert {"num_0", "num_1", "num_2"} <= set(segment.data.drifted_columns)
        expected = classification_quality(
            cur_part["target"],
            predicted=cur_part["predicted_label"],
            scores=cur_part["prediction"],
            positive_label=1,
        )
        assert segment.quality is not None
        assert segment.quality.to_dict() == expected.to_dict()
    assert comparison.to_dict()["segments"][0]["value"] == top[0]


def test_a_segment_missing_from_the_reference_has_insufficient_data() -> None:
    rng = np.random.default_rng(0)
    reference = pa.table({"x": rng.normal(size=300), "region": ["eu"] * 300})
    current = pa.table({"x": rng.normal(size=300), "region": ["eu"] * 200 + ["us"] * 100})
    result = compare_datasets(reference, current, ColumnMapping(segments=("region",)))
    segments = {s.value: s for s in result.segments}
    # "us" is not among the reference's values: it is in "other", which the reference lacks.
    assert set(segments) == {"eu", OTHER}
    assert segments[OTHER].data.n_current == 100
    assert segments[OTHER].data.n_reference == 0
    assert segments[OTHER].data.columns["x"].drift.status == "insufficient_data"
    assert segments["eu"].data.columns["x"].drift.status == "ok"


# --- classification without predictions: adult, split by sex -----------------------------------


def test_adult_split_by_sex_shows_target_drift(adult: pa.Table) -> None:
    sex = pc.utf8_trim_whitespace(adult["sex"])
    reference = adult.filter(pc.equal(sex, "Male")).drop_columns(["sex"])
    current = adult.filter(pc.equal(sex, "Female")).drop_columns(["sex"])
    result = compare_datasets(reference, current)
    assert result.mapping.target == "class"
    assert "class" in result.data.columns
    assert result.data.columns["class"].drift.drifted is True
    assert result.data.columns["relationship"].drift.drifted is True
    assert (result.reference_quality, result.current_quality) == (None, None)
    assert result.estimated_quality is None


# --- regression: bike sharing -------------------------------------------------------------------


def test_regression_on_bike_sharing(bikes: tuple[pa.Table, pa.Table]) -> None:
    reference, current = bikes
    result = compare_datasets(reference, current, ColumnMapping(target="cnt"))
    mapping = result.mapping
    assert mapping.task == "regression"
    assert mapping.prediction_label == "prediction"
    assert mapping.prediction_score is None
    columns = result.data.columns
    assert columns["cnt"].kind is ColumnKind.NUMERICAL
    assert columns["prediction"].kind is ColumnKind.NUMERICAL
    # January against July: warmer and busier.
    for name in ("temp", "atemp", "cnt", "prediction"):
        assert columns[name].drift.drifted is True, name
    assert columns["hr"].drift.drifted is False  # every hour of the day, both months
    for table, quality in zip(
        bikes, (result.reference_quality, result.current_quality), strict=True
    ):
        expected = regression_quality(table["cnt"], table["prediction"])
        assert isinstance(quality, RegressionQuality)
        assert quality.to_dict() == expected.to_dict()
    assert result.reference_quality is not None
    assert result.current_quality is not None
    assert result.reference_quality.mae is not None
    assert result.current_quality.mae is not None
    assert result.current_quality.mae > result.reference_quality.mae  # fitted on January
    assert result.estimated_quality is None
    assert result.to_dict()["current_quality"]["mae"] == result.current_quality.mae


def test_regression_without_predictions_has_no_model_quality(
    bikes: tuple[pa.Table, pa.Table],
) -> None:
    reference, current = (t.drop_columns(["prediction"]) for t in bikes)
    result = compare_datasets(reference, current, ColumnMapping(target="cnt"))
    assert (result.reference_quality, result.current_quality) == (None, None)
    assert "cnt" in result.data.columns
