"""The Python API: the public face of townhall.

>>> import townhall
>>> atlas = townhall.open_atlas()
>>> atlas.find("wigan")                       # every place called Wigan, council first
>>> atlas.values("imd25_score", level="town")  # IoD2025 score rolled up to towns
>>> atlas.profile("E08000010")                 # a council's profile
>>> atlas.census_profile("Wigan")              # Census 2021 counts for assembly quotas
>>> townhall.api.elections.targets(atlas, "ge2017", "lab")   # electoral geography (townhall.elections)
>>> townhall.api.evidence.run_evidence(atlas)                 # the evidence pack (townhall.evidence)
>>> townhall.api.infrastructure.closures_by_class(atlas, "library")  # social infrastructure (townhall.infrastructure)

The store reader (:class:`townhall.atlas.store.Atlas`) sits below the analyses;
this module re-exports it with the conveniences users call on it, and gathers
the analyses' entry points, so a notebook needs one import.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from townhall.atlas import store
from townhall.atlas.store import (
    HEADLINE,
    AmbiguousPlaceError,
    Area,
    plain,
    records,
)
from townhall.levels import LEVELS, ROLLUP_LEVELS, check_level, normalise_name
from townhall.places.census import census_profile as _census_profile

if TYPE_CHECKING:
    from townhall import elections, evidence, funding, infrastructure

__all__ = [
    "HEADLINE", "LEVELS", "ROLLUP_LEVELS", "AmbiguousPlaceError", "Area", "Atlas", "check_level", "elections",
    "evidence", "funding", "infrastructure", "normalise_name", "open_atlas", "plain", "records",
]

#: The wings' analysis packages, imported on first use: ``townhall place`` must not pay for
#: loading the funding lab's or the evidence pack's dependencies.
WINGS = ("elections", "evidence", "funding", "infrastructure")


def __getattr__(name: str) -> Any:
    if name in WINGS:
        return importlib.import_module(f"townhall.{name}")
    raise AttributeError(f"module 'townhall.api' has no attribute {name!r}")


class Atlas(store.Atlas):
    """The atlas reader with the analyses people call on a place.

    Everything :class:`townhall.atlas.store.Atlas` does, plus
    :meth:`census_profile`.
    """

    def census_profile(self, query: str, level: str | None = None) -> dict[str, dict[str, float]]:
        """Census 2021 counts for a place by category, for assembly quotas.

        Returns ``{category: {value: count}}`` for categories age, sex,
        ethnicity, qualification and tenure where the atlas holds them for the
        place (councils directly; counties, combined authorities, regions and
        countries as the sum of their councils; towns, seats and small areas from
        their own age bands and their councils' other tables).
        """
        return _census_profile(self, self.resolve(query, level))


def open_atlas(path: str | Path | None = None) -> Atlas:
    """Open the built atlas read-only (``TOWNHALL_ATLAS`` or the user data folder by default).

    Parameters
    ----------
    path : str or Path, optional
        The atlas file.

    Returns
    -------
    Atlas
    """
    return store.open_atlas(path, cls=Atlas)  # type: ignore[return-value]
