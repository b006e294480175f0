"""The funding lab's inputs from the atlas: capacity by base, need, current resources.

Reads only the atlas (``council_finance`` and indicators; see
:mod:`townhall.atlas.finance`). Bases:

* ``council_tax``: tax base (Band D equivalents) x England's average Band D of the
  year (all tiers, incl. parish precepts): what each council's area would raise at
  the national average rate. The current system: tax base x the area's own Band D.
* ``income_tax``: a local income tax raising the same total as council tax in the
  year: yield of 1p (1% of total income less the personal allowance of each
  taxpayer, HMRC SPI) times the rate r that raises that total (reported).
* ``mix``: ``mix`` x council tax capacity + (1 - mix) x income tax capacity.
* ``business_rates``: a proxy, Revenue Outturn 2017-18 line 870 (retained income
  from the rate retention scheme), scaled to the year's council tax total; there are
  no official business rates baselines in the data.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.finance import PERSONAL_ALLOWANCE
from townhall.errors import InputError, TownhallError
from townhall.funding.engine import FundingInputs
from townhall.levels import COUNCIL

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

DEFAULT_YEAR = "2023-24"
BASES = ("council_tax", "income_tax", "mix", "business_rates")
ENGLAND = "E92000001"


def _params_text(name: str) -> str:
    return resources.files("townhall.parameters").joinpath("funding", name).read_text(encoding="utf-8")


def finance(atlas: Atlas, measure: str, year: str | None = None, tier: str = "billing") -> pd.Series:
    """One measure of ``council_finance`` by council code (a Series), for a year."""
    try:
        if year is None:
            df = atlas.query("SELECT code, value FROM council_finance WHERE measure = ? AND tier = ?", [measure, tier])
        else:
            df = atlas.query("SELECT code, value FROM council_finance WHERE measure = ? AND tier = ? AND year = ?",
                             [measure, tier, year])
    except Exception as exc:  # duckdb CatalogException: an atlas built before the finance wing
        raise TownhallError("This atlas has no finance table.", hint="Rebuild it with 'townhall build'.") from exc
    return df.set_index("code")["value"].astype(float)


def years(atlas: Atlas) -> list[str]:
    """Years with council tax bases in the atlas, oldest first."""
    df = atlas.query("SELECT DISTINCT year FROM council_finance WHERE measure = 'ct_taxbase' AND tier = 'billing' "
                     "ORDER BY year")
    return df["year"].tolist()


def check_year(atlas: Atlas, year: str) -> str:
    ys = years(atlas)
    if year not in ys:
        raise InputError(f"No council tax data for year {year!r}.", hint="Years: " + ", ".join(ys) + ".")
    return year


def national_band_d(atlas: Atlas, year: str) -> float:
    """England's average Band D of the year (all tiers, incl. parish precepts), £."""
    s = finance(atlas, "ct_band_d_own", year, tier="england")
    if s.empty:
        raise InputError(f"No national Band D for {year}.")
    return float(s.iloc[0])


@dataclass
class Capacity:
    """Capacity by base for every English council in a year (the ``funding capacity`` table).

    Attributes
    ----------
    table : DataFrame
        code, name, population, taxbase, band_d_area, ct_capacity, ct_raised (current),
        yield_1p, it_capacity, ct_capacity_per_head, yield_1p_per_head, income_tax_per_head.
    year : str
    national_band_d : float
    income_rate : float
        The local income tax rate (pence in the pound) that raises the council tax total.
    """

    table: pd.DataFrame
    year: str
    national_band_d: float
    income_rate: float

    def as_dict(self) -> dict[str, Any]:
        from townhall.atlas.store import records

        return {"year": self.year, "national_band_d": self.national_band_d,
                "income_rate_pence": self.income_rate, "councils": records(self.table)}


