"""Select a citizens' assembly: from pool and quotas to a fair lottery and a verifiable draw.

:func:`select` runs the whole process: read and check the inputs, check the quotas can be met
(proposing the smallest relaxation if not), find the fair distribution over panels, estimate
LEGACY's probabilities beside it, round to a uniform lottery of ``m`` panels, publish the
commitment and, given a public seed, draw the panel. The result, a :class:`Selection`, holds
everything as attributes; :mod:`townhall.assembly.report` writes it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from dataclasses import replace as _with
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.assembly.distribution import Distribution, Progress, leximin, nash
from townhall.assembly.legacy import legacy_runs
from townhall.assembly.lottery import Lottery, round_lottery
from townhall.assembly.model import Instance, PanelOracle
from townhall.assembly.pool import Pool, read_pool
from townhall.assembly.quotas import (
    InfeasibleQuotasError,
    Quotas,
    bound_problems,
    read_quotas,
    relaxation,
)
from townhall.errors import InputError

METHODS = ("leximin", "maximin", "nash", "legacy")


@dataclass(frozen=True)
class SelectionOptions:
    """The options :func:`select`, :func:`~townhall.assembly.replacement.replace` and the
    ``townhall assembly select | replace`` commands share, checked once, on creation.

    Attributes
    ----------
    method : str
        ``leximin`` (default), ``maximin``, ``nash`` or ``legacy``.
    panels : int
        Panels in the uniform lottery (m), at least 1.
    households : str or tuple of str, optional
        Household or address column(s): at most one person per household.
    id_column, birth_year, reference_year
        Passed to :func:`~townhall.assembly.pool.read_pool`.
    legacy_runs : int
        LEGACY runs for its probability estimate beside the method (0 to skip; not negative).
    time_limit : float, optional
        Seconds allowed for the optimisation. LEXIMIN and maximin then return the best
        distribution found so far with its proven gap (:attr:`Selection.optimal`,
        :attr:`Selection.gap`); Nash welfare stops with an error.
    tolerance : float
        LEXIMIN and maximin close each stage once its proven gap is at most this (0, the
        default: exact); see :func:`~townhall.assembly.distribution.leximin`.

    Raises
    ------
    InputError
        An unknown method, fewer than one lottery panel, negative LEGACY runs, a time limit
        that is not positive, a tolerance outside ``[0, 1)``.
    """

    method: str = "leximin"
    panels: int = 1000
    households: str | tuple[str, ...] | None = None
    id_column: str | None = None
    birth_year: str | None = None
    reference_year: int | None = None
    legacy_runs: int = 1000
    time_limit: float | None = None
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        method = str(self.method).strip().lower()
        object.__setattr__(self, "method", method)
        if method not in METHODS:
            raise InputError(
                f"Unknown method {self.method!r}.", hint=f"Choose one of: {', '.join(METHODS)}."
            )
        if self.panels < 1:
            raise InputError("The lottery needs at least one panel.", value=self.panels)
        if self.legacy_runs < 0:
            raise InputError(
                "The number of LEGACY runs cannot be negative.",
                value=self.legacy_runs,
                hint="Use 0 to skip the comparison with LEGACY.",
            )
        if self.time_limit is not None and not self.time_limit > 0:
            raise InputError(
                "The time limit must be a positive number of seconds.", value=self.time_limit
            )
        if not 0 <= self.tolerance < 1:
            raise InputError(
                "The tolerance must be at least 0 and below 1 (a probability gap).",
                value=self.tolerance,
                hint="Use 0 for the exact LEXIMIN, or e.g. 1e-4.",
            )
        hh = self.households
        if isinstance(hh, list | tuple):
            object.__setattr__(self, "households", tuple(hh) or None)

    @classmethod
    def of(cls, options: SelectionOptions | None = None, **changes) -> SelectionOptions:
        """``options`` (or the defaults) with some fields changed; unknown names refused."""
        names = {f.name for f in fields(cls)}
        for key in changes:
            if key not in names:
                raise TypeError(f"unknown selection option {key!r}; options: {sorted(names)}")
        base = options or cls()
        return _with(base, **changes) if changes else base

    def read_kw(self) -> dict:
        """The keyword arguments of :func:`~townhall.assembly.pool.read_pool`."""
        return {
            "id_column": self.id_column,
            "households": (
                self.households
                if isinstance(self.households, str) or not self.households
                else list(self.households)
            ),
            "birth_year": self.birth_year,
            "reference_year": self.reference_year,
        }


def gini(x: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal).

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> round(gini([0, 0, 0, 1]), 3)
    0.75
    """
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = len(v)
    if n == 0 or v.sum() <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * v) / (n * v.sum()))


