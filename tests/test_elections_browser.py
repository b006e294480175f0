"""/elections and /evidence render in headless Chromium with no console errors (real atlas)."""

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
    pytest.mark.slow,
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

    from townhall.web import elections, evidence
    from townhall.web.app import create_app

    app = create_app(atlas_path)
    have = {getattr(r, "path", "") for r in app.routes}
    for mod in (elections, evidence):  # until the app lists them in AREAS
        if not any(getattr(r, "path", "") in have for r in mod.router.routes):
            app.include_router(mod.router)
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


def _page(browser: object, server: str) -> tuple[object, list[str], list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def guard(route: object) -> None:
        if urlparse(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    return page, errors, outside


def test_elections_page(server: str, browser: object) -> None:
    page, errors, outside = _page(browser, server)
    resp = page.goto(server + "/elections?election=ge2017&scheme=hocl&party=lab", timeout=120_000)
    assert resp.status == 200
    assert page.text_content("h1") == "Elections by kind of place"
    assert "Southampton, Itchen" in page.text_content("#targets-table")  # Labour's first target after 2017
    assert page.locator("#results tbody tr").count() == 3  # City, Town, Village or rural
    assert page.locator("svg.swing").count() == 2
    page.goto(server + "/elections/top?election=eu2016&option=leave&n=5", timeout=60_000)
    assert "Boston" in page.text_content("#rows")
    assert errors == [] and outside == []


def test_evidence_page(server: str, browser: object) -> None:
    page, errors, outside = _page(browser, server)
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
    assert errors == [] and outside == []
