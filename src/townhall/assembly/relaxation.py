"""The LP relaxation of the panel polytope: bounds on every LEXIMIN stage, and panels to start from.

A distribution over panels gives each type an expected count ``m_t``; every such vector lies in
the panel polytope's relaxation ``Q`` (the size, quota and household rows with fractional
counts). So the LEXIMIN over ``Q`` (:func:`relaxed_leximin`, a few LPs on ``T`` variables)
bounds the true LEXIMIN from above, stage by stage, and on the hard pools measured it *is* the
true LEXIMIN (see the method note, section 5a).

:func:`decompose` then looks for panels whose mixture has exactly that profile: a Carathéodory
descent along the faces of ``Q``. From the current point ``m`` it takes a panel ``x`` on the
smallest face of ``Q`` holding ``m`` (every bound and row tight at ``m`` kept tight), gives it
the largest weight ``lambda`` that keeps the rest ``(m - lambda x) / (1 - lambda)`` in ``Q``,
and goes on from there; each step makes at least one more bound or row tight, so it takes at
most about ``T`` steps (about 200 on 2,000 volunteers in 8 categories). Where ``Q`` has a
fractional face it can stop early; the column generation (:mod:`townhall.assembly.distribution`)
takes its panels as its first columns either way and proves every stage itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np

from townhall.assembly.model import Instance, PanelOracle, new_highs

#: A type whose share of the dual prices exceeds this is fixed at the stage optimum.
FIX_TOLERANCE = 1e-6
#: The descent stops once the weight still to place is below this: the column generation
#: finishes it (the point left is known only to ``1e-15 / weight`` by then).
MIN_MASS = 1e-6


class Relaxation:
    """The LP relaxation of a LEXIMIN stage: its optimum bounds the stage optimum from above.

    Instead of a distribution over panels it asks only for expected counts ``m`` in ``Q``:
    maximise ``z`` subject to ``m_t >= c_t z`` for unfixed types and ``m_t >= rhs_t`` for fixed
    ones. Every distribution's expected counts lie in ``Q``, so ``z_R >= z*``; and its dual
    prices ``y`` (normalised like the master's) are an optimal dual of the full master whenever
    the master reaches ``z_R``, so they certify the stage and say which types to fix.

    Parameters
    ----------
    inst : Instance
        The problem.
    covered : numpy.ndarray
        Which types can sit on some panel (the others get no lower bound).
    """

    def __init__(self, inst: Instance, covered: np.ndarray):
        T = inst.n_types
        self.T = T
        counts = inst.counts.astype(np.float64)
        self._counts = counts
        self._fixed: dict[int, float] = {}
        h = new_highs()
        h.setOptionValue("presolve", "off")  # keep the basis between stages
        self.h = h
        rows = T + 1 + inst.n_values + len(inst.households)
        lo = np.concatenate(
            [
                np.where(covered, 0.0, -np.inf),
                [float(inst.k)],
                inst.lower.astype(np.float64),
                np.zeros(len(inst.households)),
            ]
        )
        hi = np.concatenate(
            [
                np.full(T, np.inf),
                [float(inst.k)],
                inst.upper.astype(np.float64),
                np.ones(len(inst.households)),
            ]
        )
        h.addRows(
            rows, lo, hi, 0, np.zeros(rows, dtype=np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        a = inst.value_matrix()
        # Column-wise: m_t sits in its type row, the size row, one row per category, households.
        hh_row = np.full(T, -1, dtype=np.int64)
        for g, members in enumerate(inst.households):
            hh_row[members] = T + 1 + inst.n_values + g
        starts, idx, vals = [], [], []
        pos = 0
        for t in range(T):
            r = [t, T, *(T + 1 + np.flatnonzero(a[:, t]))]
            if hh_row[t] >= 0:
                r.append(int(hh_row[t]))
            starts.append(pos)
            idx.extend(r)
            vals.extend([1.0] * len(r))
            pos += len(r)
        cov = np.flatnonzero(covered)
        starts.append(pos)
        idx.extend(cov.tolist())
        vals.extend((-counts[cov]).tolist())
        # Columns m_t (T), then z; minimise -z so the duals have the master's signs.
        h.addCols(
            T + 1,
            np.append(np.zeros(T), -1.0),
            np.zeros(T + 1),
            np.append(counts, 1.0),
            len(idx),
            np.array(starts, dtype=np.int32),
            np.array(idx, dtype=np.int32),
            np.array(vals),
        )

    def fix(self, t: int, rhs: float) -> None:
        """Type ``t`` leaves ``z`` and keeps at least ``rhs`` expected seats."""
        self.h.changeCoeff(int(t), self.T, 0.0)
        self.h.changeRowBounds(int(t), float(rhs), np.inf)
        self._fixed[int(t)] = float(rhs)

    def solve(self) -> tuple[float, np.ndarray | None]:
        """The stage bound ``z_R`` and its type duals (``inf, None`` if HiGHS fails on it)."""
        h = self.h
        h.run()
        # Warm starts after many row changes can stall or wrongly report infeasibility (seen
        # in the late stages of 2,000 x 8): again from scratch, then by primal simplex; then
        # with the fixed levels a hair lower (the levels carry the LP's tolerance from stage
        # to stage and can end just out of reach, as on 400 x 6 at stage 18).
        for strategy, lower in ((None, 0.0), (4, 0.0), (4, 1e-9), (4, 1e-8), (4, 1e-7)):
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                break
            if strategy is not None:
                h.setOptionValue("simplex_strategy", strategy)
            if lower:
                for t, rhs in list(self._fixed.items()):
                    self.fix(t, max(rhs - lower * self._counts[t], 0.0))
            h.clearSolver()
            h.run()
        h.setOptionValue("simplex_strategy", 1)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return np.inf, None
        sol = h.getSolution()
        z = float(np.asarray(sol.col_value)[self.T])
        return z, np.clip(np.asarray(sol.row_dual)[: self.T], 0.0, None)

    def expected(self) -> np.ndarray:
        """The expected counts ``m`` of the last solve."""
        return np.asarray(self.h.getSolution().col_value)[: self.T].copy()


def newly_fixed(dual: np.ndarray, counts: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Types a stage fixes: those whose dual price times size exceeds :data:`FIX_TOLERANCE`.

    By complementary slackness they cannot do better in any optimal solution. If none does
    (numerically), the type with the largest share is fixed, so every stage fixes one.
    """
    mass = dual * counts
    mass[fixed] = 0.0
    newly = (mass > FIX_TOLERANCE) & ~fixed
    if not newly.any():
        newly = (mass >= mass[~fixed].max()) & ~fixed
    return newly


@dataclass
class RelaxedProfile:
    """The LEXIMIN over the relaxation ``Q``: an upper bound on the true one, stage by stage.

    Attributes
    ----------
    levels : list of float
        Each stage's level (the probability its newly fixed types get).
    expected : numpy.ndarray
        ``(T,)`` expected count of each type at the end (the profile to decompose).
    fixed : numpy.ndarray
        Types fixed by the stages that solved (all of them unless HiGHS failed on a stage).
    """

    levels: list[float] = field(default_factory=list)
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fixed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def relaxed_leximin(
    inst: Instance, covered: np.ndarray, deadline: float | None = None
) -> RelaxedProfile:
    """The LEXIMIN over the relaxation ``Q``, by the same stages and fixing rule as the LEXIMIN.

    Parameters
    ----------
    inst : Instance
        The problem.
    covered : numpy.ndarray
        Which types can sit on some panel; the others are held at 0.
    deadline : float, optional
        A ``time.perf_counter()`` value; the stages stop there.

    Returns
    -------
    RelaxedProfile
    """
    relax = Relaxation(inst, covered)
    counts = inst.counts.astype(np.float64)
    fixed = ~covered
    out = RelaxedProfile(expected=np.zeros(inst.n_types), fixed=fixed.copy())
    while not fixed.all():
        if deadline is not None and time.perf_counter() > deadline:
            break
        z, dual = relax.solve()
        if dual is None:
            break
        out.levels.append(z)
        out.expected = relax.expected()
        newly = newly_fixed(dual, counts, fixed)
        for t in np.flatnonzero(newly):
            relax.fix(int(t), counts[t] * (z - 1e-10))
        fixed = fixed | newly
        out.fixed = fixed.copy()
    return out


@dataclass
class Decomposition:
    """Panels whose mixture has (nearly) a given profile of expected counts.

    Attributes
    ----------
    panels : list of numpy.ndarray
        Count vectors, in the order found.
    weights : numpy.ndarray
        Their weights; they sum to ``1 - residual``.
    residual : float
        The weight left unplaced when the descent stopped.
    stopped : str
        Why it stopped: ``"done"``, ``"fractional face"`` (no panel on the face: ``Q`` is not
        integral there), ``"time limit"``.
    """

    panels: list[np.ndarray]
    weights: np.ndarray
    residual: float
    stopped: str


def decompose(
    oracle: PanelOracle,
    target: np.ndarray,
    *,
    deadline: float | None = None,
    min_mass: float = MIN_MASS,
    report: Callable[[int, float], None] | None = None,
) -> Decomposition:
    """Panels whose mixture has the expected counts ``target`` (a point of ``Q``), by descent.

    Parameters
    ----------
    oracle : PanelOracle
        The panel model (:meth:`PanelOracle.face_point` finds each step's panel).
    target : numpy.ndarray
        ``(T,)`` expected counts, for example :attr:`RelaxedProfile.expected`.
    deadline : float, optional
        A ``time.perf_counter()`` value; the descent stops there with what it has.
    min_mass : float
        Stop once the weight left to place is below this.
    report : callable, optional
        Called after each step with the panels found and the weight placed so far.

    Returns
    -------
    Decomposition
    """
    inst = oracle.inst
    counts = inst.counts.astype(np.float64)
    a, row_lo, row_hi = oracle.row_matrix()
    residual = np.asarray(target, dtype=np.float64).copy()
    mass = 1.0
    panels: list[np.ndarray] = []
    weights: list[float] = []
    stopped = "done"
    for _ in range(inst.n_types + 10):
        if mass < min_mass:
            break
        if deadline is not None and time.perf_counter() > deadline:
            stopped = "time limit"
            break
        m = residual / mass
        # What is tight at m stays tight for every later panel (the smallest face holding m);
        # the tolerance grows as the point is known less exactly.
        tol = 1e-9 / mass
        lower = np.where(m >= counts - tol, counts, 0.0)
        upper = np.where(m <= tol, 0.0, counts)
        am = a @ m
        rlo = np.where(am >= row_hi - tol, row_hi, row_lo)
        rhi = np.where(am <= row_lo + tol, row_lo, row_hi)
        left = 5.0 if deadline is None else max(deadline - time.perf_counter(), 0.01)
        x = oracle.face_point(m / counts, lower, upper, rlo, rhi, time_limit=min(left, 5.0))
        if x is None:
            stopped = "fractional face"
            break
        step = _largest_step(m, x.astype(np.float64), counts, a, row_lo, row_hi)
        if step <= 1e-12:
            stopped = "fractional face"
            break
        panels.append(x)
        weights.append(step * mass)
        residual -= step * mass * x
        mass -= step * mass
        if report is not None:
            report(len(panels), 1.0 - mass)
        if step >= 1.0 - 1e-12:
            mass = 0.0
            break
    return Decomposition(panels, np.array(weights), max(mass, 0.0), stopped)


def _largest_step(
    m: np.ndarray,
    x: np.ndarray,
    counts: np.ndarray,
    a: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
) -> float:
    """The largest ``lambda <= 1`` with ``(m - lambda x) / (1 - lambda)`` still in ``Q``."""
    step = 1.0
    pos = x > 0
    if pos.any():
        step = min(step, float(np.min(m[pos] / x[pos])))
    below = x < counts
    if below.any():
        step = min(step, float(np.min((counts - m)[below] / (counts - x)[below])))
    am, ax = a @ m, a @ x
    for slack_m, slack_x in ((am - row_lo, ax - row_lo), (row_hi - am, row_hi - ax)):
        s = slack_x > 0
        if s.any():
            step = min(step, float(np.min(slack_m[s] / slack_x[s])))
    return max(step, 0.0)
