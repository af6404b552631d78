"""Benchmark of the dashboard: the requests the model page makes, on a year of hourly data.

    .venv/bin/python bench/dashboard.py              # seed once (a few minutes), then measure
    .venv/bin/python bench/dashboard.py --runs 50    # more requests per panel
    .venv/bin/python bench/dashboard.py --serve      # leave the server running, print its URL

The store (kept in bench/.data/dashboard-store between runs) holds what a monitoring job writes
for a classification model with 20 features (15 numerical, 5 categorical) and two outputs,
computed every hour for 365 days: all data, each model version (v1, then v2, both during a
two-week canary) and each value of the segment ``region`` (eu, us, other), every metric of the
drift, data-quality, model-quality, estimated-quality and service-health suites with the
details a job writes (binned distributions, column statistics, confusion matrices, standard
errors), the day and week roll-ups, and one job run per window: about 6 million points.

A real server (uvicorn, ``--no-scheduler``) answers; each request the model page (and the
feature page) makes is sent ``--runs`` times in a row; the figures are the wall time seen by
the client on 127.0.0.1: p50 / p95 per request, and the response size. Two views:

1. the default view of the last year (the page picks 1d windows for it: the roll-ups);
2. the same year at the monitor's own 1h windows (the worst case: 8,760 windows per series).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STORE = HERE / ".data" / "dashboard-store"
MODEL = "churn"
NUMERICAL = [f"num_{i}" for i in range(15)]
CATEGORICAL = [f"cat_{j}" for j in range(5)]
FEATURES = NUMERICAL + CATEGORICAL
OUTPUTS = ["score", "label"]
COLUMNS = FEATURES + OUTPUTS
CATEGORIES = ["a", "b", "c", "d", "e", "f"]
REGIONS = ["eu", "us", "other"]
DAYS = 365
CANARY = (180, 194)  # days when v1 and v2 both serve

sys.path.insert(0, str(ROOT / "src"))

from serving import served  # noqa: E402
from sightline.monitoring.points import CLASSIFICATION_METRICS  # noqa: E402
from sightline.schema import JobRun, MetricPoint, Window  # noqa: E402
from sightline.server.ingest import Ingestor  # noqa: E402
from sightline.store import open_metric_store, open_prediction_store  # noqa: E402

# -- the store ---------------------------------------------------------------------------------


class Slice:
    """Stamps the points of one slice of one window."""

    def __init__(self, window: Window, version: str = "", key: str = "", value: str = ""):
        self.window, self.version, self.key, self.value = window, version, key, value
        self.points: list[MetricPoint] = []

    def __call__(
        self, metric: str, value: float | None, n: int, column: str = "", /, **details: Any
    ) -> None:
        w = self.window
        self.points.append(
            MetricPoint(MODEL, metric, w.start, w.end, w.granularity, value, n, column,
                        self.version, "default", self.key, self.value, details)
        )  # fmt: skip


def numerical_distribution(rng: np.random.Generator, shift: float) -> dict[str, Any]:
    edges = np.linspace(-4, 4 + shift, 21)
    ref = rng.dirichlet(np.ones(20) * 5)
    cur = np.roll(ref, int(shift * 2)) * 0.7 + rng.dirichlet(np.ones(20) * 5) * 0.3
    moved = [
        {
            "range": [float(edges[i]), float(edges[i + 2])],
            "reference": float(ref[i]),
            "current": float(cur[i]),
            "change": float(cur[i] - ref[i]),
        }
        for i in range(5)
    ]
    return {"edges": edges.tolist(), "reference": ref.tolist(), "current": cur.tolist(),
            "moved": moved}  # fmt: skip


def categorical_distribution(rng: np.random.Generator) -> dict[str, Any]:
    ref = rng.dirichlet(np.ones(len(CATEGORIES)) * 5)
    cur = rng.dirichlet(np.ones(len(CATEGORIES)) * 5)
    moved = [
        {"category": c, "reference": float(r), "current": float(k), "change": float(k - r)}
        for c, r, k in zip(CATEGORIES, ref, cur, strict=True)
    ]
    return {"categories": CATEGORIES, "reference": ref.tolist(), "current": cur.tolist(),
            "moved": moved[:5]}  # fmt: skip


def slice_points(point: Slice, rng: np.random.Generator, n: int, drifting: bool) -> None:
    """Everything a job writes for one slice of one window (service health aside)."""
    point("row_count", n, n)
    drifted = []
    for column in COLUMNS:
        numerical = column in NUMERICAL or column == "score"
        missing = float(rng.beta(1, 60))
        stats = {"column": column, "kind": "numerical" if numerical else "categorical",
                 "n_rows": n, "n_missing": int(missing * n), "missing_share": missing,
                 "n_distinct": 50 if numerical else 6, "constant": False, "exact": True,
                 "mean": float(rng.normal()), "std": 1.0, "min": -4.0, "max": 4.0,
                 "quantiles": {"0.05": -1.6, "0.25": -0.7, "0.5": 0.0, "0.75": 0.7, "0.95": 1.6},
                 "out_of_range_share": float(rng.beta(1, 200)) if numerical else None,
                 "bounds": [-4.0, 4.0] if numerical else None,
                 "top": [] if numerical else [{"category": "a", "count": n // 3, "share": 0.33}],
                 "unseen_share": None if numerical else float(rng.beta(1, 300)),
                 "unseen": None if numerical else [], "type_mismatch_share": 0.0}  # fmt: skip
        point("missing_share", missing, n, column, **stats)
        if numerical:
            point("mean", stats["mean"], n, column)
            point("out_of_range_share", stats["out_of_range_share"], n, column, bounds=[-4, 4])
        else:
            point("unseen_share", stats["unseen_share"], n, column, unseen=[])
        shift = 1.5 if drifting and column in FEATURES[:12] else 0.0
        score = float(rng.uniform(0.0, 0.08) + shift / 10)
        method, threshold = ("wasserstein", 0.1) if numerical else ("jensenshannon", 0.1)
        is_drift = score > threshold
        if is_drift:
            drifted.append(column)
        distribution = (
            numerical_distribution(rng, shift) if numerical else categorical_distribution(rng)
        )
        point("drift_score", score, n, column, kind=stats["kind"], method=method,
              threshold=threshold, score=score, drifted=is_drift, n_reference=100_000,
              n_current=n, status="ok", statistic=score, p_value=None, exact=True,
              distribution=distribution, reference="dataset:default")  # fmt: skip
        point("drift_detected", float(is_drift), n, column)
    point("duplicated_rows_share", 0.0, n, duplicated_rows=0)
    point("schema_changes", 0.0, n, missing_columns=[], new_columns=[], type_changes=[])
    share = len(drifted) / len(COLUMNS)
    point(
        "share_of_drifted_columns",
        share,
        n,
        drifted_columns=drifted,
        n_columns=len(COLUMNS),
        dataset_drift=share >= 0.5,
        threshold=0.5,
        reference="dataset:default",
        status="ok",
    )
    labelled = int(n * 0.6)
    point("label_coverage", labelled / n, n, n_labelled=labelled)
    point("label_delay_p50", 43_200.0, labelled, unit="seconds")
    point("label_delay_p95", 80_000.0, labelled, unit="seconds")
    accuracy = float(rng.normal(0.85 - (0.08 if drifting else 0.0), 0.01))
    for metric in CLASSIFICATION_METRICS:
        extra: dict[str, Any] = {}
        if metric == "accuracy":
            extra = {"confusion_matrix": [[labelled // 2, 30], [40, labelled // 2 - 70]],
                     "labels": [0, 1], "positive_label": 1}  # fmt: skip
        point(metric, accuracy + float(rng.normal(0, 0.01)), labelled, n_labelled=labelled,
              notes=[], **extra)  # fmt: skip
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        estimate = accuracy + float(rng.normal(0, 0.01))
        point(f"estimated_{metric}", estimate, n, standard_error=0.012, lower=estimate - 0.024,
              upper=estimate + 0.024, realized=accuracy)  # fmt: skip


def service_points(point: Slice, rng: np.random.Generator, n: int) -> None:
    for segment, share in (("", 1.0), ("predict", 0.9), ("health", 0.1)):
        count = n * share
        stamp = Slice(point.window, "", "event" if segment else "", segment)
        stamp("event_count", count, int(count))
        stamp("throughput", count / 3600, int(count))
        stamp("error_rate", float(rng.beta(1, 150)), int(count))
        for q, base in (("p50", 12.0), ("p95", 40.0), ("p99", 90.0)):
            stamp(f"latency_{q}", base * float(rng.lognormal(0, 0.1)), int(count), n_latency=n)
        point.points += stamp.points


def window_points(window: Window, day: int, rng: np.random.Generator) -> list[MetricPoint]:
    hour = window.start.hour
    n = int(1000 + 600 * np.sin((hour - 6) / 24 * 2 * np.pi) + rng.integers(0, 100))
    drifting = 300 <= day < 310
    slices = [Slice(window)]
    versions = ["v1"] if day < CANARY[0] else ["v2"] if day >= CANARY[1] else ["v1", "v2"]
    slices += [Slice(window, v) for v in versions]
    slices += [Slice(window, "", "region", r) for r in REGIONS]
    shares = {"": 1.0, "v1": 1.0 / len(versions), "v2": 1.0 / len(versions),
              "eu": 0.5, "us": 0.35, "other": 0.15}  # fmt: skip
    points: list[MetricPoint] = []
    for s in slices:
        slice_points(s, rng, max(1, int(n * shares[s.version or s.value])), drifting)
        if s is slices[0]:
            service_points(s, rng, n)
        points += s.points
    return points


def rollup_points(window: Window, rng: np.random.Generator) -> list[MetricPoint]:
    """A day or week made of hours: the data points of each slice and the label metrics."""
    points: list[MetricPoint] = []
    n = 1000 * (24 if window.granularity == "1d" else 168)
    for version, key, value in [("", "", ""), ("v1", "", ""), ("v2", "", ""),
                                *(("", "region", r) for r in REGIONS)]:  # fmt: skip
        s = Slice(window, version, key, value)
        slice_points(s, rng, n, False)
        keep = {"row_count", "missing_share", "mean", "out_of_range_share", "unseen_share",
                "drift_score", "drift_detected", "duplicated_rows_share", "schema_changes",
                "share_of_drifted_columns", "label_coverage", "accuracy", "precision",
                "recall", "f1"}  # fmt: skip
        for p in s.points:
            if p.metric in keep:
                p.details.update(rollup="1h", windows=24, complete=True)
                points.append(p)
    return points


def seed(store: Path) -> datetime:
    """The store (once; a marker file keeps the end of the seeded year). Returns that end."""
    marker = store / "seeded.json"
    if marker.exists():
        return datetime.fromisoformat(json.loads(marker.read_text())["end"])
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    predictions = open_prediction_store(f"duckdb:///{store / 'predictions.duckdb'}")
    features = dict.fromkeys(NUMERICAL, 0.5) | dict.fromkeys(CATEGORICAL, "a")
    record = {"kind": "prediction", "model": MODEL, "ts": end.isoformat(),
              "features": features | {"region": "eu"},
              "prediction": {"score": 0.7, "label": 1}}  # fmt: skip
    Ingestor(predictions).ingest(
        {"records": [record, {"kind": "feedback", "model": MODEL, "request_id": "r", "target": 1}]},
        datetime.now(UTC),
    )
    predictions.close()
    metrics = open_metric_store(f"duckdb:///{store / 'metrics.duckdb'}")
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    n_points = 0
    for h in range(DAYS * 24):
        window = Window(start + timedelta(hours=h), start + timedelta(hours=h + 1), "1h")
        points = window_points(window, h // 24, rng)
        metrics.replace_window(MODEL, "default", window, points)
        metrics.record_run(JobRun(MODEL, "default", "1h", window.start, window.end, "ok",
                                  window.end, window.end + timedelta(seconds=1), 1000, "",
                                  "schedule"))  # fmt: skip
        n_points += len(points)
        if window.end.hour == 0 and h >= 23:
            day = Window(window.end - timedelta(days=1), window.end, "1d")
            rolled = rollup_points(day, rng)
            metrics.replace_window(MODEL, "default", day, rolled)
            n_points += len(rolled)
            if day.end.weekday() == 0 and h >= 24 * 7:
                week = Window(day.end - timedelta(days=7), day.end, "1w")
                rolled = rollup_points(week, rng)
                metrics.replace_window(MODEL, "default", week, rolled)
                n_points += len(rolled)
        if h % (24 * 30) == 0:
            print(f"  seeding: day {h // 24} of {DAYS}, {n_points:,} points,"
                  f" {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    metrics.close()
    marker.write_text(json.dumps({"end": end.isoformat(), "points": n_points}))
    print(f"  seeded {n_points:,} points in {time.perf_counter() - started:.0f} s")
    return end


# -- the measurement -------------------------------------------------------------------------------

CHROMIUM = os.environ.get("SIGHTLINE_CHROMIUM", "/usr/bin/chromium")


def page_requests(url: str, path: str) -> list[str]:
    """The API requests (and the page itself) a browser makes to show ``path``, in order:
    the model page is loaded in Chromium and its requests recorded, so the benchmark follows
    whatever the page's scripts ask for."""
    from playwright.sync_api import sync_playwright

    seen: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.on(
            "request",
            lambda r: seen.append(r.url[len(url) :]) if "/static/" not in r.url else None,
        )
        page.goto(url + path)
        root = "feature" if "/features/" in path else "model"
        page.wait_for_function(
            f"document.getElementById('{root}').dataset.loaded === 'true'", timeout=120_000
        )
        browser.close()
    return seen


