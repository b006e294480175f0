"""Indicators: every published statistic, registered once and stored long.

Each ``_source`` function returns ``(registry, observations)``: registry rows
(id, name, topic, unit, polarity, level, agg, source, description) and
observations (indicator, level, area, period, value, lower, upper).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.atlas.registry import OBS_COLS, reg_row, slug
from townhall.sources import readers

RDA = "indicators/deprivation/humaniverse_IMD_rda/"
IMD25 = RDA + "imd2025_england_lsoa21.rda"
IMD25_SUB = RDA + "imd2025_england_lsoa21_subdomains.rda"
IMD25_IND = RDA + "imd2025_england_lsoa21_indicators.rda"
IMD25_LA = RDA + "imd2025_england_ltla24.rda"
IMD19_F2 = "indicators/deprivation/iod2019_england/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
UK_IMD = "indicators/deprivation/mysociety_composite_uk_imd/UK_IMD_E.csv"
WIMD = RDA + "imd2019_wales_lsoa11.rda"
CNI23 = "indicators/left_behind/cni2023_england_lsoa21.csv"
LBA_LSOA = "geography/gdsl_appg_lba/LSOAs in LBA wards (1).xlsx"
CENSUS_POP = "geography/hack25usefuldata/census21_pop.rda"
TENURE = "facilities_census/demographr_rda/household_tenure21_lsoa21.rda"
CTS = "facilities_census/census2021_ltla_onsgeo/"
CTS_META = CTS + "Table_Metadata_EXTRACT_ts021_ts037_ts054_ts062_ts067.csv"
AGE_SEX = "facilities_census/demographr_rda/age_gender21_ltla21_ew.rda"
ELS = "indicators/ons_indicators/explore_local_statistics/"
LA_ALL = "geography/drkane_geo_lookups/la_all_codes.csv"

DOMAINS_25 = {
    "IMD": ("imd", "Index of Multiple Deprivation"), "Income": ("income", "Income deprivation"),
    "Employment": ("employment", "Employment deprivation"), "Education": ("education", "Education, skills and training deprivation"),
    "Health": ("health", "Health deprivation and disability"), "Crime": ("crime", "Crime"),
    "Housing_and_Services": ("barriers", "Barriers to housing and services"), "Environment": ("environment", "Living environment deprivation"),
}

Reader = Callable[..., pd.DataFrame]


def _wide_to_long(df: pd.DataFrame, code_col: str, colmap: dict[str, str], level: str, period: str) -> pd.DataFrame:
    """Columns of a wide frame -> long observations, one indicator id per column."""
    sub = df[[code_col, *colmap]].rename(columns={code_col: "area", **colmap})
    long = sub.melt(id_vars="area", var_name="indicator", value_name="value").dropna(subset=["value"])
    long["value"] = long["value"].astype(float)
    long["level"], long["period"], long["lower"], long["upper"] = level, period, np.nan, np.nan
    return long[OBS_COLS]


class IndicatorSet:
    """Collects registry rows and observations from every source reader."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.registry: list[dict[str, object]] = []
        self.obs: list[pd.DataFrame] = []
        self.used: set[str] = set()

    def read(self, kind: str, path: str, **kw: object) -> pd.DataFrame:
        self.used.add(path)
        return getattr(readers, kind)(path, self.cache_dir, **kw)

    def add(self, registry: list[dict[str, object]], obs: pd.DataFrame) -> None:
        self.registry.extend(registry)
        self.obs.append(obs[OBS_COLS])


def build_indicators(cache_dir: Path | None = None, step: Callable[[str], None] = lambda s: None) -> IndicatorSet:
    """Read every indicator source into an :class:`IndicatorSet`."""
    s = IndicatorSet(cache_dir)
    for label, fn in (
        ("Indices of Deprivation 2025", _iod2025), ("Indices of Deprivation 2019", _iod2019),
        ("Welsh Index of Multiple Deprivation 2019", _wimd2019), ("Community Needs Index", _cni),
        ("Census 2021 small-area tables", _census_small), ("Census 2021 council tables", _census_council),
        ("ONS Explore Local Statistics", _els), ("ONS towns table: education", _towns_education),
    ):
        step(label)
        fn(s)
    return s


