"""Benchmark of the metrics engine, with Evidently side by side when it is installed.

    .venv/bin/python bench/engine.py              # all scenarios
    .venv/bin/python bench/engine.py --profile    # and where the time goes
    make bench-peers                              # once: Evidently 0.7.23 in a venv of its own

Data: ../shared/bench/gen_data.py (reference 100k rows, current 1M rows, 15 numerical and 5
categorical features, drift injected into num_0..num_2, cat_0, cat_1), generated once into
bench/.data/. Every scenario runs in a fresh process, so its peak RSS is its own; times are the
best of three runs of the computation alone (the data is already loaded as Arrow).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
GEN = ROOT.parent / "shared" / "bench" / "gen_data.py"
PEERS = HERE / ".venv-peers" / "bin" / "python"
FEATURES = [f"num_{i}" for i in range(15)] + [f"cat_{j}" for j in range(5)]


def ensure_data() -> None:
    if not (DATA / "current.parquet").exists():
        print(f"generating benchmark data into {DATA} ...", flush=True)
        subprocess.run(
            [sys.executable, str(GEN), str(DATA), "--ref", "100000", "--cur", "1000000"], check=True
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(runs: int, work):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def scenario(name: str, rows: int, columns: int) -> dict[str, object]:
    """Run one scenario in this process and return its figures."""
    import pyarrow.parquet as pq

    from sightline.metrics import compare_tables
    from sightline.metrics.columns import ColumnKind

    reference = pq.read_table(DATA / "reference.parquet")
    current = pq.read_table(DATA / "current.parquet").slice(0, rows)
    if name == "classification":
        from sightline.metrics.performance import classification_quality

        seconds, quality = best_of(
            3,
            lambda: classification_quality(
                current.column("target"),
                predicted=current.column("predicted_label"),
                scores=current.column("prediction"),
            ),
        )
        return {"seconds": seconds, "rss_mb": peak_rss_mb(), "roc_auc": quality.roc_auc}
    features = FEATURES[: columns * 3 // 4] if columns < 20 else FEATURES
    if columns < 20:
        features = [f"num_{i}" for i in range(columns * 3 // 4)] + [
            f"cat_{j}" for j in range(columns - columns * 3 // 4)
        ]
    kinds = {
        c: ColumnKind.NUMERICAL if c.startswith("num") else ColumnKind.CATEGORICAL for c in features
    }
    drift = name != "quality"
    seconds, report = best_of(3, lambda: compare_tables(reference, current, kinds, drift=drift))
    if not drift:
        return {"seconds": seconds, "rss_mb": peak_rss_mb(), "columns": len(report.columns)}
    truth = json.loads((DATA / "truth.json").read_text())
    expected = sorted(c for c in truth["drifted"] if c in kinds)
    return {
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
        "drifted": sorted(report.drifted_columns),
        "correct": sorted(report.drifted_columns) == expected,
    }


def run(name: str, rows: int = 1_000_000, columns: int = 20) -> dict[str, object]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--scenario",
            name,
            "--rows",
            str(rows),
            "--columns",
            str(columns),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def peers() -> dict[str, dict[str, object]] | None:
    """Evidently's presets on the same data, each in its own process (None if not installed)."""
    if not PEERS.exists():
        return None
    results: dict[str, dict[str, object]] = {}
    for preset in ("drift", "summary", "classification"):
        out = subprocess.run(
            [str(PEERS), str(HERE / "peers_evidently.py"), str(DATA), preset],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"Evidently {preset} failed:\n{out.stderr[-2000:]}")
            continue
        results[preset] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def profile() -> None:
    import cProfile
    import pstats

    import pyarrow.parquet as pq

    from sightline.metrics import compare_tables
    from sightline.metrics.columns import ColumnKind

    reference = pq.read_table(DATA / "reference.parquet")
    current = pq.read_table(DATA / "current.parquet")
    kinds = {
        c: ColumnKind.NUMERICAL if c.startswith("num") else ColumnKind.CATEGORICAL for c in FEATURES
    }
    compare_tables(reference, current, kinds, workers=1)
    profiler = cProfile.Profile()
    profiler.enable()
    compare_tables(reference, current, kinds, workers=1)
    profiler.disable()
    print("\nWhere the time goes (one thread, 1M vs 100k, top 15 by own time):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--columns", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.rows, args.columns)))
        return
    ensure_data()
    print(f"machine: {os.cpu_count()} cores; data: {DATA}")
    print("\nscenario                                  seconds   peak RSS   result")
    rows = [
        ("drift + quality, 1M vs 100k, 20 columns", run("drift", 1_000_000, 20)),
        ("drift + quality, 100k vs 100k, 20 columns", run("drift", 100_000, 20)),
        ("data quality only, 1M rows, 20 columns", run("quality", 1_000_000, 20)),
        ("binary classification quality, 1M rows", run("classification", 1_000_000)),
    ]
    for label, r in rows:
        if "drifted" in r:
            extra = f"drifted={r['drifted']} correct={r['correct']}"
        elif "roc_auc" in r:
            extra = f"roc_auc={r['roc_auc']:.4f}"
        else:
            extra = f"{r['columns']} columns"
        print(f"{label:42s} {r['seconds']:7.3f}   {r['rss_mb']:6.0f} MB   {extra}")
    print("\nscaling with rows (20 columns):")
    for n in (100_000, 300_000, 1_000_000):
        r = run("drift", n, 20)
        print(f"  {n:>9,} rows  {r['seconds']:.3f} s   {1e6 * r['seconds'] / n:.2f} µs/row")
    print("scaling with columns (1M rows):")
    for c in (4, 8, 12, 20):
        r = run("drift", 1_000_000, c)
        print(f"  {c:>9} columns  {r['seconds']:.3f} s   {r['seconds'] / c:.3f} s/column")
    evidently = peers()
    if evidently is None:
        print("\nEvidently: not installed (run `make bench-peers` once to compare side by side)")
    else:
        print(
            "\nEvidently 0.7.23 on the same data (1M vs 100k, same 20 columns + target/prediction):"
        )
        # Like for like: drift preset / our drift + quality; summary preset / our data
        # quality alone; classification preset / our classification quality.
        ours = {"drift": rows[0][1], "summary": rows[2][1], "classification": rows[3][1]}
        for name, r in evidently.items():
            mine = ours.get(name)
            ratio = f"  Sightline is {r['seconds'] / mine['seconds']:.0f}x faster" if mine else ""
            print(f"  {name:15s} {r['seconds']:7.2f} s   {r['rss_mb']:6.0f} MB{ratio}")
    if args.profile:
        profile()


if __name__ == "__main__":
    main()
