"""Monte Carlo rank intervals and variance-based sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from townhall.errors import InputError
from townhall.measures.composite import CompositeIndex, Indicator, Rollup
from townhall.measures.uncertainty import RankUncertainty


@pytest.fixture
def index() -> CompositeIndex:
    # The hand-worked table of test_measures_composite: z-score ranks p..t = 5, 3, 2, 4, 1;
    # min-max ranks 5, 3, 1, 4, 1 (r and t tie on 0.5).
    df = pd.DataFrame(
        {"a": [7.0, 9, 10, 11, 13], "b": [4.0, 9, 4, 4, 4], "c": [22.0, 22, 12, 22, 22]}, index=list("pqrst")
    )
    return CompositeIndex(df, [Indicator("a", 2, -1), Indicator("b", 1, -1), Indicator("c", 1, 1)])


def test_intervals_contain_the_point_rank(index):
    u = RankUncertainty(index, 1000, seed=1)
    f = u.frame.set_index("code")
    assert f["rank"].tolist() == [5, 3, 2, 4, 1]
    assert f["in_interval"].all()
    assert ((f["lower"] <= f["rank"]) & (f["rank"] <= f["upper"])).all()
    # p is last under every choice (lowest on a and b, and a on c is no help)
    assert f.loc["p", ["lower", "upper", "median_rank"]].tolist() == [5, 5, 5]


def test_nothing_varied_means_no_uncertainty(index):
    u = RankUncertainty(index, 50, normalisations=["zscore"], weightings=["stated"],
                        aggregations=["arithmetic"], weight_noise=0.0, seed=3)
    f = u.frame
    assert (f["lower"] == f["rank"]).all() and (f["upper"] == f["rank"]).all()
    assert (f["width"] == 0).all()
    assert u.sensitivity["choice"].tolist() == ["interactions"]


def test_two_normalisations_give_the_union_of_their_ranks(index):
    # z-score ranks p..t = 5, 3, 2, 4, 1; percentile-rank normalisation gives scores
    # .35, .575, .675, .65, .75 -> ranks 5, 4, 2, 3, 1. So q and s swap between 3 and 4,
    # and p, r, t never move.
    u = RankUncertainty(index, 400, normalisations=["zscore", "rank"], weightings=["stated"],
                        aggregations=["arithmetic"], weight_noise=0.0, seed=0, keep_ranks=True)
    f = u.frame.set_index("code")
    assert f.loc["q", ["lower", "upper"]].tolist() == [3, 4]
    assert f.loc["s", ["lower", "upper"]].tolist() == [3, 4]
    assert f.loc[["p", "r", "t"], "width"].tolist() == [0, 0, 0]
    assert f.loc[["p", "r", "t"], "lower"].tolist() == [5, 2, 1]
    # every bit of rank variance is due to the normalisation
    sens = u.sensitivity.set_index("choice")["share"]
    assert sens["normalisation"] == pytest.approx(1.0)
    assert sens["interactions"] == pytest.approx(0.0)
    # q's ranks hold as many 3s as there were z-score draws
    q_row = u.ranks[list(f.index).index("q")]
    assert (q_row == 3).sum() == (u.choices["normalisation"] == "zscore").sum()


def test_seed_makes_it_reproducible(index):
    a = RankUncertainty(index, 200, seed=42)
    b = RankUncertainty(index, 200, seed=42)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.choices, b.choices)
    assert len(a.choices) == 200
    assert set(a.choices["normalisation"]) == {"zscore", "minmax", "rank", "distance"}


def test_sensitivity_weights_matter_and_a_dead_choice_scores_zero():
    # Two indicators that disagree completely: only the ratio of their weights decides the order.
    # The multipliers carry the rank variance (first order each, the rest as their interaction);
    # the missing-value policy, varied although nothing is missing, does nothing and scores ~0
    # once the between-group variance is bias-corrected.
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    df = pd.DataFrame({"u": x, "v": -x + rng.normal(scale=0.01, size=300)}, index=[f"a{i}" for i in range(300)])
    ix = CompositeIndex(df, [Indicator("u", 1, 1), Indicator("v", 1, 1)], higher_is="better")
    u = RankUncertainty(ix, 1000, normalisations=["zscore"], weightings=["stated"],
                        aggregations=["arithmetic"], missing=["mean", "median"], weight_noise=0.5, seed=5)
    sens = u.sensitivity.set_index("choice")["share"]
    assert sens["weights (all perturbations)"] > 0.5
    assert sens["w:u"] == pytest.approx(sens["w:v"], abs=0.1)  # symmetric roles
    assert abs(sens["missing"]) < 0.01
    assert sens["weights (all perturbations)"] + sens["missing"] + sens["interactions"] == pytest.approx(1.0)
    assert "normalisation" not in sens.index  # a single option is not a choice


def test_larger_table_interval_coverage_and_rollup():
    rng = np.random.default_rng(7)
    n = 400
    base = rng.normal(size=(n, 1))
    x = base + rng.normal(scale=0.7, size=(n, 5))
    df = pd.DataFrame(x, columns=list("abcde"), index=[f"L{i:03d}" for i in range(n)])
    ix = CompositeIndex(df, [Indicator(c, 1, -1) for c in df.columns])
    u = RankUncertainty(ix, 1000, seed=11, weightings=["stated", "equal", "pca"])
    f = u.frame
    assert f["in_interval"].mean() >= 0.95
    assert (f["lower"] <= f["median_rank"]).all() and (f["median_rank"] <= f["upper"]).all()
    # roll up to 20 parents of 20 children each: ranks 1..20 at the parent level
    links = pd.DataFrame({"child": df.index, "parent": [f"P{i // 20:02d}" for i in range(n)], "weight": 1.0})
    pop = pd.Series(1000.0, index=df.index)
    ru = RankUncertainty(ix, 300, seed=11, rollup=Rollup(links, pop))
    rf = ru.frame
    assert len(rf) == 20
    assert sorted(rf["rank"].tolist()) == list(range(1, 21))
    assert rf["upper"].max() <= 20 and rf["lower"].min() >= 1


def test_bad_options(index):
    with pytest.raises(InputError, match="at least 2 draws"):
        RankUncertainty(index, 1)
    with pytest.raises(InputError, match="weight_noise"):
        RankUncertainty(index, 10, weight_noise=1.5)
    with pytest.raises(InputError, match="Unknown normalisation 'log'"):
        RankUncertainty(index, 10, normalisations=["log"])