def _iod2025(s: IndicatorSet) -> None:
    df = s.read("read_rda", IMD25, required=["lsoa21_code", "IMD_score"])
    reg, cols = [], {}
    for key, (d, name) in DOMAINS_25.items():
        for kind, pol, agg, unit in (("score", -1, "mean", "score"), ("rank", 1, "none", "rank (1 = most deprived)"),
                                     ("decile", 1, "none", "decile (1 = most deprived 10%)")):
            iid = f"imd25_{d}_{kind}"
            cols[f"{key}_{kind}"] = iid
            unit_ = "rate (share of people)" if kind == "score" and d in ("income", "employment") else unit
            reg.append(reg_row(id=iid, name=f"{name} {kind} (IoD2025)", topic="deprivation", unit=unit_, polarity=pol,
                            level="lsoa21", agg=agg, source=IMD25,
                            description=f"English Indices of Deprivation 2025, {name.lower()} {kind}, LSOA 2021."))
    s.add(reg, _wide_to_long(df, "lsoa21_code", cols, "lsoa21", "2025"))

    sub = s.read("read_rda", IMD25_SUB, required=["lsoa21_code"])
    reg, cols = [], {}
    for c in sub.columns:
        if c.endswith("_score"):
            name = c[: -len("_score")]
            iid = f"imd25_{name}_score"
            cols[c] = iid
            reg.append(reg_row(id=iid, name=f"{name.replace('_', ' ').capitalize()} sub-domain score (IoD2025)",
                            topic="deprivation", unit="score", polarity=-1, level="lsoa21", agg="mean", source=IMD25_SUB,
                            description="IoD2025 sub-domain score (higher = more deprived), LSOA 2021."))
    s.add(reg, _wide_to_long(sub, "lsoa21_code", cols, "lsoa21", "2025"))

    ind = s.read("read_rda", IMD25_IND, required=["lsoa21_code"])
    reg, cols = [], {}
    for c in ind.columns[1:]:
        iid = f"imd25_ind_{slug(c)}"
        cols[c] = iid
        count = c.endswith("_numerator")
        # Connectivity is a DfT accessibility score (higher = better connected); every other
        # underlying indicator is oriented so that higher = more deprived.
        pol = 1 if c == "connectivity_score" else -1
        reg.append(reg_row(id=iid, name=c.replace("_", " ").capitalize() + " (IoD2025)", topic="deprivation",
                        unit="count" if count else "rate or score", polarity=pol, level="lsoa21",
                        agg="sum" if count else "mean", source=IMD25_IND,
                        description="IoD2025 underlying indicator (File 8), LSOA 2021."))
    s.add(reg, _wide_to_long(ind, "lsoa21_code", cols, "lsoa21", "2025"))


