"""Pairing: every English town with its neighbouring city, two ways.

A town's *neighbouring city* is found by two documented rules, and both are kept:

``nearest``
    the city whose population-weighted centre is closest to the town's
    population-weighted centre (great-circle distance on a sphere of the
    Earth's mean radius).
``ttwa``
    the city of the town's 2011 travel-to-work area (TTWA), where its TTWA
    contains a city; otherwise no pairing.

The cities are the 18 ``City`` rows of the ONS towns table plus London. The
towns table drops London (its 'Inner/Outer London BUAs' summary rows have no
code), but a town at the edge of London looks to London, not to Brighton or
Birmingham; so London is added as a pseudo-city made of the LSOAs (2021) of
the 33 London borough councils (E09), centred on their population-weighted
centroid and with the London TTWA (``E30000234``) as its own. It is reached in
the atlas as the London region (``E12000007``), which holds exactly those LSOAs.
Pass ``london=False`` to leave it out (see ``docs/methods/towns.md`` for the effect).

>>> p = Pairing(atlas)
>>> p.city_of("E35000961")                     # Barnsley
>>> p.towns_of("Manchester", rule="ttwa")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from townhall.errors import PlaceNotFoundError, TownhallError
from townhall.levels import COUNCIL, SMALL_AREA_2021

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Mean radius of the Earth (IUGG), km.
EARTH_RADIUS_KM = 6371.0088
#: The London region: the 33 borough councils (E09), standing in for the city of London.
LONDON = "E12000007"
LONDON_TTWA = "E30000234"
RULES = ("nearest", "ttwa")
#: Typology columns of the towns table carried into the pairing table.
TYPOLOGY = ("size", "region", "coastal", "job_density", "income_deprivation")
CITY = "City"


def haversine_km(lat1: np.ndarray | float, lon1: np.ndarray | float,
                 lat2: np.ndarray | float, lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts).

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array
        Latitudes and longitudes in decimal degrees (WGS84).

    Returns
    -------
    ndarray
        Distance in km on a sphere of radius :data:`EARTH_RADIUS_KM`; within
        0.5% of the ellipsoidal distance at the scale of England.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def nearest_centre(lat: np.ndarray, lon: np.ndarray, centre_lat: np.ndarray,
                   centre_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index of the nearest centre and the distance to it in km.

    A k-d tree over unit vectors: the straight-line (chord) distance through
    the sphere orders points exactly as the great-circle distance does, so the
    nearest by chord is the nearest on the ground.

    Returns
    -------
    (ndarray of int, ndarray of float)
    """
    if len(centre_lat) == 0:
        raise TownhallError("No cities to pair towns with.")
    tree = cKDTree(_unit_vectors(centre_lat, centre_lon))
    _, idx = tree.query(_unit_vectors(lat, lon))
    idx = np.asarray(idx, dtype=int)
    km = haversine_km(lat, lon, np.asarray(centre_lat)[idx], np.asarray(centre_lon)[idx])
    return idx, km


# -- the places -----------------------------------------------------------------------------
def english_towns(atlas: Atlas) -> pd.DataFrame:
    """The 1,100 towns and cities of the ONS towns table with their typology.

    Returns
    -------
    DataFrame
        code, name, lat, lon, population (2011), size (ONS size flag), region,
        coastal, job_density, income_deprivation, ttwa11.
    """
    towns = atlas.areas("town")
    cls = atlas.classes(level="town").pivot(index="code", columns="scheme", values="class")
    towns = towns[towns["code"].isin(cls.index[cls.get("ons_town_size").notna()])].copy()
    ttwa = atlas.links("town", "ttwa11").drop_duplicates("child").set_index("child")["parent"]
    out = towns[["code", "name", "lat", "lon", "population"]].reset_index(drop=True)
    for col, scheme in (("size", "ons_town_size"), ("region", "region"), ("coastal", "coastal"),
                        ("job_density", "job_density"), ("income_deprivation", "income_deprivation")):
        out[col] = out["code"].map(cls[scheme]) if scheme in cls else None
    out["ttwa11"] = out["code"].map(ttwa)
    return out


