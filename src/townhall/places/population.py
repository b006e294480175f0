"""Population change of English towns, 2011 to 2021.

The 2011 figure is the ONS towns table's (usual residents of the 2011
built-up area). The 2021 figure is the Census 2021 population of the LSOAs
(2021) whose population-weighted centroid lies inside the town's **2011**
boundary (the atlas's roll-up of ``census21_pop``). So the change counts
growth inside the 2011 footprint plus whole LSOAs at the edge whose centre
falls inside; new estates built beyond the 2011 boundary are missed, and an
LSOA straddling the boundary counts wholly in or wholly out. Read small towns'
figures (a handful of LSOAs) with care.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from townhall.atlas.registry import POP_CHANGE, POP_CHANGE_REGISTRY

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

INDICATOR = POP_CHANGE
REGISTRY = POP_CHANGE_REGISTRY


def population_change(atlas: Atlas) -> pd.DataFrame:
    """Population 2011 (towns table) and 2021 (Census, LSOAs in the 2011 boundary) of each English town.

    Returns
    -------
    DataFrame
        code, name, pop_2011, pop_2021, change (people), change_pct.
    """
    towns = atlas.query("SELECT code, name, population FROM area WHERE level = 'town' AND population_year = 2011 "
                        "ORDER BY code")
    p21 = atlas.values("census21_pop", level="town").set_index("area")["value"]
    return change_frame(towns.rename(columns={"population": "pop_2011"}), p21)


def change_frame(towns: pd.DataFrame, pop_2021: pd.Series) -> pd.DataFrame:
    """Add 2021 population and the change to a frame of code, name, pop_2011 (a pure function)."""
    out = towns[["code", "name", "pop_2011"]].copy()
    out["pop_2021"] = out["code"].map(pop_2021).astype(float)
    out["change"] = out["pop_2021"] - out["pop_2011"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["change_pct"] = 100.0 * out["change"] / out["pop_2011"]
    return out.reset_index(drop=True)


def population_change_observations(atlas: Atlas) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """The change as an atlas indicator: (registry rows, observations) like ``atlas.indicators``.

    Needs the census roll-up to towns, so it belongs after the roll-up step of the build.
    """
    df = population_change(atlas).dropna(subset=["change_pct"])
    obs = pd.DataFrame({"indicator": INDICATOR, "level": "town", "area": df["code"], "period": "2011-2021",
                        "value": df["change_pct"], "lower": np.nan, "upper": np.nan})
    return [dict(REGISTRY)], obs.reset_index(drop=True)