def _iod2019(s: IndicatorSet) -> None:
    f2 = s.read("read_csv", IMD19_F2, required=["LSOA code (2011)"], thousands=",")
    reg, cols = [], {}
    names = {"Index of Multiple Deprivation (IMD)": "imd", "Income": "income", "Employment": "employment",
             "Education, Skills and Training": "education", "Health Deprivation and Disability": "health",
             "Crime": "crime", "Barriers to Housing and Services": "barriers", "Living Environment": "environment"}
    for c in f2.columns:
        for label, d in names.items():
            for kind in ("Rank", "Decile"):
                if c.startswith(f"{label} {kind}"):
                    iid = f"imd19_{d}_{kind.lower()}"
                    cols[c] = iid
                    reg.append(reg_row(id=iid, name=f"{label} {kind.lower()} (IoD2019)", topic="deprivation",
                                    unit=f"{kind.lower()} (1 = most deprived)", polarity=1, level="lsoa11", agg="none",
                                    source=IMD19_F2, description=f"English Indices of Deprivation 2019 (File 2): {c}."))
    s.add(reg, _wide_to_long(f2, "LSOA code (2011)", cols, "lsoa11", "2019"))

    uk = s.read("read_csv", UK_IMD, required=["lsoa", "nation", "overall_local_score", "income_score", "employment_score"])
    uk = uk[uk["nation"] == "E"].copy()
    uk["income_rate"] = uk["income_score"] / 100  # published in percent; IoD rates are shares
    uk["employment_rate"] = uk["employment_score"] / 100
    reg = [
        reg_row(id="imd19_imd_score", name="Index of Multiple Deprivation score (IoD2019)", topic="deprivation", unit="score",
             polarity=-1, level="lsoa11", agg="mean", source=UK_IMD, description="IoD2019 IMD score via mySociety's composite UK IMD (England rows equal the official score)."),
        reg_row(id="imd19_income_score", name="Income deprivation score (IoD2019)", topic="deprivation", unit="rate (share of people)",
             polarity=-1, level="lsoa11", agg="mean", source=UK_IMD, description="IoD2019 income domain rate (percent / 100)."),
        reg_row(id="imd19_employment_score", name="Employment deprivation score (IoD2019)", topic="deprivation", unit="rate (share of people)",
             polarity=-1, level="lsoa11", agg="mean", source=UK_IMD, description="IoD2019 employment domain rate (percent / 100)."),
    ]
    s.add(reg, _wide_to_long(uk, "lsoa", {"overall_local_score": "imd19_imd_score", "income_rate": "imd19_income_score",
                                          "employment_rate": "imd19_employment_score"}, "lsoa11", "2019"))


def _wimd2019(s: IndicatorSet) -> None:
    w = s.read("read_rda", WIMD, required=["lsoa11_code", "IMD_score"])
    reg, cols = [], {}
    for c in w.columns[1:]:
        d, kind = c.rsplit("_", 1)
        iid = f"wimd19_{d.lower()}_{kind}"
        cols[c] = iid
        reg.append(reg_row(id=iid, name=f"WIMD 2019 {d.replace('_', ' ')} {kind}", topic="deprivation",
                        unit=kind if kind != "score" else "score", polarity=-1 if kind == "score" else 1,
                        level="lsoa11", agg="mean" if kind == "score" else "none", source=WIMD,
                        description="Welsh Index of Multiple Deprivation 2019, LSOA 2011 (Wales)."))
    s.add(reg, _wide_to_long(w, "lsoa11_code", cols, "lsoa11", "2019"))


