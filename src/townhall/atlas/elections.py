"""Election results in the atlas: the 2016 EU referendum and five general elections.

What the build writes (every share and turnout is a **percentage**, 0-100):

``election``
    One row per election: id (``eu2016``, ``eu2016_est``, ``ge2010``, ``ge2015``,
    ``ge2017``, ``ge2019``, ``ge2024``), kind, polling date, the level its areas
    are (``lad`` for the referendum re-keyed on today's councils, ``pcon10`` or
    ``pcon24`` for seats), number of areas and sources.
``election_seat``
    One row per election and area: electorate, valid votes, turnout, winner,
    second, their votes, majority (votes and % of valid votes), the published
    result text and, for the referendum, the 2016 counting areas it sums
    (``predecessors``).
``election_result``
    The tidy table: one row per election, area and party (or referendum
    option): votes, share, rank in the area. Candidates of one party in one
    seat are summed (only independents and 'others' ever have several).
``election_candidate``
    Candidate level where the files give it (GE2015, 2017, 2019, 2024).
``eu_counting_area``
    The 382 referendum counting areas as published (2016 councils, Northern
    Ireland, Gibraltar) with today's council code beside each.
``election_history``
    Every contest 1918-2017 at party-group level with its winning group
    (House of Commons Library), for questions such as "the first Conservative
    MP for Mansfield".
``council_control``
    Political control of councils, two dated snapshots: Open Council Data UK
    (late 2017, GB councils incl. county councils) and Robinson & Pike (c.
    2019-20, English councils), keyed on the council code of the snapshot
    with today's code beside it.

Traps handled here (see the folder's MANIFEST): the referendum CSV has
CR-only line endings (pandas' C parser reads universal newlines); the
1918-2017 file is cp1252 with trailing spaces in headers and has only party
groups for 2010 (Conservative, Labour, Liberal Democrat, SNP/Plaid Cymru,
others: SNP in Scotland and Plaid Cymru in Wales are told apart by country);
the Electoral Commission's 2015 constituency table has an empty row and a
total row; GE2024 is on 2024 boundaries (``pcon24``) with changes against
notional 2019 results, the others on 2010 boundaries (``pcon10``).

A merged council gets the **sum** of its predecessors' referendum counts
(:func:`townhall.atlas.codes.to_current`), and its shares and turnout are
recomputed from the sums (so North Yorkshire's Leave share is that of the
seven districts' votes together, not a mean of their shares).

Indicators registered (so results roll up, compare and map like any other):
``eu16_leave_share``, ``eu16_remain_share``, ``eu16_turnout`` (lad),
``eu16_leave_share_est`` (pcon10, Hanretty), and for each general election
``ge<year>_turnout``, ``ge<year>_majority_share`` and ``ge<year>_<party>_share``
for the main parties (pcon10 for 2010-2019, pcon24 for 2024).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from townhall.atlas import codes
from townhall.atlas.registry import OBS_COLS, reg_row, register, stage
from townhall.levels import COUNCIL, SEAT, SEAT_2010
from townhall.sources import readers

DIR = "politics_finance/elections/"
EU = DIR + "EU-referendum-result-data.csv"
HANRETTY = DIR + "Final estimates of the Leave vote share in the EU referendum.xlsx"
LONGRUN = DIR + "1918-2017election_results.csv"
EC15_SEATS = DIR + "ec-ge2015-CONSTITUENCY.csv"
HOC15 = DIR + "hoc-ge2015-results-full.csv"
HOC17_SEATS = DIR + "HoC-GE2017-constituency-results.csv"
HOC17_CANDS = DIR + "HoC-GE2017-results-by-candidate.csv"
HOC19_SEATS = DIR + "HoC-GE2019-results-by-constituency-csv.csv"
HOC19_CANDS = DIR + "HoC-GE2019-results-by-candidate.csv"
HOC24_SEATS = DIR + "HoC-GE2024-results-by-constituency.csv"
HOC24_CANDS = DIR + "HoC-GE2024-results-by-candidate.csv"
OCD = DIR + "opencouncildata_councils.csv"
ROBINSON = DIR + "PoliticalControl_FinancialIndicators.csv"
REGISTER = "geography/mysociety_la/uk_local_authorities.csv"

#: Party abbreviations in the House of Commons Library files -> townhall's party codes.
PARTY_CODES: dict[str, str] = {
    "Con": "con", "Lab": "lab", "LD": "ld", "UKIP": "ukip", "Green": "green", "SNP": "snp", "PC": "pc",
    "Brexit": "brexit", "RUK": "reform", "DUP": "dup", "SF": "sf", "SDLP": "sdlp", "UUP": "uup",
    "Alliance": "alliance", "APNI": "alliance", "Spk": "spk", "Ind": "ind",
}
#: Party code -> name (everything else is 'oth', other parties and candidates).
PARTY_NAMES: dict[str, str] = {
    "con": "Conservative", "lab": "Labour", "ld": "Liberal Democrat", "ukip": "UKIP", "green": "Green",
    "snp": "SNP", "pc": "Plaid Cymru", "brexit": "Brexit Party", "reform": "Reform UK", "dup": "DUP",
    "sf": "Sinn Féin", "sdlp": "SDLP", "uup": "UUP", "alliance": "Alliance", "spk": "Speaker",
    "ind": "Independent", "oth": "Other", "remain": "Remain", "leave": "Leave",
}
#: Elections: id -> (name, kind, polling date, level, sources).
ELECTIONS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "eu2016": ("EU referendum 2016 (counting areas on today's councils)", "referendum", "2016-06-23", COUNCIL, (EU,)),
    "eu2016_est": ("EU referendum 2016, Leave share estimated by 2010 seat (Hanretty)", "referendum estimate",
                   "2016-06-23", SEAT_2010, (HANRETTY,)),
    "ge2010": ("General election 2010", "general", "2010-05-06", SEAT_2010, (LONGRUN,)),
    "ge2015": ("General election 2015", "general", "2015-05-07", SEAT_2010, (HOC15, EC15_SEATS)),
    "ge2017": ("General election 2017", "general", "2017-06-08", SEAT_2010, (HOC17_SEATS, HOC17_CANDS)),
    "ge2019": ("General election 2019", "general", "2019-12-12", SEAT_2010, (HOC19_SEATS, HOC19_CANDS)),
    "ge2024": ("General election 2024", "general", "2024-07-04", SEAT, (HOC24_SEATS, HOC24_CANDS)),
}
#: Parties whose share is registered as an indicator, per general election.
INDICATOR_PARTIES: dict[str, tuple[str, ...]] = {
    "ge2010": ("con", "lab", "ld", "snp", "pc"),
    "ge2015": ("con", "lab", "ld", "ukip", "green", "snp", "pc"),
    "ge2017": ("con", "lab", "ld", "ukip", "green", "snp", "pc"),
    "ge2019": ("con", "lab", "ld", "brexit", "green", "snp", "pc"),
    "ge2024": ("con", "lab", "ld", "reform", "green", "snp", "pc"),
}

SEAT_COLS = ["election", "level", "area", "name", "country", "region", "electorate", "valid_votes", "turnout",
             "winner", "second", "winner_votes", "second_votes", "majority", "majority_share", "result",
             "predecessors"]
RESULT_COLS = ["election", "level", "area", "party", "party_name", "votes", "share", "rank"]
CAND_COLS = ["election", "level", "area", "candidate", "party", "party_abbr", "party_name", "votes", "share",
             "sitting_mp"]
COUNTRY = {"England": "E", "Wales": "W", "Scotland": "S", "Northern Ireland": "N"}


def party_code(abbr: object) -> str:
    """townhall's party code for a House of Commons Library abbreviation ('oth' if not a main party)."""
    return PARTY_CODES.get(str(abbr).strip(), "oth") if isinstance(abbr, str) else "oth"


