"""Benchmark citizens' assembly selection: townhall's LEXIMIN on HiGHS against the published
Gurobi runtimes and against the ``sortition-algorithms`` package's maximin on HiGHS.

    python bench/bench_assembly.py [--runs 3] [--reference-runs 3] [--reference-timeout 3600]
                                   [--only NAME ...] [--json]

Instances:

* ``example_small_20`` and ``example_large_200`` from the Flanigan et al. (Nature 2021)
  replication (``../shared/data/sortition/citizensassemblies-replication``), whose published
  LEXIMIN runs (Gurobi 9.0.3, median of 3) took 2.7 s and 1,161.8 s;
* ``sf_fixture``: the Sortition Foundation's test pool (150 candidates, panel of 22, 4 categories);
* ``synthetic_1000``: a synthetic pool of 1,000 volunteers with self-selection bias 2
  (``synthetic_pool(EXAMPLE_PROFILE, 1000, bias=2.0, seed=1)``), 5 quota categories from the
  profile with 10 % tolerance, panel of 40.

Every measurement runs in a fresh process (so ``peak_mb``, the process's ``ru_maxrss``, is its
own), timing only the solve (inputs are read first). Solvers:

* ``leximin``: :func:`townhall.assembly.leximin` (all stages), median of ``--runs``;
* ``maximin``: its first stage only, median of ``--runs``;
* ``select``: the whole :func:`townhall.assembly.select` (checks, LEXIMIN, rounding to 1,000
  panels, 1,000 LEGACY runs), one run;
* ``sa_maximin``: ``sortition_algorithms.committee_generation.find_distribution_maximin`` with
  the ``highspy`` backend (GPL-3.0; imported only here and in tests), median of
  ``--reference-runs`` (a single run where the first takes over a minute; a run over
  ``--reference-timeout`` seconds is stopped and reported as such).

Targets (2-core machine): ``example_large_200`` LEXIMIN <= 120 s, and townhall's LEXIMIN faster
than ``sa_maximin`` on every instance.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from _reference import record, run_child, sa_maximin

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("TOWNHALL_MIRROR") or ROOT.parent / "shared" / "data")
SORTITION = MIRROR / "sortition"
INSTANCES = ["example_small_20", "example_large_200", "sf_fixture", "synthetic_1000"]
GUROBI = {"example_small_20": 2.7, "example_large_200": 1161.8}


def load(name: str):
    """(pool frame, Quotas, k, id column) of an instance."""
    import pandas as pd

    from townhall.assembly import EXAMPLE_PROFILE, quotas_from_profile, read_quotas, synthetic_pool

    if name.startswith("example_"):
        base = SORTITION / "citizensassemblies-replication" / "data" / name
        pool = pd.read_csv(base / "respondents.csv", dtype=str)
        pool.insert(0, "id", [str(i) for i in range(1, len(pool) + 1)])
        return pool, read_quotas(base / "categories.csv"), int(name.rsplit("_", 1)[1]), "id"
    if name == "sf_fixture":
        base = SORTITION / "sortition-algorithms-fixtures" / "tests" / "fixtures"
        return (
            pd.read_csv(base / "candidates.csv", dtype=str),
            read_quotas(base / "features.csv"),
            22,
            "nationbuilder_id",
        )
    if name == "synthetic_1000":
        pool = synthetic_pool(EXAMPLE_PROFILE, 1000, bias=2.0, seed=1)
        return pool, quotas_from_profile(EXAMPLE_PROFILE, 40, tolerance=0.1), 40, "id"
    raise SystemExit(f"unknown instance {name}")


def child(name: str, solver: str) -> dict:
    """One timed solve (run in its own process)."""
    from townhall.assembly import build_instance, leximin, read_pool, select

    pool, quotas, k, id_col = load(name)
    out = record(name, solver, pool, quotas, k)
    if solver == "sa_maximin":
        out.update(sa_maximin(pool, quotas, k, id_col))
    elif solver in ("leximin", "maximin"):
        inst = build_instance(read_pool(pool, quotas, id_column=id_col), quotas, k)
        t = time.perf_counter()
        d = leximin(inst, maximin_only=solver == "maximin")
        out["seconds"] = time.perf_counter() - t
        p = d.type_probabilities[inst.person_type]
        out.update(
            minimum=float(p.min()),
            maximum=float(p.max()),
            types=inst.n_types,
            stages=d.stages,
            lp_solves=d.iterations,
            mip_solves=d.oracle_calls,
            panels=len(d.weights),
        )
    elif solver == "select":
        t = time.perf_counter()
        s = select(
            pool, quotas, k, id_column=id_col, seed="benchmark", panels=1000, legacy_runs=1000
        )
        out["seconds"] = time.perf_counter() - t
        out["steps"] = {key: round(v, 3) for key, v in s.seconds.items()}
        out.update(
            minimum=s.minimum,
            legacy_minimum=float(s.legacy_probabilities.min()),
            lottery_max_deviation_times_m=s.lottery.max_deviation * s.lottery.m,
        )
    else:
        raise SystemExit(f"unknown solver {solver}")
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run(name: str, solver: str, timeout: float | None = None) -> dict:
    """One measurement in a fresh process; ``seconds`` is None if it ran past ``timeout``."""
    out = run_child(__file__, [name, solver], timeout)
    if out.get("error"):
        raise SystemExit(f"{name}/{solver} failed:\n{out['error']}")
    return {"instance": name, "solver": solver, **out}


def secs(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:,.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--runs", type=int, default=3, help="Runs of townhall's LEXIMIN/maximin (median)."
    )
    ap.add_argument(
        "--reference-runs",
        type=int,
        default=3,
        help="Runs of sortition-algorithms' maximin (only 1 where the first takes over a minute).",
    )
    ap.add_argument(
        "--reference-timeout",
        type=float,
        default=3600,
        help="Stop a sortition-algorithms run after this many seconds.",
    )
    ap.add_argument("--only", nargs="*", default=INSTANCES, help="Instances to run.")
    ap.add_argument("--json", action="store_true", help="Print all results as JSON.")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    results = []
    for name in args.only:
        row: dict = {"instance": name, "gurobi_leximin_s": GUROBI.get(name)}
        for solver, runs in (("leximin", args.runs), ("maximin", args.runs), ("select", 1)):
            rs = [run(name, solver) for _ in range(runs)]
            row[solver] = rs[0] | {
                "seconds": statistics.median(r["seconds"] for r in rs),
                "all_seconds": [round(r["seconds"], 3) for r in rs],
                "peak_mb": max(r["peak_mb"] for r in rs),
            }
            print(f"{name:18s} {solver:11s} {row[solver]['seconds']:9.2f} s", file=sys.stderr)
        rs = [run(name, "sa_maximin", args.reference_timeout)]
        if rs[0]["seconds"] is not None and rs[0]["seconds"] < 60:
            rs += [
                run(name, "sa_maximin", args.reference_timeout)
                for _ in range(args.reference_runs - 1)
            ]
        done = [r for r in rs if r["seconds"] is not None]
        row["sa_maximin"] = (
            done[0]
            | {
                "seconds": statistics.median(r["seconds"] for r in done),
                "all_seconds": [round(r["seconds"], 3) for r in done],
                "peak_mb": max(r["peak_mb"] for r in done),
            }
            if done
            else rs[0]
        )
        print(f"{name:18s} sa_maximin  {row['sa_maximin']['seconds']} s", file=sys.stderr)
        results.append(row)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        "| instance | n / k / categories | types | LEXIMIN (townhall, HiGHS) | maximin (townhall) | maximin (sortition-algorithms, HiGHS) | LEXIMIN (published, Gurobi) | select() incl. lottery + LEGACY | peak MB (LEXIMIN / SA) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lx, mx, sa, sel = r["leximin"], r["maximin"], r["sa_maximin"], r["select"]
        gur = f"{r['gurobi_leximin_s']:,} s" if r["gurobi_leximin_s"] else "–"
        if sa["seconds"] is None:
            sa = {
                "seconds": float("nan"),
                "panels": 0,
                "peak_mb": float("nan"),
                "minimum": float("nan"),
            }
            sa_text = f"> {r['sa_maximin']['timeout']:,.0f} s (stopped)"
        else:
            sa_text = f"{secs(sa['seconds'])} ({sa['panels']} panels; runs {sa['all_seconds']})"
        print(
            f"| {r['instance']} | {lx['n']} / {lx['k']} / {lx['categories']} | {lx['types']} | {secs(lx['seconds'])} "
            f"({lx['stages']} stages, {lx['lp_solves']} LPs, {lx['mip_solves']} MIPs) | {secs(mx['seconds'])} | "
            f"{sa_text} | {gur} | {secs(sel['seconds'])} | "
            f"{lx['peak_mb']:.0f} / {sa['peak_mb']:.0f} |"
        )
    print()
    print(
        "| instance | LEXIMIN minimum (townhall) | maximin minimum (sortition-algorithms) | difference | LEGACY minimum (1,000 runs) | lottery: max deviation x m |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        lx, sa, sel = r["leximin"], r["sa_maximin"], r["select"]
        if sa["seconds"] is None:
            sa = {"minimum": float("nan")}
        print(
            f"| {r['instance']} | {lx['minimum']:.6f} | {sa['minimum']:.6f} | {abs(lx['minimum'] - sa['minimum']):.1e} | "
            f"{sel['legacy_minimum']:.4f} | {sel['lottery_max_deviation_times_m']:.3f} |"
        )


if __name__ == "__main__":
    main()
