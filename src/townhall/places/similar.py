"""Similar places: which places are like mine, and why?

For a place, the ten places of the same level closest to it on standardised
indicators. The indicators are a fixed, documented set (:data:`FEATURES`):
the seven IoD 2025 domains, the three Community Needs Index domains, age and
housing tenure from the Census 2021, size (log of population), and where the
level has them population change 2011-2021 (towns), the ONS towns education
score (towns) and ONS local statistics on pay, income, jobs, health and
broadband (councils). Each is turned into a z-score over all places of the
level; the distance between two places is the root mean square of their
z-score differences over the indicators the chosen place has (so a Welsh
town, without the English IoD, is matched on the rest, against places that
have those too).

*Why alike*: for each neighbour, the three indicators on which the two are
closest, chosen among those where the place stands out from the average
(|z| >= 0.5), so 'alike' means sharing something distinctive rather than both
being ordinary; when fewer than three stand out, the closest of the others
fill in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.errors import TownhallError

if TYPE_CHECKING:
    from townhall.atlas.store import Area, Atlas

FEATURES = (
    "imd25_income_score", "imd25_employment_score", "imd25_education_score", "imd25_health_score",
    "imd25_crime_score", "imd25_barriers_score", "imd25_environment_score",
    "cni23_civic_assets_score", "cni23_connectedness_score", "cni23_active_and_engaged_community_score",
    "census21_share_0_15", "census21_share_65_plus", "census21_share_owner_occupied",
    "census21_share_social_rented", "census21_share_private_rented",
    "log_population", "town_pop_change_11_21", "ons_towns_education_score",
    "els_gdhi_per_head", "els_median_weekly_pay", "els_employment_rate", "els_hle_female", "els_hle_male",
    "els_gigabit_broadband", "els_gcse_english_maths",
)
DERIVED_NAMES = {"log_population": "Size (log of population, Census 2021)",
                 "town_pop_change_11_21": "Population change 2011 to 2021 (%)"}
#: An indicator is used only if at least this share of the level's places have it.
MIN_COVERAGE = 0.5
DISTINCT = 0.5


@dataclass
class Similar:
    """The places most like one place.

    Attributes
    ----------
    place : Area
    level : str
    features : list of str
        Indicators used (ids).
    table : DataFrame
        rank, code, name, distance, alike_1, alike_2, alike_3 (indicator
        names), why (the three with both places' z-scores).
    """

    place: Area
    level: str
    features: list[str]
    table: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        rows = [{k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v))
                 for k, v in r.items()} for r in self.table.to_dict(orient="records")]
        return {"place": {"code": self.place.code, "name": self.place.name, "level": self.place.level},
                "features": self.features, "rows": rows}


def feature_matrix(atlas: Atlas, level: str, features: tuple[str, ...] = FEATURES) -> tuple[pd.DataFrame, dict[str, str]]:
    """Latest values of the features at a level: places x features, and feature names."""
    areas = atlas.areas(level).set_index("code")
    ids = [f for f in features if f not in DERIVED_NAMES]
    obs = atlas.query(
        "SELECT indicator, area, value FROM observation WHERE level = ? AND list_contains(?, indicator) "
        "QUALIFY period = max(period) OVER (PARTITION BY indicator)", [level, ids])
    x = obs.pivot_table(index="area", columns="indicator", values="value", aggfunc="first")
    x = x.reindex(areas.index)
    names = dict(atlas.query("SELECT id, name FROM indicator WHERE list_contains(?, id)", [ids]).to_numpy().tolist())
    if "log_population" in features:
        pop = obs_or_population(atlas, level, areas)
        x["log_population"] = np.log10(pop.where(pop > 0))
    if "town_pop_change_11_21" in features and level == "town" and "town_pop_change_11_21" not in x:
        from townhall.places.population import population_change

        x["town_pop_change_11_21"] = population_change(atlas).set_index("code")["change_pct"].reindex(x.index)
    names.update(DERIVED_NAMES)
    keep = [f for f in features if f in x and x[f].notna().mean() >= MIN_COVERAGE]
    return x[keep], {f: names.get(f, f) for f in keep}


def obs_or_population(atlas: Atlas, level: str, areas: pd.DataFrame) -> pd.Series:
    """Census 2021 population where stored at the level, else the area table's population."""
    v = atlas.query("SELECT area, value FROM observation WHERE level = ? AND indicator = 'census21_pop'", [level])
    pop = v.set_index("area")["value"].reindex(areas.index)
    return pop.fillna(areas["population"]).astype(float)


def most_similar(x: pd.DataFrame, code: str, n: int = 10) -> tuple[pd.DataFrame, list[str]]:
    """The ``n`` rows of ``x`` nearest to row ``code`` on z-scores (a pure function).

    Returns
    -------
    (DataFrame, list of str)
        code, distance, alike_1..3 (feature ids) and z-scores; the features used.
    """
    z = (x - x.mean()) / x.std(ddof=0).replace(0, np.nan)
    if code not in z.index:
        raise TownhallError(f"{code} is not among the places compared.")
    zt = z.loc[code]
    used = [f for f in z.columns if pd.notna(zt[f])]
    if len(used) < 3:
        raise TownhallError(f"{code} has too few indicators ({len(used)}) to find similar places.")
    cand = z.loc[z.index != code, used].dropna()
    d = cand.to_numpy() - zt[used].to_numpy()
    dist = np.sqrt((d ** 2).mean(axis=1))
    order = np.argsort(dist, kind="stable")[:n]
    distinct = np.abs(zt[used].to_numpy()) >= DISTINCT
    rows = []
    for i in order:
        gap = np.abs(d[i])
        # Closest first among the distinctive features, then among the rest.
        rank = np.lexsort((gap, ~distinct))[:3]
        rows.append({"code": cand.index[i], "distance": float(dist[i]),
                     **{f"alike_{k + 1}": used[j] for k, j in enumerate(rank)},
                     **{f"z_{k + 1}": (float(zt[used[j]]), float(cand.iloc[i][used[j]])) for k, j in enumerate(rank)}})
    return pd.DataFrame(rows), used


def similar(atlas: Atlas, query: str, level: str | None = None, n: int = 10) -> Similar:
    """The ``n`` places of the same level most like a place, with why.

    Parameters
    ----------
    atlas : Atlas
    query : str
        Name or code (a town first when the name is a town, as in compare).
    level : str, optional
    n : int, default 10

    Returns
    -------
    Similar
    """
    if level is None and not atlas.find(query, level="town").empty and atlas.find(query)["match"].iloc[0] != "code":
        level = "town"
    place = atlas.resolve(query, level)
    x, names = feature_matrix(atlas, place.level)
    if x.shape[1] < 3:
        raise TownhallError(f"Too few indicators at level {place.level!r} to find similar places.",
                            hint="Try a town (--level town) or a council (--level lad).")
    top, used = most_similar(x, place.code, n)
    area_names = atlas.areas(place.level).set_index("code")["name"]
    out = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "code": top["code"],
                        "name": top["code"].map(area_names), "distance": top["distance"]})
    for k in (1, 2, 3):
        out[f"alike_{k}"] = top[f"alike_{k}"].map(names)
    out["why"] = [
        "; ".join(f"{names[r[f'alike_{k}']]} ({_describe_z(r[f'z_{k}'][0])} / {_describe_z(r[f'z_{k}'][1])})"
                  for k in (1, 2, 3))
        for r in top.to_dict(orient="records")
    ]
    return Similar(place, place.level, used, out.reset_index(drop=True))


def _describe_z(z: float) -> str:
    return f"{z:+.1f} sd"
