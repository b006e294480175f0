"""Benchmark: distance from every LSOA 2021 centroid to the nearest facility, all kinds, all dates.

Reads the placed facilities and LSOA 2021 centroids from the built atlas and times
:func:`townhall.atlas.facilities.access_table` (projection of the LSOA centroids to
British National Grid included). Target: at most 10 s on the 2-core machine.

    python bench/bench_access.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from townhall.api import open_atlas
from townhall.atlas.facilities import KINDS, access_table, to_bng


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    a = open_atlas()
    fac = a.query("SELECT id, kind, x, y, opened, closed FROM facility WHERE placed")
    for c in ("opened", "closed"):
        fac[c] = pd.to_datetime(fac[c])
    lsoa = a.query("SELECT code, lat, lon FROM area WHERE level = 'lsoa21' AND lat IS NOT NULL ORDER BY code")
    dates = sum(len(k.access_dates) for k in KINDS.values())
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        xy = to_bng(lsoa["lon"].to_numpy(), lsoa["lat"].to_numpy())
        acc = access_table(lsoa.assign(x=xy[:, 0], y=xy[:, 1]), fac)
        times.append(time.perf_counter() - t0)
    print(f"access: {len(lsoa):,} LSOAs x {len(KINDS)} kinds ({dates} kind-dates, plus closures-only scenarios) "
          f"= {len(acc):,} distances; best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
          f"over {args.repeat} runs (target <= 10 s)")


if __name__ == "__main__":
    main()
