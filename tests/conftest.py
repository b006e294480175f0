"""Shared fixtures: the mirror, and one real atlas built from it for the whole session.

The atlas is built once per test session from ``TOWNHALL_MIRROR`` (default
``../shared/data`` beside the repo). If the default atlas (``TOWNHALL_ATLAS``)
is already built from exactly these inputs (as ``.ci/run`` leaves it), it is
reused read-only; otherwise a fresh one is built in a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("TOWNHALL_MIRROR") or ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local data mirror; the suite cannot run without it."""
    if not (MIRROR / "catalogue.csv").is_file():
        pytest.fail(f"No data mirror at {MIRROR}: set TOWNHALL_MIRROR=DIR (CI uses ../shared/data).")
    return MIRROR


@pytest.fixture(scope="session")
def source_cache(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding every declared source, pulled from the mirror (verified)."""
    from townhall import config
    from townhall.sources import download

    default = config.cache_dir()
    if not download.missing(cache_dir=default):
        return default
    cache = tmp_path_factory.mktemp("cache")
    download.pull(cache_dir=cache, mirror=mirror).raise_for_failures()
    return cache


@pytest.fixture(scope="session")
def atlas_path(source_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a real atlas built from the mirror."""
    from townhall import config
    from townhall.atlas.build import build, is_stale

    default = config.atlas_path()
    if not is_stale(default):
        return default
    out = tmp_path_factory.mktemp("atlas") / "atlas.duckdb"
    build(out, cache_dir=source_cache)
    return out


@pytest.fixture(scope="session")
def atlas(atlas_path: Path):
    """An open, read-only :class:`townhall.api.Atlas` over the real build."""
    from townhall.api import open_atlas

    a = open_atlas(atlas_path)
    yield a
    a.close()


@pytest.fixture
def atlas_env(atlas_path: Path, source_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI (TOWNHALL_ATLAS, TOWNHALL_CACHE) at the session's atlas and cache."""
    monkeypatch.setenv("TOWNHALL_ATLAS", str(atlas_path))
    monkeypatch.setenv("TOWNHALL_CACHE", str(source_cache))
    return atlas_path


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without the interpreter's teardown while daemon threads are still alive.

    A daemon thread can still be inside DuckDB at the end (a server's warm-up, or work a test's
    request left running); the teardown kills it there and DuckDB's C++ aborts the process
    ("FATAL: exception not rethrown", exit 134) after every test has passed. Everything pytest
    reports is written by now, so the run ends with pytest's own exit status instead.
    """
    import sys
    import threading

    if any(t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 1))
