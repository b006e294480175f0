"""Council code changes: older codes re-keyed on today's councils (hand-worked from the mirror)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from townhall.atlas.codes import successors, successors_from, to_current


def test_successors_follow_chains_and_skip_combined_authorities() -> None:
    lookup = pd.DataFrame({"LADCD": ["A1", "A2", "B1", "C1"], "LADCD_ACTIVE": ["A1", "B1", "B1", "C1"]})
    changes = pd.DataFrame({"oldcd": ["E07000190", "E07000246", "E08000021"],
                            "newcd": ["E07000246", "E06000066", "E47000011"],
                            "type": ["merger", "merger", "new_geo"]})
    succ = successors_from(lookup, changes)
    assert succ["A2"] == "B1"
    assert succ["E07000190"] == "E06000066"  # Taunton Deane -> Somerset West and Taunton -> Somerset
    assert "E08000021" not in succ  # joining a combined authority is not a change of council
    assert "A1" not in succ


def test_to_current_sums_counts_and_weights_rates() -> None:
    df = pd.DataFrame({"code": ["OLD1", "OLD2", "KEEP"], "electorate": [100.0, 300.0, 50.0],
                       "turnout": [0.5, 0.7, 0.6], "name": ["a", "b", "c"]})
    out = to_current(df, "code", {"OLD1": "NEW", "OLD2": "NEW"}, sums=["electorate"],
                     means={"turnout": "electorate"}, keep=["name"]).set_index("code")
    assert out.loc["NEW", "electorate"] == 400.0
    assert out.loc["NEW", "turnout"] == pytest.approx((100 * 0.5 + 300 * 0.7) / 400)
    assert out.loc["NEW", "predecessors"] == "OLD1+OLD2"
    assert out.loc["KEEP", "n_predecessors"] == 1


def test_real_successors(source_cache) -> None:
    succ = successors(source_cache)
    assert succ["E08000016"] == "E08000038"  # Barnsley, recoded 2025
    assert succ["E08000019"] == "E08000039"  # Sheffield
    assert succ["E07000163"] == "E06000065"  # Craven -> North Yorkshire (2023)
    assert succ["E07000190"] == "E06000066"  # Taunton Deane -> Somerset, through Somerset West and Taunton
    assert succ["E08000020"] == "E08000037"  # Gateshead, recoded 2013


def test_every_current_english_and_welsh_council_has_a_population(atlas) -> None:
    df = atlas.query("SELECT code, name, population FROM area WHERE level = 'lad' AND country IN ('E', 'W')")
    assert len(df) == 318
    missing = df[df["population"].isna()]
    assert missing.empty, missing.to_string()
    # Mid-2024 file: Barnsley and Sheffield under their pre-2025 codes (E08000016 '251,770', E08000019 '582,493').
    pops = df.set_index("code")["population"]
    assert pops["E08000038"] == 251_770
    assert pops["E08000039"] == 582_493


def test_place_barnsley_shows_its_population(atlas_env, capsys) -> None:
    from townhall.cli import app

    with pytest.raises(SystemExit) as ex:
        app(["place", "Barnsley", "--level", "lad", "--format", "json"], standalone_mode=True)
    assert ex.value.code == 0
    area = json.loads(capsys.readouterr().out)["area"]
    assert (area["code"], area["population"], area["population_year"]) == ("E08000038", 251_770, 2024)
