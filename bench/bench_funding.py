"""Benchmark the funding engine: one scheme over every council, and the frontier sweep.

    python bench/bench_funding.py [--atlas PATH] [--repeat 5]

Over England's 296 councils (council tax base 2023-24, the shipped need index):

* **run**: one scheme (Norway: a symmetric and a top-up component) with every
  council's marginal retention and the per-council table.
  Target <= 50 ms.
* **frontier**: the linear family swept at 101 rates from 0 to 1, plus every shipped
  scheme as a point (summaries only). Target <= 2 s.

Reading the inputs from the atlas is timed apart (``load``; the need index is a
composite built once per atlas). Best and median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import townhall
    from townhall.funding import data, engine
    from townhall.funding.schemes import shipped

    atlas = townhall.open_atlas(args.atlas)
    t0 = time.perf_counter()
    inp = data.inputs(atlas, "council_tax", "2023-24")
    load = time.perf_counter() - t0
    schemes = shipped()
    engine.evaluate(schemes["norway"], inp)  # warm up imports and caches
    runs, fronts = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        engine.evaluate(schemes["norway"], inp)
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        f = engine.frontier(inp, schemes, steps=101)
        fronts.append(time.perf_counter() - t)
    out = {
        "councils": len(inp.codes), "load_s": round(load, 3),
        "run_ms_best": round(1000 * min(runs), 2), "run_ms_median": round(1000 * statistics.median(runs), 2),
        "frontier_s_best": round(min(fronts), 3), "frontier_s_median": round(statistics.median(fronts), 3),
        "frontier_points": len(f.table), "targets": {"run_ms": 50, "frontier_s": 2},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
