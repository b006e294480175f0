"""townhall: place-based policy for England and Wales.

An atlas of every town, city, council and constituency built from open data;
towns against their neighbouring cities; left-behind places; fair, auditable
sortition for citizens' assemblies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townhall.version import __version__

__all__ = ["Atlas", "__version__", "open_atlas"]

if TYPE_CHECKING:
    from townhall.api import Atlas, open_atlas


def __getattr__(name: str) -> Any:
    # Lazy: importing townhall (e.g. for the CLI) must not pull in DuckDB and pandas up front.
    if name in ("open_atlas", "Atlas"):
        from townhall import api

        return getattr(api, name)
    raise AttributeError(name)
