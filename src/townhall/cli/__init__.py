"""The ``townhall`` command: thin typer commands over the Python API.

Each command group lives in its own module (``data``, ``atlas``, ``towns``,
``measures``, ``assembly``, and the wings') and registers itself on the root
:data:`townhall.cli.common.app`; importing them here is what adds them. Commands hold
no logic of their own: they parse arguments, call the API and print.
"""

from __future__ import annotations

from townhall.cli.common import app

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
    """Entry point: run the app; user-facing errors, Ctrl+C and damaged files end in a message and an exit code."""
    from townhall.cli.common import run_app

    run_app()