def _cni(s: IndicatorSet) -> None:
    c = s.read("read_csv", CNI23, required=["lsoa21_code", "Community Needs Index 2023 Score", "Left Behind Area?"])
    c["left_behind"] = c["Left Behind Area?"].astype(str).str.upper().eq("TRUE").astype(float)
    cols = {"Community Needs Index 2023 Score": "cni23_score", "left_behind": "cni23_left_behind"}
    reg = [
        reg_row(id="cni23_score", name="Community Needs Index 2023 score", topic="left_behind", unit="score", polarity=-1,
             level="lsoa21", agg="mean", source=CNI23, description="OCSI/Local Trust Community Needs Index 2023 (higher = greater need)."),
        reg_row(id="cni23_left_behind", name="Left-behind area (OCSI 2023)", topic="left_behind", unit="flag (1 = left behind)",
             polarity=-1, level="lsoa21", agg="mean", source=CNI23,
             description="1 for the 1,305 LSOAs OCSI flags as left behind in 2023; rolled up it is the population share in such LSOAs."),
    ]
    for col in c.columns:
        if col.endswith("Domain Score"):
            iid = "cni23_" + slug(col.replace(" Domain Score", "")) + "_score"
            cols[col] = iid
            reg.append(reg_row(id=iid, name=f"CNI 2023 {col}", topic="left_behind", unit="score", polarity=-1, level="lsoa21",
                            agg="mean", source=CNI23, description="Community Needs Index 2023 domain score (higher = greater need)."))
    s.add(reg, _wide_to_long(c, "lsoa21_code", cols, "lsoa21", "2023"))

    lba = s.read("read_excel", LBA_LSOA, required=["LSOA Code"])
    lsoa11 = s.read("read_csv", "geography/mysociety_uk_ruc/ruc_2011.csv", required=["lsoa"])
    eng = lsoa11[lsoa11["lsoa"].str.startswith("E")][["lsoa"]].copy()
    eng["cni19_left_behind"] = eng["lsoa"].isin(set(lba["LSOA Code"])).astype(float)
    s.add([reg_row(id="cni19_left_behind", name="In a left-behind ward (OCSI 2019)", topic="left_behind",
                unit="flag (1 = in one of the 225 left-behind wards)", polarity=-1, level="lsoa11", agg="mean", source=LBA_LSOA,
                description="1 for the LSOAs (2011) inside the 225 wards OCSI/Local Trust flagged as left behind in 2019.")],
          _wide_to_long(eng, "lsoa", {"cni19_left_behind": "cni19_left_behind"}, "lsoa11", "2019"))


AGE_BANDS = {
    "Aged 15 years and under": "0_15", "Aged 16 to 24 years": "16_24", "Aged 25 to 34 years": "25_34",
    "Aged 35 to 49 years": "35_49", "Aged 50 to 64 years": "50_64", "Aged 65 years and over": "65_plus",
}


def _census_small(s: IndicatorSet) -> None:
    pop = s.read("read_rda", CENSUS_POP, required=["lsoa21_code", "age_group", "usual_residents"])
    wide = pop.pivot_table(index="lsoa21_code", columns="age_group", values="usual_residents", aggfunc="sum")
    wide = wide.rename(columns={k: f"census21_pop_{v}" for k, v in AGE_BANDS.items()})
    wide["census21_pop"] = wide.sum(axis=1)
    wide["census21_share_65_plus"] = wide["census21_pop_65_plus"] / wide["census21_pop"]
    wide["census21_share_0_15"] = wide["census21_pop_0_15"] / wide["census21_pop"]
    wide["census21_share_16_64"] = wide[[f"census21_pop_{b}" for b in ("16_24", "25_34", "35_49", "50_64")]].sum(axis=1) / wide["census21_pop"]
    wide = wide.reset_index()
    reg = [reg_row(id="census21_pop", name="Usual residents (Census 2021)", topic="population", unit="people", polarity=0,
                level="lsoa21", agg="sum", source=CENSUS_POP, description="Census 2021 usual residents (ONS custom dataset; cell-key perturbed).")]
    for label, b in AGE_BANDS.items():
        reg.append(reg_row(id=f"census21_pop_{b}", name=f"Residents {label.lower()} (Census 2021)", topic="population", unit="people",
                        polarity=0, level="lsoa21", agg="sum", source=CENSUS_POP, description="Census 2021 usual residents by age band."))
    for b, label in (("65_plus", "aged 65 and over"), ("0_15", "aged 15 and under"), ("16_64", "aged 16 to 64")):
        reg.append(reg_row(id=f"census21_share_{b}", name=f"Share of residents {label} (Census 2021)", topic="population", unit="share",
                        polarity=0, level="lsoa21", agg="mean", source=CENSUS_POP, description="Census 2021, share of usual residents."))
    cols = {r["id"]: r["id"] for r in reg}
    s.add(reg, _wide_to_long(wide, "lsoa21_code", cols, "lsoa21", "2021"))

    ten = s.read("read_rda", TENURE, required=["lsoa21_code", "tenure", "n", "total_households"])
    ten["group"] = ten["tenure"].str.split(":").str[0].str.strip()
    t = ten.pivot_table(index="lsoa21_code", columns="group", values="n", aggfunc="sum")
    tot = ten.groupby("lsoa21_code")["total_households"].first()
    out = pd.DataFrame({
        "census21_households": tot,
        "census21_share_owner_occupied": t.get("Owned", 0) / tot,
        "census21_share_social_rented": t.get("Social rented", 0) / tot,
        "census21_share_private_rented": t.get("Private rented", 0) / tot,
    }).reset_index()
    reg = [
        reg_row(id="census21_households", name="Households (Census 2021)", topic="housing", unit="households", polarity=0, level="lsoa21",
             agg="sum", source=TENURE, description="Census 2021 TS054 households."),
        reg_row(id="census21_share_owner_occupied", name="Share of households owner-occupied (Census 2021)", topic="housing",
             unit="share", polarity=0, level="lsoa21", agg="mean", source=TENURE, description="Census 2021 TS054: owned outright or with a mortgage."),
        reg_row(id="census21_share_social_rented", name="Share of households socially rented (Census 2021)", topic="housing",
             unit="share", polarity=0, level="lsoa21", agg="mean", source=TENURE, description="Census 2021 TS054."),
        reg_row(id="census21_share_private_rented", name="Share of households privately rented (Census 2021)", topic="housing",
             unit="share", polarity=0, level="lsoa21", agg="mean", source=TENURE, description="Census 2021 TS054."),
    ]
    s.add(reg, _wide_to_long(out, "lsoa21_code", {r["id"]: r["id"] for r in reg}, "lsoa21", "2021"))


