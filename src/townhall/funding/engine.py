"""The funding engine: a scheme over every council's capacity and need (pure functions).

Inputs are a :class:`FundingInputs` (arrays, one entry per council); :func:`evaluate`
returns a :class:`SchemeRun` with the transfers, resources per head and per unit of
need before and after, winners and losers against the current system and against no
equalisation, and the measures: Gini, Theil and CV of resources per need, the share
of the capacity gap closed (1 - Var after / Var before), marginal retention (what a
council keeps of one more pound of its own base) and the budget check.
:func:`frontier` sweeps the linear family's rate from 0 to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from townhall.atlas.store import plain, records
from townhall.errors import InputError
from townhall.funding import measures as m
from townhall.funding.schemes import Scheme, get_scheme, marginal_retention, params, transfers

#: A horizontal scheme's transfers must sum to zero within this share of total capacity.
NEUTRAL_TOL = 1e-9


@dataclass(frozen=True)
class FundingInputs:
    """Every council's capacity, need and current resources (arrays aligned on ``codes``).

    Attributes
    ----------
    codes, names : ndarray of str
    population : ndarray
        Heads.
    need : ndarray
        Units of need, scaled so that they sum to the population (1 = an average head).
    capacity : ndarray
        What the base raises at the national average rate (£).
    current : ndarray
        Resources under the current system (£): for council tax, what is raised now.
    base, year : str
        Labels of the base and the data year.
    notes : list of str
        How the inputs were made (proxies, scalings).
    """

    codes: np.ndarray
    names: np.ndarray
    population: np.ndarray
    need: np.ndarray
    capacity: np.ndarray
    current: np.ndarray
    base: str = "council_tax"
    year: str = ""
    need_label: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.codes)
        for name in ("names", "population", "need", "capacity", "current"):
            if len(getattr(self, name)) != n:
                raise InputError(f"Funding inputs: {name} has {len(getattr(self, name))} entries, codes {n}.")
        if n < 2:
            raise InputError("Funding needs at least two councils.")
        if np.any(~np.isfinite(self.need)) or np.any(self.need <= 0):
            bad = self.codes[~(np.isfinite(self.need) & (self.need > 0))][:5]
            raise InputError(f"Need must be positive for every council; not for {', '.join(map(str, bad))}.")
        if np.any(~np.isfinite(self.capacity)):
            bad = self.codes[~np.isfinite(self.capacity)][:5]
            raise InputError(f"No capacity for {', '.join(map(str, bad))}.")

    @classmethod
    def from_arrays(cls, capacity: Any, need: Any, population: Any | None = None, current: Any | None = None,
                    codes: Any | None = None, names: Any | None = None, **kw: Any) -> FundingInputs:
        """Inputs from plain sequences (tests, notebooks); need is rescaled to sum to the population."""
        cap = np.asarray(capacity, float)
        pop = np.asarray(population if population is not None else need, float)
        need = np.asarray(need, float)
        need = need * pop.sum() / need.sum()
        codes = np.asarray(codes if codes is not None else [f"C{i + 1}" for i in range(len(cap))], dtype=object)
        names = np.asarray(names if names is not None else codes, dtype=object)
        cur = np.asarray(current if current is not None else cap, float)
        return cls(codes=codes, names=names, population=pop, need=need, capacity=cap, current=cur, **kw)

    def pooled(self, members: list[str], code: str, name: str) -> FundingInputs:
        """The same inputs with ``members`` merged into one unit (sums of every quantity)."""
        mask = np.isin(self.codes, members)
        if not mask.any():
            raise InputError(f"None of the group's councils ({', '.join(members[:5])}) is in the funding data.")
        keep = ~mask

        def join(a: np.ndarray) -> np.ndarray:
            return np.append(a[keep], a[mask].sum())

        return replace(self, codes=np.append(self.codes[keep], code), names=np.append(self.names[keep], name),
                       population=join(self.population), need=join(self.need), capacity=join(self.capacity),
                       current=join(self.current))


@dataclass
class SchemeRun:
    """One scheme over every council.

    Attributes
    ----------
    scheme : Scheme
    inputs : FundingInputs
    rate : float or None
        The rate override, if any (the frontier's sweep).
    table : DataFrame
        One row per council: code, name, population, need (units), capacity,
        transfer, resources, current, per head and per unit of need before (capacity)
        and after, ``vs_current`` and ``vs_none`` (£ per head), ``marginal_retention``,
        ``winner`` (against the current system).
    summary : dict
        Measures before and after (Gini, Theil, CV, p90/p10 of resources per need),
        ``gap_closed``, ``marginal_retention`` (need-weighted mean), ``net_cost``
        (sum of transfers; a horizontal scheme's is zero), ``budget_neutral``,
        winners and losers.
    """

    scheme: Scheme
    inputs: FundingInputs
    rate: float | None
    table: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the scheme, the summary and the table's rows."""
        h = self.scheme.scheme
        return {"scheme": {"id": h.id, "name": h.name, "country": h.country, "reference": h.reference,
                           "simplified": h.simplified, "funding": h.funding, "per": h.per},
                "base": self.inputs.base, "year": self.inputs.year, "need": self.inputs.need_label,
                "rate": plain(self.rate), "notes": list(self.inputs.notes),
                "summary": {k: plain(v) for k, v in self.summary.items()}, "councils": records(self.table)}


def evaluate(scheme: Scheme | str, inputs: FundingInputs, *, rate: float | None = None,
             policy_year: str | int | None = None, retention: bool = True, table: bool = True) -> SchemeRun:
    """Run a scheme over the councils.

    Parameters
    ----------
    scheme : Scheme or str
        A scheme or a shipped scheme's id / a scheme file.
    inputs : FundingInputs
    rate : float, optional
        Override every component's rate (in [0, 1]).
    policy_year : str or int, optional
        The rules in force on 1 April of this year (default: today's rules).
    retention : bool
        Compute each council's marginal retention (skip for speed).
    table : bool
        Build the per-council table (the frontier needs only the summary).

    Returns
    -------
    SchemeRun
    """
    s = get_scheme(scheme)
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise InputError(f"Rate {rate} is outside [0, 1].")
    ps = params(s, policy_year, rate)
    units = inputs.need if s.scheme.per == "need" else inputs.population
    cap = inputs.capacity
    t, _ = transfers(ps, cap, units, cap, inputs.population) if ps else (np.zeros_like(cap), [])
    res = cap + t
    mr = (marginal_retention(ps, cap, units, inputs.population) if ps else np.ones_like(cap)) if retention \
        else np.full_like(cap, np.nan)
    mr = np.round(mr, 9) + 0.0  # differences of large sums: no '-0.000000000068'
    pop, need = inputs.population, inputs.need
    gain = (res - inputs.current) / pop
    winner = np.where(gain > 0.005, "gains", np.where(gain < -0.005, "loses", "same"))
    before, after = cap / need, res / need
    net = float(t.sum())
    neutral = abs(net) <= NEUTRAL_TOL * max(1.0, float(np.abs(cap).sum()))
    if s.scheme.funding == "horizontal" and not neutral:
        raise InputError(f"Scheme {s.id!r} is declared horizontal (budget neutral) but its transfers sum to "
                         f"£{net:,.0f}.", hint="Declare funding = \"vertical\" or finance its top-ups.")
    summary: dict[str, Any] = {
        **{f"{k}_before": v for k, v in m.spread(before, need).items()},
        **{f"{k}_after": v for k, v in m.spread(after, need).items()},
        **{f"{k}_current": v for k, v in m.spread(inputs.current / need, need).items()},
        "gap_closed": m.gap_closed(before, after, need),
        "marginal_retention": round(float(np.average(mr, weights=need)), 9) + 0.0 if retention else float("nan"),
        "marginal_retention_min": float(np.min(mr)) if retention else float("nan"),
        "marginal_retention_max": float(np.max(mr)) if retention else float("nan"),
        "net_cost": net, "budget_neutral": bool(neutral),
        "total_capacity": float(cap.sum()),
        "gross_transfers": float(np.clip(t, 0, None).sum()),
        "councils": len(cap), "gains": int((winner == "gains").sum()), "loses": int((winner == "loses").sum()),
    }
    if not table:
        return SchemeRun(scheme=s, inputs=inputs, rate=rate, table=pd.DataFrame(), summary=summary)
    frame = pd.DataFrame({
        "code": inputs.codes, "name": inputs.names, "population": pop, "need": need,
        "need_per_head": need / pop, "capacity": cap, "transfer": t, "resources": res, "current": inputs.current,
        "capacity_per_head": cap / pop, "resources_per_head": res / pop,
        "capacity_per_need": before, "resources_per_need": after, "current_per_need": inputs.current / need,
        "vs_current_per_head": gain, "vs_none_per_head": t / pop, "marginal_retention": mr, "winner": winner,
    })
    frame = frame.sort_values("vs_current_per_head", ascending=False, kind="stable").reset_index(drop=True)
    return SchemeRun(scheme=s, inputs=inputs, rate=rate, table=frame, summary=summary)


@dataclass
class Frontier:
    """Autonomy against equalisation: the linear family swept, and every scheme as a point.

    Attributes
    ----------
    table : DataFrame
        ``kind`` ('sweep' or 'scheme'), ``scheme``, ``name``, ``rate``, ``marginal_retention``,
        ``gap_closed``, ``gini_after``, ``net_cost``.
    """

    table: pd.DataFrame
    base: str
    year: str

    @property
    def sweep(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "sweep"].reset_index(drop=True)

    @property
    def points(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "scheme"].reset_index(drop=True)

    def as_dict(self) -> dict[str, Any]:
        return {"base": self.base, "year": self.year, "sweep": records(self.sweep), "schemes": records(self.points)}


def frontier(inputs: FundingInputs, schemes: dict[str, Scheme] | None = None, *, sweep: str | Scheme = "linear",
             steps: int = 101, policy_year: str | int | None = None) -> Frontier:
    """Sweep a scheme's equalisation rate from 0 to 1 and place every scheme on the same axes.

    Parameters
    ----------
    inputs : FundingInputs
    schemes : dict, optional
        Schemes to show as points (default: every shipped scheme).
    sweep : str or Scheme
        The scheme whose rate is swept (default the linear family).
    steps : int
        Points in the sweep (101: rate 0, 0.01, ..., 1).
    """
    from townhall.funding.schemes import shipped

    schemes = shipped() if schemes is None else schemes
    rows = []
    s = get_scheme(sweep)
    for r in np.linspace(0.0, 1.0, steps):
        run = evaluate(s, inputs, rate=float(r), policy_year=policy_year, table=False)
        rows.append({"kind": "sweep", "scheme": s.id, "name": s.name, "rate": float(r),
                     **_point(run)})
    for sid, sch in schemes.items():
        run = evaluate(sch, inputs, policy_year=policy_year, table=False)
        rows.append({"kind": "scheme", "scheme": sid, "name": sch.name, "rate": None, **_point(run)})
    return Frontier(table=pd.DataFrame(rows), base=inputs.base, year=inputs.year)


def _point(run: SchemeRun) -> dict[str, float]:
    su = run.summary
    return {"marginal_retention": su["marginal_retention"], "gap_closed": su["gap_closed"],
            "gini_after": su["gini_after"], "net_cost": su["net_cost"]}
