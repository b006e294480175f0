"""Social infrastructure ledger: facilities, where they are, when they opened and closed.

The build step of the infrastructure wing. It reads every facility list in the
mirror into one long ``facility`` table (one row per facility: kind, name,
location and its precision, opening and closing dates, status, source), places
each located facility in the atlas's areas, and writes:

``facility``
    id, kind, name, subtype, country, lat, lon, precision, opened, closed_from,
    closed, status, source, and the areas it falls in (lsoa21, town, lad,
    pcon24, rgn) with the method of each (``*_method``).
``facility_area``
    the same links in long form: facility, level, area, method.
``facility_build``
    one row per source: rows read, placed by method, not placed and why.
``facility_access``
    straight-line distance (km) from every LSOA 2021 population-weighted
    centroid to the nearest open facility of each kind at each date.
``pub_counts``
    ONS public houses and bars per council 2001-2018, re-keyed on today's councils.

Dates. ``opened`` and ``closed`` are the dates known; a closure known only to a
year or an interval has ``closed_from`` (earliest) and ``closed`` (latest). A
facility is *open in year Y* when it opened on or before 31 December Y and had
not closed by then (``closed`` after 31 December Y, or no closure).

Placement (``*_method``). ``nearest_pwc``: the LSOA 2021 whose population-weighted
centroid is nearest (cKDTree on British National Grid). ``point_in_polygon``:
the point lies in the area's boundary (towns: ONS 2011 built-up areas; councils:
ONS 2022 LTLA boundaries re-keyed on today's councils; seats: July 2024 BUC).
``via_lsoa21``: a point outside the generalised boundaries (the coast) takes its
LSOA's council or seat. ``via_lad``: regions from the council. Facilities whose
location is a postcode-district centroid (``precision = 'postcode_district'``: GP
practices, Welsh libraries, libraries only in the 2023 list) are placed in
councils, seats and regions only, never in small areas or towns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from townhall.atlas import codes
from townhall.atlas.registry import reg_row, register, stage
from townhall.errors import InputError
from townhall.levels import COUNCIL, REGION, SEAT, SMALL_AREA_2021, TOWN, normalise_name
from townhall.sources import readers
from townhall.sources.catalogue import source_file

LIB_DIR = "indicators/social_infrastructure/libraries/"
LIB17 = LIB_DIR + "england_librarydata_2017/libraries.csv"
LIB17_AUTH = LIB_DIR + "england_librarydata_2017/authorities.csv"
LIB23 = LIB_DIR + "libraries_england_2023.csv"
LIB_WALES = LIB_DIR + "libraries_wales.csv"
GP = "indicators/social_infrastructure/health/epraccur.csv"
HOSPITALS = "indicators/social_infrastructure/health/Hospital.csv"
PUB_XLS = "indicators/social_infrastructure/pubs/publichousesandbarsbylocalauthority20012018.xls"
PUBS_OSM = "facilities_census/pubs_osm/pubnames.tsv"
AP_FAC = "facilities_census/activeplaces_2009/facilities.csv"
AP_SITES = "facilities_census/activeplaces_2009/site-coordinates.csv"
COURT13 = "facilities_census/courts/courtfinder_db_2013/"
COURTS14 = "facilities_census/courts/courtfinder_search_dumps/courts_2014-11-21.json"
COURTS17 = "facilities_census/courts/courtfinder_search_dumps/courts_2017-02-21.json"
DISTRICTS = "geography/postcode_districts_gibbs/postcodes.csv"
TOWN_POLYS = "geography/onsvisual_topojson_boundaries/geogtownscitiesGB.json"
TOWN_POLYS_EW = "geography/onsvisual_topojson_boundaries/geogtownandcitiesEW.json"
LAD_POLYS = "geography/onsvisual_topojson_boundaries/geogALL2022UK.json"
SEAT_POLYS = "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_July_2024_Boundaries_UK_BUC.geojson"

#: Court snapshot dates (the estate lists of July 2013, 21 Nov 2014 and 21 Feb 2017).
COURT_DATES = {"2013": "2013-07-01", "2014": "2014-11-21", "2017": "2017-02-21"}
#: A point with no boundary around it (the sea off a generalised coast) still counts if an
#: LSOA 2021 centroid lies within this distance; beyond it the point is not placed.
MAX_SNAP_KM = 20.0


@dataclass(frozen=True)
class Kind:
    """One kind of facility: its id stem, label, source(s) and the dates the data covers."""

    kind: str
    stem: str
    label: str
    plural: str
    years: tuple[int, ...]
    access_dates: tuple[int, ...]
    periods: tuple[tuple[int, int], ...] = ()
    small_area: bool = True
    snapshots: bool = False

    def period(self, a: int, b: int, sep: str = "-") -> str:
        """Label of the period (a, b]: years a+1 to b ('2010-2016'); for snapshots, the two dates ('2014-2017')."""
        return f"{a if self.snapshots else a + 1}{sep}{b}"


#: Every kind in the ledger. ``years``: years with a count (open on 31 December, or at the
#: snapshot for courts); ``access_dates``: years with distances; ``periods``: (a, b] closure windows.
KINDS: dict[str, Kind] = {k.kind: k for k in (
    Kind("library", "libraries", "library", "libraries", tuple(range(2009, 2025)), (2010, 2016, 2024),
         ((2009, 2016), (2016, 2024))),
    Kind("gp", "gp_practices", "GP practice", "GP practices", tuple(range(2012, 2023)), (2012, 2016, 2022),
         ((2012, 2016), (2016, 2022)), small_area=False),
    Kind("court", "courts", "court", "courts", (2013, 2014, 2017), (2013, 2014, 2017), ((2013, 2014), (2014, 2017)),
         snapshots=True),
    Kind("pool", "pools", "swimming pool", "swimming pools", (2009,), (2009,)),
    Kind("sports", "sports_sites", "sports site", "sports sites", (2009,), (2009,)),
    Kind("hospital", "hospitals", "hospital", "hospitals", (2020,), (2020,)),
    Kind("pub", "pubs", "pub", "pubs", (2022,), (2022,)),
)}

FAC_COLS = ["id", "kind", "name", "subtype", "country", "lat", "lon", "precision", "opened", "closed_from",
            "closed", "status", "source", "postcode", "note"]
LEVEL_COLS = (SMALL_AREA_2021, TOWN, COUNCIL, SEAT, REGION)


def check_kind(kind: str) -> Kind:
    """The :class:`Kind` for a kind name, or a clear error listing the kinds."""
    k = KINDS.get(kind)
    if k is None:
        alias = {v.stem: v for v in KINDS.values()}
        k = alias.get(kind)
    if k is None:
        raise InputError(f"Unknown facility kind {kind!r}.", hint="Kinds: " + ", ".join(KINDS) + ".")
    return k


# -- small pure helpers ------------------------------------------------------------------
def postcode_key(pc: pd.Series) -> pd.Series:
    """Postcodes folded for matching: upper case, no spaces."""
    return pc.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)


def outcode(pc: pd.Series) -> pd.Series:
    """The outward part of a postcode (its district): 'TS18 1HU' -> 'TS18'."""
    k = postcode_key(pc)
    return k.str[:-3].where(k.str.len() >= 5, "")


def year_of(s: pd.Series) -> pd.Series:
    """A four-digit year from text like '2013', '2013.0' or '1985c'; else NA."""
    y = s.astype("string").str.extract(r"((?:19|20)\d\d)")[0]
    return pd.to_numeric(y, errors="coerce").astype("Int64")


def year_end(y: pd.Series) -> pd.Series:
    return pd.to_datetime(y.astype("Int64").astype("string") + "-12-31", errors="coerce")


def year_start(y: pd.Series) -> pd.Series:
    return pd.to_datetime(y.astype("Int64").astype("string") + "-01-01", errors="coerce")


def open_at(fac: pd.DataFrame, when: pd.Timestamp | str) -> pd.Series:
    """Which facilities were open on a date (opened on or before it, not closed by it)."""
    t = pd.Timestamp(when)
    opened = pd.to_datetime(fac["opened"])
    closed = pd.to_datetime(fac["closed"])
    return (opened.isna() | (opened <= t)) & (closed.isna() | (closed > t))


def open_in_year(fac: pd.DataFrame, year: int) -> pd.Series:
    """Open on 31 December of ``year`` (courts: at the snapshot of that year)."""
    return open_at(fac, f"{year}-12-31")


def to_bng(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """WGS84 longitude/latitude -> British National Grid metres (n x 2)."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.c_[x, y]


