"""Local-government finance in the atlas: council tax, tax bases, spending power, income tax.

Build-time reader for ``politics_finance/finance/`` (the funding lab's data). It writes
one long table and registers a few council indicators::

    council_finance(code, tier, year, measure, value, source, predecessors)

* ``code`` is today's GSS code (older codes and DLUHC E-codes re-keyed with
  :mod:`townhall.atlas.codes`; a reorganised council gets the **sum** of its
  predecessors for money and tax bases and the tax-base-weighted **mean** for a
  Band D rate; ``predecessors`` says which codes were summed).
* ``tier`` keeps the parts of a two-tier bill apart: ``billing`` rows are the
  billing authorities (districts, unitaries, boroughs), with the district's own
  Band D (``ct_band_d_own``) and the county's, police's, fire's and combined
  authority's shares of the same bill in the district's area
  (``ct_band_d_county`` ...) as separate measures; ``county`` rows are the shire
  counties (precepting authorities, E10 codes) with their own requirement, tax
  base and Band D; ``england`` is the national row (E92000001).
* ``year`` is the financial year, ``'2023-24'``; dwellings by band are for 2025
  (``'2025'``).

Measures (units): ``ct_requirement`` (£, council tax requirement incl. parish
precepts), ``ct_taxbase`` (Band D equivalents for tax setting), ``ct_band_d_own``
/ ``ct_band_d_own_ex_parish`` / ``ct_band_d_county`` / ``_police`` / ``_fire`` /
``_ca`` / ``ct_band_d_area`` (£ a Band D dwelling pays; area = all tiers),
``ct_yield_area`` (£, tax base x area Band D: the council tax raised in the area by
all tiers), ``dwellings_band_a`` ... ``dwellings_total`` (VOA 2025),
``csp_*`` (Core Spending Power components, £), ``ro_rsg`` / ``ro_retained_rates`` /
``ro_council_tax`` (Revenue Outturn lines 851, 870, 890; £), ``income_total``,
``income_taxpayers``, ``income_tax`` (HMRC Survey of Personal Incomes; £ and people).

The DLUHC Table 9 of 2023-24 is an OpenDocument spreadsheet; it is read with a small
streaming reader here (no odfpy dependency).
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from townhall.atlas import codes
from townhall.atlas.registry import OBS_COLS, reg_row, register, stage
from townhall.errors import InputError
from townhall.levels import COUNCIL
from townhall.sources import readers
from townhall.sources.catalogue import source_file

FIN = "politics_finance/finance"
REGISTER = "geography/mysociety_la/uk_local_authorities.csv"
CTR_FILES = {f"{FIN}/council_tax/ctr_{a}{b}.xlsx": f"20{a}-{b}" for a, b in
             (("15", "16"), ("16", "17"), ("17", "18"), ("18", "19"), ("19", "20"), ("20", "21"),
              ("21", "22"), ("22", "23"))}
TABLE9 = f"{FIN}/council_tax/CTR_Table_9_2023-24 (10).ods"
LA_CT = f"{FIN}/council_tax/la_council_tax.csv"
CSP = f"{FIN}/spending_power/CSP_long_201520.csv"
SPI = f"{FIN}/income/spi_la_raw.csv"
RS_FILES = {
    f"{FIN}/revenue_outturn/RS_2017-18_data_by_LA.xlsx": "2017-18",
    f"{FIN}/revenue_outturn/Revenue_Outturn_Summary__RS__data_2014-15_by_LA_-_02-Feb-2016.xls": "2014-15",
    f"{FIN}/revenue_outturn/Revenue_Outturn_Summary__RS__data_2013-14_by_LA_-_Revised_28-Jan-2015.xls": "2013-14",
}
ENGLAND = "E92000001"
FIRST_YEAR = "2014-15"
#: HMRC's personal allowance in the SPI years the file may be (2021-22, 2022-23): £12,570.
PERSONAL_ALLOWANCE = 12_570.0
#: Measures summed when councils merge; every other measure is a rate (tax-base-weighted mean).
SUMMED = ("ct_requirement", "ct_taxbase", "ct_yield_area", "income_total", "income_taxpayers", "income_tax")
RATE_PREFIX = "ct_band_d"
COUNTY_CLASSES = ("SC",)
BILLING_CLASSES = ("SD", "UA", "MD", "ILB", "OLB")


# -- readers ----------------------------------------------------------------------------

_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def read_ods_sheet(path: Path, sheet: str, max_cols: int = 120) -> list[list[object]]:
    """Rows of one sheet of an OpenDocument spreadsheet (numbers as float, text as str).

    Streams ``content.xml`` so a large workbook is not held whole; repeated cells and
    rows (the format's run-length encoding) are expanded, long empty runs dropped.
    """
    rows: list[list[object]] = []
    try:
        with zipfile.ZipFile(path) as z, z.open("content.xml") as fh:
            inside = False
            for ev, el in ET.iterparse(fh, events=("start", "end")):
                if el.tag == _T + "table":
                    if ev == "start":
                        inside = el.get(_T + "name") == sheet
                    elif inside:
                        break
                    else:
                        el.clear()
                elif ev == "end" and el.tag == _T + "table-row":
                    if inside:
                        row: list[object] = []
                        for c in el:
                            if c.tag not in (_T + "table-cell", _T + "covered-table-cell"):
                                continue
                            rep = int(c.get(_T + "number-columns-repeated", "1"))
                            kind = c.get(_O + "value-type")
                            v: object = (float(c.get(_O + "value")) if kind in ("float", "percentage", "currency")
                                         else None if kind is None else "".join(c.itertext()))
                            row.extend([v] * min(rep, max_cols - len(row)))
                            if len(row) >= max_cols:
                                break
                        while row and row[-1] is None:
                            row.pop()
                        if row:
                            rows.extend([row] * min(int(el.get(_T + "number-rows-repeated", "1")), 5))
                    el.clear()
    except (OSError, zipfile.BadZipFile, ET.ParseError) as exc:
        raise InputError(f"Cannot read OpenDocument spreadsheet: {exc}", file=str(path)) from None
    if not rows:
        raise InputError(f"No sheet {sheet!r} (or it is empty).", file=str(path))
    return rows


def ecode_map(cache_dir: Path | None) -> dict[str, str]:
    """DLUHC E-code -> GSS code, from the mySociety register's ``ecode`` column."""
    reg = readers.read_csv(REGISTER, cache_dir, required=["gss-code", "ecode"])
    reg = reg.dropna(subset=["gss-code", "ecode"])
    return dict(zip(reg["ecode"].astype(str).str.strip(), reg["gss-code"].astype(str).str.strip(), strict=True))


def _gss(ecode: pd.Series, ons: pd.Series | None, emap: dict[str, str]) -> pd.Series:
    """GSS code from the E-code, else the file's own ONS code column."""
    out = ecode.astype("string").str.strip().map(emap)
    if ons is not None:
        ons = ons.astype("string").str.strip()
        out = out.fillna(ons.where(ons.str.match(r"^[EW]\d{8}$", na=False)))
    return out


def _match(names: list[str], pattern: str, sub: str | None = None, subs: list[object] | None = None) -> int | None:
    """First column whose (forward-filled) item name matches ``pattern`` (and sub-header ``sub``)."""
    rx = re.compile(pattern, re.I)
    for i, n in enumerate(names):
        if isinstance(n, str) and rx.search(n) and (sub is None or (subs is not None and str(subs[i]).strip() == sub)):
            return i
    return None


#: (measure, item-name pattern, sub-header: the year or a tier). Item numbers change between years,
#: so columns are found by their names.
_CTR_ITEMS: list[tuple[str, str, str]] = [
    ("ct_requirement", r"^\s*1\.\s*Council Tax Requirement", "{year}"),
    ("ct_taxbase", r"council tax base for council tax setting", "{year}"),
    ("ct_band_d_own", r"^\s*(8|10)\.\s*Average \(Band D.*(and|including) local precepts", "{year}"),
    ("ct_band_d_own_ex_parish", r"^\s*(9|11)\.\s*Average \(Band D.*excluding local precepts", "{year}"),
    ("ct_band_d_county", r"Average council tax of major precepting authorities", "County or GLA"),
    ("ct_band_d_police", r"Average council tax of major precepting authorities", "Police"),
    ("ct_band_d_fire", r"Average council tax of major precepting authorities", "Fire"),
    ("ct_band_d_ca", r"Average council tax of major precepting authorities", "Combined Authority"),
    ("ct_band_d_area", r"for area of the billing authority including both local and major", ""),
]


def read_ctr(path: str, year: str, cache_dir: Path | None, emap: dict[str, str]) -> pd.DataFrame:
    """One ``ctr_*.xlsx`` workbook (sheet Data) as long rows: ecode, gss, class, year, measure, value.

    The workbook gives the year and the year before side by side; the year before is kept
    only for the tax base, requirement and own Band D (so 2014-15 comes from ``ctr_1516``).
    """
    df = readers.read_excel(path, cache_dir, sheet_name="Data", header=None)
    names = df.iloc[3].ffill().tolist()
    subs = df.iloc[4].tolist()
    prev = f"{int(year[:4]) - 1}-{year[2:4]}"
    body = df.iloc[5:]
    body = body[body.iloc[:, 0].notna()]
    ons_col = _match(names, r"^ONS Code$")
    gss = _gss(body.iloc[:, 0], body.iloc[:, ons_col] if ons_col is not None else None, emap)
    is_eng = body.iloc[:, 0].astype(str).str.strip().isin(["Eng", "TE"])
    gss = gss.mask(is_eng, ENGLAND)
    frames = []
    for measure, pat, sub in _CTR_ITEMS:
        # Each year is read from its own workbook; the year before only from the first (2014-15), as
        # a workbook restates the year before on its own reorganised councils.
        for yr in ((year, prev) if prev == FIRST_YEAR and sub == "{year}" and measure in (
                "ct_requirement", "ct_taxbase", "ct_band_d_own", "ct_band_d_own_ex_parish") else (year,)):
            want = yr if sub == "{year}" else sub
            col = _match(names, pat) if want == "" else _match(names, pat, want, subs)
            if col is None:
                if measure in ("ct_requirement", "ct_taxbase", "ct_band_d_own"):
                    raise InputError(f"No column for {measure} ({want}) in the Data sheet.", file=path)
                continue
            frames.append(pd.DataFrame({
                "ecode": body.iloc[:, 0].astype(str).str.strip().to_numpy(), "code": gss.to_numpy(),
                "class": body.iloc[:, 2].astype(str).str.strip().to_numpy(), "year": yr, "measure": measure,
                "value": readers.to_number(body.iloc[:, col]).to_numpy(), "source": path}))
    return pd.concat(frames, ignore_index=True)


def read_table9(cache_dir: Path | None, emap: dict[str, str]) -> pd.DataFrame:
    """DLUHC Table 9 2023-24 (sheets Data_Billing and Data_Precepting) as long rows."""
    path = source_file(TABLE9, cache_dir)
    out = []
    for sheet in ("Data_Billing", "Data_Precepting"):
        rows = read_ods_sheet(path, sheet)
        hi = next((i for i, r in enumerate(rows) if r and r[0] == "E-code"), None)
        if hi is None:
            raise InputError(f"No 'E-code' header row in sheet {sheet}.", file=TABLE9)
        head = [str(h) for h in rows[hi]]
        body = pd.DataFrame([r + [None] * (len(head) - len(r)) for r in rows[hi + 1:]]).iloc[:, :len(head)]
        body.columns = range(body.shape[1])
        body = body[body[0].notna()]
        items = {
            "ct_requirement": r"^1\. Council Tax Requirement.*\(current year\)$",
            "ct_taxbase": (r"^7\. Council tax base for council tax setting purposes\(current year\)$"
                           if sheet == "Data_Billing" else r"^2\. Council tax base for the major.*\(current year\)$"),
            "ct_band_d_own": (r"^8\. Average.*including Adult Social Care precept and local precepts\)\(current year\)$"
                              if sheet == "Data_Billing" else r"^3\. Average.*\(current year\)$"),
            "ct_band_d_own_ex_parish": r"^9\. Average.*excluding local precepts\)\(current year\)$",
            "ct_band_d_county": r"^16\. .*\(county or GLA\)$",
            "ct_band_d_police": r"^16\. .*\(police\)$",
            "ct_band_d_fire": r"^16\. .*\(fire\)$",
            "ct_band_d_ca": r"^16\. .*\(combined authority\)$",
            "ct_band_d_area": r"^17\. Average",
        }
        gss = _gss(body[0], body[1], emap).mask(body[0].astype(str).isin(["TE", "Eng"]), ENGLAND)
        for measure, pat in items.items():
            col = next((i for i, h in enumerate(head) if re.search(pat, h, re.I)), None)
            if col is None:
                if measure in ("ct_requirement", "ct_taxbase", "ct_band_d_own"):
                    raise InputError(f"No column for {measure} in sheet {sheet}.", file=TABLE9)
                continue
            out.append(pd.DataFrame({"ecode": body[0].astype(str).to_numpy(), "code": gss.to_numpy(),
                                     "class": body[4].astype(str).to_numpy(), "year": "2023-24", "measure": measure,
                                     "value": readers.to_number(body[col].astype("string")).to_numpy(),
                                     "source": TABLE9}))
    return pd.concat(out, ignore_index=True)


def council_tax_rows(cache_dir: Path | None, emap: dict[str, str]) -> pd.DataFrame:
    """Council tax by authority and year 2014-15 -> 2023-24, tiers labelled, before re-keying."""
    frames = [read_ctr(p, y, cache_dir, emap) for p, y in CTR_FILES.items()]
    frames.append(read_table9(cache_dir, emap))
    df = pd.concat(frames, ignore_index=True)
    # Councils formed in 2019 have no E-code in the register; the later workbooks carry both codes.
    known = df.dropna(subset=["code"]).drop_duplicates("ecode").set_index("ecode")["code"]
    df["code"] = df["code"].fillna(df["ecode"].map(known))
    # A year appears twice (current in one workbook, previous in the next): the later workbook's
    # revised figure wins.
    df = df.drop_duplicates(["ecode", "year", "measure"], keep="last")
    df["tier"] = np.select([df["code"] == ENGLAND, df["class"].isin(COUNTY_CLASSES),
                            df["class"].isin(BILLING_CLASSES)], ["england", "county", "billing"], "other")
    df = df[df["tier"].isin(["england", "county", "billing"]) & df["code"].notna() & df["value"].notna()]
    # Precepting-authority columns (county/police/fire shares) are zero-filled where not relevant: keep
    # them only for billing authorities in areas that have that precept.
    share = df["measure"].isin(["ct_band_d_county", "ct_band_d_police", "ct_band_d_fire", "ct_band_d_ca"])
    df = df[~share | ((df["tier"] == "billing") & (df["value"] > 0))]
    return df[["code", "tier", "year", "measure", "value", "source"]]


def rekey(df: pd.DataFrame, succ: dict[str, str]) -> pd.DataFrame:
    """Long finance rows re-keyed on today's councils (pure).

    Money and tax bases are summed over predecessors; rates (``ct_band_d*``) are
    averaged with the predecessors' tax bases (or, without a tax base that year,
    with equal weights).

    Parameters
    ----------
    df : DataFrame
        code, tier, year, measure, value, source.
    succ : mapping
        Old code -> current code.
    """
    out = []
    base = df[df["measure"] == "ct_taxbase"][["code", "tier", "year", "value"]].rename(columns={"value": "_w"})
    for (tier, year, measure, source), g in df.groupby(["tier", "year", "measure", "source"], sort=True):
        g = g[["code", "value"]]
        if measure.startswith(RATE_PREFIX):
            w = base[(base["tier"] == tier) & (base["year"] == year)][["code", "_w"]]
            g = g.merge(w, on="code", how="left")
            g["_w"] = g["_w"].fillna(1.0)
            r = codes.to_current(g, "code", succ, sums=["_w"], means={"value": "_w"})
        else:
            r = codes.to_current(g, "code", succ, sums=["value"])
        r = r.assign(tier=tier, year=year, measure=measure, source=source)
        out.append(r[["code", "tier", "year", "measure", "value", "source", "predecessors"]])
    return pd.concat(out, ignore_index=True) if out else df.assign(predecessors=df["code"])


def band_rows(cache_dir: Path | None) -> pd.DataFrame:
    """Band D 2026-27 (all precepts) and 2025 dwellings by band from ``la_council_tax.csv`` (England)."""
    df = readers.read_csv(LA_CT, cache_dir, required=["code", "band_d_amount", "total_dwellings", "country"])
    df = df[df["country"].astype(str).str.upper() == "ENGLAND"]
    rows = [pd.DataFrame({"code": df["code"], "year": "2026-27", "measure": "ct_band_d_area",
                          "value": readers.to_number(df["band_d_amount"]), "_w": readers.to_number(df["total_dwellings"])})]
    for b in "ABCDEFGH":
        rows.append(pd.DataFrame({"code": df["code"], "year": "2025", "measure": f"dwellings_band_{b.lower()}",
                                  "value": readers.to_number(df[f"count_band_{b}"]), "_w": np.nan}))
    rows.append(pd.DataFrame({"code": df["code"], "year": "2025", "measure": "dwellings_total",
                              "value": readers.to_number(df["total_dwellings"]), "_w": np.nan}))
    out = pd.concat(rows, ignore_index=True)
    out["tier"], out["source"] = "billing", LA_CT
    return out


def csp_rows(cache_dir: Path | None) -> pd.DataFrame:
    """Core Spending Power components 2015-16 -> 2020-21 (£, from £m)."""
    cols = ["sfa", "under_index", "ct_total", "nhb", "nhb_return", "rsdg", "total_spend"]
    df = readers.read_csv(CSP, cache_dir, required=["ons_code", "year", *cols])
    frames = []
    for c in cols:
        y = df["year"].astype(int)
        frames.append(pd.DataFrame({"code": df["ons_code"].astype(str).str.strip(),
                                    "year": y.astype(str) + "-" + (y + 1).astype(str).str[2:],
                                    "measure": f"csp_{c}", "value": readers.to_number(df[c]) * 1e6}))
    out = pd.concat(frames, ignore_index=True)
    out["tier"] = np.where(out["code"].str.startswith("E10"), "county", "billing")
    out["source"] = CSP
    return out


def spi_rows(cache_dir: Path | None) -> pd.DataFrame:
    """HMRC income statistics by council: taxpayers, total income, income tax (people and £)."""
    df = readers.read_csv(SPI, cache_dir, required=["code", "total_income_count", "total_income_mean",
                                                    "total_tax_amount"])
    df = df[df["code"].astype(str).str.match(r"^[EW]0[6-9]")]
    n = readers.to_number(df["total_income_count"]) * 1e3
    frames = [
        pd.DataFrame({"code": df["code"], "measure": "income_taxpayers", "value": n}),
        pd.DataFrame({"code": df["code"], "measure": "income_total",
                      "value": n * readers.to_number(df["total_income_mean"])}),
        pd.DataFrame({"code": df["code"], "measure": "income_tax",
                      "value": readers.to_number(df["total_tax_amount"]) * 1e6}),
    ]
    out = pd.concat(frames, ignore_index=True)
    out["tier"], out["year"], out["source"] = "billing", "spi", SPI
    return out


def rs_rows(cache_dir: Path | None, emap: dict[str, str]) -> pd.DataFrame:
    """Revenue Outturn lines 851 (RSG), 870 (retained rates) and 890 (council tax requirement), £."""
    items = {"ro_rsg": r"^Revenue Support Grant", "ro_retained_rates": r"^Retained (income from Rate Retention|business rates)",
             "ro_council_tax": r"^COUNCIL TAX REQUIREMENT"}
    out = []
    for path, year in RS_FILES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = pd.ExcelFile(source_file(path, cache_dir))
        sheets = [s for s in book.sheet_names if s.startswith("RS LA Data")]
        for s in sheets:
            df = pd.read_excel(book, sheet_name=s, header=None)
            hi = next(i for i in range(12) if str(df.iloc[i, 0]).strip() == "E-code")
            head = [str(h).strip() for h in df.iloc[hi]]
            body = df.iloc[hi + 1:]
            body = body[body.iloc[:, 0].astype(str).str.match(r"^E\d{4}$")]
            cls = body.iloc[:, head.index("Class")].astype(str).str.strip()
            gss = _gss(body.iloc[:, 0], body.iloc[:, 1] if head[1] == "ONS Code" else None, emap)
            for measure, pat in items.items():
                col = next((i for i, h in enumerate(head) if re.search(pat, h)), None)
                if col is None:
                    continue
                out.append(pd.DataFrame({"code": gss.to_numpy(), "class": cls.to_numpy(), "year": year,
                                         "measure": measure,
                                         "value": readers.to_number(body.iloc[:, col]).to_numpy() * 1e3,
                                         "source": path}))
    df = pd.concat(out, ignore_index=True)
    df["tier"] = np.where(df["class"].isin(COUNTY_CLASSES), "county", "billing")
    df = df[df["class"].isin((*COUNTY_CLASSES, *BILLING_CLASSES)) & df["code"].notna()]
    return df[["code", "tier", "year", "measure", "value", "source"]]


# -- the build step -----------------------------------------------------------------------


def finance_table(cache_dir: Path | None = None, step: Callable[[str], None] = lambda s: None) -> pd.DataFrame:
    """Every finance measure, long and re-keyed on today's councils (see the module docstring)."""
    emap = ecode_map(cache_dir)
    succ = codes.successors(cache_dir)
    step("finance: council tax 2014-15 to 2023-24")
    ct = council_tax_rows(cache_dir, emap)
    step("finance: bands, spending power, outturn, income")
    bands = band_rows(cache_dir)
    other = pd.concat([csp_rows(cache_dir), spi_rows(cache_dir), rs_rows(cache_dir, emap)], ignore_index=True)
    parts = [rekey(ct, succ), rekey(other[["code", "tier", "year", "measure", "value", "source"]], succ)]
    # 2026-27 Band D: weight by dwellings when districts merged.
    b = bands
    band_d = b[b["measure"] == "ct_band_d_area"][["code", "value", "_w"]]
    r = codes.to_current(band_d, "code", succ, sums=["_w"], means={"value": "_w"})
    parts.append(r.assign(tier="billing", year="2026-27", measure="ct_band_d_area", source=LA_CT)
                 [["code", "tier", "year", "measure", "value", "source", "predecessors"]])
    parts.append(rekey(b[b["measure"] != "ct_band_d_area"][["code", "tier", "year", "measure", "value", "source"]], succ))
    df = pd.concat(parts, ignore_index=True)
    # Council tax raised in the area by every tier: tax base x the area's Band D.
    wide = df[(df["tier"] == "billing") & df["measure"].isin(["ct_taxbase", "ct_band_d_area"])].pivot_table(
        index=["code", "year"], columns="measure", values="value", aggfunc="first").dropna()
    if not wide.empty:
        y = (wide["ct_taxbase"] * wide["ct_band_d_area"]).rename("value").reset_index()
        pred = df[(df["measure"] == "ct_taxbase") & (df["tier"] == "billing")][["code", "year", "predecessors"]]
        y = y.merge(pred, on=["code", "year"], how="left")
        df = pd.concat([df, y.assign(tier="billing", measure="ct_yield_area", source="derived: ct_taxbase x ct_band_d_area")],
                       ignore_index=True)
    df = df.dropna(subset=["value"])
    return df[["code", "tier", "year", "measure", "value", "source", "predecessors"]].sort_values(
        ["tier", "code", "measure", "year"]).reset_index(drop=True)


def indicator_rows(df: pd.DataFrame, population: pd.Series) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """Registry rows and council observations for the finance indicators (pure).

    ``ct_capacity_per_head`` is the tax base times the national average Band D of the
    year (England's row), over today's population; ``income_tax_per_head`` is the SPI
    income tax over today's population.
    """
    bill = df[df["tier"] == "billing"]
    nat = df[(df["tier"] == "england") & (df["measure"] == "ct_band_d_own")].set_index("year")["value"]
    reg, obs = [], []

    def add(iid: str, name: str, unit: str, agg: str, src: str, desc: str, frame: pd.DataFrame) -> None:
        reg.append(reg_row(id=iid, name=name, topic="finance", unit=unit, polarity=0, level=COUNCIL, agg=agg,
                           source=src, description=desc))
        obs.append(pd.DataFrame({"indicator": iid, "level": COUNCIL, "area": frame["code"].to_numpy(),
                                 "period": frame["year"].to_numpy(), "value": frame["value"].to_numpy(float),
                                 "lower": np.nan, "upper": np.nan}))

    bd = bill[bill["measure"] == "ct_band_d_area"]
    add("ct_band_d", "Average Band D council tax, all tiers (£)", "£ a year", "none", TABLE9,
        "Average Band D council tax for the area of the billing authority including parish and major precepts "
        "(county, police, fire, combined authority); DLUHC council tax levels tables 2015-16 to 2023-24, and "
        "2026-27 from PolicyEngine's compilation.", bd)
    tb = bill[bill["measure"] == "ct_taxbase"]
    add("ct_taxbase", "Council tax base (Band D equivalents)", "Band D equivalents", "sum", TABLE9,
        "Council tax base for tax setting (after council tax support, times the collection rate); DLUHC CTR "
        "tables; merged councils are the sum of their predecessors.", tb)
    cap = tb.merge(nat.rename("nat"), left_on="year", right_index=True)
    cap["value"] = cap["value"] * cap["nat"] / cap["code"].map(population)
    add("ct_capacity_per_head", "Council tax capacity per head (£)", "£ per person", "none", TABLE9,
        "Tax base x England's average Band D of the year (all tiers), over the council's mid-year population "
        "(the latest in the atlas): what the council would raise per head at the national average rate.",
        cap.dropna(subset=["value"]))
    it = bill[bill["measure"] == "income_tax"].copy()
    it["value"] = it["value"] / it["code"].map(population)
    add("income_tax_per_head", "Income tax per head (£)", "£ per person", "none", SPI,
        "HMRC Survey of Personal Incomes, income tax liabilities of the council's residents (tax year not "
        "stated by the file; 2021-22 or 2022-23), over the latest mid-year population.",
        it.dropna(subset=["value"]).assign(year="spi"))
    return reg, pd.concat(obs, ignore_index=True)[OBS_COLS]


def sparsity_rows(cache_dir: Path | None) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """Sparsity: square kilometres per 1,000 residents (mySociety register's area and 2020 population).

    An input of the funding lab's need index (a sparse council costs more per head to
    serve); councils formed since 2020 get the sum of their predecessors' areas and people.
    """
    reg = readers.read_csv(REGISTER, cache_dir, required=["gss-code", "area", "pop-2020", "replaced-by"])
    reg = reg.dropna(subset=["gss-code", "area", "pop-2020"])
    reg = reg[reg["gss-code"].astype(str).str.match(r"^[EW]0[6-9]")]
    succ = codes.successors(cache_dir)
    cur = codes.to_current(reg.rename(columns={"gss-code": "code", "pop-2020": "pop"})[["code", "area", "pop"]],
                           "code", succ, sums=["area", "pop"])
    # A current council listed itself and through its predecessors would count twice: keep the larger.
    cur["value"] = cur["area"] / (cur["pop"] / 1000.0)
    row = reg_row(id="pop_sparsity", name="Sparsity (km² per 1,000 residents)", topic="population",
                  unit="km² per 1,000 people", polarity=0, level=COUNCIL, agg="none", source=REGISTER,
                  description="Council area (km², mySociety register) over its 2020 population in thousands; "
                              "councils formed since are the sum of their predecessors.")
    obs = pd.DataFrame({"indicator": "pop_sparsity", "level": COUNCIL, "area": cur["code"], "period": "2020",
                        "value": cur["value"].to_numpy(float), "lower": np.nan, "upper": np.nan})
    return [row], obs[OBS_COLS]


SCHEMA = """CREATE TABLE council_finance (code VARCHAR, tier VARCHAR, year VARCHAR, measure VARCHAR,
            value DOUBLE, source VARCHAR, predecessors VARCHAR)"""


def add_to_atlas(con: duckdb.DuckDBPyConnection, cache_dir: Path | None,
                 step: Callable[[str], None]) -> set[str]:
    """Build step: write ``council_finance`` and register the finance indicators."""
    df = finance_table(cache_dir, step)
    con.execute(SCHEMA)
    con.register("_fin_df", df)
    con.execute("INSERT INTO council_finance SELECT * FROM _fin_df")
    con.unregister("_fin_df")
    pop = con.execute(f"SELECT code, population FROM area WHERE level = '{COUNCIL}'").df()
    reg, obs = indicator_rows(df, pop.set_index("code")["population"])
    sreg, sobs = sparsity_rows(cache_dir)
    register(con, [*reg, *sreg])
    stage(con, pd.concat([obs, sobs], ignore_index=True))
    return {REGISTER, *CTR_FILES, TABLE9, LA_CT, CSP, SPI, *RS_FILES, codes.LA_ALL, codes.CHANGES}
