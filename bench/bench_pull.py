"""Time a cold ``pull`` of the whole catalogue from a local mirror, and the checks after it.

Each run is a fresh Python process pulling into a fresh temporary cache, so imports,
page cache aside, start cold and ``ru_maxrss`` is that run's own peak. Reports the
median of the runs for: the cold pull, ``status()`` (state file, no rehash) and
``verify()`` (rehash of every file).

Usage::

    python bench/bench_pull.py [--mirror ../shared/data] [--runs 3]
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
import json, resource, sys, tempfile, time
import pandas  # imported up front so status() is timed, not the pandas import
from townhall.sources import download

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

mirror = sys.argv[1]
with tempfile.TemporaryDirectory() as d:
    rss_imports = rss_mb()
    t0 = time.perf_counter()
    r = download.pull(cache_dir=d, mirror=mirror)
    t_pull = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = download.status(cache_dir=d)
    t_status = time.perf_counter() - t0
    t0 = time.perf_counter()
    vf = download.verify(cache_dir=d)
    t_verify = time.perf_counter() - t0
    assert int(vf["verified"].sum()) == len(vf) == len(r.copied)
    print(json.dumps({
        "files": len(r.copied), "bytes": r.bytes_copied, "pull_s": t_pull,
        "status_s": t_status, "verify_s": t_verify,
        "rss_imports_mb": rss_imports, "maxrss_mb": rss_mb(),
    }))
"""


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=str(repo / ".." / "shared" / "data"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("TOWNHALL_CACHE", "TOWNHALL_MIRROR")}
    runs = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, args.mirror],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    pulls = [f"{r['pull_s']:.3f}" for r in runs]
    print(
        f"cold mirror pull: {runs[0]['files']} files, {runs[0]['bytes'] / 1e6:.1f} MB, {args.runs} runs"
    )
    print(f"  pull    median {med('pull_s'):.3f} s  (runs: {', '.join(pulls)})")
    print(f"  status  median {med('status_s'):.3f} s  (state file, no rehash)")
    print(f"  verify  median {med('verify_s'):.3f} s  (rehash everything)")
    print(
        f"  peak RSS median {med('maxrss_mb'):.0f} MB (after imports, before the pull: "
        f"{med('rss_imports_mb'):.0f} MB)"
    )


if __name__ == "__main__":
    main()