@dataclass
class Selection:
    """The outcome of a selection.

    Attributes
    ----------
    method : str
        ``leximin``, ``maximin``, ``nash`` or ``legacy``.
    size : int
        Panel size.
    pool : Pool
        The volunteers (id and quota categories only).
    quotas : Quotas
        The quotas used.
    probabilities : pandas.Series
        Each volunteer's selection probability under the method (by id).
    legacy_probabilities : pandas.Series or None
        LEGACY's estimated probabilities, for comparison.
    lottery : Lottery
        The uniform lottery over ``m`` panels actually drawn from.
    lottery_probabilities : pandas.Series
        Each volunteer's probability in the lottery (within ``1/m`` of ``probabilities``).
    seed : str or None
        The public seed, once drawn.
    index : int or None
        The lottery panel the seed picked.
    panel : list of str or None
        Ids of the selected panel.
    confirmed : list of str
        For replacements: members kept from the earlier panel (part of :attr:`panel`).
    distribution : Distribution or None
        The optimal distribution over panels of types (``None`` for LEGACY).
    instance : Instance
        The compact problem (types of interchangeable volunteers).
    seconds : dict
        Wall-clock seconds per step.
    """

    method: str
    size: int
    pool: Pool
    quotas: Quotas
    probabilities: pd.Series
    legacy_probabilities: pd.Series | None
    lottery: Lottery
    lottery_probabilities: pd.Series
    instance: Instance
    distribution: Distribution | None = None
    seed: str | None = None
    index: int | None = None
    panel: list[str] | None = None
    confirmed: list[str] = field(default_factory=list)
    confirmed_frame: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def commitment(self) -> str:
        """SHA-256 of the lottery and the seed rule: publish before the seed is known."""
        return self.lottery.commitment

    @property
    def optimal(self) -> bool:
        """Whether the distribution is proven optimal (False when stopped at the time limit)."""
        return self.distribution is None or self.distribution.optimal

    @property
    def gap(self) -> float:
        """Proven gap to optimal at the stage where the solve stopped (0 when optimal)."""
        return 0.0 if self.distribution is None else self.distribution.gap

    def optimality(self) -> dict:
        """How far from optimal the distribution is proven to be, as plain data."""
        d = self.distribution
        if d is None:
            return {"optimal": None, "note": "LEGACY is a greedy heuristic: no optimum to prove."}
        out = {
            "optimal": d.optimal,
            "stopped": d.stopped,
            "stages": d.stages,
            "proven_stages": d.proven_stages,
            "levels": [float(v) for v in d.levels],
            # An unknown bound (HiGHS failed on the relaxation) is null, not Infinity.
            "gap": float(d.gap) if np.isfinite(d.gap) else None,
            "bound": float(d.bound) if not d.optimal and np.isfinite(d.bound) else None,
            "tolerance": float(d.tolerance),
            "largest_stage_gap": float(max(d.stage_gaps, default=0.0)),
        }
        if d.optimal and d.tolerance > 0:
            out["note"] = (
                f"{d.method.upper()} solved with a tolerance of {d.tolerance:.1e}: each level is "
                f"proven within {max(d.stage_gaps, default=0.0):.2e} of its best."
            )
        elif d.optimal:
            out["note"] = f"{d.method.upper()} solved to optimality."
        else:
            out["note"] = self.optimality_note()
        return out

    def optimality_note(self) -> str:
        """One sentence: optimal, or stopped with which proven gap."""
        d = self.distribution
        if d is None or d.optimal:
            return ""
        why = {
            "time limit": "at the time limit",
            "interrupted": "on interrupt",
            "numerical trouble": "as HiGHS could not solve the master LP",
        }.get(d.stopped or "", "early")
        if d.proven_stages == 0:
            return (
                f"Stopped {why} before the maximin optimum was proven: the lowest probability "
                f"{d.bound - d.gap:.6f} is within {d.gap:.2e} of the best possible "
                f"(at most {d.bound:.6f}). The best distribution found so far is used."
            )
        return (
            f"Stopped {why} in LEXIMIN stage {d.stages}: the first {d.proven_stages} stage(s) "
            f"are optimal (lowest probability {d.levels[0]:.6f}); the next level is within "
            f"{d.gap:.2e} of its best (at most {d.bound:.6f}). The best distribution found so "
            "far is used."
        )

    @property
    def minimum(self) -> float:
        """Lowest selection probability under the method."""
        return float(self.probabilities.min())

    @property
    def maximum(self) -> float:
        """Highest selection probability under the method."""
        return float(self.probabilities.max())

    @property
    def gini(self) -> float:
        """Gini coefficient of the selection probabilities."""
        return gini(self.probabilities.to_numpy())

    def draw(self, seed: str) -> list[str]:
        """Draw the panel from the lottery with a public seed string; returns the ids."""
        self.index, chosen = self.lottery.draw(seed)
        self.seed = seed
        self.panel = list(self.confirmed) + list(chosen)
        return self.panel

    def stats(self) -> pd.DataFrame:
        """Fairness of the method beside LEGACY: minimum, maximum, Gini, geometric mean.

        Also the share of volunteers whom LEGACY gives less than the method's minimum.
        """
        rows = {}
        series = {self.method: self.probabilities, "lottery": self.lottery_probabilities}
        if self.legacy_probabilities is not None and self.method != "legacy":
            series["legacy"] = self.legacy_probabilities
        for name, s in series.items():
            v = s.to_numpy(dtype=np.float64)
            rows[name] = {
                "minimum": float(v.min()),
                "maximum": float(v.max()),
                "gini": gini(v),
                "geometric_mean": float(np.exp(np.mean(np.log(np.maximum(v, 1e-300))))),
            }
        if "legacy" in series:
            below = float((series["legacy"].to_numpy() < self.minimum - 1e-9).mean())
            rows["legacy"]["share_below_method_minimum"] = below
        return pd.DataFrame(rows).T

    def quota_fit(self) -> pd.DataFrame:
        """Per quota: bounds, volunteers in the pool, expected seats and seats on the drawn panel.

        For a replacement, ``pool`` counts the candidates and ``expected`` and ``panel`` include
        the confirmed members.
        """
        q = self.quotas.to_frame()
        frame = self.pool.frame
        p = self.probabilities.reindex(frame["id"]).to_numpy()
        chosen = set(self.panel or [])
        on_panel = frame["id"].isin(chosen).to_numpy()
        pool_n, expected, seated = [], [], []
        for cat, val in zip(q["category"], q["value"], strict=True):
            has = (frame[cat] == val).to_numpy()
            pool_n.append(int(has.sum()))
            kept = 0
            if self.confirmed_frame is not None:
                kept = int((self.confirmed_frame[cat] == val).sum())
            expected.append(float(p[has].sum()) + kept)
            seated.append(int((has & on_panel).sum()) + kept if self.panel is not None else None)
        q["pool"] = pool_n
        q["expected"] = np.round(expected, 4)
        q["panel"] = seated
        return q[["category", "value", "min", "max", "pool", "expected", "panel"]]

    def __repr__(self) -> str:
        drawn = f", panel drawn with seed {self.seed!r}" if self.panel is not None else ""
        return (
            f"Selection({self.method}, {self.size} from {len(self.pool)}, minimum probability "
            f"{self.minimum:.4f}, lottery of {self.lottery.m}{drawn})"
        )


