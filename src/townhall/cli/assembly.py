"""Citizens' assembly commands: ``townhall assembly select | replace | draw | quotas | pool``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    err_console,
    open_atlas,
    progress,
)

sub = typer.Typer(
    help="Citizens' assemblies: fair selection (LEXIMIN on HiGHS), quotas from a place, audit.",
    no_args_is_help=True,
)
app.add_typer(sub, name="assembly")

QuotasOpt = Annotated[
    Path, typer.Option("--quotas", "-q", help="Quota file: category,value,min,max (CSV/XLSX).")
]
SizeOpt = Annotated[int, typer.Option("--size", "-n", help="Panel size.")]
MethodOpt = Annotated[str, typer.Option("--method", "-m", help="leximin, maximin, nash or legacy.")]
SeedOpt = Annotated[
    str | None,
    typer.Option("--seed", help="Public seed string (e.g. a lottery result); draws the panel."),
]
HouseOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--households",
        help="Household/address column (repeat for several): one person per household.",
    ),
]
IdOpt = Annotated[
    str | None, typer.Option("--id-column", help="Id column (default: 'id', else the row number).")
]
BirthOpt = Annotated[
    str | None,
    typer.Option("--birth-year", help="Column of birth years to derive the 'age' category from."),
]
YearOpt = Annotated[
    int | None, typer.Option("--year", help="Year ages are taken at (default: this year).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Directory for the report (HTML, CSV, JSON, lottery)."),
]
PanelsOpt = Annotated[int, typer.Option("--panels", help="Panels in the uniform lottery (m).")]
LegacyOpt = Annotated[
    int, typer.Option("--legacy-runs", help="LEGACY runs for the comparison (0 to skip).")
]


def _ids(text: str | None) -> list[str]:
    """Ids from a comma-separated list or a file (one per line, or a CSV with an id column)."""
    if not text:
        return []
    p = Path(text)
    if p.is_file():
        import pandas as pd

        from townhall.errors import InputError

        if p.suffix.lower() in (".csv", ".xlsx"):
            df = (
                pd.read_csv(p, dtype=str)
                if p.suffix.lower() == ".csv"
                else pd.read_excel(p, dtype=str)
            )
            cols = {c.lower(): c for c in df.columns}
            if "id" not in cols:
                raise InputError("The id list needs an 'id' column.", file=str(p))
            return [s.strip() for s in df[cols["id"]].dropna().astype(str)]
        return [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [s.strip() for s in text.split(",") if s.strip()]


TimeOpt = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        help="Seconds for the optimisation; LEXIMIN/maximin then return the best so far, "
        "with its proven gap (Ctrl+C does the same).",
    ),
]
TolOpt = Annotated[
    float,
    typer.Option(
        "--tolerance",
        help="Stop each LEXIMIN level once its proven gap is at most this (a probability); "
        "0 (the default) solves every level exactly. The report states it.",
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Solver progress lines on stderr.")
]


def _options(
    method: str,
    panels: int,
    households: list[str] | None,
    id_column: str | None,
    birth_year: str | None,
    year: int | None,
    legacy_runs: int,
    time_limit: float | None,
    tolerance: float = 0.0,
):
    """The command's options as one :class:`~townhall.assembly.SelectionOptions` (checked)."""
    from townhall.assembly import SelectionOptions

    return SelectionOptions(
        method=method,
        panels=panels,
        households=tuple(households) if households else None,
        id_column=id_column,
        birth_year=birth_year,
        reference_year=year,
        legacy_runs=legacy_runs,
        time_limit=time_limit,
        tolerance=tolerance,
    )


_REPORT_FILES = (
    "report.html",
    "report.json",
    "probabilities.csv",
    "quota_fit.csv",
    "panel.csv",
    "lottery.json",
)


def _check_out(out: Path | None) -> None:
    """Refuse an ``--out`` that cannot take the report, before any work is done."""
    import os

    from townhall.errors import InputError

    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise InputError(
            "--out names an existing file; it must be a directory for the report.",
            file=str(out),
            hint="Give a new or empty directory.",
        )
    if out.is_dir():
        clash = [f for f in _REPORT_FILES if (out / f).exists()]
        if clash:
            raise InputError(
                f"--out already holds a report ({clash[0]}); it would be overwritten.",
                file=str(out),
                hint="Give a new or empty directory.",
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError("--out is not writable.", file=str(out))
        return
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"--out cannot be created: {parent} is not a writable directory.", file=str(out)
        )