# -- readers (pure: frames in, frames out) ------------------------------------------------


def read_referendum(cache_dir: Path | None = None) -> pd.DataFrame:
    """The 382 counting areas as published, with shares and turnout recomputed from the counts."""
    # The C parser reads CR-only line endings as rows (universal newlines).
    df = readers.read_csv(EU, cache_dir, required=["Area_Code", "Area", "Region", "Electorate", "Votes_Cast",
                                                   "Valid_Votes", "Remain", "Leave", "Rejected_Ballots"])
    out = pd.DataFrame({
        "area_code_2016": df["Area_Code"].str.strip(), "name": df["Area"].str.strip(),
        "region": df["Region"].str.strip(),
        **{c.lower(): readers.to_number(df[c]) for c in ("Electorate", "Votes_Cast", "Valid_Votes", "Remain",
                                                          "Leave", "Rejected_Ballots")},
    })
    return out.rename(columns={"rejected_ballots": "rejected"})


def referendum_by_council(eu: pd.DataFrame, succ: dict[str, str]) -> pd.DataFrame:
    """Counting areas re-keyed on today's councils: merged councils get the sums of their predecessors."""
    out = codes.to_current(eu, "area_code_2016", succ,
                           sums=["electorate", "votes_cast", "valid_votes", "remain", "leave", "rejected"],
                           keep=["name", "region"])
    out = out.rename(columns={"area_code_2016": "area"})
    out["turnout"] = 100 * out["votes_cast"] / out["electorate"]
    out["remain_share"] = 100 * out["remain"] / out["valid_votes"]
    out["leave_share"] = 100 * out["leave"] / out["valid_votes"]
    return out


