"""Composite indices, left-behind places and spatial inequality on the command line.

``townhall index build SPEC.toml``, ``townhall index validate``,
``townhall leftbehind build|validate``, ``townhall inequality --by class|region``
and ``townhall hotspots INDICATOR``. Thin: parse, call
:mod:`townhall.measures`, print.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from townhall.cli.common import (
    AtlasOpt,
    Format,
    FormatOpt,
    app,
    console,
    emit_frame,
    emit_json,
    err_console,
    open_atlas,
    progress,
)

index_app = typer.Typer(help="Build and check composite indices (OECD/JRC method, with rank intervals).",
                        no_args_is_help=True)
leftbehind_app = typer.Typer(help="The open left-behind index: build it, validate it against OCSI's flags.",
                             no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(leftbehind_app, name="leftbehind")



class By(StrEnum):
    cls = "class"
    region = "region"



def _interval(lo: Any, hi: Any) -> str:
    return "–" if pd.isna(lo) else f"{int(lo):,}–{int(hi):,}"


def _places_table(df: pd.DataFrame, title: str, drivers: str) -> Table:
    t = Table(title=title, title_justify="left", expand=True)
    t.add_column("rank", justify="right", no_wrap=True)
    t.add_column("place", ratio=2)
    t.add_column("score", justify="right", no_wrap=True)
    t.add_column("90% rank interval", justify="right", no_wrap=True)
    t.add_column("median", justify="right", no_wrap=True)
    t.add_column("drivers (raising the score)" if drivers == "up" else "drivers (lowering it)", ratio=3)
    pre = "driver" if drivers == "up" else "down"
    for r in df.to_dict(orient="records"):
        d = "; ".join(str(r[f"{pre}_{j}"]) for j in (1, 2, 3) if pd.notna(r.get(f"{pre}_{j}")))
        med = r.get("median_rank", float("nan"))
        t.add_row(f"{int(r['rank']):,}", f"{r['name']} ({r['code']})", f"{r['score']:.3f}",
                  _interval(r.get("lower", float("nan")), r.get("upper", float("nan"))),
                  "–" if pd.isna(med) else f"{med:,.0f}", d)
    return t


def _print_run(run, top: int) -> None:  # run: townhall.measures.spec.IndexRun
    ix, unc = run.index, run.uncertainty
    s = run.spec.index
    console.print(f"[bold]{escape(s.name)}[/] at {run.level}: {len(run.table):,} places"
                  + (f" (rolled up from {s.level})" if run.level != s.level else "")
                  + f"; {len(ix.ids)} indicators; high score = {ix.higher_is}.", highlight=False)
    console.print(f"Normalisation {ix.normalisation}, weighting {ix.weighting}, aggregation "
                  f"{ix.aggregation}, missing values {ix.missing}"
                  + (f"; {len(ix.dropped):,} places left out for missing data" if ix.dropped else "")
                  + ".", highlight=False)
    if unc is not None:
        sm = unc.summary()
        console.print(
            f"Monte Carlo: {unc.draws:,} draws (seed {unc.seed}) over normalisation "
            f"{'/'.join(unc.normalisations)}, weighting {'/'.join(unc.weightings)}, aggregation "
            f"{'/'.join(unc.aggregations)}, missing {'/'.join(unc.missing)}, weights ±{unc.weight_noise:.0%}. "
            f"Median width of the 90% rank interval: {sm['median_interval_width']:,.0f} places.",
            highlight=False)
        sens = ", ".join(f"{k} {v:.0%}" for k, v in sm["sensitivity"].items())
        console.print(f"Share of rank variance due to each choice: {sens}.", highlight=False)
    n = min(top, len(run.table))
    console.print(_places_table(run.top(n), f"Top {n} (highest score)", "up"))
    console.print(_places_table(run.bottom(n), f"Bottom {n} (lowest score)", "down"))


@index_app.command("build")
def index_build(
    spec: Annotated[Path, typer.Argument(help="The index spec (TOML), e.g. examples/simple_index.toml.")],
    level: Annotated[str | None, typer.Option("--level", "-l", help="Report at this level (lsoa21, town, lad, pcon24, rgn); default the spec's.")] = None,
    draws: Annotated[int | None, typer.Option("--draws", help="Monte Carlo draws (default the spec's, usually 1,000; 0 for none).", min=0)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default the spec's).")] = None,
    top: Annotated[int, typer.Option("--top", help="How many top and bottom places to print.", min=1)] = 10,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Build a composite index from a spec: top and bottom places with rank intervals and drivers."""
    from townhall.measures.spec import build_index, load_spec

    sp = load_spec(spec)  # checked before the atlas is opened: a bad spec fails fast
    a = open_atlas(atlas)
    ndraws = sp.uncertainty.draws if draws is None else draws
    t0 = time.perf_counter()
    bar = progress()
    with bar:
        task = bar.add_task("Monte Carlo over the choices", total=max(ndraws, 1))
        run = build_index(sp, a, level=level, draws=draws, seed=seed,
                          progress=lambda k: bar.update(task, completed=k))
        bar.update(task, completed=max(ndraws, 1))
    err_console.print(f"Built in {time.perf_counter() - t0:.1f} s.")
    if fmt is Format.table:
        _print_run(run, top)
    elif fmt is Format.csv:
        emit_frame(run.table, fmt)
    else:
        emit_json(run.as_dict())


