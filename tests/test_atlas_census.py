"""Census 2021 profiles of places: the input to citizens' assembly quotas."""

from __future__ import annotations

import pytest

from townhall.errors import TownhallError

CATEGORIES = ("age", "sex", "ethnicity", "qualification", "tenure")


def total(profile: dict[str, dict[str, float]], cat: str = "age") -> float:
    return sum(profile[cat].values())


def test_council_profile_counts_adults(atlas) -> None:
    wigan = atlas.census_profile("E08000010", "lad")
    # Hand-worked from census21_pop.rda (LSOA 2021 age bands summed over Wigan's 197 LSOAs):
    # 329,339 residents, of whom 60,634 are under 16.
    assert wigan["age"] == {
        "16-24": 30686.0, "25-34": 43697.0, "35-49": 62758.0, "50-64": 67963.0, "65+": 63601.0
    }
    assert total(wigan) == 268_705
    for cat in CATEGORIES:  # every category is scaled to the same adults
        assert total(wigan, cat) == pytest.approx(268_705, abs=1)


def test_combined_authority_and_region_are_sums_of_their_councils(atlas) -> None:
    gm = atlas.census_profile("E47000001", "cauth")  # Greater Manchester
    members = atlas.children("E47000001", "cauth", "lad")["code"].tolist()
    assert len(members) == 10
    assert total(gm) == pytest.approx(sum(total(atlas.census_profile(c, "lad")) for c in members))
    # Shares of the whole are pooled from the councils' household counts (Census TS054),
    # as if Greater Manchester were one council.
    hh = atlas.query(
        "SELECT indicator, sum(value) AS v FROM observation WHERE level = 'lad' AND period = '2021' "
        "AND list_contains(?, area) AND indicator LIKE 'census21_ts054_%' GROUP BY indicator",
        [members],
    ).set_index("indicator")["v"]
    parts = ["owned", "shared_ownership", "social_rented", "private_rented", "lives_rent_free"]
    social = hh["census21_ts054_social_rented"] / sum(hh[f"census21_ts054_{p}"] for p in parts)
    assert gm["tenure"]["Social renter"] / total(gm, "tenure") == pytest.approx(social, abs=1e-6)

    regions = atlas.areas("rgn", country="E")["code"].tolist()
    england = atlas.census_profile("E92000001", "ctry")
    assert len(regions) == 9
    assert total(england) == pytest.approx(sum(total(atlas.census_profile(r, "rgn")) for r in regions))


def test_a_place_without_census_link_is_named(atlas) -> None:
    with pytest.raises(TownhallError, match=r"Wigan \(bua22, E63001177\) has no council link"):
        atlas.census_profile("E63001177", "bua22")
