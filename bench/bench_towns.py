"""Time the full towns analysis: every English town, every indicator, 1,000 bootstrap draws.

Each run is a fresh Python process that opens the atlas and times, in turn:
pairing the 1,082 towns with their cities; the gaps of every town on every
small-area indicator (about 60, both IoD years, plus the rank percentiles and the
2019 -> 2025 trend) with 1,000 bootstrap draws, reading the data included; and the
headline share with its breakdowns from those draws. ``ru_maxrss`` is the run's
own peak. Reports the median of the runs (target: at most 30 s for the total on
the 2-core machine).

Usage::

    python bench/bench_towns.py [--atlas PATH] [--runs 3] [--draws 1000] [--rule nearest]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy, pandas, scipy.spatial  # imported up front so the analysis is timed, not imports
from townhall.api import open_atlas
from townhall.places.gaps import town_gaps
from townhall.places.pairing import Pairing
from townhall.places.summary import Headline

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

path, draws, rule = sys.argv[1], int(sys.argv[2]), sys.argv[3]
atlas = open_atlas(path)
rss0 = rss_mb()
t0 = time.perf_counter()
p = Pairing(atlas)
t_pair = time.perf_counter() - t0
t1 = time.perf_counter()
g = town_gaps(atlas, rule=rule, n_draws=draws)
t_gaps = time.perf_counter() - t1
t2 = time.perf_counter()
h = Headline(g, p.table, rule=rule)
t_head = time.perf_counter() - t2
print(json.dumps({
    "towns": len(g.towns), "indicators": int(g.table["indicator"].nunique()), "rows": len(g.table),
    "draws": draws, "share": h.share, "lower": h.lower, "upper": h.upper,
    "pair_s": t_pair, "gaps_s": t_gaps, "headline_s": t_head, "total_s": time.perf_counter() - t0,
    "rss_start_mb": rss0, "maxrss_mb": rss_mb(),
}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default=os.environ.get("TOWNHALL_ATLAS", ""))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--rule", default="nearest", choices=["nearest", "ttwa"])
    args = ap.parse_args()
    if not args.atlas:
        from townhall import config

        args.atlas = str(config.atlas_path())

    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, args.atlas, str(args.draws), args.rule],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    r0 = runs[0]
    print(f"towns analysis: {r0['towns']:,} towns x {r0['indicators']} indicators x {r0['draws']:,} draws "
          f"({r0['rows']:,} gap rows), rule {args.rule}, {args.runs} runs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  pairing   median {med('pair_s'):.2f} s")
    print(f"  gaps      median {med('gaps_s'):.2f} s  (read, bootstrap, intervals, trend)")
    print(f"  headline  median {med('headline_s'):.2f} s")
    totals = ", ".join(f"{r['total_s']:.2f}" for r in runs)
    print(f"  total     median {med('total_s'):.2f} s  (runs: {totals})")
    print(f"  peak RSS  median {med('maxrss_mb'):.0f} MB (atlas open, before the analysis: {med('rss_start_mb'):.0f} MB)")
    print(f"  share worse {r0['share']:.3f} (95% interval {r0['lower']:.3f} to {r0['upper']:.3f})")


if __name__ == "__main__":
    main()