def capacity(atlas: Atlas, year: str = DEFAULT_YEAR) -> Capacity:
    """Every English council's council tax and income tax capacity in ``year``."""
    check_year(atlas, year)
    nat = national_band_d(atlas, year)
    tb = finance(atlas, "ct_taxbase", year)
    areas = atlas.areas(COUNCIL).set_index("code")
    df = pd.DataFrame({"taxbase": tb})
    df["name"] = areas["name"].reindex(df.index)
    df["population"] = areas["population"].reindex(df.index).astype(float)
    df["band_d_area"] = finance(atlas, "ct_band_d_area", year).reindex(df.index)
    df["ct_capacity"] = df["taxbase"] * nat
    df["ct_raised"] = df["taxbase"] * df["band_d_area"]
    inc = finance(atlas, "income_total", "spi").reindex(df.index)
    payers = finance(atlas, "income_taxpayers", "spi").reindex(df.index)
    df["income_tax"] = finance(atlas, "income_tax", "spi").reindex(df.index)
    df["yield_1p"] = 0.01 * (inc - PERSONAL_ALLOWANCE * payers).clip(lower=0)
    total_ct = float(df["ct_capacity"].sum())
    rate = total_ct / float(df["yield_1p"].sum())
    df["it_capacity"] = df["yield_1p"] * rate
    for c in ("ct_capacity", "ct_raised", "yield_1p", "income_tax", "it_capacity"):
        df[f"{c}_per_head"] = df[c] / df["population"]
    df = df.reset_index(names="code")
    first = ["code", "name", "population", "taxbase", "band_d_area"]
    return Capacity(table=df[first + [c for c in df if c not in first]], year=year, national_band_d=nat,
                    income_rate=rate)


@dataclass
class Need:
    """Units of need per council: the need index (or a user's shares) as need per head.

    Attributes
    ----------
    table : DataFrame
        code, name, population, score (0-1; NaN for a user file), need_per_head, need (units,
        summing to the population of the councils given), share.
    label : str
    """

    table: pd.DataFrame
    label: str

    def as_dict(self) -> dict[str, Any]:
        from townhall.atlas.store import records

        return {"need": self.label, "councils": records(self.table)}


#: The need index's scores by atlas file (path, size, mtime) and spec text: building the
#: composite takes a second, and the lab asks for it on every run.
_SCORES: dict[tuple[Any, ...], tuple[pd.Series, str]] = {}


def _atlas_key(atlas: Atlas) -> tuple[Any, ...]:
    p = Path(atlas.path)
    st = p.stat() if p.exists() else None
    return (str(p), st.st_size if st else 0, st.st_mtime_ns if st else 0)


def need_settings() -> dict[str, Any]:
    """The ``[need]`` table of ``parameters/funding/need.toml``, checked."""
    raw = tomllib.loads(_params_text("need.toml")).get("need", {})
    low, high = raw.get("low"), raw.get("high")
    if not (isinstance(low, int | float) and isinstance(high, int | float) and 0 < low < high):
        raise InputError("Bad need settings at [need], keys 'low' and 'high': need 0 < low < high.",
                         file="parameters/funding/need.toml")
    return raw


def need_index(atlas: Atlas, codes: list[str], population: pd.Series) -> Need:
    """The shipped need index over ``codes``, as units of need (composite builder, min-max)."""
    from townhall.measures.spec import build_index, parse_spec

    cfg = need_settings()
    text = _params_text(cfg.get("spec", "need_index.toml"))
    key = (*_atlas_key(atlas), text)
    if key not in _SCORES:
        spec = parse_spec(text, file="parameters/funding/need_index.toml")
        run = build_index(spec, atlas, draws=0)
        _SCORES.clear()  # one atlas at a time
        _SCORES[key] = (run.table.set_index("code")["score"].astype(float), spec.index.name)
    scores, name = _SCORES[key]
    score = scores.reindex(codes)
    score = score.fillna(score.mean())
    lo, hi = float(score.min()), float(score.max())
    s01 = (score - lo) / (hi - lo) if hi > lo else score * 0
    per_head = cfg["low"] + (cfg["high"] - cfg["low"]) * s01
    return _need_frame(codes, population, per_head, s01, name)


def _need_frame(codes: list[str], population: pd.Series, per_head: pd.Series, score: pd.Series, label: str) -> Need:
    pop = population.reindex(codes).astype(float)
    units = per_head * pop
    units = units * pop.sum() / units.sum()
    df = pd.DataFrame({"code": codes, "population": pop.to_numpy(), "score": score.reindex(codes).to_numpy(),
                       "need_per_head": (units / pop).to_numpy(), "need": units.to_numpy(),
                       "share": (units / units.sum()).to_numpy()})
    return Need(table=df, label=label)


