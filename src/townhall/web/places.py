"""Atlas pages: search, places, levels, indicators and sources, with their JSON and CSV.

Routes: ``/``, ``/search``, ``/place/{level}/{code}`` (and ``/within/{child_level}``),
``/levels``, ``/level/{level}``, ``/indicators``, ``/indicator/{id}``, ``/sources``; the
``/api/...`` twins give the same data as JSON, tables also as CSV (``format=csv``).
The views call the atlas reader and the analyses; they compute nothing of their own.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.atlas.store import AmbiguousPlaceError, Atlas, records
from townhall.errors import PlaceNotFoundError, TownhallError
from townhall.levels import LEVEL_PLURAL, LEVELS, ROLLUP_LEVELS, TOWN, check_level
from townhall.sources.licences import attributions
from townhall.version import __version__
from townhall.web import towns
from townhall.web.toolkit import (
    ERROR_RESPONSES,
    Format,
    atlas_of,
    cached,
    csv_response,
    indicator_rows,
    near_codes,
    paginate,
    parse_suggestion,
    place_url,
    qs,
    render,
    sort_frame,
    table_response,
)


def all_sources(atlas: Atlas) -> pd.DataFrame:
    """Sources in the atlas, then declared sources the atlas was not built from."""
    used = atlas.sources()[["path", "title", "publisher", "publisher_url", "licence", "vintage",
                            "origin_url"]].copy()
    used["in_atlas"] = True
    from townhall.sources.catalogue import load_catalogue

    declared = pd.DataFrame(
        [{"path": s.path, "title": s.title, "publisher": s.publisher,
          "publisher_url": s.publisher_url, "licence": s.licence, "vintage": s.vintage,
          "origin_url": s.url, "in_atlas": False}
         for s in load_catalogue() if s.path not in set(used["path"])],
        columns=[*used.columns],
    )
    return pd.concat([used, declared], ignore_index=True) if len(declared) else used


# -- JSON / CSV API -----------------------------------------------------------------------
api = APIRouter(prefix="/api", tags=["api"], responses=ERROR_RESPONSES)


@api.get("", summary="API index")
def api_index(request: Request) -> dict[str, Any]:
    """What the API offers, and the atlas build it serves."""
    return {
        "townhall": __version__,
        "atlas": request.app.state.site["meta"],
        "endpoints": {
            "search": "/api/search?q=NAME_OR_CODE",
            "place": "/api/place/{level}/{code}",
            "place_table": "/api/place/{level}/{code}/{table}?format=csv",
            "within": "/api/place/{level}/{code}/within/{child_level}?format=json|csv",
            "levels": "/api/levels",
            "areas": "/api/areas/{level}?format=json|csv",
            "indicators": "/api/indicators?topic=&level=",
            "indicator": "/api/indicator/{id}",
            "values": "/api/values/{indicator}?level=&period=&format=json|csv",
            "sources": "/api/sources",
            "openapi": "/openapi.json",
        },
    }


@api.get("/search", summary="Find places by name or code")
def api_search(
    request: Request,
    q: str = Query(..., description="A place name (forgiving) or a GSS code"),
    level: str | None = Query(None, description="Restrict to one level, e.g. lad or town"),
    limit: int = Query(50, ge=1, le=500),
    format: Format = "json",
) -> Any:
    """Places matching ``q``, most likely first; close suggestions when nothing matches."""
    atlas = atlas_of(request)
    df = atlas.find(q, level=level or None, limit=limit)
    if format == "csv":
        return csv_response(df, "search")
    suggestions = [] if len(df) else [parse_suggestion(s) for s in atlas.suggest(q)]
    rows = records(df)
    for r in rows:
        r["url"] = place_url(r["level"], r["code"])
    return {"query": q, "level": level, "count": len(rows), "rows": rows, "suggestions": suggestions}


@api.get("/place/{level}/{code}", summary="A place's profile")
def api_place(request: Request, level: str, code: str) -> dict[str, Any]:
    """Everything the atlas holds about one place: area, parents, classes, latest
    indicators with percentiles (``better_than_pct`` uses the indicator's polarity) and
    sources with licences. Same as ``Atlas.profile``."""
    return atlas_of(request).profile(code, level)


PlaceTable = Literal["parents", "classes", "headline", "indicators", "sources"]
_IND_COLUMNS = ["id", "name", "topic", "unit", "polarity", "period", "value", "lower", "upper",
                "pct", "derived", "better_than_pct"]
# Headers for a table with no rows, so its CSV still says what it would hold.
PLACE_TABLE_COLUMNS = {
    "parents": ["code", "level", "name", "weight", "method"],
    "classes": ["scheme", "class"],
    "indicators": _IND_COLUMNS,
    "headline": _IND_COLUMNS,
    "sources": ["path", "title", "publisher", "publisher_url", "licence", "vintage"],
}


@api.get("/place/{level}/{code}/{table}", summary="One table of a place's profile")
def api_place_table(request: Request, level: str, code: str, table: PlaceTable,
                    format: Format = "json") -> Any:
    """One table of the profile (as shown on the place page), as JSON rows or CSV."""
    prof = atlas_of(request).profile(code, level)
    rows = prof[table]
    if table == "classes":
        rows = [{"scheme": k, "class": v} for k, v in rows.items()]
    df = pd.DataFrame(rows, columns=None if rows else PLACE_TABLE_COLUMNS[table])
    return table_response(df, format, f"{prof['area']['code']}-{table}", area=prof["area"]["code"],
                  level=prof["area"]["level"])


@api.get("/place/{level}/{code}/within/{child_level}", summary="Places within a place")
def api_within(request: Request, level: str, code: str, child_level: str,
               format: Format = "json") -> Any:
    """Areas of ``child_level`` linked to this place, with the share of each (link weight),
    population and link method."""
    area, df = _within(request, level, code, child_level)
    return table_response(df, format, f"{area.code}-{child_level}", area=area.code, level=area.level,
                  child_level=child_level)


def _within(request: Request, level: str, code: str, child_level: str) -> tuple[Any, pd.DataFrame]:
    atlas = atlas_of(request)
    for lv in (level, child_level):
        check_level(lv)
    area = atlas.area(code, level)
    return area, atlas.children(area.code, area.level, child_level)


@api.get("/levels", summary="Levels held in the atlas")
def api_levels(request: Request, format: Format = "json") -> Any:
    """Every level with its description and number of areas."""
    return table_response(_levels(request), format, "levels")


@api.get("/areas/{level}", summary="All areas of a level")
def api_areas(request: Request, level: str, country: str | None = None,
              format: Format = "json") -> Any:
    """Every area of ``level``: code, name, country, centroid, population and its year."""
    df = atlas_of(request).areas(level, country=country or None)
    return table_response(df, format, f"areas-{level}", level=level)


@api.get("/indicators", summary="Registered indicators")
def api_indicators(request: Request, topic: str | None = None, level: str | None = None,
                   format: Format = "json") -> Any:
    """Indicators with id, name, topic, unit, polarity, level, roll-up rule, source, periods."""
    return table_response(_indicators(request, topic, level), format, "indicators")


@api.get("/indicator/{indicator}", summary="One indicator")
def api_indicator(request: Request, indicator: str) -> dict[str, Any]:
    """An indicator's registration, its periods and the levels its values can be read at."""
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    return {**ind, "periods": atlas.periods(indicator), "levels": _indicator_levels(ind)}


@api.get("/values/{indicator}", summary="Values of an indicator")
def api_values(
    request: Request,
    indicator: str,
    level: str | None = Query(None, description="Default: the indicator's own level"),
    period: str | None = Query(None, description="Default: the latest"),
    format: Format = "json",
) -> Any:
    """Values at a level (published, or rolled up by population), with intervals and percentiles."""
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    df = atlas.values(indicator, level=level or None, period=period or None)
    lv = level or ind["level"]
    per = df["period"].iloc[0] if len(df) else period
    return table_response(df, format, f"values-{indicator}-{lv}-{per}", indicator=indicator, level=lv,
                  period=per)


@api.get("/sources", summary="Sources and licences")
def api_sources(request: Request, format: Format = "json") -> Any:
    """Every source (``in_atlas`` says whether this atlas was built from it) and the
    attribution statements their licences require."""
    df = _sources(request)
    if format == "csv":
        return csv_response(df, "sources")
    return {"count": len(df), "rows": records(df), "attributions": attributions(df)}


def _levels(request: Request) -> pd.DataFrame:
    return cached(request, "levels", atlas_of(request).levels)


def _indicators(request: Request, topic: str | None = None, level: str | None = None) -> pd.DataFrame:
    """Registered indicators, optionally of one topic and level (as Atlas.indicators)."""
    df = cached(request, "indicators", atlas_of(request).indicators)
    if topic:
        df = df[df["topic"] == topic]
    if level:
        df = df[df["level"] == level]
    return df.reset_index(drop=True)


def _sources(request: Request) -> pd.DataFrame:
    return cached(request, "sources", lambda: all_sources(atlas_of(request)))


def _indicator_levels(ind: dict[str, Any]) -> list[str]:
    """The indicator's own level, then the levels small-area values roll up to."""
    if ind.get("agg") == "none":
        return [ind["level"]]
    return [ind["level"], *[lv for lv in ROLLUP_LEVELS if lv != ind["level"]]]


# -- HTML pages ---------------------------------------------------------------------------
pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@pages.get("/")
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html", levels=records(_levels(request)), json_url="/api")


@pages.get("/search")
def search(request: Request, q: str = "", level: str = "") -> Response:
    atlas = atlas_of(request)
    q = q.strip()
    rows: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    if q:
        df = atlas.find(q, level=level or None, limit=50)
        # One exact hit is what the person meant: go straight to it.
        if len(df) == 1 and df["match"].iloc[0] in ("code", "exact"):
            return RedirectResponse(place_url(df["level"].iloc[0], df["code"].iloc[0]), 303)
        rows = records(df)
        if not rows:
            suggestions = [parse_suggestion(s) for s in atlas.suggest(q)]
    return render(request, "search.html", q=q, level=level, rows=rows, suggestions=suggestions,
                   json_url="/api/search" + qs(q=q, level=level) if q else None,
                   csv_url="/api/search" + qs(q=q, level=level, format="csv") if q else None)


@pages.get("/place/{level}/{code}")
def place(request: Request, level: str, code: str) -> Response:
    atlas = atlas_of(request)
    try:
        prof = atlas.profile(code, level)
    except AmbiguousPlaceError as exc:
        return render(request, "search.html", q=code, level=level, rows=records(exc.matches),
                       suggestions=[], json_url=None, csv_url=None)
    except PlaceNotFoundError as exc:
        # The code may exist at another level (/place/town/E08000010): offer those too.
        elsewhere = atlas.find(code, limit=10)
        exc.suggestions = [
            f"{r.name} ({r.level}, {r.code})" for r in elsewhere.itertuples()
        ] + list(exc.suggestions) + near_codes(atlas, code, level)
        raise
    area = prof["area"]
    if area["code"] != code:  # reached by name: send to the canonical address
        return RedirectResponse(place_url(area["level"], area["code"]), 307)
    plural = LEVEL_PLURAL.get(area["level"], "areas")
    topics: dict[str, list[dict[str, Any]]] = {}
    for i, row in zip(prof["indicators"], indicator_rows(prof["indicators"], plural), strict=True):
        topics.setdefault(i["topic"] or "other", []).append(row)
    base = f"/api/place/{quote(level)}/{quote(code)}"
    pairings = None
    if area["level"] == TOWN:
        try:
            pairings = towns.town_pairings(request, area["code"])
        except TownhallError:  # an atlas without cities (a partial build): show the rest
            pairings = None
    return render(request, "place.html", p=prof, area=area,
                   headline=indicator_rows(prof.get("headline", []), plural), topics=topics,
                   plural=plural, api_base=base, json_url=base, pairings=pairings)


@pages.get("/place/{level}/{code}/within/{child_level}")
def within_page(request: Request, level: str, code: str, child_level: str,
                page: int = 1, sort: str = "name") -> HTMLResponse:
    area, df = _within(request, level, code, child_level)
    df = sort_frame(df, sort, ("name", "code", "population", "-population", "weight", "-weight"))
    shown, info = paginate(df, page)
    api_url = f"/api/place/{quote(level)}/{quote(code)}/within/{quote(child_level)}"
    return render(request, "within.html", area=area, child_level=child_level,
                   rows=records(shown), pager=info, sort=sort,
                   json_url=api_url, csv_url=api_url + "?format=csv")


@pages.get("/levels")
def levels(request: Request) -> HTMLResponse:
    return render(request, "levels.html", levels=records(_levels(request)),
                   json_url="/api/levels", csv_url="/api/levels?format=csv")


@pages.get("/level/{level}")
def level_page(request: Request, level: str, page: int = 1, sort: str = "name") -> HTMLResponse:
    df = atlas_of(request).areas(level)
    df = sort_frame(df, sort, ("name", "code", "population", "-population", "-name", "-code"))
    shown, info = paginate(df, page)
    return render(request, "level.html", level=level, rows=records(shown), pager=info, sort=sort,
                   json_url=f"/api/areas/{quote(level)}",
                   csv_url=f"/api/areas/{quote(level)}?format=csv")


@pages.get("/indicators")
def indicators_page(request: Request, topic: str = "", level: str = "") -> HTMLResponse:
    every = _indicators(request)
    df = _indicators(request, topic, level)
    topics: dict[str, list[dict[str, Any]]] = {}
    for r in records(df):
        topics.setdefault(r["topic"] or "other", []).append(r)
    return render(request, "indicators.html", topics=topics, count=len(df), topic=topic,
                   level=level, all_topics=sorted(every["topic"].dropna().unique()),
                   all_levels=[lv for lv in LEVELS if lv in set(every["level"])],
                   json_url="/api/indicators" + qs(topic=topic, level=level),
                   csv_url="/api/indicators" + qs(topic=topic, level=level, format="csv"))


@pages.get("/indicator/{indicator}")
def indicator_page(request: Request, indicator: str, level: str = "", period: str = "",
                   page: int = 1, sort: str = "") -> HTMLResponse:
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    lv = level or ind["level"]
    df = atlas.values(indicator, level=lv, period=period or None)
    per = df["period"].iloc[0] if len(df) else (period or None)
    df = sort_frame(df, sort, ("name", "area", "value", "-value", "pct", "-pct"))
    shown, info = paginate(df, page)
    params = {"level": level, "period": period}
    return render(request, "indicator.html", ind=ind, level=lv, period=per,
                   periods=atlas.periods(indicator), levels=_indicator_levels(ind),
                   rows=records(shown), pager=info, sort=sort,
                   # only the columns that hold something for this indicator
                   columns=[c for c in df.columns if df[c].notna().any()],
                   params=params, plural=LEVEL_PLURAL.get(lv, "areas"),
                   json_url=f"/api/values/{quote(indicator)}" + qs(**params),
                   csv_url=f"/api/values/{quote(indicator)}" + qs(**params, format="csv"))


@pages.get("/sources")
def sources_page(request: Request) -> HTMLResponse:
    df = _sources(request)
    return render(request, "sources.html", used=records(df[df["in_atlas"]]),
                   declared=records(df[~df["in_atlas"]]), attributions=attributions(df),
                   json_url="/api/sources", csv_url="/api/sources?format=csv")


#: Every atlas route, pages and API, for the app factory.
router = APIRouter()
router.include_router(api)
router.include_router(pages)
