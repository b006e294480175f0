"""Compare: choosing the level, clear refusals, the table, and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.errors import PlaceNotFoundError
from townhall.places.compare import MismatchError, compare, resolve_pair

runner = CliRunner()


def test_barnsley_and_sheffield_are_compared_as_towns(atlas):
    a, b = resolve_pair(atlas, "Barnsley", "Sheffield")
    assert (a.code, a.level, b.code, b.level) == ("E35000961", "town", "E35000930", "town")
    a, b = resolve_pair(atlas, "Barnsley", "Sheffield", level="lad")
    assert (a.code, b.code) == ("E08000038", "E08000039")


def test_mismatched_and_unknown_places_are_refused(atlas):
    with pytest.raises(MismatchError, match="different kinds of place"):
        resolve_pair(atlas, "Barnsley", "Barnsley North")  # a town or council against a 2024 seat
    with pytest.raises(PlaceNotFoundError, match="Narnia"):
        resolve_pair(atlas, "Narnia", "Sheffield")
    with pytest.raises(MismatchError, match="same place"):
        resolve_pair(atlas, "Barnsley", "E35000961")
    with pytest.raises(MismatchError, match="is a city"):
        compare(atlas, "Sheffield")


def test_compare_table_values_gap_and_interval(atlas):
    c = compare(atlas, "Barnsley", "Sheffield", n_draws=300)
    t = c.table.set_index("indicator")
    stored = atlas.values("imd25_imd_score", "town").set_index("area")["value"]
    row = t.loc["imd25_imd_score"]
    assert row["value_a"] == pytest.approx(stored["E35000961"]) and row["value_b"] == pytest.approx(stored["E35000930"])
    # Lower IMD score is better: gap = Sheffield - Barnsley.
    assert row["gap"] == pytest.approx(stored["E35000930"] - stored["E35000961"])
    assert row["interval"] == "bootstrap" and row["lower"] < row["gap"] < row["upper"]
    assert row["verdict"] in ("better", "worse", "no clear difference")
    # A count has no direction: the gap is the plain difference.
    pop = t.loc["census21_pop"]
    assert pop["gap"] == pytest.approx(pop["value_a"] - pop["value_b"]) and pop["verdict"] == "lower"
    # Population change 2011-2021: Barnsley 91,297 (towns table) to 94,259 (LSOAs in its 2011 boundary).
    assert t.loc["town_pop_change_11_21", "value_a"] == pytest.approx(100 * (94_259 - 91_297) / 91_297)
    assert c.km == pytest.approx(20.86, abs=0.05)


def test_a_town_alone_is_compared_with_its_city(atlas):
    c = compare(atlas, "Barnsley", n_draws=100)
    assert (c.b.name, c.paired_by) == ("Sheffield", "nearest")
    w = compare(atlas, "Watford", n_draws=100)
    assert (w.b.code, w.b.level) == ("E12000007", "rgn")  # London, the pseudo-city
    with pytest.raises(Exception, match="travel-to-work area has no city"):
        compare(atlas, "Barnsley", rule="ttwa")


def test_published_intervals_combine_both_places(atlas):
    c = compare(atlas, "Wigan", "Bolton", level="lad", n_draws=100)
    row = c.table.set_index("indicator").loc["els_median_weekly_pay"]
    obs = atlas.query(
        "SELECT area, value, lower, upper FROM observation WHERE indicator = 'els_median_weekly_pay' "
        "AND level = 'lad' AND period = ? AND area IN ('E08000010', 'E08000001')", [row["period"]]).set_index("area")
    se = ((obs["upper"] - obs["lower"]) / 3.92) ** 2
    gap = obs.loc["E08000010", "value"] - obs.loc["E08000001", "value"]
    assert row["interval"] == "published"
    assert row["gap"] == pytest.approx(gap)
    assert row["lower"] == pytest.approx(gap - 1.96 * se.sum() ** 0.5)


def test_cli_compare_json_and_errors(atlas_env):
    r = runner.invoke(app, ["compare", "Barnsley", "Sheffield", "--format", "json", "--draws", "100"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert (d["a"]["name"], d["b"]["name"], d["level"]) == ("Barnsley", "Sheffield", "town")
    rows = {x["indicator"]: x for x in d["rows"]}
    assert rows["imd25_imd_score"]["interval"] == "bootstrap"
    r = runner.invoke(app, ["compare", "Barnsley", "Barnsley North"])
    assert r.exit_code != 0 and isinstance(r.exception, MismatchError)
    r = runner.invoke(app, ["compare", "Barnsley", "Sheffield", "--format", "table", "--draws", "50"])
    assert r.exit_code == 0
    assert "Barnsley (town, E35000961) against Sheffield (town, E35000930), 20.9 km apart." in r.stdout


def test_cli_main_prints_a_clear_message(atlas_env, capfd, monkeypatch):
    import sys

    from townhall.cli import main

    monkeypatch.setattr(sys, "argv", ["townhall", "compare", "Barnsley", "Barnsley North"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 1
    err = capfd.readouterr().err
    assert "different kinds of place" in err and "Traceback" not in err
