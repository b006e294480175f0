"""Infrastructure on hand-made data: closures by period, the desert rule, intervals, distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from townhall.atlas.facilities import Kind, nearest_km, open_in_year, outcode, to_bng, year_of
from townhall.errors import TownhallError
from townhall.infrastructure import clopper_pearson, desert_flags, rates_table, tally

KIND = Kind("thing", "things", "thing", "things", (2010, 2012, 2014), (2010, 2014), ((2010, 2012), (2012, 2014)))


def _fac() -> pd.DataFrame:
    d = pd.to_datetime
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e", "f"],
        "place": ["X", "X", "X", "Y", "Y", "Y"],
        # a: always open; b: closed in 2011; c: opened 2013; d: closed 31 Dec 2012 (counts in 2012 as closed);
        # e: closed 2014; f: opened 2011 and closed 2013.
        "opened": [pd.NaT, pd.NaT, d("2013-05-01"), pd.NaT, pd.NaT, d("2011-02-01")],
        "closed": [pd.NaT, d("2011-12-31"), pd.NaT, d("2012-12-31"), d("2014-06-30"), d("2013-12-31")],
    })


def test_open_in_year_is_open_on_31_december():
    f = _fac()
    assert open_in_year(f, 2010).tolist() == [True, True, False, True, True, False]
    assert open_in_year(f, 2012).tolist() == [True, False, False, False, True, True]
    assert open_in_year(f, 2014).tolist() == [True, False, True, False, False, False]


def test_tally_counts_closures_openings_and_net_by_period():
    f = _fac()
    t = tally(f, f["place"], KIND, pd.Series({"X": 20_000.0, "Y": 5_000.0, "Z": 1_000.0})).set_index("group")
    # X: open a, b in 2010; a in 2012; a, c in 2014. Y: d, e in 2010; e, f in 2012; none in 2014.
    assert t.loc["X", ["open_2010", "open_2012", "open_2014"]].tolist() == [2, 1, 2]
    assert t.loc["Y", ["open_2010", "open_2012", "open_2014"]].tolist() == [2, 2, 0]
    assert t.loc["X", ["closed_2011_2012", "opened_2011_2012", "closed_2013_2014", "opened_2013_2014"]].tolist() == [1, 0, 0, 1]
    assert t.loc["Y", ["closed_2011_2012", "opened_2011_2012", "closed_2013_2014", "opened_2013_2014"]].tolist() == [1, 1, 2, 0]
    assert t.loc["Y", "net_2013_2014"] == -2
    assert t.loc["X", "net_2010_2014"] == 0
    # Z has residents but no facilities: zeros, not missing.
    assert t.loc["Z", "open_2010"] == 0
    assert t.loc["X", "per_10k_2010"] == pytest.approx(1.0)
    assert t.loc["Y", "per_10k_2012"] == pytest.approx(4.0)


def test_desert_rule_exactly():
    d = pd.DataFrame({
        "area": ["p", "p", "p", "q", "q", "q", "r", "r", "r"],
        "kind": ["gp", "library", "pub"] * 3,
        "km": [6.0, 5.0, 7.0, 5.01, 5.01, 1.0, 10.0, 10.0, 10.0],
    })
    f = desert_flags(d, 5.0, 2).set_index("area")
    # p: 5.0 is not beyond 5 km (strictly greater), so 2 kinds; q: 2 kinds; r: 3.
    assert f["n_beyond"].tolist() == [2, 2, 3]
    assert f["kinds_beyond"].tolist() == ["gp, pub", "gp, library", "gp, library, pub"]
    assert f["desert"].tolist() == [True, True, True]
    assert desert_flags(d, 5.0, 3).set_index("area")["desert"].tolist() == [False, False, True]
    per_kind = desert_flags(d, {"gp": 5.5, "library": 2.0, "pub": 8.0}, 2).set_index("area")
    assert per_kind["kinds_beyond"].tolist() == ["gp, library", "library", "gp, library, pub"]
    with pytest.raises(TownhallError, match="No threshold"):
        desert_flags(d, {"gp": 1.0}, 1)


def test_clopper_pearson_matches_closed_forms():
    # k = 0: upper = 1 - (alpha/2)^(1/n); k = n: lower = (alpha/2)^(1/n).
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    lo, hi = clopper_pearson(10, 10)
    assert lo == pytest.approx(0.025 ** (1 / 10), rel=1e-9)
    t = rates_table(pd.Series(["Town", "Town", "City", "City"]), pd.Series([True, False, False, False]), ["City", "Town"])
    assert t["class"].tolist() == ["City", "Town"]
    assert t["rate"].tolist() == [0.0, 0.5]


def test_nearest_km_matches_brute_force():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 50_000, size=(40, 2))
    b = rng.uniform(0, 50_000, size=(25, 2))
    km, idx = nearest_km(a, b)
    brute = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    assert np.allclose(km, brute.min(axis=1) / 1000)
    assert (idx == brute.argmin(axis=1)).all()
    km0, idx0 = nearest_km(a, np.empty((0, 2)))
    assert np.isnan(km0).all() and (idx0 == -1).all()


def test_postcode_helpers_and_projection():
    assert outcode(pd.Series(["TS18 1HU", "ts181hu", "", None])).tolist() == ["TS18", "TS18", "", ""]
    assert year_of(pd.Series(["2013", "1985c", "[Unknown]", "2013.0"])).tolist()[:2] == [2013, 1985]
    # Greenwich Observatory: BNG about (538,880, 177,360).
    xy = to_bng(np.array([-0.0014]), np.array([51.4778]))
    assert xy[0, 0] == pytest.approx(538_880, abs=150)
    assert xy[0, 1] == pytest.approx(177_360, abs=150)


def test_period_labels():
    assert KIND.period(2010, 2012) == "2011-2012"
    court = Kind("court", "courts", "court", "courts", (2013, 2014, 2017), (2013,), ((2013, 2014),), snapshots=True)
    assert court.period(2014, 2017, "_") == "2014_2017"
