"""The selection problem in compact form: types of interchangeable people, and the panel oracle.

Two volunteers with the same value in every quota category (and no household ties) are
interchangeable: any fair selection gives them the same chance. Grouping them into *types*
shrinks the problem from ``n`` people to ``T`` types; a panel becomes a vector of counts per
type. On the paper's ``example_large_200`` (2,000 people) there are only three types.

:class:`Instance` holds the compact problem; :class:`PanelOracle` is the mixed-integer program
(on HiGHS) that finds the feasible panel of greatest weight, used for pricing in column
generation, for the feasibility check and for covering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

# HiGHS status of a solved MIP/LP we accept as optimal.
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible,)
#: Counts freed beside the fractional ones in :meth:`PanelOracle.face_point`'s rounding MIPs.
FACE_NEIGHBOURHOODS = (0, 30, 200)


@dataclass
class Instance:
    """A selection problem over types of interchangeable people.

    Attributes
    ----------
    k : int
        Panel size.
    categories : list of str
        Quota categories, in quota-file order.
    values : list of list of str
        The values of each category, in quota-file order.
    lower, upper : numpy.ndarray
        Quota bounds per (category, value), flattened in the order of ``values``.
    type_values : numpy.ndarray
        ``(T, C)`` flat value index of each type in each category.
    counts : numpy.ndarray
        ``(T,)`` number of people of each type.
    person_type : numpy.ndarray
        ``(n,)`` type of each person (row order of the pool).
    households : list of numpy.ndarray
        Type indices of each household with more than one member (each such member is a type of
        its own), of which at most one may sit on a panel.
    """

    k: int
    categories: list[str]
    values: list[list[str]]
    lower: np.ndarray
    upper: np.ndarray
    type_values: np.ndarray
    counts: np.ndarray
    person_type: np.ndarray
    households: list[np.ndarray] = field(default_factory=list)

    @property
    def n_types(self) -> int:
        return len(self.counts)

    @property
    def n_people(self) -> int:
        return len(self.person_type)

    @property
    def n_values(self) -> int:
        return len(self.lower)

    def members(self) -> list[np.ndarray]:
        """Person indices of each type, in pool order."""
        order = np.argsort(self.person_type, kind="stable")
        bounds = np.cumsum(self.counts)[:-1]
        return np.split(order, bounds)

    def value_matrix(self) -> np.ndarray:
        """``(V, T)`` 0/1 matrix: does type ``t`` have value ``v``."""
        a = np.zeros((self.n_values, self.n_types), dtype=np.int8)
        for c in range(self.type_values.shape[1]):
            a[self.type_values[:, c], np.arange(self.n_types)] = 1
        return a

    @classmethod
    def from_codes(
        cls,
        codes: np.ndarray,
        k: int,
        categories: list[str],
        values: list[list[str]],
        lower: np.ndarray,
        upper: np.ndarray,
        household: np.ndarray | None = None,
    ) -> Instance:
        """Group people into types.

        Parameters
        ----------
        codes : numpy.ndarray
            ``(n, C)`` index of each person's value within each category's ``values``.
        k, categories, values, lower, upper
            As the attributes.
        household : numpy.ndarray, optional
            ``(n,)`` integer household label; ``-1`` or a label used once means no tie.
        """
        codes = np.asarray(codes, dtype=np.int64)
        n, n_cat = codes.shape
        offsets = np.concatenate([[0], np.cumsum([len(v) for v in values])[:-1]]).astype(np.int64)
        flat = codes + offsets[None, :]
        # Key per person: its value vector, or a unique key for members of shared households.
        shared = np.zeros(n, dtype=bool)
        if household is not None:
            household = np.asarray(household, dtype=np.int64)
            labels, inverse, sizes = np.unique(household, return_inverse=True, return_counts=True)
            shared = (sizes[inverse] > 1) & (labels[inverse] >= 0)
        key = np.concatenate([flat, np.where(shared, np.arange(n), -1)[:, None]], axis=1)
        uniq, first, person_type = np.unique(key, axis=0, return_index=True, return_inverse=True)
        person_type = person_type.ravel()
        # Number types by first appearance so results follow pool order.
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        person_type = rank[person_type]
        type_values = uniq[order, :n_cat]
        counts = np.bincount(person_type, minlength=len(order))
        households: list[np.ndarray] = []
        if household is not None and shared.any():
            hh = household[shared]
            tt = person_type[shared]
            srt = np.argsort(hh, kind="stable")
            hh, tt = hh[srt], tt[srt]
            cuts = np.flatnonzero(np.diff(hh)) + 1
            households = [np.sort(g) for g in np.split(tt, cuts)]
        return cls(
            k=int(k),
            categories=list(categories),
            values=[list(v) for v in values],
            lower=np.asarray(lower, dtype=np.int64),
            upper=np.asarray(upper, dtype=np.int64),
            type_values=type_values,
            counts=counts.astype(np.int64),
            person_type=person_type.astype(np.int64),
            households=households,
        )


_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent, single-threaded, seeded HiGHS model.

    HiGHS prints a banner on standard output the first time a model is made in a process; it
    would break ``--format json``, so the first model is made with standard output pointed at
    the null device (at the level of file descriptors: the banner comes from C++).
    """
    global _BANNER_SHOWN
    if not _BANNER_SHOWN:
        _BANNER_SHOWN = True
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            h = highspy.Highs()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
    else:
        h = highspy.Highs()
    h.silent()
    # Results must not depend on the number of cores; one thread is also fastest at this size.
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def run_within(h: highspy.Highs, seconds: float | None) -> None:
    """Solve ``h``, stopping after ``seconds`` (None: no limit).

    HiGHS's ``time_limit`` counts the model's run time over *all* its solves, so the limit is
    set past the time already spent.
    """
    limit = np.inf if seconds is None else h.getRunTime() + max(seconds, 0.01)
    h.setOptionValue("time_limit", limit)
    h.run()


