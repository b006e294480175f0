"""The claims, tested: do towns lose services more than cities? Do pub closures track cohesion?

:func:`closures_by_class` gives, for one kind and period, the closure rate by kind
of place with an exact binomial (Clopper-Pearson) 95% interval, the rise in
population-weighted distance by class, and how often places of each class lost
their last facility of the kind. :func:`pub_decline` gives the fall in pubs
2001-2018 by council class and its association with the Community Needs Index
connectedness score and the 2016 Leave share. Associations, not causes.

>>> closures_by_class(atlas, "library").table
>>> pub_decline(atlas).associations
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.facilities import check_kind, open_in_year
from townhall.atlas.store import records
from townhall.errors import TownhallError
from townhall.infrastructure.ledger import (
    COURT_NOTE,
    closed_between,
    facility_classes,
    read_facilities,
)
from townhall.levels import COUNCIL, SMALL_AREA_2021, TOWN

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: The Community Needs Index connectedness domain (higher = more need: less connected).
CONNECTEDNESS = "cni23_connectedness_score"
LEAVE = "eu16_leave_share"
CONFIDENCE = 0.95


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact binomial interval for ``k`` successes in ``n`` trials (scipy.stats.binomtest)."""
    from scipy.stats import binomtest

    if n == 0:
        return (np.nan, np.nan)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def rates_table(groups: pd.Series, closed: pd.Series, order: list[str] | None = None) -> pd.DataFrame:
    """Closure rate per group with Clopper-Pearson intervals (a pure function).

    Parameters
    ----------
    groups : Series
        Group of each facility open at the start of the period.
    closed : Series of bool
        Whether it closed during the period.

    Returns
    -------
    DataFrame
        class, open_at_start, closed, rate, lower, upper.
    """
    df = pd.DataFrame({"class": groups.to_numpy(), "closed": closed.to_numpy().astype(bool)})
    g = df.groupby("class")["closed"].agg(["size", "sum"])
    rows = []
    for cls, r in g.iterrows():
        lo, hi = clopper_pearson(int(r["sum"]), int(r["size"]))
        rows.append({"class": cls, "open_at_start": int(r["size"]), "closed": int(r["sum"]),
                     "rate": r["sum"] / r["size"], "lower": lo, "upper": hi})
    t = pd.DataFrame(rows)
    if order is not None and len(t):
        t = t.set_index("class").reindex([c for c in order if c in set(t["class"])]).reset_index()
    return t


@dataclass
class ClosureRates:
    """Closure rates, distance rise and last-facility losses by kind of place, for one kind and period."""

    kind: str
    period: tuple[int, int]
    table: pd.DataFrame
    last_lost: pd.DataFrame
    national: dict[str, float]
    notes: list[str] = field(default_factory=list)
    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "period": self.label, "interval": "Clopper-Pearson 95%",
                "national": self.national, "notes": self.notes, "by_class": records(self.table),
                "last_facility_lost": records(self.last_lost)}