def cities(atlas: Atlas, *, london: bool = True) -> pd.DataFrame:
    """The cities towns are paired with: the 18 ONS cities, and London unless ``london=False``.

    Returns
    -------
    DataFrame
        code, name, level ('town', or 'rgn' for London), lat, lon, population,
        population_year, ttwa11.
    """
    t = english_towns(atlas)
    c = t[t["size"] == CITY]
    out = pd.DataFrame({"code": c["code"], "name": c["name"], "level": "town", "lat": c["lat"], "lon": c["lon"],
                        "population": c["population"], "population_year": 2011, "ttwa11": c["ttwa11"]})
    if london:
        out = pd.concat([out, pd.DataFrame([london_centre(atlas)])], ignore_index=True)
    return out.reset_index(drop=True)


def london_centre(atlas: Atlas) -> dict[str, object]:
    """London as a pseudo-city: the LSOAs (2021) of the 33 E09 councils, population-weighted."""
    df = atlas.query(
        "SELECT a.lat, a.lon, a.population FROM area_link l JOIN area a ON a.code = l.child AND a.level = l.child_level "
        "WHERE l.child_level = ? AND l.parent_level = ? AND l.parent LIKE 'E09%' AND a.lat IS NOT NULL",
        [SMALL_AREA_2021, COUNCIL],
    )
    if df.empty:
        raise TownhallError("The atlas has no LSOAs (2021) in London boroughs, so London cannot be a city.")
    w = df["population"].to_numpy(float)
    return {"code": LONDON, "name": "London", "level": "rgn",
            "lat": float(np.average(df["lat"], weights=w)), "lon": float(np.average(df["lon"], weights=w)),
            "population": float(w.sum()), "population_year": 2021, "ttwa11": LONDON_TTWA}


