"""Hard sortition instances: self-selected pools with tight population quotas, townhall's
LEXIMIN and maximin beside the ``sortition-algorithms`` package's maximin, all under a time limit.

    python bench/bench_assembly_hard.py [--time-limit 600] [--only NAME ...] [--json]

Instances (seeded, made in the run; see :func:`townhall.assembly.hard_pool`):

* ``hard_N_C_tight``: ``N`` volunteers drawn from an England and Wales-like profile with ``C``
  categories (sex, age, ethnicity, qualification, tenure, region, disability, economic
  activity) and strong self-selection bias (3x for graduates, owners, the oldest and the
  retired), quotas of +-1 seat around each value's population target, panel of 120;
* ``hard_N_C_loose``: the same with +-3 seats;
* ``sf_e_like``: 1,727 volunteers (as the replication's ``sf_e_110``) shaped like its
  pseudonymised population table (``data/sf_e_110/intersections.csv``: the 7 categories'
  shares, each category drawn given category ``a`` from the pair shares), with bias 3 on the
  first value of ``b``, ``c``, ``e``, panel of 110, quotas +-1 seat.

Each solver runs in a fresh process with the same time limit (townhall's ``--time-limit``,
which returns the best so far with a proven gap; the package's maximin is stopped). Reported:
seconds, minimum probability, townhall's proven gap, and LEGACY's minimum (1,000 runs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _reference import record, run_child, sa_maximin

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("TOWNHALL_MIRROR") or ROOT.parent / "shared" / "data")
SF_E = MIRROR / "sortition" / "citizensassemblies-replication" / "data" / "sf_e_110"
INSTANCES = [
    "hard_500_6_tight",
    "hard_1000_7_tight",
    "hard_2000_8_tight",
    "hard_2000_8_loose",
    "hard_5000_8_tight",
    "sf_e_like",
]


def sf_e_like(n: int = 1727, k: int = 110, seed: int = 0, bias: float = 3.0):
    """A pool shaped like sf_e_110's population table, and +-1-seat quotas on its shares."""
    import numpy as np
    import pandas as pd

    from townhall.assembly import tight_quotas

    table = pd.read_csv(SF_E / "intersections.csv")
    table.columns = [c.strip() for c in table.columns]
    a_rows = table[table["category 1"] == "a"]
    a_share = a_rows[a_rows["category 2"] == "b"].groupby("feature 1")["population share"].sum()
    rng = np.random.default_rng(seed)
    a_vals = a_share.index.to_numpy()
    draw_a = rng.choice(len(a_vals), size=n, p=(a_share / a_share.sum()).to_numpy())
    pool = {"id": [f"S{i:05d}" for i in range(1, n + 1)], "a": a_vals[draw_a]}
    profile = {"a": a_share.to_dict()}
    for cat in sorted(set(a_rows["category 2"])):
        sub = a_rows[a_rows["category 2"] == cat]
        vals = sorted(set(sub["feature 2"]))
        profile[cat] = sub.groupby("feature 2")["population share"].sum().reindex(vals).to_dict()
        col = np.empty(n, dtype=object)
        for i, av in enumerate(a_vals):
            w = sub[sub["feature 1"] == av].set_index("feature 2")["population share"]
            w = w.reindex(vals).fillna(0.0).to_numpy(dtype=float).copy()
            if bias != 1:
                w[0] *= bias if cat in ("b", "c", "e") else 1.0
            if w.sum() <= 0:
                w = np.ones(len(vals))
            who = np.flatnonzero(draw_a == i)
            col[who] = np.array(vals, dtype=object)[
                rng.choice(len(vals), size=len(who), p=w / w.sum())
            ]
        pool[cat] = col
    # Categories never paired with ``a`` in the table: drawn from their own shares.
    for cat in sorted(set(table["category 1"]) | set(table["category 2"])):
        if cat in pool:
            continue
        one = table[table["category 1"] == cat]
        if len(one):
            key, part = "feature 1", one[one["category 2"] == one["category 2"].iloc[0]]
        else:
            two = table[table["category 2"] == cat]
            key, part = "feature 2", two[two["category 1"] == two["category 1"].iloc[0]]
        share = part.groupby(key)["population share"].sum()
        share = share[share > 0]
        profile[cat] = share.to_dict()
        w = share.to_numpy(dtype=float).copy()
        w[0] *= bias
        pool[cat] = share.index.to_numpy()[rng.choice(len(w), size=n, p=w / w.sum())]
    frame = pd.DataFrame(pool)
    # Values no volunteer has cannot have a minimum.
    quotas = tight_quotas(profile, k, 1)
    t = quotas.table
    have = t.apply(lambda r: int((frame[r["category"]] == r["value"]).sum()), axis=1)
    t["min"] = t["min"].where(have >= t["min"], have)
    return frame, quotas, k


