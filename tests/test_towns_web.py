"""Web: /compare, /api/compare, a town's gaps page and its API, and the SVG chart."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from townhall.web.towns import dot_interval_svg


@pytest.fixture(scope="module")
def client(atlas_path):
    from townhall.web.app import create_app

    with TestClient(create_app(atlas_path)) as c:
        yield c


def test_compare_page_and_data(client):
    r = client.get("/compare", params={"a": "Barnsley", "b": "Sheffield"})
    assert r.status_code == 200
    assert "<h1>Barnsley <span class=\"muted\">and</span> Sheffield</h1>" in r.text
    assert "<svg" in r.text and "20.9 km apart" in r.text
    j = client.get("/api/compare", params={"a": "Barnsley", "b": "Sheffield"}).json()
    assert (j["a"]["code"], j["b"]["code"], j["level"]) == ("E35000961", "E35000930", "town")
    row = {x["indicator"]: x for x in j["rows"]}["imd25_imd_score"]
    assert row["gap"] == pytest.approx(row["value_b"] - row["value_a"])  # lower score is better
    c = client.get("/api/compare", params={"a": "Barnsley", "b": "Sheffield", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert c.headers["content-type"].startswith("text/csv") and len(rows) == len(j["rows"])
    assert client.get("/compare").status_code == 200  # the empty form


def test_compare_refusals(client):
    r = client.get("/api/compare", params={"a": "Barnsley", "b": "Barnsley North"})
    assert r.status_code == 400 and r.json()["error"] == "MismatchError"
    assert "different kinds of place" in r.json()["message"]
    r = client.get("/api/compare", params={"a": "Narnia", "b": "Sheffield"})
    assert r.status_code == 404 and r.json()["error"] == "PlaceNotFoundError"
    r = client.get("/compare", params={"a": "Barnsley", "b": "Barnsley North"})
    assert r.status_code == 400 and "different kinds of place" in r.text


def test_town_gaps_api_and_page(client):
    j = client.get("/api/town/E35000961/gaps").json()
    assert j["city"]["name"] == "Sheffield" and j["pairings"]["ttwa"] is None
    assert j["city"]["km"] == pytest.approx(20.86, abs=0.05)
    gaps = {g["indicator"]: g for g in j["gaps"]}
    assert gaps["imd25_imd_natpct"]["verdict"] in ("falling behind", "no clear gap", "ahead")
    assert {t["domain"] for t in j["trend"]} == {"imd", "income", "employment", "education", "health", "crime",
                                                   "barriers", "environment"}
    page = client.get("/town/E35000961/gaps")
    # The two charts, and a map of the region's towns with Barnsley (orange) and its city Sheffield (blue).
    assert page.status_code == 200 and page.text.count("<svg") == 3 and "Sheffield" in page.text
    town_map = page.text[page.text.index('id="town-city-map"'):]
    assert re.search(r'<a href="/place/town/E35000961" aria-label="Barnsley, this town"[^>]*><path d="[^"]+" '
                     r'fill="#d55e00"/>', town_map)
    assert re.search(r'<a href="/place/town/E35000930" aria-label="Sheffield, its city"[^>]*><path d="[^"]+" '
                     r'fill="#0072b2"/>', town_map)
    # Server-drawn: the only script is the site's own static file (no inline code).
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/map.js" defer>']
    none = client.get("/town/Barnsley/gaps", params={"rule": "ttwa"})
    assert none.status_code == 200 and "has no city" in none.text
    assert client.get("/api/town/E35000930/gaps").status_code == 400  # Sheffield is a city
    c = client.get("/api/town/E35000961/gaps", params={"format": "csv"})
    assert c.text.splitlines()[0].startswith("indicator,level,name,period")


def test_dot_interval_svg_positions():
    svg = dot_interval_svg([{"label": "A & B", "gap": 5.0, "lower": -2.0, "upper": 10.0, "verdict": "ahead"},
                            {"label": "C", "gap": -10.0, "lower": -12.0, "upper": -8.0, "verdict": "falling behind"}],
                           title="t", width=640, label_width=210)
    # Axis half-width rounds 12 up to 20; the plot is 640 - 210 - 16 = 414 px wide, so 0 is at 417.
    assert 'x1="417.0"' in svg and "A &amp; B" in svg
    cx = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert cx == pytest.approx([210 + 414 * 25 / 40, 210 + 414 * 10 / 40], abs=0.06)
    assert 'fill="#2e7d4f"' in svg and 'fill="#b3432f"' in svg


def test_town_place_page_shows_its_city_and_charts(client):
    page = client.get("/place/town/E35000961").text  # Barnsley
    assert '<h2>Barnsley and its neighbouring city</h2>' in page
    assert 'Nearest city: <a href="/place/town/E35000930">Sheffield</a> <span class="muted">20.9 km</span>' in page
    assert '<img src="/town/E35000961/gaps.svg"' in page and '/town/E35000961/gaps.svg?chart=trend' in page
    svg = client.get("/town/E35000961/gaps.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    # The composite and the seven domains, each a row of the chart.
    for label in ("Index of Multiple Deprivation", "Income", "Living environment"):
        assert f">{label}</text>" in svg.text
    assert svg.text.count("<circle") == 8
    trend = client.get("/town/E35000961/gaps.svg", params={"chart": "trend"})
    assert trend.status_code == 200 and "2019 (hollow)" in trend.text
    # A city has no city of its own: no section, and no chart.
    assert "its neighbouring city</h2>" not in client.get("/place/town/E35000930").text
    assert client.get("/town/E35000930/gaps.svg").status_code == 400