def measure(client: httpx.Client, url: str, request: str, runs: int) -> tuple[float, float, int]:
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url + request)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (request, response.text[:300])
        size = len(response.content)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    return statistics.median(times) * 1000, p95 * 1000, size


def label(request: str) -> str:
    """A short name of a request: its path and the parameters that tell requests apart."""
    path, _, query = request.partition("?")
    params = httpx.QueryParams(query)
    keep = [f"{k}={v}" for k, v in params.multi_items() if k in ("metric", "column", "granularity")]
    name = path.replace(f"/v1/models/{MODEL}", "").replace(f"/models/{MODEL}", "page") or "page"
    text = f"{name} {' '.join(keep)}".replace("metric=", "").replace("granularity=", "@")
    return text if len(text) <= 78 else text[:75] + "..."


def run(runs: int, serve: bool) -> None:
    end = seed(STORE)
    with served(STORE.resolve(), SIGHTLINE_ALERT_INTERVAL="0") as (url, server):
        if serve:
            print(f"serving the benchmark store on {url}/models/{MODEL} (Ctrl-C stops)")
            server.wait()
            return
        age = datetime.now(UTC) - end
        print(
            f"store: a year of hourly windows up to {end:%Y-%m-%d %H:%M} UTC ({age.days} days ago)"
        )
        views = [
            ("model page, last year, default view (1d windows: the roll-ups)", "?range=1y"),
            ("model page, last year at the monitor's 1h windows", "?range=1y&granularity=1h"),
            (
                "feature page (num_3), last year at 1h windows",
                "/features/num_3?range=1y&granularity=1h",
            ),
        ]
        every: list[float] = []
        with httpx.Client(timeout=120) as client:
            for title, suffix in views:
                path = f"/models/{MODEL}{suffix}"
                requests = page_requests(url, path)
                print(f"\n{title}: {len(requests)} requests, {runs} times each")
                print(f"  {'request':80s} {'p50':>8s} {'p95':>8s} {'size':>9s}")
                for request in requests:
                    p50, p95, size = measure(client, url, request, runs)
                    every.append(p95)
                    print(f"  {label(request):80s} {p50:6.1f}ms {p95:6.1f}ms {size / 1e3:7.1f}kB")
        print(f"\nworst p95 of a request: {max(every):.1f} ms (goal: 150 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="times each request is sent")
    parser.add_argument("--serve", action="store_true", help="serve the store and wait")
    parser.add_argument("--seed-only", action="store_true", help="seed the store and stop")
    args = parser.parse_args()
    if args.seed_only:
        seed(STORE)
        return
    run(args.runs, args.serve)


if __name__ == "__main__":
    main()
