"""Shared pieces of the CLI: consoles, output formats, progress bars."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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


def machine_output(fmt: Format | str | None) -> Format | str | None:
    """Option callback: with ``--format csv`` or ``json`` stdout carries only that format.

    Every note, title and summary a command prints through :data:`console` then goes to
    stderr, so ``townhall values ... --format csv > out.csv`` writes a clean CSV; the
    table format keeps them on stdout.
    """
    console.file = sys.stderr if fmt is not None and str(fmt) != Format.table else None  # type: ignore[assignment]
    return fmt


@app.callback()
def _root() -> None:
    """Place-based policy for England and Wales: atlas, towns and cities, left-behind places, sortition."""
    console.file = None  # type: ignore[assignment]  # back to stdout for each command run in-process


# Options shared by every command group.
AtlasOpt = Annotated[Path | None, typer.Option("--atlas", help="Atlas file (default: $TOWNHALL_ATLAS or the user data folder).")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", callback=machine_output)]
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


# -- the entry point's error handling ------------------------------------------------------
def _atlas_arg() -> str:
    """The atlas a failed command was reading (its --atlas, else the configured one)."""
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--atlas" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--atlas="):
            return a.split("=", 1)[1]
    from townhall import config

    return str(config.atlas_path())


def _interrupted(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # typer turns Ctrl+C into Exit(130) raised from the KeyboardInterrupt
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _query_interrupted(exc: BaseException) -> bool:
    """DuckDB stopped by Ctrl+C: it catches SIGINT during a query itself and raises, depending
    on where the query was (SQL, a frame fetched or registered), InterruptException or a plain
    RuntimeError saying 'Query interrupted'."""
    import duckdb

    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and str(exc).strip().startswith("Query interrupted"))


def _fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    from rich.markup import escape  # messages may hold brackets, e.g. TOML keys [[indicator]]

    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(escape(hint), highlight=False, soft_wrap=True)
    sys.exit(code)


def run_app() -> None:
    """Run the CLI so that nothing a person can cause ends in a traceback.

    - :class:`~townhall.errors.TownhallError`: its message and hint, its exit code;
    - Ctrl+C at any step: ``Interrupted.`` and exit 130 (each step removes its own
      temporary files on the way out);
    - a DuckDB read error: the atlas file is damaged or truncated, rebuild it;
    - a file-system error (permissions, a path under a file, a full disk): the path and what to do;
    - anything else is a bug: one line saying so (``TOWNHALL_DEBUG=1`` shows the traceback).
    """
    import os
    import signal

    import duckdb

    from townhall.errors import TownhallError

    debug = bool(os.environ.get("TOWNHALL_DEBUG"))
    # SIGTERM (kill, a service manager) unwinds like Ctrl+C, so temporary files go too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    def unraisable(u: Any) -> None:
        # Ctrl+C inside a C library's callback (pyreadr's parser) is swallowed there and printed
        # as "Exception ignored": say nothing and deliver it again, so it stops the command once
        # the C code returns.
        if isinstance(u.exc_value, KeyboardInterrupt):
            import threading

            # Not from inside this hook (it would be swallowed again): a moment later.
            t = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
            t.daemon = True
            t.start()
            return
        sys.__unraisablehook__(u)

    sys.unraisablehook = unraisable
    try:
        app()
    except TownhallError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)
    except SystemExit as exc:
        if exc.code == 130 and _interrupted(exc):
            err_console.print("Interrupted.")
        raise
    except duckdb.Error as exc:
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if _query_interrupted(exc):
            err_console.print("Interrupted.")
            sys.exit(130)
        damaged = isinstance(exc, duckdb.IOException | duckdb.InternalException) or any(
            w in first.lower() for w in ("corrupt", "checksum", "not a valid duckdb", "could not read")
        )
        if damaged:
            _fail(f"The atlas at {_atlas_arg()} cannot be read: it is damaged or truncated ({first}); "
                  "rebuild it with 'townhall build'.")
        _fail(f"Unexpected database error ({type(exc).__name__}: {first}).",
              "This is a bug in townhall: please report it (TOWNHALL_DEBUG=1 shows the traceback).")
    except OSError as exc:
        if debug:
            raise
        where = exc.filename or "a file"
        why = exc.strerror or str(exc)
        fix = {
            "EACCES": "choose a folder you can write to",
            "EROFS": "the file system is read-only: choose another folder",
            "ENOTDIR": "a part of this path is a file, not a folder: choose another path",
            "ENOSPC": "the disk is full: free some space",
        }
        import errno

        hint = fix.get(errno.errorcode.get(exc.errno or 0, ""), "check the path")
        _fail(f"Cannot use {where}: {why}; {hint} (--atlas, TOWNHALL_ATLAS or TOWNHALL_CACHE).")
    except Exception as exc:
        if _query_interrupted(exc):
            err_console.print("Interrupted.")
            sys.exit(130)
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _fail(f"Unexpected error ({type(exc).__name__}: {first}).",
              "This is a bug in townhall: please report it (TOWNHALL_DEBUG=1 shows the traceback).")
