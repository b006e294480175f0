"""How indicators enter the atlas: registry rows and long observations.

Every source reader, and every wing's build step, hands the build the same two
things: registry rows (:data:`REG_COLS`) and observations (:data:`OBS_COLS`).
:func:`register` and :func:`stage` put them into an open build connection, so a
wing's indicators roll up, compare and map like every other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb
import pandas as pd

REG_COLS = ["id", "name", "topic", "unit", "polarity", "level", "agg", "source", "description"]
OBS_COLS = ["indicator", "level", "area", "period", "value", "lower", "upper"]

#: Towns' population change 2011-2021: computed after the roll-ups (see ``places.population``).
POP_CHANGE = "town_pop_change_11_21"
POP_CHANGE_REGISTRY = {
    "id": POP_CHANGE, "name": "Population change 2011 to 2021 (%)", "topic": "population", "unit": "percent",
    "polarity": 0, "level": "town", "agg": "none", "source": "towns_official/english_education.csv",
    "description": "Census 2021 usual residents of the LSOAs (2021) whose population-weighted centroid lies in the "
                   "town's 2011 boundary, against the ONS towns table's 2011 population; percent change.",
}


def slug(text: str) -> str:
    """A lower-case identifier from a label: 'Level 4+' -> 'level_4'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def reg_row(**kw: object) -> dict[str, object]:
    """One registry row with every column of :data:`REG_COLS` (missing ones None)."""
    return {c: kw.get(c) for c in REG_COLS}


def register(con: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, object]]) -> None:
    """Insert registry rows into the build's ``indicator`` table."""
    reg = pd.DataFrame([reg_row(**r) for r in rows], columns=REG_COLS)
    if reg.empty:
        return
    con.register("_reg_df", reg)
    con.execute("INSERT INTO indicator SELECT id, name, topic, unit, CAST(polarity AS INTEGER), level, agg, source, "
                "description FROM _reg_df")
    con.unregister("_reg_df")


def stage(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame) -> int:
    """Stage observations for the build (only areas the atlas knows); returns rows staged."""
    if obs.empty:
        return 0
    con.register("_obs_df", obs[OBS_COLS])
    n = con.execute("""INSERT INTO obs_stage
                       SELECT o.indicator, o.level, o.area, o.period, o.value, o.lower, o.upper, FALSE
                       FROM _obs_df o SEMI JOIN area a ON a.code = o.area AND a.level = o.level""").fetchone()[0]
    con.unregister("_obs_df")
    return int(n)
