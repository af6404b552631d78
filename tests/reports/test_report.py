"""The ad-hoc report: loading datasets, ``sightline.compare``, JSON and self-contained HTML, and the
``sightline report`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import sightline
from sightline import reports
from sightline.cli.main import main
from sightline.errors import ValidationError
from sightline.reports import Report, load_table
from sightline.schema.mapping import ColumnMapping


def make_table(seed: int, n: int, *, shift: float = 0.0, model: bool = True) -> pa.Table:
    """Two numerical and a categorical feature; a scored binary classifier's columns."""
    rng = np.random.default_rng(seed)
    num_0 = rng.normal(shift, 1.0, n)
    columns: dict[str, Any] = {
        "num_0": num_0,
        "num_1": rng.lognormal(shift, 0.5, n),
        "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1] if shift else None),
    }
    if model:
        logit = 1.5 * num_0
        columns["target"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
        score = 1 / (1 + np.exp(-(logit + rng.normal(0.0, 0.5, n))))
        columns["prediction"] = score
        columns["predicted_label"] = (score >= 0.5).astype(np.int64)
    return pa.table(columns)


@pytest.fixture
def reference() -> pa.Table:
    return make_table(1, 1500)


@pytest.fixture
def drifted() -> pa.Table:
    return make_table(2, 1200, shift=1.0)


def strict_json(text: str) -> Any:
    """JSON as the standard has it: NaN and Infinity are refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} in the JSON report")

    return json.loads(text, parse_constant=refuse)


# --- load_table ---------------------------------------------------------------------------------


def test_load_table_from_frames_and_tables(reference: pa.Table) -> None:
    assert load_table(reference) is reference
    batch = reference.to_batches()[0]
    assert load_table(batch).equals(pa.Table.from_batches([batch]))
    frame = reference.to_pandas()
    from_pandas = load_table(frame.set_index(np.arange(100, 100 + len(frame))))
    assert from_pandas.column_names == reference.column_names  # the index is not a column
    assert from_pandas["num_0"].to_pylist() == reference["num_0"].to_pylist()
    assert from_pandas["plan"].to_pylist() == reference["plan"].to_pylist()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv", ".jsonl"])
def test_load_table_from_files(tmp_path: Path, reference: pa.Table, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    frame = reference.to_pandas()
    if suffix == ".parquet":
        pq.write_table(reference, path)
    elif suffix == ".csv":
        pa_csv.write_csv(reference, path)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in reference.to_pylist()))
    for given in (path, str(path)):
        table = load_table(given)
        assert table.num_rows == reference.num_rows
        assert table.column_names == reference.column_names
        np.testing.assert_allclose(table["num_0"].to_numpy(), reference["num_0"].to_numpy())
        assert table["plan"].to_pylist() == reference["plan"].to_pylist()
        assert table["target"].to_pylist() == reference["target"].to_pylist()


def test_load_table_refuses_unknown_files_and_objects(tmp_path: Path) -> None:
    sheet = tmp_path / "data.xlsx"
    sheet.write_bytes(b"not really a spreadsheet")
    with pytest.raises(ValidationError, match=r"unknown file type '\.xlsx'") as caught:
        load_table(sheet, "current")
    assert caught.value.field == "current"
    missing = tmp_path / "nowhere.parquet"
    with pytest.raises(ValidationError, match="no file at") as caught:
        load_table(missing, "reference")
    assert caught.value.field == "reference"
    assert str(missing) in str(caught.value)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 but not parquet")
    with pytest.raises(ValidationError, match="cannot read"):
        load_table(broken)
    with pytest.raises(ValidationError, match="got list"):
        load_table([1, 2, 3])


# --- sightline.compare --------------------------------------------------------------------------


def test_sightline_compare_is_the_reports_compare() -> None:
    assert sightline.compare is reports.compare
    with pytest.raises(AttributeError, match="no attribute 'comparee'"):
        _ = sightline.comparee  # type: ignore[attr-defined]


def test_compare_returns_a_report(reference: pa.Table, drifted: pa.Table) -> None:
    report = sightline.compare(reference.to_pandas(), drifted)
    assert isinstance(report, Report)
    assert set(report.drifted_columns) >= {"num_0", "num_1", "plan"}
    assert report.dataset_drift is True
    assert report.comparison.current_quality is not None
    assert report.comparison.estimated_quality is not None
    assert repr(report).startswith("<Report 1,500 reference vs 1,200 current rows:")
    same = sightline.compare(reference, reference)
    assert same.drifted_columns == []
    assert same.dataset_drift is False


def test_to_json_is_valid_json_without_nan() -> None:
    # Columns that make undefined statistics: constant, all missing, a single value.
    rng = np.random.default_rng(3)
    reference = pa.table(
        {
            "x": rng.normal(size=300),
            "constant": np.full(300, 2.0),
            "empty": rng.normal(size=300),
            "word": rng.choice(["a", "b"], 300),
        }
    )
    current = pa.table(
        {
            "x": rng.normal(size=200),
            "constant": np.full(200, 2.0),
            "empty": pa.nulls(200, pa.float64()),
            "word": pa.array(["a"] + [None] * 199, pa.string()),
        }
    )
    report = sightline.compare(reference, current)
    data = strict_json(report.to_json())
    assert data == strict_json(json.dumps(report.to_dict(), default=str))
    assert set(data["data"]["columns"]) == {"x", "constant", "empty", "word"}
    assert data["data"]["quality"]["constant_columns"] == ["constant", "word"]
    assert data["data"]["quality"]["empty_columns"] == ["empty"]
    assert data["data"]["columns"]["empty"]["drift"]["status"] == "insufficient_data"
    compact = report.to_json(indent=None)
    assert "\n" not in compact
    assert strict_json(compact) == data


def test_infinite_values_give_a_valid_report() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=2000)
    values[:5] = np.inf
    report = sightline.compare(pa.table({"x": rng.normal(size=2000)}), pa.table({"x": values}))
    drift = report.comparison.data.columns["x"].drift
    assert drift.score is not None
    assert np.isfinite(drift.score)
    strict_json(report.to_json())


def assert_self_contained(html: str) -> None:
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html
    assert "url(" not in html


def test_save_html_writes_a_self_contained_page(
    tmp_path: Path, reference: pa.Table, drifted: pa.Table
) -> None:
    report = sightline.compare(reference, drifted)
    path = report.save_html(tmp_path / "report.html")
    assert path == tmp_path / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html == report.to_html()  # the comparison's time is fixed: rendering is repeatable
    assert_self_contained(html)
    columns = list(report.comparison.data.columns)
    assert columns == ["num_0", "num_1", "plan", "prediction", "predicted_label", "target"]
    assert html.count("<svg") == len(columns)  # a distribution chart per column
    for name in columns:
        assert f"<b>{name}</b>" in html
    assert 'id="quality"' in html  # model quality: target and predictions present
    assert "roc_auc" in html
    assert "CBPE" in html
    assert report._repr_html_() == html  # notebooks show the same page


def quality_rows(html: str) -> dict[str, list[str]]:
    """The model quality table: metric name -> its cells (reference, current[, estimated])."""
    match = re.search(r'<table id="quality".*?</table>', html, re.DOTALL)
    assert match is not None, "no model quality table"
    rows = re.findall(r"<tr><td>(\w+)</td>(.*?)</tr>", match.group(0), re.DOTALL)
    return {
        name: re.findall(r'<td class="num">(.*?)</td>', cells, re.DOTALL) for name, cells in rows
    }


def test_html_model_quality_table_shows_both_sides(reference: pa.Table, drifted: pa.Table) -> None:
    report = sightline.compare(reference, drifted)
    rows = quality_rows(report.to_html())
    ref, cur = report.to_dict()["reference_quality"], report.to_dict()["current_quality"]
    names = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"]
    assert [n for n in rows if n in names] == names
    for name in names:
        assert rows[name][:2] == [f"{ref[name]:.4g}", f"{cur[name]:.4g}"], name
        assert len(rows[name]) == 3  # and the CBPE column
    assert rows["accuracy"][2].startswith(
        f"{report.to_dict()['estimated_quality']['accuracy']['value']:.4g} ± "
    )


def test_html_model_quality_table_shows_the_brier_score(
    reference: pa.Table, drifted: pa.Table
) -> None:
    report = sightline.compare(reference, drifted)
    assert report.comparison.current_quality is not None
    assert report.comparison.current_quality.brier_score is not None
    assert "brier_score" in quality_rows(report.to_html())


def test_html_model_quality_table_of_a_regression() -> None:
    rng = np.random.default_rng(6)

    def table(n: int, shift: float) -> pa.Table:
        x = rng.normal(shift, 1.0, n)
        y = 3.0 * x + rng.normal(0.0, 0.5 + shift, n)
        return pa.table({"x": x, "y": y, "prediction": 3.0 * x})

    report = sightline.compare(table(800, 0.0), table(600, 1.0), target="y")
    assert report.comparison.mapping.task == "regression"
    rows = quality_rows(report.to_html())
    assert list(rows) == ["mae", "rmse", "mape", "r2", "mean_error"]
    cur = report.to_dict()["current_quality"]
    assert rows["mae"] == [
        f"{report.to_dict()['reference_quality']['mae']:.4g}",
        f"{cur['mae']:.4g}",
    ]


def test_an_unlabelled_current_set_gets_the_cbpe_estimate(reference: pa.Table) -> None:
    current = make_table(2, 1200, shift=1.0).drop_columns(["target"])
    report = sightline.compare(reference, current)
    assert report.comparison.current_quality is None
    estimated = report.comparison.estimated_quality
    assert estimated is not None
    assert estimated.status == "ok"
    assert "target" not in report.comparison.data.columns
    rows = quality_rows(report.to_html())
    assert rows["accuracy"][1] == "—"  # no current labels
    assert rows["accuracy"][2].startswith(f"{estimated.accuracy.value:.4g} ± ")
    strict_json(report.to_json())


def test_html_without_a_model_has_no_model_quality_table(tmp_path: Path) -> None:
    report = sightline.compare(make_table(4, 500, model=False), make_table(5, 400, model=False))
    html = report.save_html(tmp_path / "data-only.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert 'id="quality"' not in html
    assert html.count("<svg") == 3


def test_html_escapes_column_names_and_values(tmp_path: Path) -> None:
    name = "<script>alert(1)</script>"
    reference = pa.table({name: ["<b>x</b>", "y"] * 100})
    report = sightline.compare(reference, reference)
    html = report.to_html()
    assert name not in html
    assert "&lt;script&gt;" in html
    assert "<b>x</b>" not in html


def test_role_keywords_choose_columns(reference: pa.Table, drifted: pa.Table) -> None:
    report = sightline.compare(
        reference,
        drifted,
        numerical_features=["num_1"],
        categorical_features=["plan"],
        target="target",
        prediction_label="predicted_label",
    )
    mapping = report.comparison.mapping
    assert mapping.numerical_features == ("num_1",)  # a list becomes a tuple
    assert mapping.prediction_score is None
    assert list(report.comparison.data.columns) == ["num_1", "plan", "predicted_label", "target"]


def test_role_keywords_and_mapping_together_are_refused(reference: pa.Table) -> None:
    with pytest.raises(ValidationError, match="either mapping= or role keywords") as caught:
        sightline.compare(reference, reference, mapping=ColumnMapping(), target="target")
    assert caught.value.field == "mapping"
    with pytest.raises(ValidationError, match="unknown column role"):
        sightline.compare(reference, reference, targett="target")


def test_methods_and_thresholds_reach_the_columns(reference: pa.Table, drifted: pa.Table) -> None:
    report = sightline.compare(
        reference, drifted, methods={"num_0": "psi"}, thresholds={"num_0": 100.0}
    )
    drift = report.comparison.data.columns["num_0"].drift
    assert (drift.method, drift.threshold, drift.drifted) == ("psi", 100.0, False)


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, reference: pa.Table, drifted: pa.Table) -> dict[str, Path]:
    paths = {
        "reference": tmp_path / "reference.parquet",
        "drifted": tmp_path / "current.csv",
        "same": tmp_path / "same.parquet",
    }
    pq.write_table(reference, paths["reference"])
    pa_csv.write_csv(drifted, paths["drifted"])
    pq.write_table(reference, paths["same"])
    return paths


def test_cli_report_writes_html_and_json(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, out = tmp_path / "out.html", tmp_path / "out.json"
    code = main(
        [
            "report",
            "--reference",
            str(files["reference"]),
            "--current",
            str(files["drifted"]),
            "-o",
            str(html),
            "--json",
            str(out),
        ]
    )
    assert code == 0  # drift alone fails nothing without --fail-on-drift
    printed = capsys.readouterr().out
    assert f"HTML report: {html}" in printed
    assert f"JSON report: {out}" in printed
    assert "1,500 reference rows, 1,200 current rows" in printed
    assert_self_contained(html.read_text(encoding="utf-8"))
    data = strict_json(out.read_text(encoding="utf-8"))
    assert data["data"]["n_current"] == 1200
    assert {"num_0", "num_1", "plan"} <= set(data["data"]["drifted_columns"])
    assert data["mapping"]["target"] == "target"


@pytest.mark.parametrize(("current", "expected"), [("drifted", 1), ("same", 0)])
def test_cli_fail_on_drift(
    files: dict[str, Path], current: str, expected: int, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--reference", str(files["reference"]), "--current", str(files[current])]
    assert main([*args, "--fail-on-drift"]) == expected
    assert main(args) == 0
    assert "drifted columns:" in capsys.readouterr().out


def test_cli_json_to_stdout(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "report",
            "--reference",
            str(files["reference"]),
            "--current",
            str(files["drifted"]),
            "--json",
            "-",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    data = strict_json(captured.out)
    assert data["data"]["n_reference"] == 1500
    assert "drifted columns:" in captured.err  # the summary line keeps stdout clean


def test_cli_json_to_stdout_with_html_output(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--reference", str(files["reference"]), "--current", str(files["drifted"])]
    assert main([*args, "-o", str(tmp_path / "r.html"), "--json", "-"]) == 0
    strict_json(capsys.readouterr().out)


def test_cli_missing_file_is_a_usage_error(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.parquet"
    code = main(["report", "--reference", str(files["reference"]), "--current", str(missing)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert "current" in captured.err
    assert f"no file at {missing}" in captured.err


def test_cli_method_per_column(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    base = ["report", "--reference", str(files["reference"]), "--current", str(files["drifted"])]
    code = main([*base, "--method", "num_0=ks", "--threshold", "num_1=0.5", "--json", str(out)])
    assert code == 0
    columns = strict_json(out.read_text(encoding="utf-8"))["data"]["columns"]
    assert columns["num_0"]["drift"]["method"] == "ks"
    assert columns["num_1"]["drift"]["method"] == "wasserstein"  # the default at 1,200 rows
    assert columns["num_1"]["drift"]["threshold"] == 0.5
    assert main([*base, "--method", "num_0"]) == 2
    assert "--method takes COLUMN=VALUE" in capsys.readouterr().err


def test_cli_roles(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code = main(
        [
            "report",
            "--reference",
            str(files["reference"]),
            "--current",
            str(files["drifted"]),
            "--numerical",
            "num_0",
            "--categorical",
            "plan",
            "--target",
            "target",
            "--prediction-label",
            "predicted_label",
            "--segment",
            "plan",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    data = strict_json(out.read_text(encoding="utf-8"))
    assert list(data["data"]["columns"]) == ["num_0", "plan", "predicted_label", "target"]
    assert [s["value"] for s in data["segments"]] == ["basic", "pro", "team"]
    assert data["current_quality"]["accuracy"] is not None


def test_pandas_is_a_dataframe_source(reference: pa.Table) -> None:
    frame: pd.DataFrame = reference.to_pandas()
    report = sightline.compare(frame, frame)
    assert report.comparison.data.n_current == len(frame)


def test_multivariate_drift_in_the_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 600
    reference = pa.table({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n)})
    # Each column alone barely moves; together they do (the correlation flips).
    shared = rng.normal(0, 1, n)
    current = pa.table({"a": shared, "b": -shared + rng.normal(0, 0.1, n)})
    report = sightline.compare(reference, current, multivariate=True)
    joint = report.to_dict()["multivariate"]
    assert joint["status"] == "ok"
    assert joint["drifted"] is True
    assert joint["auc"] > 0.55
    page = report.save_html(tmp_path / "r.html").read_text()
    assert 'id="multivariate"' in page
    assert sightline.compare(reference, current).to_dict()["multivariate"] is None
