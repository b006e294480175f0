"""Compare: any two places of the same level, side by side, or a town against its city.

>>> c = compare(atlas, "Barnsley", "Sheffield")   # both towns: the town level is chosen
>>> c = compare(atlas, "Barnsley")                # the town against its paired city
>>> c.table                                       # one row per indicator

Each indicator held for both places gives a row: both values, the gap signed
so that positive means the first place (A) does better (for indicators with
no better direction, the plain difference A minus B), an interval where the
data allow one, and a verdict:

- indicators held for small areas (LSOAs) at levels built from them (towns,
  councils, seats, regions...) get a bootstrap interval resampling the small
  areas of both places, exactly as :mod:`townhall.places.gaps` does for towns;
- indicators published with confidence limits (e.g. ONS local statistics)
  get ``gap +/- 1.96 * sqrt(se_a**2 + se_b**2)`` with each se taken as a
  quarter of the published 95% interval's width, read as normal;
- others have no interval and say so in the verdict.

Levels: a name may be several places (Barnsley is a council, a town, a
built-up area and a travel-to-work area). Both names are looked up at every
level; the comparison is made at a level both have, the town level first when
both are towns, otherwise the most prominent shared level. A pair with no
level in common (a town against a seat) is refused with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.errors import PlaceNotFoundError, TownhallError
from townhall.levels import REGION, SMALL_AREA_PARENTS, TOWN, check_level
from townhall.places.gaps import DEFAULT_DRAWS, DEFAULT_SEED, Gaps, gap_indicators, load_small_areas

if TYPE_CHECKING:
    from townhall.atlas.store import Area, Atlas

#: Rows shown first (and in the short table), where the level has them.
HEADLINE_ROWS = (
    "census21_pop", "town_pop_change_11_21", "census21_share_65_plus", "census21_share_0_15",
    "imd25_imd_score", "imd25_income_score", "imd25_employment_score", "imd25_education_score",
    "imd25_health_score", "imd25_crime_score", "imd25_barriers_score", "imd25_environment_score",
    "imd25_imd_natpct", "imd19_imd_natpct", "imd19_imd_score", "wimd19_imd_score", "cni23_score",
    "cni23_left_behind",
    "census21_share_owner_occupied", "census21_share_social_rented",
    "ons_towns_education_score", "ons_towns_ks4_attainment", "ons_towns_level6_by_22",
    "els_gdhi_per_head", "els_median_weekly_pay", "els_employment_rate", "els_hle_female", "els_hle_male",
    "els_gigabit_broadband", "els_housing_affordability_ratio", "els_gcse_english_maths",
)
#: Short labels for tables in narrow terminals.
SHORT = {
    "census21_pop": "Population 2021", "town_pop_change_11_21": "Population change 2011-21 %",
    "census21_share_65_plus": "Share aged 65+", "census21_share_0_15": "Share aged 0-15",
    "imd25_imd_score": "IMD 2025 score", "imd25_income_score": "Income deprivation",
    "imd25_employment_score": "Employment deprivation", "imd25_education_score": "Education deprivation",
    "imd25_health_score": "Health deprivation", "imd25_crime_score": "Crime",
    "imd25_barriers_score": "Barriers to housing, services", "imd25_environment_score": "Living environment",
    "imd25_imd_natpct": "IMD 2025 national percentile", "imd19_imd_natpct": "IMD 2019 national percentile",
    "imd19_imd_score": "IMD 2019 score", "wimd19_imd_score": "Welsh IMD 2019 score", "cni23_score": "Community Needs Index", "cni23_left_behind": "Share in left-behind areas",
    "census21_share_owner_occupied": "Owner-occupied homes", "census21_share_social_rented": "Social rented homes",
    "ons_towns_education_score": "Education score (ONS)", "ons_towns_ks4_attainment": "GCSE attainment 2013",
    "ons_towns_level6_by_22": "Degree by age 22", "els_gdhi_per_head": "Household income per head",
    "els_median_weekly_pay": "Median weekly pay", "els_employment_rate": "Employment rate",
    "els_hle_female": "Healthy life expectancy (f)", "els_hle_male": "Healthy life expectancy (m)",
    "els_gigabit_broadband": "Gigabit broadband", "els_housing_affordability_ratio": "House price to earnings",
    "els_gcse_english_maths": "GCSE English and maths",
}


def short_name(indicator: str, name: str | None) -> str:
    """A short label: :data:`SHORT`, else the name without its '(source year)' tail and 'score'."""
    import re

    if indicator in SHORT:
        return SHORT[indicator]
    n = name if isinstance(name, str) and name else indicator
    n = re.sub(r"\s*\((IoD|Census|OCSI)[^)]*\)$", "", n)
    return re.sub(r"\s+score$", "", n)


#: Levels whose places are made of LSOAs in the atlas (so small-area intervals exist).
SMALL_AREA_LEVELS = SMALL_AREA_PARENTS
COLUMNS = ["indicator", "name", "topic", "unit", "polarity", "period", "value_a", "value_b", "gap", "lower",
           "upper", "interval", "verdict", "n_a", "n_b"]


class MismatchError(TownhallError):
    """Two places that cannot be compared (different kinds of place, or the same place twice)."""


@dataclass
class Comparison:
    """Two places side by side.

    Attributes
    ----------
    a, b : Area
    level : str
        The level of A (B is of the same level, except a town's paired city
        London, which is the London region).
    table : DataFrame
        One row per indicator: indicator, name, topic, unit, polarity, period,
        value_a, value_b, gap (positive = A better; A minus B where no
        direction), lower, upper, interval ('bootstrap', 'published' or ''),
        verdict ('better', 'worse', 'no clear difference', 'better (no
        interval)', 'worse (no interval)', 'higher', 'lower', 'same'), n_a and
        n_b (small areas behind the interval).
    paired_by : str or None
        The pairing rule, when B is A's paired city.
    km : float or None
        Distance between the two population-weighted centres.
    """

    a: Area
    b: Area
    level: str
    table: pd.DataFrame
    paired_by: str | None = None
    km: float | None = None
    n_draws: int = DEFAULT_DRAWS
    seed: int = DEFAULT_SEED
    notes: list[str] = field(default_factory=list)

    def headline(self) -> pd.DataFrame:
        """The rows of :data:`HEADLINE_ROWS` this comparison has, in that order."""
        order = {i: k for k, i in enumerate(HEADLINE_ROWS)}
        t = self.table[self.table["indicator"].isin(order)]
        return t.iloc[t["indicator"].map(order).argsort()].reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """How many indicators A is clearly better, clearly worse, or not clearly different on."""
        v = self.table["verdict"]
        return {"better": int((v == "better").sum()), "worse": int((v == "worse").sum()),
                "no clear difference": int((v == "no clear difference").sum())}

    def as_dict(self) -> dict[str, Any]:
        """Everything, ready for JSON."""
        def area(x: Area) -> dict[str, Any]:
            return {"code": x.code, "name": x.name, "level": x.level, "lat": x.lat, "lon": x.lon,
                    "population": x.population, "population_year": x.population_year}

        rows = [{k: _plain(v) for k, v in r.items()} for r in self.table.to_dict(orient="records")]
        return {"a": area(self.a), "b": area(self.b), "level": self.level, "paired_by": self.paired_by,
                "km": self.km, "n_draws": self.n_draws, "seed": self.seed, "counts": self.counts(),
                "notes": self.notes, "rows": rows}


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        return None if isinstance(v, float) and not np.isfinite(v) else v
    return v


# -- which places ---------------------------------------------------------------------------
def _candidates(atlas: Atlas, query: str) -> pd.DataFrame:
    """Every level at which a name (or code) names exactly one place: code, name, level."""
    df = atlas.find(query, limit=50)
    if df.empty:
        raise PlaceNotFoundError(query, atlas.suggest(query))
    kind = df["match"].iloc[0]
    if kind == "code":
        return df.head(1)[["code", "name", "level"]]
    if kind == "exact":
        return df[df["match"] == "exact"][["code", "name", "level"]]
    a = atlas.resolve(query)  # one loose match, or a clear 'which one?' error
    return pd.DataFrame([{"code": a.code, "name": a.name, "level": a.level}])


def resolve_pair(atlas: Atlas, a: str, b: str, level: str | None = None) -> tuple[Area, Area]:
    """The two places to compare, at one level (see the module notes for the choice).

    Raises
    ------
    PlaceNotFoundError
        A name matches nothing.
    AmbiguousPlaceError
        A name matches several places of the chosen level.
    MismatchError
        The two have no level in common, or are the same place.
    """
    from townhall.levels import LEVELS

    if level:
        check_level(level)
        pa, pb = atlas.resolve(a, level), atlas.resolve(b, level)
    else:
        ca, cb = _candidates(atlas, a), _candidates(atlas, b)
        common = set(ca["level"]) & set(cb["level"])
        if not common:
            raise MismatchError(
                f"Cannot compare {_describe(a, ca)} with {_describe(b, cb)}: they are different kinds of place.",
                hint="Compare places of the same level (two towns, two councils, two seats...), "
                     "or give --level to choose one.")
        chosen = "town" if "town" in common else min(common, key=lambda lv: list(LEVELS).index(lv))
        pa, pb = _pick(atlas, a, ca, chosen), _pick(atlas, b, cb, chosen)
    if pa.code == pb.code and pa.level == pb.level:
        raise MismatchError(f"{a!r} and {b!r} are the same place ({pa.name}, {pa.code}).",
                            hint="Give two different places, or one town alone to compare it with its city.")
    return pa, pb


def _pick(atlas: Atlas, query: str, cands: pd.DataFrame, level: str) -> Area:
    """The one candidate of a level (an exact name beats longer names that start with it)."""
    at = cands[cands["level"] == level]
    if len(at) == 1:
        return atlas.area(str(at["code"].iloc[0]), level)
    return atlas.resolve(query, level)  # several exact matches: a clear 'which one?'


def _describe(query: str, cands: pd.DataFrame) -> str:
    from townhall.levels import LEVELS

    kinds = ", ".join(dict.fromkeys(LEVELS.get(lv, lv) for lv in cands["level"]))
    return f"{query!r} ({kinds})"


def resolve_town(atlas: Atlas, query: str, level: str | None = None) -> Area:
    """The town a name means (a town first, even where a council shares the name)."""
    if level and level != "town":
        raise MismatchError(
            f"Only towns are paired with a city, so {query!r} alone cannot be compared at level {level!r}.",
            hint="Give a second place to compare with.")
    hits = atlas.find(query, level="town")
    if hits.empty:
        other = atlas.find(query)
        if other.empty:
            raise PlaceNotFoundError(query, atlas.suggest(query))
        raise MismatchError(
            f"{query!r} is not a town ({_describe(query, other.head(3))}); only towns are paired with a city.",
            hint="Give a second place to compare with, e.g. townhall compare 'Wigan' 'Bolton'.")
    return atlas.resolve(query, "town")


# -- the comparison -------------------------------------------------------------------------
def compare(atlas: Atlas, a: str, b: str | None = None, *, level: str | None = None, rule: str = "nearest",
            n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, london: bool = True) -> Comparison:
    """Compare two places of the same level, or a town with its paired city.

    Parameters
    ----------
    atlas : Atlas
    a, b : str
        Names or codes. Without ``b``, ``a`` must be a town; it is compared with
        the city it is paired with under ``rule``.
    level : str, optional
        Force a level (else chosen as in :func:`resolve_pair`).
    rule : {'nearest', 'ttwa'}
        Pairing rule when ``b`` is not given.
    n_draws, seed
        Bootstrap draws and seed.
    london : bool, default True
        Count London as a city when pairing.

    Returns
    -------
    Comparison
    """
    from townhall.places.pairing import Pairing, haversine_km

    paired_by, notes = None, []
    if b is None:
        pa = resolve_town(atlas, a, level)
        p = Pairing(atlas, london=london)
        if pa.code in set(p.cities["code"]):
            raise MismatchError(f"{pa.name} is a city: only towns are paired with a city.",
                                hint="Give a second place to compare with.")
        if pa.code not in set(p.table["town"]):
            raise MismatchError(f"{pa.name} ({pa.code}) is not one of the English towns paired with a city.",
                                hint="Welsh towns have no ONS typology or pairing; give a second place.")
        city = p.city_of(pa.code, rule)
        if city is None:
            raise TownhallError(f"{pa.name}'s travel-to-work area has no city, so it has no '{rule}' pairing.",
                                hint="Use --rule nearest, or give a second place.")
        pb = atlas.area(str(city["code"]), str(city["level"]))
        paired_by = rule
    else:
        pa, pb = resolve_pair(atlas, a, b, level)
    km = None
    if None not in (pa.lat, pa.lon, pb.lat, pb.lon):
        km = float(haversine_km(pa.lat, pa.lon, pb.lat, pb.lon))
    table = comparison_table(atlas, pa, pb, n_draws=n_draws, seed=seed)
    if table.empty:
        notes.append(f"The atlas holds no indicator for both {pa.name} and {pb.name}.")
    return Comparison(pa, pb, pa.level, table, paired_by, km, n_draws, seed, notes)


def comparison_table(atlas: Atlas, pa: Area, pb: Area, *, n_draws: int = DEFAULT_DRAWS,
                     seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The side-by-side table of two areas (see :class:`Comparison`)."""
    stored = _stored(atlas, pa, pb)
    boot = _bootstrapped(atlas, pa, pb, n_draws, seed)
    if pa.level == TOWN and pb.level in (TOWN, REGION) and "town_pop_change_11_21" not in set(stored["indicator"]):
        stored = pd.concat([stored, _population_change(atlas, pa, pb)], ignore_index=True)
    # Small-area rows replace the stored roll-ups of the same indicator (same value for LSOA 2021
    # indicators; for LSOA 2011 ones the better town links of places.links).
    stored = stored[~stored["indicator"].isin(set(boot["indicator"]))]
    t = pd.concat([boot, stored], ignore_index=True)
    # Only what both places have can be compared (a Welsh town has no IoD 2025, a region no town data).
    t = t[t["value_a"].notna() & t["value_b"].notna()]
    if t.empty:
        return pd.DataFrame(columns=COLUMNS)
    pol = t["polarity"].fillna(0).astype(int).to_numpy()
    diff = t["value_a"].to_numpy(float) - t["value_b"].to_numpy(float)
    t["gap"] = np.where(pol != 0, pol * diff, diff)
    pub = t["interval"].eq("published")
    se = np.sqrt(((t["upper_a"] - t["lower_a"]) / 3.92) ** 2 + ((t["upper_b"] - t["lower_b"]) / 3.92) ** 2)
    t.loc[pub, "lower"] = (t["gap"] - 1.96 * se)[pub]
    t.loc[pub, "upper"] = (t["gap"] + 1.96 * se)[pub]
    t["verdict"] = _verdicts(t["gap"].to_numpy(float), t["lower"].to_numpy(float), t["upper"].to_numpy(float), pol)
    order = {i: k for k, i in enumerate(HEADLINE_ROWS)}
    t["_o"] = t["indicator"].map(order).fillna(len(order))
    t = t.sort_values(["_o", "topic", "indicator"], kind="stable")
    return t[COLUMNS].reset_index(drop=True)


