"""Access: how far people live from the nearest facility of each kind, and how that changed.

The build stores, for every LSOA 2021 population-weighted centroid, the
straight-line distance (British National Grid, SciPy cKDTree) to the nearest
open facility of each kind at each date the data gives
(:func:`townhall.atlas.facilities.access_table`). Here those distances are
rolled up to any level as population-weighted means and as the share of
residents beyond a threshold, with the change between dates and the part of it
caused by closures alone (facilities open at the first date less those closed
since: openings do not offset closures).

There is no road network in the data: distances are straight lines.

>>> access(atlas, "library", "lad").table          # mean km and share beyond 2, 5, 10 km, 2010/2016/2024
>>> service_deserts(atlas, threshold_km=5, min_kinds=3).table
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.facilities import KINDS, check_kind
from townhall.atlas.store import records
from townhall.errors import TownhallError
from townhall.levels import SMALL_AREA_2021, check_level

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Distance thresholds (km) reported by default.
THRESHOLDS: tuple[float, ...] = (2.0, 5.0, 10.0)
#: Kinds and dates a service desert is judged on by default: the latest date of each kind located
#: to an address or postcode (GP practices only to a postcode district: a few km).
DESERT_KINDS: dict[str, int] = {"library": 2024, "gp": 2022, "hospital": 2020, "pub": 2022, "pool": 2009}


def _col(t: float) -> str:
    return f"share_beyond_{t:g}km"


@dataclass
class Access:
    """Distance to the nearest facility of a kind, per area and date."""

    kind: str
    level: str
    thresholds: tuple[float, ...]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "level": self.level, "thresholds_km": list(self.thresholds), "notes": self.notes,
                "rows": records(self.table)}


def access(atlas: Atlas, kind: str, level: str = "lad", place: str | None = None,
           thresholds: Sequence[float] = THRESHOLDS) -> Access:
    """Population-weighted mean distance and share of residents beyond each threshold, per area and date.

    Parameters
    ----------
    atlas : Atlas
    kind : str
        A facility kind (library, gp, court, pool, sports, hospital, pub).
    level : str
        lsoa21 or any level LSOA 2021 links to (town, lad, pcon24, rgn, cty, ...).
    place : str, optional
        One area code.
    thresholds : sequence of float
        Distances in km.

    Returns
    -------
    Access
        ``table``: code, name, year, scenario ('open' or 'closures_only'), population,
        mean_km, share_beyond_<t>km..., change_km (against the kind's first date, same
        scenario 'open'), closures_km (the rise from closures alone).
    """
    k = check_kind(kind)
    check_level(level)
    thresholds = tuple(float(t) for t in thresholds)
    shares = ", ".join(f"sum(w * (km > {t})::INT) / sum(w) AS {_col(t)}" for t in thresholds)
    if level == SMALL_AREA_2021:
        src = "SELECT code AS child, code AS parent, 1.0 AS weight FROM area WHERE level = 'lsoa21'"
        params: list[Any] = []
    else:
        src = "SELECT child, parent, weight FROM area_link WHERE child_level = 'lsoa21' AND parent_level = ?"
        params = [level]
    where = " AND l.parent = ?" if place else ""
    df = atlas.query(f"""
        WITH l AS ({src}),
        x AS (SELECT l.parent, f.year, f.scenario, f.km, l.weight * a.population AS w
              FROM facility_access f JOIN l ON l.child = f.lsoa21
              JOIN area a ON a.code = f.lsoa21 AND a.level = 'lsoa21'
              WHERE f.kind = ? AND a.population > 0{where})
        SELECT parent AS code, year, scenario, sum(w) AS population, sum(w * km) / sum(w) AS mean_km, {shares}
        FROM x GROUP BY ALL ORDER BY code, scenario, year""", [*params, k.kind, *([place] if place else [])])
    if df.empty:
        raise TownhallError(f"No distances to {k.plural} for {level}{' ' + place if place else ''}.",
                            hint="Check the level and code ('townhall find NAME').")
    names = atlas.query("SELECT code, name FROM area WHERE level = ?", [level]).set_index("code")["name"]
    df.insert(1, "name", df["code"].map(names))
    first = df[(df["scenario"] == "open") & (df["year"] == k.access_dates[0])].set_index("code")["mean_km"]
    df["change_km"] = df["mean_km"] - df["code"].map(first)
    df["closures_km"] = np.where(df["scenario"] == "closures_only", df["change_km"], np.nan)
    notes = ["Straight-line distance from LSOA 2021 population-weighted centroids; no road network.",
             "Population-weighted over LSOA 2021 (Census 2021 usual residents); thresholds in km: "
             + ", ".join(f"{t:g}" for t in thresholds) + "."]
    if not k.small_area:
        notes.append("GP practices are located at postcode-district centroids: distances are good to a few km only.")
    return Access(k.kind, level, thresholds, df, notes)


def desert_flags(distances: pd.DataFrame, threshold_km: float | Mapping[str, float], min_kinds: int) -> pd.DataFrame:
    """The desert rule, as a pure function: beyond the threshold for at least ``min_kinds`` kinds.

    Parameters
    ----------
    distances : DataFrame
        area, kind, km (one date per kind).
    threshold_km : float or mapping kind -> float
        A distance for every kind, or one per kind.
    min_kinds : int
        How many kinds an area must be beyond the threshold for.

    Returns
    -------
    DataFrame
        area, n_kinds (kinds with a distance), n_beyond, kinds_beyond (comma-separated), desert.
    """
    if min_kinds < 1:
        raise TownhallError(f"min_kinds must be at least 1, not {min_kinds}.")
    d = distances.copy()
    lim = d["kind"].map(threshold_km) if isinstance(threshold_km, Mapping) else pd.Series(float(threshold_km), index=d.index)
    if lim.isna().any():
        missing = sorted(set(d.loc[lim.isna(), "kind"]))
        raise TownhallError(f"No threshold for kind(s) {', '.join(missing)}.")
    d["beyond"] = d["km"] > lim
    g = d.groupby("area", sort=True)
    names = d[d["beyond"]].sort_values(["area", "kind"]).groupby("area")["kind"].agg(", ".join)
    out = pd.DataFrame({"n_kinds": g["kind"].size(), "n_beyond": g["beyond"].sum().astype(int)})
    out["kinds_beyond"] = names.reindex(out.index).fillna("")
    out["desert"] = out["n_beyond"] >= min_kinds
    return out.reset_index()


@dataclass
class Deserts:
    """Areas beyond a distance threshold for several kinds of facility at once."""

    level: str
    threshold_km: float
    min_kinds: int
    kinds: dict[str, int]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "threshold_km": self.threshold_km, "min_kinds": self.min_kinds,
                "kinds": self.kinds, "notes": self.notes, "rows": records(self.table)}


def service_deserts(atlas: Atlas, threshold_km: float = 5.0, min_kinds: int = 3, level: str = SMALL_AREA_2021,
                    kinds: Mapping[str, int] | None = None) -> Deserts:
    """Service deserts: LSOAs more than ``threshold_km`` from the nearest facility of ``min_kinds`` kinds.

    At ``lsoa21`` each LSOA is flagged; at other levels the table gives the share of
    residents living in desert LSOAs.
    """
    check_level(level)
    kinds = dict(kinds or DESERT_KINDS)
    for kd, y in kinds.items():
        k = check_kind(kd)
        if y not in k.access_dates:
            raise TownhallError(f"No distances to {k.plural} in {y}.",
                                hint=f"Dates with distances: {', '.join(map(str, k.access_dates))}.")
    pairs = [[kd, y] for kd, y in kinds.items()]
    d = atlas.query("""SELECT f.lsoa21 AS area, f.kind, f.km FROM facility_access f
                       JOIN (SELECT unnest(?) AS kind, unnest(?) AS year) s ON s.kind = f.kind AND s.year = f.year
                       WHERE f.scenario = 'open'""", [[p[0] for p in pairs], [p[1] for p in pairs]])
    flags = desert_flags(d, threshold_km, min_kinds)
    pop = atlas.query("SELECT code AS area, name, population FROM area WHERE level = 'lsoa21'")
    flags = flags.merge(pop, on="area", how="left")
    notes = [f"Desert: more than {threshold_km:g} km in a straight line from the nearest of at least {min_kinds} of: "
             + ", ".join(f"{KINDS[kd].plural} ({y})" for kd, y in kinds.items()) + "."]
    if level == SMALL_AREA_2021:
        t = flags.rename(columns={"area": "code"})[["code", "name", "population", "n_kinds", "n_beyond", "kinds_beyond", "desert"]]
        return Deserts(level, threshold_km, min_kinds, kinds, t, notes)
    links = atlas.query("SELECT child AS area, parent AS code, weight FROM area_link WHERE child_level = 'lsoa21' "
                        "AND parent_level = ?", [level])
    m = links.merge(flags, on="area")
    m["w"] = m["weight"] * m["population"]
    m["wd"] = m["w"] * m["desert"]
    g = m.groupby("code")[["w", "wd"]].sum()
    names = atlas.query("SELECT code, name FROM area WHERE level = ?", [level]).set_index("code")["name"]
    t = pd.DataFrame({"code": g.index, "name": g.index.map(names), "population": g["w"].to_numpy(),
                      "residents_in_deserts": g["wd"].to_numpy(), "share_in_deserts": (g["wd"] / g["w"]).to_numpy()})
    t = t.sort_values("share_in_deserts", ascending=False).reset_index(drop=True)
    return Deserts(level, threshold_km, min_kinds, kinds, t, notes)
