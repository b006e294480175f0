"""What the assembly benchmarks share: the reference solver and the fresh-process runner.

``sortition-algorithms`` (GPL-3.0) is imported only here (and in tests), inside
:func:`sa_maximin`, so a benchmark that does not ask for it never loads it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time


def sa_maximin(pool, quotas, k: int, id_column: str = "id") -> dict:
    """``sortition_algorithms``' maximin (HiGHS) on a pool frame and a townhall ``Quotas``.

    Returns
    -------
    dict
        ``seconds`` (the solve alone, inputs read first), ``minimum`` (lowest selection
        probability of any person) and ``panels`` (panels in the distribution's support).
    """
    from sortition_algorithms import CSVStringDataSource, SelectionData, Settings
    from sortition_algorithms.committee_generation import find_distribution_maximin

    logging.disable(logging.CRITICAL)
    features = quotas.to_frame().rename(columns={"category": "feature"})[
        ["feature", "value", "min", "max"]
    ]
    data = SelectionData(
        CSVStringDataSource(features.to_csv(index=False), pool.to_csv(index=False))
    )
    fc, _ = data.load_features(k)
    people, _ = data.load_people(Settings(id_column=id_column, columns_to_keep=[]), fc)
    t = time.perf_counter()
    committees, probs, _ = find_distribution_maximin(fc, people, k, [], "highspy")
    seconds = time.perf_counter() - t
    chance = dict.fromkeys(people, 0.0)
    for committee, prob in zip(committees, probs, strict=True):
        for person in committee:
            chance[person] += prob
    return {"seconds": seconds, "minimum": min(chance.values()), "panels": len(committees)}


def record(name: str, solver: str, pool, quotas, k: int) -> dict:
    """The head of one result row: which instance, which solver, its size."""
    return {"instance": name, "solver": solver, "n": len(pool), "k": k,
            "categories": len(quotas.categories)}


def run_child(script: str, args: list[str], timeout: float | None) -> dict:
    """Run ``script --child *args`` in a fresh process and read the JSON on its last line.

    Returns
    -------
    dict
        The child's result; on a timeout ``{"seconds": None, "stopped": True, "timeout": s}``
        (the process is killed), on a failure ``{"seconds": None, "error": <end of stderr>}``.
    """
    try:
        r = subprocess.run(
            [sys.executable, script, "--child", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "stopped": True, "timeout": timeout}
    if r.returncode != 0:
        return {"seconds": None, "error": r.stderr[-2000:]}
    return json.loads(r.stdout.strip().splitlines()[-1])