def _verdicts(gap: np.ndarray, lower: np.ndarray, upper: np.ndarray, pol: np.ndarray) -> np.ndarray:
    out = np.empty(len(gap), dtype=object)
    has = ~np.isnan(lower) & ~np.isnan(upper)
    for i in range(len(gap)):
        g = gap[i]
        if np.isnan(g):
            out[i] = None
        elif pol[i] == 0:
            out[i] = "higher" if g > 0 else "lower" if g < 0 else "same"
        elif has[i]:
            out[i] = "better" if lower[i] > 0 else "worse" if upper[i] < 0 else "no clear difference"
        else:
            out[i] = "better (no interval)" if g > 0 else "worse (no interval)" if g < 0 else "same"
    return out


def _stored(atlas: Atlas, pa: Area, pb: Area) -> pd.DataFrame:
    """Indicators stored at each place's level: the latest period, both places where possible."""
    df = atlas.query(
        "SELECT o.indicator, o.period, o.area, o.value, o.lower, o.upper FROM observation o "
        "WHERE (o.area = ? AND o.level = ?) OR (o.area = ? AND o.level = ?)",
        [pa.code, pa.level, pb.code, pb.level])
    cols = ["indicator", "name", "topic", "unit", "polarity", "period", "value_a", "value_b", "lower_a", "upper_a",
            "lower_b", "upper_b", "lower", "upper", "interval", "n_a", "n_b"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    a = df[df["area"] == pa.code].drop(columns="area")
    b = df[df["area"] == pb.code].drop(columns="area")
    m = a.merge(b, on=["indicator", "period"], how="outer", suffixes=("_a", "_b"))
    m["both"] = m["value_a"].notna() & m["value_b"].notna()
    m = m.sort_values(["indicator", "both", "period"]).drop_duplicates("indicator", keep="last")
    reg = atlas.query("SELECT id AS indicator, name, topic, unit, polarity FROM indicator")
    m = m.merge(reg, on="indicator", how="left")
    m["interval"] = np.where(m[["lower_a", "upper_a", "lower_b", "upper_b"]].notna().all(axis=1), "published", "")
    m["lower"], m["upper"], m["n_a"], m["n_b"] = np.nan, np.nan, np.nan, np.nan
    return m[cols]


def _bootstrapped(atlas: Atlas, pa: Area, pb: Area, n_draws: int, seed: int) -> pd.DataFrame:
    """Rows for every small-area indicator, with the bootstrap interval of the gap."""
    frames = []
    for small, levels in SMALL_AREA_LEVELS.items():
        if pa.level not in levels or pb.level not in levels:
            continue
        places: dict[str, list[str]] = {}
        for p in (pa, pb):
            places.setdefault(p.level, []).append(p.code)
        sa = load_small_areas(atlas, small, places)
        if not sa.indicators or sa.n(pa.code) == 0 or sa.n(pb.code) == 0:
            continue
        g = Gaps([sa], pd.DataFrame({"town": [pa.code], "city": [pb.code]}), n_draws=n_draws, seed=seed, keep=())
        frames.append(g.table)
    if not frames:
        return pd.DataFrame(columns=["indicator"])
    t = pd.concat(frames, ignore_index=True)
    reg = pd.concat([gap_indicators(atlas, s) for s in SMALL_AREA_LEVELS], ignore_index=True).drop_duplicates("id")
    t = t.merge(reg.rename(columns={"id": "indicator", "polarity": "pol"}), on="indicator", how="left")
    return pd.DataFrame({
        "indicator": t["indicator"], "name": t["name"], "topic": t["topic"], "unit": t["unit"],
        "polarity": t["polarity"], "period": t["period"], "value_a": t["town_value"], "value_b": t["city_value"],
        "lower": t["lower"], "upper": t["upper"], "interval": "bootstrap", "n_a": t["n_town"], "n_b": t["n_city"],
    })


def _population_change(atlas: Atlas, pa: Area, pb: Area) -> pd.DataFrame:
    from townhall.places.population import REGISTRY, population_change

    pc = population_change(atlas).set_index("code")["change_pct"]
    va, vb = pc.get(pa.code, np.nan), pc.get(pb.code, np.nan)
    if np.isnan(va) and np.isnan(vb):
        return pd.DataFrame()
    return pd.DataFrame([{"indicator": REGISTRY["id"], "name": REGISTRY["name"], "topic": REGISTRY["topic"],
                          "unit": REGISTRY["unit"], "polarity": 0, "period": "2011-2021", "value_a": va,
                          "value_b": vb, "interval": ""}])