def _seats_from_wide(df: pd.DataFrame, election: str, level: str, cols: dict[str, str]) -> pd.DataFrame:
    """Seat summary rows from a House of Commons Library wide constituency file."""
    g = {k: df[v] for k, v in cols.items()}
    out = pd.DataFrame({
        "election": election, "level": level, "area": g["area"].str.strip(), "name": g["name"],
        "country": g["country"].map(COUNTRY), "region": g["region"],
        "electorate": readers.to_number(g["electorate"]), "valid_votes": readers.to_number(g["valid_votes"]),
        "winner": g["winner"].map(party_code), "second": g["second"].map(party_code),
        "majority": readers.to_number(g["majority"]), "result": g["result"],
    })
    return out


def _results_from_candidates(cands: pd.DataFrame) -> pd.DataFrame:
    """Party rows (votes summed over a party's candidates in a seat), shares of the seat's valid votes."""
    res = cands.groupby(["election", "level", "area", "party"], as_index=False)["votes"].sum()
    total = res.groupby(["election", "area"])["votes"].transform("sum")
    res["share"] = 100 * res["votes"] / total
    res["party_name"] = res["party"].map(PARTY_NAMES)
    res["rank"] = res.groupby(["election", "area"])["votes"].rank(ascending=False, method="min").astype(int)
    return res[RESULT_COLS]


def _candidates(df: pd.DataFrame, election: str, level: str, cols: dict[str, str]) -> pd.DataFrame:
    g = {k: df[v] for k, v in cols.items()}
    return pd.DataFrame({
        "election": election, "level": level, "area": g["area"].str.strip(),
        "candidate": (g["first"].fillna("").astype(str) + " " + g["last"].fillna("").astype(str)).str.strip(),
        "party": g["abbr"].map(party_code), "party_abbr": g["abbr"], "party_name": g["party_name"],
        "votes": readers.to_number(g["votes"]), "share": 100 * readers.to_number(g["share"]),
        "sitting_mp": g["sitting"].astype(str).str.strip().str.lower().eq("yes"),
    })


