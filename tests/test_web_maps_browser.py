"""The web atlas in headless Chromium over the real atlas: maps, analyses, accessibility, screenshots.

Every request to a host other than 127.0.0.1 is blocked and fails the test (the app must work
offline). Screenshots at 1,400 px and 390 px go to ``screenshots/`` under pytest's temporary
folder (printed at the end of the test; ``TOWNHALL_SCREENSHOTS=DIR`` puts them elsewhere) for people
to look at. Accessibility: axe-core, fetched from the npm registry at test time with
``npm pack`` into a temporary folder (skipped, saying why, when npm or the registry is not there).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

import browser_fixture
from browser_fixture import Guard, needs_chromium

pytestmark = needs_chromium
browser, server = browser_fixture.browser, browser_fixture.atlas_server

#: The pages that must render without console errors, with their screenshot names.
PAGES = {
    "home": "/",
    "council": "/place/lad/E08000010",          # Wigan
    "town": "/place/town/E35000961",            # Barnsley
    "seat": "/place/pcon24/E14001063",          # Aldershot
    "indicator_lad": "/indicator/imd25_imd_score?level=lad",
    "indicator_seat": "/indicator/census21_pop?level=pcon24",
    "towns": "/towns",
    "left_behind": "/left-behind",
    "hotspots": "/hotspots",
    "similar": "/similar?place=Wigan&level=lad",
}


@pytest.fixture(scope="module")
def axe_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axe-core's axe.min.js, packed from the npm registry into a temporary folder."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch axe-core for the accessibility check")
    d = tmp_path_factory.mktemp("axe")
    try:
        out = subprocess.run([npm, "pack", "axe-core", "--silent"], cwd=d, capture_output=True, text=True,
                             timeout=180, check=True).stdout.strip().splitlines()[-1]
    except (subprocess.SubprocessError, IndexError) as exc:
        pytest.skip(f"npm could not fetch axe-core ({exc}): no accessibility check")
    with tarfile.open(d / out) as tar:
        tar.extractall(d, filter="data")
    js = d / "package" / "axe.min.js"
    assert js.is_file()
    return js


def _open(browser: Any, width: int, bypass_csp: bool = False) -> tuple[Any, Guard]:
    # bypass_csp only for the accessibility check, which injects axe-core as a script tag;
    # the first visit to an analysis computes it, hence the long timeout.
    guard = Guard(browser, width=width, timeout=180_000, bypass_csp=bypass_csp)
    return guard.page, guard


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    d = Path(os.environ.get("TOWNHALL_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_pages_render_offline_without_errors_at_both_widths(server: str, browser: Any, shots: Path) -> None:
    for width in (1400, 390):
        page, guard = _open(browser, width)
        for name, url in PAGES.items():
            r = page.goto(server + url, wait_until="load")
            assert r.status == 200, (url, r.status)
            assert page.locator("h1").count() == 1, url
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
            # Nothing wider than the window at 390 px but tables and maps in their own scrollers.
            if width == 390:
                over = page.evaluate("document.documentElement.scrollWidth")
                assert over <= 392, (url, over)
        assert guard.errors == [], guard.errors
        assert guard.outside == [], guard.outside
        guard.close()
    print(f"screenshots in {shots}")


def test_council_map_has_one_shape_per_english_council_and_hover_and_click(server: str, browser: Any) -> None:
    page, guard = _open(browser, 1400)
    page.goto(server + "/indicator/imd25_imd_score?level=lad")
    shapes = page.locator("svg.map .areas a[data-code]")
    assert shapes.count() == 296  # every English council (IoD 2025 is English)
    wigan = page.locator('svg.map a[data-code="E08000010"]')
    label = wigan.get_attribute("aria-label")
    assert label.startswith("Wigan, ") and "rank" in label and "of 296" in label
    wigan.hover()
    tip = page.locator(".maptip")
    tip.wait_for(state="visible")
    assert tip.text_content() == label
    wigan.click()
    page.wait_for_url(server + "/place/lad/E08000010")
    assert page.text_content("h1") == "Wigan"
    assert guard.errors == [] and guard.outside == []
    guard.close()


def test_seat_map_has_575_english_and_welsh_seats(server: str, browser: Any) -> None:
    page, guard = _open(browser, 1400)
    page.goto(server + "/indicator/census21_pop?level=pcon24")
    assert page.locator("svg.map .areas a[data-code]").count() == 575  # 543 English + 32 Welsh
    assert page.locator('svg.map a[data-code^="W07"]').count() == 32
    page.locator('svg.map a[data-code="E14001063"]').click()  # Aldershot
    page.wait_for_url(server + "/place/pcon24/E14001063")
    assert page.text_content("h1") == "Aldershot"
    assert guard.errors == [] and guard.outside == []
    guard.close()


def test_region_zoom_and_hex_map(server: str, browser: Any) -> None:
    page, guard = _open(browser, 1400)
    page.goto(server + "/indicator/imd25_imd_score?level=lad&region=E12000002")
    assert page.locator("svg.map .areas a[data-code]").count() == 35  # the North West since Cumbria became two councils (2023)
    page.goto(server + "/indicator/imd25_imd_score?level=lad&kind=hex")
    assert page.locator("svg.map.hex .areas a[data-code]").count() == 296
    assert guard.errors == [] and guard.outside == []
    guard.close()


def test_no_serious_accessibility_violations(server: str, browser: Any, axe_js: Path) -> None:
    page, guard = _open(browser, 1400, bypass_csp=True)
    found = {}
    for name, url in PAGES.items():
        page.goto(server + url)
        page.add_script_tag(path=str(axe_js))
        res = page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
        bad = [(v["id"], v["impact"], len(v["nodes"])) for v in json.loads(res)["violations"]
               if v["impact"] in ("serious", "critical")]
        if bad:
            found[name] = bad
    assert found == {}
    assert guard.outside == []
    guard.close()
