"""Towns and cities: ``towns``, ``compare``, ``similar``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from townhall.cli.common import (
    AtlasOpt,
    Format,
    FormatOpt,
    app,
    console,
    emit_frame,
    emit_json,
    open_atlas,
    progress,
)
from townhall.places.gaps import DEFAULT_DRAWS, DEFAULT_SEED

if TYPE_CHECKING:
    from rich.progress import Progress

    from townhall.api import Atlas

RuleOpt = Annotated[str, typer.Option("--rule", "-r", help="Pairing rule: nearest (city by distance) or ttwa (city of the town's travel-to-work area).")]
SummaryRuleOpt = Annotated[str, typer.Option("--rule", "-r", help="Pairing rule: nearest (city by distance), ttwa (city of the town's travel-to-work area), or with --summary 'all' (every pairing rule and test side by side).")]
DrawsOpt = Annotated[int, typer.Option("--draws", help="Bootstrap draws.", min=10)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (results are reproducible for a seed).")]
LondonOpt = Annotated[bool, typer.Option("--london/--no-london", help="Count London (its 33 boroughs) as a city.")]



def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}%"


def _intervals(lower: pd.Series, upper: pd.Series) -> list[str]:
    return ["" if lo != lo else f"{lo:,.3g} to {hi:,.3g}" for lo, hi in zip(lower, upper, strict=True)]


def _bar(label: str) -> tuple[Progress, Callable[[int, int], None]]:
    bar = progress()
    task = bar.add_task(label, total=None)

    def step(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, step


@app.command()
def towns(
    city: Annotated[str | None, typer.Option("--city", "-c", help="List the towns paired with this city (e.g. Manchester, London).")] = None,
    summary: Annotated[bool, typer.Option("--summary", "-s", help="The national share of towns doing worse than their city, with breakdowns.")] = False,
    rule: SummaryRuleOpt = "nearest",
    draws: DrawsOpt = DEFAULT_DRAWS,
    seed: SeedOpt = DEFAULT_SEED,
    london: LondonOpt = True,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """English towns and their neighbouring cities: the pairings, a city's towns, or the national summary.

    With --summary, a sensitivity table follows: the share of towns falling behind under level tests
    (worse now, worse in 2019) and trend tests (losing ground 2019-2025); --rule all shows both pairing rules.
    """
    from townhall.errors import TownhallError
    from townhall.places.pairing import Pairing, check_rule

    if rule == "all":
        if not summary:
            raise TownhallError("--rule all compares every pairing rule and works with --summary only.",
                                hint="Use --rule nearest or --rule ttwa to list pairings.")
        _sensitivity(open_atlas(atlas), draws, seed, london, fmt)
        return
    check_rule(rule)
    a = open_atlas(atlas)
    if summary:
        _summary(a, rule, draws, seed, london, fmt)
        return
    p = Pairing(a, london=london)
    if city is None:
        df = p.table.drop(columns=["ttwa11"])
        if fmt is Format.table:
            df = pd.DataFrame({"town": df["town_name"], "size": df["size"].str.replace(" Towns", ""),
                               "nearest city": df["nearest_city_name"], "km": df["nearest_km"],
                               "TTWA city": df["ttwa_city_name"], "TTWA km": df["ttwa_km"]})
        emit_frame(df, fmt, title=f"{len(df):,} English towns and their cities (nearest, and of the travel-to-work area)")
        return
    from townhall.places.gaps import city_towns

    bar, step = _bar(f"Gaps of the towns paired with {city}")
    with bar:
        ct = city_towns(a, city, rule=rule, london=london, n_draws=draws, seed=seed, progress=step)
    c, df = ct.city, ct.table
    if df.empty:
        emit_frame(df, fmt, title=f"No towns are paired with {c['name']} under the '{rule}' rule")
        return
    if fmt is Format.json:
        emit_json(ct.as_dict())
        return
    if fmt is Format.table:
        df = pd.DataFrame({"town": df["town_name"], "size": df["size"].str.replace(" Towns", ""), "km": df["km"],
                           "IMD gap": df["imd25_gap"], "95% interval": _intervals(df["lower"], df["upper"]),
                           "verdict": df["verdict"]})
    emit_frame(df, fmt, title=f"{len(df)} towns paired with {c['name']} ({rule}); IMD 2025 gap, + = town less deprived",
               max_rows=400)


def _summary(a: Atlas, rule: str, draws: int, seed: int, london: bool, fmt: Format) -> None:
    from townhall.places.summary import sensitivity

    bar, step = _bar(f"Bootstrapping every town ({draws:,} draws)")
    with bar:
        sens = sensitivity(a, pairings=(rule,), n_draws=draws, seed=seed, london=london, progress=step)
    h = sens.headlines[rule]
    if fmt is Format.json:
        emit_json({**h.as_dict(), "sensitivity": sens.as_dict()["table"]})
        return
    allrow = pd.DataFrame([{"by": "all", "group": "All English towns", "towns": h.n_towns, "worse": h.n_worse,
                            "share": h.share, "lower": h.lower, "upper": h.upper}])
    if fmt is Format.csv:
        emit_frame(pd.concat([allrow, h.breakdown], ignore_index=True), fmt)
        return
    rule_name = "nearest city" if rule == "nearest" else "city of the travel-to-work area"
    console.print(
        f"[bold]{_pct(h.share)}[/] of {h.n_towns:,} English towns do worse than their neighbouring city "
        f"({rule_name}): {h.n_worse:,} towns, 95% interval {_pct(h.lower)} to {_pct(h.upper)}.",
        highlight=False)
    console.print(f"Demos (2015): {h.demos['worse']} of {h.demos['towns']} towns ({_pct(h.demos['share'])}).",
                  highlight=False)
    console.print(f"Falling behind on the composite IMD (whole interval on the worse side): "
                  f"{h.n_falling_behind:,} towns.", highlight=False)
    t = Table(title="By kind of town")
    for col, just in (("Breakdown", "left"), ("Group", "left"), ("Towns", "right"), ("Worse", "right"),
                      ("Share", "right"), ("95% interval", "right")):
        t.add_column(col, justify=just)
    names = {"size": "Town size", "region": "Region", "coastal": "Coastal", "job_density": "Job density",
             "income_deprivation": "Income deprivation"}
    last = None
    for r in h.breakdown.itertuples():
        t.add_row(names.get(r.by, r.by) if r.by != last else "", str(r.group), f"{r.towns:,}", f"{r.worse:,}",
                  _pct(r.share), f"{_pct(r.lower)} – {_pct(r.upper)}")
        last = r.by
    console.print(t)
    if not h.over_time.empty:
        t = Table(title="The same rule on national percentiles of IoD ranks, 2019 and 2025")
        for col in ("Year", "Towns", "Worse", "Share", "95% interval"):
            t.add_column(col, justify="right")
        for r in h.over_time.itertuples():
            t.add_row(r.period, f"{r.towns:,}", f"{r.worse:,}", _pct(r.share), f"{_pct(r.lower)} – {_pct(r.upper)}")
        console.print(t)
    _sensitivity_table(sens.table)
    console.print(f"[bold]Method.[/] {h.method}", highlight=False)


def _sensitivity(a: Atlas, draws: int, seed: int, london: bool, fmt: Format) -> None:
    from townhall.places.summary import sensitivity

    bar, step = _bar(f"Bootstrapping every town under both pairing rules ({draws:,} draws)")
    with bar:
        sens = sensitivity(a, n_draws=draws, seed=seed, london=london, progress=step)
    if fmt is Format.json:
        emit_json(sens.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(sens.table, fmt)
        return
    _sensitivity_table(sens.table)
    console.print(f"Demos (2015): 26 of 42 towns ({_pct(26 / 42)}) did worse than their neighbouring city.",
                  highlight=False)


def _sensitivity_table(df: pd.DataFrame) -> None:
    from townhall.places.summary import TEST_LABELS, TESTS

    t = Table(title="Sensitivity: share of towns falling behind their city, by test and pairing rule")
    for col, just in (("Pairing", "left"), ("Test", "left"), ("Towns", "right"), ("Count", "right"),
                      ("Share", "right"), ("95% interval", "right")):
        t.add_column(col, justify=just)
    for r in df.itertuples():
        interval = "" if r.lower != r.lower else f"{_pct(r.lower)} – {_pct(r.upper)}"
        t.add_row(r.pairing, TEST_LABELS.get(r.test, r.test), f"{r.towns:,}", f"{r.count:,}", _pct(r.share),
                  interval)
    console.print(t)
    for test in dict.fromkeys(df["test"]):
        console.print(f"  {TEST_LABELS.get(test, test)}: {TESTS[test]}.", highlight=False)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="A place (name or code).")],
    b: Annotated[str | None, typer.Argument(help="Another place of the same level; leave out to compare a town with its city.")] = None,
    level: Annotated[str | None, typer.Option("--level", "-l", help="Compare at this level (town, lad, pcon24, ...).")] = None,
    rule: RuleOpt = "nearest",
    all_rows: Annotated[bool, typer.Option("--all", help="Every indicator, not just the headline ones (CSV and JSON always have every one).")] = False,
    draws: DrawsOpt = DEFAULT_DRAWS,
    seed: SeedOpt = DEFAULT_SEED,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Compare two places side by side (gap: + = the first does better), or a town with its city."""
    from townhall.places.compare import compare as run
    from townhall.places.pairing import check_rule

    check_rule(rule)
    c = run(open_atlas(atlas), a, b, level=level, rule=rule, n_draws=draws, seed=seed)
    if fmt is Format.json:
        emit_json(c.as_dict())
        return
    if fmt is Format.csv:
        emit_frame(c.table, fmt)
        return
    how = f", its city by the '{c.paired_by}' rule" if c.paired_by else ""
    km = f", {c.km:.1f} km apart" if c.km is not None else ""
    console.print(f"[bold]{c.a.name}[/] ({c.a.level}, {c.a.code}) against [bold]{c.b.name}[/] "
                  f"({c.b.level}, {c.b.code}){how}{km}.", highlight=False)
    n = c.counts()
    console.print(f"{c.a.name} is clearly better on {n['better']}, clearly worse on {n['worse']} and not clearly "
                  f"different on {n['no clear difference']} of the indicators with an interval "
                  f"({c.n_draws:,} bootstrap draws, seed {c.seed}).", highlight=False)
    for note in c.notes:
        console.print(note, highlight=False)
    df = c.table if all_rows else c.headline()
    from townhall.places.compare import short_name

    out = pd.DataFrame({
        "indicator": [short_name(i, n) for i, n in zip(df["indicator"], df["name"], strict=True)],
        "period": df["period"],
        c.a.name: df["value_a"], c.b.name if c.b.name != c.a.name else f"{c.b.name} ({c.b.level})": df["value_b"],
        "gap (+ = A better)": df["gap"],
        "95% interval": _intervals(df["lower"], df["upper"]),
        "verdict": df["verdict"],
    })
    emit_frame(out, fmt, max_rows=400)
    if not all_rows and len(c.table) > len(df):
        console.print(f"{len(c.table) - len(df)} more indicators with --all (or --format csv).")


@app.command()
def similar(
    place: Annotated[str, typer.Argument(help="A town, council or other place (name or code).")],
    level: Annotated[str | None, typer.Option("--level", "-l", help="Level of the place (town, lad, pcon24, ...).")] = None,
    n: Annotated[int, typer.Option("-n", help="How many similar places.", min=1, max=100)] = 10,
    atlas: AtlasOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The places of the same level most like this one, and the three indicators that make each alike."""
    from townhall.places.similar import similar as run

    s = run(open_atlas(atlas), place, level, n)
    if fmt is Format.json:
        emit_json(s.as_dict())
        return
    if fmt is Format.table:
        console.print(f"Places most like [bold]{s.place.name}[/] ({s.level}, {s.place.code}) on "
                      f"{len(s.features)} standardised indicators:", highlight=False)
        from townhall.places.compare import short_name

        alike = ["; ".join(short_name("", n) for n in r) for r in s.table[["alike_1", "alike_2", "alike_3"]].to_numpy()]
        emit_frame(pd.DataFrame({"rank": s.table["rank"], "place": s.table["name"], "distance": s.table["distance"],
                                 "most alike on": alike}), fmt)
        return
    emit_frame(s.table, fmt)
