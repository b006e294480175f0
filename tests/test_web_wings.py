"""A place page carries what the wings say about it: elections, infrastructure, funding.

Hand-worked from the mirror: Wigan (E08000010) in the EU referendum
(politics_finance/elections/EU-referendum-result-data.csv, row 43): Remain 58,942,
Leave 104,331, turnout 69.23%, so Leave won by 45,389 votes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(atlas_path) -> TestClient:
    from townhall.web.app import create_app

    return TestClient(create_app(atlas_path))


def test_wings_api_for_a_council(client: TestClient) -> None:
    d = client.get("/api/wings/lad/E08000010").json()
    eu = next(s for s in d["elections"]["seats"] if s["election"] == "eu2016")
    assert (eu["winner"], eu["second"], eu["majority"]) == ("leave", "remain", 45_389)
    assert eu["turnout"] == pytest.approx(69.23, abs=0.01)
    assert d["funding"]["code"] == "E08000010" and d["funding"]["url"] == "/funding/council/E08000010"
    assert {r["kind"] for r in d["infrastructure"]["open"]} >= {"library", "gp", "pub"}


def test_council_page_shows_the_sections(client: TestClient) -> None:
    t = client.get("/place/lad/E08000010").text
    for section in ('id="elections"', 'id="infrastructure"', 'id="funding"'):
        assert section in t
    assert "45,389 (27.8%)" in t  # the Leave majority and its share of valid votes (45,389 / 163,273)
    assert 'href="/infrastructure/place/lad/E08000010"' in t


def test_a_seat_page_has_its_results_and_no_funding(client: TestClient) -> None:
    t = client.get("/place/pcon24/E14001064").text  # Aldridge-Brownhills
    assert 'id="elections"' in t and 'id="funding"' not in t
    assert client.get("/api/wings/pcon24/E14001064").json()["elections"]["seats"][0]["election"] == "ge2024"
