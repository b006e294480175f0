"""Web pages and API for towns and their cities: compare any two places, a town's gaps.

Routes (mounted by :func:`townhall.web.app.create_app` with ``app.include_router(router)``):

- ``/compare?a=&b=&level=&rule=`` - two places side by side (HTML); without ``b``
  a town against its paired city; a form when ``a`` is empty;
- ``/api/compare?a=&b=&level=&rule=&format=json|csv`` - the same as data;
- ``/town/{code}/gaps?rule=`` - a town's city, its gaps as a dot-and-interval
  chart and its 2019 -> 2025 trend (inline SVG drawn here, no JavaScript);
- ``/api/town/{code}/gaps?rule=&format=json|csv`` - the same as data.

The views are thin: the analysis is :mod:`townhall.places`. Pages reuse the
app's base template and its :class:`~townhall.api.Atlas` (``request.app.state.atlas``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from townhall.atlas.store import records as _records
from townhall.errors import TownhallError
from townhall.places.gaps import DEFAULT_DRAWS, DEFAULT_SEED, DOMAIN_NAMES, DOMAINS
from townhall.web.toolkit import ERROR_RESPONSES, cached
from townhall.web.toolkit import atlas_of as _atlas
from townhall.web.toolkit import csv_response as _csv
from townhall.web.toolkit import fmt_num as _num
from townhall.web.toolkit import qs as _qs
from townhall.web.toolkit import render as _render

if TYPE_CHECKING:
    from townhall.places.compare import Comparison
    from townhall.places.pairing import Pairing

router = APIRouter(responses=ERROR_RESPONSES)
Format = Literal["json", "csv"]
Rule = Literal["nearest", "ttwa"]
VERDICT_CLASS = {"falling behind": "bad", "worse": "bad", "ahead": "good", "better": "good"}


# -- helpers -----------------------------------------------------------------------------------
def _pairing(request: Request) -> Pairing:
    """The pairing of every town, made once per atlas (and process)."""
    from townhall.places.pairing import Pairing

    return cached(request, "towns:pairing", lambda: Pairing(_atlas(request)))


# -- the chart ---------------------------------------------------------------------------------
def dot_interval_svg(rows: list[dict[str, Any]], *, title: str, unit: str = "", width: int = 640,
                     row_height: int = 26, label_width: int = 210) -> str:
    """A dot-and-interval chart as inline SVG: one row per item, a zero line, dots coloured by verdict.

    Parameters
    ----------
    rows : list of dict
        Each with ``label``, ``gap``, ``lower``, ``upper`` and optionally
        ``verdict`` and ``before`` (an earlier gap, drawn as a hollow dot with a
        line to the current one, for trends).
    title : str
        Accessible title of the chart.
    unit : str
        Axis caption.

    Returns
    -------
    str
        ``<svg>`` markup (escaped text; safe to insert as is).
    """
    rows = [r for r in rows if r.get("gap") is not None and np.isfinite(r["gap"])]
    top, bottom = 8, 34
    height = top + bottom + row_height * max(len(rows), 1)
    vals = [abs(v) for r in rows for v in (r.get("gap"), r.get("lower"), r.get("upper"), r.get("before"))
            if v is not None and np.isfinite(v)]
    span = _nice(max(vals) if vals else 1.0)
    plot_w = width - label_width - 16

    def x(v: float) -> float:
        return label_width + plot_w * (v + span) / (2 * span)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dotchart" viewBox="0 0 {width} {height}" '
           f'width="100%" font-family="system-ui, sans-serif" role="img" aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>']
    for t in (-span, -span / 2, 0.0, span / 2, span):
        xx = x(t)
        out.append(f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{height - bottom + 4}" '
                   f'stroke="{"#5b6470" if t == 0 else "#d8dde3"}" stroke-width="{1.5 if t == 0 else 1}"/>')
        out.append(f'<text x="{xx:.1f}" y="{height - bottom + 18}" font-size="11" text-anchor="middle" '
                   f'fill="#5b6470">{_tick(t)}</text>')
    out.append(f'<text x="{label_width + plot_w / 2:.1f}" y="{height - 2}" font-size="11" text-anchor="middle" '
               f'fill="#5b6470">{html.escape(unit)} (right of the line = town does better)</text>')
    colours = {"bad": "#b3432f", "good": "#2e7d4f", "": "#5b6470"}
    for i, r in enumerate(rows):
        cy = top + row_height * i + row_height / 2
        col = colours[VERDICT_CLASS.get(r.get("verdict") or "", "")]
        label = html.escape(str(r["label"]))
        out.append(f'<text x="{label_width - 8}" y="{cy + 4:.1f}" font-size="12" text-anchor="end" '
                   f'fill="#1b1f24">{label}</text>')
        lo, hi = r.get("lower"), r.get("upper")
        if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
            out.append(f'<line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" y2="{cy:.1f}" stroke="{col}" '
                       'stroke-width="3" stroke-linecap="round" opacity="0.55"/>')
        before = r.get("before")
        if before is not None and np.isfinite(before):
            out.append(f'<line x1="{x(before):.1f}" y1="{cy:.1f}" x2="{x(r["gap"]):.1f}" y2="{cy:.1f}" '
                       f'stroke="{col}" stroke-width="1.5" stroke-dasharray="3 2"/>')
            out.append(f'<circle cx="{x(before):.1f}" cy="{cy:.1f}" r="4.5" fill="#fff" stroke="{col}" '
                       'stroke-width="1.5"><title>2019</title></circle>')
        tip = f"{label}: {_tick(r['gap'])}" + (f" ({_tick(lo)} to {_tick(hi)})" if lo is not None and hi is not None
                                                and np.isfinite(lo) and np.isfinite(hi) else "")
        out.append(f'<circle cx="{x(r["gap"]):.1f}" cy="{cy:.1f}" r="5.5" fill="{col}"><title>{tip}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def trend_text(gap_2019: float | None, gap_2025: float | None) -> str:
    """What happened to a town's gap from its city, from the town's side (positive gap = town ahead).

    'narrowed' alone reads as good news, but a narrowing lead is lost ground: say which.
    """
    if gap_2019 is None or gap_2025 is None or not (np.isfinite(gap_2019) and np.isfinite(gap_2025)):
        return "–"
    if np.sign(gap_2019) * np.sign(gap_2025) < 0:
        return "overtook its city" if gap_2025 > 0 else "fell behind its city"
    ahead = gap_2025 > 0 or (gap_2025 == 0 and gap_2019 > 0)
    if abs(gap_2025) > abs(gap_2019):
        return "lead grew" if ahead else "gap grew (lost ground)"
    if abs(gap_2025) < abs(gap_2019):
        return "lead shrank (lost ground)" if ahead else "gap shrank (gained ground)"
    return "unchanged"


def town_city_map(request: Request, town: dict[str, Any], city: dict[str, Any] | None) -> str:
    """The towns of the town's region with the town (orange) and its city (blue) picked out."""
    from townhall.levels import TOWN
    from townhall.web import maps
    from townhall.web.toolkit import cached

    shp = cached(request, f"maps:shapes:{TOWN}:geo", lambda: maps.shapes(_atlas(request), TOWN, "geo"))
    if shp.empty or town["code"] not in set(shp["code"]):
        return ""
    reg = shp.loc[shp["code"] == town["code"], "region"].iloc[0]
    codes = {town["code"]} | ({city["code"]} if city else set())
    f = shp[(shp["region"] == reg) | shp["code"].isin(codes)]
    names = cached(request, f"maps:names:{TOWN}", lambda: _atlas(request).areas(TOWN)[["code", "name"]])
    f = f.merge(names, on="code", how="left")
    f["label"] = np.where(f["code"] == town["code"], "this town",
                          np.where(f["code"] == (city or {}).get("code"), "its city", "other towns"))
    cls = maps.categorical(["this town", "its city", "other towns"],
                           {"this town": "#d55e00", "its city": "#0072b2", "other towns": "#cfd5dc"})
    title = f"{town['name']} and its city" + (f", {city['name']}" if city else "")
    return maps.choropleth_svg(f, cls, title=title, level=TOWN, highlight=town["code"],
                               desc=f"{town['name']} (orange)" + (f" and {city['name']} (blue)" if city else "")
                               + " among the towns of the region.", value_text=list(f["label"]))


