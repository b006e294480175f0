"""The ledger: what each place has, what it lost and when.

Reads the ``facility`` tables the build writes (:mod:`townhall.atlas.facilities`)
and answers, for any place at any level: which facilities of each kind it has
or had, how many were open each year the data covers (and per 10,000
residents), how many closed and opened in each period, and the same by kind of
place (city, large, medium, small town, village or rural).

>>> facilities(atlas, kind="library", level="lad", place="E06000014")
>>> counts(atlas, "library", "lad").table      # per council: open per year, per 10k, closures
>>> counts_by_class(atlas, "library").table    # by kind of place
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.facilities import KINDS, LEVEL_COLS, Kind, check_kind, open_in_year
from townhall.atlas.store import records
from townhall.errors import TownhallError
from townhall.levels import COUNCIL, SMALL_AREA_2021, check_level, label

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Levels a facility is placed in directly (its own point); others are not supported.
PLACE_LEVELS: tuple[str, ...] = LEVEL_COLS
#: Kinds of place, largest first (the ``kind`` of :func:`townhall.places.classify.small_area_kinds`).
FAC_COLS = ("id", "kind", "name", "subtype", "country", "lat", "lon", "precision", "opened", "closed_from", "closed",
            "status", "source", "postcode", "note", *LEVEL_COLS, *(lv + "_method" for lv in LEVEL_COLS), "placed",
            "why_not_placed")


def _check_place_level(level: str) -> str:
    check_level(level)
    if level not in PLACE_LEVELS:
        raise TownhallError(f"Facilities are placed in {', '.join(PLACE_LEVELS)}, not {level!r}.",
                            hint="Use --level lad, town, pcon24, rgn or lsoa21.")
    return level


def read_facilities(atlas: Atlas, kind: str | None = None, level: str | None = None,
                    place: str | None = None, placed_only: bool = True) -> pd.DataFrame:
    """Facility rows from the atlas, optionally of one kind and in one place."""
    where, params = [], []
    if kind:
        where.append("kind = ?")
        params.append(check_kind(kind).kind)
    if place:
        lv = _check_place_level(level or COUNCIL)
        where.append(f'"{lv}" = ?')
        params.append(place)
    if placed_only:
        where.append("placed")
    sql = f"SELECT {', '.join(FAC_COLS)} FROM facility" + (" WHERE " + " AND ".join(where) if where else "")
    df = atlas.query(sql + " ORDER BY kind, name, id", params)
    for c in ("opened", "closed_from", "closed"):
        df[c] = pd.to_datetime(df[c])
    return df


@dataclass
class FacilityList:
    """Facilities of a place (or everywhere): one row each, with dates and placement."""

    kind: str | None
    level: str | None
    place: str | None
    table: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        t = self.table.copy()
        for c in ("opened", "closed_from", "closed"):
            t[c] = t[c].dt.strftime("%Y-%m-%d")
        return {"kind": self.kind, "level": self.level, "place": self.place, "n": len(t), "facilities": records(t)}


def facilities(atlas: Atlas, kind: str | None = None, level: str | None = None, place: str | None = None) -> FacilityList:
    """List facilities (placed ones), optionally of one kind and in one place.

    Parameters
    ----------
    atlas : Atlas
    kind : str, optional
        One of :data:`townhall.atlas.facilities.KINDS` (library, gp, court, pool, sports, hospital, pub).
    level, place : str, optional
        A level the facilities are placed in (lsoa21, town, lad, pcon24, rgn) and an area code.
    """
    return FacilityList(kind, level, place, read_facilities(atlas, kind, level, place))


@dataclass
class BuildReport:
    """What the build did with each source: rows, placed by method, not placed and why."""

    table: pd.DataFrame
    matching: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        return {"sources": records(self.table), "matching": dict(zip(self.matching["key"], self.matching["value"], strict=True))}


def build_report(atlas: Atlas) -> BuildReport:
    """The ``facility_build`` summary table and the matching counts (library lists, court snapshots)."""
    return BuildReport(atlas.query("SELECT * FROM facility_build ORDER BY kind, source"),
                       atlas.query("SELECT key, value FROM facility_match ORDER BY key"))


def census_population(atlas: Atlas, level: str) -> pd.Series:
    """Census 2021 usual residents of every area of a level, summed over its LSOA 2021 links."""
    if level == SMALL_AREA_2021:
        return atlas.query("SELECT code, population AS pop FROM area WHERE level = ? ORDER BY code",
                           [level]).set_index("code")["pop"]
    return atlas.query("""
        SELECT l.parent AS code, sum(l.weight * a.population) AS pop
        FROM area_link l JOIN area a ON a.code = l.child AND a.level = l.child_level
        WHERE l.child_level = ? AND l.parent_level = ?
        GROUP BY l.parent ORDER BY l.parent""", [SMALL_AREA_2021, level]).set_index("code")["pop"]


def closed_between(fac: pd.DataFrame, a: int, b: int) -> pd.Series:
    """Closed after 31 December ``a`` and on or before 31 December ``b``."""
    closed = pd.to_datetime(fac["closed"])
    return (closed > pd.Timestamp(f"{a}-12-31")) & (closed <= pd.Timestamp(f"{b}-12-31"))


def opened_between(fac: pd.DataFrame, a: int, b: int) -> pd.Series:
    """Opened after 31 December ``a`` and on or before 31 December ``b``."""
    opened = pd.to_datetime(fac["opened"])
    return (opened > pd.Timestamp(f"{a}-12-31")) & (opened <= pd.Timestamp(f"{b}-12-31"))


def tally(fac: pd.DataFrame, group: pd.Series, k: Kind, population: pd.Series | None = None) -> pd.DataFrame:
    """Counts per group: open each year, per 10,000, closures and openings per period, net change.

    A pure function over a facility frame (one kind) and a group label per row.

    Parameters
    ----------
    fac : DataFrame
        Facilities with ``opened`` and ``closed`` dates.
    group : Series
        The group of each facility (area code or class), aligned with ``fac``.
    k : Kind
        Gives the years and periods.
    population : Series, optional
        Residents per group, for the per-10,000 columns.

    Returns
    -------
    DataFrame
        group, open_<year>..., per_10k_<year>..., closed_<a+1>_<b>, opened_<a+1>_<b>,
        net_<a+1>_<b> for each period, and net over the whole span.
    """
    g = group.to_numpy()
    cols: dict[str, pd.Series] = {}
    for y in k.years:
        cols[f"open_{y}"] = pd.Series(open_in_year(fac, y).to_numpy().astype(int)).groupby(g).sum()
    for a, b in k.periods:
        cols[f"closed_{k.period(a, b, '_')}"] = pd.Series(closed_between(fac, a, b).to_numpy().astype(int)).groupby(g).sum()
        cols[f"opened_{k.period(a, b, '_')}"] = pd.Series(opened_between(fac, a, b).to_numpy().astype(int)).groupby(g).sum()
    out = pd.DataFrame(cols)
    if population is not None:
        out = out.reindex(out.index.union(population.dropna().index), fill_value=0)
    out = out.fillna(0).astype(int)
    for a, b in k.periods:
        out[f"net_{k.period(a, b, '_')}"] = out[f"open_{b}"] - out[f"open_{a}"]
    if len(k.years) > 1:
        out[f"net_{k.years[0]}_{k.years[-1]}"] = out[f"open_{k.years[-1]}"] - out[f"open_{k.years[0]}"]
    if population is not None:
        pop = population.reindex(out.index)
        out.insert(0, "population", pop)
        for y in k.years:
            out[f"per_10k_{y}"] = 10_000 * out[f"open_{y}"] / pop.replace(0, np.nan)
    out.index.name = "group"
    return out.reset_index()


@dataclass
class Counts:
    """Facilities of one kind per area (or class): open per year, per 10,000, closures, net."""

    kind: str
    level: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "level": self.level, "notes": self.notes, "rows": records(self.table)}


def counts(atlas: Atlas, kind: str, level: str = COUNCIL, place: str | None = None) -> Counts:
    """Facilities of a kind in every area of a level, each year the data covers.

    Counts use each facility's own placement (its point in the town, council or
    seat boundary; its nearest LSOA 2021 centroid). Per 10,000 uses Census 2021
    usual residents summed over the area's LSOA 2021 links.
    """
    k = check_kind(kind)
    _check_place_level(level)
    fac = read_facilities(atlas, k.kind)
    notes = []
    if not k.small_area and level in (SMALL_AREA_2021, "town"):
        raise TownhallError(f"{k.plural.capitalize()} are located by postcode district only: counts are for councils, "
                            "seats and regions, not small areas or towns.")
    fac = fac[fac[level].notna()]
    pop = census_population(atlas, level)
    t = tally(fac, fac[level], k, pop)
    names = atlas.query("SELECT code, name FROM area WHERE level = ?", [level]).set_index("code")["name"]
    t.insert(1, "name", t["group"].map(names))
    t = t.rename(columns={"group": "code"})
    if place:
        t = t[t["code"] == place]
        if t.empty:
            raise TownhallError(f"No {label(level)} with code {place!r} has {k.plural} in the ledger.")
    if k.kind == "court":
        notes.append(COURT_NOTE)
    return Counts(k.kind, level, t.reset_index(drop=True), notes)


COURT_NOTE = ("Court closures are inferred from three estate lists (July 2013, Nov 2014, Feb 2017). The 2013 and "
              "2017 lists hold the same courts, so the lists miss the 2015-16 closures: treat court 'closures' as "
              "listing changes, not as the closure programme.")


def facility_classes(atlas: Atlas, fac: pd.DataFrame, kinds: pd.DataFrame | None = None) -> pd.Series:
    """Kind of place of each facility: its LSOA 2021's kind, or (coarse locations) its council's class.

    ``kinds`` is :func:`townhall.places.classify.small_area_kinds` for LSOA 2021 when the caller has it.
    """
    from townhall.places.classify import settlement_shares, small_area_kinds

    sak = kinds if kinds is not None else small_area_kinds(atlas, SMALL_AREA_2021)
    cls = fac[SMALL_AREA_2021].map(sak.set_index("code")["kind"])
    if cls.isna().any() and fac[SMALL_AREA_2021].isna().any():
        lad = settlement_shares(atlas, COUNCIL).set_index("code")["class"]
        cls = cls.fillna(fac[COUNCIL].map(lad))
    return cls


def counts_by_class(atlas: Atlas, kind: str) -> Counts:
    """Counts, per 10,000 residents, closures, openings and net change by kind of place.

    The class of a facility is its LSOA 2021's kind of place (London, City,
    Large/Medium/Small town, Village or rural; :func:`townhall.places.classify.small_area_kinds`);
    GP practices (located by postcode district only) take their council's class.
    Residents per class: Census 2021 usual residents of the LSOAs of that kind
    (for GP practices, of the councils of that class).
    """
    from townhall.places.classify import KINDS as PLACE_KINDS
    from townhall.places.classify import settlement_shares, small_area_kinds

    k = check_kind(kind)
    fac = read_facilities(atlas, k.kind)
    sak = small_area_kinds(atlas, SMALL_AREA_2021)
    cls = facility_classes(atlas, fac, sak)
    if k.small_area:
        pop = sak.groupby("kind")["population"].sum()
        note = "Class = the kind of place of the facility's LSOA 2021."
    else:
        sh = settlement_shares(atlas, COUNCIL)
        pop = sh.groupby("class")["population"].sum()
        note = "Class = the class of the facility's council (the kind of place most of its residents live in)."
    t = tally(fac[cls.notna().to_numpy()], cls.dropna(), k, pop)
    t = t.rename(columns={"group": "class"})
    t["order"] = t["class"].map({c: i for i, c in enumerate(PLACE_KINDS)})
    t = t.sort_values("order").drop(columns="order").reset_index(drop=True)
    notes = [note] + ([COURT_NOTE] if k.kind == "court" else [])
    return Counts(k.kind, "class", t, notes)


@dataclass
class PlaceLedger:
    """One place's ledger: its facilities, their events (openings, closures) and yearly counts."""

    area: dict[str, Any]
    table: pd.DataFrame          # the facilities
    events: pd.DataFrame         # date, kind, name, event
    yearly: pd.DataFrame         # kind, year, open
    closures: pd.DataFrame       # kind, period, closed, opened
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        t = self.table.copy()
        for c in ("opened", "closed_from", "closed"):
            t[c] = t[c].dt.strftime("%Y-%m-%d")
        ev = self.events.copy()
        for c in ("date", "earliest"):
            ev[c] = pd.to_datetime(ev[c]).dt.strftime("%Y-%m-%d")
        return {"area": self.area, "notes": self.notes, "yearly": records(self.yearly),
                "closures": records(self.closures), "events": records(ev), "facilities": records(t)}


