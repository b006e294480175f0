"""Web pages and API for electoral geography.

- ``/elections?election=&scheme=&coarse=&party=&swing_from=&swing_to=`` and ``/api/elections``:
  results and turnout by class, the party's targets and marginals, and a swing chart by class
  (inline SVG drawn here); CSV = the results by class;
- ``/elections/targets?election=&party=&marginals=&n=&pool=&speaker=`` and its ``/api`` twin;
- ``/elections/swing?swing_from=&swing_to=&party=&scheme=&coarse=`` and its ``/api`` twin (CSV per seat);
- ``/elections/top?election=&option=&n=&areas=`` and its ``/api`` twin.

Thin views: the analysis is :mod:`townhall.elections`.
"""

from __future__ import annotations

import html
import math
from typing import Any, Literal

from fastapi import APIRouter, Request

from townhall.levels import COUNCIL
from townhall.web.toolkit import View, atlas_of, page_and_api

router = APIRouter()
_api = APIRouter()

Scheme = Literal["settlement", "hocl"]
PARTY_COLOURS = {"con": "#0a3b7c", "lab": "#c8102e", "ld": "#e8850c", "snp": "#b59b00", "pc": "#2b7a3d",
                 "green": "#4a8a2a", "ukip": "#6d3177", "brexit": "#12b6cf", "reform": "#12b6cf",
                 "remain": "#1d5fa8", "leave": "#b3432f"}


def swing_chart_svg(rows: list[dict[str, Any]], *, title: str, key: str = "butler", width: int = 600) -> str:
    """Horizontal bars around zero, one per class (+ = to the Conservatives for Butler swing)."""
    rows = [r for r in rows if r.get(key) is not None and math.isfinite(r[key])]
    left, top, rh = 160, 12, 28
    h = top + rh * max(len(rows), 1) + 36
    span = max([abs(r[key]) for r in rows] + [1.0])
    span = math.ceil(span)
    plot = width - left - 20

    def x(v: float) -> float:
        return left + plot * (v + span) / (2 * span)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart swing" viewBox="0 0 {width} {h}" width="100%" '
           f'font-family="system-ui, sans-serif" role="img" aria-label="{html.escape(title)}">'
           f"<title>{html.escape(title)}</title>"]
    for t in (-span, -span / 2, 0, span / 2, span):
        out.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{h - 30}" '
                   f'stroke="{"#5b6470" if t == 0 else "#d8dde3"}"/>')
        out.append(f'<text x="{x(t):.1f}" y="{h - 16}" font-size="11" text-anchor="middle" fill="#4a525c">{t:+g}</text>')
    for i, r in enumerate(rows):
        y = top + rh * i
        v = float(r[key])
        x0, x1 = sorted((x(0), x(v)))
        colour = PARTY_COLOURS["con"] if (v > 0) == (key == "butler") else PARTY_COLOURS["lab"]
        if key != "butler":
            colour = "#1d5fa8" if v > 0 else "#b3432f"
        out.append(f'<text x="{left - 8}" y="{y + rh / 2 + 4:.1f}" font-size="12" text-anchor="end" '
                   f'fill="#1b1f24">{html.escape(str(r["class"]))}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y + 5}" width="{max(x1 - x0, 1):.1f}" height="{rh - 10}" fill="{colour}">'
                   f'<title>{html.escape(str(r["class"]))}: {v:+.1f} points ({r.get("areas", "")} seats)</title></rect>')
    caption = ("points; right = swing to the Conservatives, left = to Labour" if key == "butler"
               else "change in share, points")
    out.append(f'<text x="{left + plot / 2:.1f}" y="{h - 2}" font-size="11" text-anchor="middle" '
               f'fill="#4a525c">{html.escape(caption)}</text></svg>')
    return "".join(out)


def _party_cols(table: list[dict[str, Any]]) -> list[str]:
    if not table:
        return []
    return [k[: -len("_share")] for k in table[0] if k.endswith("_share")]


@page_and_api(router, _api, "/elections", "elections.html",
              summary="Election results by kind of place, targets and marginals, swing", tags=["elections"])