def _finish_seats(seats: pd.DataFrame, cands: pd.DataFrame | None) -> pd.DataFrame:
    """Turnout (valid votes / electorate, the Library's definition), winner/second votes, majority share."""
    seats = seats.copy()
    if cands is not None:
        # Winner and runner-up votes from the candidates themselves (two independents are two candidates).
        top = cands.sort_values(["area", "votes"], ascending=[True, False]).groupby("area")
        first = top.nth(0).set_index("area")
        second = top.nth(1).set_index("area")
        seats["winner_votes"] = seats["area"].map(first["votes"])
        seats["second_votes"] = seats["area"].map(second["votes"])
        for col, src in (("winner", first), ("second", second)):
            if seats[col].isna().any():
                seats[col] = seats[col].fillna(seats["area"].map(src["party"]))
        if seats["majority"].isna().any():
            seats["majority"] = seats["majority"].fillna(seats["winner_votes"] - seats["second_votes"])
    seats["turnout"] = 100 * seats["valid_votes"] / seats["electorate"]
    seats["majority_share"] = 100 * seats["majority"] / seats["valid_votes"]
    seats["predecessors"] = None
    return seats.reindex(columns=SEAT_COLS)


def read_ge2010(cache_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GE2010 by 2010 seat from the Library's 1918-2017 file (party groups only)."""
    df = longrun(cache_dir)
    df = df[df["election"] == "2010"].copy()
    country = df["country/region"].map(lambda r: "S" if r == "Scotland" else "W" if r == "Wales"
                                       else "N" if r == "Northern Ireland" else "E")
    groups = {"con": "con_votes", "lab": "lab_votes", "ld": "lib_votes", "nat": "natSW_votes", "oth": "oth_votes"}
    rows = []
    for party, col in groups.items():
        code = np.where(country == "S", "snp", "pc") if party == "nat" else party
        rows.append(pd.DataFrame({"election": "ge2010", "level": SEAT_2010, "area": df["constituency_id"].to_numpy(),
                                  "party": code, "votes": readers.to_number(df[col]).to_numpy()}))
    res = pd.concat(rows, ignore_index=True)
    res = res[res["votes"].fillna(0) > 0]
    results = _results_from_candidates(res)
    valid = readers.to_number(df["total_votes"])
    ranked = results.sort_values(["area", "rank"])
    first = ranked[ranked["rank"] == 1].drop_duplicates("area").set_index("area")
    second = ranked[ranked["rank"] == 2].drop_duplicates("area").set_index("area")
    seats = pd.DataFrame({
        "election": "ge2010", "level": SEAT_2010, "area": df["constituency_id"].to_numpy(),
        "name": df["constituency"].str.title().to_numpy(), "country": country.to_numpy(),
        "region": df["country/region"].to_numpy(),
        "electorate": readers.to_number(df["electorate"]).to_numpy(), "valid_votes": valid.to_numpy(),
    })
    seats["winner"] = seats["area"].map(first["party"])
    seats["second"] = seats["area"].map(second["party"])
    seats["winner_votes"] = seats["area"].map(first["votes"])
    seats["second_votes"] = seats["area"].map(second["votes"])
    seats["majority"] = seats["winner_votes"] - seats["second_votes"]
    seats["result"] = None
    return _finish_seats(seats, None), results


def longrun(cache_dir: Path | None = None) -> pd.DataFrame:
    """The Library's 1918-2017 constituency results, headers stripped, election as text."""
    df = readers.read_csv(LONGRUN, cache_dir, encoding="cp1252")
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, ~df.columns.str.startswith("Unnamed")]
    df["election"] = df["election"].astype(str).str.strip()
    df["constituency"] = df["constituency"].astype(str).str.strip()
    return df


def history(cache_dir: Path | None = None) -> pd.DataFrame:
    """Every constituency contest 1918-2017 at party-group level, with the winning group.

    Groups: con, lab, ld (Liberal, Alliance, Liberal Democrat), nat (SNP and
    Plaid Cymru), oth. Constituencies are named as the Library names them (in
    capitals); a name can span several boundary sets.
    """
    df = longrun(cache_dir)
    groups = {"con": "con_votes", "lab": "lab_votes", "ld": "lib_votes", "nat": "natSW_votes", "oth": "oth_votes"}
    votes = pd.DataFrame({g: readers.to_number(df[c]) for g, c in groups.items()})
    out = pd.DataFrame({"election": df["election"], "constituency_id": df["constituency_id"].astype(str),
                        "constituency": df["constituency"].str.upper(), "region": df["country/region"],
                        "seats": readers.to_number(df["seats"]), "boundary_set": df["boundary_set"],
                        "electorate": readers.to_number(df["electorate"]),
                        "total_votes": readers.to_number(df["total_votes"])})
    for g in groups:
        out[f"{g}_votes"] = votes[g].to_numpy()
    # An unopposed return has no votes: the winner is then unknown here (None).
    has = votes.fillna(0).sum(axis=1) > 0
    out["winner"] = votes.fillna(-1).idxmax(axis=1).where(has)
    return out


