"""Model-quality benchmarks: speed of classification_quality and the error of CBPE estimates.

Run from the repository root:

    .venv/bin/python bench/quality.py [--data /tmp/sl-bench] [--adult ../shared/data/adult.csv]

(a) classification_quality on the 1,000,000 binary rows of the synthetic current set (made by
    ../shared/bench/gen_data.py, generated here when missing), best of 3, next to the same
    metrics computed with scikit-learn's functions.
(b) CBPE fitted on a labelled reference and evaluated on windows of a current set whose labels
    we know: per metric, the mean absolute error of the estimate against the realized value,
    its mean signed error, and the share of windows whose realized value lies within ±2
    standard errors of the estimate. Datasets: the synthetic set (reference.parquet; current
    chunked into windows of 10,000 rows) and UCI Adult (a model trained on people under 40,
    current windows by age range).

Prints figures only; timing goals are read, not asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sklearn import metrics
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier

from sightline.metrics.estimation import CBPE
from sightline.metrics.performance import classification_quality

ROOT = Path(__file__).resolve().parent.parent
GEN_DATA = ROOT.parent / "shared" / "bench" / "gen_data.py"
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def best_of(runs: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def ensure_data(directory: Path) -> None:
    if (directory / "reference.parquet").exists() and (directory / "current.parquet").exists():
        return
    print(f"generating {directory} with {GEN_DATA} ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(GEN_DATA),
            str(directory),
            "--ref",
            "100000",
            "--cur",
            "1000000",
        ],
        check=True,
    )


def sklearn_quality(target: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> None:
    """The metrics of classification_quality, each by its scikit-learn function."""
    metrics.accuracy_score(target, predicted)
    metrics.precision_recall_fscore_support(target, predicted, average="binary")
    metrics.precision_recall_fscore_support(target, predicted, average=None)
    metrics.precision_recall_fscore_support(target, predicted, average="macro")
    metrics.precision_recall_fscore_support(target, predicted, average="weighted")
    metrics.confusion_matrix(target, predicted)
    metrics.roc_auc_score(target, scores)
    metrics.average_precision_score(target, scores)
    metrics.log_loss(target, scores)
    metrics.brier_score_loss(target, scores)
    calibration_curve(target, scores, n_bins=10)


def bench_speed(directory: Path) -> None:
    table = pq.read_table(directory / "current.parquet", columns=["target", "prediction"])
    table = table.combine_chunks()
    target = table.column("target").to_numpy()
    scores = table.column("prediction").to_numpy()
    predicted = (scores >= 0.5).astype(np.int64)
    print(f"\n(a) classification quality, {target.size:,} binary rows (best of 3)")
    timings = {
        "sightline, numpy, labels from scores": lambda: classification_quality(
            target, scores=scores
        ),
        "sightline, numpy, labels given": lambda: classification_quality(
            target, predicted=predicted, scores=scores
        ),
        "sightline, arrow columns": lambda: classification_quality(
            table.column("target"), scores=table.column("prediction")
        ),
        "scikit-learn, same metrics": lambda: sklearn_quality(target, scores, predicted),
    }
    seconds = {name: best_of(3, work) for name, work in timings.items()}
    for name, value in seconds.items():
        print(f"  {name:<40} {value:8.3f} s")
    ratio = seconds["scikit-learn, same metrics"] / seconds["sightline, numpy, labels given"]
    print(f"  speed-up over scikit-learn: {ratio:.1f}x")
    ours = classification_quality(target, scores=scores)
    print(
        f"  check: accuracy {ours.accuracy:.6f} vs {metrics.accuracy_score(target, predicted):.6f},"
        f" ROC AUC {ours.roc_auc:.9f} vs {metrics.roc_auc_score(target, scores):.9f}"
    )


def report_errors(
    title: str,
    cbpe: CBPE,
    windows: list[tuple[str, np.ndarray, np.ndarray]],
    show_windows: bool = False,
) -> None:
    """Per metric: MAE, bias and ±2 SE coverage of the estimates over the windows."""
    errors: dict[str, list[float]] = {name: [] for name in METRICS}
    covered: dict[str, list[bool]] = {name: [] for name in METRICS}
    ses: dict[str, list[float]] = {name: [] for name in METRICS}
    rows = []
    for label, scores, target in windows:
        estimate = cbpe.estimate(scores)
        realized = classification_quality(target, scores=scores, threshold=cbpe.threshold)
        row = [label, str(scores.size)]
        for name in METRICS:
            value = getattr(estimate, name)
            truth = getattr(realized, name)
            if value.value is None or truth is None:
                row.append("   n/a")
                continue
            errors[name].append(value.value - truth)
            covered[name].append(abs(value.value - truth) <= 2 * value.standard_error)
            ses[name].append(value.standard_error)
            row.append(f"{truth:.3f}/{value.value:.3f}")
        rows.append(row)
    calibration = (
        f"calibrated (ECE {cbpe.ece_raw:.4f} raw -> {cbpe.ece_calibrated:.4f} isotonic, CV)"
        if cbpe.calibrated
        else f"raw scores kept (ECE {cbpe.ece_raw:.4f})"
    )
    print(f"\n{title}: {len(windows)} windows, reference {cbpe.n_reference:,} rows, {calibration}")
    print(f"  {'metric':<10}{'MAE':>9}{'bias':>10}{'mean SE':>10}{'within ±2 SE':>14}")
    for name in METRICS:
        e = np.asarray(errors[name])
        if e.size == 0:
            continue
        print(
            f"  {name:<10}{np.mean(np.abs(e)):9.4f}{np.mean(e):10.4f}{np.mean(ses[name]):10.4f}"
            f"{np.mean(covered[name]):13.0%}"
        )
    if show_windows:
        print("  realized/estimated per window:")
        print("  " + "".join(f"{h:>14}" for h in ["window", "rows", *METRICS]))
        for row in rows:
            print("  " + "".join(f"{c:>14}" for c in row))


def bench_synthetic(directory: Path, window: int = 10_000) -> None:
    reference = pq.read_table(directory / "reference.parquet", columns=["target", "prediction"])
    current = pq.read_table(directory / "current.parquet", columns=["target", "prediction"])
    ref_scores = reference.column("prediction").to_numpy()
    ref_target = reference.column("target").to_numpy()
    scores = current.column("prediction").to_numpy()
    target = current.column("target").to_numpy()
    windows = [
        (str(i // window), scores[i : i + window], target[i : i + window])
        for i in range(0, scores.size, window)
    ]
    start = time.perf_counter()
    cbpe = CBPE.fit(ref_scores, ref_target)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    for _, s, _ in windows:
        cbpe.estimate(s)
    estimated = time.perf_counter() - start
    print(
        f"\n(b) CBPE on the synthetic set: fit {fitted:.2f} s, estimate of "
        f"{len(windows)} windows of {window:,} rows {estimated:.2f} s"
    )
    report_errors("synthetic (current drifts in num_0, a model input)", cbpe, windows)
    report_errors(
        "synthetic, raw scores (no calibration)",
        CBPE.fit(ref_scores, ref_target, calibrate=False),
        windows,
    )
    # The same windows, from the reference's own distribution (no drift): the reference split
    # into a fitting half and windows from the other half.
    half = ref_scores.size // 2
    steady = CBPE.fit(ref_scores[:half], ref_target[:half])
    steady_windows = [
        (str(i), ref_scores[i : i + window], ref_target[i : i + window])
        for i in range(half, ref_scores.size, window)
    ]
    report_errors("synthetic, no drift (reference halves)", steady, steady_windows)


def encode(column: np.ndarray) -> np.ndarray:
    return np.unique(column, return_inverse=True)[1].astype(np.float64)


def bench_adult(path: Path) -> None:
    table = pacsv.read_csv(path)
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    categorical = ["workclass", "marital-status", "occupation", "relationship", "sex"]
    features = np.column_stack(
        [table.column(c).to_numpy().astype(np.float64) for c in numeric]
        + [encode(np.asarray(table.column(c).to_pylist())) for c in categorical]
    )
    target = (np.asarray(table.column("class").to_pylist()) == ">50K").astype(np.int64)
    age = table.column("age").to_numpy()
    rng = np.random.default_rng(0)
    part = rng.integers(0, 10, age.size)  # 10 random parts
    young = age < 40
    train = young & (part < 4)
    reference = young & (part >= 4) & (part < 7)
    current = ~(train | reference)
    model = HistGradientBoostingClassifier(
        max_iter=100,
        categorical_features=list(range(len(numeric), features.shape[1])),
        random_state=0,
    )
    model.fit(features[train], target[train])
    scores = model.predict_proba(features)[:, 1]
    cbpe = CBPE.fit(scores[reference], target[reference])
    # current windows: consecutive age ranges of about 1,000 people (under 40: like the
    # reference; 40 and over: a population the model was not trained on)
    order = np.flatnonzero(current)[np.argsort(age[current], kind="stable")]
    windows = []
    for chunk in np.array_split(order, max(1, order.size // 1000)):
        label = f"age {age[chunk].min()}-{age[chunk].max()}"
        windows.append((label, scores[chunk], target[chunk], age[chunk].max() < 40))
    report_errors(
        "UCI Adult (model and reference: age < 40), all windows by age",
        cbpe,
        [w[:3] for w in windows],
        show_windows=True,
    )
    report_errors(
        "UCI Adult, windows under 40 (the reference's population)",
        cbpe,
        [w[:3] for w in windows if w[3]],
    )
    report_errors(
        "UCI Adult, windows 40 and over (a population the model never saw)",
        cbpe,
        [w[:3] for w in windows if not w[3]],
    )
    by_sex = np.asarray(table.column("sex").to_pylist())
    sex_windows = []
    for sex in ("Male", "Female"):
        rows = np.flatnonzero(current & (by_sex == sex))
        rng.shuffle(rows)
        for chunk in np.array_split(rows, max(1, rows.size // 1000)):
            sex_windows.append((sex, scores[chunk], target[chunk]))
    report_errors("UCI Adult, windows of one sex (random order)", cbpe, sex_windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/sl-bench"))
    parser.add_argument("--adult", type=Path, default=ROOT.parent / "shared/data/adult.csv")
    args = parser.parse_args()
    ensure_data(args.data)
    bench_speed(args.data)
    bench_synthetic(args.data)
    bench_adult(args.adult)


if __name__ == "__main__":
    main()
