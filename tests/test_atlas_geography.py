"""The atlas holds the right areas, links and classes (figures worked by hand from the mirror)."""

from __future__ import annotations

import pytest


def _count(atlas, level: str, country: str | None = None) -> int:
    sql = "SELECT count(*) AS n FROM area WHERE level = ?" + (" AND country = ?" if country else "")
    return int(atlas.query(sql, [level] + ([country] if country else []))["n"].iloc[0])


def test_lsoa21_counts(atlas):
    # onsvisual lsoa21.csv: 35,672 rows, 33,755 of them E01 codes.
    assert _count(atlas, "lsoa21") == 35_672
    assert _count(atlas, "lsoa21", "E") == 33_755


def test_every_english_and_welsh_council(atlas):
    lad = atlas.areas("lad")
    assert (lad["code"].str[0] == "E").sum() == 296
    assert (lad["code"].str[0] == "W").sum() == 22
    # Barnsley and Sheffield were recoded in 2024: the current codes, not the old ones.
    assert {"E08000038", "E08000039"} <= set(lad["code"])
    assert "E08000016" not in set(lad["code"])


def test_seats_of_each_set(atlas):
    assert _count(atlas, "pcon10") == 650
    assert _count(atlas, "pcon24") == 650


def test_towns_and_size_classes(atlas):
    towns = atlas.classes(level="town", scheme="ons_town_size")
    counts = towns["class"].value_counts().to_dict()
    assert counts == {"Small Towns": 662, "Medium Towns": 331, "Large Towns": 89, "City": 18}
    assert _count(atlas, "town", "E") + _count(atlas, "town", "K") == 1_100


def test_council_population(atlas):
    # gb_district_populations.csv: E08000010,Wigan,"344,922" (mid-2024).
    wigan = atlas.area("E08000010")
    assert wigan.name == "Wigan"
    assert wigan.population == 344_922
    assert wigan.population_year == 2024


def test_town_classes(atlas):
    # english_education.csv: E34000007 Carlton in Lindrick BUA, 5,456, Small Towns, Residential,
    # Higher deprivation towns, TTWA Worksop and Retford.
    c = atlas.classes("E34000007", "town").set_index("scheme")["class"].to_dict()
    assert c["ons_town_size"] == "Small Towns"
    assert c["job_density"] == "Residential"
    assert c["income_deprivation"] == "Higher deprivation towns"
    assert c["coastal"] == "Non-coastal"
    t = atlas.area("E34000007", "town")
    assert (t.name, t.population, t.population_year) == ("Carlton in Lindrick", 5_456, 2011)
    ttwa = atlas.parents("E34000007", "town").query("level == 'ttwa11'")
    assert ttwa["name"].tolist() == ["Worksop and Retford"]


def test_seat_class_is_largest_share(atlas):
    # city_town_classification.csv: Aldershot 55.5% Large Town, 35.8% Medium Town; Aberavon 77.4% Medium Town.
    c = atlas.classes(scheme="hocl_city_town", level="pcon10").set_index("code")["class"]
    assert c["E14000530"] == "Large Town"
    assert c["W07000049"] == "Medium Town"


def test_lsoa21_links_to_council_and_seat(atlas):
    p = atlas.parents("E01000001", "lsoa21").set_index("level")
    assert p.loc["lad", "code"] == "E09000001"  # City of London
    assert p.loc["rgn", "code"] == "E12000007"  # London
    assert p.loc["msoa21", "code"] == "E02000001"
    assert p.loc["pcon24", "name"] == "Cities of London and Westminster"


def test_every_lsoa21_has_one_council(atlas):
    df = atlas.query("SELECT child, sum(weight) AS w FROM area_link WHERE child_level = 'lsoa21' "
                     "AND parent_level = 'lad' GROUP BY child")
    assert len(df) == 35_672
    assert df["w"].round(9).eq(1.0).all()


def test_lsoa11_to_2024_seat_weights_sum_to_one(atlas):
    df = atlas.query("SELECT child, sum(weight) AS w FROM area_link WHERE child_level = 'lsoa11' "
                     "AND parent_level = 'pcon24' GROUP BY child")
    assert len(df) == 34_753
    assert df["w"].between(0.999, 1.001).all()


@pytest.mark.parametrize(("query", "level", "code"), [
    ("wigan", "lad", "E08000010"),
    ("Kingston upon Hull", "lad", "E06000010"),
    ("E06000010", "lad", "E06000010"),
    ("e14001585", "pcon24", "E14001585"),
    ("wigan", "town", "E35001379"),
])
def test_find_forgiving(atlas, query, level, code):
    found = atlas.find(query)
    assert code in set(found.loc[found["level"] == level, "code"])


def test_unknown_place_suggests(atlas):
    from townhall.errors import PlaceNotFoundError

    with pytest.raises(PlaceNotFoundError) as exc:
        atlas.resolve("Wigam")
    assert any("Wigan" in s for s in exc.value.suggestions)
