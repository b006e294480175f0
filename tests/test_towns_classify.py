"""Classification of every level: towns, small areas, councils and seats."""

from __future__ import annotations

import numpy as np
import pytest

from townhall.errors import TownhallError
from townhall.places.classify import (
    KINDS,
    SHARE_COLS,
    agreement,
    classify,
    size_class,
    small_area_kinds,
)


def test_size_thresholds():
    assert [size_class(p) for p in (225_000, 224_999, 75_000, 74_999, 20_000, 19_999, 2_992)] == [
        "City", "Large town", "Large town", "Medium town", "Medium town", "Small town", "Small town"]


def test_towns_english_from_the_table_welsh_by_threshold(atlas):
    t = classify(atlas, "town").set_index("code")
    assert len(t) == 1204
    assert t.loc["E35000961", "class"] == "Large town"  # Barnsley: ONS 'Large Towns'
    assert t.loc["E35000930", "class"] == "City"        # Sheffield
    assert t.loc["W38000128", "class"] == "Large town"  # Swansea: 173,231 in 2021 LSOAs
    assert t["class"].value_counts().to_dict() == {"Small town": 748, "Medium town": 347, "Large town": 91, "City": 18}


def test_small_area_kinds(atlas):
    k = small_area_kinds(atlas, "lsoa21")
    assert set(k["kind"]) == set(KINDS)
    assert (k["kind"] == "London").sum() == 4994  # every LSOA of the 33 boroughs, none of them in a town
    rest = k[k["kind"] == "Village or rural"]
    assert set(rest["settlement"]) <= {"Village or dispersed", "Rural town or fringe", "Other urban"}
    assert k.loc[k["town"] == "E35000961", "kind"].eq("Large town").all()


def test_council_shares_sum_to_one_and_rutland_by_hand(atlas):
    c = classify(atlas, "lad").set_index("code")
    assert np.allclose(c[list(SHARE_COLS)].sum(axis=1), 1.0)
    assert c.loc["E08000003", "class"] == "City"        # Manchester
    assert c.loc["E09000033", "class"] == "London"      # Westminster
    assert c.loc["W06000015", "class"] == "City"        # Cardiff, missing from the town boundaries
    # Rutland: the share living in a town is the population of its LSOAs linked to a town.
    d = atlas.query("""
        SELECT sum(a.population) FILTER (WHERE t.parent IS NOT NULL) / sum(a.population) AS in_town
        FROM area_link l JOIN area a ON a.code = l.child AND a.level = 'lsoa21'
        LEFT JOIN area_link t ON t.child = l.child AND t.child_level = 'lsoa21' AND t.parent_level = 'town'
        WHERE l.child_level = 'lsoa21' AND l.parent_level = 'lad' AND l.parent = 'E06000017'""")
    assert c.loc["E06000017", "share_small_town"] == pytest.approx(d["in_town"].iloc[0])
    assert c.loc["E06000017", "class"] == "Village or rural"


def test_seats_beside_the_commons_library_class(atlas):
    p10 = classify(atlas, "pcon10")
    assert len(p10) == 573 and p10["hocl_kind"].notna().all()  # England and Wales
    ag = agreement(p10)
    assert ag.to_numpy().sum() == 573
    assert ag.loc["London", "London"] == 73  # London seats agree exactly
    p24 = classify(atlas, "pcon24")
    assert len(p24) == 575 and "hocl_city_town" in p24


def test_unknown_level_is_a_clear_error(atlas):
    with pytest.raises(TownhallError, match="Unknown level"):
        classify(atlas, "parish")
    with pytest.raises(TownhallError, match="No classification"):
        classify(atlas, "ttwa11")