def build_instance(pool: Pool, quotas: Quotas, size: int) -> Instance:
    """The compact problem for a checked pool and quotas."""
    return Instance.from_codes(
        pool.codes(quotas),
        size,
        quotas.categories,
        [quotas.values(c) for c in quotas.categories],
        quotas.lower,
        quotas.upper,
        household=pool.household,
    )


def check_feasible(pool: Pool, quotas: Quotas, size: int) -> PanelOracle:
    """Check some panel meets the quotas, before any selection runs.

    Returns
    -------
    PanelOracle
        The panel oracle, ready for the selection to reuse.

    Raises
    ------
    InfeasibleQuotasError
        Naming the first problem found (pool too small, a category's bounds not adding up, too
        few volunteers with some value, or the quotas conflicting with each other), with the
        smallest relaxation of the quotas that makes a panel possible.
    """
    if size < 1:
        raise InputError("The panel size must be at least 1.", value=size)
    n = len(pool)
    if n < size:
        raise InfeasibleQuotasError(
            f"The pool has {n} volunteers, fewer than the panel size {size}."
        )
    if pool.household is not None:
        n_hh = len(np.unique(pool.household))
        if n_hh < size:
            raise InfeasibleQuotasError(
                f"The pool has {n_hh} households, fewer than the panel size {size} "
                "(at most one person per household may be selected)."
            )
    inst = build_instance(pool, quotas, size)

    def fail(message: str, **kw) -> InfeasibleQuotasError:
        fix = relaxation(inst)
        table = None
        if fix is not None:
            flat = quotas.flat_values
            table = pd.DataFrame(
                {
                    "category": [flat[i][0] for i in fix["i"]],
                    "value": [flat[i][1] for i in fix["i"]],
                    "min": inst.lower[fix["i"]],
                    "max": inst.upper[fix["i"]],
                    "new_min": fix["new_min"].to_numpy(),
                    "new_max": fix["new_max"].to_numpy(),
                }
            )
        return InfeasibleQuotasError(message, relaxation=table, **kw)

    for message, cat in bound_problems(quotas, size)[:1]:
        raise fail(message, file=quotas.source, column=cat)
    have = inst.value_matrix() @ inst.counts
    for i, (cat, val) in enumerate(quotas.flat_values):
        if have[i] < inst.lower[i]:
            raise fail(
                f"The quotas ask for at least {inst.lower[i]} with {cat} = {val!r}, "
                f"but the pool has only {have[i]}.",
                file=quotas.source,
                column=cat,
                value=val,
            )
    oracle = PanelOracle(inst)
    if not oracle.feasible():
        raise fail(f"No panel of {size} meets all the quotas at once.", file=quotas.source)
    return oracle


