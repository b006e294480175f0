"""Drive the real app in headless Chromium: search, land on a place, read its population."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from townhall.web.app import create_app
from web_fixture import make_tiny_atlas

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    app = create_app(make_tiny_atlas(tmp_path_factory.mktemp("browser") / "atlas.duckdb"))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_search_to_place_in_a_browser(server: str, browser: object) -> None:
    page = browser.new_page()
    outside: list[str] = []

    def guard(route: object) -> None:
        # Everything must come from our own server: record and block anything else.
        if urlparse(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
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
    assert outside == []
    page.close()
