"""Local tax options: what a local income tax, a council tax revaluation or a supplement would raise.

* ``income``: a local income tax of ``value`` pence in the pound: ``value`` x the yield
  of 1p (1% of taxable income: HMRC SPI total income less the personal allowance of
  each taxpayer).
* ``revaluation``: council tax band multipliers changed (``value`` a mapping band ->
  ratio to Band D, e.g. ``{"A": 0.5, "H": 3.0}``; bands not given keep the statutory
  6/9 ... 18/9). Each council's tax base is scaled by its new over its old gross
  Band D equivalents (VOA 2025 dwellings by band), and the national Band D is set so
  the total raised is unchanged (revenue neutral).
* ``supplement``: a flat £ ``value`` per Band D equivalent on top of council tax.

Each yield is reported per council and per head, with its spread per unit of need
before and after a chosen scheme (the yield taken as the scheme's base).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.store import plain, records
from townhall.errors import InputError
from townhall.funding import measures as m

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Statutory council tax band multipliers in England (ratios to Band D): Local Government
#: Finance Act 1992, s. 5(1).
MULTIPLIERS = {"A": 6 / 9, "B": 7 / 9, "C": 8 / 9, "D": 1.0, "E": 11 / 9, "F": 13 / 9, "G": 15 / 9, "H": 18 / 9}
KINDS = ("income", "revaluation", "supplement")


@dataclass
class TaxOption:
    """A local tax option's yields.

    Attributes
    ----------
    table : DataFrame
        code, name, population, yield, yield_per_head, and after the scheme
        resources_per_head, resources_per_need.
    summary : dict
        Total yield, the spread (Gini, CV, p90/p10) of yield per unit of need before and
        after the scheme, and what the option is.
    """

    kind: str
    value: Any
    table: pd.DataFrame
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "summary": {k: plain(v) for k, v in self.summary.items()},
                "councils": records(self.table)}


def parse_multipliers(text: str) -> dict[str, float]:
    """'A=0.5,H=3' -> {'A': 0.5, 'H': 3.0}, checked."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        band, _, val = part.partition("=")
        band = band.strip().upper()
        if band not in MULTIPLIERS:
            raise InputError(f"Unknown council tax band {band!r}.", hint="Bands A to H, e.g. 'A=0.5,H=3'.")
        try:
            out[band] = float(val)
        except ValueError:
            raise InputError(f"Band {band}: {val!r} is not a number.") from None
        if out[band] <= 0:
            raise InputError(f"Band {band}: the multiplier must be positive.")
    return out


def tax_option(atlas: Atlas, kind: str, value: Any, *, scheme: str = "none", year: str = "2023-24",
               need: str | None = None) -> TaxOption:
    """Yields of a local tax option for every English council, and their spread before/after ``scheme``."""
    from townhall.funding.data import capacity, finance, inputs
    from townhall.funding.engine import evaluate

    if kind not in KINDS:
        raise InputError(f"Unknown tax option {kind!r}.", hint="Options: " + ", ".join(KINDS) + ".")
    # A local income tax needs the income statistics (which leave out Torbay and Scilly).
    base = inputs(atlas, "income_tax" if kind == "income" else "council_tax", year, need)
    cap = capacity(atlas, year).table.set_index("code").reindex(list(base.codes))
    if kind == "income":
        rate = float(value)
        if not 0 < rate <= 100:
            raise InputError(f"Income tax rate {rate} is not between 0 and 100 pence in the pound.")
        y = cap["yield_1p"].to_numpy(float) * rate
        what = f"local income tax of {rate:g}p in the pound"
    elif kind == "supplement":
        amt = float(value)
        y = cap["taxbase"].to_numpy(float) * amt
        what = f"supplement of £{amt:,.2f} per Band D equivalent"
    else:
        mult = {**MULTIPLIERS, **(parse_multipliers(value) if isinstance(value, str) else dict(value))}
        counts = pd.DataFrame({b: finance(atlas, f"dwellings_band_{b.lower()}", "2025") for b in MULTIPLIERS})
        counts = counts.reindex(list(base.codes)).fillna(0.0)
        old = counts.to_numpy() @ np.array([MULTIPLIERS[b] for b in MULTIPLIERS])
        new = counts.to_numpy() @ np.array([mult[b] for b in MULTIPLIERS])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(old > 0, new / old, 1.0)
        y0 = base.capacity  # the council tax base: tax base x national Band D
        y = y0 * ratio
        y = y * y0.sum() / y.sum()  # revenue neutral: the national Band D moves
        what = "council tax with band multipliers " + ", ".join(f"{b}={mult[b]:.3g}" for b in MULTIPLIERS)
    inp = replace(base, capacity=y, current=y, base=kind)
    run = evaluate(scheme, inp, retention=False)
    t = run.table.set_index("code").reindex(list(base.codes))
    table = pd.DataFrame({"code": base.codes, "name": base.names, "population": base.population, "yield": y,
                          "yield_per_head": y / base.population, "yield_per_need": y / base.need,
                          "resources_per_head": t["resources_per_head"].to_numpy(),
                          "resources_per_need": t["resources_per_need"].to_numpy()})
    table = table.sort_values("yield_per_head", ascending=False).reset_index(drop=True)
    w = base.need
    summary = {"option": what, "scheme": run.scheme.id, "year": year, "total_yield": float(y.sum()),
               **{f"{k}_before": v for k, v in m.spread(y / w, w).items()},
               **{f"{k}_after": v for k, v in m.spread(inp.capacity / w + run.table.set_index("code")
                                                      .reindex(list(base.codes))["transfer"].to_numpy() / w,
                                                      w).items()}}
    return TaxOption(kind=kind, value=value, table=table, summary=summary)
