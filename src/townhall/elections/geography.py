"""Electoral geography by kind of place: results, turnout, swing and top areas by class.

>>> by_class(atlas, "ge2017", scheme="hocl")          # shares, seats won and turnout by class
>>> swing(atlas, "ge2015", "ge2017", coarse=True)     # Con-Lab (Butler) swing by city/town/village
>>> top(atlas, "eu2016", "remain", n=30)              # the 30 most Remain areas and their classes

Rules (see docs/methods/elections.md):

* A class's **share** for a party is the party's votes summed over the class's
  areas divided by their valid votes summed (the class as one electorate);
  ``mean_share`` is the unweighted mean of the areas' shares beside it.
  Turnout likewise: valid votes (referendum: ballots cast) over electorate.
* **Butler swing** from Labour to the Conservatives is the mean of the
  Conservative share's rise and Labour's fall: ``((C2 - C1) - (L2 - L1)) / 2``,
  in percentage points; positive = towards the Conservatives. For a class it
  is given both from the class's summed votes and as the mean of its seats'.
* Comparing two elections needs them on one set of areas: 2010-2019 are all on
  2010 seats; GE2019 (or earlier) against GE2024 carries the earlier votes to
  2024 seats by population overlap (each 2010 seat's votes split in
  proportion to the share of its population in each 2024 seat). That is a
  rough notional result, not the published notional 2019 results (which the
  mirror does not hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.store import records
from townhall.elections import data
from townhall.errors import TownhallError
from townhall.levels import SEAT, SEAT_2010

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas


@dataclass
class ByClass:
    """One election's results by class of area.

    Attributes
    ----------
    table : DataFrame
        One row per class: class, areas, electorate, valid_votes, turnout,
        mean_turnout, then ``<party>_share`` and ``<party>_won`` for each
        party that won an area or took 5% of the vote anywhere.
    long : DataFrame
        class, party, party_name, votes, share, mean_share, won.
    """

    election: str
    scheme: str
    coarse: bool
    table: pd.DataFrame
    long: pd.DataFrame
    unclassified: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"election": self.election, "scheme": self.scheme, "coarse": self.coarse,
                "unclassified_areas": self.unclassified, "note": self.note,
                "table": records(self.table), "long": records(self.long)}


def _classified(atlas: Atlas, election: str, scheme: str, coarse: bool) -> tuple[pd.DataFrame, str, int]:
    el = data.check_election(atlas, election)
    s = data.with_classes(atlas, data.seats(atlas, election), str(el["level"]))
    col = data.class_column(scheme, coarse)
    s["class"] = s[col]
    missing = int(s["class"].isna().sum())
    return s, str(el["level"]), missing


def by_class(atlas: Atlas, election: str, scheme: str = "settlement", coarse: bool = False) -> ByClass:
    """Shares, areas won and turnout of one election by class of area.

    Parameters
    ----------
    atlas : Atlas
    election : str
        An election id (``ge2017``, ``eu2016``, ...; see :func:`townhall.elections.data.elections`).
    scheme : {'settlement', 'hocl', 'both'}
        ``both``: the two schemes side by side (a ``scheme`` column first).
    coarse : bool
        City / Town / Village or rural instead of the six kinds.

    Returns
    -------
    ByClass
    """
    if scheme == "both":  # the two schemes side by side, one block of rows each
        parts = []
        for sch in data.SCHEMES:
            try:
                parts.append(by_class(atlas, election, sch, coarse))
            except TownhallError:
                continue  # councils have no Library class
        if not parts:
            raise TownhallError(f"No area of {election} has a class.")
        table = pd.concat([p.table.assign(scheme=p.scheme) for p in parts], ignore_index=True)
        long = pd.concat([p.long.assign(scheme=p.scheme) for p in parts], ignore_index=True)
        won = [c for c in table.columns if c.endswith("_won")]
        table[won] = table[won].fillna(0).astype(int)  # a party with no seat in one scheme's classes
        table = table[["scheme", *[c for c in table.columns if c != "scheme"]]]
        long = long[["scheme", *[c for c in long.columns if c != "scheme"]]]
        note = " ".join(f"{p.scheme}: {p.unclassified} areas without a class." for p in parts)
        return ByClass(election, "both", coarse, table, long, max(p.unclassified for p in parts),
                       "Shares are each class's summed votes over its summed valid votes; turnout likewise. " + note)
    s, level, missing = _classified(atlas, election, scheme, coarse)
    s = s[s["class"].notna()]
    if s.empty:
        raise TownhallError(f"No area of {election} ({level}) has a {scheme} class.",
                            hint="The Library's classes are for seats: use the settlement scheme for councils.")
    r = data.results(atlas, election)
    r = r[r["area"].isin(s["area"])].merge(s[["area", "class", "winner"]], on="area")
    order = [c for c in data.class_order(coarse) if c in set(s["class"])]
    grp = s.groupby("class")
    table = pd.DataFrame({"areas": grp.size(), "electorate": grp["electorate"].sum(min_count=1),
                          "valid_votes": grp["valid_votes"].sum(min_count=1),
                          "mean_turnout": grp["turnout"].mean()}).reindex(order)
    if election.startswith("eu"):
        # Referendum turnout is ballots cast over electorate: recover ballots from the areas' turnout.
        s["_cast"] = s["turnout"] * s["electorate"] / 100
        table["turnout"] = 100 * s.groupby("class")["_cast"].sum(min_count=1) / table["electorate"]
    else:
        table["turnout"] = 100 * table["valid_votes"] / table["electorate"]
    long = r.groupby(["class", "party"], as_index=False).agg(votes=("votes", lambda v: v.sum(min_count=1)),
                                                             mean_share=("share", "sum"))
    long["mean_share"] = long["mean_share"] / long["class"].map(table["areas"])
    tot = r.groupby("class")["votes"].sum(min_count=1)
    long["share"] = 100 * long["votes"] / long["class"].map(tot)
    won = s.groupby(["class", "winner"]).size()
    long["won"] = [int(won.get((c, p), 0)) for c, p in zip(long["class"], long["party"], strict=True)]
    long["party_name"] = long["party"].map(dict(zip(r["party"], r["party_name"], strict=False)))
    overall = r.groupby("party")["votes"].sum() / max(r["votes"].sum(), 1)
    big = set(long.loc[long["won"] > 0, "party"]) | set(overall[overall >= 0.05].index)
    if long["votes"].isna().all():  # shares only (estimates): keep the options
        big = set(long["party"])
    parties = [p for p in [*data.MAIN_PARTIES, "remain", "leave", *sorted(big)] if p in big]
    parties = list(dict.fromkeys(parties))
    for p in parties:
        part = long[long["party"] == p].set_index("class")
        table[f"{p}_share"] = part["share"] if part["share"].notna().any() else part["mean_share"]
        table[f"{p}_won"] = part["won"].reindex(table.index).fillna(0).astype(int)
    table = table.reset_index(names="class")
    long["class"] = pd.Categorical(long["class"], order, ordered=True)
    long = long.sort_values(["class", "votes", "mean_share"], ascending=[True, False, False]).reset_index(drop=True)
    long["class"] = long["class"].astype(str)
    note = ("Shares are each class's summed votes over its summed valid votes; turnout likewise. "
            f"{missing} areas have no {scheme} class and are left out.")
    return ByClass(election, scheme, coarse, table, long[["class", "party", "party_name", "votes", "share",
                                                             "mean_share", "won"]], missing, note)


def butler(con1: Any, lab1: Any, con2: Any, lab2: Any) -> Any:
    """Butler swing from Labour to the Conservatives, in points: ((C2 - C1) - (L2 - L1)) / 2."""
    return ((np.asarray(con2, float) - np.asarray(con1, float)) - (np.asarray(lab2, float) - np.asarray(lab1, float))) / 2


def carry_votes(atlas: Atlas, votes: pd.DataFrame, from_level: str, to_level: str) -> pd.DataFrame:
    """Area x party votes carried to another level by population-overlap link weights.

    Each area's votes are split in proportion to the share of its population in
    each area of ``to_level`` (a rough notional result; see the module notes).
    """
    if from_level == to_level:
        return votes
    links = atlas.links(from_level, to_level)
    if links.empty:
        raise TownhallError(f"No link from {from_level} to {to_level}: these elections cannot be compared.",
                            hint="Compare elections on the same areas (2010-2019 on 2010 seats), or an "
                                 "earlier general election with GE2024.")
    m = links.merge(votes, left_on="child", right_index=True)
    cols = list(votes.columns)
    m[cols] = m[cols].mul(m["weight"], axis=0)
    return m.groupby("parent")[cols].sum()


@dataclass
class Swing:
    """Swing between two elections by class.

    Attributes
    ----------
    table : DataFrame
        One row per class: class, areas, butler (from the class's summed
        votes; + = to Conservative), mean_butler, median_butler, to_con,
        to_lab (areas swinging each way), and for ``party``: change (points,
        summed votes) and mean_change.
    seats : DataFrame
        One row per area: area, name, class, con/lab shares before and after,
        butler, change (of ``party``).
    """

    from_election: str
    to_election: str
    scheme: str
    coarse: bool
    party: str | None
    level: str
    table: pd.DataFrame
    seats: pd.DataFrame
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.from_election, "to": self.to_election, "scheme": self.scheme, "coarse": self.coarse,
                "party": self.party, "level": self.level, "note": self.note, "table": records(self.table),
                "seats": records(self.seats)}


def seat_changes(atlas: Atlas, from_election: str, to_election: str, party: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """Per-area shares in both elections, Butler swing and a party's change (on the later election's areas)."""
    e1, e2 = data.check_election(atlas, from_election), data.check_election(atlas, to_election)
    if str(e1["kind"]) != "general" or str(e2["kind"]) != "general":
        raise TownhallError("Swing compares two general elections.",
                            hint=f"{from_election} is a {e1['kind']}, {to_election} a {e2['kind']}.")
    lv1, lv2 = str(e1["level"]), str(e2["level"])
    note = ""
    v1 = data.votes_wide(atlas, from_election)
    v2 = data.votes_wide(atlas, to_election)
    if lv1 != lv2:
        if not (lv1 == SEAT_2010 and lv2 == SEAT):
            raise TownhallError(f"{from_election} ({lv1}) and {to_election} ({lv2}) are on different areas.",
                                hint="Give the earlier election first.")
        v1 = carry_votes(atlas, v1, lv1, lv2)
        note = (f"{from_election} votes carried to 2024 seats by population overlap (a rough notional result, "
                "not the published notionals).")
    sh1 = 100 * v1.div(v1.sum(axis=1), axis=0)
    sh2 = 100 * v2.div(v2.sum(axis=1), axis=0)
    areas = sh2.index.intersection(sh1.index)
    s2 = data.seats(atlas, to_election).set_index("area")
    out = pd.DataFrame({"area": areas, "name": s2["name"].reindex(areas).to_numpy(),
                        "country": s2["country"].reindex(areas).to_numpy()})
    for p in ("con", "lab"):
        out[f"{p}_1"] = sh1.get(p, pd.Series(0.0, index=sh1.index)).reindex(areas).to_numpy()
        out[f"{p}_2"] = sh2.get(p, pd.Series(0.0, index=sh2.index)).reindex(areas).to_numpy()
    out["butler"] = butler(out["con_1"], out["lab_1"], out["con_2"], out["lab_2"])
    if party:
        known = set(sh1.columns) | set(sh2.columns)
        if party not in known:
            raise TownhallError(f"No party {party!r} in {from_election} or {to_election}.",
                                hint="Parties: " + ", ".join(sorted(known)) + ".")
        a = sh1.get(party, pd.Series(0.0, index=sh1.index)).reindex(areas).to_numpy()
        b = sh2.get(party, pd.Series(0.0, index=sh2.index)).reindex(areas).to_numpy()
        out[f"{party}_1"], out[f"{party}_2"] = a, b
        out["change"] = b - a
    out["winner_1"] = data.seats(atlas, from_election).set_index("area")["winner"].reindex(areas).to_numpy() \
        if lv1 == lv2 else None
    out["winner_2"] = s2["winner"].reindex(areas).to_numpy()
    v = {"v1": v1.reindex(areas), "v2": v2.reindex(areas)}
    out.attrs["votes"] = v
    return out, lv2, note


def class_swing(seats: pd.DataFrame, v1: pd.DataFrame, v2: pd.DataFrame, order: tuple[str, ...] | list[str],
                party: str | None = None) -> pd.DataFrame:
    """Swing by class (a pure function).

    Parameters
    ----------
    seats : DataFrame
        area, class, butler (seat swing) and, with ``party``, change.
    v1, v2 : DataFrame
        Area x party votes in the two elections (index area).
    order : sequence of str
        Classes in display order (those present are kept).
    party : str, optional

    Returns
    -------
    DataFrame
        class, areas, butler (from the class's summed votes), mean_butler,
        median_butler, to_con, to_lab and, with ``party``, change (summed
        votes) and mean_change (mean of seats).
    """
    rows = []
    for cls in [c for c in order if c in set(seats["class"])]:
        part = seats[seats["class"] == cls]
        a, b = v1.loc[part["area"]].sum(), v2.loc[part["area"]].sum()
        t1, t2 = a.sum(), b.sum()
        row = {"class": cls, "areas": len(part),
               "butler": float(butler(100 * a.get("con", 0) / t1, 100 * a.get("lab", 0) / t1,
                                      100 * b.get("con", 0) / t2, 100 * b.get("lab", 0) / t2)),
               "mean_butler": part["butler"].mean(), "median_butler": part["butler"].median(),
               "to_con": int((part["butler"] > 0).sum()), "to_lab": int((part["butler"] < 0).sum())}
        if party:
            row["change"] = float(100 * (b.get(party, 0) / t2 - a.get(party, 0) / t1))
            row["mean_change"] = part["change"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def swing(atlas: Atlas, from_election: str, to_election: str, scheme: str = "settlement", coarse: bool = False,
          party: str | None = None) -> Swing:
    """Conservative-Labour (Butler) swing and a party's share change between two general elections, by class."""
    seats_, level, note = seat_changes(atlas, from_election, to_election, party)
    v = seats_.attrs.pop("votes")
    seats_ = data.with_classes(atlas, seats_, level)
    seats_["class"] = seats_[data.class_column(scheme, coarse)]
    seats_ = seats_[seats_["class"].notna()].reset_index(drop=True)
    table = class_swing(seats_, v["v1"], v["v2"], data.class_order(coarse), party)
    keep = ["area", "name", "class", "settlement", "hocl_kind", "con_1", "lab_1", "con_2", "lab_2", "butler",
            "winner_1", "winner_2"] + ([f"{party}_1", f"{party}_2", "change"] if party else [])
    keep = list(dict.fromkeys(keep))
    return Swing(from_election, to_election, scheme, coarse, party, level, table, seats_[keep],
                 note or "Butler swing: + = towards the Conservatives, in percentage points.")


@dataclass
class Top:
    """The top N areas for an option or party, with both classes."""

    election: str
    option: str
    n: int
    areas: str
    table: pd.DataFrame
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_dict(self) -> dict[str, Any]:
        return {"election": self.election, "option": self.option, "n": self.n, "areas": self.areas,
                "table": records(self.table), "counts": records(self.counts)}


def top(atlas: Atlas, election: str, option: str, n: int = 30, *, countries: tuple[str, ...] | None = None,
        areas: str = "current", lowest: bool = False) -> Top:
    """The ``n`` areas with the highest share for an option or party, with their classes.

    Parameters
    ----------
    election, option : str
        E.g. ``('eu2016', 'remain')`` or ``('ge2017', 'lab')``.
    n : int
    countries : tuple of str, optional
        Keep areas of these countries ('E', 'W', 'S', 'N'); default all.
    areas : {'current', 'counting'}
        For the referendum: today's councils (merged councils summed) or the
        382 counting areas as in 2016 (each taking its current council's
        class; Northern Ireland and Gibraltar have none).
    lowest : bool
        The lowest shares instead.

    Returns
    -------
    Top
        ``table``: rank, area, name, country, share, votes, settlement,
        settlement_group, hocl_kind, hocl_group, class_area (the area whose
        class it takes: today's council for a counting area); ``counts``: how many of them
        fall in each class of each scheme.
    """
    if n < 1:
        raise TownhallError(f"n must be at least 1, not {n}.")
    el = data.check_election(atlas, election)
    level = str(el["level"])
    if areas == "counting":
        if election != "eu2016":
            raise TownhallError("Counting areas are the referendum's (eu2016) only.")
        if option not in ("remain", "leave"):
            raise TownhallError(f"The referendum's options are remain and leave, not {option!r}.")
        ca = atlas.query("SELECT * FROM eu_counting_area")
        tab = pd.DataFrame({"area": ca["area_code_2016"], "name": ca["name"], "current": ca["current_code"],
                            "country": ca["area_code_2016"].str[0].where(ca["area_code_2016"] != "GI", "GI"),
                            "share": ca[f"{option}_share"], "votes": ca[option]})
        tab = data.with_classes(atlas, tab, level, "current")
        tab["class_area"] = tab["current"]
    elif areas == "current":
        r = data.results(atlas, election)
        known = set(r["party"])
        if option not in known:
            raise TownhallError(f"No option or party {option!r} in {election}.",
                                hint="Options: " + ", ".join(sorted(known)) + ".")
        r = r[r["party"] == option]
        s = data.seats(atlas, election).set_index("area")
        tab = pd.DataFrame({"area": r["area"], "name": r["area"].map(s["name"]),
                            "country": r["area"].map(s["country"]), "share": r["share"], "votes": r["votes"]})
        tab = data.with_classes(atlas, tab, level)
        tab["class_area"] = tab["area"]
    else:
        raise TownhallError(f"Unknown areas {areas!r}.", hint="Use current or counting.")
    if countries:
        tab = tab[tab["country"].isin(countries)]
    tab = tab.sort_values(["share", "area"], ascending=[lowest, True]).head(n).reset_index(drop=True)
    tab.insert(0, "rank", np.arange(1, len(tab) + 1))
    cols = ["rank", "area", "name", "country", "share", "votes", "settlement", "settlement_group", "hocl_kind",
            "hocl_group", "class_area"]
    tab = tab[cols]
    counts = []
    for scheme_col in ("settlement", "settlement_group", "hocl_kind", "hocl_group"):
        vc = tab[scheme_col].fillna("no class").value_counts()
        counts += [{"scheme": scheme_col, "class": k, "areas": int(v)} for k, v in vc.items()]
    return Top(election, option, n, areas, tab, pd.DataFrame(counts))
