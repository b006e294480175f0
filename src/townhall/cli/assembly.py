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


def _options(
    method: str,
    panels: int,
    households: list[str] | None,
    id_column: str | None,
    birth_year: str | None,
    year: int | None,
    legacy_runs: int,
) -> dict:
    """The keyword arguments ``select`` and ``replace`` share, from the command's options."""
    return {
        "method": method.lower(),
        "panels": panels,
        "households": households or None,
        "id_column": id_column,
        "birth_year": birth_year,
        "reference_year": year,
        "legacy_runs_count": legacy_runs,
    }


def _summarise(sel, fmt: Format) -> None:
    st = sel.stats().reset_index(names="method")
    if fmt is Format.json:
        return
    console.print(
        f"[bold]{sel.method.upper()}[/]: {sel.size - len(sel.confirmed)} seats from {len(sel.pool)} volunteers; "
        f"probabilities {sel.minimum:.4f} to {sel.maximum:.4f} (Gini {sel.gini:.3f}).",
        highlight=False,
    )
    emit_frame(st, fmt, title="Selection probabilities")


def _announce(sel, fmt: Format) -> None:
    lot = sel.lottery
    if fmt is Format.json:
        return
    console.print(
        f"Lottery of {lot.m} panels; every chance within {lot.max_deviation:.5f} of optimal"
        + ("" if lot.within_bound else " [red](more than 1/m)[/]")
        + ".",
        highlight=False,
    )
    console.print(
        f"[bold]Commitment[/] (publish before the seed is known): {sel.commitment}", highlight=False
    )


def _run(sel_fn, fmt: Format, out: Path | None, seed: str | None) -> None:
    from townhall.assembly.report import summary, write_report

    bar = progress()
    with bar:
        task = bar.add_task("Starting", total=None)
        sel = sel_fn(lambda msg: bar.update(task, description=msg))
        bar.update(task, description="Done", total=1, completed=1)
    _summarise(sel, fmt)
    _announce(sel, fmt)
    if seed is not None:
        sel.draw(seed)
        if fmt is not Format.json:
            console.print(f"Seed {seed!r} draws panel number {sel.index}.", highlight=False)
            panel = sel.pool.frame.set_index("id")
            if sel.confirmed_frame is not None:
                import pandas as pd

                panel = pd.concat([sel.confirmed_frame.set_index("id"), panel])
            emit_frame(panel.loc[sel.panel].reset_index(), fmt, title="Panel", max_rows=500)
    if fmt is Format.json:
        emit_json(summary(sel))
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
    fmt: FormatOpt = Format.table,
) -> None:
    """Select a panel: fair distribution, uniform lottery, commitment, then the draw."""
    from townhall.assembly import select

    opts = _options(method, panels, households, id_column, birth_year, year, legacy_runs)
    _run(lambda say: select(pool, quotas, size, progress=say, **opts), fmt, out, seed)


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
    fmt: FormatOpt = Format.table,
) -> None:
    """Refill a panel after dropouts, keeping the confirmed members and the quotas."""
    from townhall.assembly import replace

    opts = _options(method, panels, households, id_column, birth_year, year, legacy_runs)
    keep, left = _ids(confirmed), _ids(dropouts)
    _run(
        lambda say: replace(
            pool, quotas, size, confirmed=keep, dropouts=left, progress=say, **opts
        ),
        fmt,
        out,
        seed,
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