def _summarise(sel, fmt: Format) -> None:
    if fmt is not Format.table:
        return
    st = sel.stats().reset_index(names="method")
    console.print(
        f"[bold]{sel.method.upper()}[/]: {sel.size - len(sel.confirmed)} seats from {len(sel.pool)} volunteers; "
        f"probabilities {sel.minimum:.4f} to {sel.maximum:.4f} (Gini {sel.gini:.3f}).",
        highlight=False,
    )
    emit_frame(st, fmt, title="Selection probabilities")


def _announce(sel, fmt: Format) -> None:
    lot = sel.lottery
    # Human lines: on stdout for tables, on stderr beside CSV or JSON.
    out = console if fmt is Format.table else err_console
    if not sel.optimal:
        out.print(f"[bold red]Not proven optimal.[/] {sel.optimality_note()}", highlight=False)
    if fmt is Format.json:
        return
    out.print(
        f"Lottery of {lot.m} panels; every chance within {lot.max_deviation:.5f} of optimal"
        + ("" if lot.within_bound else " [red](more than 1/m)[/]")
        + ".",
        highlight=False,
    )
    out.print(
        f"[bold]Commitment[/] (publish before the seed is known): {sel.commitment}", highlight=False
    )


def _run(sel_fn, fmt: Format, out: Path | None, seed: str | None, verbose: bool) -> None:
    from townhall.assembly.report import summary, write_report

    _check_out(out)
    bar = progress()
    with bar:
        task = bar.add_task("Starting", total=None)

        def monitor(p) -> None:
            line = (
                f"stage {p.stage}: minimum {p.minimum:.6f}, bound {p.bound:.6f}, "
                f"gap {p.gap:.2e}, {p.panels} panels, {p.seconds:.1f} s"
            )
            bar.update(task, description=line)
            if verbose:
                err_console.print(line, highlight=False)

        sel = sel_fn(lambda msg: bar.update(task, description=msg), monitor)
        bar.update(task, description="Done", total=1, completed=1)
    _summarise(sel, fmt)
    _announce(sel, fmt)
    if seed is not None:
        sel.draw(seed)
        if fmt is Format.table:
            console.print(f"Seed {seed!r} draws panel number {sel.index}.", highlight=False)
    if fmt is Format.json:
        emit_json(summary(sel))
    else:
        if seed is not None:
            if fmt is Format.csv:
                err_console.print(f"Seed {seed!r} draws panel number {sel.index}.", highlight=False)
            panel = sel.pool.frame.set_index("id")
            if sel.confirmed_frame is not None:
                import pandas as pd

                panel = pd.concat([sel.confirmed_frame.set_index("id"), panel])
            emit_frame(panel.loc[sel.panel].reset_index(), fmt, title="Panel", max_rows=500)
        elif fmt is Format.csv:
            frame = sel.pool.frame.copy()
            frame["probability"] = sel.probabilities.reindex(frame["id"]).to_numpy()
            frame["lottery_probability"] = sel.lottery_probabilities.reindex(frame["id"]).to_numpy()
            if sel.legacy_probabilities is not None:
                frame["legacy_probability"] = sel.legacy_probabilities.reindex(
                    frame["id"]
                ).to_numpy()
            emit_frame(frame, fmt)
    if out is not None:
        files = write_report(sel, out)
        err_console.print(f"Wrote {len(files)} files to {out}: {', '.join(f.name for f in files)}")