def read_need_csv(path: str | Path, codes: list[str], population: pd.Series) -> Need:
    """Need shares from a user's CSV: columns ``code`` and ``share`` (or ``need``).

    Every council in ``codes`` must be there once with a positive number; shares are
    rescaled to sum to one. Errors name the file, row and column.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("No need file.", file=str(p))
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Cannot read the need file: {exc}", file=str(p)) from None
    if not rows:
        raise InputError("The need file has no rows.", file=str(p))
    cols = list(rows[0])
    col = "share" if "share" in cols else "need" if "need" in cols else None
    if "code" not in cols or col is None:
        raise InputError(f"The need file needs columns 'code' and 'share' (or 'need'); it has {', '.join(cols)}.",
                         file=str(p), column="code" if "code" not in cols else "share")
    vals: dict[str, float] = {}
    for i, r in enumerate(rows, start=2):  # row 1 is the header
        code = (r.get("code") or "").strip()
        if code in vals:
            raise InputError("Council listed twice.", file=str(p), row=i, column="code", value=code)
        try:
            v = float(r.get(col) or "")
        except ValueError:
            raise InputError("Not a number.", file=str(p), row=i, column=col, value=r.get(col)) from None
        if not np.isfinite(v) or v <= 0:
            raise InputError("Need must be a positive number.", file=str(p), row=i, column=col, value=r.get(col))
        vals[code] = v
    unknown = [c for c in vals if c not in set(codes)]
    if unknown:
        row = next(i for i, r in enumerate(rows, start=2) if (r.get("code") or "").strip() == unknown[0])
        raise InputError("Not an English council in the funding data.", file=str(p), row=row, column="code",
                         value=unknown[0], hint="Use current GSS codes (E06, E07, E08, E09).")
    missing = [c for c in codes if c not in vals]
    if missing:
        raise InputError(f"{len(missing)} council(s) have no need share, e.g. {', '.join(missing[:5])}.",
                         file=str(p), column="code", hint="Give every council a share.")
    share = pd.Series(vals).reindex(codes)
    pop = population.reindex(codes).astype(float)
    per_head = share / pop
    return _need_frame(codes, population, per_head / per_head.mean(), pd.Series(np.nan, index=codes),
                       f"need shares from {p.name}")


def inputs(atlas: Atlas, base: str = "council_tax", year: str = DEFAULT_YEAR, need: str | Path | None = None,
           mix: float = 0.5) -> FundingInputs:
    """Funding inputs for every English council with a tax base in ``year``.

    Parameters
    ----------
    base : {'council_tax', 'income_tax', 'mix', 'business_rates'}
    year : str
        Financial year of the tax base ('2014-15' ... '2023-24').
    need : str or Path, optional
        None or 'index' for the shipped need index, 'population' for need per head = 1,
        or a CSV file of need shares.
    mix : float
        Weight of council tax in the 'mix' base.
    """
    if base not in BASES:
        raise InputError(f"Unknown base {base!r}.", hint="Bases: " + ", ".join(BASES) + ".")
    if not 0 <= mix <= 1:
        raise InputError(f"Mix {mix} is outside [0, 1].")
    cap = capacity(atlas, year)
    t = cap.table.dropna(subset=["population", "taxbase"])
    notes = [f"Council tax capacity: tax base {year} x England's average Band D £{cap.national_band_d:,.2f}."]
    if base in ("income_tax", "mix"):
        t = t.dropna(subset=["yield_1p"])
        notes.append(f"Local income tax: {cap.income_rate:.2f}p in the pound on taxable income (HMRC SPI) raises "
                     "the same total as council tax.")
    codes = t["code"].tolist()
    pop = t.set_index("code")["population"]
    if need is None or str(need) == "index":
        nd = need_index(atlas, codes, pop)
    elif str(need) == "population":
        nd = _need_frame(codes, pop, pd.Series(1.0, index=codes), pd.Series(np.nan, index=codes), "population")
    else:
        nd = read_need_csv(need, codes, pop)
    ct = t["ct_capacity"].to_numpy(float)
    if base == "council_tax":
        c = ct
    elif base == "income_tax":
        c = t["it_capacity"].to_numpy(float)
    elif base == "mix":
        c = mix * ct + (1 - mix) * t["it_capacity"].to_numpy(float)
        notes.append(f"Mixed base: {mix:.0%} council tax, {1 - mix:.0%} local income tax.")
    else:
        br = finance(atlas, "ro_retained_rates", "2017-18").reindex(codes).fillna(0.0).clip(lower=0).to_numpy(float)
        c = br * ct.sum() / br.sum()
        notes.append("Business rates proxy: Revenue Outturn 2017-18 line 870 (retained rates), scaled to the "
                     "council tax total; no official baselines are in the data.")
    current = t["ct_raised"].fillna(t["ct_capacity"]).to_numpy(float)
    return FundingInputs(codes=np.asarray(codes, dtype=object), names=t["name"].to_numpy(dtype=object),
                         population=pop.to_numpy(float), need=nd.table["need"].to_numpy(float), capacity=c,
                         current=current, base=base, year=year, need_label=nd.label, notes=tuple(notes))
