"""Theil decomposition and the spatial Gini: hand-worked figures, PySAL, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inequality.gini import Gini_Spatial
from inequality.theil import TheilD
from libpysal.weights import lat2W

from townhall.errors import InputError
from townhall.measures.inequality import SpatialGini, TheilDecomposition


def test_theil_by_hand():
    # y = 1, 1, 2, 4 in groups A, A, B, B, equal weights; mean 2.
    # T = 1/4 [0.5 ln 0.5 + 0.5 ln 0.5 + 1 ln 1 + 2 ln 2] = ln 2 / 4
    # Shares of the total: A 2/8, B 6/8; group means 1 and 3.
    # T between = 1/4 ln(1/2) + 3/4 ln(3/2); T within = 3/4 * T_B, T_B = 1/2 [2/3 ln 2/3 + 4/3 ln 4/3]
    # L = 1/4 [ln 2 + ln 2 + ln 1 + ln 1/2] = ln 2 / 4
    # L between = 1/2 ln(2/1) + 1/2 ln(2/3); L within = 1/2 * 1/2 [ln 3/2 + ln 3/4]
    t = TheilDecomposition([1, 1, 2, 4], ["A", "A", "B", "B"])
    tb = 0.5 * (2 / 3 * math.log(2 / 3) + 4 / 3 * math.log(4 / 3))
    assert pytest.approx(math.log(2) / 4) == t.T
    assert t.T_between == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert t.T_within == pytest.approx(0.75 * tb)
    assert pytest.approx(math.log(2) / 4) == t.L
    assert t.L_between == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert t.L_within == pytest.approx(0.25 * (math.log(1.5) + math.log(0.75)))
    g = t.by_group.set_index("group")
    assert g.loc["B", "mean"] == 3 and g.loc["A", "T"] == 0 and g.loc["B", "T"] == pytest.approx(tb)
    assert g["total_share"].tolist() == [0.25, 0.75]


def test_unweighted_is_pysal_theild():
    rng = np.random.default_rng(3)
    y = rng.gamma(2.0, size=120)
    groups = rng.integers(0, 5, size=120)
    t = TheilDecomposition(y, groups)
    ref = TheilD(y, groups.astype(str))
    assert pytest.approx(float(np.ravel(ref.T)[0])) == t.T
    assert t.T_between == pytest.approx(float(np.ravel(ref.bg)[0]))
    assert t.T_within == pytest.approx(float(np.ravel(ref.wg)[0]))


def test_population_weights_equal_replicated_areas():
    # An area of population 3 counts as three areas of population 1.
    y = np.array([0.1, 0.4, 0.25, 0.05])
    g = np.array(["x", "x", "y", "y"])
    w = np.array([3, 1, 2, 1])
    weighted = TheilDecomposition(y, g, w)
    flat = TheilDecomposition(np.repeat(y, w), np.repeat(g, w))
    for attr in ("T", "T_within", "T_between", "L", "L_within", "L_between"):
        assert getattr(weighted, attr) == pytest.approx(getattr(flat, attr)), attr


values = st.floats(min_value=0.001, max_value=1000, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.tuples(values, st.integers(0, 4), st.floats(min_value=0.5, max_value=5000)),
                  min_size=2, max_size=60),
    weighted=st.booleans(),
)
def test_within_plus_between_is_total(data, weighted):
    y = np.array([d[0] for d in data])
    g = np.array([d[1] for d in data])
    w = np.array([d[2] for d in data]) if weighted else None
    t = TheilDecomposition(y, g, w)
    # within is summed group by group, between from group means, total directly (or by PySAL)
    assert t.T_within + t.T_between == pytest.approx(t.T, rel=1e-9, abs=1e-12)
    assert t.L_within + t.L_between == pytest.approx(t.L, rel=1e-9, abs=1e-12)
    assert t.T >= -1e-12 and t.L >= -1e-12
    assert t.by_group["T_within_part"].sum() == pytest.approx(t.T_within, abs=1e-12)


def test_zero_values_floor_for_l_only():
    t = TheilDecomposition([0.0, 0.2, 0.4, 0.2], ["a", "a", "b", "b"])
    assert t.floor == pytest.approx(0.1) and t.n_floored == 1
    # T keeps the zero (0 ln 0 = 0): mean 0.2, T = 1/4 [0 + 0 + 2 ln 2 + 0] = ln 2 / 2
    assert pytest.approx(math.log(2) / 2) == t.T


def test_bad_inputs():
    with pytest.raises(InputError, match="not negative"):
        TheilDecomposition([-1.0, 2.0], ["a", "b"])
    with pytest.raises(InputError, match="no value, weight or group"):
        TheilDecomposition([np.nan, 2.0], ["a", "b"])


def test_spatial_gini_matches_pysal():
    w = lat2W(6, 6)
    rng = np.random.default_rng(2)
    y = np.arange(36, dtype=float) + rng.uniform(0, 3, 36)  # a gradient: neighbours alike
    ours = SpatialGini(y, w, permutations=49, seed=9)
    np.random.seed(9)
    ref = Gini_Spatial(y, w, permutations=49)
    assert ours.g == pytest.approx(ref.g)
    assert ours.wcg_share == pytest.approx(ref.wcg_share)
    assert ours.p_sim == pytest.approx(ref.p_sim)
    assert ours.polarization == pytest.approx(ref.polarization)
    # a gradient: neighbours differ far less than non-neighbours
    assert ours.neighbour_ratio < 0.3 and ours.p_sim == pytest.approx(0.02)
    assert ours.non_neighbour_share == pytest.approx(ref.wcg / ref.dtotal)
    assert w.transform == "O"  # the caller's weights are left as they were
