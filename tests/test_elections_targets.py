"""Targets, marginals, the majority count and swing on a hand-made election of eight seats.

Shares (% of valid votes; each seat's votes sum to 100):

=====  ====  ====  ====  ====  ===========================================
seat   con   lab   ld    spk   winner, second, majority
=====  ====  ====  ====  ====  ===========================================
S1     40    35    25          con, lab, 5
S2     45    25    30          con, ld, 15
S3     40    50    10          lab, con, 10
S4     36    38    26          lab, con, 2
S5     40    18    42          ld, con, 2
S6                       60    spk (oth 40)
S7     41    39    20          con, lab, 2
S8     30    60    10          lab, con, 30
=====  ====  ====  ====  ====  ===========================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from townhall.elections.geography import butler, class_swing
from townhall.elections.targets import majority_needed, targets_from
from townhall.errors import TownhallError

SHARES = {
    "S1": {"con": 40, "lab": 35, "ld": 25}, "S2": {"con": 45, "lab": 25, "ld": 30},
    "S3": {"con": 40, "lab": 50, "ld": 10}, "S4": {"con": 36, "lab": 38, "ld": 26},
    "S5": {"con": 40, "lab": 18, "ld": 42}, "S6": {"spk": 60, "oth": 40},
    "S7": {"con": 41, "lab": 39, "ld": 20}, "S8": {"con": 30, "lab": 60, "ld": 10},
}


def _election() -> tuple[pd.DataFrame, pd.DataFrame]:
    shares = pd.DataFrame(SHARES).T.fillna(0.0).astype(float)
    rows = []
    for area, s in SHARES.items():
        ranked = sorted(s.items(), key=lambda kv: -kv[1])
        rows.append({"area": area, "name": f"Seat {area}", "country": "W" if area == "S8" else "E",
                     "winner": ranked[0][0], "second": ranked[1][0],
                     "majority": ranked[0][1] - ranked[1][1], "majority_share": ranked[0][1] - ranked[1][1]})
    return pd.DataFrame(rows), shares


def test_majority_is_more_than_half_of_the_voting_seats():
    assert majority_needed(650, 1) == 325          # Speaker excluded: 649 vote
    assert majority_needed(650, 1, "counted") == 326
    assert majority_needed(650, 0) == 326
    assert majority_needed(8, 1) == 4 and majority_needed(8, 1, "counted") == 5
    with pytest.raises(TownhallError, match="Speaker rule"):
        majority_needed(650, 1, "ignored")


def test_labour_targets_by_uniform_swing_speaker_excluded():
    seats, shares = _election()
    t = targets_from(seats, shares, "lab")
    assert (t.seats, t.held, t.majority, t.needed) == (8, 3, 4, 1)
    assert t.table["area"].tolist() == ["S7"]  # n defaults to the seats needed
    t = targets_from(seats, shares, "lab", n=10)
    assert t.table["area"].tolist() == ["S7", "S1", "S2", "S5"]  # the Speaker's seat is never a target
    assert t.table["swing_needed"].tolist() == [1.0, 2.5, 10.0, 12.0]
    assert "floor(7 / 2) + 1 = 4" in t.rule


def test_targets_with_the_speaker_counted_and_second_place_pool():
    seats, shares = _election()
    t = targets_from(seats, shares, "lab", speaker="counted")
    assert (t.majority, t.needed) == (5, 2)
    assert t.table["area"].tolist() == ["S7", "S1"]
    t = targets_from(seats, shares, "lab", pool="second", n=10)
    assert t.table["area"].tolist() == ["S7", "S1"]  # S2 (ld second) and S5 (lab third) drop out


def test_marginals_and_countries():
    seats, shares = _election()
    m = targets_from(seats, shares, "lab", kind="marginals", n=3)
    assert m.table["area"].tolist() == ["S4", "S3", "S8"]
    assert m.table["majority_share"].tolist() == [2.0, 10.0, 30.0]
    m = targets_from(seats, shares, "lab", kind="marginals", n=3, countries=("W",))
    assert m.table["area"].tolist() == ["S8"]
    c = targets_from(seats, shares, "con", n=10)
    assert (c.held, c.needed) == (3, 1)
    assert c.table["area"].tolist() == ["S4", "S5", "S3", "S8"]  # ties (1.0) by code
    with pytest.raises(TownhallError, match="No party 'xyz'"):
        targets_from(seats, shares, "xyz")


def test_butler_swing_and_by_class():
    # Con 40 -> 44, Lab 35 -> 31: 4 points to Con.
    assert butler(40, 35, 44, 31) == 4.0
    assert butler(np.array([40, 50]), np.array([35, 30]), np.array([38, 50]), np.array([41, 34])).tolist() == [-4.0, -2.0]
    v1 = pd.DataFrame({"con": [40, 50, 30], "lab": [35, 30, 60], "ld": [25, 20, 10]}, index=["A", "B", "C"], dtype=float)
    v2 = pd.DataFrame({"con": [44, 50, 20], "lab": [31, 30, 70], "ld": [25, 20, 10]}, index=["A", "B", "C"], dtype=float)
    seats = pd.DataFrame({"area": ["A", "B", "C"], "class": ["Town", "Town", "City"]})
    seats["butler"] = butler(v1["con"], v1["lab"], v2["con"], v2["lab"]).tolist()
    seats["change"] = (v2["lab"] - v1["lab"]).to_numpy()
    t = class_swing(seats, v1, v2, ("City", "Town", "Village or rural"), party="lab").set_index("class")
    assert t.index.tolist() == ["City", "Town"]
    assert t.at["City", "butler"] == -10.0 and t.at["City", "to_lab"] == 1
    # Town: summed votes 90 con / 65 lab of 200 -> 94 / 61: +2 points con, -2 lab -> swing +2.
    assert t.at["Town", "butler"] == pytest.approx(2.0)
    assert t.at["Town", "mean_butler"] == pytest.approx(2.0) and t.at["Town", "to_con"] == 1
    assert t.at["Town", "change"] == pytest.approx(-2.0)