def _current_lad(s: IndicatorSet) -> dict[str, str]:
    la = s.read("read_csv", LA_ALL, required=["LADCD", "LADCD_ACTIVE"])
    return dict(zip(la["LADCD"], la["LADCD_ACTIVE"], strict=False))


def _census_council(s: IndicatorSet) -> None:
    """Census 2021 topic summaries by council, moved onto the current council set by summing."""
    meta = s.read("read_csv", CTS_META, required=["old_names", "new_names", "Table_ID", "Table_Name"])
    to_now = _current_lad(s)
    reg, frames = [], []
    for table, tmeta in meta.groupby("Table_ID"):
        path = CTS + f"{table}.csv"
        df = s.read("read_csv", path, required=["LTLA"])
        df["LTLA"] = df["LTLA"].map(lambda c: to_now.get(c, c))
        df = df.groupby("LTLA", as_index=False).sum(numeric_only=True)
        topic_name = tmeta["Table_Name"].iloc[0]
        cols = {}
        for r in tmeta.itertuples():
            if r.new_names not in df.columns:
                continue
            label = r.old_names.split(": ", 1)[1]
            iid = f"census21_{table}_{slug(label)}"
            cols[r.new_names] = iid
            reg.append(reg_row(id=iid, name=f"{topic_name}: {label} (Census 2021)", topic="census", unit="people" if table != "ts054" else "households",
                            polarity=0, level="lad", agg="sum", source=path, description=f"Census 2021 {table.upper()} {topic_name}, by council."))
        frames.append(_wide_to_long(df, "LTLA", cols, "lad", "2021"))
    s.add(reg, pd.concat(frames, ignore_index=True))

    a = s.read("read_rda", AGE_SEX, required=["ltla21_code", "total_population", "total_females", "total_males"])
    a["ltla21_code"] = a["ltla21_code"].map(lambda c: to_now.get(c, c))
    a = a.groupby("ltla21_code", as_index=False).sum(numeric_only=True)
    cols, reg = {}, []
    for c in a.columns[1:]:
        iid = f"census21_sex_{c}"
        cols[c] = iid
        reg.append(reg_row(id=iid, name=f"{c.replace('_', ' ').capitalize()} (Census 2021)", topic="census", unit="people",
                        polarity=0, level="lad", agg="sum", source=AGE_SEX, description="Census 2021 sex by broad age (younger 0-15, working age 16-64, older 65+), by council."))
    s.add(reg, _wide_to_long(a, "ltla21_code", cols, "lad", "2021"))


