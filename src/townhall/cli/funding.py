"""The fair-funding lab: ``townhall funding data|capacity|schemes|run|compare|frontier|taxes``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
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

sub = typer.Typer(
    help="Fair funding: council tax bases and need, equalisation schemes side by side, and the price of autonomy.",
    no_args_is_help=True,
)
app.add_typer(sub, name="funding")

YearOpt = Annotated[str, typer.Option("--year", "-y", help="Financial year of the tax base, e.g. 2023-24.")]
BaseOpt = Annotated[str | None, typer.Option("--base", "-b", help="council_tax, income_tax, mix or business_rates (proxy).")]
NeedOpt = Annotated[str | None, typer.Option("--need", help="'index' (default), 'population' or a CSV of need shares (code,share).")]
MixOpt = Annotated[float, typer.Option("--mix", help="Council tax's weight in the 'mix' base.", min=0, max=1)]
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help="Pool councils: a TOML/CSV file, 'one-yorkshire', an area code or codes a,b,c.")]
DEFAULT_YEAR = "2023-24"


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}%"


@sub.command("data")
def data_cmd(
    code: Annotated[str | None, typer.Argument(help="A council code (default: England's totals by year).")] = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The finance data in the atlas: a council's measures by year, or England's."""
    a = open_atlas(atlas)
    if code:
        df = a.query("SELECT year, tier, measure, value, source, predecessors FROM council_finance WHERE code = ? "
                     "ORDER BY measure, year", [code])
        if df.empty:
            from townhall.errors import InputError

            raise InputError(f"No finance data for {code!r}.", hint="Use a current English council code, e.g. E08000035.")
        emit_frame(df.drop(columns=["source"]) if fmt is Format.table else df, fmt,
                   title=f"Finance data for {code}", max_rows=400)
        return
    df = a.query("SELECT year, measure, value FROM council_finance WHERE tier = 'england' ORDER BY year")
    emit_frame(df.pivot_table(index="year", columns="measure", values="value").reset_index(), fmt,
               title="England: council tax requirement, tax base and average Band D")


