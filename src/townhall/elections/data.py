"""Reading election results from the atlas, and the classes of the areas they are counted in.

Everything here only runs SELECTs on the tables the build wrote
(:mod:`townhall.atlas.elections`): ``election``, ``election_seat``,
``election_result``, ``election_candidate``, ``eu_counting_area`` and
``council_control``. Shares, turnout and majorities are percentages (0-100).

Classes of areas, two schemes side by side:

``settlement``
    townhall's own: the kind of place where most of the area's residents live
    (London, City, Large town, Medium town, Small town, Village or rural; see
    :func:`townhall.places.classify.settlement_shares`). England and Wales only.
``hocl``
    The House of Commons Library's city and town classification of 2010 seats
    (Core City (London), Core City (outside London), Other City, Large Town,
    Medium Town, Small Town, Village or smaller; Great Britain), put on the
    same scale. 2024 seats have no Library class of their own: they take the
    class of the 2010 seat that gives them most of their population, which is
    an approximation and is labelled so. Councils have none.

Each scheme also has a coarse ``group``: City (London and other cities), Town
(large, medium and small towns) and Village or rural.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pandas as pd

from townhall.errors import TownhallError
from townhall.levels import SEAT, SEAT_2010, check_level
from townhall.places.classify import HOCL_TO_KIND, KINDS, settlement_shares

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

SCHEMES = ("settlement", "hocl")
#: Coarse groups of the kinds of place.
GROUPS: dict[str, str] = {"London": "City", "City": "City", "Large town": "Town", "Medium town": "Town",
                          "Small town": "Town", "Village or rural": "Village or rural"}
GROUP_ORDER = ("City", "Town", "Village or rural")
#: The main parties, in display order (others are summed as 'oth' where a table needs a fixed set).
MAIN_PARTIES = ("con", "lab", "ld", "snp", "pc", "green", "ukip", "brexit", "reform")
_lock = threading.Lock()
_cache: dict[tuple[str, str], pd.DataFrame] = {}


def has_elections(atlas: Atlas) -> bool:
    """True if the atlas was built with the election tables."""
    return bool(len(atlas.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'election_seat'")))


def elections(atlas: Atlas) -> pd.DataFrame:
    """The elections the atlas holds: id, name, kind, date, level, areas, sources."""
    if not has_elections(atlas):
        raise TownhallError("This atlas has no election results.", hint="Rebuild it with 'townhall build'.")
    return atlas.query("SELECT * FROM election ORDER BY date, id")


def check_election(atlas: Atlas, election: str) -> dict[str, object]:
    """The election's row, or a clear error listing the elections held."""
    el = elections(atlas)
    row = el[el["id"] == election]
    if row.empty:
        raise TownhallError(f"Unknown election {election!r}.", hint="Elections: " + ", ".join(el["id"]) + ".")
    return row.iloc[0].to_dict()


def seats(atlas: Atlas, election: str) -> pd.DataFrame:
    """The area summary of one election (one row per seat or council)."""
    check_election(atlas, election)
    return atlas.query("SELECT * FROM election_seat WHERE election = ? ORDER BY area", [election])


def results(atlas: Atlas, election: str) -> pd.DataFrame:
    """The tidy results of one election: area, party, party_name, votes, share, rank."""
    check_election(atlas, election)
    return atlas.query("SELECT * FROM election_result WHERE election = ? ORDER BY area, rank, party", [election])


def shares_wide(atlas: Atlas, election: str) -> pd.DataFrame:
    """Area x party shares (%), 0 where a party did not stand; index area."""
    r = results(atlas, election)
    return r.pivot_table(index="area", columns="party", values="share", aggfunc="sum", fill_value=0.0)


def votes_wide(atlas: Atlas, election: str) -> pd.DataFrame:
    """Area x party votes, 0 where a party did not stand; index area."""
    r = results(atlas, election)
    return r.pivot_table(index="area", columns="party", values="votes", aggfunc="sum", fill_value=0.0)


def area_classes(atlas: Atlas, level: str) -> pd.DataFrame:
    """Both class schemes for every area of a level that has one.

    Returns
    -------
    DataFrame
        code, settlement (one of :data:`~townhall.places.classify.KINDS`),
        settlement_group, hocl (the Library's own label), hocl_kind (on the
        same scale), hocl_group, and the settlement share columns. Cached per
        atlas file and level (classes are worked out from every LSOA).
    """
    check_level(level)
    key = (str(atlas.path), level)
    with _lock:
        if key in _cache:
            return _cache[key].copy()
    try:
        sh = settlement_shares(atlas, level)
    except TownhallError:
        sh = pd.DataFrame(columns=["code", "class"])
    out = sh.drop(columns=["name", "population"], errors="ignore").rename(columns={"class": "settlement"})
    hocl = atlas.classes(level=SEAT_2010, scheme="hocl_city_town").set_index("code")["class"]
    if level == SEAT_2010:
        codes = sorted(set(out["code"]) | set(hocl.index))
        out = pd.DataFrame({"code": codes}).merge(out, on="code", how="left")
        out["hocl"] = out["code"].map(hocl)
    elif level == SEAT:
        m = atlas.links(SEAT_2010, SEAT)
        pop10 = atlas.areas(SEAT_2010).set_index("code")["population"]
        m["pop"] = m["child"].map(pop10) * m["weight"]
        top = m.sort_values("pop").drop_duplicates("parent", keep="last").set_index("parent")["child"]
        codes = sorted(set(out["code"]) | set(top.index))
        out = pd.DataFrame({"code": codes}).merge(out, on="code", how="left")
        out["hocl"] = out["code"].map(top).map(hocl)
    else:
        out["hocl"] = None
    out["settlement_group"] = out["settlement"].map(GROUPS)
    out["hocl_kind"] = out["hocl"].map(HOCL_TO_KIND)
    out["hocl_group"] = out["hocl_kind"].map(GROUPS)
    with _lock:
        _cache[key] = out
    return out.copy()


def class_column(scheme: str, coarse: bool = False) -> str:
    """The column of :func:`area_classes` holding a scheme's class (or its coarse group)."""
    if scheme not in SCHEMES:
        raise TownhallError(f"Unknown class scheme {scheme!r}.", hint="Schemes: " + ", ".join(SCHEMES) + ".")
    if scheme == "settlement":
        return "settlement_group" if coarse else "settlement"
    return "hocl_group" if coarse else "hocl_kind"


def class_order(coarse: bool = False) -> tuple[str, ...]:
    """Display order of classes."""
    return GROUP_ORDER if coarse else KINDS


def with_classes(atlas: Atlas, frame: pd.DataFrame, level: str, code_col: str = "area") -> pd.DataFrame:
    """``frame`` with both schemes' classes joined on ``code_col`` (None where an area has none)."""
    cls = area_classes(atlas, level)[["code", "settlement", "settlement_group", "hocl", "hocl_kind", "hocl_group"]]
    return frame.merge(cls.rename(columns={"code": code_col}), on=code_col, how="left")
