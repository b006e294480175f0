"""The level vocabulary: every geography townhall knows, in one place.

A *level* is a kind of area (``lad`` for a council, ``pcon24`` for a 2024
constituency, ``lsoa21`` for a 2021 small area). Every other module, the SQL
builders and the web take the levels, their order, their labels and which
levels roll up to which from here; nothing else writes a list of level codes.

>>> from townhall.levels import LEVELS, check_level, label
>>> label("lad")
'council'
>>> check_level("lad")
'lad'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from townhall.errors import TownhallError


@dataclass(frozen=True)
class Level:
    """One level: its code, singular and plural nouns and a longer description."""

    code: str
    singular: str
    plural: str
    description: str
    small_area: bool = False


#: Levels in the order a person most likely means them when a name is ambiguous.
_ALL: tuple[Level, ...] = (
    Level("lad", "council", "councils", "council (local authority district)"),
    Level("town", "town or city", "towns and cities", "town or city (ONS, 2011 built-up areas)"),
    Level("pcon24", "constituency (2024)", "constituencies (2024)", "constituency (2024 boundaries)"),
    Level("cty", "county council", "county councils", "county council"),
    Level("cauth", "combined authority", "combined authorities", "combined authority"),
    Level("rgn", "region", "regions", "region"),
    Level("ctry", "country", "countries", "country"),
    Level("bua22", "built-up area", "built-up areas", "built-up area (2022)"),
    Level("ttwa11", "travel-to-work area", "travel-to-work areas", "travel-to-work area (2011)"),
    Level("pcon10", "constituency (2010)", "constituencies (2010)", "constituency (2010-2024 boundaries)"),
    Level("msoa21", "MSOA (2021)", "MSOAs (2021)", "middle layer super output area (2021)", True),
    Level("lsoa21", "LSOA (2021)", "LSOAs (2021)", "lower layer super output area (2021)", True),
    Level("msoa11", "MSOA (2011)", "MSOAs (2011)", "middle layer super output area (2011)", True),
    Level("lsoa11", "LSOA (2011)", "LSOAs (2011)", "lower layer super output area (2011)", True),
)

#: Level code -> description, in the order of :data:`_ALL`.
LEVELS: dict[str, str] = {lv.code: lv.description for lv in _ALL}
#: Level code -> :class:`Level`.
LEVEL_INFO: dict[str, Level] = {lv.code: lv for lv in _ALL}
#: Plural nouns, for "better than X% of ...".
LEVEL_PLURAL: dict[str, str] = {lv.code: lv.plural for lv in _ALL}
#: Small-area levels (statistical building blocks, not places people name).
SMALL_AREAS: tuple[str, ...] = tuple(lv.code for lv in _ALL if lv.small_area)
#: Small-area levels of each census vintage, newest first.
SMALL_AREA_2021, SMALL_AREA_2011 = "lsoa21", "lsoa11"
#: Levels to which every small-area indicator is rolled up at build time.
ROLLUP_LEVELS: tuple[str, ...] = ("town", "lad", "pcon24", "rgn")
#: Levels whose population is split across settlement kinds (share of residents in towns, cities...).
SHARE_LEVELS: tuple[str, ...] = ("lad", "pcon24", "cty", "cauth", "rgn", "msoa21", "pcon10")
#: Levels a small area is compared within (its parents), per small-area vintage.
SMALL_AREA_PARENTS: dict[str, tuple[str, ...]] = {
    "lsoa21": ("town", "lad", "pcon24", "rgn", "cty", "cauth", "msoa21", "ctry"),
    "lsoa11": ("town", "lad", "pcon24", "pcon10", "rgn", "cty", "cauth", "msoa11", "ttwa11", "ctry"),
}
#: LSOA levels (the small areas indicators are published for), newest first.
LSOA_LEVELS: tuple[str, ...] = ("lsoa21", "lsoa11")
#: The levels councils nest in (a council's parents).
COUNCIL_PARENTS: tuple[str, ...] = ("cty", "cauth", "rgn", "ctry")
#: Levels whose census profile the atlas holds directly (councils) or as the sum of their councils.
COUNCIL_SUM_LEVELS: tuple[str, ...] = ("rgn", "cty", "cauth", "ctry")
#: Levels of whole councils and the areas made of them (London counts as a region here).
COUNCIL_LEVELS: tuple[str, ...] = ("lad", "cty", "cauth", "rgn", "ctry")
#: Levels of places people search for by name first (councils and towns).
NAMED_PLACE_LEVELS: tuple[str, ...] = ("lad", "town")
#: Westminster constituency levels, newest first.
SEAT_LEVELS: tuple[str, ...] = ("pcon24", "pcon10")
#: Levels with boundaries drawn as maps.
MAP_LEVELS: tuple[str, ...] = ("lad", "cty", "cauth", "rgn", "pcon24", "pcon10", "town")

COUNCIL, TOWN, SEAT, REGION, COUNTY, CAUTH, COUNTRY = "lad", "town", "pcon24", "rgn", "cty", "cauth", "ctry"
SEAT_2010, BUA22, TTWA, MSOA21, MSOA11 = "pcon10", "bua22", "ttwa11", "msoa21", "msoa11"


def check_level(level: str, allowed: Iterable[str] | None = None, what: str = "level") -> str:
    """Return ``level`` if it is a known level (and among ``allowed``), else raise a clear error.

    Parameters
    ----------
    level : str
        A level code such as ``'lad'``.
    allowed : iterable of str, optional
        The levels this use accepts (default: every level).
    what : str
        What the level is for, for the message.

    Returns
    -------
    str
        The level, unchanged.
    """
    ok = tuple(allowed) if allowed is not None else tuple(LEVELS)
    if level not in ok:
        raise TownhallError(f"Unknown {what} {level!r}.",
                            hint="Levels: " + ", ".join(ok) + " (see 'townhall levels' for what each is).")
    return level


def label(level: str, plural: bool = False) -> str:
    """The plain-English noun for a level: ``'council'`` for ``lad``."""
    info = LEVEL_INFO.get(level)
    if info is None:
        return level
    return info.plural if plural else info.singular


def order(level: str) -> int:
    """A level's rank in :data:`LEVELS` (unknown levels last)."""
    return _ORDER.get(level, len(_ORDER))


_ORDER = {lv: i for i, lv in enumerate(LEVELS)}


def order_sql(column: str = "level") -> str:
    """A SQL ``CASE`` expression ranking ``column`` by :data:`LEVELS` order."""
    return f"CASE {column} " + " ".join(f"WHEN '{lv}' THEN {i}" for lv, i in _ORDER.items()) + " END"


def in_sql(levels: Iterable[str]) -> str:
    """A SQL list literal of level codes (checked against :data:`LEVELS`): ``('lad', 'town')``."""
    codes = [check_level(lv) for lv in levels]
    return "(" + ", ".join(f"'{lv}'" for lv in codes) + ")"


def normalise_name(name: str) -> str:
    """Fold a place name for matching: case, accents, '&', 'St.', punctuation, spacing."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    s = s.replace("&", " and ")
    s = re.sub(r"\bst\.?\s", "st ", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return s.strip()
