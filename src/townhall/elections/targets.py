"""Targets and marginals: the seats a party holds most narrowly and the seats it needs to gain.

Rules (stated in every result's ``rule`` text and in docs/methods/elections.md):

* **Seats for a majority** are computed from the result, never typed in: more
  than half of the seats that vote, ``floor(N / 2) + 1``. With
  ``speaker='excluded'`` (the default) the Speaker's seat is not counted in N
  (the Speaker does not vote), so 650 seats with a Speaker give 649 -> 325;
  with ``speaker='counted'`` all 650 count -> 326, the figure usually quoted.
  Sinn Féin's abstention is not modelled.
* **Seats needed** = seats for a majority minus seats the party holds (0 if it
  already has a majority).
* **Uniform swing needed** in a seat the party does not hold = (winner's
  share - party's share) / 2, in percentage points: the swing from the
  winner to the party that would tie the seat if every other share stayed put.
* **Targets** are the non-held seats in increasing order of swing needed. Pool
  ``all``: every seat the party does not hold; ``second``: only those where it
  came second. The Speaker's seat is never a target (by convention the main
  parties do not stand against the Speaker).
* **Marginals** are the seats the party holds, in increasing order of its
  majority as a percentage of valid votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from townhall.atlas.store import records
from townhall.elections import data
from townhall.errors import TownhallError

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

SPEAKER = "spk"
SPEAKER_RULES = ("excluded", "counted")
POOLS = ("all", "second")


def majority_needed(n_seats: int, speaker_seats: int = 0, speaker: str = "excluded") -> int:
    """Seats for a majority: ``floor(N / 2) + 1`` of the voting seats.

    >>> majority_needed(650, 1), majority_needed(650, 1, "counted"), majority_needed(7)
    (325, 326, 4)
    """
    if speaker not in SPEAKER_RULES:
        raise TownhallError(f"Unknown Speaker rule {speaker!r}.", hint="Use excluded or counted.")
    voting = n_seats - (speaker_seats if speaker == "excluded" else 0)
    return voting // 2 + 1


def _speaker_text(speaker: str, n: int, spk: int, need: int) -> str:
    if speaker == "excluded" and spk:
        return f"the Speaker's seat not counted: floor({n - spk} / 2) + 1 = {need}"
    return f"floor({n} / 2) + 1 = {need}"


@dataclass
class Targets:
    """A party's target seats (or its marginals) after one election.

    Attributes
    ----------
    table : DataFrame
        rank, area, name, country, winner, second, party_share, winner_share,
        swing_needed (targets) or majority_share (marginals), majority,
        settlement, settlement_group, hocl_kind, hocl_group.
    seats, held, majority, needed : int
        Seats in the election, held by the party, needed for a majority, and
        still needed (majority - held, at least 0).
    rule : str
        The rule in words.
    """

    election: str
    party: str
    kind: str
    n: int
    pool: str
    speaker: str
    seats: int
    held: int
    majority: int
    needed: int
    table: pd.DataFrame
    rule: str

    def as_dict(self) -> dict[str, Any]:
        return {"election": self.election, "party": self.party, "kind": self.kind, "n": self.n, "pool": self.pool,
                "speaker": self.speaker, "seats": self.seats, "held": self.held, "majority": self.majority,
                "needed": self.needed, "rule": self.rule, "table": records(self.table)}


def seat_frame(seats: pd.DataFrame, shares: pd.DataFrame, party: str) -> pd.DataFrame:
    """Seats with the party's and the winner's share (pure; for :func:`targets_from` and tests)."""
    out = seats[["area", "name", "country", "winner", "second", "majority", "majority_share"]].copy()
    out["party_share"] = out["area"].map(shares[party] if party in shares else pd.Series(dtype=float)).fillna(0.0)
    out["winner_share"] = [float(shares.at[a, w]) if a in shares.index and w in shares.columns else float("nan")
                           for a, w in zip(out["area"], out["winner"], strict=True)]
    return out


def targets_from(seats: pd.DataFrame, shares: pd.DataFrame, party: str, *, kind: str = "targets",
                 n: int | None = None, pool: str = "all", speaker: str = "excluded",
                 countries: tuple[str, ...] | None = None, election: str = "") -> Targets:
    """Targets or marginals from a seat table and a seat x party share table (pure function).

    Parameters
    ----------
    seats : DataFrame
        area, name, country, winner, second, majority, majority_share.
    shares : DataFrame
        Index area, one column per party, shares in %.
    party : str
    kind : {'targets', 'marginals'}
    n : int, optional
        How many seats to list; default the seats still needed for a majority
        (targets) or the same number (marginals; all held seats if that is 0).
    pool : {'all', 'second'}
        Targets only: all non-held seats, or only those where the party came second.
    speaker : {'excluded', 'counted'}
        Whether the Speaker's seat counts towards the seats of the House.
    countries : tuple of str, optional
        List only seats in these countries (the majority is always of the whole House).
    """
    if kind not in ("targets", "marginals"):
        raise TownhallError(f"Unknown list {kind!r}.", hint="Use targets or marginals.")
    if pool not in POOLS:
        raise TownhallError(f"Unknown pool {pool!r}.", hint="Use all (every seat not held) or second.")
    if party not in set(seats["winner"]) | set(shares.columns):
        raise TownhallError(f"No party {party!r} in this election.",
                            hint="Parties: " + ", ".join(sorted(shares.columns)) + ".")
    total = len(seats)
    spk = int((seats["winner"] == SPEAKER).sum())
    held = int((seats["winner"] == party).sum())
    maj = majority_needed(total, spk, speaker)
    needed = max(maj - held, 0)
    f = seat_frame(seats, shares, party)
    if countries:
        f = f[f["country"].isin(countries)]
    where = f" in {', '.join(countries)}" if countries else ""
    if kind == "targets":
        f = f[(f["winner"] != party) & (f["winner"] != SPEAKER)]
        if pool == "second":
            f = f[f["second"] == party]
        f = f.assign(swing_needed=(f["winner_share"] - f["party_share"]) / 2)
        f = f.sort_values(["swing_needed", "area"]).reset_index(drop=True)
        k = needed if n is None else n
        pool_text = "every seat it does not hold" if pool == "all" else "the seats where it came second"
        rule = (f"Majority: {_speaker_text(speaker, total, spk, maj)} seats; {party} holds {held}, needs {needed} "
                f"more. Targets{where}: {pool_text} (the Speaker's seat excluded), by uniform swing needed "
                "= (winner's share - party's share) / 2, smallest first; "
                f"the first {k} listed.")
    else:
        f = f[f["winner"] == party].sort_values(["majority_share", "area"]).reset_index(drop=True)
        k = (needed or held) if n is None else n
        rule = (f"Marginals{where}: the seats {party} holds, by majority as a % of valid votes, smallest first; "
                f"the first {k} listed (majority: {_speaker_text(speaker, total, spk, maj)}).")
    f = f.head(k)
    f.insert(0, "rank", range(1, len(f) + 1))
    return Targets(election, party, kind, k, pool, speaker, total, held, maj, needed, f, rule)


def targets(atlas: Atlas, election: str, party: str, *, kind: str = "targets", n: int | None = None,
            pool: str = "all", speaker: str = "excluded", countries: tuple[str, ...] | None = None) -> Targets:
    """A party's targets or marginals after a general election, each seat with both classes.

    See :func:`targets_from` for the parameters and the module notes for the rules.
    """
    el = data.check_election(atlas, election)
    if el["kind"] != "general":
        raise TownhallError(f"Targets and marginals are for general elections, not {election} ({el['kind']}).")
    t = targets_from(data.seats(atlas, election), data.shares_wide(atlas, election), party, kind=kind, n=n,
                     pool=pool, speaker=speaker, countries=countries, election=election)
    t.table = data.with_classes(atlas, t.table, str(el["level"]))
    return t
