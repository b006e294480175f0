"""The funding lab in headless Chromium on the real atlas: the page renders, and changing the
scheme in the form changes the winners-and-losers table."""

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
    for _ in range(400):
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


def test_lab_renders_and_the_scheme_changes_the_table(server: str, browser: object) -> None:
    page = browser.new_page()
    outside: list[str] = []

    def guard(route: object) -> None:
        if urlparse(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    page.goto(server + "/funding?scheme=none", timeout=60_000)
    assert page.text_content("#scheme-name") == "No equalisation"
    assert page.locator("#councils tbody tr").count() == 296
    assert page.locator("#frontier svg g.scheme").count() == 10
    assert page.locator("#capacity-need svg circle").count() == 2 * 296
    first_none = page.text_content("#councils tbody tr:first-child")
    headline_none = page.text_content("#headline")
    assert "Gap closed 0.0%" in headline_none

    page.select_option("#scheme", "full")
    page.click("#lab button[type=submit]")
    page.wait_for_url("**/funding?scheme=full*", timeout=60_000)
    assert page.text_content("#scheme-name") == "Full equalisation"
    assert "Gap closed 100.0%" in page.text_content("#headline")
    assert page.text_content("#councils tbody tr:first-child") != first_none
    page.screenshot(path=str(Path(__file__).parent.parent / ".pytest_cache" / "funding_lab.png"), full_page=False)
    assert outside == []
