"""Web: assembly quotas from a place's census profile (/assembly/quotas and its API)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from townhall.assembly import quotas_from_profile


@pytest.fixture(scope="module")
def client(atlas_path):
    from townhall.web.app import create_app

    with TestClient(create_app(atlas_path)) as c:
        yield c


def test_quotas_api_matches_the_cli_and_reads_back(client, atlas, tmp_path) -> None:
    params = {"place": "Wigan", "level": "lad", "size": 30}
    j = client.get("/api/assembly/quotas", params=params).json()
    assert j["place"] == {"code": "E08000010", "name": "Wigan", "level": "lad"}
    expected = quotas_from_profile(atlas.census_profile("E08000010", "lad"), 30, 0.1).to_frame()
    assert [(q["category"], q["value"], q["min"], q["max"]) for q in j["quotas"]] == list(
        expected[["category", "value", "min", "max"]].itertuples(index=False, name=None)
    )
    # By hand: 30,686 of Wigan's 268,705 adults are 16-24, so 3.43 of 30 seats: 3 to 4.
    age = {q["value"]: q for q in j["quotas"] if q["category"] == "age"}
    assert (age["16-24"]["min"], age["16-24"]["max"]) == (3, 4)
    assert age["16-24"]["target"] == pytest.approx(30 * 30686 / 268705, abs=1e-3)
    share = {(r["category"], r["value"]): r["share"] for r in j["profile"]}
    assert share[("age", "16-24")] == pytest.approx(30686 / 268705)

    # The CSV is a quota file the selection reads back.
    r = client.get("/api/assembly/quotas", params={**params, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(j["quotas"]) == 20
    path = tmp_path / "q.csv"
    path.write_text(r.text, encoding="utf-8")
    from townhall.assembly import read_quotas

    assert read_quotas(path, 30).to_frame()[["min", "max"]].sum().tolist() == [
        sum(q["min"] for q in j["quotas"]),
        sum(q["max"] for q in j["quotas"]),
    ]


def test_quotas_page_and_place_link(client) -> None:
    assert "Make quotas" in client.get("/assembly/quotas").text  # the empty form
    r = client.get("/assembly/quotas", params={"place": "Greater Manchester", "size": 40})
    assert r.status_code == 200
    assert "<h1>Assembly quotas for Greater Manchester</h1>" in r.text
    assert r.text.count("<tr>") == 21  # header and 20 quotas
    assert "townhall assembly select pool.csv --quotas quotas.csv --size 40" in r.text
    page = client.get("/place/lad/E08000010").text
    assert "/assembly/quotas?place=E08000010&amp;level=lad" in page


def test_quotas_bad_input(client) -> None:
    r = client.get("/api/assembly/quotas", params={"place": "xyzzy"})
    assert r.status_code == 404 and "No place matches 'xyzzy'" in r.json()["message"]
    r = client.get("/api/assembly/quotas", params={"place": "E63001177", "level": "bua22"})
    assert r.status_code == 400
    assert "Wigan (bua22, E63001177) has no council link" in r.json()["message"]
    assert client.get("/api/assembly/quotas", params={"place": "Wigan", "tolerance": 1}).status_code == 422
    assert client.get("/assembly/quotas", params={"place": "xyzzy"}).status_code == 404
