"""Indicators: published values, roll-ups and profiles against hand-worked figures."""

from __future__ import annotations

import pytest


def test_iod2025_published_values(atlas):
    # MANIFEST: E01000001 IMD score 8.742, rank 26,525, decile 8, income 0.013.
    v = {i: atlas.values(i, "lsoa21").set_index("area").loc["E01000001", "value"]
         for i in ("imd25_imd_score", "imd25_imd_rank", "imd25_imd_decile", "imd25_income_score")}
    assert v == {"imd25_imd_score": 8.742, "imd25_imd_rank": 26_525, "imd25_imd_decile": 8,
                 "imd25_income_score": 0.013}
    assert len(atlas.values("imd25_imd_score", "lsoa21")) == 33_755


def test_rollup_of_counts_is_sum_of_parts(atlas):
    # census21_pop.rda: the 57 LSOAs named 'Hartlepool nnnX' hold 92,327 residents.
    parts = atlas.children("E06000001", "lad", "lsoa21")
    assert len(parts) == 57
    total = atlas.values("census21_pop", "lad").set_index("area").loc["E06000001", "value"]
    assert total == pytest.approx(92_327)
    lsoa = atlas.values("census21_pop", "lsoa21").set_index("area")["value"]
    assert lsoa.loc[parts["code"]].sum() == pytest.approx(total)


def test_rollup_on_the_fly_matches_stored(atlas):
    stored = atlas.values("imd25_income_score", "lad").set_index("area")["value"]
    fly = atlas.rollup("imd25_income_score", "lad").set_index("area")["value"]
    assert fly.loc["E08000010"] == pytest.approx(stored.loc["E08000010"])
    # A level not rolled up at build time is computed from the links.
    cty = atlas.values("census21_pop", "cty").set_index("area")["value"]
    lads = atlas.children("E10000003", "cty", "lad")["code"]  # Cambridgeshire's districts
    by_lad = atlas.values("census21_pop", "lad").set_index("area")["value"]
    assert cty.loc["E10000003"] == pytest.approx(by_lad.loc[lads].sum())


def test_rank_cannot_be_rolled_up(atlas):
    from townhall.errors import TownhallError

    with pytest.raises(TownhallError, match="cannot be rolled up"):
        atlas.rollup("imd25_imd_rank", "lad")


def test_cni_left_behind_flags(atlas):
    flags = atlas.values("cni23_left_behind", "lsoa21")
    assert int(flags["value"].sum()) == 1_305
    lba = atlas.values("cni19_left_behind", "lsoa11")
    assert int(lba["value"].sum()) == 1_468


def test_els_values_with_intervals(atlas):
    df = atlas.values("els_employment_rate", "lad", period="2023").set_index("area")
    assert df.loc["E08000010", "value"] == pytest.approx(70.0, abs=0.05)
    assert df["lower"].notna().sum() > 250


def test_unknown_indicator_names_close_ids(atlas):
    from townhall.errors import UnknownIndicatorError

    with pytest.raises(UnknownIndicatorError) as exc:
        atlas.values("imd25_income_scor")
    assert "imd25_income_score" in str(exc.value)


def test_profile_has_population_classes_and_sources(atlas):
    p = atlas.profile("wigan", level="town")
    assert p["area"]["code"] == "E35001379"
    assert p["classes"]["ons_town_size"] == "Large Towns"
    assert {"E08000010"} <= {q["code"] for q in p["parents"]}
    heads = {h["id"]: h for h in p["headline"]}
    assert heads["imd25_imd_score"]["derived"] is True
    assert any(s["publisher"] == "ONS" for s in p["sources"])
    assert all(s["licence"] for s in p["sources"])