def place_ledger(atlas: Atlas, level: str, code: str) -> PlaceLedger:
    """What a place has, what it lost and when: the page behind ``/infrastructure/place/{level}/{code}``."""
    _check_place_level(level)
    a = atlas.area(code, level)
    fac = read_facilities(atlas, None, level, code)
    ev = []
    for r in fac.itertuples():
        if pd.notna(r.opened):
            ev.append({"date": r.opened, "kind": r.kind, "name": r.name, "event": "opened", "id": r.id})
        if pd.notna(r.closed):
            ev.append({"date": r.closed, "kind": r.kind, "name": r.name, "event": "closed", "id": r.id,
                       "earliest": r.closed_from})
    events = pd.DataFrame(ev, columns=["date", "kind", "name", "event", "id", "earliest"])
    events = events.sort_values(["date", "kind", "name"]).reset_index(drop=True)
    yearly, clos = [], []
    for k in KINDS.values():
        f = fac[fac["kind"] == k.kind]
        if f.empty and not k.small_area and level in (SMALL_AREA_2021, "town"):
            continue
        for y in k.years:
            yearly.append({"kind": k.kind, "label": k.plural, "year": y, "open": int(open_in_year(f, y).sum())})
        for p, b in k.periods:
            clos.append({"kind": k.kind, "label": k.plural, "period": k.period(p, b),
                         "closed": int(closed_between(f, p, b).sum()), "opened": int(opened_between(f, p, b).sum())})
    notes = []
    if level in (SMALL_AREA_2021, "town"):
        notes.append("GP practices are located by postcode district only and are listed for councils, seats and regions.")
    if (fac["kind"] == "court").any():
        notes.append(COURT_NOTE)
    area = {"code": a.code, "name": a.name, "level": a.level, "level_name": label(a.level), "population": a.population}
    return PlaceLedger(area, fac, events, pd.DataFrame(yearly), pd.DataFrame(clos), notes)
