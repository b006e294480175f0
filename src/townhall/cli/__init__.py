"""The ``townhall`` command: thin typer commands over the Python API.

Each command group lives in its own module (``data``, ``atlas``, ``towns``,
``measures``, ``assembly``) and registers itself on :data:`app`. Commands hold
no logic of their own: they parse arguments, call the API and print.
"""

from __future__ import annotations

import sys

import typer

from townhall.errors import TownhallError

app = typer.Typer(
    name="townhall",
    help="Place-based policy for England and Wales: atlas, towns and cities, left-behind places, sortition.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from townhall.cli import assembly, atlas, data, measures, towns  # noqa: F401


_register()


def main() -> None:
    """Entry point: run the app, turning user-facing errors into a message and exit code."""
    from townhall.cli.common import err_console

    try:
        app()
    except TownhallError as exc:
        from rich.markup import escape  # messages may hold brackets, e.g. TOML keys [[indicator]]

        err_console.print(f"[bold red]Error:[/] {escape(exc.message)}", highlight=False)
        if exc.hint:
            err_console.print(escape(exc.hint), highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)