def load(name: str):
    from townhall.assembly import hard_pool

    if name == "sf_e_like":
        return sf_e_like()
    _, n, c, kind = name.split("_")
    pool, quotas = hard_pool(int(n), categories=int(c), size=120, seats=1 if kind == "tight" else 3)
    return pool, quotas, 120


def peak_mb() -> float:
    """This process's peak resident memory, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, solver: str, limit: float) -> dict:
    pool, quotas, k = load(name)
    out = record(name, solver, pool, quotas, k)
    if solver == "sa_maximin":
        out.update(sa_maximin(pool, quotas, k))
        out["peak_mb"] = peak_mb()
        return out
    from townhall.assembly import (
        build_instance,
        check_feasible,
        legacy_probabilities,
        leximin,
        read_pool,
        verify_distribution,
    )

    p = read_pool(pool, quotas)
    if solver == "legacy":
        # LEGACY fails often on tight quotas (each failure is retried): timed on its own.
        inst = build_instance(p, quotas, k)
        t = time.perf_counter()
        out["minimum"] = float(legacy_probabilities(inst, 1000, seed=0)[inst.person_type].min())
        out["seconds"] = time.perf_counter() - t
        return out
    oracle = check_feasible(p, quotas, k)
    inst = oracle.inst
    t = time.perf_counter()
    d = leximin(inst, maximin_only=solver == "maximin", oracle=oracle, time_limit=limit)
    out["seconds"] = time.perf_counter() - t
    verify_distribution(inst, d)
    out.update(
        minimum=float(d.type_probabilities[inst.person_type].min()),
        optimal=d.optimal,
        gap=d.gap,
        bound=d.bound,
        stages=d.stages,
        proven_stages=d.proven_stages,
        types=inst.n_types,
        lp_solves=d.iterations,
        mip_solves=d.oracle_calls,
        heuristic_calls=d.heuristic_calls,
        panels=len(d.weights),
        descent_panels=d.descent_panels,
        largest_stage_gap=max(d.stage_gaps, default=0.0),
        peak_mb=peak_mb(),
    )
    return out


def run(name: str, solver: str, limit: float) -> dict:
    # The package's maximin has no time limit of its own: stopped at the same limit.
    # townhall's includes the quota check and covering panels, not time-limited.
    timeout = limit + 5 if solver == "sa_maximin" else limit * 1.5 + 60
    return {
        "instance": name,
        "solver": solver,
        **run_child(__file__, [name, solver, str(limit)], timeout),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=600, help="Seconds per solve.")
    ap.add_argument("--only", nargs="*", default=INSTANCES)
    ap.add_argument("--solvers", nargs="*", default=["leximin", "maximin", "sa_maximin", "legacy"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, solver, limit = args.child
        print(json.dumps(child(name, solver, float(limit))))
        return
    rows = []
    for name in args.only:
        row = {"instance": name}
        for solver in args.solvers:
            row[solver] = run(name, solver, args.time_limit)
            print(f"{name:20s} {solver:11s} {row[solver]}", file=sys.stderr, flush=True)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return

    def mem(r: dict) -> str:
        return f"{r['peak_mb']:,.0f}" if r.get("peak_mb") else "–"

    def cell(r: dict) -> str:
        if not r:
            return "–"  # not run
        if r.get("seconds") is None:
            return f"> {args.time_limit:,.0f} s (stopped)" if r.get("stopped") else "error"
        if r.get("optimal") is False:
            return f"{r['seconds']:,.1f} s (limit; gap {r['gap']:.1e})"
        return f"{r['seconds']:,.1f} s"

    print(
        "| instance | n / k / categories / types | LEXIMIN (townhall) | maximin (townhall) | "
        "maximin (sortition-algorithms) | ratio SA / LEXIMIN | minimum: LEXIMIN / SA | LEGACY minimum | "
        "peak MB: LEXIMIN / SA |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        lx, mx, sa = row.get("leximin", {}), row.get("maximin", {}), row.get("sa_maximin", {})
        base = lx if lx.get("n") else mx
        ratio = "–"
        if lx.get("seconds") and sa.get("seconds"):
            ratio = f"{sa['seconds'] / lx['seconds']:.1f}x"
        elif lx.get("seconds") and lx.get("optimal") and sa.get("stopped"):
            ratio = f"> {args.time_limit / lx['seconds']:.1f}x"
        sa_min = f"{sa['minimum']:.6f}" if sa.get("minimum") is not None else "–"
        lx_min = f"{lx['minimum']:.6f}" if lx.get("minimum") is not None else "–"
        lg = row.get("legacy", {})
        leg = f"{lg['minimum']:.4f}" if lg.get("minimum") is not None else "–"
        print(
            f"| {row['instance']} | {base.get('n')} / {base.get('k')} / {base.get('categories')} / "
            f"{base.get('types')} | {cell(lx)} | {cell(mx)} | {cell(sa)} | {ratio} | "
            f"{lx_min} / {sa_min} | {leg} | {mem(lx)} / {mem(sa)} |"
        )


if __name__ == "__main__":
    main()