def _validate(atlas: Path | None, fmt: Format) -> None:
    from townhall.measures import leftbehind

    a = open_atlas(atlas)
    with console.status("Building the open left-behind index and comparing with OCSI's flags"):
        v = leftbehind.validate(a)
    if fmt is Format.json:
        emit_json(v.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(v.table, fmt)
        return
    console.print("[bold]Open left-behind index[/] (the shipped left_behind spec) against OCSI's "
                  "left-behind flags. Rules fixed in advance; the index is not tuned to the flags.",
                  highlight=False)
    for year, c in v.coverage.items():
        console.print(f"  {year}: {c['matched']:,} of {c['flag_areas']:,} flag areas matched to LSOA 2021, "
                      f"{c['flagged_matched']:,} of {c['flagged']:,} flagged.", highlight=False)
    emit_frame(v.table[["year", "measure", "areas", "flagged", "rule", "precision", "recall", "auc"]],
               fmt, title="Validation")
    emit_frame(leftbehind.weights_table(v.run), fmt, title="Inputs and weights")


@index_app.command("validate")
def index_validate(atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Validate the open left-behind index against OCSI's 2023 and 2019 flags (precision, recall, AUC)."""
    _validate(atlas, fmt)


@leftbehind_app.command("validate")
def leftbehind_validate(atlas: AtlasOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Same as 'townhall index validate'."""
    _validate(atlas, fmt)


@leftbehind_app.command("build")
def leftbehind_build(
    level: Annotated[str, typer.Option("--level", "-l", help="lsoa21, town, lad or pcon24.")] = "lsoa21",
    draws: Annotated[int | None, typer.Option("--draws", min=0, help="Monte Carlo draws (default 1,000).")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    top: Annotated[int, typer.Option("--top", min=1)] = 10,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Build the open left-behind index (the shipped left_behind spec)."""
    from townhall.measures.leftbehind import spec_path

    index_build(spec_path(), level=level, draws=draws, seed=seed, top=top, atlas=atlas, fmt=fmt)


@app.command()
def inequality(
    by: Annotated[By, typer.Option("--by", help="Groups: place class (city, large/medium/small town, rural) or region.")] = By.cls,
    indicator: Annotated[str, typer.Option("--indicator", "-i", help="A non-negative small-area rate.")] = "imd25_income_score",
    weighted: Annotated[bool, typer.Option("--weighted/--unweighted", help="Weight areas by population.")] = True,
    gini: Annotated[bool, typer.Option("--gini/--no-gini", help="Also the spatial Gini (8 nearest neighbours).")] = True,
    permutations: Annotated[int, typer.Option("--permutations", min=0, help="Permutations for the spatial Gini.")] = 99,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Theil T and L of a small-area rate, within and between place classes or regions."""
    from townhall.measures.inequality import spatial_gini, theil_by

    a = open_atlas(atlas)
    t = theil_by(a, by=by.value, indicator=indicator, weighted=weighted)
    g = spatial_gini(a, indicator=indicator, permutations=permutations) if gini else None
    if fmt is Format.json:
        emit_json({**t.as_dict(), "spatial_gini": g.as_dict() if g else None})
        return
    if fmt is Format.csv:
        emit_frame(t.by_group, fmt)
        return
    console.print(f"[bold]{escape(indicator)}[/] over {t.n:,} LSOA 2021 areas, "
                  f"{'population-weighted' if weighted else 'unweighted'}, by {by.value}.", highlight=False)
    emit_frame(t.to_frame(), fmt, title="Theil decomposition")
    groups = "place classes" if by is By.cls else "regions"
    console.print(f"Between {groups}: {t.between_share_T:.1%} of Theil T and {t.between_share_L:.1%} "
                  f"of Theil L; the rest lies within them.", highlight=False)
    emit_frame(t.by_group, fmt, title=f"By {by.value}")
    if g is not None:
        console.print(
            f"Spatial Gini: Gini {g.g:.3f}; neighbouring areas (8 nearest) differ on average by "
            f"{g.neighbour_ratio:.0%} of what non-neighbours do (polarization {g.polarization:.2f}, 1 if "
            f"spatially random; pseudo p = {g.polarization_p_sim:.3f}, {g.permutations} permutations).",
            highlight=False)


@app.command()
def hotspots(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. imd25_income_score.")],
    permutations: Annotated[int, typer.Option("--permutations", min=99, help="Conditional permutations.")] = 999,
    level: Annotated[str, typer.Option("--level", "-l", help="Areas to test.")] = "lsoa21",
    k: Annotated[int, typer.Option("--k", min=1, help="Nearest neighbours (population-weighted centroids).")] = 8,
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    top: Annotated[int, typer.Option("--top", min=1, help="Strongest hot spots to list.")] = 10,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Global Moran's I and local hot and cold spots (LISA) with false-discovery-rate control."""
    from townhall.measures.spatial import hotspot_points
    from townhall.measures.spatial import hotspots as run_hotspots

    a = open_atlas(atlas)
    t0 = time.perf_counter()
    with console.status(f"LISA with {permutations} permutations"):
        h = run_hotspots(a, indicator, level, k=k, permutations=permutations, alpha=alpha, seed=seed)
    err_console.print(f"Done in {time.perf_counter() - t0:.1f} s.")
    pts = hotspot_points(h)
    if fmt is Format.json:
        emit_json(h.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(pts, fmt)
        return
    s = h.summary()
    console.print(f"[bold]{escape(indicator)}[/] at {level}: {s['areas']:,} areas, {k} nearest neighbours.",
                  highlight=False)
    console.print(f"Global Moran's I = {s['morans_i']:.3f} (expected {s['expected_i']:.4f}; z = "
                  f"{s['z_sim']:.1f}, pseudo p = {s['p_sim']:.3f}, {permutations} permutations).",
                  highlight=False)
    console.print(f"Local tests: false discovery rate {alpha} → p ≤ {s['threshold']:.4g}.", highlight=False)
    emit_frame(pd.DataFrame({"label": list(s["counts"]), "areas": list(s["counts"].values())}), fmt,
               title="Areas by label")
    hot = pts[pts["label"] == "hot spot"].sort_values("local_i", ascending=False).head(top)
    emit_frame(hot[["code", "name", "value", "local_i", "p_sim"]], fmt, title=f"Strongest {len(hot)} hot spots")
