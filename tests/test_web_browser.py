"""Drive the real app in headless Chromium: search, land on a place, read its population."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import browser_fixture
from browser_fixture import Guard, needs_chromium, serve
from townhall.web.app import create_app
from web_fixture import make_tiny_atlas

pytestmark = needs_chromium
browser = browser_fixture.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(create_app(make_tiny_atlas(tmp_path_factory.mktemp("browser") / "atlas.duckdb"))) as url:
        yield url


def test_search_to_place_in_a_browser(server: str, browser: Any) -> None:
    g = Guard(browser)  # everything must come from our own server: anything else is blocked
    page = g.page
    page.goto(server + "/")
    page.fill("#home-q", "Bolton")
    page.press("#home-q", "Enter")
    page.wait_for_url(server + "/place/lad/E08000001")
    assert page.text_content("h1") == "Bolton"
    assert "296,000" in page.text_content("#population")
    assert "Population (2021)" in page.text_content("#population")

    # Several matches: a results list, then a click through to the small area.
    page.goto(server + "/search?level=lsoa21&q=wigan+0")
    page.click("text=Wigan 001A")
    page.wait_for_url(server + "/place/lsoa21/E01000001")
    assert "1,500" in page.text_content("#population")

    # The API docs render from local files alone.
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "townhall" in page.text_content(".swagger-ui .info .title")
    assert g.outside == []
    g.close()