@sub.command("capacity")
def capacity_cmd(
    year: YearOpt = DEFAULT_YEAR,
    need: NeedOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Capacity and need per council: council tax and local income tax capacity per head, need per head."""
    from townhall.funding import capacity, inputs
    from townhall.funding.measures import spread

    a = open_atlas(atlas)
    cap = capacity(a, year)
    inp = inputs(a, "council_tax", year, need)
    t = cap.table.set_index("code").reindex(list(inp.codes))
    t["need_per_head"] = inp.need / inp.population
    t["ct_capacity_per_need"] = inp.capacity / inp.need
    t = t.reset_index()
    if fmt is Format.json:
        d = cap.as_dict()
        d["councils"] = __import__("townhall").records(t)
        emit_json(d)
        return
    cols = ["code", "name", "population", "taxbase", "ct_capacity_per_head", "ct_raised_per_head",
            "yield_1p_per_head", "income_tax_per_head", "need_per_head", "ct_capacity_per_need"]
    emit_frame(t[cols].sort_values("ct_capacity_per_need"), fmt, title=f"Capacity and need, {year}")
    if fmt is Format.table:
        w = inp.need
        for label, y in (("council tax capacity per head", inp.capacity / inp.population),
                         ("council tax capacity per unit of need", inp.capacity / w)):
            s = spread(y, inp.population if "head" in label else w)
            console.print(f"{label}: p90/p10 {s['p90_p10']:.2f}, Gini {s['gini']:.3f}, CV {s['cv']:.3f}")
        console.print(f"England average Band D {year}: £{cap.national_band_d:,.2f}; a local income tax of "
                      f"{cap.income_rate:.2f}p would raise the same total.")


@sub.command("schemes")
def schemes_cmd(
    scheme: Annotated[str | None, typer.Argument(help="Show one scheme (id or file) in full.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The equalisation schemes shipped (parameter files with references)."""
    from townhall.funding import get_scheme, shipped

    if scheme:
        s = get_scheme(scheme)
        d = s.model_dump(by_alias=True)
        if fmt is Format.json:
            emit_json(d)
            return
        h = s.scheme
        console.print(f"[bold]{h.name}[/] ({h.id}, {h.country}; base {h.base}, per {h.per}, {h.funding})")
        console.print(h.description, highlight=False)
        console.print(f"[dim]Reference:[/] {h.reference}", highlight=False)
        if h.simplified:
            console.print(f"[dim]Simplified:[/] {h.simplified}", highlight=False)
        for i, c in enumerate(s.components, 1):
            console.print(f"  {i}. {c.kind}: rate {c.rate}, threshold {c.threshold}"
                          + (f", financed {c.financed}" if c.kind == "topup" else "")
                          + (f", proceeds {c.proceeds}" if c.kind == "levy" else ""), highlight=False)
        return
    rows = [{"id": s.id, "name": s.name, "country": s.scheme.country, "base": s.scheme.base,
             "funding": s.scheme.funding, "components": ", ".join(c.kind for c in s.components) or "-",
             "reference": s.scheme.reference} for s in shipped().values()]
    emit_frame(pd.DataFrame(rows), fmt, title="Equalisation schemes")


@sub.command("run")
def run_cmd(
    scheme: Annotated[str, typer.Argument(help="Scheme id (see 'townhall funding schemes') or a .toml file.")],
    base: BaseOpt = None,
    year: YearOpt = DEFAULT_YEAR,
    need: NeedOpt = None,
    mix: MixOpt = 0.5,
    rate: Annotated[float | None, typer.Option("--rate", help="Override the scheme's rates (0 to 1).")] = None,
    group: GroupOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run one scheme: each council's transfer, resources per head and per unit of need, winners and losers."""
    from townhall.funding import get_scheme, inputs, load_groups, run, run_group

    a = open_atlas(atlas)
    if group:
        s = get_scheme(scheme)
        inp = inputs(a, base or s.scheme.base, year, need, mix)
        for g in load_groups(group, a):
            r = run_group(s, inp, g, rate=rate)
            if fmt is Format.json:
                emit_json(r.as_dict())
                continue
            t = r.table
            if fmt is Format.table:
                t = pd.DataFrame({"unit": t["unit"], "council": t["name"],
                                  "£ own per need": t["capacity_per_need"].round(0).astype("Int64"),
                                  "transfer £m": (t["transfer"] / 1e6).round(1),
                                  "£ after per need": t["resources_per_need"].round(0).astype("Int64"),
                                  "keeps": (t["marginal_retention"].round(2) + 0.0).astype(str)})
            emit_frame(t, fmt, title=f"{g.name} under {s.name}: members apart and pooled")
            if fmt is Format.table:
                su = r.summary
                console.print(f"Resources per unit of need: apart £{su['resources_per_need_apart']:,.0f}, pooled "
                              f"£{su['resources_per_need_pooled']:,.0f}; transfers apart £{su['transfer_apart']:,.0f}, "
                              f"pooled £{su['transfer_pooled']:,.0f}.")
        return
    r = run(scheme, a, base=base, year=year, need=need, mix=mix, rate=rate)
    if fmt is Format.json:
        emit_json(r.as_dict())
        return
    emit_frame(_short(r.table) if fmt is Format.table else r.table, fmt,
               title=f"{r.scheme.name}: {r.inputs.base}, {r.inputs.year} (winners first, £ per head)")
    if fmt is Format.table:
        _print_summary(r.summary, r.inputs.notes)


def _short(t: pd.DataFrame) -> pd.DataFrame:
    """The run's table narrowed for a terminal: £ per head, rounded."""
    return pd.DataFrame({
        "council": t["name"], "need": t["need_per_head"].round(2).astype(str),
        "own": t["capacity_per_head"].round(0).astype("Int64"), "transfer": t["vs_none_per_head"].round(0).astype("Int64"),
        "after": t["resources_per_head"].round(0).astype("Int64"),
        "vs now": t["vs_current_per_head"].round(0).astype("Int64"),
        "keeps": (t["marginal_retention"].round(2) + 0.0).astype(str),
    })


def _print_summary(su: dict, notes: tuple[str, ...]) -> None:
    console.print(f"Gini of resources per unit of need: {su['gini_before']:.3f} before, {su['gini_after']:.3f} after "
                  f"(current system {su['gini_current']:.3f}); Theil {su['theil_before']:.4f} -> {su['theil_after']:.4f}; "
                  f"CV {su['cv_before']:.3f} -> {su['cv_after']:.3f}; p90/p10 {su['p90_p10_before']:.2f} -> "
                  f"{su['p90_p10_after']:.2f}.")
    console.print(f"Gap closed {_pct(su['gap_closed'])}; marginal retention {su['marginal_retention']:.3f} "
                  f"(min {su['marginal_retention_min']:.3f}, max {su['marginal_retention_max']:.3f}); "
                  f"net cost £{su['net_cost']:,.0f} ({'budget neutral' if su['budget_neutral'] else 'not budget neutral'}); "
                  f"{su['gains']} councils gain and {su['loses']} lose against the current system.")
    for n in notes:
        console.print(f"[dim]{n}[/]", highlight=False)


@sub.command("compare")
def compare_cmd(
    schemes: Annotated[list[str] | None, typer.Argument(help="Scheme ids (default: all).")] = None,
    base: Annotated[str, typer.Option("--base", "-b", help="council_tax, income_tax, mix or business_rates.")] = "council_tax",
    year: YearOpt = DEFAULT_YEAR,
    need: NeedOpt = None,
    mix: MixOpt = 0.5,
    councils: Annotated[bool, typer.Option("--councils", help="Every council's resources per unit of need under each scheme.")] = False,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Schemes side by side on one base, year and need."""
    from townhall.funding import compare

    c = compare(open_atlas(atlas), schemes, base=base, year=year, need=need, mix=mix)
    if fmt is Format.json:
        emit_json(c.as_dict())
        return
    emit_frame(c.by_council if councils else c.table, fmt, title=f"Schemes compared: {base}, {year}")


@sub.command("frontier")
def frontier_cmd(
    base: Annotated[str, typer.Option("--base", "-b", help="council_tax, income_tax, mix or business_rates.")] = "council_tax",
    year: YearOpt = DEFAULT_YEAR,
    need: NeedOpt = None,
    steps: Annotated[int, typer.Option("--steps", help="Points in the sweep of the rate from 0 to 1.", min=2)] = 101,
    svg: Annotated[Path, typer.Option("--svg", help="Write the chart here (SVG).")] = Path("funding_frontier.svg"),
    png: Annotated[Path | None, typer.Option("--png", help="Also write a PNG (needs matplotlib).")] = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Autonomy (marginal retention) against equalisation (gap closed): the linear sweep and every scheme."""
    from townhall.funding import frontier_for
    from townhall.funding.chart import frontier_svg

    f = frontier_for(open_atlas(atlas), base=base, year=year, need=need, steps=steps)
    svg.write_text(frontier_svg(f.sweep, f.points, title=f"Autonomy against equalisation ({base}, {year})"),
                   encoding="utf-8")
    if png is not None:
        _png(f, png)
    if fmt is Format.json:
        emit_json(f.as_dict())
        return
    step = max(1, (len(f.sweep) - 1) // 10)
    df = pd.concat([f.sweep.iloc[::step], f.points], ignore_index=True)
    if fmt is Format.table:
        df = df.drop(columns=["name"])
        num = ["marginal_retention", "gap_closed", "gini_after"]
        df[num] = df[num].round(6) + 0.0  # no '-0.000'
        df["net_cost"] = (df["net_cost"] / 1e6).round(1) + 0.0
        df = df.rename(columns={"net_cost": "net_cost_£m"})
    emit_frame(df, fmt,
               title=f"The frontier ({base}, {year}): sweep every {step / max(1, len(f.sweep) - 1):.2f}, then each scheme")
    if fmt is Format.table:
        console.print(f"Chart written to {svg}" + (f" and {png}" if png else ""))


def _png(f: object, path: Path) -> None:
    from townhall.errors import TownhallError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TownhallError("Writing a PNG needs matplotlib.", hint="pip install matplotlib, or use the SVG.") from None
    sw, pts = f.sweep, f.points  # type: ignore[attr-defined]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(sw["marginal_retention"], sw["gap_closed"], color="#888")
    ax.scatter(pts["marginal_retention"], pts["gap_closed"], color="#1f6f8b")
    for r in pts.itertuples():
        ax.annotate(r.scheme, (r.marginal_retention, r.gap_closed), fontsize=8)
    ax.set_xlabel("Marginal retention")
    ax.set_ylabel("Share of the capacity gap closed")
    fig.savefig(path, dpi=120)
    plt.close(fig)


@sub.command("taxes")
def taxes_cmd(
    income: Annotated[float | None, typer.Option("--income", help="A local income tax at this many pence in the pound.")] = None,
    revalue: Annotated[str | None, typer.Option("--revalue", help="New band multipliers, e.g. 'A=0.5,H=3' (revenue neutral).")] = None,
    supplement: Annotated[float | None, typer.Option("--supplement", help="A flat £ per Band D equivalent.")] = None,
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="Scheme applied to the yields.")] = "none",
    year: YearOpt = DEFAULT_YEAR,
    need: NeedOpt = None,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """What a local income tax, a council tax revaluation or a supplement would raise, and how unequally."""
    from townhall.errors import InputError
    from townhall.funding import tax_option

    chosen = [(k, v) for k, v in (("income", income), ("revaluation", revalue), ("supplement", supplement)) if v is not None]
    if len(chosen) != 1:
        raise InputError("Give exactly one of --income, --revalue or --supplement.")
    kind, value = chosen[0]
    t = tax_option(open_atlas(atlas), kind, value, scheme=scheme, year=year, need=need)
    if fmt is Format.json:
        emit_json(t.as_dict())
        return
    emit_frame(t.table, fmt, title=t.summary["option"])
    if fmt is Format.table:
        su = t.summary
        console.print(f"Total £{su['total_yield']:,.0f}. Yield per unit of need: Gini {su['gini_before']:.3f}, p90/p10 "
                      f"{su['p90_p10_before']:.2f}; after '{su['scheme']}': Gini {su['gini_after']:.3f}, p90/p10 "
                      f"{su['p90_p10_after']:.2f}.")