@sub.command("select")
def select_cmd(
    pool: Annotated[
        Path, typer.Argument(help="Pool of volunteers (CSV/XLSX): id and one column per category.")
    ],
    quotas: QuotasOpt,
    size: SizeOpt,
    method: MethodOpt = "leximin",
    seed: SeedOpt = None,
    households: HouseOpt = None,
    id_column: IdOpt = None,
    birth_year: BirthOpt = None,
    year: YearOpt = None,
    out: OutOpt = None,
    panels: PanelsOpt = 1000,
    legacy_runs: LegacyOpt = 1000,
    time_limit: TimeOpt = None,
    tolerance: TolOpt = 0.0,
    verbose: VerboseOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Select a panel: fair distribution, uniform lottery, commitment, then the draw.

    With --format csv, standard output is one CSV: the drawn panel with --seed, else each
    volunteer's probabilities; with --format json, the report's JSON. Everything else
    (progress, notes) goes to standard error.
    """
    from townhall.assembly import select

    opts = _options(
        method, panels, households, id_column, birth_year, year, legacy_runs, time_limit, tolerance
    )
    _run(
        lambda say, mon: select(pool, quotas, size, opts, progress=say, monitor=mon),
        fmt,
        out,
        seed,
        verbose,
    )


@sub.command("replace")
def replace_cmd(
    pool: Annotated[Path, typer.Argument(help="The original pool of volunteers.")],
    quotas: QuotasOpt,
    size: SizeOpt,
    confirmed: Annotated[
        str, typer.Option("--confirmed", help="Ids who stay: comma-separated, or a file.")
    ],
    dropouts: Annotated[
        str | None, typer.Option("--dropouts", help="Ids who left: comma-separated, or a file.")
    ] = None,
    method: MethodOpt = "leximin",
    seed: SeedOpt = None,
    households: HouseOpt = None,
    id_column: IdOpt = None,
    birth_year: BirthOpt = None,
    year: YearOpt = None,
    out: OutOpt = None,
    panels: PanelsOpt = 1000,
    legacy_runs: LegacyOpt = 1000,
    time_limit: TimeOpt = None,
    tolerance: TolOpt = 0.0,
    verbose: VerboseOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Refill a panel after dropouts, keeping the confirmed members and the quotas."""
    from townhall.assembly import replace

    opts = _options(
        method, panels, households, id_column, birth_year, year, legacy_runs, time_limit, tolerance
    )
    keep, left = _ids(confirmed), _ids(dropouts)
    _run(
        lambda say, mon: replace(
            pool, quotas, size, opts, confirmed=keep, dropouts=left, progress=say, monitor=mon
        ),
        fmt,
        out,
        seed,
        verbose,
    )


@sub.command("draw")
def draw_cmd(
    lottery: Annotated[Path, typer.Argument(help="A published lottery.json.")],
    seed: Annotated[str, typer.Option("--seed", help="The public seed string.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Check a published lottery against its commitment and draw from it with a seed."""
    from townhall.assembly import Lottery

    lot = Lottery.load(lottery)
    index, panel = lot.draw(seed)
    if fmt is Format.json:
        emit_json(
            {
                "commitment": lot.commitment,
                "m": lot.m,
                "seed": seed,
                "index": index,
                "panel": list(panel),
            }
        )
        return
    console.print(f"Commitment verified: {lot.commitment}", highlight=False)
    console.print(f"Seed {seed!r} draws panel number {index} of {lot.m}:", highlight=False)
    console.print(", ".join(panel), highlight=False)


@sub.command("quotas")
def quotas_cmd(
    place: Annotated[
        str, typer.Option("--place", "-p", help="A place name or code (council, town, seat, ...).")
    ],
    size: SizeOpt,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Relative tolerance around each target.")
    ] = 0.1,
    level: LevelOpt = None,
    atlas: AtlasOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the quota CSV here.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Quotas for a panel from the place's Census 2021 profile (adults)."""
    from townhall.assembly import quotas_from_profile

    profile = open_atlas(atlas).census_profile(place, level)
    q = quotas_from_profile(profile, size, tolerance)
    df = q.to_frame()
    if out is not None:
        df.to_csv(out, index=False)
        err_console.print(f"Wrote {len(df)} quotas to {out}")
        return
    emit_frame(df, fmt, title=f"Quotas for a panel of {size} in {place}", max_rows=200)


@sub.command("pool")
def pool_cmd(
    size: Annotated[int, typer.Option("--size", "-n", help="Number of synthetic volunteers.")],
    place: Annotated[
        str | None,
        typer.Option(
            "--place",
            "-p",
            help="Place whose census profile to draw from (default: an England and Wales-like profile).",
        ),
    ] = None,
    bias: Annotated[
        float,
        typer.Option(
            "--bias",
            help="Over-representation of older, graduate, owner-occupier volunteers (1 = none).",
        ),
    ] = 2.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    household_share: Annotated[
        float,
        typer.Option("--household-share", help="Share who apply with someone in their household."),
    ] = 0.0,
    birth_year: Annotated[
        int | None,
        typer.Option("--birth-year", help="Add a birth_year column for ages at this year."),
    ] = None,
    level: LevelOpt = None,
    atlas: AtlasOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the pool CSV here (default: standard output)."),
    ] = None,
) -> None:
    """A synthetic pool of volunteers with self-selection bias, for demos and tests."""
    import sys

    from townhall.assembly import EXAMPLE_PROFILE, synthetic_pool

    if place is not None:
        profile = open_atlas(atlas).census_profile(place, level)
    else:
        profile = EXAMPLE_PROFILE
    df = synthetic_pool(
        profile, size, bias=bias, seed=seed, household_share=household_share, birth_year=birth_year
    )
    if out is None:
        df.to_csv(sys.stdout, index=False)
    else:
        df.to_csv(out, index=False)
        err_console.print(f"Wrote {len(df)} synthetic volunteers to {out}")
