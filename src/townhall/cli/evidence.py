"""``townhall evidence``: run the evidence pack's claims and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from townhall.cli.common import (
    AtlasOpt,
    Format,
    FormatOpt,
    app,
    console,
    emit_frame,
    emit_json,
    open_atlas,
)


@app.command()
def evidence(
    claim: Annotated[str | None, typer.Option("--claim", "-c", help="Run only this claim (its id).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report (evidence.md, .html, .json).")] = Path("evidence-report"),
    claims: Annotated[list[Path] | None, typer.Option("--claims", help="A folder (or file) of your own claim files; repeat for several.")] = None,
    no_shipped: Annotated[bool, typer.Option("--no-shipped", help="Only the claims given with --claims.")] = False,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Test published claims about towns and cities against the atlas: figure under each rule, interval, verdict."""
    from townhall.evidence import run_evidence, write_report

    r = run_evidence(open_atlas(atlas), claim=claim, claims_dirs=list(claims or []), shipped=not no_shipped)
    paths = write_report(r, out)
    if fmt is Format.json:
        emit_json(r.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(r.table, fmt)
        return
    for c in r.claims:
        console.print(f"\n[bold]{c.claim.title}[/] ({c.claim.id}): [bold]{c.verdict}[/]", highlight=False)
        for q in c.quantities:
            console.print(f"  {q.quantity.words} — asserts {q.quantity.asserts.text()}: {q.verdict}",
                          highlight=False)
            for rr in q.rules:
                f = rr.figure
                ci = "" if f.lower is None or f.lower != f.lower else f" [{f.lower:.3g} – {f.upper:.3g}]"
                mark = "main" if rr.main else "alt "
                ok = "–" if rr.holds is None else ("meets it" if rr.holds else "does not")
                console.print(f"    {mark} {f.display}{ci} ({ok}): {rr.rule}" + (f" — {f.reason}" if f.reason else ""),
                              highlight=False)
    console.print(f"\nReport written: {', '.join(str(p) for p in paths.values())} ({r.seconds:.1f} s).", highlight=False)
