"""Shared pieces of the CLI: consoles, output formats, progress bars."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from townhall.api import Atlas

app = typer.Typer(
    name="townhall",
    help="Place-based policy for England and Wales: atlas, towns and cities, left-behind places, sortition.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# Options shared by every command group.
AtlasOpt = Annotated[Path | None, typer.Option("--atlas", help="Atlas file (default: $TOWNHALL_ATLAS or the user data folder).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
LevelOpt = Annotated[str | None, typer.Option("--level", "-l", help="Level: lad, town, pcon24, lsoa21, ... (see 'townhall levels').")]


def open_atlas(atlas: Path | None) -> Atlas:
    """The atlas a command reads (imported lazily so that --help stays fast)."""
    from townhall.api import open_atlas as _open

    return _open(atlas)


def progress(*, bytes_: bool = False) -> Progress:
    """A rich progress bar; hidden automatically when output is not a terminal."""
    cols: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    cols.append(DownloadColumn() if bytes_ else MofNCompleteColumn())
    cols.append(TimeElapsedColumn())
    return Progress(*cols, console=err_console, transient=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN -> null
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def emit_frame(df: pd.DataFrame, fmt: Format, *, title: str | None = None, max_rows: int = 60) -> None:
    """Print a frame as a rich table, CSV or JSON records."""
    if fmt is Format.csv:
        df.to_csv(sys.stdout, index=False)
        return
    if fmt is Format.json:
        records = [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
        sys.stdout.write(json.dumps(records, indent=2, default=str) + "\n")
        return
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(*[_fmt_cell(v) for v in row])
    console.print(table)
    if len(df) > max_rows:
        console.print(f"... {len(df) - max_rows} more rows (use --format csv for all)")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _fmt_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)
