"""Gaps between towns and cities: polarity, bootstrap reproducibility, shrinking intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.errors import TownhallError
from townhall.places.gaps import (
    Gaps,
    SmallAreas,
    bootstrap_means,
    gaps_for_pairs,
    load_small_areas,
    quantiles,
    resample_counts,
    trend_label,
    verdict,
    weighted_means,
)


def _pair(town_values, city_values, polarity, town_w=None, city_w=None, indicator="x"):
    """Synthetic small areas: a town T and a city C."""
    tv, cv = np.asarray(town_values, float), np.asarray(city_values, float)
    values = np.r_[tv, cv][:, None]
    weights = np.r_[town_w if town_w is not None else np.ones(len(tv)),
                    city_w if city_w is not None else np.ones(len(cv))]
    groups = {"T": (np.arange(len(tv)), np.ones(len(tv))),
              "C": (np.arange(len(tv), len(tv) + len(cv)), np.ones(len(cv)))}
    return SmallAreas("lsoa21", [indicator], np.array([polarity]), values, weights, groups, {indicator: "2025"})


PAIRS = pd.DataFrame({"town": ["T"], "city": ["C"]})


def test_polarity_lower_is_better():
    # A deprivation score: the town's 10 is better than the city's 20, so the gap is +10.
    g = Gaps([_pair([10, 10, 10], [20, 20, 20, 20], -1)], PAIRS, n_draws=200, seed=1)
    r = g.table.iloc[0]
    assert (r.town_value, r.city_value, r.gap) == (10.0, 20.0, 10.0)
    assert (r.lower, r.upper, r.verdict) == (10.0, 10.0, "ahead")


def test_polarity_higher_is_better():
    # Employment rate: the town's 60 is worse than the city's 70, so the gap is -10.
    g = Gaps([_pair([60, 60], [70, 70, 70], +1)], PAIRS, n_draws=200, seed=1)
    r = g.table.iloc[0]
    assert (r.gap, r.lower, r.upper, r.verdict) == (-10.0, -10.0, -10.0, "falling behind")


def test_values_are_population_weighted():
    # Town: (10 * 100 + 40 * 300) / 400 = 32.5; city: (20 * 1 + 30 * 3) / 4 = 27.5.
    g = Gaps([_pair([10, 40], [20, 30], +1, town_w=[100, 300], city_w=[1, 3])], PAIRS, n_draws=50, seed=3)
    r = g.table.iloc[0]
    assert r.town_value == pytest.approx(32.5) and r.city_value == pytest.approx(27.5)
    assert r.gap == pytest.approx(5.0)
    assert r.n_town == 2 and r.n_city == 2


def test_overlapping_places_give_no_clear_gap():
    rng = np.random.default_rng(0)
    sa = _pair(rng.normal(50, 10, 30), rng.normal(50, 10, 40), +1)
    r = Gaps([sa], PAIRS, n_draws=1000, seed=7).table.iloc[0]
    assert r.lower < 0 < r.upper and r.verdict == "no clear gap"


def test_reproducible_for_a_seed_and_different_for_another():
    rng = np.random.default_rng(5)
    sa = _pair(rng.normal(0, 1, 12), rng.normal(0.5, 1, 25), +1)
    a = Gaps([sa], PAIRS, n_draws=300, seed=11).table
    b = Gaps([sa], PAIRS, n_draws=300, seed=11).table
    c = Gaps([sa], PAIRS, n_draws=300, seed=12).table
    pd.testing.assert_frame_equal(a, b)
    assert (a["lower"].iloc[0], a["upper"].iloc[0]) != (c["lower"].iloc[0], c["upper"].iloc[0])


def test_missing_values_are_skipped():
    # The NaN area drops out of the mean; a place with no values at all gives NaN and no verdict.
    sa = SmallAreas("lsoa21", ["x", "y"], np.array([1, 1]),
                    np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, np.nan], [5.0, 2.0]]),
                    np.ones(4), {"T": (np.array([0, 1, 2]), np.ones(3)), "C": (np.array([3]), np.ones(1))})
    t = Gaps([sa], PAIRS, n_draws=100, seed=2).table.set_index("indicator")
    assert t.loc["x", "town_value"] == pytest.approx(2.0) and t.loc["x", "gap"] == pytest.approx(-3.0)
    assert np.isnan(t.loc["y", "town_value"]) and pd.isna(t.loc["y", "verdict"])


def test_too_few_draws_is_a_user_error():
    with pytest.raises(TownhallError, match="At least 10"):
        Gaps([_pair([1, 2], [3, 4], 1)], PAIRS, n_draws=5)


def test_resample_counts_sum_to_n():
    c = resample_counts(7, 500, np.random.default_rng(1))
    assert c.shape == (500, 7) and (c.sum(axis=1) == 7).all()
    # Each area is picked once per draw on average.
    assert c.mean() == pytest.approx(1.0, abs=0.05)


def test_weighted_means_and_bootstrap_agree_on_constant_data():
    x = np.array([[2.0, 5.0], [2.0, 5.0], [2.0, 5.0]])
    assert weighted_means(x, np.array([1.0, 2.0, 3.0])).tolist() == [2.0, 5.0]
    d = bootstrap_means(x, np.ones(3), 50, np.random.default_rng(0))
    assert d.shape == (50, 2) and np.allclose(d, [2.0, 5.0])


def test_quantiles_match_numpy_with_and_without_missing_draws():
    rng = np.random.default_rng(3)
    d = rng.normal(size=(401, 6))
    d[::7, 2] = np.nan
    d[:, 4] = np.nan
    got = quantiles(d, (0.025, 0.975), axis=0)
    assert got.shape == (2, 6)
    for j in (0, 1, 2, 3, 5):  # column 2 has missing draws, the others none
        assert got[:, j] == pytest.approx(np.nanquantile(d[:, j], (0.025, 0.975)))
    assert np.isnan(got[:, 4]).all()  # no draws at all


def test_verdict_and_trend_labels():
    assert verdict([-3, -1, 1, np.nan], [-1, 2, 4, 1]).tolist() == ["falling behind", "no clear gap", "ahead", None]
    assert trend_label([-10, -10, 5, -4], [-12, -3, -2, np.nan]).tolist() == ["widened", "narrowed", "reversed", None]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=4, max_size=15), st.lists(st.floats(0, 100), min_size=4, max_size=15),
       st.integers(0, 2**31 - 1))
def test_intervals_shrink_as_small_areas_grow_in_number(town, city, seed):
    # The same mix of small areas, 16 times as many of them: the interval narrows (about 4 times).
    if np.ptp(town) < 1 or np.ptp(city) < 1:
        return
    small = Gaps([_pair(town, city, 1)], PAIRS, n_draws=400, seed=seed).table.iloc[0]
    big = Gaps([_pair(np.tile(town, 16), np.tile(city, 16), 1)], PAIRS, n_draws=400, seed=seed).table.iloc[0]
    assert big.gap == pytest.approx(small.gap)
    assert big.upper - big.lower < small.upper - small.lower


# -- the real atlas ----------------------------------------------------------------------------------
def test_town_values_are_the_atlas_rollup(atlas):
    g = gaps_for_pairs(atlas, pd.DataFrame({"town": ["E35000961"], "city": ["E35000930"]}), n_draws=100,
                       indicators=["imd25_imd_score", "imd25_income_score"])
    t = g.table.set_index("indicator")
    stored = atlas.values("imd25_imd_score", "town").set_index("area")["value"]
    # Stored roll-ups are rounded to 10 decimal places (repeatable builds).
    assert t.loc["imd25_imd_score", "town_value"] == pytest.approx(stored.loc["E35000961"], abs=1e-9)
    assert t.loc["imd25_imd_score", "city_value"] == pytest.approx(stored.loc["E35000930"], abs=1e-9)
    # IMD score: lower is better, so gap = city - town.
    assert t.loc["imd25_imd_score", "gap"] == pytest.approx(stored.loc["E35000930"] - stored.loc["E35000961"])
    assert t.loc["imd25_imd_score", "n_town"] == 57


def test_rank_percentiles_are_rank_over_lsoas(atlas):
    sa = load_small_areas(atlas, "lsoa21", {"town": ["E35000961"]}, ["imd25_imd_natpct"])
    rows, _ = sa.groups["E35000961"]
    codes = atlas.query("SELECT code FROM area WHERE level = 'lsoa21' ORDER BY code")["code"].to_numpy()[rows]
    ranks = atlas.values("imd25_imd_rank", "lsoa21").set_index("area")["value"]
    # 33,755 English LSOAs (2021) are ranked.
    assert sa.values[rows, 0] == pytest.approx(100 * ranks.loc[codes].to_numpy() / 33_755)


def test_a_town_alone_gets_the_same_interval_as_in_the_full_run(atlas):
    pairs = pd.DataFrame({"town": ["E35000961", "E35001329", "E35000316"],
                          "city": ["E35000930", "E35000930", "E35000486"]})
    ind = ["imd25_imd_score", "imd19_imd_natpct", "imd25_imd_natpct"]
    together = gaps_for_pairs(atlas, pairs, n_draws=200, indicators=ind).for_town("E35000961")
    alone = gaps_for_pairs(atlas, pairs.head(1), n_draws=200, indicators=ind).for_town("E35000961")
    pd.testing.assert_frame_equal(together, alone)
    trend = gaps_for_pairs(atlas, pairs.head(1), n_draws=200, indicators=ind).trend
    assert trend["domain"].tolist() == ["imd"]
    assert trend["change"].iloc[0] == pytest.approx(trend["gap_2025"].iloc[0] - trend["gap_2019"].iloc[0])
