"""Geography: areas of every level, the weighted links between them, and classes.

Each ``_level`` function reads its sources and returns tidy frames; the
:class:`Geography` collects them so :mod:`townhall.atlas.build` can write them
in one go. Methods of every link are named in ``area_link.method``:

``official_best_fit``
    a published ONS/mySociety lookup assigning each child wholly to one parent.
``code_nesting``
    ONS naming nests LSOA 2021 in MSOA 2021 (``Wigan 001A`` lies in ``Wigan 001``).
``centroid_in_polygon``
    the child's population-weighted centroid falls inside the parent's boundary.
``nearest_centroid``
    fallback for a town whose polygon holds no LSOA centroid: its nearest one.
``population_overlap``
    the child's population is split between parents by published overlap shares.
``via_<level>``
    composed through an intermediate level (weights multiplied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.atlas import codes
from townhall.levels import (
    COUNCIL,
    COUNCIL_LEVELS,
    COUNCIL_PARENTS,
    LSOA_LEVELS,
    MSOA21,
    REGION,
    SEAT,
    SEAT_2010,
    SMALL_AREA_2011,
    SMALL_AREA_2021,
    TOWN,
    TTWA,
    normalise_name,
)
from townhall.sources import readers

TOWNS = "towns_official/english_education.csv"
TOWN_POLYS = "geography/onsvisual_topojson_boundaries/geogtownscitiesGB.json"
TOWN_POLYS_EW = "geography/onsvisual_topojson_boundaries/geogtownandcitiesEW.json"
GS = "geography/onsvisual_geo_scripts/"
LA_ALL = "geography/drkane_geo_lookups/la_all_codes.csv"
MSOA_LA = "geography/drkane_geo_lookups/msoa_la.csv"
LSOA_LL = "geography/drkane_geo_lookups/lsoa_latlong.csv"
MSOA_LL = "geography/drkane_geo_lookups/msoa_latlong.csv"
CENSUS_POP = "geography/hack25usefuldata/census21_pop.rda"
POP19 = "geography/mysociety_2025_constituencies/2019_population.csv"
LSOA11_PARL25 = "geography/mysociety_2025_constituencies/LSOA11_PARL25_combo_overlap.parquet"
MYS_LA = "geography/mysociety_la/uk_local_authorities.csv"
MYS_LSOA_LA = "geography/mysociety_la/lookup_lsoa_to_registry.csv"
RUC11 = "geography/mysociety_uk_ruc/ruc_2011.csv"
PCON_LSOA = "geography/mysociety_uk_ruc/pcon_lsoa.csv"
TTWA_LSOA = "geography/ons_lookups_2011_bua/188.csv"
HOCL = "geography/open_innovations_constituencies/city_town_classification.csv"
PARL10_25 = "geography/open_innovations_constituencies/constituency-mapping-2010-to-2025.csv"
UKPARL = "geography/open_innovations_constituencies/ukparl.2025.csv"
PCON25_POP = "geography/open_innovations_constituencies/pcon25_population_mid2021_mid2022.csv"
PCON24_BUC = "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_July_2024_Boundaries_UK_BUC.geojson"
BUA_POP = "geography/subwaybuilder_regions/gb_bua_populations.csv"
DISTRICT_POP = "geography/subwaybuilder_regions/gb_district_populations.csv"

COUNTRY_NAMES = {"E92000001": "England", "W92000004": "Wales", "S92000003": "Scotland", "N92000002": "Northern Ireland"}
COUNTRY_OF_PREFIX = {"E": "E92000001", "W": "W92000004", "S": "S92000003", "N": "N92000002"}


def search_name(name: str) -> str:
    """The folded name people search by: no ', City of' and no BUA/BUASD suffix."""
    name = re.sub(r",\s*(City|County) of$", "", name)
    name = re.sub(r"\s+(BUASD|BUA)$", "", name)
    return normalise_name(name)


def country_letter(codes: pd.Series) -> pd.Series:
    """E, W, S, N from a GSS code; mySociety/NISRA small-area codes (95..) are N."""
    first = codes.str[0]
    return first.where(first.isin(["E", "W", "S", "N", "K"]), "N")


@dataclass
class Geography:
    """Frames collected while building: areas, links, classes."""

    cache_dir: Path | None = None
    areas: list[pd.DataFrame] = field(default_factory=list)
    links: list[pd.DataFrame] = field(default_factory=list)
    classes: list[pd.DataFrame] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    lad_now: dict[str, str] = field(default_factory=dict)

    def read(self, kind: str, path: str, **kw):
        self.used.add(path)
        return getattr(readers, kind)(path, self.cache_dir, **kw)

    def add_areas(self, level: str, df: pd.DataFrame, *, pop_source: str | None = None, centroid_method: str | None = None) -> None:
        out = pd.DataFrame({"code": df["code"].astype(str), "level": level, "name": df["name"].astype(str)})
        out["country"] = df["country"] if "country" in df else country_letter(out["code"])
        for col in ("lat", "lon", "population", "population_year"):
            out[col] = df.get(col, np.nan)
        out["centroid_method"] = centroid_method if "lat" in df else None
        out["population_source"] = pop_source if "population" in df else None
        out["search"] = out["name"].map(search_name)
        self.areas.append(out.drop_duplicates(["code"]))

    def add_links(self, child_level: str, parent_level: str, df: pd.DataFrame, method: str) -> None:
        out = pd.DataFrame({
            "child": df["child"].astype(str), "child_level": child_level,
            "parent": df["parent"].astype(str), "parent_level": parent_level,
            "weight": df["weight"].astype(float) if "weight" in df else 1.0, "method": method,
        })
        self.links.append(out.dropna(subset=["child", "parent"]))

    def add_classes(self, level: str, df: pd.DataFrame, scheme: str, source: str) -> None:
        out = pd.DataFrame({"code": df["code"].astype(str), "level": level, "scheme": scheme,
                            "class": df["class"].astype(str), "source": source})
        self.classes.append(out[df["class"].notna().to_numpy()])

    def area_frame(self, level: str) -> pd.DataFrame:
        return pd.concat([a for a in self.areas if a["level"].iloc[0] == level], ignore_index=True)

    def link_frame(self, child_level: str, parent_level: str) -> pd.DataFrame:
        frames = [lk for lk in self.links if len(lk) and lk["child_level"].iloc[0] == child_level
                  and lk["parent_level"].iloc[0] == parent_level]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["child", "parent", "weight"])


def build_geography(cache_dir: Path | None = None, step=lambda name: None) -> Geography:
    """Read every geography source into a :class:`Geography` (areas, links, classes)."""
    g = Geography(cache_dir)
    step("councils, counties, combined authorities, regions")
    _admin(g)
    step("LSOA and MSOA 2021")
    _small_areas_2021(g)
    step("LSOA and MSOA 2011")
    _small_areas_2011(g)
    step("constituencies 2010 and 2024")
    _constituencies(g)
    step("towns and cities")
    _towns(g)
    step("built-up areas 2022 and travel-to-work areas")
    _bua22_ttwa(g)
    step("composed links and population-weighted centroids")
    _compose(g)
    return g


# -- administrative geography -----------------------------------------------------------
def _admin(g: Geography) -> None:
    pops = g.read("read_csv", DISTRICT_POP, required=["Code", "Name"])
    pops.columns = [c.strip() for c in pops.columns]
    pops = pd.DataFrame({"code": pops["Code"].str.strip(), "population": readers.to_number(pops["Population"])})
    # The mid-2024 file keys Barnsley and Sheffield on their pre-2025 codes: re-key on today's.
    g.used.add(codes.CHANGES)
    g.used.add(codes.LA_ALL)
    succ = codes.successors(g.cache_dir)
    pops = codes.to_current(pops, "code", succ, sums=["population"])[["code", "population"]]
    pops["population_year"] = 2024

    lad = g.read("read_csv", GS + "ltla25.csv", required=["areacd", "areanm"]).rename(columns={"areacd": "code", "areanm": "name"})
    g.add_areas("lad", lad.merge(pops, on="code", how="left"), pop_source=DISTRICT_POP)

    cty = g.read("read_csv", GS + "cty23.csv").rename(columns={"areacd": "code", "areanm": "name"})
    g.add_areas("cty", cty.merge(pops, on="code", how="left"), pop_source=DISTRICT_POP)

    rgn = g.read("read_csv", GS + "rgn22.csv").rename(columns={"areacd": "code", "areanm": "name"})
    g.add_areas("rgn", rgn.merge(pops, on="code", how="left"), pop_source=DISTRICT_POP)

    ctry = pd.DataFrame({"code": list(COUNTRY_NAMES), "name": list(COUNTRY_NAMES.values())})
    g.add_areas("ctry", ctry.merge(pops, on="code", how="left"), pop_source=DISTRICT_POP)

    cauth = g.read("read_csv", GS + "cauth25.csv").rename(columns={"areacd": "code", "areanm": "name"})
    # Population of a combined authority = sum of its councils' (filled in after links).
    g.add_areas("cauth", cauth)

    la = g.read("read_csv", LA_ALL, required=["LADCD", "LADCD_ACTIVE", "UTLACD", "RGNCD", "CTRYCD"])
    # Councils recoded or merged since a source was published (Barnsley and Sheffield in 2024,
    # Cumbria and others in 2023) map to their current code.
    g.lad_now = succ
    cur = la[la["LADCD"] == la["LADCD_ACTIVE"]].drop_duplicates("LADCD_ACTIVE")
    cur = cur[cur["LADCD_ACTIVE"].isin(lad["code"])]
    two_tier = cur[cur["UTLACD"].str.startswith("E10")]
    g.add_links("lad", "cty", two_tier.rename(columns={"LADCD_ACTIVE": "child", "UTLACD": "parent"}), "official_best_fit")
    g.add_links("lad", "rgn", cur[cur["RGNCD"].notna()].rename(columns={"LADCD_ACTIVE": "child", "RGNCD": "parent"}), "official_best_fit")
    g.add_links("lad", "ctry", cur.rename(columns={"LADCD_ACTIVE": "child", "CTRYCD": "parent"}), "official_best_fit")

    # Combined authorities: the ONS lookup lists only ten, so take membership from mySociety's register.
    mys = g.read("read_csv", MYS_LA, required=["local-authority-code", "gss-code", "combined-authority"])
    mys = mys[mys["end-date"].isna()] if "end-date" in mys else mys
    ca_gss = dict(zip(mys["local-authority-code"], mys["gss-code"], strict=False))
    mys = mys.assign(**{"gss-code": mys["gss-code"].map(lambda c: g.lad_now.get(c, c))})
    members = mys[mys["combined-authority"].notna() & mys["gss-code"].isin(lad["code"])]
    ca = pd.DataFrame({"child": members["gss-code"], "parent": members["combined-authority"].map(ca_gss)})
    ca = ca[ca["parent"].isin(cauth["code"])]
    g.add_links("lad", "cauth", ca, "official_best_fit")


def _small_areas_2021(g: Geography) -> None:
    lsoa = g.read("read_csv", GS + "lsoa21.csv", required=["areacd", "areanm"]).rename(columns={"areacd": "code", "areanm": "name"})
    pwc = g.read("read_points_ndjson", GS + "lsoa21_pwc.ndjson.gz")
    pop = g.read("read_rda", CENSUS_POP, required=["lsoa21_code", "usual_residents"])
    pop = pop.groupby("lsoa21_code", as_index=False)["usual_residents"].sum()
    pop = pop.rename(columns={"lsoa21_code": "code", "usual_residents": "population"})
    pop["population_year"] = 2021
    lsoa = lsoa.merge(pwc, on="code", how="left").merge(pop, on="code", how="left")
    g.add_areas("lsoa21", lsoa, pop_source=CENSUS_POP, centroid_method="ons_population_weighted")

    msoa = g.read("read_csv", GS + "msoa21.csv").rename(columns={"areacd": "code", "areanm": "name"})
    mpwc = g.read("read_points_ndjson", GS + "msoa21_pwc.ndjson.gz")
    # LSOA 2021 names are their MSOA's name plus a letter; ONS nests them exactly.
    by_name = dict(zip(msoa["name"], msoa["code"], strict=True))
    nest = pd.DataFrame({"child": lsoa["code"], "parent": lsoa["name"].str[:-1].map(by_name)})
    unmatched = nest["parent"].isna().sum()
    if unmatched:
        raise ValueError(f"{unmatched} LSOA 2021 names do not nest in an MSOA 2021 name")
    g.add_links("lsoa21", "msoa21", nest, "code_nesting")
    mpop = nest.merge(lsoa[["code", "population"]], left_on="child", right_on="code").groupby("parent")["population"].sum()
    msoa = msoa.merge(mpwc, on="code", how="left")
    msoa["population"] = msoa["code"].map(mpop)
    msoa["population_year"] = 2021
    g.add_areas("msoa21", msoa, pop_source=CENSUS_POP, centroid_method="ons_population_weighted")

    # MSOA 2021 -> current council (the HoC Library / ONS lookup), then LSOA by nesting.
    ml = g.read("read_csv", MSOA_LA, required=["MSOA21CD", "LADCD_ACTIVE"])
    ml = ml[ml["MSOA21CD"].isin(msoa["code"])].drop_duplicates("MSOA21CD")
    g.add_links("msoa21", "lad", ml.rename(columns={"MSOA21CD": "child", "LADCD_ACTIVE": "parent"}), "official_best_fit")
    lsoa_lad = nest.merge(ml[["MSOA21CD", "LADCD_ACTIVE"]], left_on="parent", right_on="MSOA21CD")
    g.add_links("lsoa21", "lad", pd.DataFrame({"child": lsoa_lad["child"], "parent": lsoa_lad["LADCD_ACTIVE"]}), "official_best_fit")


def _small_areas_2011(g: Geography) -> None:
    ruc = g.read("read_csv", RUC11, required=["lsoa", "LSOA11NM", "RUC11CD", "RUC11"])
    ll = g.read("read_csv", LSOA_LL, required=["LSOACD", "latitude", "longitude", "lsoa11cd"])
    ll = ll[ll["LSOACD"] == ll["lsoa11cd"]].drop_duplicates("LSOACD")
    pop = g.read("read_csv", POP19, required=["lsoa", "pop"], thousands=",")
    lsoa = (ruc.rename(columns={"lsoa": "code", "LSOA11NM": "name"})
            .merge(ll.rename(columns={"LSOACD": "code", "latitude": "lat", "longitude": "lon"})[["code", "lat", "lon"]], on="code", how="left")
            .merge(pop.rename(columns={"lsoa": "code", "pop": "population"}), on="code", how="left"))
    lsoa["population"] = readers.to_number(lsoa["population"])
    lsoa["population_year"] = 2019
    g.add_areas("lsoa11", lsoa, pop_source=POP19, centroid_method="centroid")
    g.add_classes("lsoa11", ruc.rename(columns={"lsoa": "code", "RUC11": "class"}), "ruc2011", RUC11)

    ml = g.read("read_csv", MSOA_LA, required=["MSOA11CD", "MSOA11NM"])
    m11 = ml[ml["MSOA11CD"].notna() & ml["MSOA11CD"].str[:3].isin(["E02", "W02"])].drop_duplicates("MSOA11CD")
    mll = g.read("read_csv", MSOA_LL, required=["MSOACD", "latitude", "longitude"])
    m11 = m11.rename(columns={"MSOA11CD": "code", "MSOA11NM": "name"})[["code", "name"]]
    m11 = m11.merge(mll.rename(columns={"MSOACD": "code", "latitude": "lat", "longitude": "lon"})[["code", "lat", "lon"]].drop_duplicates("code"), on="code", how="left")
    by_name = dict(zip(m11["name"], m11["code"], strict=False))
    nest = pd.DataFrame({"child": lsoa["code"], "parent": lsoa["name"].str[:-1].map(by_name)}).dropna()
    g.add_links("lsoa11", "msoa11", nest, "code_nesting")
    mpop = nest.merge(lsoa[["code", "population"]], left_on="child", right_on="code").groupby("parent")["population"].sum()
    m11["population"] = m11["code"].map(mpop)
    m11["population_year"] = 2019
    g.add_areas("msoa11", m11, pop_source=POP19, centroid_method="ons_population_weighted")

    # LSOA 2011 -> current council via mySociety's register codes.
    reg = g.read("read_csv", MYS_LSOA_LA, required=["lsoa", "local-authority-code"])
    mys = g.read("read_csv", MYS_LA, required=["local-authority-code", "gss-code"])
    reg = reg.merge(mys[["local-authority-code", "gss-code"]], on="local-authority-code", how="left")
    reg["gss-code"] = reg["gss-code"].map(lambda c: g.lad_now.get(c, c))
    reg = reg[reg["lsoa"].isin(lsoa["code"])]
    g.add_links("lsoa11", "lad", reg.rename(columns={"lsoa": "child", "gss-code": "parent"}), "official_best_fit")


def _constituencies(g: Geography) -> None:
    lsoa11 = g.area_frame("lsoa11")
    pop19 = g.read("read_csv", POP19, required=["lsoa", "pop"], thousands=",")
    pop19 = pd.Series(readers.to_number(pop19["pop"]).to_numpy(), index=pop19["lsoa"])

    w22 = g.read("read_csv", GS + "wpc22.csv").rename(columns={"areacd": "code", "areanm": "name"})
    pl = g.read("read_csv", PCON_LSOA, required=["pcon", "lsoa11"])
    w22["population"] = w22["code"].map(pl.assign(p=pl["lsoa11"].map(pop19)).groupby("pcon")["p"].sum())
    w22["population_year"] = 2019
    g.add_areas("pcon10", w22, pop_source=POP19)
    ew = pl[pl["lsoa11"].isin(lsoa11["code"])]
    g.add_links("lsoa11", "pcon10", ew.rename(columns={"lsoa11": "child", "pcon": "parent"}), "official_best_fit")

    hocl = g.read("read_csv", HOCL, required=["constituency_code", "classification", "percent_of_constituency"])
    hocl["classification"] = hocl["classification"].str.replace("Village or Smaller", "Village or smaller")
    top = hocl.sort_values("percent_of_constituency", ascending=False).drop_duplicates("constituency_code")
    g.add_classes("pcon10", top.rename(columns={"constituency_code": "code", "classification": "class"}), "hocl_city_town", HOCL)

    w24 = g.read("read_csv", GS + "wpc24.csv").rename(columns={"areacd": "code", "areanm": "name"})
    pp = g.read("read_csv", PCON25_POP, required=["PCON25CD", "Mid 2022"], thousands=",")
    w24 = w24.merge(pp.rename(columns={"PCON25CD": "code", "Mid 2022": "population"})[["code", "population"]], on="code", how="left")
    w24["population_year"] = np.where(w24["population"].notna(), 2022, np.nan)
    g.add_areas("pcon24", w24, pop_source=PCON25_POP)

    short = g.read("read_csv", UKPARL, required=["UKPARL.2025", "PCON24CD"])
    short = dict(zip(short["UKPARL.2025"], short["PCON24CD"], strict=True))
    ov = g.read("read_parquet", LSOA11_PARL25, required=["LSOA11", "PARL25", "percentage_overlap_pop"])
    ov = ov[ov["LSOA11"].isin(lsoa11["code"])].copy()
    # Published shares are rounded to 2 d.p.; recompute them from the overlap populations.
    ov["percentage_overlap_pop"] = _shares(ov, "LSOA11")
    g.add_links("lsoa11", "pcon24", pd.DataFrame({"child": ov["LSOA11"], "parent": ov["PARL25"].map(short),
                                                  "weight": ov["percentage_overlap_pop"].astype(float)}), "population_overlap")
    m = g.read("read_csv", PARL10_25, required=["PARL10", "PARL25", "percentage_overlap_pop", "overlap_pop"])
    m["percentage_overlap_pop"] = _shares(m, "PARL10")
    g.add_links("pcon10", "pcon24", pd.DataFrame({"child": m["PARL10"], "parent": m["PARL25"].map(short),
                                                  "weight": m["percentage_overlap_pop"]}), "population_overlap")

    # LSOA 2021 -> 2024 seat. No official lookup in the mirror. An LSOA whose 2011 code survived
    # into 2021 kept its boundary, so it takes mySociety's population overlaps of that code; the
    # others (split or merged in 2021) go by centroid in the (generalised) seat boundary.
    lsoa21 = g.area_frame("lsoa21")
    same = ov[ov["LSOA11"].isin(lsoa21["code"])]
    g.add_links("lsoa21", "pcon24", pd.DataFrame({"child": same["LSOA11"], "parent": same["PARL25"].map(short),
                                                  "weight": same["percentage_overlap_pop"].astype(float)}), "population_overlap")
    seats = g.read("read_geo", PCON24_BUC)
    _centroid_in_polygon(g, "lsoa21", "pcon24", seats.rename(columns={"PCON24CD": "code"}), fallback_nearest=True,
                         only=set(lsoa21["code"]) - set(same["LSOA11"]))


def _shares(df: pd.DataFrame, child: str) -> pd.Series:
    """Each row's share of its child's overlap population (falling back to the published share)."""
    tot = df.groupby(child)["overlap_pop"].transform("sum")
    share = df["overlap_pop"] / tot
    return share.where(tot > 0, df["percentage_overlap_pop"]).astype(float)


def _towns(g: Geography) -> None:
    t = g.read("read_csv", TOWNS, required=["town11cd", "town11nm", "size_flag", "population_2011", "ttwa11cd"])
    t = t[t["town11cd"].notna()].copy()
    towns = pd.DataFrame({"code": t["town11cd"], "name": t["town11nm"].str.replace(r" (BUASD|BUA)$", "", regex=True), "population": t["population_2011"].astype(float),
                          "population_year": 2011})
    # Polygons: all 1,100 English codes are in the GB file; Welsh towns only in the E&W file.
    polys = g.read("read_geo", TOWN_POLYS).rename(columns={"AREACD": "code", "AREANM": "name"})
    polys_ew = g.read("read_geo", TOWN_POLYS_EW).rename(columns={"AREACD": "code", "AREANM": "name"})
    wales = polys_ew[polys_ew["code"].str.startswith("W")]
    allpolys = pd.concat([polys[polys["code"].isin(towns["code"])], wales], ignore_index=True)
    missing = set(towns["code"]) - set(allpolys["code"])
    if missing:
        raise ValueError(f"{len(missing)} towns have no polygon, e.g. {sorted(missing)[:3]}")
    welsh = pd.DataFrame({"code": wales["code"], "name": wales["name"].str.replace(r" (BUASD|BUA)$", "", regex=True),
                          "country": "W"})
    links = _centroid_in_polygon(g, "lsoa21", "town", allpolys[["code", "geometry"]], fallback_nearest=True)
    # LSOA 2011 -> town. The 2011 centroids in the sources are plain (not population-weighted)
    # centroids, so an LSOA whose code survived into 2021 (same boundary) takes its 2021 twin's
    # town; only LSOAs split or merged in 2021 go by their own centroid.
    twins = links[links["child"].isin(set(g.area_frame("lsoa11")["code"]))]
    g.add_links("lsoa11", "town", twins, "centroid_in_polygon")
    changed = set(g.area_frame("lsoa11")["code"]) - set(g.area_frame("lsoa21")["code"])
    _centroid_in_polygon(g, "lsoa11", "town", allpolys[["code", "geometry"]], only=changed)
    # Welsh towns: population from their 2021 small areas (the towns table is England only).
    lsoa = g.area_frame("lsoa21").set_index("code")["population"]
    wpop = links.assign(p=links["child"].map(lsoa)).groupby("parent")["p"].sum()
    welsh["population"] = welsh["code"].map(wpop)
    welsh["population_year"] = 2021
    towns["country"] = "E"
    towns.loc[towns["code"].str.startswith("K"), "country"] = "K"
    g.add_areas("town", pd.concat([towns, welsh], ignore_index=True), pop_source=TOWNS)

    for scheme, col in (("ons_town_size", "size_flag"), ("income_deprivation", "income_flag"),
                        ("job_density", "job_density_flag"), ("coastal", "coastal"),
                        ("coastal_detailed", "coastal_detailed"), ("university", "university_flag"),
                        ("ttwa_class", "ttwa_classification"), ("region", "rgn11nm")):
        if col in t:
            g.add_classes("town", t.rename(columns={"town11cd": "code", col: "class"}), scheme, TOWNS)
    g.add_links("town", "ttwa11", t.rename(columns={"town11cd": "child", "ttwa11cd": "parent"}), "official_best_fit")


def _bua22_ttwa(g: Geography) -> None:
    bua = g.read("read_csv", GS + "bua22.csv").rename(columns={"areacd": "code", "areanm": "name"})
    bp = g.read("read_csv", BUA_POP, required=["Code", "Classification"])
    bp.columns = [c.strip() for c in bp.columns]
    bp = pd.DataFrame({"code": bp["Code"].str.strip(), "population": readers.to_number(bp["Population"]),
                       "class": bp["Classification"].str.strip()})
    bua = bua.merge(bp[["code", "population"]], on="code", how="left")
    bua["population_year"] = np.where(bua["population"].notna(), 2021, np.nan)
    g.add_areas("bua22", bua, pop_source=BUA_POP)
    g.add_classes("bua22", bp, "bua22_size", BUA_POP)

    tt = g.read("read_csv", GS + "ttwa11.csv").rename(columns={"areacd": "code", "areanm": "name"})
    lk = g.read("read_csv", TTWA_LSOA, required=["LSOA11CD", "TTWA11CD"])
    lsoa11 = g.area_frame("lsoa11").set_index("code")["population"]
    lk = lk[lk["LSOA11CD"].isin(lsoa11.index)]
    tt["population"] = tt["code"].map(lk.assign(p=lk["LSOA11CD"].map(lsoa11)).groupby("TTWA11CD")["p"].sum())
    tt["population_year"] = 2019
    g.add_areas("ttwa11", tt, pop_source=POP19)
    g.add_links("lsoa11", "ttwa11", lk.rename(columns={"LSOA11CD": "child", "TTWA11CD": "parent"}), "official_best_fit")


def _centroid_in_polygon(g: Geography, child_level: str, parent_level: str, polys, *,
                         fallback_nearest: bool = False, only: set[str] | None = None) -> pd.DataFrame:
    """Link child centroids to the polygon containing them (British National Grid for accuracy)."""
    import geopandas as gpd

    kids = g.area_frame(child_level).dropna(subset=["lat", "lon"])
    if only is not None:
        kids = kids[kids["code"].isin(only)]
    pts = gpd.GeoDataFrame(kids[["code"]], geometry=gpd.points_from_xy(kids["lon"], kids["lat"]), crs="EPSG:4326").to_crs(27700)
    polys = polys[["code", "geometry"]].to_crs(27700)
    hit = gpd.sjoin(pts, polys.rename(columns={"code": "parent"}), predicate="within", how="inner")
    hit = hit.drop_duplicates("code")  # a point on a shared edge goes to one parent only
    links = pd.DataFrame({"child": hit["code"].to_numpy(), "parent": hit["parent"].to_numpy()})
    g.add_links(child_level, parent_level, links, "centroid_in_polygon")
    if fallback_nearest and parent_level == "pcon24":
        # Generalised boundaries clip the coast: a centroid in the sea goes to the nearest seat.
        from scipy.spatial import cKDTree

        free = pts[~pts["code"].isin(links["child"])]
        if len(free):
            inside = pts.merge(links, left_on="code", right_on="child")
            tree = cKDTree(np.c_[inside.geometry.x, inside.geometry.y])
            _, idx = tree.query(np.c_[free.geometry.x, free.geometry.y])
            extra = pd.DataFrame({"child": free["code"].to_numpy(), "parent": inside["parent"].to_numpy()[idx]})
            g.add_links(child_level, parent_level, extra, "nearest_centroid")
            links = pd.concat([links, extra], ignore_index=True)
        return links
    if fallback_nearest:
        from scipy.spatial import cKDTree

        empty = polys[~polys["code"].isin(links["parent"])]
        if len(empty):
            free = pts[~pts["code"].isin(links["child"])]
            tree = cKDTree(np.c_[free.geometry.x, free.geometry.y])
            rp = empty.geometry.representative_point()
            _, idx = tree.query(np.c_[rp.x, rp.y])
            extra = pd.DataFrame({"child": free["code"].to_numpy()[idx], "parent": empty["code"].to_numpy()})
            extra = extra.drop_duplicates("child")
            g.add_links(child_level, parent_level, extra, "nearest_centroid")
            links = pd.concat([links, extra], ignore_index=True)
    return links


def _compose(g: Geography) -> None:
    """Compose links through councils, and fill centroids and populations from small areas."""
    lad_up = {p: g.link_frame(COUNCIL, p) for p in COUNCIL_PARENTS}
    for child in (*LSOA_LEVELS, MSOA21):
        base = g.link_frame(child, "lad")
        for parent, up in lad_up.items():
            m = base.merge(up, left_on="parent", right_on="child", suffixes=("", "_up"))
            g.add_links(child, parent, pd.DataFrame({"child": m["child"], "parent": m["parent_up"],
                                                     "weight": m["weight"] * m["weight_up"]}), "via_lad")
    # Towns and 2024 seats -> councils and regions: population overlap through their LSOA 2021s.
    lsoa = g.area_frame("lsoa21").set_index("code")
    for level in (TOWN, SEAT):
        base = g.link_frame("lsoa21", level)
        for parent in (COUNCIL, REGION):
            up = g.link_frame("lsoa21", parent)
            m = base.merge(up, on="child", suffixes=("", "_p"))
            m["pop"] = m["child"].map(lsoa["population"]) * m["weight"] * m["weight_p"]
            share = m.groupby(["parent", "parent_p"])["pop"].sum()
            share = share / share.groupby(level=0).transform("sum")
            share = share[share >= 0.005].reset_index()  # drop slivers under half a percent
            share["pop"] = share["pop"] / share.groupby("parent")["pop"].transform("sum")
            g.add_links(level, parent, share.rename(columns={"parent": "child", "parent_p": "parent", "pop": "weight"}),
                        "population_overlap")
    # Population-weighted centroids of the higher levels from their LSOA 2021 (or 2011) centroids.
    centroid_from = [(lv, SMALL_AREA_2021) for lv in (*COUNCIL_LEVELS, TOWN, SEAT)]
    for level, child in [*centroid_from, (SEAT_2010, SMALL_AREA_2011), (TTWA, SMALL_AREA_2011)]:
        kids = g.area_frame(child).set_index("code")
        lk = g.link_frame(child, level)
        w = lk["weight"].to_numpy() * lk["child"].map(kids["population"]).to_numpy()
        df = pd.DataFrame({"parent": lk["parent"], "w": w, "lat": lk["child"].map(kids["lat"]).to_numpy() * w,
                           "lon": lk["child"].map(kids["lon"]).to_numpy() * w}).dropna()
        agg = df.groupby("parent")[["w", "lat", "lon"]].sum()
        for frame in g.areas:
            if frame["level"].iloc[0] != level:
                continue
            idx = frame["code"].map(agg["w"])
            frame["lat"] = frame["lat"].fillna(frame["code"].map(agg["lat"]) / idx)
            frame["lon"] = frame["lon"].fillna(frame["code"].map(agg["lon"]) / idx)
            frame["centroid_method"] = np.where(frame["lat"].notna(), f"population_weighted_mean_of_{child}", None)
            if level == "cauth":
                frame["population"] = frame["code"].map(agg["w"])
                frame["population_year"] = 2021
                frame["population_source"] = CENSUS_POP
