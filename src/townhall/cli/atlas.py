"""Atlas commands: ``build``, ``place``, ``values``, ``indicators``, ``levels``, ``up``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from townhall import config
from townhall.cli.common import (
    AtlasOpt,
    Format,
    FormatOpt,
    LevelOpt,
    app,
    console,
    emit_frame,
    emit_json,
    err_console,
    open_atlas,
    progress,
)


def _run_build(out: Path | None) -> None:
    from townhall.atlas.build import build

    bar = progress()
    with bar:
        task = bar.add_task("Building the atlas", total=17)

        def step(label: str) -> None:
            bar.update(task, description=f"Building: {label}", advance=1)

        summary = build(out, step=step)
        bar.update(task, completed=17, description="Built")
    levels = ", ".join(f"{lv} {n:,}" for lv, n in summary.areas.items())
    console.print(
        f"[bold green]Atlas built[/] at {summary.path} in {summary.seconds:.1f} s: "
        f"{sum(summary.areas.values()):,} areas ({levels}); {summary.indicators:,} indicators; "
        f"{summary.observations:,} observations; {summary.sources} sources.",
        highlight=False,
    )
    _facility_lines(summary.path)


def _facility_lines(path: Path) -> None:
    """One line per facility source: rows placed by method, and not placed and why."""
    from townhall.infrastructure import build_report

    with open_atlas(path) as a:
        rep = build_report(a).table
    for r in rep.itertuples():
        why = f" ({r.why_not_placed})" if r.not_placed else ""
        console.print(f"Facilities, {r.kind} ({Path(r.source).name}): {r.rows:,} rows; {r.placed:,} placed "
                      f"({r.placed_small_area:,} in a small area by nearest LSOA centroid, {r.placed_council_only:,} "
                      f"council only; councils {r.council_point_in_polygon:,} by polygon, {r.council_via_lsoa21:,} via "
                      f"LSOA); {r.not_placed:,} not placed{why}.", highlight=False)


@app.command()
def build(atlas: AtlasOpt = None) -> None:
    """Build the atlas from the pulled sources (atomic: a failed build keeps the old atlas)."""
    _run_build(atlas)


@app.command()
def levels(atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """List the geographic levels held, with how many areas each has."""
    emit_frame(open_atlas(atlas).levels(), fmt, title="Levels")


@app.command()
def indicators(
    topic: Annotated[str | None, typer.Option(help="Only this topic (deprivation, economy, health, ...).")] = None,
    level: LevelOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List registered indicators with their level, unit, polarity and periods."""
    df = open_atlas(atlas).indicators(topic=topic, level=level)
    cols = ["id", "name", "topic", "level", "unit", "polarity", "agg", "periods"]
    emit_frame(df[cols] if fmt is Format.table else df, fmt, title="Indicators", max_rows=400)


