"""Election results for one place (a seat or a council), for the place page.

>>> place_results(atlas, "E14000810", "pcon10")   # Mansfield: GE2010-2019 and the Leave estimate
>>> place_results(atlas, "E06000063", "lad")      # Cumberland: its referendum result (three districts summed)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from townhall.atlas.store import records
from townhall.elections import data
from townhall.levels import COUNCIL, SEAT, check_level

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas


@dataclass
class PlaceResults:
    """Every election result the atlas holds for one area.

    Attributes
    ----------
    table : DataFrame
        One row per election and party: election, party, party_name, votes, share, rank.
    seats : DataFrame
        One row per election: election, name, electorate, valid_votes,
        turnout, winner, second, majority, majority_share, result, predecessors.
    candidates : DataFrame
        election, candidate, party_name, votes, share (where the files give candidates).
    control : DataFrame
        Councils: dated political-control snapshots (snapshot, date, code, name, control, seats).
    seats_2024 : DataFrame
        Councils: the 2024 seats overlapping it, with winner and the share of the seat's people living in the council (seat_share_in_council).
    """

    code: str
    level: str
    table: pd.DataFrame
    seats: pd.DataFrame
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    control: pd.DataFrame = field(default_factory=pd.DataFrame)
    seats_2024: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def empty(self) -> bool:
        return self.seats.empty and self.control.empty

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "level": self.level, "seats": records(self.seats), "results": records(self.table),
                "candidates": records(self.candidates), "control": records(self.control),
                "seats_2024": records(self.seats_2024)}


def place_results(atlas: Atlas, code: str, level: str) -> PlaceResults:
    """Election results for a seat (pcon10, pcon24) or a council (lad); empty frames where there are none.

    Parameters
    ----------
    atlas : Atlas
    code : str
        The area's GSS code.
    level : str
        Its level.

    Returns
    -------
    PlaceResults
    """
    check_level(level)
    if not data.has_elections(atlas):
        empty = pd.DataFrame()
        return PlaceResults(code, level, empty, empty)
    seats = atlas.query(
        "SELECT s.* EXCLUDE (level, area), e.date FROM election_seat s JOIN election e ON e.id = s.election "
        "WHERE s.area = ? AND s.level = ? ORDER BY e.date, s.election", [code, level])
    table = atlas.query(
        "SELECT r.election, r.party, r.party_name, r.votes, r.share, r.rank FROM election_result r "
        "JOIN election e ON e.id = r.election WHERE r.area = ? AND r.level = ? ORDER BY e.date, r.election, r.rank",
        [code, level])
    cands = atlas.query(
        "SELECT c.election, c.candidate, c.party, c.party_name, c.votes, c.share, c.sitting_mp "
        "FROM election_candidate c JOIN election e ON e.id = c.election WHERE c.area = ? AND c.level = ? "
        "ORDER BY e.date, c.votes DESC", [code, level])
    control = pd.DataFrame()
    seats_2024 = pd.DataFrame()
    if level == COUNCIL:
        control = atlas.query(
            "SELECT snapshot, date, code, name, control, seats, source FROM council_control "
            "WHERE current_code = ? ORDER BY snapshot, code", [code])
        seats_2024 = atlas.query(
            "SELECT l.child AS area, s.name, s.winner, s.majority_share, l.weight AS seat_share_in_council "
            "FROM area_link l JOIN election_seat s ON s.area = l.child AND s.level = l.child_level "
            "AND s.election = 'ge2024' WHERE l.child_level = ? AND l.parent_level = ? AND l.parent = ? "
            "ORDER BY l.weight DESC", [SEAT, COUNCIL, code])
    return PlaceResults(code, level, table, seats, cands, control, seats_2024)
