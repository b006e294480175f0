"""The towns table's education measures, and population change 2011-2021."""

from __future__ import annotations

import pandas as pd
import pytest

from townhall.atlas.education import town_education
from townhall.atlas.registry import OBS_COLS, REG_COLS
from townhall.places.population import (
    change_frame,
    population_change,
    population_change_observations,
)


def test_town_education_shape_and_spot_values(source_cache):
    reg, obs = town_education(source_cache)
    assert len(reg) == 18 and set(reg[0]) == set(REG_COLS) and list(obs.columns) == OBS_COLS
    assert {r["level"] for r in reg} == {"town"} and len({r["id"] for r in reg}) == 18
    v = obs.set_index(["area", "indicator"])["value"]
    # MANIFEST spot values: Carlton in Lindrick education score -0.533750422; Birmingham KS4 cohort 13,344.
    assert v.loc[("E34000007", "ons_towns_education_score")] == pytest.approx(-0.533750422)
    assert v.loc[("E35001166", "ons_towns_ks4_cohort")] == 13_344
    assert v.loc[("E34000007", "ons_towns_level4_35_64")] == 1.0  # 'Low' band
    assert obs["area"].nunique() == 1100  # the four summary rows without a code are left out
    pol = {r["id"]: r["polarity"] for r in reg}
    assert pol["ons_towns_out_of_work_at_19"] == -1 and pol["ons_towns_ks4_attainment"] == 1


def test_change_frame_by_hand():
    towns = pd.DataFrame({"code": ["A", "B"], "name": ["a", "b"], "pop_2011": [1000.0, 2000.0]})
    out = change_frame(towns, pd.Series({"A": 1100.0}))
    assert out["change_pct"].iloc[0] == pytest.approx(10.0)
    assert pd.isna(out["pop_2021"].iloc[1])


def test_population_change_of_barnsley(atlas):
    p = population_change(atlas).set_index("code")
    assert len(p) == 1100
    # Towns table 2011: 91,297; Census 2021 LSOAs in its 2011 boundary: 94,259.
    assert (p.loc["E35000961", "pop_2011"], p.loc["E35000961", "pop_2021"]) == (91_297, 94_259)
    assert p.loc["E35000961", "change_pct"] == pytest.approx(3.2444, abs=1e-4)
    reg, obs = population_change_observations(atlas)
    assert reg[0]["id"] == "town_pop_change_11_21" and len(obs) == 1100