@app.command()
def values(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. imd25_income_score.")],
    level: LevelOpt = None,
    period: Annotated[str | None, typer.Option(help="Period (default: latest).")] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", help="Also pool councils as one unit: a TOML/CSV file, 'one-yorkshire', an area code or codes a,b,c.")] = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Values of an indicator at a level, rolled up (population-weighted) when needed."""
    a = open_atlas(atlas)
    if group:
        from townhall.funding.groups import pooled_indicator

        emit_frame(pooled_indicator(a, indicator, group, period=period), fmt, title=f"{indicator}: groups pooled")
        return
    df = a.values(indicator, level=level, period=period)
    info = a.indicator(indicator)
    emit_frame(df, fmt, title=f"{info['name']} ({info['unit']}) by {level or info['level']}")


@app.command()
def place(
    query: Annotated[str, typer.Argument(help="A name ('wigan', 'Kingston upon Hull') or a GSS code.")],
    level: LevelOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
    all_indicators: Annotated[bool, typer.Option("--all", help="Show every indicator, not just the headline ones.")] = False,
) -> None:
    """Find a place and show its profile: level, parents, population, classes, indicators, sources.

    ``--format json`` prints the whole profile; ``--format csv`` its indicators (the headline
    ones, or every one with ``--all``), one row each with the place's code and level.
    """
    import pandas as pd

    from townhall.errors import PlaceNotFoundError

    a = open_atlas(atlas)
    matches = a.find(query, level=level)
    if matches.empty:
        raise PlaceNotFoundError(query, a.suggest(query))
    prof = a.profile(query, level=level)
    if fmt is Format.json:
        emit_json(prof)
        return
    if fmt is Format.csv:
        rows = pd.DataFrame(prof["indicators"] if all_indicators else prof["headline"])
        rows.insert(0, "level", prof["area"]["level"])
        rows.insert(0, "area", prof["area"]["code"])
        emit_frame(rows, fmt)
        return
    if len(matches) > 1:
        console.print(f"[bold]{len(matches)} places match {query!r}[/] (showing the first; pick another with --level or its code):")
        for r in matches.head(12).itertuples():
            pop = f", pop. {r.population:,.0f}" if r.population == r.population and r.population else ""
            console.print(f"  {r.name}  [dim]{r.level} {r.code}{pop}[/]", highlight=False)
        console.print()
    _print_profile(prof, all_indicators)


def _print_profile(prof: dict, all_indicators: bool) -> None:
    from rich.table import Table

    ar = prof["area"]
    console.print(f"[bold]{ar['name']}[/]  {ar['level_name']}  [dim]{ar['code']}[/]", highlight=False)
    if ar["population"]:
        console.print(f"Population {ar['population']:,.0f} ({ar['population_year']})", highlight=False)
    if prof["parents"]:
        def share(w: float) -> str:
            return "" if w > 0.999 else f", {w:.0%}"

        ps = "; ".join(f"{p['name']} ({p['level']}{share(p['weight'])})" for p in prof["parents"])
        console.print(f"Part of: {ps}", highlight=False)
    for scheme, cls in prof["classes"].items():
        console.print(f"  {scheme.replace('_', ' ')}: {cls}", highlight=False)
    rows = prof["indicators"] if all_indicators else prof["headline"]
    if rows:
        t = Table(title="Indicators" if all_indicators else "Headline indicators")
        for col, just in (("indicator", "left"), ("period", "left"), ("value", "right"), ("percentile", "right"), ("reading", "left")):
            t.add_column(col, justify=just)
        for r in rows:
            v = r["value"]
            val = "–" if v is None else (f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}")
            pct = "–" if r["pct"] is None else f"{r['pct']:.0f}"
            bt = r.get("better_than_pct")
            reading = "" if bt is None else f"better than {bt:.0f}% of {ar['level']} areas"
            t.add_row(r["name"] + (" (rolled up)" if r["derived"] else ""), r["period"], val, pct, reading)
        console.print(t)
    if prof["sources"]:
        console.print("[bold]Sources[/]")
        for s in prof["sources"]:
            console.print(f"  {s['publisher']} ({s['licence']}): {s['title'][:90]}", highlight=False)


@app.command()
def up(
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    mirror: Annotated[Path | None, typer.Option("--mirror", metavar="DIR", help="Copy sources from this mirror ($TOWNHALL_MIRROR).")] = None,
    atlas: AtlasOpt = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Pull and build if needed, then stop.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes serving the (read-only) atlas; about one per core.")] = 1,
) -> None:
    """The main job: pull the data if needed, build the atlas if stale, serve the web atlas.

    The port is bound before anything is served, so a port in use is reported at once. On a
    host other than this machine's loopback, only requests naming an allowed host are
    answered (``TOWNHALL_ALLOWED_HOSTS``, comma-separated; default: the interface and this
    machine's names). A rebuilt atlas is picked up without a restart.
    """
    from townhall.atlas.build import is_stale
    from townhall.errors import InputError
    from townhall.sources import download

    if not 1 <= port <= 65535:
        raise InputError(f"Port {port} is not a port number: use one from 1 to 65535, e.g. --port 8000.")
    if not 1 <= workers <= 64:
        raise InputError(f"--workers {workers}: use from 1 to 64 worker processes (about one per core).")
    path = Path(atlas or config.atlas_path())
    sock = None
    if not no_serve:
        from townhall.web.app import bind

        # Bound first: a port in use is said at once, not after a build, and nothing claims
        # to be serving before the bind succeeded.
        sock = bind(host, port)
    absent = download.missing()
    if absent:
        mirror = mirror or config.mirror_dir()
        err_console.print(f"{len(absent)} source files to get ({'from ' + str(mirror) if mirror else 'from their origins'}).")
        bar = progress(bytes_=True)
        task = bar.add_task("Pulling sources", total=None)

        def on_event(ev: download.ProgressEvent) -> None:
            if ev.kind == "plan":
                bar.update(task, total=ev.total)
            elif ev.kind == "bytes":
                bar.advance(task, ev.nbytes)

        with bar:
            report = download.pull(absent, mirror=mirror, progress=on_event, check=False)
        report.raise_for_failures()
    if is_stale(path):
        _run_build(path)
    else:
        err_console.print(f"Atlas at {path} is up to date.")
    if sock is None:
        return
    from townhall.web.app import serve

    shown = f"[{host}]" if ":" in host else host
    console.print(f"[bold]townhall[/] serving the atlas on http://{shown}:{sock.getsockname()[1]}/ "
                  f"with {workers} worker{'s' if workers > 1 else ''}  (Ctrl+C to stop)", highlight=False)
    t0 = time.perf_counter()
    serve(path, sock, host=host, workers=workers, replace_process=True)
    err_console.print(f"Stopped after {time.perf_counter() - t0:,.0f} s.")
