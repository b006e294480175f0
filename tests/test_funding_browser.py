"""The funding lab in headless Chromium on the real atlas: the page renders, and changing the
scheme in the form changes the winners-and-losers table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import browser_fixture
from browser_fixture import Guard, needs_chromium

pytestmark = needs_chromium
browser, server = browser_fixture.browser, browser_fixture.atlas_server


def test_lab_renders_and_the_scheme_changes_the_table(server: str, browser: Any, tmp_path: Path) -> None:
    g = Guard(browser)
    page = g.page
    page.goto(server + "/funding?scheme=none", timeout=60_000)
    assert page.text_content("#scheme-name") == "No equalisation"
    assert page.locator("#councils tbody tr").count() == 296
    assert page.locator("#frontier svg g.scheme").count() == 10
    assert page.locator("#capacity-need svg circle").count() == 2 * 296
    first_none = page.text_content("#councils tbody tr:first-child")
    assert "Gap closed 0.0%" in page.text_content("#headline")

    page.select_option("#scheme", "full")
    page.click("#lab button[type=submit]")
    page.wait_for_url("**/funding?scheme=full*", timeout=60_000)
    assert page.text_content("#scheme-name") == "Full equalisation"
    assert "Gap closed 100.0%" in page.text_content("#headline")
    assert page.text_content("#councils tbody tr:first-child") != first_none
    page.screenshot(path=str(tmp_path / "funding_lab.png"))

    page.goto(server + "/funding/council/E07000223", timeout=60_000)
    assert page.text_content("h1") == "Adur in the fair-funding lab"
    assert page.locator("#schemes tbody tr").count() == 10
    g.check()
    g.close()