def _add_row(h: highspy.Highs, coefs: np.ndarray, lower: float, upper: float) -> None:
    nz = np.flatnonzero(coefs)
    h.addRows(
        1,
        np.array([lower], dtype=np.float64),
        np.array([upper], dtype=np.float64),
        len(nz),
        np.array([0], dtype=np.int32),
        nz.astype(np.int32),
        coefs[nz],
    )


class PanelOracle:
    """Find the feasible panel of greatest weight (a MIP on HiGHS, kept between calls).

    Variables are counts ``x_t`` in ``[0, counts_t]`` per type; constraints are the panel size,
    the quota bounds and the household rule. Only the objective changes between calls, so the
    model is built once.

    Parameters
    ----------
    inst : Instance
        The problem.
    lower, upper : numpy.ndarray, optional
        Replace the instance's quota bounds (used for relaxation checks).
    """

    def __init__(
        self, inst: Instance, lower: np.ndarray | None = None, upper: np.ndarray | None = None
    ):
        self.inst = inst
        self.calls = 0
        #: Calls of the cheap heuristic (:meth:`dive`): LP relaxation plus a small rounding MIP.
        self.dives = 0
        lo = inst.lower if lower is None else lower
        hi = inst.upper if upper is None else upper
        self._lo, self._hi = np.asarray(lo), np.asarray(hi)
        h = self._model(integer=True)
        h.setOptionValue("mip_rel_gap", 1e-9)
        h.setOptionValue("mip_abs_gap", 1e-10)
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("mip_improving_solution_save", True)
        self._h = h
        self._lp: highspy.Highs | None = None
        self._dive: highspy.Highs | None = None
        self._face: tuple[highspy.Highs, highspy.Highs, highspy.Highs] | None = None
        self._extra: list[tuple[np.ndarray, float, float]] = []
        self._all = np.arange(inst.n_types, dtype=np.int32)
        self._tv: np.ndarray | None = None
        self._hh: np.ndarray | None = None

    def _model(self, integer: bool) -> highspy.Highs:
        """A HiGHS model of the panel constraints (integer counts, or their LP relaxation)."""
        inst = self.inst
        h = new_highs()
        n_t = inst.n_types
        h.addVars(n_t, np.zeros(n_t), inst.counts.astype(np.float64))
        if integer:
            h.changeColsIntegrality(
                n_t, np.arange(n_t, dtype=np.int32), np.full(n_t, highspy.HighsVarType.kInteger)
            )
        lo, hi = self._lo, self._hi
        rows_lo = [float(inst.k)]
        rows_hi = [float(inst.k)]
        starts = [0]
        idx: list[np.ndarray] = [np.arange(n_t)]
        a = inst.value_matrix()
        for v in range(inst.n_values):
            members = np.flatnonzero(a[v])
            starts.append(starts[-1] + len(idx[-1]))
            idx.append(members)
            rows_lo.append(float(lo[v]))
            rows_hi.append(float(hi[v]))
        for group in inst.households:
            starts.append(starts[-1] + len(idx[-1]))
            idx.append(group)
            rows_lo.append(0.0)
            rows_hi.append(1.0)
        flat_idx = np.concatenate(idx).astype(np.int32)
        h.addRows(
            len(rows_lo),
            np.array(rows_lo),
            np.array(rows_hi),
            len(flat_idx),
            np.array(starts, dtype=np.int32),
            flat_idx,
            np.ones(len(flat_idx)),
        )
        for row in getattr(self, "_extra", []):
            _add_row(h, *row)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        return h

    def relaxed(self, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """The LP relaxation of :meth:`best`: its value bounds every panel's weight from above.

        Returns
        -------
        (value, x)
            The optimal value and a (possibly fractional) optimal vertex.
        """
        if self._lp is None:
            self._lp = self._model(integer=False)
        h = self._lp
        w = np.asarray(weights, dtype=np.float64)
        h.changeColsCost(len(self._all), self._all, w)
        h.run()
        if h.getModelStatus() != _OPTIMAL:
            raise RuntimeError(f"HiGHS panel LP: {h.modelStatusToString(h.getModelStatus())}")
        x = np.asarray(h.getSolution().col_value)
        return float(w @ x), x

    def dive(self, weights: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """A cheap heuristic for :meth:`best`: solve the LP relaxation, then round it.

        The LP's optimal vertex is integral but for a few dozen counts; those are decided by a
        small MIP with every other count fixed at its LP value (HiGHS solves it in
        milliseconds, against a second or so for the full MIP on 1,000 types). When the
        vertex is integral it *is* the best panel.

        Returns
        -------
        (bound, panels)
            The LP value (an upper bound on the best panel's weight) and the panels found
            (best first; empty when the rounding is infeasible).
        """
        self.dives += 1
        bound, xbar = self.relaxed(weights)
        r = np.rint(xbar)
        frac = np.abs(xbar - r) > 1e-7
        if not frac.any():
            return bound, [r.astype(np.int64)]
        if self._dive is None:
            self._dive = self._model(integer=True)
            self._dive.setOptionValue("mip_rel_gap", 1e-6)
            self._dive.setOptionValue("mip_improving_solution_save", True)
            self._dive.setOptionValue("mip_detect_symmetry", False)
        h = self._dive
        lo = np.where(frac, np.floor(xbar), r)
        hi = np.where(frac, np.ceil(xbar), r)
        h.changeColsBounds(len(self._all), self._all, lo, hi)
        h.changeColsCost(len(self._all), self._all, np.asarray(weights, dtype=np.float64))
        h.run()
        if h.getModelStatus() != _OPTIMAL:
            return bound, []
        x = np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
        out = [x]
        for sol in h.getSavedMipSolutions():
            y = np.rint(np.asarray(sol.col_value)).astype(np.int64)
            if not np.array_equal(y, x):
                out.append(y)
        return bound, out

    def face_point(
        self,
        weights: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        time_limit: float = 5.0,
    ) -> np.ndarray | None:
        """A panel of high weight within the given bounds, for the face descent.

        ``lower``/``upper`` bound each type's count; ``row_lower``/``row_upper`` replace the
        bounds of the quota and household rows (in the order of :meth:`row_matrix`). The LP is
        solved first; if its vertex is fractional, a small MIP decides the fractional counts,
        with more counts freed (those whose reduced cost is nearest zero) when that is
        infeasible, and at last a MIP that stops at its first panel.

        Returns
        -------
        numpy.ndarray or None
            The panel's counts, or None when the LP or the last MIP finds none (in time).
        """
        if self._face is None:
            lp, mip, first = (self._model(integer=i) for i in (False, True, True))
            mip.setOptionValue("mip_rel_gap", 1e-4)
            mip.setOptionValue("mip_detect_symmetry", False)
            first.setOptionValue("mip_max_improving_sols", 1)
            self._face = (lp, mip, first)
        lp, mip, first = self._face
        n_t = self.inst.n_types
        rows = np.arange(1, 1 + len(row_lower), dtype=np.int32)
        w = np.asarray(weights, dtype=np.float64)
        for h in self._face:
            h.changeColsBounds(n_t, self._all, lower, upper)
            h.changeRowsBounds(len(rows), rows, row_lower, row_upper)
            h.changeColsCost(n_t, self._all, w)
        lp.run()
        if lp.getModelStatus() != _OPTIMAL:
            return None
        sol = lp.getSolution()
        xbar = np.asarray(sol.col_value)
        r = np.rint(xbar)
        frac = np.abs(xbar - r) > 1e-7
        if not frac.any():
            return r.astype(np.int64)
        # Counts nearest indifference are the cheapest to move when the rounding is infeasible.
        interior = (upper > lower) & ~frac
        cand = np.flatnonzero(interior)
        order = cand[np.argsort(np.abs(np.asarray(sol.col_dual))[cand])]
        for k in FACE_NEIGHBOURHOODS:
            free = frac.copy()
            free[order[:k]] = True
            mip.changeColsBounds(n_t, self._all, np.where(free, lower, r), np.where(free, upper, r))
            mip.run()
            if mip.getModelStatus() == _OPTIMAL:
                return np.rint(np.asarray(mip.getSolution().col_value)).astype(np.int64)
        run_within(first, time_limit)
        if first.getInfo().primal_solution_status != 2:  # 2: a feasible panel was found
            return None
        return np.rint(np.asarray(first.getSolution().col_value)).astype(np.int64)

    def row_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The quota rows then the household rows: ``(R, T)`` matrix, lower and upper bounds."""
        inst = self.inst
        hh = np.zeros((len(inst.households), inst.n_types))
        for g, members in enumerate(inst.households):
            hh[g, members] = 1.0
        a = np.vstack([inst.value_matrix().astype(np.float64), hh])
        lo = np.concatenate([self._lo.astype(np.float64), np.zeros(len(inst.households))])
        hi = np.concatenate([self._hi.astype(np.float64), np.ones(len(inst.households))])
        return a, lo, hi

    def best(
        self, weights: np.ndarray, time_limit: float | None = None
    ) -> tuple[float, np.ndarray, list[np.ndarray]] | None:
        """The panel maximising ``weights @ x``.

        Parameters
        ----------
        weights : numpy.ndarray
            ``(T,)`` weight of each type.
        time_limit : float, optional
            Seconds allowed; :class:`TimeoutError` when HiGHS runs out of them.

        Returns
        -------
        (value, x, others) or None
            The optimal value and count vector, and the other (improving) panels HiGHS met on the
            way, which are feasible and often good columns too; ``None`` when no panel exists.
        """
        h = self._h
        self.calls += 1
        h.changeColsCost(len(self._all), self._all, np.asarray(weights, dtype=np.float64))
        run_within(h, time_limit)
        status = h.getModelStatus()
        if status != _OPTIMAL:
            if status in _INFEASIBLE:
                return None
            if status == highspy.HighsModelStatus.kTimeLimit:
                raise TimeoutError("the panel MIP ran out of time")
            raise RuntimeError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
        x = np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
        others = []
        for sol in h.getSavedMipSolutions():
            y = np.rint(np.asarray(sol.col_value)).astype(np.int64)
            if not np.array_equal(y, x):
                others.append(y)
        return float(weights @ x), x, others

    def add_constraint(self, coefs: np.ndarray, lower: float, upper: float = np.inf) -> None:
        """Add ``lower <= coefs . x <= upper`` to every later call (MIP, LP and heuristic)."""
        self._extra.append((np.asarray(coefs, dtype=np.float64), float(lower), float(upper)))
        for h in (self._h, self._lp, self._dive):
            if h is not None:
                _add_row(h, *self._extra[-1])

    def clear_constraints(self) -> None:
        """Remove every constraint added with :meth:`add_constraint`."""
        n = len(self._extra)
        if not n:
            return
        for h in (self._h, self._lp, self._dive):
            if h is not None:
                m = h.getNumRow()
                h.deleteRows(n, np.arange(m - n, m, dtype=np.int32))
        self._extra = []

    def set_bounds(self, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> None:
        """Bound the count of each type (default: 0 to the type's size)."""
        n_t = self.inst.n_types
        lo = np.zeros(n_t) if lower is None else np.asarray(lower, dtype=np.float64)
        hi = (
            self.inst.counts.astype(np.float64)
            if upper is None
            else np.asarray(upper, dtype=np.float64)
        )
        self._h.changeColsBounds(n_t, self._all, lo, hi)

    def improve(self, x: np.ndarray, weights: np.ndarray, max_swaps: int = 200) -> list[np.ndarray]:
        """Local search: swap one person of a type for one of another while that gains weight.

        A cheap heuristic used before the exact MIP in column generation: from a feasible panel
        ``x``, repeatedly apply the best swap that keeps every quota and the household rule.
        (Constraints added with :meth:`add_constraint` or :meth:`set_bounds` are not checked.)

        Returns
        -------
        list of numpy.ndarray
            The panels passed through, each better than the last (empty if ``x`` cannot be
            improved by a single swap).
        """
        inst = self.inst
        if self._tv is None:
            self._tv = inst.type_values
            self._hh = np.full(inst.n_types, -1, dtype=np.int64)
            for g, members in enumerate(inst.households):
                self._hh[members] = g
        tv, hh = self._tv, self._hh
        w = np.asarray(weights, dtype=np.float64)
        x = x.copy()
        cnt = np.zeros(inst.n_values, dtype=np.int64)
        np.add.at(cnt, tv.ravel(), np.repeat(x, tv.shape[1]))
        hh_cnt = (
            np.bincount(hh[hh >= 0], weights=x[hh >= 0], minlength=len(inst.households))
            if inst.households
            else None
        )
        out: list[np.ndarray] = []
        for _ in range(max_swaps):
            a_idx = np.flatnonzero(x > 0)
            b_idx = np.flatnonzero(x < inst.counts)
            gain = w[b_idx][None, :] - w[a_idx][:, None]
            if gain.size == 0 or gain.max() <= 1e-12:
                break
            can_rm = cnt - 1 >= self._lo
            can_add = cnt + 1 <= self._hi
            va = tv[a_idx][:, None, :]
            vb = tv[b_idx][None, :, :]
            ok = ((va == vb) | (can_rm[va] & can_add[vb])).all(axis=2)
            if hh_cnt is not None:
                gb = hh[b_idx]
                busy = np.where(gb >= 0, hh_cnt[np.maximum(gb, 0)], 0)[None, :]
                same = (hh[a_idx][:, None] == gb[None, :]) & (gb[None, :] >= 0)
                ok &= (busy - same) == 0
            ok &= a_idx[:, None] != b_idx[None, :]
            gain = np.where(ok, gain, -np.inf)
            i, j = np.unravel_index(np.argmax(gain), gain.shape)
            if gain[i, j] <= 1e-12:
                break
            a, b = a_idx[i], b_idx[j]
            x[a] -= 1
            x[b] += 1
            np.subtract.at(cnt, tv[a], 1)
            np.add.at(cnt, tv[b], 1)
            if hh_cnt is not None:
                if hh[a] >= 0:
                    hh_cnt[hh[a]] -= 1
                if hh[b] >= 0:
                    hh_cnt[hh[b]] += 1
            out.append(x.copy())
        return out

    def feasible(self) -> bool:
        """Whether any panel meets the quotas."""
        return self.best(np.zeros(self.inst.n_types)) is not None

    def cover(self, deadline: float | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """Panels that between them contain every type that can sit on any panel.

        Past ``deadline`` (a ``time.perf_counter()`` value) it stops early and counts the
        types it has not reached as selectable (the column generation then finds their panels
        or proves them at probability 0).

        Returns
        -------
        panels : list of numpy.ndarray
            Count vectors.
        covered : numpy.ndarray
            Boolean per type: can this type be selected at all.
        """
        inst = self.inst
        covered = np.zeros(inst.n_types, dtype=bool)
        panels: list[np.ndarray] = []
        seen: set[bytes] = set()
        # Weight 1/count: a singleton type counts as much as a full large type, so each panel
        # reaches as many still-uncovered types as it can.
        base = 1.0 / inst.counts
        # First the cheap heuristic (LP and rounding), while it reaches new types; then the
        # exact MIP for the rest, which also proves the types it cannot reach unselectable.
        import time

        def late() -> bool:
            return deadline is not None and time.perf_counter() > deadline

        while not covered.all() and not late():
            _, found = self.dive(np.where(covered, 0.0, base))
            new = [y for y in found if (y[~covered] > 0).any()]
            if not new:
                break
            for y in new:
                key = y.tobytes()
                if key not in seen:
                    seen.add(key)
                    panels.append(y)
                    covered |= y > 0
        # Any panel reaching a new type will do: a loose MIP gap stops HiGHS at the first good
        # one (a zero value still needs the full search, so unselectable types are proven).
        self._h.setOptionValue("mip_rel_gap", 0.5)
        try:
            self._cover_exact(covered, panels, seen, base, deadline)
        except TimeoutError:
            pass
        finally:
            self._h.setOptionValue("mip_rel_gap", 1e-9)
        if late():
            covered[:] = True
        return panels, covered

    def _cover_exact(
        self,
        covered: np.ndarray,
        panels: list[np.ndarray],
        seen: set[bytes],
        base: np.ndarray,
        deadline: float | None,
    ) -> None:
        import time

        while not covered.all():
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                return
            res = self.best(np.where(covered, 0.0, base), time_limit=left)
            if res is None:
                break
            value, x, others = res
            if value <= 1e-9:
                break
            for y in [x, *others]:
                key = y.tobytes()
                if key not in seen:
                    seen.add(key)
                    panels.append(y)
                    covered |= y > 0
