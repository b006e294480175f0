"""Neighbours, Moran's I, LISA hot spots and the false-discovery control."""

from __future__ import annotations

import numpy as np
import pytest
from esda import fdr
from esda.moran import Moran
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from townhall.errors import InputError
from townhall.measures.spatial import (
    Hotspots,
    benjamini_hochberg,
    knn_weights,
    map_points,
    project,
)


def test_benjamini_hochberg_by_hand():
    # sorted p .01 .03 .04 .2 against (i/4) .05 = .0125 .025 .0375 .05: only .01 passes
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2]).tolist() == [True, False, False, False]
    # .01 .02 .03 against .0167 .0333 .05: the largest passing is the third, so all three
    assert benjamini_hochberg([0.03, 0.01, 0.02]).tolist() == [True, True, True]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=1e-4, max_value=1.0), min_size=5, max_size=200))
def test_bh_agrees_with_esda_fdr(p):
    p = np.array(p)
    # esda compares strictly (p < i alpha / n), the textbook step-up with <=: skip exact ties
    assume(not np.isclose(np.sort(p), 0.05 * np.arange(1, len(p) + 1) / len(p)).any())
    ours = benjamini_hochberg(p, 0.05)
    if ours.any():  # esda returns a cut-off (Bonferroni when BH rejects nothing)
        assert np.array_equal(ours, p <= fdr(p, 0.05))


def test_project_to_national_grid():
    # Trafalgar Square is about (530,000 E, 180,400 N) on the British National Grid
    xy = project([51.5080], [-0.1281])
    assert xy[0, 0] == pytest.approx(530_000, abs=300)
    assert xy[0, 1] == pytest.approx(180_400, abs=300)


@pytest.fixture
def grid():
    # 20 x 20 points about 1 km apart; a block of high values in one corner, low in the other
    lat, lon = np.meshgrid(52.0 + 0.009 * np.arange(20), -1.5 + 0.0146 * np.arange(20), indexing="ij")
    rng = np.random.default_rng(4)
    y = rng.normal(0, 1, (20, 20))
    y[:6, :6] += 6
    y[-6:, -6:] -= 6
    return lat.ravel(), lon.ravel(), y.ravel()


def test_knn_weights(grid):
    lat, lon, _ = grid
    w = knn_weights(lat, lon, k=4)
    assert w.n == 400
    assert set(w.cardinalities.values()) == {4}
    # a point in the middle has its four grid neighbours (N, S, E, W) as the nearest
    mid = 10 * 20 + 10
    assert sorted(w.neighbors[mid]) == [mid - 20, mid - 1, mid + 1, mid + 20]
    with pytest.raises(InputError, match="too few"):
        knn_weights(lat[:3], lon[:3], k=8)


def test_hotspots_find_the_planted_clusters(grid):
    lat, lon, y = grid
    w = knn_weights(lat, lon, k=8)
    ids = [f"A{i:03d}" for i in range(400)]
    h = Hotspots(y, w, ids, permutations=999, seed=1)
    ref = Moran(y, w, transformation="r", permutations=0)
    assert pytest.approx(ref.I) == h.moran.I
    assert h.moran.I > 0.5
    f = h.frame.set_index("code")
    hot_block = [f"A{r * 20 + c:03d}" for r in range(1, 5) for c in range(1, 5)]  # the block's inside
    cold_block = [f"A{r * 20 + c:03d}" for r in range(15, 19) for c in range(15, 19)]
    assert (f.loc[hot_block, "label"] == "hot spot").all()
    assert (f.loc[cold_block, "label"] == "cold spot").all()
    # FDR: every significant area is at or under the cut-off, which is what esda.fdr gives
    assert h.threshold == pytest.approx(fdr(h.local.p_sim, 0.05))
    assert (f.loc[f["significant"], "p_sim"] <= h.threshold).all()
    assert sum(h.counts.values()) == 400
    assert h.counts["hot spot"] >= 16 and h.counts["cold spot"] >= 16


def test_hotspots_reproducible_and_checked(grid):
    lat, lon, y = grid
    w = knn_weights(lat, lon, k=8)
    a = Hotspots(y, w, permutations=199, seed=5)
    b = Hotspots(y, w, permutations=199, seed=5)
    assert np.array_equal(a.local.p_sim, b.local.p_sim)
    with pytest.raises(InputError, match="one value everywhere"):
        Hotspots(np.ones(400), w)
    with pytest.raises(InputError, match="at least 99"):
        Hotspots(y, w, permutations=10)


def test_map_points():
    import pandas as pd

    places = pd.DataFrame({"code": ["a", "b"], "name": ["A", "B"], "lat": [52.0, 53.0], "lon": [-1.0, -2.0]})
    pts = map_points(places, pd.Series({"b": 0.5, "a": 0.25}))
    assert pts.columns.tolist()[:6] == ["code", "name", "lat", "lon", "value", "label"]
    assert pts.set_index("code")["value"].to_dict() == {"a": 0.25, "b": 0.5}
    assert pts.set_index("code").loc["b", "label"] == "0.5"
