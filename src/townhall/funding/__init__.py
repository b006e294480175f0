"""The fair-funding lab: tax bases, need, equalisation schemes and the price of autonomy.

>>> import townhall
>>> from townhall import funding
>>> atlas = townhall.open_atlas()
>>> r = funding.run("norway", atlas, base="council_tax", year="2023-24")
>>> r.summary["gap_closed"], r.summary["marginal_retention"]
>>> r.table.head()                                   # winners first
>>> funding.frontier_for(atlas).points               # every scheme on the autonomy/equalisation plane
>>> funding.council_summary(atlas, "E08000035")      # one council under every scheme

Modules: :mod:`~townhall.funding.schemes` (parameter files and their arithmetic),
:mod:`~townhall.funding.engine` (pure, vectorised), :mod:`~townhall.funding.data`
(inputs from the atlas), :mod:`~townhall.funding.taxes`, :mod:`~townhall.funding.groups`,
:mod:`~townhall.funding.chart`. Method: ``docs/methods/funding.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from townhall.atlas.store import plain, records
from townhall.errors import InputError
from townhall.funding.data import DEFAULT_YEAR, capacity, inputs
from townhall.funding.engine import Frontier, FundingInputs, SchemeRun, evaluate, frontier
from townhall.funding.groups import Group, GroupRun, load_groups, pool_values, run_group
from townhall.funding.schemes import Scheme, get_scheme, load_scheme, shipped
from townhall.funding.taxes import TaxOption, tax_option

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

__all__ = [
    "DEFAULT_YEAR", "CouncilSummary", "Frontier", "FundingInputs", "Group", "GroupRun", "Scheme", "SchemeRun",
    "TaxOption", "capacity", "compare", "council_summary", "evaluate", "frontier", "frontier_for", "get_scheme",
    "inputs", "load_groups", "load_scheme", "pool_values", "run", "run_group", "shipped", "tax_option",
]


def run(scheme: str | Path | Scheme, atlas: Atlas, *, base: str | None = None, year: str = DEFAULT_YEAR,
        need: str | Path | None = None, mix: float = 0.5, rate: float | None = None,
        policy_year: str | int | None = None) -> SchemeRun:
    """Run a scheme over every English council.

    Parameters
    ----------
    scheme : str, Path or Scheme
        A shipped scheme id ('norway', 'full', ...) or a scheme file.
    atlas : Atlas
    base : str, optional
        council_tax | income_tax | mix | business_rates (default: the scheme's own).
    year : str
        Data year of the tax base.
    need : str or Path, optional
        'index' (default), 'population' or a CSV of need shares.
    rate : float, optional
        Override the scheme's rates.
    policy_year : optional
        Rules in force then (default today).
    """
    s = get_scheme(scheme)
    inp = inputs(atlas, base or s.scheme.base, year, need, mix)
    return evaluate(s, inp, rate=rate, policy_year=policy_year)


@dataclass
class Comparison:
    """Several schemes side by side on the same inputs.

    Attributes
    ----------
    table : DataFrame
        One row per scheme: gap closed, marginal retention, Gini/Theil/CV after, net cost,
        councils gaining and losing.
    by_council : DataFrame
        Resources per unit of need of every council under every scheme (columns = scheme ids).
    """

    table: pd.DataFrame
    by_council: pd.DataFrame
    base: str
    year: str

    def as_dict(self) -> dict[str, Any]:
        return {"base": self.base, "year": self.year, "schemes": records(self.table),
                "councils": records(self.by_council)}


def compare(atlas: Atlas, schemes: list[str] | None = None, *, base: str = "council_tax", year: str = DEFAULT_YEAR,
            need: str | Path | None = None, mix: float = 0.5) -> Comparison:
    """Every (or the named) scheme on one base, year and need."""
    chosen = shipped() if not schemes else {get_scheme(s).id: get_scheme(s) for s in schemes}
    inp = inputs(atlas, base, year, need, mix)
    rows, cols = [], {}
    for sid, s in chosen.items():
        r = evaluate(s, inp)
        su = r.summary
        rows.append({"scheme": sid, "name": s.name, "country": s.scheme.country, "funding": s.scheme.funding,
                     "gap_closed": su["gap_closed"], "marginal_retention": su["marginal_retention"],
                     "gini_after": su["gini_after"], "theil_after": su["theil_after"], "cv_after": su["cv_after"],
                     "p90_p10_after": su["p90_p10_after"], "net_cost": su["net_cost"], "gains": su["gains"],
                     "loses": su["loses"]})
        cols[sid] = r.table.set_index("code")["resources_per_need"]
    by = pd.DataFrame(cols)
    by.insert(0, "name", pd.Series(inp.names, index=inp.codes).reindex(by.index))
    return Comparison(table=pd.DataFrame(rows), by_council=by.reset_index(names="code"), base=base, year=year)


def frontier_for(atlas: Atlas, *, base: str = "council_tax", year: str = DEFAULT_YEAR, need: str | Path | None = None,
                 steps: int = 101, mix: float = 0.5) -> Frontier:
    """The frontier over the atlas's councils (see :func:`townhall.funding.engine.frontier`)."""
    return frontier(inputs(atlas, base, year, need, mix), steps=steps)


@dataclass
class CouncilSummary:
    """One council in the funding lab: its bases, need and what every scheme would do to it.

    ``table``: one row per scheme (transfer, resources per head, per unit of need, gain
    against the current system per head, marginal retention); ``facts``: tax base,
    Band D (own, county and area), capacity per head, need per head, income tax per head.
    """

    code: str
    name: str
    facts: dict[str, Any]
    table: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "council": self.name, "facts": {k: plain(v) for k, v in self.facts.items()},
                "schemes": records(self.table)}


def council_summary(atlas: Atlas, code: str, *, base: str = "council_tax", year: str = DEFAULT_YEAR) -> CouncilSummary:
    """A council's section for its place page: facts and every shipped scheme's effect on it."""
    from townhall.funding.data import finance

    inp = inputs(atlas, base, year)
    codes = list(inp.codes)
    if code not in codes:
        raise InputError(f"{code} is not an English council with council tax data for {year}.",
                         hint="The funding lab covers England's 296 billing authorities.")
    i = codes.index(code)
    rows = []
    for sid, s in shipped().items():
        t = evaluate(s, inp).table.set_index("code").loc[code]
        rows.append({"scheme": sid, "name": s.name, "transfer": t["transfer"],
                     "resources_per_head": t["resources_per_head"], "resources_per_need": t["resources_per_need"],
                     "vs_current_per_head": t["vs_current_per_head"], "marginal_retention": t["marginal_retention"]})

    def one(measure: str, y: str = year) -> float | None:
        v = finance(atlas, measure, y)
        return float(v[code]) if code in v.index else None

    facts = {"year": year, "population": float(inp.population[i]), "need_per_head": float(inp.need[i] / inp.population[i]),
             "taxbase": one("ct_taxbase"), "band_d_own": one("ct_band_d_own"), "band_d_county": one("ct_band_d_county"),
             "band_d_area": one("ct_band_d_area"), "band_d_area_2026_27": one("ct_band_d_area", "2026-27"),
             "capacity_per_head": float(inp.capacity[i] / inp.population[i]),
             "current_per_head": float(inp.current[i] / inp.population[i])}
    return CouncilSummary(code=code, name=str(inp.names[i]), facts=facts, table=pd.DataFrame(rows))