def read_inputs(
    pool: str | Path | pd.DataFrame | Pool,
    quotas: str | Path | pd.DataFrame | Quotas,
    size: int,
    options: SelectionOptions,
) -> tuple[Pool, Quotas, dict[str, float]]:
    """Read quotas then pool (files, frames or ready objects), and time it."""
    t = time.perf_counter()
    q = quotas if isinstance(quotas, Quotas) else read_quotas(quotas, size)
    p = pool if isinstance(pool, Pool) else read_pool(pool, q, **options.read_kw())
    return p, q, {"read": time.perf_counter() - t}


def select(
    pool: str | Path | pd.DataFrame | Pool,
    quotas: str | Path | pd.DataFrame | Quotas,
    size: int,
    options: SelectionOptions | None = None,
    *,
    seed: str | None = None,
    progress: Callable[[str], None] | None = None,
    monitor: Callable[[Progress], None] | None = None,
    **changes,
) -> Selection:
    """Select a panel fairly.

    Parameters
    ----------
    pool : str, Path, DataFrame or Pool
        The volunteers (see :func:`~townhall.assembly.pool.read_pool`).
    quotas : str, Path, DataFrame or Quotas
        The quotas (see :func:`~townhall.assembly.quotas.read_quotas`).
    size : int
        Panel size.
    options : SelectionOptions, optional
        Method, lottery size, household columns, LEGACY runs, time limit, ...
    seed : str, optional
        Public seed string; when given, the panel is drawn (after the commitment is fixed).
    progress : callable, optional
        Called with a short description as each step starts.
    monitor : callable, optional
        Called with the optimisation's :class:`~townhall.assembly.distribution.Progress`
        (stage, minimum, bound, panels) while LEXIMIN or maximin runs.
    **changes
        Any :class:`SelectionOptions` field, changing ``options`` (``method="maximin"``).

    Returns
    -------
    Selection

    Raises
    ------
    InputError
        Bad inputs or options (see the readers and :class:`SelectionOptions`).
    InfeasibleQuotasError
        No panel meets the quotas; carries the smallest relaxation.

    Examples
    --------
    >>> import pandas as pd
    >>> pool = pd.DataFrame({"id": list("abcd"), "sex": ["F", "F", "M", "M"]})
    >>> quotas = pd.DataFrame({"category": ["sex", "sex"], "value": ["F", "M"], "min": [1, 1], "max": [1, 1]})
    >>> s = select(pool, quotas, 2, seed="2025-06-01 lottery 7 12 19 23 41 44", panels=10)
    >>> s.probabilities.tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    opts = SelectionOptions.of(options, **changes)
    say = progress or (lambda _msg: None)
    p, q, timings = read_inputs(pool, quotas, size, opts)
    sel = run_selection(p, q, size, opts, say=say, monitor=monitor, timings=timings)
    if seed is not None:
        sel.draw(seed)
    return sel


def run_selection(
    p: Pool,
    q: Quotas,
    size: int,
    opts: SelectionOptions,
    *,
    say: Callable[[str], None] | None = None,
    monitor: Callable[[Progress], None] | None = None,
    timings: dict[str, float] | None = None,
) -> Selection:
    """The selection on a read pool and quotas (shared by :func:`select` and replacements)."""
    say = say or (lambda _msg: None)
    timings = {} if timings is None else timings
    method, panels, n_legacy, time_limit = (
        opts.method,
        opts.panels,
        opts.legacy_runs,
        opts.time_limit,
    )
    say("Checking the quotas can be met")
    t = time.perf_counter()
    oracle = check_feasible(p, q, size)
    inst = oracle.inst
    timings["check"] = time.perf_counter() - t

    ids = p.ids
    dist: Distribution | None = None
    legacy_p: np.ndarray | None = None
    t = time.perf_counter()
    if method == "legacy":
        say(f"Running LEGACY {panels} times")
        runs = legacy_runs(inst, panels, seed=0)
        if len(runs.panels) < panels:
            raise InfeasibleQuotasError(
                f"LEGACY failed too often: {len(runs.panels)} panels from {runs.attempts} attempts.",
                hint="The quotas are very tight for the greedy method; try --method leximin.",
            )
        lot = _legacy_lottery(inst, runs.panels, ids)
        type_p = runs.panels.mean(axis=0) / inst.counts
        legacy_p = type_p
    else:
        say(f"Finding the {method.upper()} distribution (column generation on HiGHS)")
        if method == "nash":
            try:
                dist = nash(inst, oracle=oracle, time_limit=time_limit)
            except TimeoutError:
                raise InputError(
                    f"The nash optimisation did not finish within {time_limit} seconds.",
                    hint="Allow more time, or use --method leximin (which stops with a proven gap).",
                ) from None
        else:
            dist = leximin(
                inst,
                maximin_only=method == "maximin",
                oracle=oracle,
                time_limit=time_limit,
                progress=monitor,
                tolerance=opts.tolerance,
            )
        type_p = dist.type_probabilities
        timings["optimise"] = time.perf_counter() - t
        t = time.perf_counter()
        say(f"Rounding to a lottery of {panels} panels")
        lot = round_lottery(
            inst, dist.panels, dist.weights, ids, panels, faces=dist.faces, method=method
        )
    timings["lottery"] = time.perf_counter() - t
    if legacy_p is None and n_legacy > 0:
        say(f"Estimating LEGACY's probabilities ({n_legacy} runs)")
        t = time.perf_counter()
        # With a time limit LEGACY's estimate gets as long again at most (on tight quotas it
        # fails often and each failure is retried), so its estimate may rest on fewer runs.
        runs = legacy_runs(inst, n_legacy, seed=0, time_limit=time_limit)
        if len(runs.panels):
            legacy_p = runs.panels.mean(axis=0) / inst.counts
        timings["legacy"] = time.perf_counter() - t

    index = pd.Index(ids, name="id")
    probs = pd.Series(type_p[inst.person_type], index=index, name=method)
    lot_p = lot.probabilities()
    lottery_probs = pd.Series([lot_p.get(i, 0.0) for i in ids], index=index, name="lottery")
    legacy_series = (
        None
        if legacy_p is None
        else pd.Series(legacy_p[inst.person_type], index=index, name="legacy")
    )
    return Selection(
        method=method,
        size=size,
        pool=p,
        quotas=q,
        probabilities=probs,
        legacy_probabilities=legacy_series,
        lottery=lot,
        lottery_probabilities=lottery_probs,
        instance=inst,
        distribution=dist,
        seconds=timings,
    )


def _legacy_lottery(inst: Instance, counts: np.ndarray, ids: list[str]) -> Lottery:
    """Turn LEGACY's type-count panels into panels of people (uniformly within each type)."""
    rng = np.random.default_rng(0)
    members = inst.members()
    out = []
    for x in counts:
        who = np.concatenate(
            [rng.choice(members[t], size=int(x[t]), replace=False) for t in np.flatnonzero(x)]
        )
        out.append(tuple(sorted(who.tolist())))
    out.sort()
    return Lottery([tuple(ids[i] for i in p) for p in out], method="legacy", max_deviation=0.0)
