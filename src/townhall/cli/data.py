"""``townhall data``: pull the declared source files, list them, verify them.

Thin commands over :mod:`townhall.sources.download`; every check lives there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from townhall import config
from townhall.cli.common import Format, FormatOpt, app, console, emit_frame, err_console, progress
from townhall.errors import InputError
from townhall.sources.catalogue import Source, load_catalogue

data_app = typer.Typer(
    help="Get the source data: pull it into the cache, list it, verify it.",
    no_args_is_help=True,
)
app.add_typer(
    data_app,
    name="data",
    help="Get the source data: pull it into the cache, list it, verify it.",
)

OnlyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="PREFIX",
        help="Only sources whose path starts with PREFIX (repeatable), e.g. indicators/iod2025.",
    ),
]


def _chosen(only: list[str] | None) -> list[Source]:
    cat = load_catalogue()
    if not only:
        return list(cat)
    chosen = [s for s in cat if any(s.path.startswith(p) for p in only)]
    if not chosen:
        tops = sorted({s.path.split("/", 1)[0] for s in cat})
        raise InputError(
            "No declared source matches --only",
            value=", ".join(only),
            hint="Paths start with one of: " + ", ".join(tops) + ". See 'townhall data list'.",
        )
    return chosen


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@data_app.command("pull")
def pull_cmd(
    mirror: Annotated[
        Path | None,
        typer.Option(
            "--mirror",
            metavar="DIR",
            help="Copy from this local mirror instead of the network (default: $TOWNHALL_MIRROR).",
        ),
    ] = None,
    only: OnlyOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch again even files already present and verified.")
    ] = False,
) -> None:
    """Download (or copy from a mirror) every source file into the cache, checking each sha256.

    Resumable: files already present and verified are skipped, and an interrupted download
    carries on from where it stopped. One pull at a time fills a cache: a second one says
    which process holds the cache and waits for it.
    """
    from townhall.sources import download

    sources = _chosen(only)
    bar = progress(bytes_=True)
    task = bar.add_task("Pulling sources", total=None)

    def on_event(ev: download.ProgressEvent) -> None:
        if ev.kind == "plan":
            what = f"Pulling {ev.files} files" if ev.files else "Nothing to pull"
            bar.update(task, total=ev.total, description=what)
        elif ev.kind == "bytes":
            bar.advance(task, ev.nbytes)
        elif ev.kind == "wait":
            err_console.print(f"Waiting: {ev.outcome}.", highlight=False, soft_wrap=True)

    with bar:
        report = download.pull(sources, mirror=mirror, force=force, progress=on_event, check=False)
    n_ok = len(report.fetched) + len(report.copied) + len(report.present)
    src = f"mirror {report.mirror}" if report.mirror else "the network"
    console.print(
        f"{n_ok} of {len(sources)} source files in {report.cache_dir} (from {src}): "
        f"{len(report.fetched)} downloaded ({_mb(report.bytes_fetched)}), "
        f"{len(report.copied)} copied from the mirror ({_mb(report.bytes_copied)}), "
        f"{len(report.present)} already present; {report.seconds:.1f} s.",
        highlight=False,
        soft_wrap=True,
    )
    for path in report.unchecked:
        err_console.print(
            f"[yellow]Warning:[/] {path}: {download.ORIGIN_UNCHECKED_NOTE} "
            "(the declared hash is that of the mirror's reconstruction; pull with --mirror "
            "to get the checkable copy).",
            highlight=False,
            soft_wrap=True,
        )
    report.raise_for_failures()


def _yes(v: bool) -> str:
    return "yes" if v else "no"


@data_app.command("list")
def list_cmd(
    fmt: FormatOpt = Format.table,
    only: OnlyOpt = None,
) -> None:
    """Show each source with publisher, licence, vintage and whether it is present and verified."""
    from townhall.sources import download

    df = download.status(_chosen(only))
    if fmt is Format.table:
        # Own table rather than emit_frame: the path must stay readable in 80 columns.
        table = Table(title=f"Sources (cache: {config.cache_dir()})", title_justify="left")
        table.add_column("path", overflow="fold")
        table.add_column("publisher", max_width=16)
        table.add_column("licence", max_width=12)
        table.add_column("vintage", max_width=12)
        table.add_column("present", no_wrap=True)
        table.add_column("verified", no_wrap=True)
        for row in df.itertuples(index=False):
            verified = _yes(row.verified)
            if row.present and not row.verified:
                verified = f"no: {row.check}"
            table.add_row(
                row.path, row.publisher, row.licence, row.vintage, _yes(row.present), verified
            )
        console.print(table)
        console.print(
            f"{len(df)} sources: {int(df['present'].sum())} present, "
            f"{int(df['verified'].sum())} verified.",
            highlight=False,
            soft_wrap=True,
        )
    else:
        emit_frame(df, fmt)


@data_app.command("verify")
def verify_cmd(only: OnlyOpt = None) -> None:
    """Rehash every file in the cache against its declared sha256; exit 1 if any is bad or missing."""
    from townhall.sources import download

    sources = _chosen(only)
    with console.status(f"Hashing {len(sources)} files"):
        df = download.verify(sources)
    bad = df[df["present"] & ~df["verified"]]
    console.print(
        f"{len(df)} sources in {config.cache_dir()}: {int(df['verified'].sum())} verified, "
        f"{int((~df['present']).sum())} missing, {len(bad)} not matching the declared hash.",
        highlight=False,
        soft_wrap=True,
    )
    if len(bad):
        emit_frame(bad[["path", "check"]], Format.table, title="Not matching", max_rows=len(bad))
    download.require(sources)
