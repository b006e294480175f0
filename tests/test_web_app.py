"""Every route of the web app over the tiny synthetic atlas (tests/web_fixture.py)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlparse

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import townhall.sources.licences as licences
import townhall.web.toolkit as webapp
from townhall.sources.catalogue import load_catalogue
from townhall.sources.licences import LICENCE_URLS, attributions
from townhall.web.app import create_app
from townhall.web.toolkit import fmt_num
from townhall.web.toolkit import ordinal as _ordinal
from townhall.web.toolkit import parse_suggestion as _parse_suggestion
from web_fixture import SOURCES, make_tiny_atlas


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    path = make_tiny_atlas(tmp_path_factory.mktemp("web") / "atlas.duckdb")
    with TestClient(create_app(path)) as c:
        yield c


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- home and search -----------------------------------------------------------------------
def test_home_has_search_box_and_links(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert '<form action="/search" method="get" role="search" aria-label="Find a place">' in r.text
    assert 'id="home-q"' in r.text
    # Search first: the home search box comes before the findings.
    assert r.text.index('id="home-q"') < r.text.index("<h2>Findings</h2>")
    for link in ('href="/levels"', 'href="/sources"', 'href="/docs"', 'href="/level/lad"'):
        assert link in r.text
    # Footer: link to sources and the main publishers of this atlas.
    assert "Data from MHCLG, ONS and others" in r.text
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in r.text


def test_search_single_exact_match_redirects_to_place(client: TestClient) -> None:
    r = client.get("/search", params={"q": "bolton"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/place/lad/E08000001"
    r = client.get("/search", params={"q": "e34000999"}, follow_redirects=False)
    assert r.headers["location"] == "/place/town/E34000999"


def test_search_lists_several_matches(client: TestClient) -> None:
    # Small areas are listed when their level is asked for.
    r = client.get("/search", params={"q": "Wigan 0", "level": "lsoa21"})
    assert r.status_code == 200
    assert "2 places match" in r.text
    assert '<a href="/place/lsoa21/E01000001">Wigan 001A</a>' in r.text
    assert '<a href="/place/lsoa21/E01000002">Wigan 001B</a>' in r.text
    assert "1,500" in r.text and ">500<" in r.text


def test_search_without_match_suggests(client: TestClient) -> None:
    r = client.get("/search", params={"q": "Wigna"})
    assert r.status_code == 200
    assert "No place matches <strong>Wigna</strong>" in r.text
    assert '<a href="/place/lad/E08000010">Wigan</a>' in r.text


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=40))
def test_search_never_fails(client: TestClient, q: str) -> None:
    r = client.get("/search", params={"q": q}, follow_redirects=False)
    assert r.status_code in (200, 303)
    r = client.get("/api/search", params={"q": q or " "})
    assert r.status_code == 200


def test_api_search(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "wigan 0", "level": "lsoa21"}).json()
    assert body["count"] == 2
    assert [(r["code"], r["level"], r["population"]) for r in body["rows"]] == [
        ("E01000001", "lsoa21", 1500.0), ("E01000002", "lsoa21", 500.0)]
    assert body["rows"][0]["url"] == "/place/lsoa21/E01000001"
    assert body["suggestions"] == []
    body = client.get("/api/search", params={"q": "Wigna"}).json()
    assert body["count"] == 0
    assert body["suggestions"] == [
        {"name": "Wigan", "level": "lad", "code": "E08000010", "url": "/place/lad/E08000010"}]
    rows = _csv_rows(
        client.get("/api/search", params={"q": "wigan 0", "level": "lsoa21", "format": "csv"}).text)
    assert [r["code"] for r in rows] == ["E01000001", "E01000002"]


# -- place pages ---------------------------------------------------------------------------
def test_place_page_council(client: TestClient) -> None:
    r = client.get("/place/lad/E08000010")
    assert r.status_code == 200
    t = r.text
    assert "<h1>Wigan</h1>" in t
    assert "Population (2021)" in t and "330,000" in t
    assert '<a href="/place/rgn/E12000002">North West</a>' in t
    assert "Urban with Major Conurbation" in t
    # IMD: value 35 at the 80th percentile, polarity -1 -> better than 20% of councils.
    assert "IMD 2025 score" in t and "80th" in t and "better than 20% of councils" in t
    # GVA (unit GBP): latest period 2022, £31.50 (£30.00-£33.00), 30th percentile, polarity +1.
    assert "£31.50" in t and "(£30.00–£33.00)" in t and "better than 30% of councils" in t
    assert "MHCLG" in t and LICENCE_URLS["OGL-3.0"] in t
    assert 'href="/api/place/lad/E08000010"' in t


def test_place_page_town_and_lsoa(client: TestClient) -> None:
    t = client.get("/place/town/E34000999").text
    assert "<h1>Leigh</h1>" in t and "Medium Towns" in t and "Non-coastal" in t
    assert "Population (2011)" in t and "46,000" in t
    assert '<a href="/place/lad/E08000010">Wigan</a>' in t
    assert "better than 30% of towns and cities" in t
    t = client.get("/place/lsoa21/E01000002").text
    # Census population is a headline indicator with neutral polarity.
    assert "<h3>Headline</h3>" in t and "Usual residents, Census 2021" in t and "neutral" in t


def test_api_place_is_the_profile(client: TestClient) -> None:
    body = client.get("/api/place/lad/E08000010").json()
    assert body["area"] == {
        "code": "E08000010", "name": "Wigan", "level": "lad",
        "level_name": "council (local authority district)", "country": "E", "lat": 53.54,
        "lon": -2.63, "population": 330000.0, "population_year": 2021}
    assert body["parents"] == [{"code": "E12000002", "level": "rgn", "name": "North West",
                                "weight": 1.0, "method": "official_best_fit"}]
    assert body["classes"] == {"ruc2011": "Urban with Major Conurbation"}
    ind = {i["id"]: i for i in body["indicators"]}
    assert (ind["imd25_imd_score"]["value"], ind["imd25_imd_score"]["better_than_pct"]) == (35.0, 20.0)
    assert (ind["els_gva_per_hour"]["period"], ind["els_gva_per_hour"]["lower"]) == ("2022", 30.0)
    assert [s["path"] for s in body["sources"]] == ["src/iod25.csv", "src/els.csv"]
    assert [h["id"] for h in body["headline"]] == ["imd25_imd_score"]
    head = client.get("/api/place/lsoa21/E01000001/headline").json()["rows"]
    assert [(h["id"], h["value"]) for h in head] == [("census21_pop", 1500.0), ("imd25_imd_score", 40.0)]


def test_api_place_tables_as_csv(client: TestClient) -> None:
    rows = _csv_rows(client.get("/api/place/lad/E08000010/indicators?format=csv").text)
    assert {r["id"]: r["value"] for r in rows} == {"imd25_imd_score": "35.0", "els_gva_per_hour": "31.5"}
    rows = _csv_rows(client.get("/api/place/town/E34000999/classes?format=csv").text)
    assert rows == [{"scheme": "coastal", "class": "Non-coastal"},
                    {"scheme": "ons_town_size", "class": "Medium Towns"}]
    # A table with no rows still has its header.
    assert client.get("/api/place/rgn/E12000002/parents?format=csv").text.strip() == \
        "code,level,name,weight,method"
    assert client.get("/api/place/lad/E08000010/parents").json()["rows"][0]["code"] == "E12000002"


def test_places_within(client: TestClient) -> None:
    t = client.get("/place/lad/E08000010").text
    assert 'Places within: <a href="/place/lad/E08000010/within/town">towns and cities</a>' in t
    t = client.get("/place/lad/E08000010/within/lsoa21", params={"sort": "-population"}).text
    assert t.index(">Wigan 001A<") < t.index(">Wigan 001B<") and "2 linked" in t
    body = client.get("/api/place/lad/E08000010/within/town").json()
    assert body["rows"] == [{"code": "E34000999", "name": "Leigh", "weight": 1.0,
                             "population": 46000.0, "method": "centroid_in_polygon"}]
    rows = _csv_rows(client.get("/api/place/town/E34000999/within/lsoa21?format=csv").text)
    assert [(r["code"], r["population"]) for r in rows] == [("E01000001", "1500.0")]
    assert client.get("/place/lad/E08000099/within/town").status_code == 404
    assert client.get("/api/place/lad/E08000010/within/ward").status_code == 400


def test_place_by_name_redirects_to_code(client: TestClient) -> None:
    r = client.get("/place/lad/wigan", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/place/lad/E08000010"


def test_unknown_place_is_404_with_suggestions(client: TestClient) -> None:
    r = client.get("/place/lad/E08000099")
    assert r.status_code == 404
    assert "No place matches &#39;E08000099&#39;." in r.text
    # Neighbouring codes of the level are offered.
    assert '<a href="/place/lad/E08000010">Wigan</a>' in r.text
    assert '<a href="/place/lad/E08000001">Bolton</a>' in r.text
    # A code at the wrong level: the same code at its real level is offered.
    r = client.get("/place/town/E08000010")
    assert r.status_code == 404 and '<a href="/place/lad/E08000010">Wigan</a>' in r.text
    r = client.get("/api/place/lad/Wigna")
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "PlaceNotFoundError"
    assert body["message"] == "No place matches 'Wigna'."
    assert body["suggestions"][0]["code"] == "E08000010"


def test_bad_level_is_400(client: TestClient) -> None:
    assert client.get("/place/county/E08000010").status_code == 400
    assert client.get("/level/nowhere").status_code == 400
    r = client.get("/api/areas/nowhere")
    assert r.status_code == 400
    assert r.json()["message"] == "Unknown level 'nowhere'."
    assert r.json()["hint"].startswith("Levels: lad, town, pcon24")
    assert client.get("/api/place/xx/E08000010").status_code == 400


# -- levels and areas ----------------------------------------------------------------------
def test_levels(client: TestClient) -> None:
    rows = client.get("/api/levels").json()["rows"]
    assert [(r["level"], r["areas"]) for r in rows] == [("lad", 2), ("town", 1), ("rgn", 1), ("lsoa21", 2)]
    t = client.get("/levels").text
    # Levels in words, not codes (issue 13).
    assert '<a href="/level/lsoa21">LSOAs (2021)</a>' in t and ">lsoa21<" not in t
    assert _csv_rows(client.get("/api/levels?format=csv").text)[0]["level"] == "lad"


def test_level_page_sort_and_csv(client: TestClient) -> None:
    t = client.get("/level/lad").text
    assert t.index(">Bolton<") < t.index(">Wigan<")  # by name
    t = client.get("/level/lad", params={"sort": "-population"}).text
    assert t.index(">Wigan<") < t.index(">Bolton<")
    assert client.get("/level/lad", params={"sort": "lat"}).status_code == 400
    r = client.get("/api/areas/lad", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert [(x["code"], x["name"], x["population"]) for x in _csv_rows(r.text)] == [
        ("E08000001", "Bolton", "296000.0"), ("E08000010", "Wigan", "330000.0")]
    body = client.get("/api/areas/lad").json()
    assert body["count"] == 2 and body["rows"][1]["population_year"] == 2021
    # A level held by no area here is an empty list, not an error.
    assert client.get("/api/areas/cty").json()["count"] == 0


def test_level_page_paginates(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webapp, "PAGE_SIZE", 1)
    t = client.get("/level/lad", params={"page": 2}).text
    assert ">Wigan<" in t and ">Bolton<" not in t
    assert "rows 2–2 of 2 (page 2 of 2)" in t
    assert client.get("/level/lad", params={"page": "x"}).status_code == 400


# -- indicators ----------------------------------------------------------------------------
def test_indicators(client: TestClient) -> None:
    rows = client.get("/api/indicators").json()["rows"]
    assert {r["id"]: (r["level"], r["polarity"], r["periods"]) for r in rows} == {
        "els_gva_per_hour": ("lad", 1, "2021, 2022"),
        "census21_pop": ("lsoa21", 0, "2021"),
        "imd25_imd_score": ("lsoa21", -1, "2025"),
    }
    t = client.get("/indicators", params={"topic": "economy"}).text
    assert '<a href="/indicator/els_gva_per_hour">GVA per hour worked</a>' in t
    assert "imd25_imd_score" not in t.split("<h1>")[1].split("</form>")[1]
    body = client.get("/api/indicator/imd25_imd_score").json()
    assert body["periods"] == ["2025"] and body["levels"] == ["lsoa21", "town", "lad", "pcon24", "rgn"]


def test_indicator_page_values(client: TestClient) -> None:
    t = client.get("/indicator/imd25_imd_score").text
    assert '<a href="/place/lsoa21/E01000001">Wigan 001A</a>' in t
    assert "90th" in t and "40th" in t
    t = client.get("/indicator/imd25_imd_score", params={"level": "lad", "sort": "-value"}).text
    assert '<a href="/place/lad/E08000010">Wigan</a>' in t and ">35<" in t
    # A live roll-up of counts shows how many small areas stand behind it.
    t = client.get("/indicator/census21_pop", params={"level": "lad"}).text
    assert ">2,000<" in t and "rolled up from" in t and ">100.0%<" in t


def test_api_values_json_and_csv(client: TestClient) -> None:
    body = client.get("/api/values/els_gva_per_hour").json()
    assert (body["period"], body["count"]) == ("2022", 2)
    body = client.get("/api/values/els_gva_per_hour", params={"period": "2021"}).json()
    assert body["rows"] == [{"area": "E08000010", "name": "Wigan", "period": "2021", "value": 30.5,
                             "lower": 29.0, "upper": 32.0, "pct": 25.0}]
    r = client.get("/api/values/imd25_imd_score", params={"level": "lad", "format": "csv"})
    assert 'filename="values-imd25_imd_score-lad-2025.csv"' in r.headers["content-disposition"]
    assert [(x["area"], x["value"]) for x in _csv_rows(r.text)] == [("E08000010", "35.0")]
    # A period with no values: a clear 400 naming the periods held (request text never reaches a header).
    r = client.get("/api/values/els_gva_per_hour", params={"period": 'x"\r\nSet: a', "format": "csv"})
    assert r.status_code == 400 and "content-disposition" not in r.headers
    assert r.json()["hint"] == "Periods: 2021, 2022."
    rows = _csv_rows(client.get("/api/values/census21_pop?level=lad&format=csv").text)
    assert [(x["area"], float(x["value"]), x["n_children"]) for x in rows] == [("E08000010", 2000.0, "2")]


def test_indicator_errors(client: TestClient) -> None:
    assert client.get("/indicator/nope").status_code == 404
    r = client.get("/api/values/nope")
    assert r.status_code == 404
    assert r.json()["message"] == "Unknown indicator 'nope'."
    # No lsoa21 -> rgn link in this atlas: a clear 400, not a 500.
    r = client.get("/api/values/imd25_imd_score", params={"level": "rgn"})
    assert r.status_code == 400 and "cannot be rolled up to rgn" in r.json()["message"]
    assert client.get("/api/values/imd25_imd_score", params={"format": "xml"}).status_code == 422


# -- sources, docs, errors -----------------------------------------------------------------
REQUIRED_STATEMENTS = (
    "Contains public sector information licensed under the Open Government Licence v3.0.",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
    "Contains OS data © Crown copyright and database right 2024",
    "Contains Parliamentary information licensed under the Open Parliament Licence v3.0.",
    "Contains data from mySociety, licensed under Creative Commons Attribution 4.0 (CC BY 4.0).",
    "No licence is stated for 3 files from OCSI/Local Trust",
)


def test_sources_page(client: TestClient) -> None:
    t = client.get("/sources").text
    for s in REQUIRED_STATEMENTS:
        assert s in t, s
    assert "GNU GPL v3.0" in t
    assert "In this atlas (2)" in t
    assert f"Declared, not used by this atlas ({len(load_catalogue())})" in t
    assert "<code>src/iod25.csv</code>" in t and 'href="https://example.org/iod25.csv"' in t


def test_api_sources(client: TestClient) -> None:
    body = client.get("/api/sources").json()
    assert body["count"] == 2 + len(load_catalogue())
    used = [r for r in body["rows"] if r["in_atlas"]]
    assert [(r["path"], r["publisher"], r["licence"]) for r in used] == [
        ("src/els.csv", "ONS", "OGL-3.0"), ("src/iod25.csv", "MHCLG", "OGL-3.0")]
    statements = [a["statement"] for a in body["attributions"]]
    assert statements[:2] == list(REQUIRED_STATEMENTS[:2])
    rows = _csv_rows(client.get("/api/sources?format=csv").text)
    assert rows[0]["path"] == "src/els.csv" and rows[0]["in_atlas"] == "True"


def test_attributions_follow_the_licences() -> None:
    cols = ["path", "title", "publisher", "licence"]
    only_mhclg = pd.DataFrame([["iod.csv", "IoD", "MHCLG", "OGL-3.0"]], columns=cols)
    assert [a["statement"] for a in attributions(only_mhclg)] == [licences.OGL_STATEMENT]
    osm = pd.DataFrame([["osm/pubs.csv", "Pubs from OpenStreetMap", "OSM", "ODbL-1.0"]], columns=cols)
    (a,) = attributions(osm)
    assert a["statement"].startswith("© OpenStreetMap contributors") and a["licence"] == "ODbL-1.0"


def test_docs_are_offline(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    for host in ("cdn", "unpkg", "jsdelivr", "http://", "https://"):
        assert host not in r.text.lower()
    assert '<script src="/swagger-ui/swagger-ui-bundle.js">' in r.text
    assert client.get("/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/swagger-ui/swagger-ui.css").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/place/{level}/{code}", "/api/levels", "/api/areas/{level}",
                 "/api/indicators", "/api/values/{indicator}", "/api/sources"):
        assert path in schema["paths"], path
    assert "/place/{level}/{code}" not in schema["paths"]  # HTML pages stay out of the API docs
    assert client.get("/redoc").status_code == 404


def test_unknown_routes(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and "No page at /nowhere." in r.text
    r = client.get("/api/nowhere")
    assert r.status_code == 404 and r.json()["message"] == "Not Found"


PAGES = ("/", "/search?q=wigan+0&level=lsoa21", "/search?q=zzzz", "/place/lad/E08000010", "/place/town/E34000999",
         "/place/lsoa21/E01000001", "/place/lad/E08000099", "/levels", "/level/lad", "/indicators",
         "/indicator/imd25_imd_score", "/indicator/census21_pop?level=lad", "/sources",
         "/place/lad/E08000010/within/lsoa21", "/docs")


def test_pages_link_outside_only_to_sources_and_licences(client: TestClient) -> None:
    allowed = set(LICENCE_URLS.values())
    for s in load_catalogue():
        allowed |= {s.url, s.publisher_url}
    for row in SOURCES:
        allowed |= {row[3], row[6]}
    for page in PAGES:
        html = client.get(page).text
        for url in re.findall(r'(?:href|src|action)="([^"]*)"', html):
            if urlparse(url).netloc:
                assert url in allowed, (page, url)
        assert "<script src=\"http" not in html


def test_json_behind_every_page(client: TestClient) -> None:
    for page in PAGES:
        if page in ("/place/lad/E08000099", "/docs"):  # an error page; the docs are the API
            continue
        html = client.get(page).text
        m = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)">', html)
        assert m, page
        r = client.get(m.group(1).replace("&amp;", "&"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", page


# -- helpers -------------------------------------------------------------------------------
def test_fmt_num() -> None:
    assert fmt_num(330000.0) == "330,000"
    assert fmt_num(31.5) == "31.5"
    assert fmt_num(0.1234) == "0.123"
    assert fmt_num(1234.56) == "1,235"
    assert fmt_num(0.0004) == "0.0004"
    assert fmt_num(None) == fmt_num(float("nan")) == fmt_num(float("inf")) == "–"
    assert fmt_num(2.5, digits=2) == "2.50"


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_fmt_num_round_trips(x: float) -> None:
    back = float(fmt_num(x).replace(",", ""))
    # Relative error from rounding to the shown digits: at most half a unit of 3 significant figures.
    assert abs(back - x) <= max(abs(x) * 0.005, 0.0005)


def test_ordinal() -> None:
    assert [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "100th", "101st", "111th"]
    assert _ordinal(None) == "–"


def test_parse_suggestion() -> None:
    assert _parse_suggestion("Kingston upon Hull, City of (lad, E06000010)") == {
        "name": "Kingston upon Hull, City of", "level": "lad", "code": "E06000010",
        "url": "/place/lad/E06000010"}
    assert _parse_suggestion("odd")["url"] is None