def _nice(v: float) -> float:
    """A round axis half-width at least ``v``."""
    if v <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def _tick(v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:+.3g}" if v else "0"


# -- compare -----------------------------------------------------------------------------------
def _comparison(request: Request, a: str, b: str | None, level: str | None, rule: str) -> Comparison:
    from townhall.places.compare import compare

    # A seeded bootstrap (0.7-0.9 s): computed once per atlas and shared by the worker processes.
    return cached(request, f"towns:compare:{a}|{b or ''}|{level or ''}|{rule}",
                  lambda: compare(_atlas(request), a, b or None, level=level or None, rule=rule,
                                  n_draws=DEFAULT_DRAWS, seed=DEFAULT_SEED), disk=True)


@router.get("/api/compare", tags=["towns"], summary="Compare two places (or a town with its city)")
def api_compare(
    request: Request,
    a: str = Query(..., description="A place: name or code"),
    b: str | None = Query(None, description="Another place of the same level; empty: A's paired city"),
    level: str | None = Query(None, description="Compare at this level (town, lad, pcon24, ...)"),
    rule: Rule = "nearest",
    format: Format = "json",
) -> Any:
    """Indicators of both places side by side: values, the gap (positive = A does better), a 95%
    interval where the data allow (bootstrap over small areas, or published limits) and a verdict."""
    c = _comparison(request, a, b, level, rule)
    if format == "csv":
        return _csv(c.table, f"compare-{c.a.code}-{c.b.code}")
    return c.as_dict()


