"""The headline share: the rule on synthetic towns, the interval, the real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from townhall.places.gaps import HEADLINE, Gaps, SmallAreas
from townhall.places.summary import DEMOS, Headline, centred_interval, headline, worse_overall


def test_rule_needs_the_composite_and_four_domains():
    composite = np.array([-1.0, -1.0, 2.0, -0.5])
    domains = np.array([[-1, -1, -1, -1, 1, 1, 1],   # worse on 4 of 7 and the composite: worse
                        [-1, -1, -1, 1, 1, 1, 1],    # only 3 domains
                        [-1, -1, -1, -1, -1, -1, -1],  # all domains but not the composite
                        [-1, -1, -1, -1, -1, -1, -1]]).T
    assert worse_overall(composite, domains).tolist() == [True, False, False, True]
    assert worse_overall(composite, domains, min_domains=3).tolist() == [True, True, False, True]


def test_centred_interval():
    draws = np.linspace(0.3, 0.7, 1001)  # centred on 0.5: the plain percentile interval
    assert centred_interval(0.5, draws, (0.025, 0.975)) == pytest.approx((0.31, 0.69))
    # Draws running 0.1 high (mean 0.5, estimate 0.4): the same spread, moved down by 0.1.
    assert centred_interval(0.4, draws, (0.025, 0.975)) == pytest.approx((0.21, 0.59))


def _synthetic() -> tuple[Gaps, pd.DataFrame]:
    """Four towns and one city, each place a single-valued block of LSOAs (no resampling noise).

    Scores: lower is better. The city scores 10 on everything. T1 scores 20 on all
    (worse), T2 5 on all (better), T3 is worse on the composite only, T4 worse on the
    composite and four domains.
    """
    scores = {"T1": [20] * 8, "T2": [5] * 8, "T3": [20] + [5] * 7, "T4": [20, 20, 20, 20, 20, 5, 5, 5],
              "C": [10] * 8}
    values, groups, r = [], {}, 0
    for code, s in scores.items():
        values += [s] * 3
        groups[code] = (np.arange(r, r + 3), np.ones(3))
        r += 3
    sa = SmallAreas("lsoa21", list(HEADLINE), -np.ones(8), np.array(values, float), np.ones(r), groups)
    pairs = pd.DataFrame({"town": ["T1", "T2", "T3", "T4"], "city": "C"})
    typ = pd.DataFrame({"town": ["T1", "T2", "T3", "T4"], "town_name": ["a", "b", "c", "d"],
                        "size": ["Small Towns", "Small Towns", "Large Towns", "Large Towns"],
                        "region": "North East", "coastal": ["Coastal", "Non-coastal", "Non-coastal", "Non-coastal"],
                        "job_density": "Working", "income_deprivation": "Mid deprivation towns"})
    return Gaps([sa], pairs, n_draws=100, seed=1), typ


def test_headline_on_synthetic_towns():
    g, typ = _synthetic()
    h = Headline(g, typ)
    assert h.towns.set_index("town")["worse"].to_dict() == {"T1": True, "T2": False, "T3": False, "T4": True}
    assert (h.n_towns, h.n_worse, h.share) == (4, 2, 0.5)
    assert (h.lower, h.upper) == (0.5, 0.5)  # no noise within places
    b = h.breakdown.set_index(["by", "group"])
    assert b.loc[("size", "Small Towns"), "share"] == 0.5 and b.loc[("size", "Large Towns"), "worse"] == 1
    assert b.loc[("coastal", "Coastal"), "share"] == 1.0
    assert h.towns.set_index("town").loc["T1", "composite_gap"] == -10.0
    assert h.n_falling_behind == 3  # T1, T3, T4: composite interval all below zero
    assert "at least 4 of the 7" in h.method and "26 of 42" in h.method
    assert h.as_dict()["worse"] == 2


def test_demos_reference():
    assert (DEMOS["worse"], DEMOS["towns"]) == (26, 42) and DEMOS["share"] == pytest.approx(0.619, abs=1e-3)


@pytest.mark.slow
def test_headline_for_every_english_town(atlas):
    h = headline(atlas, n_draws=200)
    assert h.n_towns == 1082
    assert h.share == h.n_worse / 1082
    assert h.lower <= h.share <= h.upper
    for by, part in h.breakdown.groupby("by"):
        assert part["towns"].sum() == 1082, by
        assert part["worse"].sum() == h.n_worse, by
    assert set(h.breakdown["by"]) == {"size", "region", "coastal", "job_density", "income_deprivation"}
    assert h.over_time["period"].tolist() == ["2019", "2025"]
    t = headline(atlas, rule="ttwa", n_draws=200)
    assert t.n_towns == 287


def test_sensitivity_level_and_trend_rules_on_synthetic_towns():
    """The trend test: a town loses ground when its overall-IMD percentile gap to its city shrinks.

    IMD national percentiles (higher = less deprived) of town and city, 2019 and 2025; the city
    sits at 50 both years. Gaps (town - city): T1 -10 -> -20 (losing), T2 -10 -> -5 (gaining),
    T3 0 -> 0 (no change), T4 +10 -> +5 (losing). So 2 of 4 lose ground, both clearly (no noise).
    """
    from townhall.places.gaps import TREND
    from townhall.places.summary import Sensitivity, losing_ground

    g, typ = _synthetic()
    i19, i25 = TREND["imd"]
    pct = {"T1": (40, 30), "T2": (40, 45), "T3": (50, 50), "T4": (60, 55), "C": (50, 50)}
    values, groups, r = [], {}, 0
    for code, v in pct.items():
        values += [v] * 3
        groups[code] = (np.arange(r, r + 3), np.ones(3))
        r += 3
    trend = SmallAreas("lsoa_trend", [i19, i25], np.ones(2), np.array(values, float), np.ones(r), groups)
    g2 = Gaps([*_synthetic_data(), trend], g.pairs, n_draws=100, seed=1)
    assert losing_ground(g2)[:3] == (4, 2, 0.5)
    assert losing_ground(g2, clear=True)[:3] == (4, 2, 0.5)
    s = Sensitivity({"nearest": (g2, typ)}).table.set_index("test")
    assert s.at["level", "count"] == 2 and s.at["trend", "share"] == 0.5
    assert s.at["trend", "lower"] == 0.5 and s.at["trend", "upper"] == 0.5


def _synthetic_data() -> list[SmallAreas]:
    scores = {"T1": [20] * 8, "T2": [5] * 8, "T3": [20] + [5] * 7, "T4": [20, 20, 20, 20, 20, 5, 5, 5],
              "C": [10] * 8}
    values, groups, r = [], {}, 0
    for code, s in scores.items():
        values += [s] * 3
        groups[code] = (np.arange(r, r + 3), np.ones(3))
        r += 3
    return [SmallAreas("lsoa21", list(HEADLINE), -np.ones(8), np.array(values, float), np.ones(r), groups)]


@pytest.mark.slow
def test_towns_summary_rule_all_prints_the_sensitivity_table(atlas_env):
    import json

    from typer.testing import CliRunner

    from townhall.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["towns", "--summary", "--rule", "all", "--draws", "20", "--format", "json"])
    assert r.exit_code == 0, r.output
    t = pd.DataFrame(json.loads(r.stdout)["table"])
    assert set(zip(t["pairing"], t["test"], strict=True)) == {
        (p, test) for p in ("nearest", "ttwa") for test in ("level", "level_2019", "level_2025_pct", "trend",
                                                              "trend_clear")}
    assert t.set_index(["pairing", "test"]).loc[("nearest", "level"), "towns"] == 1082
    assert t.set_index(["pairing", "test"]).loc[("ttwa", "trend"), "towns"] == 287
    r = runner.invoke(app, ["towns", "--rule", "all"])
    assert r.exit_code != 0 and "works with --summary only" in str(r.exception) + r.output