def nearest_km(origins: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance (km) from each origin to its nearest target, on projected metres.

    Parameters
    ----------
    origins, targets : ndarray (n x 2), (m x 2)
        British National Grid coordinates in metres.

    Returns
    -------
    (km, index)
        Distance to the nearest target and that target's row; NaN and -1 when there is none.
    """
    from scipy.spatial import cKDTree

    if len(targets) == 0:
        return np.full(len(origins), np.nan), np.full(len(origins), -1)
    d, i = cKDTree(targets).query(origins, k=1)
    return d / 1000.0, i


# -- readers, one per source --------------------------------------------------------------
def _districts(cache_dir: Path | None) -> pd.DataFrame:
    pc = readers.read_csv(DISTRICTS, cache_dir, required=["postcode", "latitude", "longitude"])
    return pc.assign(postcode=pc["postcode"].str.upper().str.strip()).set_index("postcode")[["latitude", "longitude"]]


def _at_district(df: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    oc = outcode(df["postcode"])
    df = df.copy()
    df["lat"] = oc.map(districts["latitude"]).to_numpy()
    df["lon"] = oc.map(districts["longitude"]).to_numpy()
    df["precision"] = np.where(df["lat"].notna(), "postcode_district", None)
    df.loc[df["lat"].isna(), "note"] = np.where(oc[df["lat"].isna()] == "", "no postcode", "postcode district not in the district list")
    return df


def _frame(**cols: object) -> pd.DataFrame:
    df = pd.DataFrame(cols)
    for c in FAC_COLS:
        if c not in df:
            df[c] = None
    return df[FAC_COLS]


def libraries(cache_dir: Path | None, districts: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """English libraries: the geocoded 2017 list joined to the 2023 list; Welsh libraries.

    Returns the facility frame and match counts (for the build summary).
    """
    lib = readers.read_csv(LIB17, cache_dir, required=["name", "id", "postcode", "lat", "lng", "closed", "closed_year",
                                                       "opened_year", "statutory2010", "statutory2016", "type"])
    l23 = readers.read_csv(LIB23, cache_dir, required=["name", "authority", "postcode", "type", "closed", "opened"],
                           dtype=str)
    auth = readers.read_csv(LIB17_AUTH, cache_dir, required=["authority_id", "name", "code"])
    lib["authority"] = lib["authority_id"].map(auth.set_index("authority_id")["name"])
    lib["pk"], l23["pk"] = postcode_key(lib["postcode"]), postcode_key(l23["postcode"])
    lib["nk"] = lib["name"].fillna("").map(_lib_name)
    l23["nk"] = l23["name"].fillna("").map(_lib_name)
    lib["ak"] = lib["authority"].fillna("").map(normalise_name)
    l23["ak"] = l23["authority"].fillna("").map(normalise_name)
    l23["row"] = np.arange(len(l23))
    lib["row23"] = pd.Series(pd.NA, index=lib.index, dtype="Int64")
    counts = {}
    # Match in rounds, each one-to-one: name and postcode, then postcode alone where it is
    # unique on both sides, then name within the same authority.
    for rnd, keys in (("name_and_postcode", ["nk", "pk"]), ("postcode", ["pk"]), ("name_and_authority", ["nk", "ak"])):
        a = lib[lib["row23"].isna() & lib["pk"].ne("")]
        b = l23[~l23["row"].isin(lib["row23"].dropna()) & l23["pk"].ne("")]
        a = a[~a.duplicated(keys, keep=False)]
        b = b[~b.duplicated(keys, keep=False)]
        m = a.reset_index().merge(b[[*keys, "row"]], on=keys)
        lib.loc[m["index"].to_numpy(), "row23"] = m["row"].to_numpy()
        counts[f"matched_2023_{rnd}"] = len(m)
    matched = lib["row23"].notna()
    c23 = year_of(l23["closed"])
    y17 = lib["closed_year"].astype("Int64")
    temp = lib["closed"].eq("XLT")
    # The 2017 list's closure year stands; a library open there (or only temporarily closed)
    # takes the 2023 list's closure year, which runs to 2024.
    later = pd.Series(pd.NA, index=lib.index, dtype="Int64")
    later[matched] = c23.iloc[lib.loc[matched, "row23"].astype(int).to_numpy()].to_numpy()
    cy = y17.where(~temp, pd.NA).fillna(later)
    oy = lib["opened_year"].astype("Int64")
    status = np.where(cy.notna(), "closed", np.where(temp, "temporarily closed in 2017", "open"))
    eng = _frame(
        id="lib:" + lib["id"].astype(str), kind="library", name=lib["name"], subtype=lib["type"].fillna("unclassified"),
        country="E", lat=lib["lat"], lon=lib["lng"], precision="postcode_or_address", opened=year_start(oy),
        closed_from=year_start(cy), closed=year_end(cy), status=status, source=LIB17, postcode=lib["postcode"],
        note=("statutory 2010: " + lib["statutory2010"].map({"t": "yes", "f": "no"}).fillna("?")
              + ", 2016: " + lib["statutory2016"].map({"t": "yes", "f": "no"}).fillna("?") + "; "
              + np.where(matched, "in the 2023 list", "not found in the 2023 list")),
    )
    # Libraries in the 2023 list only: static service points opened after the 2017 list, or
    # missed by it. No coordinates there: their postcode district centroid stands in.
    rest = l23[~l23["row"].isin(lib["row23"].dropna())].copy()
    static = rest["type"].fillna("").str.lower().str.contains("static") & ~rest["type"].fillna("").str.lower().str.contains("archive")
    counts["only_in_2023_list"] = len(rest)
    counts["only_in_2023_list_static"] = int(static.sum())
    rest = rest[static]
    rc, ro = year_of(rest["closed"]), year_of(rest["opened"])
    extra = _frame(
        id="lib23:" + rest["row"].astype(str), kind="library", name=rest["name"], subtype=rest["type"],
        country="E", opened=year_start(ro), closed_from=year_start(rc), closed=year_end(rc),
        status=np.where(rc.notna(), "closed", "open"), source=LIB23, postcode=rest["postcode"],
        note="only in the 2023 list",
    )
    extra = _at_district(extra, districts)
    w = readers.read_csv(LIB_WALES, cache_dir, required=["Library name", "Postcode", "Year opened", "Year closed"])
    wc, wo = year_of(w["Year closed"]), year_of(w["Year opened"])
    wales = _frame(
        id="libw:" + pd.Series(np.arange(len(w))).astype(str), kind="library", name=w["Library name"],
        subtype=w.get("Type of library"), country="W", opened=year_start(wo), closed_from=year_start(wc),
        closed=year_end(wc), status=np.where(wc.notna(), "closed", "open"), source=LIB_WALES, postcode=w["Postcode"],
        note="Wales: closure years given for very few libraries",
    )
    wales = _at_district(wales, districts)
    return pd.concat([eng, extra, wales], ignore_index=True), counts


def _lib_name(name: str) -> str:
    s = normalise_name(name)
    s = re.sub(r"\b(library|libraries|community|centre|center|hub|and|the|learning|branch|information)\b", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def gp_practices(cache_dir: Path | None, districts: pd.DataFrame) -> pd.DataFrame:
    """GP practices (prescribing setting 4) from the NHS ODS file, at postcode-district centroids."""
    g = readers.read_csv(GP, cache_dir, header=None, dtype=str)
    if g.shape[1] < 26:
        raise InputError(f"{GP} has {g.shape[1]} columns; expected 27 (ODS epraccur layout).", file=GP)
    g = g[g[25] == "4"]
    opened = pd.to_datetime(g[10], format="%Y%m%d", errors="coerce")
    # 1 April 1974 is when the NHS records begin, not an opening: such practices are open since at least then.
    opened = opened.where(opened != pd.Timestamp("1974-04-01"))
    closed = pd.to_datetime(g[11], format="%Y%m%d", errors="coerce")
    status = g[12].map({"A": "open", "C": "closed", "D": "dormant", "P": "proposed"}).fillna(g[12])
    df = _frame(
        id="gp:" + g[0], kind="gp", name=g[1].str.title(), subtype=g[13], country=np.where(g[2].str.startswith("W"), "W", "E"),
        opened=opened, closed_from=closed, closed=closed, status=status, source=GP, postcode=g[9],
    )
    # A dormant practice with no close date is not seeing patients: count it closed from the
    # file's date (Feb 2023), after every year the counts cover.
    return _at_district(df, districts)


def courts(cache_dir: Path | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Courts from three estate snapshots; a court absent from a later snapshot closed in between."""
    c13 = readers.read_csv(COURT13 + "court.csv", cache_dir, required=["court_id", "court_name", "court_code", "court_addr_id"])
    a13 = readers.read_csv(COURT13 + "court_address.csv", cache_dir,
                           required=["court_addr_id", "court_addr_pcode", "court_latitude", "court_longitude"])
    s13 = c13.merge(a13, on="court_addr_id", how="left")
    s13 = pd.DataFrame({"name": s13["court_name"], "number": pd.to_numeric(s13["court_code"], errors="coerce"),
                        "postcode": s13["court_addr_pcode"], "lat": s13["court_latitude"], "lon": s13["court_longitude"],
                        "slug": None, "closed_note": False})
    snaps = {"2013": s13, "2014": _court_json(COURTS14, cache_dir), "2017": _court_json(COURTS17, cache_dir)}
    counts: dict[str, int] = {}
    for y, s in snaps.items():
        # Courts only: the 2014 list also holds tribunals and offices that the others lack.
        keep = s["name"].fillna("").str.contains("Court", case=False) & ~s["name"].fillna("").str.contains("Tribunal", case=False)
        counts[f"court_list_{y}_not_courts"] = int((~keep).sum())
        s = s[keep].reset_index(drop=True)
        s["nk"] = s["name"].fillna("").map(_court_name)
        s["pk"] = postcode_key(s["postcode"])
        s["key"] = [f"{y}:{i}" for i in range(len(s))]
        snaps[y] = s
    # Every pair of snapshots is matched in rounds (slug, court number with name, name, postcode
    # with number), one-to-one; matches are then joined across the three lists (union-find).
    parent: dict[str, str] = {k: k for s in snaps.values() for k in s["key"]}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for early, late in (("2014", "2017"), ("2013", "2014"), ("2013", "2017")):
        e, lt = snaps[early], snaps[late]
        done_e: set[str] = set()
        done_l: set[str] = set()
        for rnd, keys in (("slug", ["slug"]), ("number_and_name", ["number", "nk"]), ("name", ["nk"]),
                          ("postcode_and_number", ["pk", "number"]), ("postcode_and_name", ["pk", "nk"])):
            if any(e[k].isna().all() or lt[k].isna().all() for k in keys):
                continue
            a = e[~e["key"].isin(done_e)].dropna(subset=keys)
            b = lt[~lt["key"].isin(done_l)].dropna(subset=keys)
            a = a[~a.duplicated(keys, keep=False) & a[keys].astype(str).ne("").all(axis=1)]
            b = b[~b.duplicated(keys, keep=False)]
            m = a[[*keys, "key"]].merge(b[[*keys, "key"]], on=keys, suffixes=("", "_l"))
            for k1, k2 in zip(m["key"], m["key_l"], strict=True):
                parent[root(k1)] = root(k2)
            done_e |= set(m["key"])
            done_l |= set(m["key_l"])
            counts[f"matched_{early}_{late}_{rnd}"] = len(m)
    ids = {y: s["key"].map(lambda k: "court:" + root(k).replace(":", "_")) for y, s in snaps.items()}
    long = pd.concat([snaps[y].assign(id=ids[y].to_numpy(), snap=y) for y in ("2013", "2014", "2017")], ignore_index=True)
    seen = long.pivot_table(index="id", columns="snap", values="name", aggfunc="size", fill_value=0).gt(0)
    seen = seen.reindex(columns=["2013", "2014", "2017"], fill_value=False)
    # 2017 entries whose text says the court has closed count as absent in 2017.
    closed17 = set(long.loc[(long["snap"] == "2017") & long["closed_note"], "id"])
    seen.loc[seen.index.isin(closed17), "2017"] = False
    # The newest snapshot's details describe the court best.
    info = long.sort_values("snap").drop_duplicates("id", keep="last").set_index("id")
    pos = long.dropna(subset=["lat"]).sort_values("snap").drop_duplicates("id", keep="last").set_index("id")
    dates = {y: pd.Timestamp(d) for y, d in COURT_DATES.items()}
    rows = []
    for cid, r in seen.iterrows():
        present = [y for y in ("2013", "2014", "2017") if r[y]]
        first, last = (present[0], present[-1]) if present else ("2017", "2017")
        gap = present and present != [y for y in ("2013", "2014", "2017") if first <= y <= last]
        after = {"2013": "2014", "2014": "2017"}.get(last)
        before = {"2014": "2013", "2017": "2014"}.get(first)
        rows.append({
            "id": cid, "opened": dates[first] if before else pd.NaT,
            "opened_note": f"first listed {COURT_DATES[first]}" if before else "",
            "closed_from": dates[last] + pd.Timedelta(days=1) if after else pd.NaT,
            "closed": dates[after] if after else pd.NaT,
            "status": "closed" if after else "open",
            "note": ("absent from one snapshot between two others (kept open: likely a matching gap)" if gap else
                     (f"listed {COURT_DATES[last]}, gone by {COURT_DATES[after]}" if after else "")),
        })
    st = pd.DataFrame(rows).set_index("id")
    counts["courts_2013"], counts["courts_2014"], counts["courts_2017"] = (int(seen[y].sum()) for y in ("2013", "2014", "2017"))
    counts["closed_2017_by_note"] = len(closed17)
    df = _frame(
        id=st.index, kind="court", name=info.loc[st.index, "name"].to_numpy(), subtype=info.loc[st.index, "name"].map(_court_type).to_numpy(),
        lat=pos["lat"].reindex(st.index).to_numpy(), lon=pos["lon"].reindex(st.index).to_numpy(),
        precision="address", opened=st["opened"].to_numpy(), closed_from=st["closed_from"].to_numpy(),
        closed=st["closed"].to_numpy(), status=st["status"].to_numpy(), source=COURTS17,
        postcode=info.loc[st.index, "postcode"].to_numpy(), note=(st["note"] + "; " + st["opened_note"]).str.strip("; ").to_numpy(),
    )
    df["lat"], df["lon"] = pd.to_numeric(df["lat"], errors="coerce"), pd.to_numeric(df["lon"], errors="coerce")
    return df, counts


def _court_json(path: str, cache_dir: Path | None) -> pd.DataFrame:
    p = source_file(path, cache_dir)
    try:
        data = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read {path}: {exc}", file=path) from None
    rows = []
    for c in data:
        if not c.get("display", True):
            continue
        addr = c.get("addresses") or []
        visit = [a for a in addr if (a.get("type") or "").lower() == "visiting"] or addr
        num = c.get("court_number")
        rows.append({
            "name": c.get("name"), "slug": c.get("slug"), "number": num if num else np.nan,
            "postcode": visit[0].get("postcode") if visit else None,
            "lat": pd.to_numeric(c.get("lat") or np.nan, errors="coerce"), "lon": pd.to_numeric(c.get("lon") or np.nan, errors="coerce"),
            "closed_note": "has closed" in (c.get("info") or "").lower() or "now closed" in (c.get("info") or "").lower(),
        })
    return pd.DataFrame(rows)


def _court_name(name: str) -> str:
    s = normalise_name(name)
    s = re.sub(r"\b(and family court|the|court|courts|s|centre|hearing)\b", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _court_type(name: str) -> str:
    n = (name or "").lower()
    for key, label in (("magistrates", "magistrates"), ("crown", "crown"), ("county", "county"), ("combined", "combined"),
                       ("family", "family"), ("tribunal", "tribunal"), ("probate", "probate")):
        if key in n:
            return label
    return "other"


def active_places(cache_dir: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Swimming-pool sites and all sports sites, Active Places March 2009."""
    f = readers.read_csv(AP_FAC, cache_dir, header=None, names=["facility", "site", "type", "subtype", "public"])
    s = readers.read_csv(AP_SITES, cache_dir, header=None, names=["site", "lat", "lon"]).drop_duplicates("site")
    when = pd.Timestamp("2009-03-31")
    note = "Active Places March 2009; present then, no later list in the mirror"
    out = []
    for kind, sel in (("pool", f["type"] == 7), ("sports", f["type"].notna())):
        sites = f[sel].groupby("site").agg(public=("public", lambda v: bool(np.any(v.astype(str).str.lower() == "true"))),
                                           n=("facility", "size")).reset_index()
        sites = sites.merge(s, on="site", how="left")
        out.append(_frame(
            id=f"{kind}:" + sites["site"].astype(str), kind=kind,
            name=("Swimming pool site " if kind == "pool" else "Sports site ") + sites["site"].astype(str),
            subtype=np.where(sites["public"], "public", "private"), country=None, lat=sites["lat"], lon=sites["lon"],
            precision="postcode", opened=pd.NaT, closed_from=pd.NaT, closed=pd.NaT, status="open in 2009",
            source=AP_FAC, note=note + f"; {when.date()}",
        ))
    return out[0], out[1]


def hospitals(cache_dir: Path | None) -> pd.DataFrame:
    """NHS and independent hospitals listed on NHS.uk, c. January 2020."""
    h = readers.read_csv(HOSPITALS, cache_dir, sep="~", encoding="cp1252",
                         required=["OrganisationCode", "OrganisationName", "Sector", "Postcode", "Latitude", "Longitude"])
    return _frame(
        id="hosp:" + h["OrganisationCode"].astype(str) + ":" + pd.Series(np.arange(len(h))).astype(str),
        kind="hospital", name=h["OrganisationName"], subtype=h["Sector"].str.replace(" Sector", "", regex=False),
        country="E", lat=h["Latitude"], lon=h["Longitude"], precision="address", status="open in 2020",
        source=HOSPITALS, postcode=h["Postcode"], note="NHS.uk list c. January 2020; no A&E flag, no dates",
    )


def pubs_osm(cache_dir: Path | None) -> pd.DataFrame:
    """OpenStreetMap pubs, 28 January 2022 (nodes only have coordinates)."""
    p = readers.read_csv(PUBS_OSM, cache_dir, sep="\t", header=None, quoting=3, encoding="utf-8",
                         names=["name", "normalized", "osm_id", "lat", "lon"], dtype={"osm_id": str})
    df = _frame(
        id="pub:" + p["osm_id"].astype(str) + ":" + pd.Series(np.arange(len(p))).astype(str), kind="pub", name=p["name"],
        lat=pd.to_numeric(p["lat"], errors="coerce"), lon=pd.to_numeric(p["lon"], errors="coerce"),
        precision="osm_node", status="open in 2022", source=PUBS_OSM,
    )
    df.loc[df["lat"].isna(), "note"] = "no coordinates in the source (an OSM way or relation)"
    df.loc[df["lat"].isna(), "precision"] = None
    return df


def pub_counts(cache_dir: Path | None, succ: dict[str, str]) -> pd.DataFrame:
    """ONS public houses and bars (any size band) per council 2001-2018, on today's councils.

    Returns
    -------
    DataFrame
        code (current council), year, pubs, predecessors. Counts are the publisher's,
        rounded to the nearest 5; a merged council sums its predecessors.
    """
    raw = readers.read_excel(PUB_XLS, cache_dir, sheet_name="Pubs size LA", header=2)
    raw.columns = [str(c).strip().replace(".0", "") for c in raw.columns]
    need = ["Area code", "Number of employees in public house or bar", "2001", "2018"]
    miss = [c for c in need if c not in raw.columns]
    if miss:
        raise InputError(f"{PUB_XLS} sheet 'Pubs size LA' lacks column(s) {miss}.", file=PUB_XLS, column=miss[0])
    band = raw["Number of employees in public house or bar"].astype(str).str.strip()
    rows = raw[band.eq("Any number of employees") & raw["Area code"].astype(str).str.match(r"^[EW]0[6-9]\d{6}$")]
    years = [str(y) for y in range(2001, 2019)]
    wide = rows[["Area code", *years]].rename(columns={"Area code": "code"})
    for y in years:
        wide[y] = readers.to_number(wide[y])
    cur = codes.to_current(wide, "code", succ, sums=years)
    long = cur.melt(id_vars=["code", "predecessors"], value_vars=years, var_name="year", value_name="pubs")
    long["year"] = long["year"].astype(int)
    return long[["code", "year", "pubs", "predecessors"]].sort_values(["code", "year"]).reset_index(drop=True)


# -- placement --------------------------------------------------------------------------
def _read_layer(path: str, cache_dir: Path | None, layer: str | None = None):
    import geopandas as gpd

    p = source_file(path, cache_dir)
    try:
        gdf = gpd.read_file(p, layer=layer) if layer else gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types for a bad file or layer
        raise InputError(f"Cannot read boundaries from {path}{' layer ' + layer if layer else ''}: {exc}", file=path) from None
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf.to_crs(27700)


def _pip(xy: np.ndarray, polys, code_col: str) -> np.ndarray:
    """Code of the polygon containing each point (None outside all)."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame({"i": np.arange(len(xy))}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    hit = gpd.sjoin(pts, polys[[code_col, "geometry"]], predicate="within", how="inner").drop_duplicates("i")
    out = np.full(len(xy), None, dtype=object)
    out[hit["i"].to_numpy()] = hit[code_col].to_numpy()
    return out


@dataclass
class Boundaries:
    """What facilities are placed against: LSOA 2021 centroids and links, and polygons."""

    lsoa: pd.DataFrame          # code, x, y, lad, pcon24, rgn
    towns: object | None = None  # GeoDataFrame code, geometry (BNG)
    lads: object | None = None
    seats: object | None = None
    lad_rgn: dict[str, str] | None = None


def place(fac: pd.DataFrame, b: Boundaries) -> pd.DataFrame:
    """Place facilities in areas; add ``x``, ``y``, area columns and their methods, and ``unplaced``.

    Small areas by nearest LSOA 2021 population-weighted centroid; towns, councils and seats by
    point in polygon where the boundaries are given, else through the LSOA; regions through the
    council. Rows without coordinates, or farther than :data:`MAX_SNAP_KM` from every LSOA
    centroid and in no English or Welsh boundary, or in a Scottish or Northern Irish seat, are
    not placed and say why in ``unplaced``.
    """
    out = fac.copy()
    for lv in LEVEL_COLS:
        out[lv] = None
        out[lv + "_method"] = None
    out["x"], out["y"] = np.nan, np.nan
    out["unplaced"] = None
    has = out["lat"].notna() & out["lon"].notna()
    coarse_fail = out["note"].fillna("").str.startswith(("no postcode", "postcode district"))
    out.loc[~has, "unplaced"] = np.where(coarse_fail[~has], out.loc[~has, "note"], "no coordinates in the source")
    idx = out.index[has]
    if len(idx) == 0:
        return out
    xy = to_bng(out.loc[idx, "lon"].to_numpy(), out.loc[idx, "lat"].to_numpy())
    out.loc[idx, "x"], out.loc[idx, "y"] = xy[:, 0], xy[:, 1]
    km, near = nearest_km(xy, b.lsoa[["x", "y"]].to_numpy())
    lsoa = b.lsoa.iloc[near]
    seat = _pip(xy, b.seats, "code") if b.seats is not None else np.full(len(xy), None, dtype=object)
    outside = np.array([isinstance(s, str) and s[0] in "SN" for s in seat])
    far = (km > MAX_SNAP_KM) & np.array([s is None for s in seat])
    bad = outside | far
    out.loc[idx[outside], "unplaced"] = "outside England and Wales (in a Scottish or Northern Irish seat)"
    out.loc[idx[far & ~outside], "unplaced"] = f"more than {MAX_SNAP_KM:g} km from any LSOA 2021 centroid and in no seat"
    ok = ~bad
    fine = ok & out.loc[idx, "precision"].ne("postcode_district").to_numpy()
    ii = idx[fine]
    out.loc[ii, SMALL_AREA_2021] = lsoa["code"].to_numpy()[fine]
    out.loc[ii, SMALL_AREA_2021 + "_method"] = "nearest_pwc"
    if b.towns is not None:
        town = _pip(xy, b.towns, "code")
        t = fine & np.array([c is not None for c in town])
        out.loc[idx[t], TOWN] = town[t]
        out.loc[idx[t], TOWN + "_method"] = "point_in_polygon"
    for lv, poly in ((COUNCIL, b.lads), (SEAT, None)):
        got = _pip(xy, poly, "code") if poly is not None else seat
        inside = ok & np.array([isinstance(c, str) and c[0] in "EW" for c in got])
        out.loc[idx[inside], lv] = got[inside]
        out.loc[idx[inside], lv + "_method"] = "point_in_polygon"
        rest = ok & ~inside
        out.loc[idx[rest], lv] = lsoa[lv].to_numpy()[rest]
        out.loc[idx[rest], lv + "_method"] = "via_lsoa21"
    if b.lad_rgn is not None:
        placed = out[COUNCIL].notna()
        out.loc[placed, REGION] = out.loc[placed, COUNCIL].map(b.lad_rgn)
        out.loc[placed & out[REGION].notna(), REGION + "_method"] = "via_lad"
    out["country"] = out["country"].where(out["country"].notna(), out[COUNCIL].str[:1])
    return out


def _boundaries(con: duckdb.DuckDBPyConnection, cache_dir: Path | None, succ: dict[str, str]) -> Boundaries:
    lsoa = con.execute(f"""
        SELECT a.code, a.lon, a.lat,
               arg_max(l.parent, l.weight) FILTER (WHERE l.parent_level = '{COUNCIL}') AS lad,
               arg_max(l.parent, l.weight) FILTER (WHERE l.parent_level = '{SEAT}') AS pcon24
        FROM area a JOIN area_link l ON l.child = a.code AND l.child_level = a.level
        WHERE a.level = '{SMALL_AREA_2021}' AND a.lat IS NOT NULL
        GROUP BY a.code, a.lon, a.lat ORDER BY a.code""").df()
    xy = to_bng(lsoa["lon"].to_numpy(), lsoa["lat"].to_numpy())
    lsoa["x"], lsoa["y"] = xy[:, 0], xy[:, 1]
    towns_gb = _read_layer(TOWN_POLYS, cache_dir).rename(columns={"AREACD": "code"})
    towns_ew = _read_layer(TOWN_POLYS_EW, cache_dir).rename(columns={"AREACD": "code"})
    known = {r[0] for r in con.execute(f"SELECT code FROM area WHERE level = '{TOWN}'").fetchall()}
    towns = pd.concat([towns_gb[towns_gb["code"].isin(known)], towns_ew[towns_ew["code"].str.startswith("W") & towns_ew["code"].isin(known)]],
                      ignore_index=True)
    lads = _read_layer(LAD_POLYS, cache_dir, layer="LTLA").rename(columns={"AREACD": "code"})
    lads["code"] = lads["code"].map(lambda c: succ.get(c, c))
    seats = _read_layer(SEAT_POLYS, cache_dir).rename(columns={"PCON24CD": "code"})
    lad_rgn = dict(con.execute(f"SELECT child, parent FROM area_link WHERE child_level = '{COUNCIL}' AND parent_level = '{REGION}'").fetchall())
    return Boundaries(lsoa=lsoa, towns=towns, lads=lads, seats=seats, lad_rgn=lad_rgn)


def build_summary(placed: pd.DataFrame) -> pd.DataFrame:
    """Per source and kind: rows, placed by method, placed only coarsely, not placed and why."""
    rows = []
    for (src, kind), g in placed.groupby(["source", "kind"], sort=True):
        pl = g[g["unplaced"].isna()]
        why = g["unplaced"].dropna().value_counts()
        rows.append({
            "source": src, "kind": kind, "rows": len(g), "placed": len(pl),
            "placed_small_area": int(pl[SMALL_AREA_2021].notna().sum()),
            "placed_council_only": int(pl[SMALL_AREA_2021].isna().sum()),
            "in_town": int(pl[TOWN].notna().sum()),
            "council_point_in_polygon": int((pl[COUNCIL + "_method"] == "point_in_polygon").sum()),
            "council_via_lsoa21": int((pl[COUNCIL + "_method"] == "via_lsoa21").sum()),
            "seat_point_in_polygon": int((pl[SEAT + "_method"] == "point_in_polygon").sum()),
            "seat_via_lsoa21": int((pl[SEAT + "_method"] == "via_lsoa21").sum()),
            "not_placed": int(len(g) - len(pl)),
            "why_not_placed": "; ".join(f"{n:,} {w}" for w, n in why.items()),
        })
    return pd.DataFrame(rows)


# -- access --------------------------------------------------------------------------------
def access_table(lsoa: pd.DataFrame, fac: pd.DataFrame, kinds: Iterable[Kind] | None = None) -> pd.DataFrame:
    """Distance from every LSOA centroid to the nearest open facility of each kind and date.

    Parameters
    ----------
    lsoa : DataFrame
        code, x, y (British National Grid metres).
    fac : DataFrame
        Placed facilities: id, kind, x, y, opened, closed (unplaced rows are skipped).
    kinds : iterable of Kind, optional
        Default every kind in :data:`KINDS`.

    Returns
    -------
    DataFrame
        lsoa21, kind, year, scenario ('open': facilities open that year; 'closures_only':
        facilities open at the kind's first date less those closed since, so openings do
        not offset closures), km, nearest (facility id).
    """
    origins = lsoa[["x", "y"]].to_numpy()
    out = []
    ok = fac[fac["x"].notna()]
    for k in kinds or KINDS.values():
        f = ok[ok["kind"] == k.kind]
        if f.empty:
            continue
        first = open_in_year(f, k.access_dates[0])
        for year in k.access_dates:
            scenarios = [("open", open_in_year(f, year))]
            if year != k.access_dates[0] and k.periods:
                scenarios.append(("closures_only", first & ~_closed_by(f, year)))
            for scen, sel in scenarios:
                g = f[sel.to_numpy()]
                km, i = nearest_km(origins, g[["x", "y"]].to_numpy())
                out.append(pd.DataFrame({"lsoa21": lsoa["code"].to_numpy(), "kind": k.kind, "year": year, "scenario": scen,
                                         "km": km, "nearest": g["id"].to_numpy()[i] if len(g) else None}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["lsoa21", "kind", "year", "scenario", "km", "nearest"])


def _closed_by(fac: pd.DataFrame, year: int) -> pd.Series:
    closed = pd.to_datetime(fac["closed"])
    return closed.notna() & (closed <= pd.Timestamp(f"{year}-12-31"))


# -- build step -----------------------------------------------------------------------------
SOURCES = (LIB17, LIB17_AUTH, LIB23, LIB_WALES, GP, HOSPITALS, PUB_XLS, PUBS_OSM, AP_FAC, AP_SITES,
           COURT13 + "court.csv", COURT13 + "court_address.csv", COURTS14, COURTS17, DISTRICTS,
           TOWN_POLYS, TOWN_POLYS_EW, LAD_POLYS, SEAT_POLYS, codes.LA_ALL, codes.CHANGES)


def read_all(cache_dir: Path | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every facility list as one frame (unplaced), with matching counts for the summary."""
    districts = _districts(cache_dir)
    lib, lib_counts = libraries(cache_dir, districts)
    court, court_counts = courts(cache_dir)
    pool, sports = active_places(cache_dir)
    frames = [lib, gp_practices(cache_dir, districts), court, pool, sports, hospitals(cache_dir), pubs_osm(cache_dir)]
    fac = pd.concat(frames, ignore_index=True)
    for c in ("opened", "closed_from", "closed"):
        fac[c] = pd.to_datetime(fac[c])
    return fac, {**lib_counts, **court_counts}


def add_to_atlas(con: duckdb.DuckDBPyConnection, cache_dir: Path | None, step: Callable[[str], None]) -> set[str]:
    """Build step: facility tables, placement, access distances and infrastructure indicators."""
    step("facilities: libraries, GP practices, courts, sports, hospitals, pubs")
    succ = codes.successors(cache_dir)
    fac, counts = read_all(cache_dir)
    step("facilities: placing points in small areas, towns, councils and seats")
    b = _boundaries(con, cache_dir, succ)
    placed = place(fac, b)
    summary = build_summary(placed)
    step("facilities: distance to the nearest facility from every LSOA 2021")
    acc = access_table(b.lsoa, placed)
    pubs = pub_counts(cache_dir, succ)
    _write_tables(con, placed, summary, acc, pubs, counts)
    step("facilities: indicators")
    _indicators(con, placed, acc, pubs)
    return set(SOURCES)


def _write_tables(con, placed, summary, acc, pubs, counts) -> None:
    fac = placed.drop(columns=["unplaced"]).assign(placed=placed["unplaced"].isna(), why_not_placed=placed["unplaced"])
    cols = [*FAC_COLS, "x", "y", *[c for lv in LEVEL_COLS for c in (lv, lv + "_method")], "placed", "why_not_placed"]
    fac = fac[cols].sort_values("id", kind="stable")
    for c in ("opened", "closed_from", "closed"):
        fac[c] = pd.to_datetime(fac[c]).dt.date
    area = fac.melt(id_vars=["id"], value_vars=list(LEVEL_COLS), var_name="level", value_name="area").dropna(subset=["area"])
    meth = fac.melt(id_vars=["id"], value_vars=[lv + "_method" for lv in LEVEL_COLS], var_name="level", value_name="method")
    meth["level"] = meth["level"].str.removesuffix("_method")
    area = area.merge(meth, on=["id", "level"]).rename(columns={"id": "facility"}).sort_values(["facility", "level"])
    notes = pd.DataFrame({"key": list(counts), "value": list(counts.values())})
    for name, df in (("facility", fac), ("facility_area", area), ("facility_build", summary), ("facility_access", acc),
                     ("pub_counts", pubs), ("facility_match", notes)):
        con.register("_fac_df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _fac_df")
        con.unregister("_fac_df")


def _indicators(con, placed: pd.DataFrame, acc: pd.DataFrame, pubs: pd.DataFrame) -> None:
    ok = placed[placed["unplaced"].isna()]
    lsoa_pop = con.execute(f"SELECT code, population FROM area WHERE level = '{SMALL_AREA_2021}'").df().set_index("code")["population"]
    all_lsoa = lsoa_pop.index.to_numpy()
    reg, obs = [], []

    def add(id_, name, unit, polarity, level, agg, source, desc, frame):
        reg.append(reg_row(id=id_, name=name, topic="infrastructure", unit=unit, polarity=polarity, level=level, agg=agg,
                           source=source, description=desc))
        obs.append(frame.assign(indicator=id_, lower=np.nan, upper=np.nan))

    pop_by = {lv: _census_pop(con, lv) for lv in (TOWN, COUNCIL, SEAT, REGION)}
    for k in KINDS.values():
        f = ok[ok["kind"] == k.kind]
        src = f["source"].mode().iat[0] if len(f) else None
        base = COUNCIL if not k.small_area else SMALL_AREA_2021
        counts, per10 = [], []
        for y in k.years:
            sel = f[open_in_year(f, y).to_numpy()]
            if base == SMALL_AREA_2021:
                n = sel[SMALL_AREA_2021].value_counts().reindex(all_lsoa, fill_value=0)
            else:
                n = sel[COUNCIL].value_counts().reindex(pop_by[COUNCIL].index, fill_value=0)
            counts.append(pd.DataFrame({"level": base, "area": n.index, "period": str(y), "value": n.to_numpy().astype(float)}))
            for lv in (TOWN, COUNCIL, SEAT, REGION):
                if lv == TOWN and not k.small_area:
                    continue
                c = sel[lv].value_counts().reindex(pop_by[lv].index, fill_value=0)
                per10.append(pd.DataFrame({"level": lv, "area": c.index, "period": str(y),
                                           "value": (10_000 * c / pop_by[lv]).to_numpy()}))
        add(f"{k.stem}_open", f"{k.plural.capitalize()} open", "count", 1, base, "sum", src,
            f"{k.plural.capitalize()} open on 31 December of the year (courts: at that year's estate snapshot); "
            + ("placed by nearest LSOA 2021 population-weighted centroid." if k.small_area else
               "GP practices are located by postcode district only, so counted by council."), pd.concat(counts))
        add(f"{k.stem}_per_10k", f"{k.plural.capitalize()} per 10,000 residents", "per 10,000", 1, COUNCIL, "none", src,
            f"{k.plural.capitalize()} open in the year per 10,000 usual residents (Census 2021, summed from LSOA 2021); "
            "computed exactly for towns, councils, seats and regions from each facility's own placement.", pd.concat(per10))
        for a, bb in k.periods:
            cl = f[_closed_between(f, a, bb)]
            op = f[_opened_between(f, a, bb)]
            for what, sel, pol in (("closed", cl, -1), ("opened", op, 1)):
                if base == SMALL_AREA_2021:
                    n = sel[SMALL_AREA_2021].value_counts().reindex(all_lsoa, fill_value=0)
                else:
                    n = sel[COUNCIL].value_counts().reindex(pop_by[COUNCIL].index, fill_value=0)
                add(f"{k.stem}_{what}_{k.period(a, bb, '_')}", f"{k.plural.capitalize()} {what} {k.period(a, bb)}", "count", pol, base, "sum", src,
                    f"{k.plural.capitalize()} {what} after 31 Dec {a} and by 31 Dec {bb} (courts: between snapshots).",
                    pd.DataFrame({"level": base, "area": n.index, "period": k.period(a, bb), "value": n.to_numpy().astype(float)}))
        a_k = acc[(acc["kind"] == k.kind) & (acc["scenario"] == "open")]
        if len(a_k):
            add(f"{k.stem}_km", f"Distance to the nearest {k.label} (km)", "km", -1, SMALL_AREA_2021, "mean", src,
                f"Straight-line distance from the LSOA 2021 population-weighted centroid to the nearest open {k.label} "
                "(British National Grid); rolls up as a population-weighted mean.",
                pd.DataFrame({"level": SMALL_AREA_2021, "area": a_k["lsoa21"], "period": a_k["year"].astype(str), "value": a_k["km"]}))
            add(f"{k.stem}_beyond_5km", f"Share of residents more than 5 km from a {k.label}", "share", -1, SMALL_AREA_2021, "mean", src,
                f"1 if the LSOA 2021 centroid is more than 5 km in a straight line from the nearest open {k.label}, else 0; "
                "rolls up as the population share beyond 5 km.",
                pd.DataFrame({"level": SMALL_AREA_2021, "area": a_k["lsoa21"], "period": a_k["year"].astype(str),
                              "value": (a_k["km"] > 5).astype(float)}))
    pubs_ok = pubs.dropna(subset=["pubs"])
    add("pubs_ons_count", "Public houses and bars (ONS, rounded to 5)", "count", 1, COUNCIL, "sum", PUB_XLS,
        "ONS Inter-Departmental Business Register: public house and bar workplaces (SIC 56.30), any size, "
        "rounded to the nearest 5; today's councils (merged councils summed).",
        pd.DataFrame({"level": COUNCIL, "area": pubs_ok["code"], "period": pubs_ok["year"].astype(str), "value": pubs_ok["pubs"]}))
    w = pubs_ok.pivot(index="code", columns="year", values="pubs")
    if 2001 in w and 2018 in w:
        ch = (100 * (w[2018] - w[2001]) / w[2001].replace(0, np.nan)).dropna()
        add("pubs_ons_change_01_18", "Change in pubs and bars 2001-2018 (%)", "percent", 1, COUNCIL, "none", PUB_XLS,
            "Percent change in ONS public house and bar counts, 2001 to 2018.",
            pd.DataFrame({"level": COUNCIL, "area": ch.index, "period": "2001-2018", "value": ch.to_numpy()}))
    register(con, reg)
    for o in obs:
        stage(con, o)


def _closed_between(f: pd.DataFrame, a: int, b: int) -> pd.Series:
    closed = pd.to_datetime(f["closed"])
    return (closed > pd.Timestamp(f"{a}-12-31")) & (closed <= pd.Timestamp(f"{b}-12-31"))


def _opened_between(f: pd.DataFrame, a: int, b: int) -> pd.Series:
    opened = pd.to_datetime(f["opened"])
    return (opened > pd.Timestamp(f"{a}-12-31")) & (opened <= pd.Timestamp(f"{b}-12-31"))


def _census_pop(con: duckdb.DuckDBPyConnection, level: str) -> pd.Series:
    """Census 2021 usual residents of each area of a level, summed over its LSOA 2021 links."""
    return con.execute(f"""
        SELECT l.parent AS code, sum(l.weight * a.population) AS pop
        FROM area_link l JOIN area a ON a.code = l.child AND a.level = l.child_level
        WHERE l.child_level = '{SMALL_AREA_2021}' AND l.parent_level = ?
        GROUP BY l.parent HAVING sum(l.weight * a.population) > 0 ORDER BY l.parent""", [level]).df().set_index("code")["pop"]
