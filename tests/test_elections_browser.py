"""/elections and /evidence render in headless Chromium with no console errors (real atlas)."""

from __future__ import annotations

from typing import Any

import pytest

import browser_fixture
from browser_fixture import Guard, needs_chromium

pytestmark = [*needs_chromium, pytest.mark.slow]
# The app serves /elections and /evidence itself (both are in townhall.web.app.AREAS).
browser, server = browser_fixture.browser, browser_fixture.atlas_server


def test_elections_page(server: str, browser: Any) -> None:
    g = Guard(browser)
    page = g.page
    resp = page.goto(server + "/elections?election=ge2017&scheme=hocl&party=lab", timeout=120_000)
    assert resp.status == 200
    assert page.text_content("h1") == "Elections by kind of place"
    assert "Southampton, Itchen" in page.text_content("#targets-table")  # Labour's first target after 2017
    assert page.locator("#results tbody tr").count() == 3  # City, Town, Village or rural
    assert page.locator("svg.swing").count() == 2
    page.goto(server + "/elections/top?election=eu2016&option=leave&n=5", timeout=60_000)
    assert "Boston" in page.text_content("#rows")
    g.check()
    g.close()


def test_evidence_page(server: str, browser: Any) -> None:
    g = Guard(browser)
    page = g.page
    resp = page.goto(server + "/evidence", timeout=240_000)
    assert resp.status == 200
    cards = page.locator("section.evidence-card")
    assert cards.count() >= 6
    for cid in ("eu16_top30", "lab_towns_2017", "ge2017_cities_towns", "demos_towns_behind", "towns_visible_loss",
                "pubs_cohesion"):
        card = page.locator(f"#{cid}")
        assert card.locator("blockquote").count() == 1
        assert card.locator("table.rules tbody tr").count() >= 2
        assert card.locator(".verdict").count() == 1
    g.check()
    g.close()
