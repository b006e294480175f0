"""Classify: what kind of place every area is, at every level.

=========================  ================================================================
level                      class (scheme)
=========================  ================================================================
town                       ONS size class: City, Large town, Medium town, Small town
                           (``town_size``). English towns take the towns table's own flag;
                           Welsh towns (no typology) get the same thresholds applied to their
                           2021 population: city 225,000+, large 75,000+, medium 20,000+,
                           small below that.
bua22                      ONS size class of the 2022 built-up area (``bua22_size``: Major,
                           Large, Medium, Small, Minor).
lsoa21, lsoa11             kind of place (``settlement``): London, City, Large/Medium/Small town
                           when its population-weighted centroid is in a town (or a London
                           borough; Cardiff, missing from the ONS town boundaries, counts
                           its council's urban LSOAs as a city); otherwise from the
                           rural-urban classification 2011:
                           'Rural town or fringe', 'Village or dispersed', or 'Other urban'
                           (urban, but in no ONS town: mostly villages grown into small
                           built-up areas under 5,000 people and towns' edges).
lad, pcon24, cty, cauth,   share of the population living in each kind of place (London,
rgn                        city, large/medium/small town, village or rural = in no town),
                           from LSOA 2021 populations and the LSOA 2021 -> town links; the
                           class is the kind with the largest share (as the House of Commons
                           Library classes seats).
pcon10                     the same shares from LSOA 2011, beside the House of Commons Library
                           class of 2010 seats (``hocl_city_town``) for comparison.
=========================  ================================================================

>>> classify(atlas, "lad")        # code, name, class, share_london ... share_village_or_rural
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from townhall.errors import TownhallError
from townhall.levels import LSOA_LEVELS, SEAT_LEVELS, SHARE_LEVELS, check_level
from townhall.places.links import small_area_links

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Kinds of place, largest first; 'Village or rural' = living in no ONS town or city.
KINDS = ("London", "City", "Large town", "Medium town", "Small town", "Village or rural")
SHARE_COLS = tuple("share_" + k.lower().replace(" ", "_") for k in KINDS)
ONS_SIZE = {"City": "City", "Large Towns": "Large town", "Medium Towns": "Medium town", "Small Towns": "Small town"}
#: ONS size thresholds (Understanding towns, 2019): lower bounds of usual residents.
THRESHOLDS = ((225_000, "City"), (75_000, "Large town"), (20_000, "Medium town"))
RUC_DETAIL = {
    "Rural town and fringe": "Rural town or fringe",
    "Rural town and fringe in a sparse setting": "Rural town or fringe",
    "Rural village and dispersed": "Village or dispersed",
    "Rural village and dispersed in a sparse setting": "Village or dispersed",
}
#: House of Commons Library classes on this module's scale, for agreement counts.
HOCL_TO_KIND = {
    "Core City (London)": "London", "Core City (outside London)": "City", "Other City": "City",
    "Large Town": "Large town", "Medium Town": "Medium town", "Small Town": "Small town",
    "Village or smaller": "Village or rural",
}
#: Cardiff council: the ONS town boundaries leave Cardiff out (see :func:`small_area_kinds`).
CARDIFF = "W06000015"


def size_class(population: float) -> str:
    """ONS size class of a town from its usual residents (Small town below 20,000).

    >>> size_class(230_000), size_class(75_000), size_class(19_999)
    ('City', 'Large town', 'Small town')
    """
    for floor, name in THRESHOLDS:
        if population >= floor:
            return name
    return "Small town"


def town_classes(atlas: Atlas) -> pd.DataFrame:
    """Size class of every town: English from the ONS table, Welsh by the ONS thresholds.

    Returns
    -------
    DataFrame
        code, name, country, population, population_year, class, source.
    """
    towns = atlas.areas("town")
    ons = atlas.classes(level="town", scheme="ons_town_size").set_index("code")
    cls = towns["code"].map(ons["class"]).map(ONS_SIZE)
    by_size = towns["population"].map(lambda p: size_class(p) if pd.notna(p) else None)
    out = towns[["code", "name", "country", "population", "population_year"]].copy()
    out["class"] = cls.fillna(by_size)
    out["source"] = np.where(cls.notna(), "ONS towns table (size_flag)",
                             "ONS size thresholds applied to 2021 population")
    return out


def small_area_kinds(atlas: Atlas, level: str = "lsoa21") -> pd.DataFrame:
    """Kind of place of every LSOA (2021 or 2011), England and Wales.

    Returns
    -------
    DataFrame
        code, population, town (code, if in one), kind (one of :data:`KINDS`),
        settlement (the kind, or for LSOAs in no town the rural-urban detail).
    """
    if level not in LSOA_LEVELS:
        raise TownhallError(f"Kinds of place are worked out for LSOAs ({', '.join(LSOA_LEVELS)}), not {level!r}.")
    areas = atlas.query("SELECT code, population, lat, lon FROM area WHERE level = ? AND country IN ('E', 'W')", [level])
    town = small_area_links(atlas, level, "town").drop_duplicates("child").set_index("child")["parent"]
    lad = atlas.links(level, "lad").sort_values("weight").drop_duplicates("child", keep="last").set_index("child")["parent"]
    lad = areas["code"].map(lad).fillna("")
    sizes = town_classes(atlas).set_index("code")["class"]
    out = areas[["code", "population"]].copy()
    out["town"] = out["code"].map(town)
    ruc = areas["code"].map(_ruc(atlas, areas))
    kind = out["town"].map(sizes)
    kind = kind.where(~lad.str.startswith("E09"), "London")
    # Cardiff is missing from the ONS town boundaries: its council's urban LSOAs stand in for it.
    cardiff = lad.eq(CARDIFF) & out["town"].isna() & ruc.fillna("").str.startswith("Urban")
    kind = kind.where(~cardiff, "City")
    out["kind"] = kind.fillna("Village or rural")
    out["settlement"] = out["kind"]
    rest = out["kind"] == "Village or rural"
    detail = ruc.map(lambda c: RUC_DETAIL.get(c, "Other urban") if isinstance(c, str) else None)
    out.loc[rest, "settlement"] = detail[rest].fillna("Village or rural")
    return out


def _ruc(atlas: Atlas, areas: pd.DataFrame) -> pd.Series:
    """RUC2011 class by LSOA code; a 2021 LSOA new in 2021 takes its nearest 2011 LSOA's class."""
    from scipy.spatial import cKDTree

    ruc = atlas.classes(level="lsoa11", scheme="ruc2011").set_index("code")["class"]
    missing = areas[~areas["code"].isin(ruc.index)].dropna(subset=["lat", "lon"])
    if missing.empty:
        return ruc
    l11 = atlas.query("SELECT code, lat, lon FROM area WHERE level = 'lsoa11' AND lat IS NOT NULL")
    l11 = l11[l11["code"].isin(ruc.index)]
    # Degrees of longitude shrink with latitude: scale them so distances are roughly even.
    k = np.cos(np.radians(52.5))
    tree = cKDTree(np.c_[l11["lat"], l11["lon"] * k])
    _, idx = tree.query(np.c_[missing["lat"], missing["lon"] * k])
    extra = pd.Series(ruc.reindex(l11["code"].to_numpy()[idx]).to_numpy(), index=missing["code"].to_numpy())
    return pd.concat([ruc, extra])


