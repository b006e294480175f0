"""Election results in the atlas against hand-worked values from the mirror's files.

Every literal below was worked out from the raw files (EU-referendum-result-data.csv,
HoC-GE2017-constituency-results.csv) with a one-off look, not from townhall.
"""

from __future__ import annotations

import pytest

from townhall.elections import by_class, place_results, seats, swing, targets, top
from townhall.errors import TownhallError


def test_referendum_totals_equal_the_official_uk_result(atlas):
    t = atlas.query("SELECT sum(remain) AS remain, sum(leave) AS leave, count(*) AS n FROM eu_counting_area")
    assert (t.at[0, "remain"], t.at[0, "leave"], t.at[0, "n"]) == (16_141_241, 17_410_742, 382)


@pytest.mark.parametrize(("code", "remain", "leave", "leave_share"), [
    ("E06000031", 34_176, 53_216, 60.893445624),   # Peterborough
    ("E07000136", 7_430, 22_974, 75.562425997),    # Boston, the most Leave area
    ("E09000022", 111_584, 30_340, 21.377638736),  # Lambeth, the most Remain council
])
def test_counting_area_shares(atlas, code, remain, leave, leave_share):
    r = atlas.query("SELECT remain, leave, leave_share FROM eu_counting_area WHERE area_code_2016 = ?", [code])
    assert (r.at[0, "remain"], r.at[0, "leave"]) == (remain, leave)
    assert r.at[0, "leave_share"] == pytest.approx(leave_share)


def test_merged_council_gets_the_sum_of_its_predecessors(atlas):
    # Cumberland (2023) = Allerdale 22,429/31,809 + Carlisle 23,788/35,895 + Copeland 14,419/23,528.
    r = atlas.query("SELECT party, votes, share FROM election_result WHERE election = 'eu2016' AND area = 'E06000063'")
    v = dict(zip(r["party"], r["votes"], strict=True))
    assert v == {"remain": 60_636, "leave": 91_232}
    s = seats(atlas, "eu2016").set_index("area").loc["E06000063"]
    assert s["predecessors"] == "E07000026+E07000028+E07000029"
    assert s["electorate"] == 208_756 and s["winner"] == "leave" and s["majority"] == 91_232 - 60_636
    assert s["turnout"] == pytest.approx(100 * 151_964 / 208_756)  # ballots cast / electorate
    # The indicator is the share of the summed votes, not a mean of the three districts' shares.
    v = atlas.values("eu16_leave_share", "lad").set_index("area")["value"]
    assert v["E06000063"] == pytest.approx(100 * 91_232 / 151_868)
    # North Yorkshire: its seven districts summed (Remain 160,976, Leave 196,282).
    ny = atlas.query("SELECT party, votes FROM election_result WHERE election = 'eu2016' AND area = 'E06000065'")
    assert dict(zip(ny["party"], ny["votes"], strict=True)) == {"remain": 160_976, "leave": 196_282}


@pytest.mark.parametrize(("name", "winner", "second", "majority"), [
    ("Mansfield", "con", "lab", 1_057),
    ("Kensington", "lab", "con", 20),
    ("Canterbury", "lab", "con", 187),
    ("Southampton, Itchen", "con", "lab", 31),
    ("Buckingham", "spk", "green", 25_725),
])
def test_ge2017_winner_and_majority(atlas, name, winner, second, majority):
    s = seats(atlas, "ge2017")
    r = s[s["name"] == name].iloc[0]
    assert (r["winner"], r["second"], r["majority"]) == (winner, second, majority)


def test_ge2017_seats_won_in_england_and_wales(atlas):
    s = seats(atlas, "ge2017")
    assert s[s["country"] == "E"]["winner"].value_counts().to_dict() == {
        "con": 296, "lab": 227, "ld": 8, "green": 1, "spk": 1}
    assert s[s["country"] == "W"]["winner"].value_counts().to_dict() == {"lab": 28, "con": 8, "pc": 4}


def test_vote_totals_and_mansfield_share(atlas):
    tot = atlas.query("SELECT election, sum(votes) AS v FROM election_result WHERE election LIKE 'ge%' "
                      "GROUP BY election ORDER BY election")
    assert tot.set_index("election")["v"].to_dict() == {
        "ge2010": 29_687_604, "ge2015": 30_697_525, "ge2017": 32_204_184, "ge2019": 32_014_110,
        "ge2024": 28_808_662}
    v = atlas.values("ge2017_con_share", "pcon10").set_index("area")["value"]
    assert v["E14000810"] == pytest.approx(100 * 23_392 / 50_157)


def test_targets_after_2017_need_64_gains_with_the_speaker_counted(atlas):
    t = targets(atlas, "ge2017", "lab", speaker="counted")
    assert (t.held, t.majority, t.needed, len(t.table)) == (262, 326, 64, 64)
    assert t.table["name"].iloc[0] == "Southampton, Itchen"
    assert targets(atlas, "ge2017", "lab").majority == 325  # the Speaker's seat not counted


def test_by_class_top_and_swing_real(atlas):
    b = by_class(atlas, "ge2017", "hocl", coarse=True).table.set_index("class")
    assert b["areas"].sum() == 632  # every GB seat has a Library class
    assert (b["lab_won"].sum(), b["con_won"].sum()) == (262, 317)  # neither won a seat in Northern Ireland
    both = by_class(atlas, "ge2017", "both", coarse=True).table
    assert both.groupby("scheme")["lab_won"].sum().to_dict() == {"hocl": 262, "settlement": 255}  # E&W: 227 + 28
    t = top(atlas, "eu2016", "leave", n=3, areas="counting")
    assert t.table["name"].tolist() == ["Boston", "South Holland", "Castle Point"]
    s = swing(atlas, "ge2015", "ge2017", "hocl", coarse=True)
    assert s.table["areas"].sum() == 632
    with pytest.raises(TownhallError, match="Unknown election"):
        by_class(atlas, "ge2018")


def test_place_results_for_seat_and_council(atlas):
    p = place_results(atlas, "E14000810", "pcon10")
    assert p.seats["election"].tolist() == ["ge2010", "ge2015", "eu2016_est", "ge2017", "ge2019"]
    assert p.seats.set_index("election").at["ge2019", "majority"] == 16_306
    c = place_results(atlas, "E06000063", "lad")
    assert set(c.control["code"]) == {"E07000026", "E07000028", "E07000029"}
    assert c.as_dict()["seats"][0]["predecessors"] == "E07000026+E07000028+E07000029"