def read_ge2015(cache_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """GE2015: candidates from the Library, electorate from the Electoral Commission (blank and total rows dropped)."""
    c = readers.read_csv(HOC15, cache_dir, required=["ons_id", "party_abbreviation", "votes", "share"])
    cands = _candidates(c, "ge2015", SEAT_2010, {
        "area": "ons_id", "first": "firstname", "last": "surname", "abbr": "party_abbreviation",
        "party_name": "party_name", "votes": "votes", "share": "share", "sitting": "sitting_mp"})
    ec = readers.read_csv(EC15_SEATS, cache_dir, encoding="cp1252",
                          required=["Constituency ID", "Electorate", "Valid Votes"])
    ec = ec[ec["Constituency ID"].astype(str).str.match(r"^[EWSN]\d{8}$")]  # drops the empty and total rows
    ec = ec.set_index("Constituency ID")
    first = c.drop_duplicates("ons_id").set_index("ons_id")
    seats = pd.DataFrame({"election": "ge2015", "level": SEAT_2010, "area": first.index.to_numpy()})
    seats["name"] = seats["area"].map(first["constituency_name"])
    seats["country"] = seats["area"].map(first["country_name"]).map(COUNTRY)
    seats["region"] = seats["area"].map(first["region_name"])
    seats["electorate"] = seats["area"].map(readers.to_number(ec["Electorate"]))
    seats["valid_votes"] = seats["area"].map(cands.groupby("area")["votes"].sum())
    seats["winner"], seats["second"], seats["majority"], seats["result"] = None, None, np.nan, None
    seats = _finish_seats(seats, cands)
    return seats, _results_from_candidates(cands), cands


def read_hoc(election: str, cache_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """GE2017, 2019 or 2024 from the Library's constituency and candidate files."""
    if election == "ge2024":
        s = readers.read_csv(HOC24_SEATS, cache_dir, required=["ONS ID", "Electorate", "Valid votes", "Majority"])
        c = readers.read_csv(HOC24_CANDS, cache_dir, required=["ONS ID", "Party abbreviation", "Votes", "Share"])
        level = SEAT
        scols = {"area": "ONS ID", "name": "Constituency name", "country": "Country name", "region": "Region name",
                 "electorate": "Electorate", "valid_votes": "Valid votes", "winner": "First party",
                 "second": "Second party", "majority": "Majority", "result": "Result"}
        ccols = {"area": "ONS ID", "first": "Candidate first name", "last": "Candidate surname",
                 "abbr": "Party abbreviation", "party_name": "Party name", "votes": "Votes", "share": "Share",
                 "sitting": "Sitting MP"}
    else:
        seats_file, cands_file = (HOC17_SEATS, HOC17_CANDS) if election == "ge2017" else (HOC19_SEATS, HOC19_CANDS)
        s = readers.read_csv(seats_file, cache_dir, required=["ons_id", "electorate", "valid_votes", "majority"])
        c = readers.read_csv(cands_file, cache_dir, required=["ons_id", "party_abbreviation", "votes", "share"])
        level = SEAT_2010
        scols = {"area": "ons_id", "name": "constituency_name", "country": "country_name", "region": "region_name",
                 "electorate": "electorate", "valid_votes": "valid_votes", "winner": "first_party",
                 "second": "second_party", "majority": "majority", "result": "result"}
        ccols = {"area": "ons_id", "first": "firstname", "last": "surname", "abbr": "party_abbreviation",
                 "party_name": "party_name", "votes": "votes", "share": "share", "sitting": "sitting_mp"}
    cands = _candidates(c, election, level, ccols)
    seats = _finish_seats(_seats_from_wide(s, election, level, scols), cands)
    return seats, _results_from_candidates(cands), cands


def read_hanretty(cache_dir: Path | None = None) -> pd.DataFrame:
    """Hanretty's Leave share by 2010 seat (``Figure to use``: known where known, else estimated), in %."""
    df = readers.read_excel(HANRETTY, cache_dir, sheet_name="google_sheets",
                            required=["PCON11CD", "Constituency name", "Figure to use"])
    df = df[df["PCON11CD"].astype(str).str.match(r"^[EWS]\d{8}$")]
    known = df["Known Leave vote share"].notna() if "Known Leave vote share" in df else False
    return pd.DataFrame({"area": df["PCON11CD"].str.strip(), "name": df["Constituency name"],
                         "leave_share": 100 * readers.to_number(df["Figure to use"]),
                         "known": known}).reset_index(drop=True)


def read_control(cache_dir: Path | None, succ: dict[str, str]) -> pd.DataFrame:
    """Council political control, two dated snapshots, each council with today's code beside it."""
    ocd = readers.read_csv(OCD, cache_dir, required=["id", "name", "majority", "total", "last"])
    reg = readers.read_csv(REGISTER, cache_dir, required=["gss-code", "open-council-data-id"])
    reg = reg.dropna(subset=["open-council-data-id"])
    ids = dict(zip(reg["open-council-data-id"].astype(float).astype(int), reg["gss-code"], strict=True))
    parties = ["con", "lab", "ld", "grn", "ukip", "pc", "snp", "ind", "vacant"]
    a = pd.DataFrame({
        "snapshot": "opencouncildata_2017", "date": ocd["last"].astype(str).str.strip(),
        "code": ocd["id"].map(ids), "name": ocd["name"], "control": ocd["majority"].astype(str).str.upper(),
        "seats": readers.to_number(ocd["total"]),
        **{f"seats_{p}": readers.to_number(ocd[p]) for p in parties if p in ocd},
        "source": OCD,
    })
    rp = readers.read_csv(ROBINSON, cache_dir, required=["LA_code", "Authority", "Political_control"])
    b = pd.DataFrame({"snapshot": "robinson_pike_2019", "date": "2019/20", "code": rp["LA_code"].str.strip(),
                      "name": rp["Authority"], "control": rp["Political_control"].astype(str).str.upper(),
                      "source": ROBINSON})
    out = pd.concat([a, b], ignore_index=True)
    out = out[out["code"].notna()]
    out["current_code"] = out["code"].map(lambda c: succ.get(c, c))
    return out.reset_index(drop=True)


# -- the build step -------------------------------------------------------------------------


def add_to_atlas(con: duckdb.DuckDBPyConnection, cache_dir: Path | None,
                 step: Callable[[str], None]) -> set[str]:
    """Write the election tables, register the election indicators and stage their values."""
    step("election results")
    succ = codes.successors(cache_dir)
    eu = read_referendum(cache_dir)
    eu["current_code"] = eu["area_code_2016"].map(lambda c: succ.get(c, c))
    for c, src in (("turnout", "votes_cast"), ("remain_share", "remain"), ("leave_share", "leave")):
        eu[c] = 100 * eu[src] / (eu["electorate"] if c == "turnout" else eu["valid_votes"])
    gb = eu[eu["area_code_2016"].str.match(r"^[EWS]\d{8}$")]
    by_council = referendum_by_council(gb, succ)
    known = {r[0] for r in con.execute("SELECT code FROM area WHERE level = ?", [COUNCIL]).fetchall()}
    areas = pd.DataFrame({"name": con.execute("SELECT code, name FROM area WHERE level = ?", [COUNCIL]).df()
                          .set_index("code")["name"]})
    eu_seats = pd.DataFrame({
        "election": "eu2016", "level": COUNCIL, "area": by_council["area"],
        "name": by_council["area"].map(areas["name"]).fillna(by_council["name"]),
        "country": by_council["area"].str[0], "region": by_council["region"],
        "electorate": by_council["electorate"], "valid_votes": by_council["valid_votes"],
        "turnout": by_council["turnout"],
        "winner": np.where(by_council["leave"] > by_council["remain"], "leave", "remain"),
        "second": np.where(by_council["leave"] > by_council["remain"], "remain", "leave"),
        "winner_votes": by_council[["leave", "remain"]].max(axis=1),
        "second_votes": by_council[["leave", "remain"]].min(axis=1),
        "result": None, "predecessors": by_council["predecessors"],
    })
    eu_seats["majority"] = eu_seats["winner_votes"] - eu_seats["second_votes"]
    eu_seats["majority_share"] = 100 * eu_seats["majority"] / eu_seats["valid_votes"]
    eu_seats = eu_seats[eu_seats["area"].isin(known)].reindex(columns=SEAT_COLS)
    eu_res = pd.concat([
        pd.DataFrame({"election": "eu2016", "level": COUNCIL, "area": by_council["area"], "party": opt,
                      "party_name": PARTY_NAMES[opt], "votes": by_council[opt],
                      "share": by_council[f"{opt}_share"]}) for opt in ("remain", "leave")], ignore_index=True)
    eu_res = eu_res[eu_res["area"].isin(known)]
    eu_res["rank"] = eu_res.groupby("area")["votes"].rank(ascending=False, method="min").astype(int)

    han = read_hanretty(cache_dir)
    han_seats = pd.DataFrame({"election": "eu2016_est", "level": SEAT_2010, "area": han["area"], "name": han["name"],
                              "country": han["area"].str[0],
                              "winner": np.where(han["leave_share"] > 50, "leave", "remain"),
                              "second": np.where(han["leave_share"] > 50, "remain", "leave"),
                              "majority_share": (2 * han["leave_share"] - 100).abs(),
                              "result": np.where(han["known"], "known (ward-level counts)", "estimated")}
                             ).reindex(columns=SEAT_COLS)
    han_res = pd.concat([
        pd.DataFrame({"election": "eu2016_est", "level": SEAT_2010, "area": han["area"], "party": "leave",
                      "party_name": "Leave", "votes": np.nan, "share": han["leave_share"]}),
        pd.DataFrame({"election": "eu2016_est", "level": SEAT_2010, "area": han["area"], "party": "remain",
                      "party_name": "Remain", "votes": np.nan, "share": 100 - han["leave_share"]}),
    ], ignore_index=True)
    han_res["rank"] = han_res.groupby("area")["share"].rank(ascending=False, method="min").astype(int)

    step("general elections 2010-2024")
    seats, results, cands = [eu_seats, han_seats], [eu_res, han_res[RESULT_COLS]], []
    s, r = read_ge2010(cache_dir)
    seats.append(s)
    results.append(r)
    for reader in (read_ge2015, lambda cd: read_hoc("ge2017", cd), lambda cd: read_hoc("ge2019", cd),
                   lambda cd: read_hoc("ge2024", cd)):
        s, r, c = reader(cache_dir)
        seats.append(s)
        results.append(r)
        cands.append(c)
    seat_df = pd.concat(seats, ignore_index=True).reindex(columns=SEAT_COLS)
    # The atlas's own names where it knows the area (the 1918-2017 file writes names in capitals).
    names = con.execute("SELECT level || ':' || code AS k, name FROM area").df().set_index("k")["name"]
    seat_df["name"] = (seat_df["level"] + ":" + seat_df["area"]).map(names).fillna(seat_df["name"])
    seat_df = seat_df.sort_values(["election", "area"], kind="stable")
    result_df = pd.concat(results, ignore_index=True)[RESULT_COLS].sort_values(["election", "area", "rank", "party"],
                                                                               kind="stable")
    cand_df = pd.concat(cands, ignore_index=True)[CAND_COLS].sort_values(["election", "area", "votes"],
                                                                         ascending=[True, True, False], kind="stable")
    elections = pd.DataFrame([
        {"id": k, "name": v[0], "kind": v[1], "date": v[2], "level": v[3],
         "areas": int((seat_df["election"] == k).sum()), "sources": "; ".join(v[4])}
        for k, v in ELECTIONS.items()])
    control = read_control(cache_dir, succ)
    hist = history(cache_dir)
    eu_areas = eu[["area_code_2016", "name", "region", "current_code", "electorate", "votes_cast", "valid_votes",
                   "remain", "leave", "rejected", "turnout", "remain_share", "leave_share"]]
    for name, df in (("election", elections), ("election_seat", seat_df), ("election_result", result_df),
                     ("election_candidate", cand_df), ("eu_counting_area", eu_areas),
                     ("council_control", control), ("election_history", hist)):
        con.register("_el_df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _el_df")
        con.unregister("_el_df")

    step("election indicators")
    reg, obs = election_indicators(seat_df, result_df)
    register(con, reg)
    stage(con, obs)
    return {EU, HANRETTY, LONGRUN, EC15_SEATS, HOC15, HOC17_SEATS, HOC17_CANDS, HOC19_SEATS, HOC19_CANDS,
            HOC24_SEATS, HOC24_CANDS, OCD, ROBINSON, REGISTER}


def election_indicators(seats: pd.DataFrame, results: pd.DataFrame) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """Registry rows and observations: turnout, majority and party shares of each election."""
    reg: list[dict[str, object]] = []
    frames: list[pd.DataFrame] = []

    def add(iid: str, name: str, level: str, source: str, desc: str, areas: pd.Series, values: pd.Series,
            period: str, polarity: int = 0) -> None:
        reg.append(reg_row(id=iid, name=name, topic="elections", unit="percent", polarity=polarity, level=level,
                           agg="mean", source=source, description=desc))
        frames.append(pd.DataFrame({"indicator": iid, "level": level, "area": areas.to_numpy(), "period": period,
                                    "value": values.to_numpy(float), "lower": np.nan, "upper": np.nan}))

    eu = seats[seats["election"] == "eu2016"]
    eur = results[results["election"] == "eu2016"]
    for opt in ("leave", "remain"):
        part = eur[eur["party"] == opt]
        add(f"eu16_{opt}_share", f"EU referendum 2016: {opt.title()} share (%)", COUNCIL, EU,
            f"{opt.title()} votes as a percentage of valid votes, 2016 counting areas summed to today's councils.",
            part["area"], part["share"], "2016")
    add("eu16_turnout", "EU referendum 2016: turnout (%)", COUNCIL, EU,
        "Ballot papers counted (votes cast) as a percentage of the electorate, counting areas summed to today's "
        "councils.", eu["area"], eu["turnout"], "2016")
    han = results[(results["election"] == "eu2016_est") & (results["party"] == "leave")]
    add("eu16_leave_share_est", "EU referendum 2016: Leave share by 2010 seat, estimated (%)", SEAT_2010, HANRETTY,
        "Chris Hanretty's estimate of the Leave share in each 2010-boundary seat (the known ward-based figure "
        "where there is one: 'Figure to use').", han["area"], han["share"], "2016")
    for election, parties in INDICATOR_PARTIES.items():
        name, _, _, level, sources = ELECTIONS[election]
        year = election[2:]
        s = seats[seats["election"] == election]
        add(f"{election}_turnout", f"{name}: turnout (%)", level, sources[0],
            "Valid votes as a percentage of the electorate (the House of Commons Library's definition).",
            s["area"], s["turnout"], year)
        add(f"{election}_majority_share", f"{name}: winner's majority (% of valid votes)", level, sources[0],
            "Winner's votes minus the runner-up's, as a percentage of valid votes.", s["area"],
            s["majority_share"], year)
        r = results[results["election"] == election]
        for p in parties:
            part = s[["area"]].merge(r[r["party"] == p][["area", "share"]], on="area", how="left")
            part["share"] = part["share"].fillna(0.0)  # a party that did not stand got 0%
            add(f"{election}_{p}_share", f"{name}: {PARTY_NAMES[p]} share (%)", level, sources[0],
                f"{PARTY_NAMES[p]} votes as a percentage of valid votes (0 where it did not stand).",
                part["area"], part["share"], year)
    obs = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    return reg, obs[OBS_COLS].reset_index(drop=True)
