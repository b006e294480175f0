"""Drive the infrastructure pages in headless Chromium on the real atlas: a place's ledger."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

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
def server(atlas_path: Path) -> Iterator[str]:
    import uvicorn

    from townhall.web.app import create_app

    app = create_app(atlas_path)
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


def test_place_page_shows_facilities_and_closures(server: str, browser: object) -> None:
    page = browser.new_page()
    outside: list[str] = []

    def guard(route: object) -> None:
        if urlparse(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
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
    assert outside == []
