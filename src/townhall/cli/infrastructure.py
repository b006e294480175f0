"""Social infrastructure commands: ``townhall infrastructure list | summary | counts | access | deserts | closures``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from townhall.api import Atlas

sub = typer.Typer(
    help="Social infrastructure: libraries, GP practices, courts, pools, sports sites, hospitals and pubs; "
         "what each place has, what closed when, and how far people travel.",
    no_args_is_help=True,
)
app.add_typer(sub, name="infrastructure")

KindOpt = Annotated[str | None, typer.Option("--kind", "-k", help="library, gp, court, pool, sports, hospital or pub.")]
PlaceOpt = Annotated[str | None, typer.Option("--place", "-p", help="A place name or code (with --level to disambiguate).")]


def _place(a: Atlas, place: str | None, level: str | None) -> tuple[str | None, str | None]:
    """Resolve a place name or code to (code, level)."""
    if place is None:
        return None, level
    area = a.resolve(place, level)
    return area.code, area.level


def _notes(notes: list[str]) -> None:
    for n in notes:
        console.print(f"[dim]{n}[/]", highlight=False)


@sub.command("list")
def list_(kind: KindOpt = None, level: LevelOpt = None, place: PlaceOpt = None, atlas: AtlasOpt = None,
          fmt: FormatOpt = Format.table) -> None:
    """List facilities (of a kind, in a place) with their dates and where they were placed."""
    from townhall.infrastructure import facilities

    a = open_atlas(atlas)
    code, lv = _place(a, place, level)
    res = facilities(a, kind, lv, code)
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    t = res.table
    if fmt is Format.table:
        t = t[["kind", "name", "status", "opened", "closed", "lsoa21", "town", "lad", "precision"]].copy()  # frame columns
        for c in ("opened", "closed"):
            t[c] = t[c].dt.strftime("%Y-%m-%d").fillna("")
    emit_frame(t, fmt, title=f"{len(res.table):,} facilities", max_rows=200)


@sub.command()
def summary(kind: KindOpt = None, atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """What the build placed from each source (by method, and why not); with --kind, counts by kind of place."""
    from townhall.infrastructure import build_report, counts_by_class

    a = open_atlas(atlas)
    res = counts_by_class(a, kind) if kind else build_report(a)
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    t = res.table
    if fmt is Format.table and not kind:
        t = t.assign(source=t["source"].str.rsplit("/", n=1).str[-1])[
            ["kind", "source", "rows", "placed", "placed_small_area", "placed_council_only", "not_placed"]]
    emit_frame(t, fmt, title=f"{kind} by kind of place" if kind else "Facility sources: rows placed and not placed")
    if fmt is Format.table and kind:
        _notes(res.notes)
    elif fmt is Format.table:
        _notes([f"{r.kind} ({r.source.rsplit('/', 1)[-1]}) not placed: {r.why_not_placed}"
                for r in res.table.itertuples() if r.not_placed])
        _notes(["Matching: " + "; ".join(f"{k} {v:,}" for k, v in zip(res.matching["key"], res.matching["value"], strict=True))])


@sub.command()
def counts(kind: Annotated[str, typer.Option("--kind", "-k", help="Facility kind.")], level: LevelOpt = None,
           place: PlaceOpt = None, atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Facilities of a kind per area: open each year, per 10,000 residents, closures and openings by period."""
    from townhall.infrastructure import counts as counts_

    a = open_atlas(atlas)
    code, lv = _place(a, place, level)
    res = counts_(a, kind, lv or "lad", code)
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    emit_frame(res.table, fmt, title=f"{kind} by {res.level}")
    if fmt is Format.table:
        _notes(res.notes)


@sub.command()
def access(
    kind: Annotated[str, typer.Option("--kind", "-k", help="Facility kind.")],
    level: LevelOpt = None,
    place: PlaceOpt = None,
    threshold: Annotated[list[float] | None, typer.Option("--threshold", "-t", help="Distance threshold in km (repeatable; default 2, 5, 10).")] = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Straight-line distance to the nearest facility: population-weighted mean and share beyond thresholds."""
    from townhall.infrastructure import access as access_
    from townhall.infrastructure.access import THRESHOLDS

    a = open_atlas(atlas)
    code, lv = _place(a, place, level)
    res = access_(a, kind, lv or "lad", code, tuple(threshold) if threshold else THRESHOLDS)
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    emit_frame(res.table, fmt, title=f"Distance to the nearest {kind} by {res.level}")
    if fmt is Format.table:
        _notes(res.notes)


@sub.command()
def deserts(
    level: LevelOpt = None,
    threshold: Annotated[float, typer.Option("--threshold", "-t", help="Distance in km.")] = 5.0,
    min_kinds: Annotated[int, typer.Option("--min-kinds", help="Kinds an area must be beyond the threshold for.")] = 3,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Service deserts: areas beyond the threshold from several kinds of facility at once."""
    from townhall.infrastructure import service_deserts

    res = service_deserts(open_atlas(atlas), threshold, min_kinds, level or "lsoa21")
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    t = res.table
    if fmt is Format.table and res.level == "lsoa21":
        t = t[t["desert"]]
    emit_frame(t, fmt, title="Service deserts")
    if fmt is Format.table:
        _notes(res.notes)


@sub.command()
def closures(
    kind: Annotated[str, typer.Option("--kind", "-k", help="library, gp or court; 'pub' for the 2001-2018 decline.")],
    period: Annotated[str | None, typer.Option("--period", help="Years a-b: closures after 31 Dec a up to 31 Dec b (e.g. 2009-2016).")] = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Do towns lose services more than cities? Closure rates by kind of place with exact intervals."""
    from townhall.errors import InputError
    from townhall.infrastructure import closures_by_class, pub_decline

    a = open_atlas(atlas)
    if kind in ("pub", "pubs"):
        res = pub_decline(a)
        if fmt is Format.json:
            emit_json(res.as_dict())
            return
        emit_frame(res.table, fmt, title="Pubs and bars 2001-2018 by council class (bootstrap 95%)")
        if fmt is Format.table:
            for s in res.associations:
                console.print(f"{s.y} ~ {s.x}: r = {s.r:.3f} (95% {s.r_lower:.3f} to {s.r_upper:.3f}), slope {s.slope:.3f} "
                              f"({s.slope_lower:.3f} to {s.slope_upper:.3f}), n = {s.n}", highlight=False)
            _notes(res.notes)
        return
    span = None
    if period:
        try:
            p0, p1 = (int(x) for x in period.split("-"))
        except ValueError:
            raise InputError(f"--period {period!r} is not of the form a-b (e.g. 2009-2016).") from None
        span = (p0, p1)
    res = closures_by_class(a, kind, span)
    if fmt is Format.json:
        emit_json(res.as_dict())
        return
    emit_frame(res.table, fmt, title=f"{kind} closures {res.label} by kind of place (Clopper-Pearson 95%)")
    if fmt is Format.table:
        emit_frame(res.last_lost, fmt, title="Places that lost their last one")
        _notes(res.notes)
