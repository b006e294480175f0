"""Numbers that read right on real pages: counts whole, shares as %, ratios bare, money in GBP.

Values worked out from the mirror files by hand:

- Wigan (E08000010), Census 2021 (``hack25usefuldata/census21_pop.rda``, the 200 LSOAs named
  'Wigan 0NNX'): 329,339 residents, 63,601 aged 65 and over -> 63,601 / 329,339 = 19.31%.
- Wigan's housing affordability ratio (``explore_local_statistics/housing-affordability-ratio.csv``,
  2025-04-01): 5.28, a ratio of prices to earnings that the file labels '%'.
- Wigan's gross disposable household income per head, 2023: £19,357.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from townhall.web.toolkit import fmt_value, unit_kind


@pytest.fixture(scope="module")
def client(atlas_path):
    from townhall.web.app import create_app

    yield TestClient(create_app(atlas_path))  # no lifespan: no warm-up thread in this module


def _row(html: str, indicator: str) -> str:
    """The table row of one indicator on a place page."""
    m = re.search(rf'<tr><td><a href="/indicator/{indicator}\?level=lad">.*?</tr>', html, re.S)
    assert m, indicator
    return m.group(0)


def test_unit_kinds_and_formats() -> None:
    assert unit_kind("share") == "share" and fmt_value(0.1931171225, "share") == "19.3%"
    assert unit_kind("%", "els_housing_affordability_ratio", "Housing affordability ratio") == "ratio"
    assert fmt_value(5.28, "ratio") == "5.28"
    assert unit_kind("people") == "count" and fmt_value(329339.0, "count") == "329,339"
    assert unit_kind("£") == "money" and fmt_value(19357.0, "money") == "£19,357"
    assert unit_kind("flag (1 = left behind)", derived=True) == "flag_share"
    assert fmt_value(0.121, "flag_share") == "12.1%" and fmt_value(1.0, "flag") == "yes"
    assert unit_kind("percent") == "percent" and fmt_value(54.25, "percent") == "54.2%"


def test_council_page_numbers_read_right(client: TestClient) -> None:
    t = client.get("/place/lad/E08000010").text
    assert "329339.0" not in t and "329,339.0" not in t
    pop = _row(t, "census21_pop")
    assert ">329,339<" in pop and ">2021<" in pop
    share = _row(t, "census21_share_65_plus")
    assert ">19.3%<" in share and "0.193" not in share and '<td class="muted">%</td>' in share
    ratio = _row(t, "els_housing_affordability_ratio")
    assert ">5.28<" in ratio and '<td class="muted">ratio</td>' in ratio and '<td class="muted">%</td>' not in ratio
    assert ">2025-04-01<" in ratio
    money = _row(t, "els_gdhi_per_head")
    assert ">£19,357<" in money and ">2023<" in money
    # The Census 2021 count behind the settlement shares says its year (the headline is mid-2024).
    assert "Residents (Census 2021, base of the shares)</th><td>329,339</td>" in t


def test_place_api_carries_the_class_at_its_level(client: TestClient) -> None:
    j = client.get("/api/place/lad/E08000010").json()
    lc = j["level_classes"]
    assert lc["scheme"] == "settlement_share" and lc["population"] == 329339.0
    assert lc["class"] in ("City", "Large town", "Medium town", "Small town", "Village or rural", "London")
    shares = [v for k, v in lc.items() if k.startswith("share_")]
    assert sum(shares) == pytest.approx(1.0, abs=1e-6)


def test_indicator_page_counts_and_rolled_up_flags(client: TestClient) -> None:
    t = client.get("/indicator/census21_pop", params={"level": "lad", "q": "Wigan"}).text
    assert re.search(r'<a href="/place/lad/E08000010">Wigan</a>.*?>329,339<', t, re.S)
    t = client.get("/indicator/cni23_left_behind", params={"level": "lad"}).text
    assert "share of small areas flagged" in t
    cells = re.findall(r'<td class="n">([^<]*)</td>', t.split('id="values"')[1])
    values = [c for c in cells if c.endswith("%")]
    assert values and not any(re.fullmatch(r"0\.\d+", c) for c in cells)