def settlement_shares(atlas: Atlas, level: str) -> pd.DataFrame:
    """Share of each area's population living in each kind of place, and its class.

    Parameters
    ----------
    atlas : Atlas
    level : str
        Any level with LSOA links: lad, pcon24, cty, cauth, rgn, msoa21 (from
        LSOA 2021 and Census 2021 populations) or pcon10 (from LSOA 2011 and
        2019 populations).

    Returns
    -------
    DataFrame
        code, name, population (of the LSOAs counted), one ``share_<kind>``
        column per kind (summing to 1), class (the kind with the largest share).
    """
    if level not in SHARE_LEVELS:
        raise TownhallError(f"Settlement shares are worked out for {', '.join(SHARE_LEVELS)}, not {level!r}.")
    child = "lsoa11" if level == "pcon10" else "lsoa21"
    kinds = small_area_kinds(atlas, child).set_index("code")
    links = small_area_links(atlas, child, level)
    links["pop"] = links["child"].map(kinds["population"]) * links["weight"]
    links["kind"] = links["child"].map(kinds["kind"])
    tab = links.pivot_table(index="parent", columns="kind", values="pop", aggfunc="sum", fill_value=0.0)
    tab = tab.reindex(columns=list(KINDS), fill_value=0.0)
    total = tab.sum(axis=1)
    shares = tab.div(total, axis=0)
    names = atlas.areas(level).set_index("code")["name"]
    out = pd.DataFrame({"code": shares.index, "name": shares.index.map(names), "population": total.to_numpy()})
    for kind, col in zip(KINDS, SHARE_COLS, strict=True):
        out[col] = shares[kind].to_numpy()
    out["class"] = shares.idxmax(axis=1).to_numpy()
    return out.reset_index(drop=True)


