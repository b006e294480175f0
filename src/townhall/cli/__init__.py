"""The ``townhall`` command: thin typer commands over the Python API.

Each command group lives in its own module (``data``, ``atlas``, ``towns``,
``measures``, ``assembly``, and the wings') and registers itself on the root
:data:`townhall.cli.common.app`; importing them here is what adds them. Commands hold
no logic of their own: they parse arguments, call the API and print.
"""

from __future__ import annotations

import sys

from townhall.cli.common import app
from townhall.errors import TownhallError

__all__ = ["app", "main"]

def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from townhall.cli import (  # noqa: F401
        assembly,
        atlas,
        data,
        elections,
        evidence,
        funding,
        infrastructure,
        measures,
        towns,
    )


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
