"""Benchmark the left-behind work: the Monte Carlo over index choices, and the LISA.

    python bench/bench_measures.py [--atlas PATH] [--runs 3]

Two measurements over every LSOA 2021 in England (33,755 areas), each run in a
fresh process so its peak memory (maximum resident set size) is its own:

* **mc**: 1,000 Monte Carlo draws of the open left-behind index
  (the shipped ``left_behind`` spec: 12 indicators; 4 normalisations x 3 weightings x
  2 aggregations x 2 missing-value policies, weights perturbed by up to 25%),
  with median ranks, 90% intervals and the sensitivity shares. Target <= 20 s.
* **lisa**: global Moran's I and local Moran's I of ``imd25_income_score`` with
  999 conditional permutations on 8 nearest neighbours of the population-weighted
  centroids, with the FDR cut-off. Target <= 60 s.

The timed part excludes reading the inputs from the atlas (reported separately as
``load``). ``peak_mb`` is the process's ``ru_maxrss`` at the end, ``rss_before_mb``
the same just before the timed step (interpreter, imports, atlas inputs);
``traced_mb`` the tracemalloc peak of the step alone (numpy reports its buffers
to it), from one extra run, as tracing slows the step down.
The atlas is ``--atlas``, else ``$TOWNHALL_ATLAS``, else the default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, tracemalloc
kind, path, trace = sys.argv[1], sys.argv[2], sys.argv[3] == "trace"
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import townhall
from townhall.measures import leftbehind
from townhall.measures.spec import build_index, load_spec
from townhall.measures.uncertainty import RankUncertainty
from townhall.measures.spatial import knn_weights, Hotspots
atlas = townhall.open_atlas(path)
t0 = time.perf_counter()
if kind == "mc":
    spec = load_spec(leftbehind.spec_path())
    ix = build_index(spec, atlas, draws=0).index
    u = spec.uncertainty
    load = time.perf_counter() - t0
    before = rss()
    if trace:
        tracemalloc.start()
    t1 = time.perf_counter()
    r = RankUncertainty(ix, 1000, normalisations=u.normalisations, weightings=u.weightings,
                        aggregations=u.aggregations, missing=u.missing, weight_noise=u.weight_noise,
                        seed=u.seed)
    secs = time.perf_counter() - t1
    n = len(r.frame)
    extra = {"indicators": len(ix.ids), "median_width": float(r.frame["width"].median())}
else:
    v = atlas.values("imd25_income_score")[["area", "value"]]
    a = atlas.areas("lsoa21")[["code", "lat", "lon"]]
    df = v.merge(a, left_on="area", right_on="code").dropna()
    load = time.perf_counter() - t0
    before = rss()
    if trace:
        tracemalloc.start()
    t1 = time.perf_counter()
    w = knn_weights(df["lat"].to_numpy(), df["lon"].to_numpy(), k=8)
    h = Hotspots(df["value"].to_numpy(), w, df["code"].to_numpy(), permutations=999, seed=1)
    secs = time.perf_counter() - t1
    n = len(df)
    extra = {"morans_i": float(h.moran.I), "counts": h.counts}
traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
print(json.dumps({"kind": kind, "seconds": secs, "load": load, "areas": n, "traced_mb": traced,
                  "rss_before_mb": before, "peak_mb": rss(), **extra}))
"""

TARGETS = {"mc": 20.0, "lisa": 60.0}


def child(kind: str, atlas: str, trace: bool) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, kind, atlas, "trace" if trace else "time"],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def run(kind: str, atlas: str, runs: int) -> dict:
    out = []
    for i in range(runs):
        out.append(child(kind, atlas, trace=False))
        print(f"  {kind} run {i + 1}: {out[-1]['seconds']:.2f} s, peak {out[-1]['peak_mb']:.0f} MB",
              flush=True)
    # tracemalloc slows numpy-heavy Python loops about threefold, so it gets a run of its own
    traced = child(kind, atlas, trace=True)["traced_mb"]
    secs = [r["seconds"] for r in out]
    return {"kind": kind, "median_s": statistics.median(secs), "runs_s": secs,
            "peak_mb": max(r["peak_mb"] for r in out), "traced_mb": traced,
            "rss_before_mb": max(r["rss_before_mb"] for r in out),
            "load_s": statistics.median(r["load"] for r in out), "areas": out[0]["areas"],
            "target_s": TARGETS[kind], "detail": {k: v for k, v in out[0].items()
                                                  if k not in ("seconds", "load", "peak_mb", "traced_mb")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["mc", "lisa"], default=None)
    args = ap.parse_args()
    from townhall import config

    atlas = args.atlas or os.environ.get("TOWNHALL_ATLAS") or str(config.atlas_path())
    if not Path(atlas).is_file():
        sys.exit(f"No atlas at {atlas}: build one ('townhall build') or pass --atlas.")
    print(f"atlas {atlas}, {os.cpu_count()} cores, {args.runs} runs each")
    results = [run(k, atlas, args.runs) for k in (["mc", "lisa"] if not args.only else [args.only])]
    print()
    print("| step | areas | median | runs | target | peak RSS (before the step) | traced peak of the step |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        name = {"mc": "Monte Carlo, 1,000 draws (left-behind index)",
                "lisa": "Moran's I + LISA, 999 permutations, k = 8"}[r["kind"]]
        runs = ", ".join(f"{s:.2f}" for s in r["runs_s"])
        ok = "met" if r["median_s"] <= r["target_s"] else "MISSED"
        print(f"| {name} | {r['areas']:,} | {r['median_s']:.2f} s | {runs} s | <= {r['target_s']:.0f} s ({ok}) "
              f"| {r['peak_mb']:.0f} MB ({r['rss_before_mb']:.0f} MB) | {r['traced_mb']:.0f} MB |")
    print()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