def classify(atlas: Atlas, level: str) -> pd.DataFrame:
    """Class of every area of a level (see the module table for the rule at each level).

    Returns
    -------
    DataFrame
        code, name, class, scheme, and where they apply: the settlement shares,
        ``hocl_city_town`` (pcon10: the House of Commons Library class; pcon24:
        that of the 2010 seat contributing most of its population) and
        ``hocl_kind`` (that class on this module's scale).
    """
    check_level(level)
    if level == "town":
        out = town_classes(atlas)[["code", "name", "class", "source"]]
        return out.assign(scheme="town_size")
    if level == "bua22":
        names = atlas.areas("bua22").set_index("code")["name"]
        c = atlas.classes(level="bua22", scheme="bua22_size")
        return pd.DataFrame({"code": c["code"], "name": c["code"].map(names), "class": c["class"], "scheme": "bua22_size"})
    if level in LSOA_LEVELS:
        k = small_area_kinds(atlas, level)
        names = atlas.areas(level).set_index("code")["name"]
        return pd.DataFrame({"code": k["code"], "name": k["code"].map(names), "class": k["settlement"],
                             "kind": k["kind"], "town": k["town"], "scheme": "settlement"})
    if level not in SHARE_LEVELS:
        raise TownhallError(f"No classification of {level!r} areas.",
                            hint="Levels with a class: town, bua22, lsoa21, lsoa11, " + ", ".join(SHARE_LEVELS) + ".")
    out = settlement_shares(atlas, level).assign(scheme="settlement_share")
    if level in SEAT_LEVELS:
        hocl = atlas.classes(level="pcon10", scheme="hocl_city_town").set_index("code")["class"]
        if level == "pcon24":
            m = atlas.links("pcon10", "pcon24")
            pop10 = atlas.areas("pcon10").set_index("code")["population"]
            m["pop"] = m["child"].map(pop10) * m["weight"]
            top = m.sort_values("pop").drop_duplicates("parent", keep="last").set_index("parent")["child"]
            out["hocl_city_town"] = out["code"].map(top).map(hocl)
        else:
            out["hocl_city_town"] = out["code"].map(hocl)
        out["hocl_kind"] = out["hocl_city_town"].map(HOCL_TO_KIND)
    return out


def agreement(classes: pd.DataFrame) -> pd.DataFrame:
    """Cross-tabulate this module's class against the House of Commons Library's (seats).

    Returns
    -------
    DataFrame
        Counts with this module's class in rows and ``hocl_kind`` in columns.
    """
    if "hocl_kind" not in classes:
        raise TownhallError(f"Agreement needs seats classified by classify(atlas, level) with level one of {', '.join(SEAT_LEVELS)}.")
    return pd.crosstab(classes["class"], classes["hocl_kind"]).reindex(index=list(KINDS), columns=list(KINDS), fill_value=0)