def closures_by_class(atlas: Atlas, kind: str, period: tuple[int, int] | None = None) -> ClosureRates:
    """Closure rate by kind of place, with exact intervals; distance rise; last facility lost.

    Parameters
    ----------
    atlas : Atlas
    kind : str
        A kind with dated closures: library, gp, court.
    period : (int, int), optional
        (a, b): closures after 31 Dec a up to 31 Dec b, among facilities open on 31 Dec a
        (default: the kind's whole span, first year to last).

    Returns
    -------
    ClosureRates
        ``table``: class, open_at_start, closed, rate, lower, upper (Clopper-Pearson 95%),
        km_start, km_end, km_rise (population-weighted mean distance of the class's residents
        at the nearest access dates), km_rise_closures (closures alone).
        ``last_lost``: per class, places (towns; for villages and rural areas, each council's
        area outside towns) with the kind at the start, how many had none at the end, share
        and interval.
    """
    from townhall.places.classify import KINDS as PLACE_KINDS
    from townhall.places.classify import small_area_kinds

    k = check_kind(kind)
    if not k.periods:
        raise TownhallError(f"{k.plural.capitalize()} have one date only ({k.years[0]}): no closures to rate.",
                            hint="Kinds with dated closures: library, gp, court.")
    a, b = period or (k.periods[0][0], k.periods[-1][1])
    if a not in k.years or b not in k.years or a >= b:
        raise TownhallError(f"Period {a}-{b} is not covered for {k.plural}.",
                            hint=f"Years: {', '.join(map(str, k.years))}.")
    fac = read_facilities(atlas, k.kind)
    if k.kind == "library":
        fac = fac[fac["country"] == "E"]  # Welsh libraries carry almost no closure years
    sak = small_area_kinds(atlas, SMALL_AREA_2021)
    start = fac[open_in_year(fac, a).to_numpy()].copy()
    start["class"] = facility_classes(atlas, start, sak).to_numpy()
    start = start[start["class"].notna()]
    closed = closed_between(start, a, b)
    table = rates_table(start["class"], closed, list(PLACE_KINDS))
    # Distance by class at the access dates nearest the period's ends.
    da = min(k.access_dates, key=lambda y: abs(y - a))
    db = min(k.access_dates, key=lambda y: abs(y - b))
    sak = sak[["code", "kind", "population", "town"]]
    acc = atlas.query("SELECT lsoa21 AS code, year, scenario, km FROM facility_access WHERE kind = ? AND year IN (?, ?)",
                      [k.kind, da, db]).merge(sak, on="code")
    if k.kind == "library":
        acc = acc[acc["code"].str.startswith("E")]
    acc["wkm"] = acc["km"] * acc["population"]

    def mean_km(year: int, scen: str) -> pd.Series:
        x = acc[(acc["year"] == year) & (acc["scenario"] == scen)].groupby("kind")[["wkm", "population"]].sum()
        return x["wkm"] / x["population"]

    if len(table):
        table["km_start"] = table["class"].map(mean_km(da, "open"))
        table["km_end"] = table["class"].map(mean_km(db, "open"))
        table["km_rise"] = table["km_end"] - table["km_start"]
        table["km_rise_closures"] = table["class"].map(mean_km(db, "closures_only")) - table["km_start"] if db != da else np.nan
    last = _last_lost(atlas, fac, a, b, k.small_area, list(PLACE_KINDS))
    n0, n1 = int(table["open_at_start"].sum()), int(table["closed"].sum())
    lo, hi = clopper_pearson(n1, n0)
    national = {"open_at_start": n0, "closed": n1, "rate": n1 / n0 if n0 else np.nan, "lower": lo, "upper": hi,
                "access_dates": f"{da} and {db}"}
    notes = [f"Facilities open on 31 Dec {a}; closed after that and by 31 Dec {b}. Intervals: exact binomial "
             "(Clopper-Pearson) 95%, treating each facility as an independent trial (closures decided by one "
             "council for many facilities are not independent, so the intervals are too narrow if anything).",
             "Class = kind of place of the facility's LSOA 2021" + ("" if k.small_area else
                                                                   " (GP practices: their council's class)") + "."]
    if k.kind == "library":
        notes.append("England only: the Welsh list carries almost no closure years.")
    if k.kind == "gp":
        notes.append("A GP practice 'closing' is often a merger into another practice: a change of contract, "
                     "not always the loss of a surgery building.")
    if k.kind == "court":
        notes.append(COURT_NOTE)
    return ClosureRates(k.kind, (a, b), table, last, national, notes, k.period(a, b))


def _last_lost(atlas: Atlas, fac: pd.DataFrame, a: int, b: int, small: bool, order: list[str]) -> pd.DataFrame:
    """Did places that had the kind at the start have none at the end? Share by class, exact intervals."""
    from townhall.places.classify import settlement_shares, town_classes

    f = fac.copy()
    if small:
        tc = town_classes(atlas).set_index("code")["class"]
        f["unit"] = f[TOWN].where(f[TOWN].notna(), f[COUNCIL] + " outside towns")
        f["class"] = np.where(f[TOWN].notna(), f[TOWN].map(tc), "Village or rural")
        f.loc[f[COUNCIL].str.startswith("E09").fillna(False) & f[TOWN].isna(), "class"] = "London"
        f.loc[f[TOWN].isna() & f[COUNCIL].str.startswith("E09").fillna(False), "unit"] = f[COUNCIL] + " (London)"
        note = "towns; outside towns, each council's area outside them"
    else:
        f["unit"] = f[COUNCIL]
        f["class"] = f[COUNCIL].map(settlement_shares(atlas, COUNCIL).set_index("code")["class"])
        note = "councils"
    f = f[f["unit"].notna() & f["class"].notna()]
    had = f[open_in_year(f, a).to_numpy()].groupby("unit").size()
    has = f[open_in_year(f, b).to_numpy()].groupby("unit").size().reindex(had.index, fill_value=0)
    unit_class = f.drop_duplicates("unit").set_index("unit")["class"]
    t = rates_table(had.index.map(unit_class).to_series(index=had.index), has.eq(0), order)
    t = t.rename(columns={"open_at_start": "places_with_any", "closed": "lost_last"})
    t["unit"] = note
    return t


@dataclass
class Association:
    """One association: correlation and slope with intervals."""

    x: str
    y: str
    n: int
    r: float
    r_lower: float
    r_upper: float
    slope: float
    slope_lower: float
    slope_upper: float
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in self.__dict__.items()}


