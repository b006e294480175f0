"""Links from small areas (LSOA 2021 or 2011) to the places they make up.

The atlas links both LSOA vintages to towns by centroid in polygon; an LSOA 2011
whose code survived into 2021 takes its 2021 twin's town, because the 2011
centroids in the sources are not population-weighted (see
:mod:`townhall.atlas.geography`). These helpers read those links.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas


def links_sql(child_level: str, parent_level: str) -> tuple[str, list[Any]]:
    """SQL (and its parameters) selecting child, parent, weight for two levels."""
    base = "SELECT child, parent, weight FROM area_link WHERE child_level = ? AND parent_level = ?"
    return base, [child_level, parent_level]


def small_area_links(atlas: Atlas, child_level: str, parent_level: str,
                     parents: Iterable[str] | None = None) -> pd.DataFrame:
    """Links child -> parent with weights (share of the child's population in the parent).

    Parameters
    ----------
    atlas : Atlas
    child_level : {'lsoa21', 'lsoa11'}
    parent_level : str
        Any level the atlas links the small areas to (town, lad, pcon24, rgn ...).
    parents : iterable of str, optional
        Only links to these parents.

    Returns
    -------
    DataFrame
        child, parent, weight.
    """
    sql, params = links_sql(child_level, parent_level)
    if parents is not None:
        sql = f"SELECT * FROM ({sql}) WHERE list_contains(?, parent)"
        params = [*params, sorted(set(parents))]
    return atlas.query(sql + " ORDER BY parent, child", params)
