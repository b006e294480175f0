"""What every browser test shares: a local server, headless Chromium, a guarded page.

- :func:`serve` runs an app with uvicorn on 127.0.0.1 (a free port) in a thread;
- :func:`launch` starts Debian's Chromium through Playwright with the workplace flags;
- :class:`Guard` blocks and records every request to a host other than 127.0.0.1 and
  collects console errors and page errors, so a test can assert both lists are empty;
- :func:`browser` and :func:`atlas_server` are module-scoped fixtures (Chromium; the whole
  app over the session's real atlas).

A test module takes the fixtures by assigning them to module names, e.g.
``browser, server = browser_fixture.browser, browser_fixture.atlas_server``: pytest then
makes one per test module, so one test file's server never leaks into another's (and an
assignment, unlike a bare import, is not an unused import to the linter). A module that
needs another app (a tiny synthetic atlas, say) writes its own ``server`` with :func:`serve`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

#: Mark a module's tests as browser tests that need Chromium.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(400):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def launch() -> Iterator[Any]:
    """Headless Chromium (skips the test if Playwright is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test module."""
    with launch() as b:
        yield b


@pytest.fixture(scope="module")
def atlas_server(atlas_path: Path) -> Iterator[str]:
    """The whole app over the session's real atlas, one server per test module; yields its URL."""
    from townhall.web.app import create_app

    with serve(create_app(atlas_path)) as url:
        yield url


class Guard:
    """A page whose requests may go to 127.0.0.1 only, with its console errors collected.

    Parameters
    ----------
    browser : playwright Browser
    width : int, optional
        Viewport width in pixels (900 px high); Playwright's default viewport when omitted.
    timeout : float, optional
        Default timeout in milliseconds for the page's actions and navigations.
    **context
        Passed to ``browser.new_context`` (``bypass_csp=True``, say, to inject a script tag).

    Attributes
    ----------
    page : playwright Page
    outside : list of str
        URLs of blocked requests to other hosts (a test fails if any).
    errors : list of str
        Console errors and uncaught page errors.
    """

    def __init__(self, browser: Any, width: int | None = None, timeout: float | None = None,
                 **context: Any) -> None:
        if width is not None:
            context["viewport"] = {"width": width, "height": 900}
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        if timeout is not None:
            self.page.set_default_timeout(timeout)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Any) -> None:
        if urlparse(route.request.url).hostname != "127.0.0.1":
            self.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def check(self) -> None:
        """Assert nothing left the machine and nothing went wrong in the console."""
        assert self.outside == [], f"requests to other hosts: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"

    def close(self) -> None:
        self.context.close()
