"""Election commands: ``townhall elections list | results | targets | swing | top``."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from townhall.cli.common import (
    AtlasOpt,
    Format,
    FormatOpt,
    LevelOpt,
    app,
    console,
    emit_frame,
    emit_json,
    open_atlas,
)

sub = typer.Typer(
    help="Election results by kind of place: results and turnout by class, swing, top areas, targets and "
         "marginals (EU referendum 2016; general elections 2010-2024).",
    no_args_is_help=True,
)
app.add_typer(sub, name="elections")

ElectionArg = Annotated[str, typer.Argument(help="Election id: eu2016, eu2016_est, ge2010, ge2015, ge2017, ge2019, ge2024.")]
SchemeOpt = Annotated[str, typer.Option("--scheme", "-s", help="Class scheme: settlement (townhall's) or hocl (House of Commons Library, 2010 seats); results also take 'both', side by side.")]
CoarseOpt = Annotated[bool, typer.Option("--coarse/--fine", help="City / Town / Village or rural, or the six kinds of place.")]
CountryOpt = Annotated[list[str] | None, typer.Option("--country", help="Keep seats or areas of this country (E, W, S, N); repeat for several.")]


def _pct_cols(df: pd.DataFrame) -> pd.DataFrame:
    return df.round({c: 1 for c in df.columns if c.endswith(("_share", "turnout", "butler", "change"))})


@sub.command("list")
def list_(atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The elections the atlas holds."""
    from townhall.elections import elections

    emit_frame(elections(open_atlas(atlas)), fmt, title="Elections in the atlas")


@sub.command()
def results(
    election: ElectionArg,
    scheme: SchemeOpt = "settlement",
    coarse: CoarseOpt = False,
    place: Annotated[str | None, typer.Option("--place", "-p", help="One place's results instead (a seat or council, name or code).")] = None,
    level: LevelOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Shares, areas won and turnout by class of area (or one place's results with --place)."""
    from townhall.elections import by_class, place_results

    a = open_atlas(atlas)
    if place is not None:
        area = a.resolve(place, level)
        pr = place_results(a, area.code, area.level)
        if fmt is Format.json:
            emit_json(pr.as_dict())
            return
        tab = pr.table if election == "all" else pr.table[pr.table["election"] == election]
        emit_frame(_pct_cols(tab), fmt, title=f"{area.name} ({area.level}, {area.code}): {election}")
        return
    r = by_class(a, election, scheme, coarse)
    if fmt is Format.json:
        emit_json(r.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(r.table, fmt)
        return
    # A terminal is narrow: shares and turnout in one table, areas won in another, party codes as headers.
    t = r.table
    lead = ["scheme", "class"] if "scheme" in t else ["class"]
    shares = t[[*lead, "areas", "turnout", *[c for c in t if c.endswith("_share")]]]
    emit_frame(_pct_cols(shares).rename(columns=lambda c: c.removesuffix("_share")), fmt,
               title=f"{election} by {scheme} class: turnout and shares (%)")
    won = t[[*lead, *[c for c in t if c.endswith("_won")]]]
    emit_frame(won.rename(columns=lambda c: c.removesuffix("_won")), fmt, title="Areas won")
    console.print(r.note, highlight=False)


@sub.command()
def targets(
    election: ElectionArg,
    party: Annotated[str, typer.Argument(help="Party code: con, lab, ld, snp, pc, green, reform ...")],
    marginals: Annotated[bool, typer.Option("--marginals", "-m", help="The party's most marginal held seats instead of its targets.")] = False,
    n: Annotated[int | None, typer.Option("-n", help="How many seats (default: as many as it needs for a majority).", min=1)] = None,
    pool: Annotated[str, typer.Option("--pool", help="Targets from all seats it does not hold, or only where it came second.")] = "all",
    speaker: Annotated[str, typer.Option("--speaker", help="The Speaker's seat excluded from the House (649 -> 325) or counted (650 -> 326).")] = "excluded",
    country: CountryOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """A party's target seats (by uniform swing needed) or its marginals, each with its class."""
    from townhall.elections import targets as run

    t = run(open_atlas(atlas), election, party, kind="marginals" if marginals else "targets", n=n, pool=pool,
            speaker=speaker, countries=tuple(country) if country else None)
    if fmt is Format.json:
        emit_json(t.as_dict())
        return
    df = t.table
    if fmt is Format.table:
        cols = ["rank", "name", "country", "winner", "second", "party_share", "winner_share",
                "swing_needed" if not marginals else "majority_share", "settlement", "hocl_kind"]
        df = _pct_cols(df[[c for c in cols if c in df]]).round({"swing_needed": 2, "majority_share": 2})
    emit_frame(df, fmt, title=f"{party} {'marginals' if marginals else 'targets'} after {election}", max_rows=200)
    if fmt is Format.table:
        console.print(t.rule, highlight=False)


@sub.command()
def swing(
    from_election: Annotated[str, typer.Argument(help="The earlier general election (e.g. ge2015).")],
    to_election: Annotated[str, typer.Argument(help="The later general election (e.g. ge2017).")],
    party: Annotated[str | None, typer.Option("--party", help="Also this party's share change.")] = None,
    scheme: SchemeOpt = "settlement",
    coarse: CoarseOpt = False,
    seats: Annotated[bool, typer.Option("--seats", help="One row per seat instead of per class.")] = False,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Conservative-Labour (Butler) swing and a party's share change between two elections, by class."""
    from townhall.elections import swing as run

    s = run(open_atlas(atlas), from_election, to_election, scheme, coarse, party)
    if fmt is Format.json:
        emit_json(s.as_dict())
        return
    emit_frame(_pct_cols(s.seats if seats else s.table), fmt, max_rows=700 if seats else 60,
               title=f"Swing {from_election} -> {to_election} by {scheme} class (points; butler + = to Con)")
    if fmt is Format.table:
        console.print(s.note, highlight=False)


@sub.command()
def top(
    election: ElectionArg,
    option: Annotated[str, typer.Argument(help="Option or party: remain, leave, con, lab ...")],
    n: Annotated[int, typer.Option("-n", help="How many areas.", min=1)] = 30,
    areas: Annotated[str, typer.Option("--areas", help="Referendum: current councils or the 2016 counting areas.")] = "current",
    lowest: Annotated[bool, typer.Option("--lowest", help="The lowest shares instead.")] = False,
    country: CountryOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The top N areas for an option or party, with their classes (both schemes)."""
    from townhall.elections import top as run

    t = run(open_atlas(atlas), election, option, n, countries=tuple(country) if country else None, areas=areas,
            lowest=lowest)
    if fmt is Format.json:
        emit_json(t.as_dict())
        return
    emit_frame(_pct_cols(t.table), fmt, title=f"Top {n} areas for {option} in {election}", max_rows=n)
    if fmt is Format.table:
        counts = t.counts[t.counts["scheme"].isin(["settlement_group", "hocl_group"])]
        console.print("; ".join(f"{r.scheme}: {r['class']} {r.areas}" for _, r in counts.iterrows()), highlight=False)