def pair_towns(towns: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """Pair each town that is not a city with a city by both rules (a pure function).

    Parameters
    ----------
    towns : DataFrame
        code, name, lat, lon, ttwa11 and optionally the :data:`TYPOLOGY` columns (cities among
        them, by code or ``size == 'City'``, are dropped).
    cities : DataFrame
        code, name, lat, lon, ttwa11.

    Returns
    -------
    DataFrame
        One row per town: town, town_name, the :data:`TYPOLOGY` columns, ttwa11, nearest_city,
        nearest_city_name, nearest_km, ttwa_city, ttwa_city_name, ttwa_km
        (the TTWA columns empty where the town's TTWA holds no city).
    """
    t = towns[~towns["code"].isin(cities["code"])]
    if "size" in t:
        t = t[t["size"] != CITY]
    t = t.reset_index(drop=True)
    if t[["lat", "lon"]].isna().any().any():
        bad = t.loc[t[["lat", "lon"]].isna().any(axis=1), "name"].tolist()
        raise TownhallError(f"{len(bad)} towns have no centre, e.g. {bad[:3]}.", hint="Rebuild the atlas.")
    idx, km = nearest_centre(t["lat"].to_numpy(), t["lon"].to_numpy(), cities["lat"].to_numpy(), cities["lon"].to_numpy())
    out = pd.DataFrame({  # frame columns
        "town": t["code"], "town_name": t["name"],
        **{c: t.get(c) for c in TYPOLOGY},
        "ttwa11": t["ttwa11"],
        "nearest_city": cities["code"].to_numpy()[idx], "nearest_city_name": cities["name"].to_numpy()[idx],
        "nearest_km": km,
    })
    # A TTWA holds at most one city in 2011; if one ever held two, take the nearer.
    by_ttwa = cities.dropna(subset=["ttwa11"])
    tt = out[["town", "ttwa11"]].merge(  # frame columns
        by_ttwa[["code", "name", "lat", "lon", "ttwa11"]], on="ttwa11", how="inner")
    tt = tt.merge(t[["code", "lat", "lon"]].rename(columns={"code": "town", "lat": "tlat", "lon": "tlon"}), on="town")
    tt["km"] = haversine_km(tt["tlat"], tt["tlon"], tt["lat"], tt["lon"])
    tt = tt.sort_values("km").drop_duplicates("town").set_index("town")
    out["ttwa_city"] = out["town"].map(tt["code"])
    out["ttwa_city_name"] = out["town"].map(tt["name"])
    out["ttwa_km"] = out["town"].map(tt["km"])
    return out


class Pairing:
    """Every English town that is not a city, paired with a city by both rules.

    Parameters
    ----------
    atlas : Atlas
    london : bool, default True
        Count London (the 33 boroughs) as a city.

    Attributes
    ----------
    towns : DataFrame
        The towns table's 1,100 places with typology (see :func:`english_towns`).
    cities : DataFrame
        The cities (see :func:`cities`).
    table : DataFrame
        One row per town (1,082): see :func:`pair_towns`.
    """

    def __init__(self, atlas: Atlas, *, london: bool = True) -> None:
        self.london = london
        self.towns = english_towns(atlas)
        self.cities = cities(atlas, london=london)
        self.table = pair_towns(self.towns, self.cities)

    def pairs(self, rule: str = "nearest") -> pd.DataFrame:
        """Town and city codes under one rule (towns without a city under it dropped).

        Returns
        -------
        DataFrame
            town, town_name, city, city_name, km.
        """
        check_rule(rule)
        cols = {"town": "town", "town_name": "town_name", f"{rule}_city": "city",
                f"{rule}_city_name": "city_name", f"{rule}_km": "km"}
        return self.table[list(cols)].rename(columns=cols).dropna(subset=["city"]).reset_index(drop=True)

    def city_of(self, town: str, rule: str = "nearest") -> dict[str, object] | None:
        """The city a town (code) is paired with, or None if it has none under ``rule``."""
        check_rule(rule)
        row = self.table[self.table["town"] == town]
        if row.empty:
            if town in set(self.cities["code"]):
                raise TownhallError(f"{town} is a city: only towns are paired with a city.")
            raise PlaceNotFoundError(town)
        r = row.iloc[0]
        if pd.isna(r[f"{rule}_city"]):
            return None
        level = "rgn" if r[f"{rule}_city"] == LONDON else "town"
        return {"code": r[f"{rule}_city"], "name": r[f"{rule}_city_name"], "level": level, "km": float(r[f"{rule}_km"])}

    def pairings_of(self, town: str) -> dict[str, dict[str, object] | None] | None:
        """A town's city under each rule (``{'nearest': ..., 'ttwa': ...}``), or None for a place
        that is not a paired town (a city, a Welsh town)."""
        if not (self.table["town"] == town).any():
            return None
        return {rule: self.city_of(town, rule) for rule in RULES}

    def find_city(self, query: str) -> pd.Series:
        """A city by code or name (case and accents ignored)."""
        from townhall.levels import normalise_name

        q = normalise_name(query)
        hit = self.cities[(self.cities["code"] == query.strip().upper())
                          | (self.cities["name"].map(normalise_name) == q)]
        if hit.empty:
            names = ", ".join(sorted(self.cities["name"]))
            raise TownhallError(f"{query!r} is not one of the cities towns are paired with.", hint=f"Cities: {names}.")
        return hit.iloc[0]

    def towns_of(self, city: str, rule: str = "nearest") -> pd.DataFrame:
        """The towns paired with a city (name or code) under ``rule``, nearest first.

        Returns
        -------
        DataFrame
            town, town_name, size, region, km.
        """
        c = self.find_city(city)
        p = self.pairs(rule)
        p = p[p["city"] == c["code"]].merge(self.table[["town", "size", "region"]], on="town")
        return p[["town", "town_name", "size", "region", "km"]].sort_values("km").reset_index(drop=True)


def check_rule(rule: str) -> None:
    """Raise a clear error for a pairing rule that is not ``nearest`` or ``ttwa``."""
    if rule not in RULES:
        raise TownhallError(f"Unknown pairing rule {rule!r}.", hint="Rules: nearest, ttwa.")