@router.get("/compare", include_in_schema=False, response_class=HTMLResponse)
def compare_page(request: Request, a: str = "", b: str = "", level: str = "", rule: Rule = "nearest") -> HTMLResponse:
    from townhall.places.compare import HEADLINE_ROWS, short_name

    ctx: dict[str, Any] = {"a": a, "b": b, "level": level, "rule": rule, "c": None}
    if a.strip():
        c = _comparison(request, a, b, level, rule)
        rows = _records(c.table)
        for r in rows:
            r["short"] = short_name(r["indicator"], r["name"])
            r["cls"] = VERDICT_CLASS.get(r["verdict"] or "", "")
            r["interval_text"] = (f"{_num(r['lower'])} to {_num(r['upper'])}"
                                  if r["lower"] is not None and r["upper"] is not None else "")
        head = [r for r in rows if r["indicator"] in HEADLINE_ROWS]
        rest = [r for r in rows if r["indicator"] not in HEADLINE_ROWS]
        # The chart uses national percentile points so every row shares one scale.
        by_id = {r["indicator"]: r for r in rows}
        pct = [{"label": DOMAIN_NAMES[d], **{k: by_id[i][k] for k in ("gap", "lower", "upper", "verdict")}}
               for d in DOMAINS if (i := f"imd25_{d}_natpct") in by_id]
        chart = dot_interval_svg(pct, title=f"{c.a.name} against {c.b.name}: IoD 2025 gaps",
                                 unit="gap in national percentile points") if pct else ""
        params = {"a": a, "b": b, "level": level, "rule": rule if not b else ""}
        ctx.update(c=c, counts=c.counts(), head=head, rest=rest, chart=chart,
                   json_url="/api/compare" + _qs(**params), csv_url="/api/compare" + _qs(**params, format="csv"))
    return _render(request, "compare.html", **ctx)


# -- a town's gaps -----------------------------------------------------------------------------
def town_gaps_data(request: Request, code: str, rule: str) -> dict[str, Any]:
    """A town's pairing, gaps on every indicator and trend, ready for JSON.

    Computed once per atlas: a town page, its two chart images and its JSON all need the same
    seeded bootstrap (kept in memory and beside the atlas, shared by the worker processes).
    """
    return cached(request, f"towns:gaps:{code}|{rule}", lambda: _town_gaps_data(request, code, rule), disk=True)


def _town_gaps_data(request: Request, code: str, rule: str) -> dict[str, Any]:
    from townhall.places.gaps import one_town_gaps

    return one_town_gaps(_atlas(request), code, rule=rule, pairing=_pairing(request)).as_dict()