def associate(x: pd.Series, y: pd.Series, x_name: str, y_name: str, confidence: float = CONFIDENCE) -> Association:
    """Pearson correlation (Fisher-z interval) and OLS slope of y on x (t interval)."""
    from scipy import stats

    d = pd.DataFrame({"x": x, "y": y}).dropna()
    n = len(d)
    if n < 4:
        raise TownhallError(f"Too few areas with both {x_name} and {y_name} ({n}) to estimate an association.")
    lr = stats.linregress(d["x"], d["y"])
    z = np.arctanh(np.clip(lr.rvalue, -0.999999, 0.999999))
    q = stats.norm.ppf(0.5 + confidence / 2)
    se = 1 / np.sqrt(n - 3)
    t = stats.t.ppf(0.5 + confidence / 2, n - 2)
    return Association(x_name, y_name, n, float(lr.rvalue), float(np.tanh(z - q * se)), float(np.tanh(z + q * se)),
                       float(lr.slope), float(lr.slope - t * lr.stderr), float(lr.slope + t * lr.stderr), float(lr.pvalue))


@dataclass
class PubDecline:
    """Pubs and bars 2001-2018 by council class, and associations with connectedness and Leave."""

    table: pd.DataFrame             # by class
    councils: pd.DataFrame          # per council: code, name, class, pubs_2001, pubs_2018, change_pct, cni, leave
    associations: list[Association]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"by_class": records(self.table), "associations": [a.as_dict() for a in self.associations],
                "notes": self.notes, "councils": records(self.councils)}


def pub_decline(atlas: Atlas, first: int = 2001, last: int = 2018, draws: int = 2000, seed: int = 11) -> PubDecline:
    """Decline in pubs and bars by council class, and its association with cohesion proxies.

    Parameters
    ----------
    atlas : Atlas
    first, last : int
        Years of the ONS series (2001-2018).
    draws, seed : int
        Bootstrap draws (over councils) for the interval of each class's total change.

    Returns
    -------
    PubDecline
        ``table``: class, councils, pubs_first, pubs_last, change_pct (total), lower, upper
        (bootstrap 95% over councils), median_council_change_pct.
        ``associations``: council change (%) against the CNI 2023 connectedness score
        (population-weighted mean of LSOA 2021 scores) and against the 2016 Leave share,
        where the atlas has them.
    """
    from townhall.places.classify import KINDS as PLACE_KINDS
    from townhall.places.classify import settlement_shares

    p = atlas.query("SELECT code, year, pubs FROM pub_counts WHERE year IN (?, ?)", [first, last])
    if p.empty:
        raise TownhallError(f"No ONS pub counts for {first} or {last}.", hint="Years: 2001-2018.")
    w = p.pivot(index="code", columns="year", values="pubs").dropna()
    w = w[w[first] > 0]
    cls = settlement_shares(atlas, COUNCIL).set_index("code")
    c = pd.DataFrame({"code": w.index, "pubs_first": w[first].to_numpy(), "pubs_last": w[last].to_numpy()})
    c["name"] = c["code"].map(cls["name"])
    c["class"] = c["code"].map(cls["class"])
    c["change_pct"] = 100 * (c["pubs_last"] - c["pubs_first"]) / c["pubs_first"]
    notes = [f"ONS public houses and bars (IDBR, SIC 56.30), {first} and {last}, rounded to 5 by the publisher; "
             "today's councils (merged councils summed).",
             "Council class: the kind of place most of its residents live in (Census 2021, LSOA 2021).",
             "Associations across councils, not causes: pubs close for many reasons (prices, tax, ownership, "
             "habits) and the cohesion measures are area averages."]
    assoc = []
    for ind, label_ in ((CONNECTEDNESS, "CNI 2023 connectedness score (higher = more need)"), (LEAVE, "2016 Leave share")):
        try:
            v = atlas.values(ind, COUNCIL).set_index("area")["value"]
        except TownhallError:
            notes.append(f"{ind} is not in this atlas: no association with {label_} computed.")
            continue
        c[ind] = c["code"].map(v)
        if c[ind].notna().sum() >= 4:
            assoc.append(associate(c[ind], c["change_pct"], ind, "pubs_change_pct"))
        else:
            notes.append(f"{ind} has values for too few councils here: no association computed.")
    rng = np.random.default_rng(seed)
    rows = []
    for k in [kk for kk in PLACE_KINDS if kk in set(c["class"])]:
        g = c[c["class"] == k]
        f0, f1 = g["pubs_first"].to_numpy(), g["pubs_last"].to_numpy()
        idx = rng.integers(0, len(g), size=(draws, len(g)))
        boot = 100 * (f1[idx].sum(axis=1) - f0[idx].sum(axis=1)) / f0[idx].sum(axis=1)
        rows.append({"class": k, "councils": len(g), "pubs_first": f0.sum(), "pubs_last": f1.sum(),
                     "change_pct": 100 * (f1.sum() - f0.sum()) / f0.sum(),
                     "lower": float(np.percentile(boot, 2.5)), "upper": float(np.percentile(boot, 97.5)),
                     "median_council_change_pct": float(np.median(g["change_pct"]))})
    return PubDecline(pd.DataFrame(rows), c.sort_values("code").reset_index(drop=True), assoc, notes)
