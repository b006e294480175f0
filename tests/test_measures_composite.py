"""The composite index builder against indices worked out by hand.

The table: five places p..t and three indicators.

    a = 7, 9, 10, 11, 13   higher is worse (polarity -1), weight 2
    b = 4, 9, 4, 4, 4      higher is worse (polarity -1), weight 1
    c = 22, 22, 12, 22, 22 higher is better (polarity +1), weight 1

The index is a need index (higher_is = "worse"), so a and b count upwards and c
downwards. Stated weights 2, 1, 1 rescale to 0.5, 0.25, 0.25.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import hadamard

from townhall.errors import InputError
from townhall.measures.composite import CompositeIndex, Indicator, Rollup, pca_weights, top_drivers

PLACES = list("pqrst")


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [7.0, 9, 10, 11, 13], "b": [4.0, 9, 4, 4, 4], "c": [22.0, 22, 12, 22, 22]}, index=PLACES
    )


@pytest.fixture
def inds() -> list[Indicator]:
    return [Indicator("a", 2, -1), Indicator("b", 1, -1), Indicator("c", 1, 1)]


def test_zscore_arithmetic_by_hand(table, inds):
    # z-scores (population sd): a: mean 10, sd 2 -> -1.5, -0.5, 0, 0.5, 1.5
    # b: mean 5, sd 2 -> -0.5, 2, -0.5, -0.5, -0.5
    # c: mean 20, sd 4 -> 0.5, 0.5, -2, 0.5, 0.5, turned (polarity +1 in a need index) -> -0.5, -0.5, 2, -0.5, -0.5
    # p = 0.5(-1.5) + 0.25(-0.5) + 0.25(-0.5) = -1.0
    # q = 0.5(-0.5) + 0.25(2)    + 0.25(-0.5) =  0.125
    # r = 0.5(0)    + 0.25(-0.5) + 0.25(2)    =  0.375
    # s = 0.5(0.5)  + 0.25(-0.5) + 0.25(-0.5) =  0.0
    # t = 0.5(1.5)  + 0.25(-0.5) + 0.25(-0.5) =  0.5
    ix = CompositeIndex(table, inds)
    assert ix.weights.tolist() == [0.5, 0.25, 0.25]
    assert ix.normalised["c"].tolist() == [-0.5, -0.5, 2.0, -0.5, -0.5]
    assert ix.scores.tolist() == pytest.approx([-1.0, 0.125, 0.375, 0.0, 0.5], abs=1e-12)
    assert ix.ranks.tolist() == [5, 3, 2, 4, 1]
    # contributions add up to the score: p = -0.75 (a) - 0.125 (b) - 0.125 (c)
    assert ix.contributions.loc["p"].tolist() == pytest.approx([-0.75, -0.125, -0.125])
    assert ix.contributions.sum(axis=1).tolist() == pytest.approx(ix.scores.tolist())


def test_minmax_arithmetic_ties_share_a_rank(table, inds):
    # a: (x - 7) / 6 -> 0, 1/3, 1/2, 2/3, 1; b: (x - 4) / 5 -> 0, 1, 0, 0, 0; c turned -> 0, 0, 1, 0, 0
    # p 0; q 0.5/3 + 0.25 = 5/12; r 0.25 + 0.25 = 0.5; s 0.5 * 2/3 = 1/3; t 0.5
    ix = CompositeIndex(table, inds, normalisation="minmax")
    assert ix.scores.tolist() == pytest.approx([0, 5 / 12, 0.5, 1 / 3, 0.5])
    assert ix.ranks.tolist() == [5, 3, 1, 4, 1]


def test_minmax_geometric_by_hand(table, inds):
    # Mapped onto [1, 10]: a -> 1, 4, 5.5, 7, 10; b -> 1, 10, 1, 1, 1; c -> 1, 1, 10, 1, 1
    # score = a^0.5 b^0.25 c^0.25
    ix = CompositeIndex(table, inds, normalisation="minmax", aggregation="geometric")
    q4 = 10**0.25
    expected = [1.0, 2 * q4, math.sqrt(5.5) * q4, math.sqrt(7), math.sqrt(10)]
    assert ix.scores.tolist() == pytest.approx(expected)
    assert ix.ranks.tolist() == [5, 2, 1, 4, 3]
    # geometric contributions are in logs: they add up to ln(score)
    assert ix.contributions.sum(axis=1).tolist() == pytest.approx(np.log(expected).tolist())


def test_rank_normalisation_by_hand(table, inds):
    # percentile ranks: a 0.2 .. 1.0; b: four tied 4s share rank 2.5 -> 0.5, the 9 -> 1.0;
    # c turned: the 12 ranks top -> 1.0, the tied 22s -> 0.5
    # p .5(.2)+.25(.5)+.25(.5) = .35; q .5(.4)+.25(1)+.25(.5) = .575; r .5(.6)+.25(.5)+.25(1) = .675
    # s .5(.8)+.25(.5)+.25(.5) = .65; t .5(1)+.25(.5)+.25(.5) = .75
    ix = CompositeIndex(table, inds, normalisation="rank")
    assert ix.scores.tolist() == pytest.approx([0.35, 0.575, 0.675, 0.65, 0.75])
    assert ix.ranks.tolist() == [5, 4, 2, 3, 1]


def test_distance_to_reference_by_hand(table):
    # Reference = mean, in units of the range: a (x - 10)/6; b (x - 5)/5; c turned (-x + 20)/10,
    # except c's own reference 12 (original units): (-x + 12)/10 -> -1, -1, 0, -1, -1
    inds = [Indicator("a", 2, -1), Indicator("b", 1, -1), Indicator("c", 1, 1, reference=12.0)]
    ix = CompositeIndex(table, inds, normalisation="distance", reference="mean")
    assert ix.normalised["a"].tolist() == pytest.approx([-0.5, -1 / 6, 0, 1 / 6, 0.5])
    assert ix.normalised["b"].tolist() == pytest.approx([-0.2, 0.8, -0.2, -0.2, -0.2])
    assert ix.normalised["c"].tolist() == pytest.approx([-1, -1, 0, -1, -1])
    # p = -.25 - .05 - .25 = -.55; q = -1/12 + .2 - .25; r = 0 - .05 + 0; s = 1/12 - .05 - .25; t = .25 - .05 - .25
    assert ix.scores.tolist() == pytest.approx([-0.55, -1 / 12 - 0.05, -0.05, 1 / 12 - 0.3, -0.05])


@pytest.mark.parametrize(
    ("missing", "s_score"),
    [
        ("mean", 1 / 3 + 0.25 * 0.25),  # b's gap -> mean 5.25 -> (5.25 - 4)/5 = 0.25
        ("median", 1 / 3),  # b's gap -> median 4 -> 0
        ("reweight", (0.5 * 2 / 3) / 0.75),  # a and c only, weights 0.5 + 0.25
    ],
)
def test_missing_value_policies(table, inds, missing, s_score):
    table.loc["s", "b"] = np.nan
    ix = CompositeIndex(table, inds, normalisation="minmax", missing=missing)
    assert ix.scores["s"] == pytest.approx(s_score)
    assert ix.scores["q"] == pytest.approx(0.5 / 3 + 0.25)
    assert ix.dropped == []


def test_missing_drop_leaves_the_place_out(table, inds):
    table.loc["s", "b"] = np.nan
    ix = CompositeIndex(table, inds, normalisation="minmax", missing="drop")
    # without s, a's minmax is (x - 7)/6 over 7, 9, 10, 13 -> 0, 1/3, 1/2, 1
    assert ix.dropped == ["s"]
    assert ix.scores.to_dict() == pytest.approx({"p": 0, "q": 5 / 12, "r": 0.5, "t": 0.5})


def test_min_coverage_drops_sparse_places(table, inds):
    table.loc["s", ["a", "b"]] = np.nan  # s keeps only c: 0.25 of the weight
    ix = CompositeIndex(table, inds, min_coverage=0.5)
    assert ix.dropped == ["s"]
    assert list(ix.scores.index) == ["p", "q", "r", "t"]


def test_equal_and_domain_weights(table):
    inds = [Indicator("a", 1, -1, "x"), Indicator("b", 3, -1, "y"), Indicator("c", 1, 1, "y")]
    assert CompositeIndex(table, inds, weighting="equal").weights.tolist() == pytest.approx([1 / 3] * 3)
    # domain x weight 1 -> a 1; domain y weight 3 split 3:1 -> b 2.25, c 0.75; total 4
    ix = CompositeIndex(table, inds, domain_weights={"x": 1, "y": 3})
    assert ix.weights.tolist() == pytest.approx([0.25, 0.5625, 0.1875])


def test_pca_weights_two_blocks():
    # Orthogonal zero-mean columns from a Hadamard matrix: x2 = h1 + h2 correlates 1/sqrt(2)
    # with x1 = h1; x4 = h3 + 2 h4 correlates 1/sqrt(5) with x3 = h3; the blocks are uncorrelated.
    # Eigenvalues 1 + 1/sqrt(2) and 1 + 1/sqrt(5) are kept (> 1); each factor loads equally on
    # its two indicators (scaled squared loadings 1/2), and is weighted by its explained variance.
    h = hadamard(8)[:, 1:5].astype(float)
    x = np.column_stack([h[:, 0], h[:, 0] + h[:, 1], h[:, 2], h[:, 2] + 2 * h[:, 3]])
    ea, eb = 1 + 1 / math.sqrt(2), 1 + 1 / math.sqrt(5)
    wa, wb = 0.5 * ea / (ea + eb), 0.5 * eb / (ea + eb)
    assert pca_weights(x) == pytest.approx([wa, wa, wb, wb])


def test_pca_weighting_in_the_index(table, inds):
    ix = CompositeIndex(table, inds, weighting="pca")
    assert ix.weights.sum() == pytest.approx(1.0)
    assert (ix.weights > 0).all()


def test_drivers_against_the_average_place(table, inds):
    ix = CompositeIndex(table, inds)
    up = ix.drivers(2)
    # t: contributions a .75, b -.125, c -.125 (z-score means are 0) -> a first
    assert up.loc["t", "driver_1"] == "a" and up.loc["t", "effect_1"] == pytest.approx(0.75)
    # q: a -.25, b .5, c -.125 -> b first, then c
    assert up.loc["q", ["driver_1", "driver_2"]].tolist() == ["b", "c"]
    down = ix.drivers(1, "down")
    assert down.loc["p", "driver_1"] == "a" and down.loc["p", "effect_1"] == pytest.approx(-0.75)
    labelled = top_drivers(ix.contributions, ["A", "B", "C"], 1)
    assert labelled.loc["r", "driver_1"] == "C"


def test_rollup_population_weighted_by_hand(table, inds):
    # P1 = p (pop 100), q (300) and half of t (400 x 0.5); P2 = r (200), s (200), other half of t.
    # P1 = (100(-1) + 300(.125) + 200(.5)) / 600 = 0.0625; P2 = (200(.375) + 200(0) + 200(.5)) / 600
    links = pd.DataFrame({
        "child": ["p", "q", "t", "r", "s", "t"],
        "parent": ["P1", "P1", "P1", "P2", "P2", "P2"],
        "weight": [1, 1, 0.5, 1, 1, 0.5],
    })
    pop = pd.Series({"p": 100, "q": 300, "r": 200, "s": 200, "t": 400})
    out = CompositeIndex(table, inds).rollup(Rollup(links, pop)).set_index("code")
    assert out.loc["P1", "score"] == pytest.approx(0.0625)
    assert out.loc["P2", "score"] == pytest.approx(175 / 600)
    assert out["rank"].to_dict() == {"P2": 1, "P1": 2}
    # contributions roll up too and still add up to the score
    assert out.loc["P1", ["a", "b", "c"]].sum() == pytest.approx(0.0625)
    assert out["coverage"].tolist() == [1.0, 1.0]


def test_doctest_example():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]}, index=["x", "y", "z"])
    ix = CompositeIndex(df, [Indicator("a"), Indicator("b")], normalisation="minmax")
    assert ix.scores.round(2).tolist() == [0.5, 0.25, 0.75]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalisation": "zscores"}, "Unknown normalisation 'zscores'"),
        ({"weighting": "magic"}, "Unknown weighting 'magic'"),
        ({"aggregation": "harmonic"}, "Unknown aggregation 'harmonic'"),
        ({"missing": "guess"}, "Unknown missing-value policy 'guess'"),
    ],
)
def test_bad_choices_are_input_errors(table, inds, kwargs, message):
    with pytest.raises(InputError, match=message):
        CompositeIndex(table, inds, **kwargs)


def test_constant_indicator_and_zero_weights(table, inds):
    table["k"] = 3.0
    with pytest.raises(InputError, match="k take the same value in every place"):
        CompositeIndex(table, [*inds, Indicator("k")])
    with pytest.raises(InputError, match="sum to zero"):
        CompositeIndex(table, [Indicator("a", 0), Indicator("b", 0)])
    with pytest.raises(InputError, match="No data for indicator"):
        CompositeIndex(table, [Indicator("zz")])
