"""LEGACY: the greedy selection most organisers use, as the baseline.

As described by Flanigan et al. (Nature 2021, Methods) for the Sortition Foundation's
stratification app: the panel is filled one seat at a time. At each step, for every category
value still open, compute the ratio of seats it still *needs* to reach its minimum to the
volunteers still *available* with it; take the value with the largest ratio (ties to the first in
quota order) and seat a volunteer drawn uniformly from those available with it. A value that
reaches its maximum removes its remaining volunteers from the pool; a seated volunteer removes
their household. If the pool can no longer meet a minimum the attempt fails and starts again.

LEGACY gives no guarantee: volunteers with over-represented features can get far lower chances
than others. Its selection probabilities have no closed form; :func:`legacy_probabilities`
estimates them by running it many times (vectorised over runs, over types of interchangeable
volunteers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townhall.assembly.model import Instance

#: Most LEGACY attempts run side by side (bounds the memory: about 90 MB at 1,400 types).
MAX_BATCH = 2000


@dataclass
class LegacyRuns:
    """Panels drawn by LEGACY.

    Attributes
    ----------
    panels : numpy.ndarray
        ``(R, T)`` count of each type on each successful panel.
    attempts : int
        Attempts made (successful and failed).
    """

    panels: np.ndarray
    attempts: int


def _attempt(inst: Instance, runs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` LEGACY attempts side by side; returns count vectors and a success flag each."""
    T, V = inst.n_types, inst.n_values
    A = inst.value_matrix().astype(np.float64)  # (V, T)
    tv = inst.type_values  # (T, C)
    lo = inst.lower.astype(np.float64)
    hi = inst.upper.astype(np.float64)
    hh_of = np.full(T, -1, dtype=np.int64)
    for g, members in enumerate(inst.households):
        hh_of[members] = g
    has_hh = bool(inst.households)

    rem = np.tile(inst.counts.astype(np.float64), (runs, 1))
    remv = rem @ A.T
    sel = np.zeros((runs, V))
    x = np.zeros((runs, T), dtype=np.int64)
    ok = np.ones(runs, dtype=bool)
    rows = np.arange(runs)
    for _ in range(inst.k):
        # Values at their maximum (or with maximum 0) take their remaining volunteers out.
        full = (sel >= hi[None, :]) & (remv > 0)
        if full.any():
            fr = np.flatnonzero(full.any(axis=1))
            drop = ((full[fr].astype(np.float64) @ A) > 0) * rem[fr]
            rem[fr] -= drop
            remv[fr] -= drop @ A.T
        need = lo[None, :] - sel
        open_ = (remv > 0) & (hi[None, :] > 0)
        # Fails: a minimum can no longer be met.
        ok &= ~(remv < need - 1e-9).any(axis=1)
        ratio = np.where(open_, need / np.where(remv > 0, remv, 1.0), -np.inf)
        ok &= open_.any(axis=1)
        v = np.argmax(ratio, axis=1)
        # Draw a type with value v, in proportion to the volunteers left of that type.
        w = rem * A[v]
        cum = np.cumsum(w, axis=1)
        u = rng.random(runs) * cum[:, -1]
        t = np.minimum((cum <= u[:, None]).sum(axis=1), T - 1)
        live = ok & (cum[:, -1] > 0)
        ok &= cum[:, -1] > 0
        r, t = rows[live], t[live]
        x[r, t] += 1
        rem[r, t] -= 1
        vals = tv[t]  # (r, C)
        for c in range(vals.shape[1]):
            np.add.at(sel, (r, vals[:, c]), 1.0)
            np.add.at(remv, (r, vals[:, c]), -1.0)
        if has_hh:
            g = hh_of[t]
            for rr, gg in zip(r[g >= 0], g[g >= 0], strict=True):
                mates = inst.households[gg]
                gone = rem[rr, mates]
                if gone.any():
                    rem[rr, mates] = 0.0
                    remv[rr] -= A[:, mates] @ gone
    ok &= ((sel >= lo[None, :]) & (sel <= hi[None, :])).all(axis=1)
    return x, ok


def legacy_runs(
    inst: Instance,
    runs: int,
    *,
    seed: int | np.random.Generator = 0,
    max_attempts_factor: int = 20,
    time_limit: float | None = None,
) -> LegacyRuns:
    """Draw ``runs`` panels with LEGACY.

    Parameters
    ----------
    inst : Instance
        The problem.
    runs : int
        Successful panels wanted.
    seed : int or numpy.random.Generator
        Random source; the same seed gives the same panels.
    max_attempts_factor : int
        Give up after ``runs * max_attempts_factor`` attempts (LEGACY can fail repeatedly on tight
        quotas even when panels exist).
    time_limit : float, optional
        Stop after the batch of attempts during which this many seconds passed.

    Returns
    -------
    LegacyRuns
        Possibly with fewer than ``runs`` panels if attempts ran out.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    got: list[np.ndarray] = []
    have, attempts = 0, 0
    batch = runs
    import time

    stop = None if time_limit is None else time.perf_counter() + time_limit
    while have < runs and attempts < runs * max_attempts_factor:
        if stop is not None and time.perf_counter() > stop:
            break
        if stop is not None:
            batch = min(batch, 200)
        x, ok = _attempt(inst, batch, rng)
        attempts += batch
        got.append(x[ok])
        have += int(ok.sum())
        rate = max(ok.mean(), 0.05)
        batch = int(min(runs * max_attempts_factor - attempts, max(16, (runs - have) / rate * 1.2)))
        # Each attempt holds a few (batch x types) arrays: on 2,000 x 8 tight (5 % success,
        # 1,396 types) an uncapped batch of 24,000 peaked at 1.4 GB.
        batch = min(batch, MAX_BATCH)
        if batch <= 0:
            break
    panels = np.concatenate(got)[:runs] if got else np.zeros((0, inst.n_types), dtype=np.int64)
    return LegacyRuns(panels=panels, attempts=attempts)


def legacy_probabilities(inst: Instance, runs: int = 10_000, *, seed: int = 0) -> np.ndarray:
    """Estimated LEGACY selection probability per type (the mean over ``runs`` panels).

    Parameters
    ----------
    inst : Instance
        The problem.
    runs : int
        Panels to draw (the paper used 10,000).
    seed : int
        Random seed.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` probability of each person of each type.
    """
    res = legacy_runs(inst, runs, seed=seed)
    if not len(res.panels):
        return np.zeros(inst.n_types)
    return res.panels.mean(axis=0) / inst.counts