def elections_view(request: Request, election: str = "ge2017", scheme: Scheme = "hocl", coarse: bool = True,
                   party: str = "lab", swing_from: str = "ge2015", swing_to: str = "ge2017", n: int = 20) -> View:
    from townhall.elections import by_class, elections, swing, targets

    a = atlas_of(request)
    cache = request.app.state.cache
    el = elections(a)
    note = ""
    if scheme == "hocl" and el.set_index("id")["level"].get(election) == COUNCIL:
        scheme, note = "settlement", "Councils have no Library class: townhall's settlement classes are shown."
    key = f"elections:{election}:{scheme}:{coarse}:{party}:{swing_from}:{swing_to}:{n}"
    if key not in cache:
        bc = by_class(a, election, scheme, coarse)
        general = el.set_index("id")["kind"].get(election) == "general"
        tg = targets(a, election, party, n=n) if general else None
        mg = targets(a, election, party, kind="marginals", n=n) if general else None
        sw = swing(a, swing_from, swing_to, scheme, coarse, party)
        cache[key] = (bc, el, tg, mg, sw)
    bc, el, tg, mg, sw = cache[key]
    data = {"election": election, "scheme": scheme, "coarse": coarse, "party": party, "note": note,
            "elections": el[["id", "name", "kind", "date", "level", "areas"]].to_dict(orient="records"),
            "by_class": bc.as_dict(), "targets": tg.as_dict() if tg else None,
            "marginals": mg.as_dict() if mg else None,
            "swing": {k: v for k, v in sw.as_dict().items() if k != "seats"}}
    chart = swing_chart_svg(data["swing"]["table"], title=f"Butler swing {swing_from} to {swing_to} by class")
    party_chart = swing_chart_svg(data["swing"]["table"], key="change",
                                  title=f"{party} share change {swing_from} to {swing_to} by class")
    ctx = {"swing_chart": chart, "party_chart": party_chart, "parties": _party_cols(data["by_class"]["table"])}
    return View(data, bc.table, f"elections_{election}_{scheme}", ctx)


@page_and_api(router, _api, "/elections/targets", "elections_table.html",
              summary="A party's targets or marginals, each with its class", tags=["elections"])
def targets_view(request: Request, election: str = "ge2017", party: str = "lab", marginals: bool = False,
                 n: int | None = None, pool: Literal["all", "second"] = "all",
                 speaker: Literal["excluded", "counted"] = "excluded") -> View:
    from townhall.elections import targets

    t = targets(atlas_of(request), election, party, kind="marginals" if marginals else "targets", n=n, pool=pool,
                speaker=speaker)
    title = f"{party} {'marginals' if marginals else 'targets'} after {election}"
    return View({**t.as_dict(), "title": title, "note": t.rule}, t.table, f"{party}_{t.kind}_{election}")


@page_and_api(router, _api, "/elections/swing", "elections_table.html",
              summary="Swing between two general elections, per seat with its class", tags=["elections"])
def swing_view(request: Request, swing_from: str = "ge2015", swing_to: str = "ge2017", party: str | None = None,
               scheme: Scheme = "hocl", coarse: bool = True) -> View:
    from townhall.elections import swing

    s = swing(atlas_of(request), swing_from, swing_to, scheme, coarse, party)
    d = s.as_dict()
    chart = swing_chart_svg(d["table"], title=f"Butler swing {swing_from} to {swing_to} by class")
    return View({**{k: v for k, v in d.items() if k != "seats"}, "title": f"Swing {swing_from} to {swing_to}",
                 "note": s.note}, s.seats, f"swing_{swing_from}_{swing_to}", {"chart": chart})


@page_and_api(router, _api, "/elections/top", "elections_table.html",
              summary="The top N areas for an option or party, with their classes", tags=["elections"])
def top_view(request: Request, election: str = "eu2016", option: str = "remain", n: int = 30,
             areas: Literal["current", "counting"] = "counting", lowest: bool = False) -> View:
    from townhall.elections import top

    t = top(atlas_of(request), election, option, n, areas=areas, lowest=lowest)
    return View({**t.as_dict(), "title": f"Top {n} areas for {option} in {election} ({areas} areas)",
                 "note": "Classes: townhall's settlement class and the House of Commons Library's (seats only)."},
                t.table, f"top_{election}_{option}")


router.include_router(_api)
