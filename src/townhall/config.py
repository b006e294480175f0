"""Where townhall keeps things: the download cache, the atlas file, the mirror.

Platform conventions come from :mod:`platformdirs`; every path can be
overridden by an environment variable so that tests, CI and users with odd
machines stay in control.

=====================  =============================================
``TOWNHALL_CACHE``     folder for downloaded source files
``TOWNHALL_ATLAS``     path of the atlas (DuckDB) file
``TOWNHALL_MIRROR``    a local mirror to copy sources from instead of the network
=====================  =============================================
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "townhall"


def cache_dir() -> Path:
    """Folder holding the pulled source files (``TOWNHALL_CACHE`` overrides)."""
    env = os.environ.get("TOWNHALL_CACHE")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP)) / "sources"


def data_dir() -> Path:
    """Folder holding built artefacts (the atlas and its side files)."""
    env = os.environ.get("TOWNHALL_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP))


def atlas_path() -> Path:
    """Path of the atlas file (``TOWNHALL_ATLAS`` overrides)."""
    env = os.environ.get("TOWNHALL_ATLAS")
    return Path(env).expanduser() if env else data_dir() / "atlas.duckdb"


def mirror_dir() -> Path | None:
    """The local mirror named by ``TOWNHALL_MIRROR``, or None."""
    env = os.environ.get("TOWNHALL_MIRROR")
    return Path(env).expanduser() if env else None
