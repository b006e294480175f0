"""Web pages and API for the fair-funding lab.

- ``/funding?scheme=&base=&year=`` and ``/api/funding``: one scheme over every English
  council (a GET form): winners and losers, the capacity-need chart and the frontier
  (server-drawn SVG), with the table as CSV;
- ``/funding/council/{code}`` and its ``/api`` twin: a council under every scheme
  (:func:`townhall.funding.council_summary`, which the place page can also call).

Thin views: the analysis is :mod:`townhall.funding`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from townhall.web.toolkit import View, atlas_of, cached, page_and_api

router = APIRouter()
_api = APIRouter()

TABLE_COLUMNS = ["code", "name", "population", "need_per_head", "capacity_per_head", "transfer",
                 "resources_per_head", "resources_per_need", "vs_current_per_head", "marginal_retention", "winner"]


def _inputs(request: Request, base: str, year: str):  # -> FundingInputs
    from townhall.funding import inputs

    return cached(request, f"funding:inputs:{base}:{year}", lambda: inputs(atlas_of(request), base, year))


@page_and_api(router, _api, "/funding", "funding.html",
              summary="An equalisation scheme over every English council", tags=["funding"])
def lab_view(request: Request, scheme: str = "norway", base: str = "council_tax", year: str = "2023-24") -> View:
    from townhall.errors import InputError
    from townhall.funding import evaluate, frontier, shipped
    from townhall.funding.chart import capacity_need_svg, frontier_svg
    from townhall.funding.data import BASES, years

    known = shipped()
    if scheme not in known:  # the web runs shipped schemes only (never a file path)
        raise InputError(f"Unknown scheme {scheme!r}.", hint="Schemes: " + ", ".join(known) + ".")
    inp = _inputs(request, base, year)
    run = evaluate(known[scheme], inp)
    front = cached(request, f"funding:frontier:{base}:{year}", lambda: frontier(inp))
    d = run.as_dict()
    d.pop("councils")
    d["frontier"] = front.as_dict()
    table = run.table[TABLE_COLUMNS]
    ctx = {
        "chart": capacity_need_svg(run.table, f"Capacity and resources against need: {run.scheme.name}"),
        "frontier_chart": frontier_svg(front.sweep, front.points, f"Autonomy against equalisation ({base}, {year})"),
        "schemes": [(s.id, s.name) for s in known.values()], "bases": BASES,
        "years": cached(request, "funding:years", lambda: years(atlas_of(request))),
        "chosen": {"scheme": run.scheme.id, "base": base, "year": year},
    }
    return View(d, table, f"funding_{run.scheme.id}_{base}_{year}", ctx)


@page_and_api(router, _api, "/funding/council/{code}", "funding_council.html",
              summary="A council under every equalisation scheme", tags=["funding"])
def council_view(request: Request, code: str, base: str = "council_tax", year: str = "2023-24") -> View:
    from townhall.funding import council_summary

    s = council_summary(atlas_of(request), code, base=base, year=year)
    return View(s.as_dict(), s.table, f"funding_{code}")


router.include_router(_api)
