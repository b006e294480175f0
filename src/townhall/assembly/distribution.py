"""Fair distributions over panels: LEXIMIN, maximin and Nash welfare, by column generation on HiGHS.

A *distribution* is a list of feasible panels with a probability each; a person's selection
probability is the total probability of the panels they sit on. Following Flanigan, Gölz, Gupta,
Hennig and Procaccia (Nature 596, 2021), the optimal distribution is found by column
generation: a linear program over the panels found so far (the *master*, kept in one HiGHS model
and re-solved warm after every change), and a mixed-integer program that finds the panel the
master's dual prices value most (the *pricing* problem, :class:`~townhall.assembly.model.PanelOracle`).
Everything runs over types of interchangeable people (see :mod:`townhall.assembly.model`).
On pools of many types the column generation starts from panels that mix to the LEXIMIN of the
LP relaxation (:mod:`townhall.assembly.relaxation`), which on hard pools is the true LEXIMIN.

- **maximin** maximises the lowest selection probability.
- **LEXIMIN** maximises the lowest, then, holding that, the second lowest, and so on. Each
  stage is a maximin over the people not yet fixed; people whose dual price is positive at the
  optimum cannot do better than the stage optimum and are fixed at it.
- **Nash welfare** maximises the sum of the logarithms of the probabilities; the master over the
  panels found so far is solved by active-set Newton steps, pricing again by the panel oracle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np

from townhall.assembly.model import Instance, PanelOracle, new_highs, run_within
from townhall.assembly.relaxation import (
    Relaxation,
    decompose,
    newly_fixed,
    relaxed_leximin,
)

#: Column generation stops when no panel improves the master by more than this.
PRICING_TOLERANCE = 1e-7
#: A stage is optimal once its proven gap is at most this. HiGHS holds each row to 1e-7 and the
#: fixed levels carry that error from stage to stage: on 2,000 x 8 a later stage stalled 2e-6
#: below its bound. The reference implementation (Flanigan et al.; ``sortition-algorithms``)
#: closes each stage at 5e-4 in the same units; this is 50 times tighter.
STAGE_TOLERANCE = 1e-6
#: After this many master solves that raise z by no more than ``STALL``, price by the exact MIP.
STALL_SOLVES = 3
STALL = 1e-9
#: How far the fixed probabilities are lowered, in turn, when the master LP fails numerically.
RELAX_FIXED = (1e-8, 1e-7, 1e-6)
#: Seconds one master solve may take before it is tried another way (they take 0.01-3 s; one
#: cycled without end on 2,000 x 8 loose).
MASTER_SECONDS = 10.0
#: Weight of the best duals so far in the pricing point (Wentges smoothing); 0 turns it off.
SMOOTHING = 0.7
#: Panels kept from each local-search path (the best ones, at its end), and its length.
HEURISTIC_COLUMNS = 2
HEURISTIC_SWAPS = 10
#: Extra heuristic dives per round, each at the smoothed duals times random factors
#: ``exp(N(0, PERTURBATION))``: many columns per master solve (see the method note, 5a).
PERTURBED_DIVES = 8
PERTURBATION = 0.5
#: Pools with at least this many types start from the relaxation's decomposition
#: (:func:`~townhall.assembly.relaxation.decompose`); smaller ones need no start.
DESCENT_MIN_TYPES = 50


@dataclass
class Distribution:
    """A probability distribution over panels, at the level of types.

    Attributes
    ----------
    method : str
        ``"leximin"``, ``"maximin"`` or ``"nash"``.
    panels : numpy.ndarray
        ``(P, T)`` count of each type on each panel.
    weights : numpy.ndarray
        ``(P,)`` probability of each panel (sums to 1).
    type_probabilities : numpy.ndarray
        ``(T,)`` selection probability of each person of each type.
    covered : numpy.ndarray
        ``(T,)`` whether the type can sit on any feasible panel at all.
    stages : int
        LEXIMIN stages (1 for maximin).
    iterations : int
        Master LP solves.
    oracle_calls : int
        Pricing MIP solves.
    seconds : float
        Wall-clock time.
    """

    method: str
    panels: np.ndarray
    weights: np.ndarray
    type_probabilities: np.ndarray
    covered: np.ndarray
    stages: int = 1
    iterations: int = 0
    oracle_calls: int = 0
    seconds: float = 0.0
    levels: list[float] = field(default_factory=list)
    #: Calls of the cheap pricing heuristic (LP relaxation and rounding).
    heuristic_calls: int = 0
    #: False when stopped early (time limit or interrupt): the distribution is the best so far.
    optimal: bool = True
    #: ``"time limit"``, ``"interrupted"`` or ``"numerical trouble"`` (HiGHS could not solve the
    #: master) when stopped early.
    stopped: str | None = None
    #: Proven gap: how much higher the lowest probability still unfixed could go at the stage
    #: where the run stopped (0 when optimal). Stages before it are optimal (``levels``).
    gap: float = 0.0
    #: The proven upper bound on that probability (for maximin: on the maximin value).
    bound: float = 0.0
    #: LEXIMIN stages solved to optimality.
    proven_stages: int = 0
    #: ``(y, v)`` per LEXIMIN stage solved exactly: the stage's dual prices and the largest
    #: ``y . x`` over panels. Panels of every optimal distribution have ``y . x == v``.
    faces: list[tuple[np.ndarray, float]] = field(default_factory=list)
    #: Each stage stops once its proven gap is at most this (0: exact LEXIMIN).
    tolerance: float = 0.0
    #: The proven gap each finished stage closed with (all 0 up to numerics when exact).
    stage_gaps: list[float] = field(default_factory=list)
    #: Panels found by the relaxation's decomposition before the column generation.
    descent_panels: int = 0


class _ColumnPool:
    """Every panel found so far (deduplicated), as count vectors; indices are stable."""

    def __init__(self) -> None:
        self.panels: list[np.ndarray] = []
        self._index: dict[bytes, int] = {}
        self._matrix: np.ndarray | None = None

    def add(self, x: np.ndarray) -> int:
        """The index of panel ``x``, adding it if new."""
        key = x.tobytes()
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.panels)
            self.panels.append(x)
        return i

    def matrix(self) -> np.ndarray:
        """``(P, T)`` array of the panels (rebuilt only when panels were added)."""
        if self._matrix is None or len(self._matrix) != len(self.panels):
            self._matrix = np.array(self.panels, dtype=np.float64)
        return self._matrix


class _Master:
    """The restricted master LP, in HiGHS, with one column per panel in use.

    Rows ``0..T-1`` are per type (scaled by the type's size so coefficients are whole counts),
    row ``T`` is ``sum(weights) == 1``. Extra columns (``z`` for maximin) come first; panel
    columns follow, mapped to the pool by :attr:`cols`.
    """

    def __init__(self, inst: Instance, pool: _ColumnPool, n_extra: int):
        self.pool = pool
        self.h = new_highs()
        # Presolve would discard the basis; the warm start is what makes re-solves cheap, and
        # after adding columns the old basis stays primal feasible: primal simplex.
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("simplex_strategy", 4)
        self.n_extra = n_extra
        self.T = inst.n_types
        self.cols: list[int] = []
        self._in: set[int] = set()
        self._counts = inst.counts.astype(np.float64)
        #: The fixed types' right-hand sides (shared with the caller, lowered in place when
        #: the LP fails numerically).
        self.rhs: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def add_panels(self, xs: list[np.ndarray]) -> int:
        """Add the panels not already columns; returns how many were added."""
        starts, idx, vals = [], [], []
        pos = 0
        added = []
        for x in xs:
            i = self.pool.add(x)
            if i in self._in:
                continue
            self._in.add(i)
            added.append(i)
            nz = np.flatnonzero(x)
            starts.append(pos)
            idx.append(nz)
            vals.append(x[nz].astype(np.float64))
            idx.append(np.array([self.T]))
            vals.append(np.array([1.0]))
            pos += len(nz) + 1
        m = len(added)
        if m == 0:
            return 0
        flat_idx = np.concatenate(idx).astype(np.int32)
        self.h.addCols(
            m,
            np.zeros(m),
            np.zeros(m),
            np.full(m, np.inf),
            len(flat_idx),
            np.array(starts, dtype=np.int32),
            flat_idx,
            np.concatenate(vals),
        )
        self.cols.extend(added)
        return m

    def retire(self, y: np.ndarray, v: float) -> None:
        """Hold at weight 0 every unused column with ``y . x < v`` (off an optimal face).

        Columns in use keep their weight, so the master stays feasible even when the stage
        closed within its tolerance rather than exactly.
        """
        X = self.pool.matrix()[self.cols]
        w = np.asarray(self.h.getSolution().col_value)[self.n_extra :]
        off = np.flatnonzero((X @ y < v) & (w <= 1e-12)) + self.n_extra
        if len(off):
            self.h.changeColsBounds(
                len(off), off.astype(np.int32), np.zeros(len(off)), np.zeros(len(off))
            )

    def solve(self) -> None:
        """Solve the master; keep its weights (:meth:`distribution` falls back on them).

        Raises
        ------
        _Stop
            ``"numerical trouble"`` when HiGHS cannot solve it by any of the ways below.
        """
        h = self.h
        ok = highspy.HighsModelStatus.kOptimal
        run_within(h, MASTER_SECONDS)
        # A warm start after row changes can wrongly end "infeasible" (seen in late LEXIMIN
        # stages on 2,000 x 8), or cycle (2,000 x 8 loose, stage 9): from scratch, by dual
        # simplex (6 s on a 2,000 x 8 master, against 7.6 s by primal) and then by primal.
        for strategy in (1, 4):
            if h.getModelStatus() == ok:
                break
            h.setOptionValue("simplex_strategy", strategy)
            h.clearSolver()
            run_within(h, MASTER_SECONDS)
        h.setOptionValue("simplex_strategy", 4)
        for amount in RELAX_FIXED:
            if h.getModelStatus() == ok or self.rhs is None:
                break
            # Fixed levels a hair too high for the LP's tolerances: lower them all a little,
            # as the reference implementation does (by 1e-4 there), and solve again.
            for t in np.flatnonzero(self.rhs > 0):
                self.rhs[t] = max(self.rhs[t] - self._counts[t] * amount, 0.0)
                h.changeRowBounds(int(t), float(self.rhs[t]), np.inf)
            h.clearSolver()
            run_within(h, MASTER_SECONDS)
        if h.getModelStatus() != ok:
            raise _Stop("numerical trouble")
        self._last = np.asarray(h.getSolution().col_value).copy()

    def last_z(self) -> float:
        """The first extra column (``z``) in the last solution."""
        return 0.0 if self._last is None else float(self._last[0])

    def distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """Panels with positive weight, and their weights (summing to 1), as last solved."""
        sol = np.zeros(self.n_extra + len(self.cols))
        if self._last is not None:
            sol[: len(self._last)] = self._last
        w = np.clip(sol[self.n_extra :], 0.0, None)
        keep = w > 1e-12
        panels = np.array(
            [self.pool.panels[c] for c, k in zip(self.cols, keep, strict=True) if k], dtype=np.int64
        )
        return panels, w[keep] / w[keep].sum()


@dataclass
class _Stage:
    """Where a stage's column generation stopped: the bound, its certificate, and why."""

    z: float
    bound: float
    dual: np.ndarray
    value: float
    closed: bool
    stopped: str | None = None

    @property
    def gap(self) -> float:
        return max(self.bound - self.z, 0.0)


class _Stop(Exception):
    """The time limit or an interrupt: stop with the best distribution so far."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _generate(
    master: _Master,
    oracle: PanelOracle,
    stats: dict,
    deadline: float | None,
    rhs: np.ndarray,
    bound: float,
    dual: np.ndarray,
    report: Callable[[float, float], None],
    alpha: float = SMOOTHING,
    tolerance: float = 0.0,
) -> _Stage:
    """Column generation for one stage, until the master meets the best upper bound.

    The master is ``max z`` (as ``min -z``). Every type dual ``y`` (normalised so the unfixed
    types' duals, times their sizes, sum to 1) gives an upper bound ``max_P y . x_P - rhs . y``
    on the stage optimum; the stage starts with the LP relaxation's bound and duals
    (:class:`Relaxation`), which are met exactly on most stages, so no MIP is needed to prove
    them.

    Pricing is at a point between the master's LP duals and the duals of the best bound
    (Wentges smoothing: the raw LP duals oscillate, the master being very degenerate). Each
    round first tries the cheap heuristic (:meth:`PanelOracle.dive`: LP relaxation and a small
    rounding MIP) at the smoothed point, then at the raw duals, where an LP value at or below
    the master's threshold also proves that no panel improves the master. Only when both fail
    is the exact pricing MIP solved, at the smoothed point, falling back towards the LP duals
    on mispricing.
    """
    T = master.T
    close = max(tolerance, STAGE_TOLERANCE)
    center = dual
    best_ub = bound
    a = alpha if dual is not None else 0.0
    z_lp = -np.inf
    z_best, stalled = -np.inf, 0
    rng = np.random.default_rng(0)
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop("time limit")
        master.solve()
        stats["iterations"] += 1
        sol = master.h.getSolution()
        row_dual = np.asarray(sol.row_dual)
        y_lp = np.clip(row_dual[:T], 0.0, None)
        mu = -row_dual[T]
        z_lp = float(np.asarray(sol.col_value)[0])
        stats["z"], stats["bound"] = z_lp, best_ub
        report(z_lp, best_ub)
        if best_ub - z_lp <= close:
            return _Stage(z_lp, best_ub, center, best_ub + rhs @ center, True)
        # The master can stall with the bound a little above it: columns that price as
        # improving but do not raise z (degeneracy, at the solver's tolerances). Then the exact
        # MIP at the LP duals settles it.
        stalled = stalled + 1 if z_lp <= z_best + STALL else 0
        z_best = max(z_best, z_lp)
        if stalled < STALL_SOLVES:
            # 1. The heuristic at the smoothed point; its LP value also bounds the stage.
            ys = y_lp if center is None else a * center + (1 - a) * y_lp
            value, panels = oracle.dive(ys)
            if center is not None and value - rhs @ ys < best_ub:
                best_ub, center = value - rhs @ ys, ys
            for _ in range(PERTURBED_DIVES):
                panels = panels + oracle.dive(ys * rng.lognormal(0.0, PERTURBATION, len(ys)))[1]
            if master.add_panels([c for c in panels if y_lp @ c - mu > PRICING_TOLERANCE]):
                continue
            # 2. The heuristic at the LP duals; an LP value at the threshold proves optimality.
            lp_value, panels = oracle.dive(y_lp)
            ub = lp_value - rhs @ y_lp
            if ub < best_ub:
                best_ub, center = ub, y_lp
            if lp_value - mu <= PRICING_TOLERANCE:
                # No panel beats the master's threshold mu: that is the face's value.
                return _Stage(z_lp, min(best_ub, max(z_lp, ub)), y_lp, mu, True)
            if master.add_panels([c for c in panels if y_lp @ c - mu > PRICING_TOLERANCE]):
                continue
        # 3. The exact MIP.
        while True:
            y = y_lp if a <= 0 or center is None else a * center + (1 - a) * y_lp
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                raise _Stop("time limit")
            try:
                res = oracle.best(y, time_limit=left)
            except TimeoutError:
                raise _Stop("time limit") from None
            assert res is not None  # the oracle was feasible when the master was built
            value, x, others = res
            ub = value - rhs @ y
            if ub < best_ub:
                best_ub, center = ub, y
                stats["bound"] = best_ub
            if best_ub - z_lp <= close:
                return _Stage(z_lp, best_ub, center, best_ub + rhs @ center, True)
            new = [c for c in (x, *others) if y_lp @ c - mu > PRICING_TOLERANCE]
            if master.add_panels(new):
                a = alpha
                break
            if a <= 0:
                # Every improving panel is already a column: optimal up to numerics.
                return _Stage(z_lp, z_lp, y_lp, value, True)
            a = a - 0.3 if a > 0.3 else 0.0  # mispricing: step towards the LP duals


def _face_value(master: _Master) -> float:
    """The threshold ``-mu`` of the last master solve: the largest ``y . x`` over all panels."""
    return float(-np.asarray(master.h.getSolution().row_dual)[master.T])


def _initial(
    oracle: PanelOracle, deadline: float | None = None
) -> tuple[_ColumnPool, np.ndarray, list[np.ndarray]]:
    panels, covered = oracle.cover(deadline)
    pool = _ColumnPool()
    for x in panels:
        pool.add(x)
    return pool, covered, panels


@dataclass
class Progress:
    """A progress report from :func:`leximin`, for ``--time-limit`` runs and long solves.

    Attributes
    ----------
    stage : int
        LEXIMIN stage (1 = maximin).
    minimum : float
        Lowest probability among the types not yet fixed, in the distribution so far.
    bound : float
        Proven upper bound on what that minimum can reach at this stage.
    panels : int
        Panels found so far.
    seconds : float
        Since the start.
    """

    stage: int
    minimum: float
    bound: float
    panels: int
    seconds: float

    @property
    def gap(self) -> float:
        return max(self.bound - self.minimum, 0.0)


def _stage_master(
    inst: Instance,
    pool: _ColumnPool,
    covered: np.ndarray,
    fixed: np.ndarray,
    rhs: np.ndarray,
    panels: list[np.ndarray],
) -> _Master:
    """The master of a LEXIMIN stage: ``max z`` over the given panels.

    Rows: type ``t`` unfixed: ``sum_P x_t(P) w_P - c_t z >= 0``; fixed: ``sum_P x_t(P) w_P >=
    rhs_t`` (types nobody can select have no row bound); row ``T``: ``sum_P w_P = 1``.
    Later stages edit it in place (a master rebuilt each stage was measured no faster).
    """
    T = inst.n_types
    counts = inst.counts.astype(np.float64)
    master = _Master(inst, pool, n_extra=1)
    h = master.h
    lo = np.where(covered, np.where(fixed, rhs, 0.0), -np.inf)
    h.addRows(
        T + 1,
        np.append(lo, 1.0),
        np.append(np.full(T, np.inf), 1.0),
        0,
        np.zeros(T + 1, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    z_idx = np.flatnonzero(covered & ~fixed).astype(np.int32)
    h.addCols(
        1,
        np.array([-1.0]),
        np.array([0.0]),
        np.array([1.0]),
        len(z_idx),
        np.array([0], dtype=np.int32),
        z_idx,
        -counts[z_idx],
    )
    master.add_panels(panels)
    return master


def leximin(
    inst: Instance,
    *,
    maximin_only: bool = False,
    oracle: PanelOracle | None = None,
    time_limit: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    tolerance: float = 0.0,
) -> Distribution:
    """The LEXIMIN (or maximin) distribution over panels; anytime, with a proven gap.

    Parameters
    ----------
    inst : Instance
        A problem with at least one feasible panel.
    maximin_only : bool
        Stop after the first stage: the maximin distribution.
    oracle : PanelOracle, optional
        Reuse a pricing model already built.
    time_limit : float, optional
        Seconds allowed. When they run out (or on Ctrl+C) the best distribution found so far is
        returned, with :attr:`Distribution.optimal` false and its proven gap in
        :attr:`Distribution.gap`.
    progress : callable, optional
        Called with a :class:`Progress` after every master solve (at most a few times a second).
    tolerance : float
        Close each stage once its proven gap (bound minus level) is at most this; 0 (the
        default) is the exact LEXIMIN. With a tolerance each level is within it of the best
        level given the levels before (an epsilon-LEXIMIN); the gap each stage closed with is in
        :attr:`Distribution.stage_gaps`. The maximin value is then within ``tolerance`` of the
        exact maximin.

    Returns
    -------
    Distribution
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    oracle = oracle or PanelOracle(inst)
    calls0, dives0 = oracle.calls, oracle.dives
    # Covering gets at most half the time, so a distribution is always found within it.
    pool, covered, first = _initial(oracle, None if time_limit is None else t0 + time_limit / 2)
    T = inst.n_types
    counts = inst.counts.astype(np.float64)
    last = [0.0]

    def report(z: float, ub: float) -> None:
        now = time.perf_counter()
        if progress is not None and now - last[0] >= 0.25:
            last[0] = now
            progress(Progress(max(stages, 1), z, ub, len(pool.panels), now - t0))

    stages = 0
    descent, interrupted = 0, False
    if T >= DESCENT_MIN_TYPES:
        # Start from panels that (nearly) decompose the relaxation's LEXIMIN profile: on hard
        # pools it is the true LEXIMIN, and each stage's master then meets its bound at once.
        try:
            start = None if time_limit is None else t0 + 0.6 * time_limit
            profile = relaxed_leximin(inst, covered, deadline=start)
            if profile.levels:
                bound0 = profile.levels[0]
                dec = decompose(
                    oracle,
                    profile.expected,
                    deadline=start,
                    report=lambda n, placed: report(0.0, bound0),
                )
                for x in dec.panels:
                    pool.add(x)
                first = first + dec.panels
                descent = len(dec.panels)
        except KeyboardInterrupt:
            interrupted = True

    master = _stage_master(inst, pool, covered, ~covered, np.zeros(T), first)
    h = master.h
    relax = Relaxation(inst, covered)

    stats: dict = {"iterations": 0, "z": 0.0, "bound": 1.0}
    rhs = np.zeros(T)  # right-hand sides of the type rows: c_t * f_t once fixed
    master.rhs = rhs
    close = max(tolerance, STAGE_TOLERANCE)
    fixed = ~covered  # types nobody can select are "fixed" at probability 0
    levels: list[float] = []
    faces: list[tuple[np.ndarray, float]] = []
    stage_gaps: list[float] = []
    stopped: str | None = None

    try:
        if interrupted:
            raise KeyboardInterrupt
        while not fixed.all():
            stages += 1
            bound, dual = relax.solve()
            stats["bound"] = bound
            st = _generate(
                master, oracle, stats, deadline, rhs, bound, dual, report, tolerance=tolerance
            )
            z = st.z
            levels.append(z)
            stage_gaps.append(st.gap)
            if st.gap <= STAGE_TOLERANCE:
                # Every panel in an optimal distribution lies on this face: y . x is at its
                # maximum. (A stage closed within a tolerance has no such face.)
                faces.append((st.dual.copy(), st.value))
            if progress is not None:
                progress(Progress(stages, z, st.bound, len(pool.panels), time.perf_counter() - t0))
            if maximin_only:
                break
            if st.gap <= STAGE_TOLERANCE:
                # Every later stage keeps this one optimal, so its panels stay on this stage's
                # face: price only panels on it, and retire the columns off it (fewer, better
                # columns). A stage closed within a tolerance has no such face. Retire before
                # the rows change: HiGHS drops the solution (the weights in use) on a change.
                face_y, face_v = faces[-1]
                eps = 1e-6 * max(1.0, abs(face_v)) + st.gap
                oracle.add_constraint(np.where(face_y > 1e-12, face_y, 0.0), face_v - eps)
                if st.gap <= PRICING_TOLERANCE:
                    master.retire(face_y, face_v - eps)
            newly = newly_fixed(st.dual, counts, fixed)
            # Fixed types keep at least the stage optimum; they leave z.
            # The relaxation keeps its own level when the master met it: fixing it at the
            # master's (a hair lower) would free that hair of every fixed type for the next
            # few, and such gaps grew about tenfold per stage on 2,000 x 8.
            level = bound if np.isfinite(bound) and bound - z <= close else z
            for t in np.flatnonzero(newly):
                h.changeCoeff(int(t), 0, 0.0)
                rhs[t] = counts[t] * (z - 1e-10)
                h.changeRowBounds(int(t), rhs[t], np.inf)
                relax.fix(int(t), counts[t] * (level - 1e-10))
            fixed |= newly
            if fixed.all():
                master.solve()  # the last fix changes rows; re-solve so the weights reflect it
                stats["iterations"] += 1
    except (_Stop, KeyboardInterrupt) as stop:
        stopped = stop.reason if isinstance(stop, _Stop) else "interrupted"
        # The master may be between a change and its solve: solve it once more (warm, fast);
        # if HiGHS cannot, its last solution stands (still feasible: later fixes hold at most
        # the levels it reached).
        if stopped != "numerical trouble":
            try:
                master.solve()
                stats["iterations"] += 1
            except _Stop as again:
                stopped = again.reason
        stats["z"] = float(master.last_z())

    oracle.clear_constraints()
    panels, weights = master.distribution()
    probs = (weights @ panels) / counts
    if stopped is None:
        gap, bound = 0.0, (levels[0] if levels else 0.0)
    else:
        bound = float(stats["bound"])
        gap = max(bound - float(stats["z"]), 0.0)
    return Distribution(
        method="maximin" if maximin_only else "leximin",
        panels=panels,
        weights=weights,
        type_probabilities=probs,
        covered=covered,
        stages=stages,
        iterations=stats["iterations"],
        oracle_calls=oracle.calls - calls0,
        heuristic_calls=oracle.dives - dives0,
        seconds=time.perf_counter() - t0,
        levels=levels,
        faces=faces,
        optimal=stopped is None,
        stopped=stopped,
        gap=gap,
        bound=bound,
        proven_stages=len(levels),
        tolerance=tolerance,
        stage_gaps=stage_gaps,
        descent_panels=descent,
    )


def maximin(inst: Instance, **kwargs) -> Distribution:
    """The maximin distribution: the first stage of :func:`leximin`."""
    return leximin(inst, maximin_only=True, **kwargs)


def _nash_master(
    X: np.ndarray, counts: np.ndarray, start: np.ndarray, tolerance: float = 1e-9
) -> np.ndarray:
    """Weights on the given panels maximising the welfare ``sum_t c_t log(s_t)``, ``s = w X``.

    Active-set Newton on the simplex: on the panels in use, Newton steps on the exact Hessian
    ``-X diag(c / s**2) X'`` with the constraint ``sum w = 1``, a line search that keeps the
    weights non-negative (dropping a panel whose weight reaches 0), and panels whose derivative
    ``g_P = sum_t c_t x_t(P) / s_t`` exceeds ``n`` brought in. Converges in a few dozen steps
    where a first-order method crawls.
    """
    n = counts.sum()
    w = np.clip(start, 0.0, None)
    w = w / w.sum()

    def welfare(v: np.ndarray) -> float:
        seats = v @ X
        return float(counts @ np.log(seats)) if np.all(seats > 0) else -np.inf

    f = welfare(w)
    for _ in range(200):
        seats = w @ X
        g = X @ (counts / seats)
        active = w > 0
        # Bring in every panel the gradient asks for (KKT: g_P <= n off the support).
        entering = ~active & (g > n * (1 + tolerance))
        if not entering.any() and np.abs(g[active] - n).max() <= n * tolerance:
            break
        active |= entering
        idx = np.flatnonzero(active)
        while True:
            Xa = X[idx]
            hess = (Xa * (counts / seats**2)) @ Xa.T
            m = len(idx)
            kkt = np.zeros((m + 1, m + 1))
            kkt[:m, :m] = hess
            kkt[:m, m] = 1.0
            kkt[m, :m] = 1.0
            d = np.linalg.lstsq(kkt, np.append(g[idx], 0.0), rcond=None)[0][:m]
            # A panel at weight 0 the step would push negative stays out.
            out = (w[idx] <= 0) & (d < 0)
            if not out.any():
                break
            idx = idx[~out]
        # Largest step keeping weights >= 0, then backtrack until the welfare rises.
        neg = d < 0
        step = min(1.0, float(np.min(-w[idx][neg] / d[neg]))) if neg.any() else 1.0
        improved = False
        for _ in range(40):
            cand = w.copy()
            cand[idx] = np.maximum(w[idx] + step * d, 0.0)
            cand[cand < 1e-15] = 0.0
            cand /= cand.sum()
            fc = welfare(cand)
            if fc >= f - 1e-15 * abs(f):
                improved = fc > f
                w, f = cand, fc
                break
            step /= 2
        if not improved:
            # Newton made no progress (a singular system): a fixed-point (EM) step always
            # raises the welfare; seed entering panels with a little weight so it can use them.
            v = w.copy()
            v[entering] = 1e-6 / max(int(entering.sum()), 1)
            v /= v.sum()
            seats = v @ X
            em = v * (X @ (counts / seats)) / n
            fe = welfare(em)
            if fe <= f:
                break
            w, f = em / em.sum(), fe
    return w


def nash(
    inst: Instance,
    *,
    oracle: PanelOracle | None = None,
    time_limit: float | None = None,
    tolerance: float = 1e-6,
) -> Distribution:
    """The distribution maximising Nash welfare: the sum over people of log(probability).

    Column generation again. The restricted master (weights on the panels found so far) is a
    smooth concave problem, solved by active-set Newton steps (:func:`_nash_master`).
    The derivative of the welfare with respect to a panel's weight is ``g = sum_t x_t / p_t``;
    pricing asks the panel oracle (HiGHS) for the panel with the largest ``g``. At the optimum
    no panel's ``g`` exceeds ``n``, the number of people, and ``max g - n`` bounds how far the
    welfare is from optimal.

    Parameters
    ----------
    inst : Instance
        A problem with at least one feasible panel.
    oracle : PanelOracle, optional
        Reuse a pricing model.
    time_limit : float, optional
        Seconds before giving up with :class:`TimeoutError`.
    tolerance : float
        Stop when ``max g <= n (1 + tolerance)``.
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    oracle = oracle or PanelOracle(inst)
    calls0 = oracle.calls
    pool, covered, _ = _initial(oracle)
    counts = inst.counts.astype(np.float64)
    cov = np.flatnonzero(covered)
    n = float(counts[cov].sum())
    X = np.array(pool.panels, dtype=np.float64)[:, cov]
    w = np.full(len(X), 1.0 / len(X))
    iterations = 0
    while True:
        iterations += 1
        w = _nash_master(X, counts[cov], w)
        pi = (w @ X) / counts[cov]
        grad = np.zeros(inst.n_types)
        grad[cov] = 1.0 / np.maximum(pi, 1e-12)
        res = oracle.best(grad)
        assert res is not None
        value, x, others = res
        if value <= n * (1 + tolerance):
            break
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeoutError("selection did not converge in the time allowed")
        new = [c for c in (x, *others) if grad @ c > n * (1 + tolerance)]
        new_x = np.array(new, dtype=np.float64)[:, cov]
        fresh = [r for r in new_x if not (r == X).all(axis=1).any()]
        if not fresh:
            break
        X = np.vstack([X, np.array(fresh)])
        w = np.append(w, np.zeros(len(fresh)))  # the master brings them in as the gradient asks

    panels = np.zeros((len(X), inst.n_types), dtype=np.int64)
    panels[:, cov] = np.rint(X).astype(np.int64)
    keep = w > 1e-9
    panels, weights = panels[keep], w[keep] / w[keep].sum()
    probs = (weights @ panels) / counts
    return Distribution(
        method="nash",
        panels=panels,
        weights=weights,
        type_probabilities=probs,
        covered=covered,
        stages=1,
        iterations=iterations,
        oracle_calls=oracle.calls - calls0,
        seconds=time.perf_counter() - t0,
        levels=[float(np.exp(np.sum(counts[cov] * np.log(np.maximum(probs[cov], 1e-300))) / n))],
    )
