"""A uniform lottery over m panels, a public commitment, and a draw anyone can check.

An optimal distribution gives panels irrational-looking probabilities, which no one can draw by
hand or check. Following Flanigan, Kehne and Procaccia ("Fair sortition made transparent",
NeurIPS 2021), it is rounded to a *uniform* lottery: a list of ``m`` panels (default 1,000), one
of which is drawn with equal chance. The rounding keeps every person's selection probability
within ``1/m`` of the optimum: an integer program on HiGHS picks how many of the ``m`` slots
each panel of the distribution gets, so that every type's total number of seats over the ``m``
panels lies between ``c * floor(m p)`` and ``c * ceil(m p)`` (``c`` people of the type, each
with probability ``p``); the seats are then dealt round-robin to the people of the type, so each
person sits on ``floor(m p)`` or ``ceil(m p)`` panels.

The audit: before the seed is known, publish the lottery (the ``m`` panels as lists of ids, in
order) and its :attr:`Lottery.commitment`, the SHA-256 of the lottery and of the seed rule.
Then take a public seed string nobody controls (say, the numbers of a national lottery draw on
a stated date) and draw panel number ``int(sha256(seed), 16) mod m``. Anyone holding the
published file can recompute both the hash and the index.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from townhall.assembly.model import Instance
from townhall.errors import InputError

FORMAT = "townhall-lottery/1"
#: How a seed picks a panel; part of the commitment, so it cannot change after publication.
SEED_RULE = (
    "index = int(sha256(seed as UTF-8).hexdigest(), 16) mod m; "
    "the panel drawn is panels[index], counting from 0"
)


def seed_index(seed: str, m: int) -> int:
    """The panel a public seed string picks from a lottery of ``m`` panels.

    Examples
    --------
    >>> seed_index("abc", 1000)
    965
    """
    return int(hashlib.sha256(seed.encode("utf-8")).hexdigest(), 16) % m


@dataclass
class Lottery:
    """A uniform lottery over panels.

    Attributes
    ----------
    panels : list of tuple of str
        ``m`` panels, each a tuple of person ids; the lottery draws one with chance ``1/m``.
    method : str
        The method whose distribution was rounded.
    max_deviation : float
        Largest difference between a person's chance in this lottery and in the distribution it
        rounds (at most ``1/m`` by construction when :attr:`within_bound` is true).
    """

    panels: list[tuple[str, ...]]
    method: str = ""
    max_deviation: float = 0.0

    @property
    def m(self) -> int:
        return len(self.panels)

    @property
    def within_bound(self) -> bool:
        """Whether every person's probability is within ``1/m`` of the target."""
        # 1e-6 of a slot absorbs the LP solution's rounding noise.
        return self.max_deviation <= (1.0 + 1e-6) / self.m

    def canonical(self) -> str:
        """The text the commitment hashes: JSON with sorted keys and no spaces."""
        body = {
            "format": FORMAT,
            "method": self.method,
            "panels": [list(p) for p in self.panels],
            "seed_rule": SEED_RULE,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def commitment(self) -> str:
        """SHA-256 (hex) of the lottery and the seed rule; publish it before the seed is known."""
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def probabilities(self) -> dict[str, float]:
        """Each person's chance of selection in this lottery."""
        counts: dict[str, int] = {}
        for p in self.panels:
            for i in p:
                counts[i] = counts.get(i, 0) + 1
        return {i: c / self.m for i, c in counts.items()}

    def draw(self, seed: str) -> tuple[int, tuple[str, ...]]:
        """Draw with a public seed string; returns the panel's index and its ids."""
        if not seed:
            raise InputError("The seed must be a non-empty string.")
        i = seed_index(seed, self.m)
        return i, self.panels[i]

    def to_json(self) -> dict:
        """The publishable form: the canonical content plus its commitment."""
        d = json.loads(self.canonical())
        d["m"] = self.m
        d["commitment"] = self.commitment
        return d

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to a file."""
        Path(path).write_text(
            json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: str | Path) -> Lottery:
        """Read a published lottery and check its commitment.

        Raises
        ------
        InputError
            If the file is not a lottery, or its content does not match its commitment.
        """
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"Cannot read the lottery: {exc}", file=str(path)) from None
        if not isinstance(d, dict) or d.get("format") != FORMAT or "panels" not in d:
            raise InputError("Not a townhall lottery file.", file=str(path))
        if d.get("seed_rule") != SEED_RULE:
            raise InputError(
                "The lottery's seed rule is not the one this version uses.", file=str(path)
            )
        lot = cls([tuple(p) for p in d["panels"]], d.get("method", ""))
        if "commitment" in d and d["commitment"] != lot.commitment:
            raise InputError(
                "The lottery does not match its commitment: it has been changed since publication.",
                file=str(path),
                value=d["commitment"],
            )
        return lot


def _band(target: np.ndarray, counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Seats a type may take over ``m`` panels so each of its people gets within 1 of ``m p``."""
    # 1e-6 absorbs the LP's rounding noise (m p = 124.9999999 is 125).
    lo = np.maximum(np.ceil(m * target - 1 - 1e-6), 0.0) * counts
    hi = np.floor(m * target + 1 + 1e-6) * counts
    return lo, hi


def _violation(seats: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    return float((np.maximum(0.0, lo - seats) + np.maximum(0.0, seats - hi)).sum())


def _slots(
    inst: Instance,
    panels: np.ndarray,
    weights: np.ndarray,
    faces: list[tuple[np.ndarray, float]],
    m: int,
    deadline: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Panels (type counts) and how many of the ``m`` slots each gets.

    1. Each panel of the distribution gets ``floor(m w)`` slots.
    2. The remaining ``R`` slots go one by one to the panel (from all feasible panels, via the
       panel oracle) that most serves the types furthest behind their remaining seats, like the
       chairman-assignment rule that keeps every running total within one seat of its target.
       Panels are kept on the optimal face of every LEXIMIN stage (``y . x == v``), where the
       low-probability types have no seat to spare.
    3. Where a type still ends outside its band, swap a slot's panel for one the oracle finds
       that moves seats where they are needed without pushing any other type out of its band.
    """
    from townhall.assembly.model import PanelOracle

    counts = inst.counts.astype(np.float64)
    T = inst.n_types
    target = (weights @ panels) / counts
    lo, hi = _band(target, counts, m)
    oracle = PanelOracle(inst)
    for y, v in faces:
        oracle.add_constraint(np.where(y > 1e-12, y, 0.0), v - 1e-6 * max(1.0, abs(v)))
    base = np.floor(weights * m + 1e-9)
    X = [p.astype(np.float64) for p in panels]
    n = [float(b) for b in base]
    seats = base @ panels.astype(np.float64)
    R = int(m - base.sum())
    need = m * target * counts - seats  # seats still owed to each type over the last R slots
    got = np.zeros(T)
    for j in range(1, R + 1):
        lag = j * need / R - got
        res = oracle.best(lag)
        if res is None:  # face rows too tight numerically: fall back to the distribution's panels
            x = panels[int(np.argmax(panels @ lag))].astype(np.float64)
        else:
            x = res[1].astype(np.float64)
        got += x
        X.append(x)
        n.append(1.0)
    Xa = np.array(X)
    na = np.array(n)
    seats = na @ Xa
    while _violation(seats, lo, hi) > 0 and time.perf_counter() < deadline:
        under, over = seats < lo, seats > hi
        active = np.flatnonzero(na > 0)
        score = Xa[active][:, over].sum(axis=1) - Xa[active][:, under].sum(axis=1)
        improved = False
        for p in active[np.argsort(-score, kind="stable")]:
            if time.perf_counter() > deadline:
                break
            after = seats - Xa[p]
            # No type already in its band may leave it; the objective pulls the others in.
            lb = np.where(under, 0.0, np.maximum(0.0, lo - after))
            ub = np.where(over, counts, np.minimum(counts, hi - after))
            if np.any(lb > ub) or np.any(ub < 0):
                continue
            oracle.set_bounds(lb, ub)
            res = oracle.best(under.astype(np.float64) - over.astype(np.float64))
            oracle.set_bounds()
            if res is None:
                continue
            q = res[1].astype(np.float64)
            if _violation(after + q, lo, hi) < _violation(seats, lo, hi):
                na[p] -= 1
                Xa = np.vstack([Xa, q])
                na = np.append(na, 1.0)
                seats = after + q
                improved = True
                break
        if not improved:
            break
    keep = na > 0
    return Xa[keep].astype(np.int64), na[keep].astype(np.int64)


def round_lottery(
    inst: Instance,
    panels: np.ndarray,
    weights: np.ndarray,
    ids: list[str],
    m: int = 1000,
    *,
    faces: list[tuple[np.ndarray, float]] | None = None,
    method: str = "",
    time_limit: float = 120.0,
) -> Lottery:
    """Round a distribution over panels (of types) to a uniform lottery over ``m`` panels of people.

    Parameters
    ----------
    inst : Instance
        The problem the distribution solves.
    panels : numpy.ndarray
        ``(P, T)`` type counts of the distribution's panels.
    weights : numpy.ndarray
        ``(P,)`` their probabilities.
    ids : list of str
        Person ids in pool order.
    m : int
        Number of panels in the lottery.
    faces : list of (numpy.ndarray, float), optional
        :attr:`~townhall.assembly.distribution.Distribution.faces`; keeps new panels on the optimal
        face, which the rounding needs on tight instances.
    method : str
        Recorded in the lottery.
    time_limit : float
        Seconds for the repair step; :attr:`Lottery.max_deviation` always says how close the
        result is.

    Returns
    -------
    Lottery
    """
    if m < 1:
        raise InputError("The lottery needs at least one panel.", value=m)
    counts = inst.counts.astype(np.float64)
    target = (weights @ panels) / counts
    panels, slots = _slots(inst, panels, weights, faces or [], m, time.perf_counter() + time_limit)
    members = inst.members()
    nxt = np.zeros(inst.n_types, dtype=np.int64)
    seats = np.zeros(inst.n_people, dtype=np.int64)
    chosen_panels: list[tuple[int, ...]] = []
    # Deal each type's seats round-robin over its people: everyone sits on floor or ceil of
    # (the type's seats / its size) panels.
    for j in np.flatnonzero(slots):
        x = panels[j]
        present = np.flatnonzero(x)
        for _ in range(int(slots[j])):
            chosen: list[np.ndarray] = []
            for t in present:
                c = len(members[t])
                chosen.append(members[t][(nxt[t] + np.arange(x[t])) % c])
                nxt[t] = (nxt[t] + x[t]) % c
            who = np.sort(np.concatenate(chosen))
            seats[who] += 1
            chosen_panels.append(tuple(who.tolist()))
    chosen_panels.sort()
    person_target = target[inst.person_type]
    deviation = float(np.abs(seats / m - person_target).max())
    return Lottery(
        panels=[tuple(ids[i] for i in p) for p in chosen_panels],
        method=method,
        max_deviation=deviation,
    )