@router.get("/api/town/{code}/gaps", tags=["towns"], summary="A town's gaps from its city")
def api_town_gaps(request: Request, code: str, rule: Rule = "nearest", format: Format = "json") -> Any:
    """The town's paired city (both rules), its gap on every small-area indicator (positive = the
    town does better) with a 95% bootstrap interval and verdict, and the 2019 -> 2025 trend on
    national percentiles of IoD ranks."""
    d = town_gaps_data(request, code, rule)
    if format == "csv":
        cols = ["indicator", "level", "name", "period", "polarity", "town_value", "city_value", "gap", "lower",
                "upper", "verdict", "n_town", "n_city"]
        return _csv(pd.DataFrame(d["gaps"], columns=cols), f"{d['town']['code']}-gaps")
    return d


def _charts(d: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    """The gaps chart (IoD 2025 percentiles), the trend chart and the trend rows of a town."""
    gaps = {g["indicator"]: g for g in d["gaps"]}
    chart_rows, trend_rows = [], []
    for dom in DOMAINS:
        g = gaps.get(f"imd25_{dom}_natpct")
        if g:
            chart_rows.append({"label": DOMAIN_NAMES[dom], **{k: g[k] for k in ("gap", "lower", "upper", "verdict")}})
    for t in d["trend"]:
        cls = "good" if t["clear"] and t["change"] > 0 else "bad" if t["clear"] and t["change"] < 0 else ""
        trend_rows.append({**t, "label": DOMAIN_NAMES.get(t["domain"], t["domain"]), "cls": cls,
                           "trend_text": trend_text(t.get("gap_2019"), t.get("gap_2025"))})
    name = d["town"]["name"]
    chart = dot_interval_svg(chart_rows, title=f"{name}: gaps from its city, IoD 2025",
                             unit="gap in national percentile points") if chart_rows else ""
    trend_chart = dot_interval_svg(
        [{"label": t["label"], "gap": t["gap_2025"], "before": t["gap_2019"], "lower": None, "upper": None,
          "verdict": "ahead" if t["cls"] == "good" else "falling behind" if t["cls"] == "bad" else ""}
         for t in trend_rows],
        title=f"{name}: gap in 2019 (hollow) and 2025 (filled)", unit="gap in national percentile points",
    ) if trend_rows else ""
    return chart, trend_chart, trend_rows


@router.get("/town/{code}/gaps", include_in_schema=False, response_class=HTMLResponse)
def town_gaps_page(request: Request, code: str, rule: Rule = "nearest") -> HTMLResponse:
    from townhall.places.compare import short_name

    d = town_gaps_data(request, code, rule)
    chart, trend_chart, trend_rows = _charts(d)
    rows = []
    for g in d["gaps"]:
        rows.append({**g, "short": short_name(g["indicator"], g["name"]), "cls": VERDICT_CLASS.get(g["verdict"] or "", ""),
                     "interval_text": f"{_num(g['lower'])} to {_num(g['upper'])}" if g["lower"] is not None else ""})
    base = f"/api/town/{d['town']['code']}/gaps"
    city_map = town_city_map(request, d["town"], d.get("city"))
    return _render(request, "town_gaps.html", d=d, rows=rows, chart=chart, trend=trend_rows, trend_chart=trend_chart,
                   city_map=city_map,
                   rule=rule, json_url=base + _qs(rule=rule), csv_url=base + _qs(rule=rule, format="csv"))


@router.get("/town/{code}/gaps.svg", include_in_schema=False)
def town_gaps_svg(request: Request, code: str, rule: Rule = "nearest",
                  chart: Literal["gaps", "trend"] = "gaps") -> Response:
    """A town's gaps chart or trend chart alone, as an SVG image (the town's place page shows
    both as images, so the page itself stays fast while the bootstrap runs)."""
    d = town_gaps_data(request, code, rule)
    gaps_svg, trend_svg, _ = _charts(d)
    svg = gaps_svg if chart == "gaps" else trend_svg
    if not svg:
        raise TownhallError(f"{d['town']['name']} has no {chart} chart (no city by this rule).")
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "max-age=3600"})  # the atlas is immutable


def town_pairings(request: Request, code: str) -> dict[str, Any] | None:
    """A town's paired cities by both rules with distances, or None (cities, Welsh towns)."""
    return _pairing(request).pairings_of(code)
