"""Pairing towns with cities: distances worked by hand, synthetic pairs, real pairs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from townhall.errors import TownhallError
from townhall.places.pairing import (
    EARTH_RADIUS_KM,
    LONDON,
    Pairing,
    check_rule,
    haversine_km,
    nearest_centre,
    pair_towns,
)


def test_one_degree_of_latitude_is_a_360th_of_the_circumference():
    # 2 * pi * 6371.0088 / 360 = 111.1951 km, along a meridian or the equator.
    assert haversine_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(111.1951, abs=1e-4)
    assert haversine_km(0.0, 10.0, 0.0, 11.0) == pytest.approx(111.1951, abs=1e-4)
    # At 60 degrees north: h = cos(60)^2 sin(0.5 deg)^2 = 1.90381e-5, d = 2R asin(sqrt(h)) = 55.5970 km,
    # a shade under half a degree at the equator (55.5975) because the great circle bows north.
    assert haversine_km(60.0, 0.0, 60.0, 1.0) == pytest.approx(55.5970, abs=1e-4)


def test_nearest_centre_on_a_small_map():
    centres_lat, centres_lon = np.array([53.0, 51.5]), np.array([-1.5, -0.1])
    idx, km = nearest_centre(np.array([53.2, 51.7, 52.3]), np.array([-1.4, -0.3, -0.8]), centres_lat, centres_lon)
    # (52.3, -0.8): 0.7 deg lat + 0.7 deg lon to the north centre, 0.8 + 0.7 to the south one.
    assert idx.tolist() == [0, 1, 0]
    assert km[0] == pytest.approx(haversine_km(53.2, -1.4, 53.0, -1.5))


def test_pair_towns_both_rules_synthetic():
    towns = pd.DataFrame({
        "code": ["T1", "T2", "T3", "C1"], "name": ["Near A", "Near B", "Far", "City A"],
        "lat": [53.1, 51.6, 52.3, 53.0], "lon": [-1.5, -0.1, -0.8, -1.5],
        "ttwa11": ["W1", "W9", "W2", "W1"], "size": ["Small Towns", "Large Towns", "Medium Towns", "City"],
        "region": ["R", "R", "R", "R"],
    })
    cities = pd.DataFrame({"code": ["C1", "C2"], "name": ["City A", "City B"], "lat": [53.0, 51.5],
                           "lon": [-1.5, -0.1], "ttwa11": ["W1", "W2"]})
    p = pair_towns(towns, cities).set_index("town")
    assert list(p.index) == ["T1", "T2", "T3"]  # the city itself is not paired
    assert p.loc["T1", "nearest_city"] == "C1" and p.loc["T1", "ttwa_city"] == "C1"
    # 0.1 degree of latitude = 11.11951 km.
    assert p.loc["T1", "nearest_km"] == pytest.approx(11.11951, abs=1e-4)
    assert p.loc["T2", "nearest_city"] == "C2" and pd.isna(p.loc["T2", "ttwa_city"])
    # T3 is nearer C1 but works in C2's travel-to-work area: the two rules disagree.
    assert p.loc["T3", "nearest_city"] == "C1" and p.loc["T3", "ttwa_city"] == "C2"
    assert p.loc["T3", "ttwa_km"] == pytest.approx(haversine_km(52.3, -0.8, 51.5, -0.1))


def test_unknown_rule_is_a_user_error():
    with pytest.raises(TownhallError, match="Unknown pairing rule"):
        check_rule("closest")


# -- the real towns ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pairing(atlas) -> Pairing:
    return Pairing(atlas)


def test_every_english_town_has_a_nearest_city(pairing):
    t = pairing.table
    assert len(t) == 1082  # 1,100 towns and cities in the ONS table less the 18 cities
    assert t["nearest_city"].notna().all()
    assert (t["nearest_km"] > 0).all()
    assert len(pairing.cities) == 19 and LONDON in set(pairing.cities["code"])


def test_towns_in_a_ttwa_with_a_city_have_that_city(pairing):
    t = pairing.table
    city_ttwa = dict(zip(pairing.cities["ttwa11"], pairing.cities["code"], strict=True))
    expected = t["ttwa11"].map(city_ttwa)
    assert t["ttwa_city"].notna().sum() == expected.notna().sum() == 287
    assert (t["ttwa_city"].dropna() == expected.dropna()).all()


def test_barnsley_pairs_with_sheffield_distance_by_hand(atlas, pairing):
    b, s = atlas.area("E35000961", "town"), atlas.area("E35000930", "town")
    assert (b.name, s.name) == ("Barnsley", "Sheffield")
    # Haversine by hand from the two population-weighted centres.
    p1, p2 = math.radians(b.lat), math.radians(s.lat)
    dl = math.radians(s.lon - b.lon)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    by_hand = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
    city = pairing.city_of("E35000961")
    assert city["code"] == "E35000930"
    assert city["km"] == pytest.approx(by_hand, rel=1e-12)
    assert city["km"] == pytest.approx(20.86, abs=0.05)
    # Barnsley is its own travel-to-work area: no TTWA city.
    assert pairing.city_of("E35000961", "ttwa") is None


@pytest.mark.parametrize(("town", "nearest", "ttwa"), [
    ("E35001329", "Sheffield", "Sheffield"),    # Rotherham
    ("E35000316", "Manchester", "Manchester"),  # Salford
    ("E35001474", "Leeds", None),               # Wakefield, a Yorkshire mining town
    ("E35000012", "London", None),              # Watford
])
def test_known_pairs(pairing, town, nearest, ttwa):
    assert pairing.city_of(town)["name"] == nearest
    got = pairing.city_of(town, "ttwa")
    assert (got["name"] if got else None) == ttwa


def test_without_london_watford_looks_elsewhere(atlas):
    p = Pairing(atlas, london=False)
    assert len(p.cities) == 18
    assert p.city_of("E35000012")["name"] != "London"


def test_towns_of_manchester_by_ttwa(pairing):
    df = pairing.towns_of("Manchester", rule="ttwa")
    assert len(df) == 58
    assert "Salford" in set(df["town_name"]) and df["km"].is_monotonic_increasing
    with pytest.raises(TownhallError, match="not one of the cities"):
        pairing.towns_of("Gotham")