_ELS_LEVEL = {"Local Authority District": "lad", "Region": "rgn", "Country": "ctry", "Nation": "ctry",
              "Combined Authority or City Region": "cauth"}


def els_period(p: str) -> str:
    """ISO periods to readable ones: 2004-01-01/P1Y -> 2004; 2021-04-01/P1Y -> 2021/22; P3Y -> 2020-2022."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-\d{2}/P(\d)Y", p)
    if not m:
        return p[:10]
    y, month, n = int(m[1]), int(m[2]), int(m[3])
    if n == 1:
        return str(y) if month == 1 else f"{y}/{str(y + 1)[2:]}"
    return f"{y}-{y + n - 1}"


def _els(s: IndicatorSet) -> None:
    from townhall.sources.catalogue import sources_under

    spec = tomllib.loads(resources.files("townhall.atlas").joinpath("els.toml").read_text("utf-8"))
    by_name = {r["name"]: r for r in spec["indicator"]}
    reg, frames, seen = [], [], set()
    to_now = _current_lad(s)
    for src in sources_under(ELS):
        if not src.path.endswith(".csv"):
            continue
        df = s.read("read_csv", src.path, required=["areacd", "geography", "indicator", "period", "observation"])
        meta_path = src.path[:-4] + ".json"
        s.used.add(meta_path)
        meta = json.loads(readers.source_file(meta_path, s.cache_dir).read_text("utf-8")).get("ess-beta-metadata", {})
        df["level"] = df["geography"].map(_ELS_LEVEL)
        unit_lad = df["geography"].eq("County or Unitary Authority") & df["areacd"].str.startswith(("E06", "W06"))
        df.loc[unit_lad, "level"] = "lad"
        df.loc[df["geography"].eq("County or Unitary Authority") & df["areacd"].str.startswith("E10"), "level"] = "cty"
        df = df[df["level"].notna()].copy()
        is_lad = df["level"].eq("lad")
        df.loc[is_lad, "areacd"] = df.loc[is_lad, "areacd"].map(lambda c: to_now.get(c, c))
        df["period"] = df["period"].astype(str).map(els_period)
        for name, part in df.groupby("indicator"):
            r = by_name.get(name)
            if r is None:
                raise ValueError(f"{src.path}: indicator {name!r} is not in els.toml")
            iid = r["id"]
            m = meta.get(name, meta) if isinstance(meta.get(name), dict) else meta
            label = m.get("label", name) if isinstance(m, dict) else name
            if iid not in seen:
                seen.add(iid)
                reg.append(reg_row(id=iid, name=label, topic=r["topic"], unit=str(part["unit"].iloc[0]), polarity=r["polarity"],
                                level="lad", agg="none", source=src.path,
                                description=(m.get("subtitle") or m.get("longDescription") or "") if isinstance(m, dict) else ""))
            obs = pd.DataFrame({
                "indicator": iid, "level": part["level"], "area": part["areacd"], "period": part["period"],
                "value": pd.to_numeric(part["observation"], errors="coerce"),
                "lower": pd.to_numeric(part.get("lci_95"), errors="coerce"),
                "upper": pd.to_numeric(part.get("uci_95"), errors="coerce"),
            }).dropna(subset=["value"])
            # A few series publish the same area twice in a period (revised rows): keep the last.
            frames.append(obs.drop_duplicates(["level", "area", "period"], keep="last"))
    s.add(reg, pd.concat(frames, ignore_index=True))


def _towns_education(s: IndicatorSet) -> None:
    from townhall.atlas.education import TOWNS, town_education

    s.used.add(TOWNS)
    s.add(*town_education(s.cache_dir))
