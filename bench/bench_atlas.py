"""Benchmark the atlas: a cold build from the mirror, and a warm place profile lookup.

    python bench/bench_atlas.py [--runs 3] [--lookups 50]

A cold build = a fresh process pulling every source from ``TOWNHALL_MIRROR``
(default ``../shared/data``) into an empty cache and building the atlas; each
run is a separate process so imports and caches are cold, and its peak memory
is that process's maximum resident set size. The lookup times
``Atlas.profile`` for a council, a town and an LSOA after one warm-up call.
Targets (2-core machine): build <= 60 s and <= 2 GB; profile <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIRROR = os.environ.get("TOWNHALL_MIRROR") or str(ROOT.parent / "shared" / "data")

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from townhall.sources.download import pull
from townhall.atlas.build import build
cache, out, mirror = map(Path, sys.argv[1:4])
pull(cache_dir=cache, mirror=mirror).raise_for_failures()
t1 = time.perf_counter()
build(out, cache_dir=cache)
t2 = time.perf_counter()
print(json.dumps({"pull": t1 - t0, "build": t2 - t1, "total": t2 - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def cold_build(runs: int) -> tuple[list[dict], Path]:
    results = []
    keep = Path(tempfile.mkdtemp(prefix="th-bench-"))
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = keep / "atlas.duckdb" if i == runs - 1 else Path(tmp) / "atlas.duckdb"
            r = subprocess.run([sys.executable, "-c", CHILD, str(Path(tmp) / "cache"), str(out), MIRROR],
                               capture_output=True, text=True, check=True)
            results.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(f"  build run {i + 1}: {results[-1]['total']:.1f} s, peak {results[-1]['peak_mb']:.0f} MB", flush=True)
    return results, keep / "atlas.duckdb"


def lookups(path: Path, n: int) -> dict[str, float]:
    from townhall.api import open_atlas

    a = open_atlas(path)
    out = {}
    for label, q, level in (("council E08000010", "E08000010", None), ("town 'wigan'", "wigan", "town"),
                            ("lsoa21 E01000001", "E01000001", "lsoa21"), ("search 'Kingston upon Hull'", None, None)):
        fn = (lambda: a.find("Kingston upon Hull")) if q is None else (lambda q=q, level=level: a.profile(q, level=level))
        fn()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        out[label] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lookups", type=int, default=50)
    args = ap.parse_args()
    print(f"cold build from mirror {MIRROR}, {args.runs} runs")
    res, atlas = cold_build(args.runs)
    for key in ("pull", "build", "total"):
        print(f"  median {key}: {statistics.median(r[key] for r in res):.1f} s")
    print(f"  peak memory (max over runs): {max(r['peak_mb'] for r in res):.0f} MB")
    print(f"warm lookups, median of {args.lookups}")
    for label, ms in lookups(atlas, args.lookups).items():
        print(f"  {label}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
