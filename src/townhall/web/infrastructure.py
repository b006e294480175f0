"""Web pages and API for social infrastructure: a place's ledger and the national picture.

- ``/infrastructure`` and ``/api/infrastructure?kind=`` - closures by kind of place with exact
  intervals (a server-drawn SVG chart), and what the build placed from each source;
- ``/infrastructure/place/{level}/{code}`` and its ``/api`` twin - what a place has, what closed
  when (a timeline chart), and counts by year.

Thin views: the analysis is :mod:`townhall.infrastructure`.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request

from townhall.atlas.store import records
from townhall.web.toolkit import View, atlas_of, page_and_api

router = APIRouter()
_api = APIRouter()

COLOURS = {"library": "#1f77b4", "gp": "#2ca02c", "court": "#9467bd", "pool": "#17becf", "sports": "#8c564b",
           "hospital": "#d62728", "pub": "#ff7f0e"}


def rate_chart_svg(rows: list[dict[str, Any]], title: str, width: int = 560) -> str:
    """Closure rate by class: a dot per class with its interval, as inline SVG."""
    rows = [r for r in rows if r.get("rate") is not None]
    left, top, rh = 150, 10, 26
    h = top + rh * len(rows) + 30
    hi = max([r["upper"] for r in rows] + [0.05])
    sx = (width - left - 20) / hi
    out = [f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           'xmlns="http://www.w3.org/2000/svg" font-size="12"><title>' + html.escape(title) + "</title>"]
    for i, r in enumerate(rows):
        y = top + rh * i + rh / 2
        out.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{html.escape(str(r["class"]))}</text>')
        out.append(f'<line x1="{left + sx * r["lower"]:.1f}" x2="{left + sx * r["upper"]:.1f}" y1="{y}" y2="{y}" stroke="#555"/>')
        out.append(f'<circle cx="{left + sx * r["rate"]:.1f}" cy="{y}" r="5" fill="#1f77b4"><title>{100 * r["rate"]:.1f}%'
                   f' ({100 * r["lower"]:.1f} to {100 * r["upper"]:.1f})</title></circle>')
    base = top + rh * len(rows) + 8
    out.append(f'<line x1="{left}" x2="{width - 20}" y1="{base}" y2="{base}" stroke="#999"/>')
    for t in range(0, 6):
        v = hi * t / 5
        out.append(f'<text x="{left + sx * v:.1f}" y="{base + 16}" text-anchor="middle">{100 * v:.0f}%</text>')
    out.append("</svg>")
    return "".join(out)


def timeline_svg(events: pd.DataFrame, title: str, width: int = 640) -> str:
    """Openings (up) and closures (down) by year and kind, as inline SVG."""
    if events.empty:
        return ""
    ev = events.assign(year=pd.to_datetime(events["date"]).dt.year)
    y0, y1 = int(ev["year"].min()), int(ev["year"].max())
    span = max(y1 - y0, 1)
    h, mid, left = 200, 100, 40
    sx = (width - left - 20) / (span + 1)
    g = ev.groupby(["year", "event", "kind"]).size().reset_index(name="n")
    mx = max(int(g.groupby(["year", "event"])["n"].sum().max()), 1)
    sy = (mid - 20) / mx
    out = [f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
           'xmlns="http://www.w3.org/2000/svg" font-size="11"><title>' + html.escape(title) + "</title>",
           f'<line x1="{left}" x2="{width - 20}" y1="{mid}" y2="{mid}" stroke="#999"/>',
           f'<text x="2" y="{mid - 24}">opened</text><text x="2" y="{mid + 30}">closed</text>']
    for (year, event), grp in g.groupby(["year", "event"]):
        acc = 0.0
        for r in grp.itertuples():
            x = left + sx * (year - y0) + 2
            hgt = r.n * sy
            yy = mid - acc - hgt if event == "opened" else mid + acc
            out.append(f'<rect x="{x:.1f}" y="{yy:.1f}" width="{max(sx - 4, 2):.1f}" height="{hgt:.1f}" '
                       f'fill="{COLOURS.get(r.kind, "#777")}"><title>{year}: {r.n} {html.escape(r.kind)} {event}</title></rect>')
            acc += hgt
    for year in range(y0, y1 + 1, max(1, span // 8)):
        out.append(f'<text x="{left + sx * (year - y0) + sx / 2:.1f}" y="{h - 4}" text-anchor="middle">{year}</text>')
    out.append("</svg>")
    return "".join(out)


@page_and_api(router, _api, "/infrastructure", "infrastructure.html",
              summary="Closures by kind of place, and what the build placed", tags=["infrastructure"])
def national_view(request: Request, kind: str = "library") -> View:
    from townhall.infrastructure import build_report, closures_by_class, pub_decline

    a = atlas_of(request)
    cache = request.app.state.cache
    key = f"infra:closures:{kind}"
    if key not in cache:
        cache[key] = closures_by_class(a, kind)
    res = cache[key]
    if "infra:pubs" not in cache:
        cache["infra:pubs"] = pub_decline(a)
    pubs = cache["infra:pubs"]
    rep = build_report(a)
    pd_ = pubs.as_dict()
    data = {**res.as_dict(), "build": records(rep.table),
            "pubs": {"by_class": pd_["by_class"], "associations": pd_["associations"], "notes": pd_["notes"]}}
    chart = rate_chart_svg(records(res.table), f"{kind} closure rate by kind of place")
    # The fall in pubs as a positive share, so the same dot-and-interval chart draws it.
    fall = [{"class": r["class"], "rate": -r["change_pct"] / 100, "lower": -r["upper"] / 100, "upper": -r["lower"] / 100}
            for r in pd_["by_class"]]
    pub_chart = rate_chart_svg(fall, "Fall in pubs and bars 2001-2018 by council class")
    return View(data, res.table, f"infrastructure_{kind}_closures", {"chart": chart, "pub_chart": pub_chart, "kind": kind})


@page_and_api(router, _api, "/infrastructure/place/{level}/{code}", "infrastructure_place.html",
              summary="A place's facilities and what closed when", tags=["infrastructure"])
def place_view(request: Request, level: str, code: str) -> View:
    from townhall.infrastructure import place_ledger

    led = place_ledger(atlas_of(request), level, code)
    d = led.as_dict()
    chart = timeline_svg(led.events, f"Facilities opened and closed in {led.area['name']}")
    table = pd.DataFrame(d["facilities"])
    if not table.empty:
        table = table[["kind", "name", "status", "opened", "closed", "precision", "lsoa21", "town", "lad", "pcon24"]]  # frame columns
    return View(d, table, f"infrastructure_{code}", {"chart": chart})


router.include_router(_api)
