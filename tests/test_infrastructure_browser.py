"""Drive the infrastructure pages in headless Chromium on the real atlas: a place's ledger."""

from __future__ import annotations

from typing import Any

import browser_fixture
from browser_fixture import Guard, needs_chromium

pytestmark = needs_chromium
browser, server = browser_fixture.browser, browser_fixture.atlas_server


def test_place_page_shows_facilities_and_closures(server: str, browser: Any) -> None:
    g = Guard(browser)
    page = g.page
    page.goto(server + "/infrastructure/place/lad/E06000001", timeout=120_000)
    assert page.text_content("h1") == "Social infrastructure in Hartlepool"
    events = page.text_content("#events")
    # Foggy Furze and West View libraries closed in 2011 (the 2017 library list).
    assert "Foggy Furze" in events and "West View" in events
    assert "2011-12-31" in events
    assert "Hartlepool Central Library" in page.text_content("#facilities")
    assert page.locator("#timeline svg rect").count() > 0
    # The national page draws the by-class chart (its first view computes the closure rates and the
    # pub decline: allow for a busy machine).
    page.goto(server + "/infrastructure", timeout=180_000)
    assert "Small town" in page.text_content("#closures")
    assert page.locator("#by-class svg circle").count() >= 5
    assert g.outside == []
    g.close()
