"""Atlas pages: search, places, levels, indicators and sources, with their JSON and CSV.

Routes: ``/``, ``/search``, ``/place/{level}/{code}`` (and ``/within/{child_level}``),
``/levels``, ``/level/{level}``, ``/indicators``, ``/indicator/{id}``, ``/sources``; the
``/api/...`` twins give the same data as JSON, tables also as CSV (``format=csv``).
The views call the atlas reader and the analyses; they compute nothing of their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import duckdb
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townhall.atlas.store import AmbiguousPlaceError, Atlas, records
from townhall.errors import PlaceNotFoundError, TownhallError
from townhall.levels import (
    COUNCIL,
    LEVEL_PLURAL,
    LEVELS,
    LSOA_LEVELS,
    MAP_LEVELS,
    REGION,
    ROLLUP_LEVELS,
    SEAT,
    SEAT_2010,
    TOWN,
    check_level,
    label,
)
from townhall.sources.licences import attributions
from townhall.version import __version__
from townhall.web import charts, maps, towns
from townhall.web.toolkit import (
    ERROR_RESPONSES,
    GEOJSON_RESPONSES,
    Format,
    atlas_of,
    cached,
    csv_response,
    fmt_interval,
    fmt_value,
    indicator_rows,
    near_codes,
    paginate,
    parse_suggestion,
    pct_text,
    place_url,
    qs,
    render,
    sort_frame,
    table_response,
    unit_kind,
    unit_text,
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
    sources with licences (as ``Atlas.profile``), plus ``level_classes``: the place's class
    at its level from ``places.classify`` (settlement shares of councils and seats, the
    settlement of a small area, a town's size)."""
    prof = atlas_of(request).profile(code, level)
    prof["level_classes"] = level_classes(request, prof["area"]["level"], prof["area"]["code"])
    return prof


def level_classes(request: Request, level: str, code: str) -> dict[str, Any]:
    """A place's class at its level from :func:`townhall.places.classify.classify` (cached per level).

    Empty for levels without a classification.
    """
    from townhall.places.classify import classify

    def make() -> pd.DataFrame:
        try:
            return classify(atlas_of(request), level).set_index("code")
        except TownhallError:
            return pd.DataFrame()
        except (IndexError, KeyError, ValueError):  # a partial atlas (no 2011 small areas...): no class
            return pd.DataFrame()
    df = cached(request, f"classes:{level}", make)
    if df.empty or code not in df.index:
        return {}
    row = df.loc[code]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    out = {k: v for k, v in row.items() if k not in ("name", "source") and not (isinstance(v, float) and pd.isna(v))}
    return {k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v) for k, v in out.items()}


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
    lc = level_classes(request, area["level"], area["code"])

    def pictures() -> dict[str, Any]:  # drawn once per place, kept for the most recent places
        return {"locator": (towns.town_city_map(request, area, pairings.get("nearest")) if pairings
                            else place_locator(request, area, prof.get("parents", []))),
                "strips": place_strips(request, area, prof.get("headline", [])),
                "trends": place_trends(request, area, prof.get("headline", []))}
    pics = drawn(request, f"place:{area['level']}:{area['code']}", pictures)
    wings = cached(request, f"place-wings:{area['level']}:{area['code']}",
                   lambda: place_wings(atlas, area["level"], area["code"]))
    return render(request, "place.html", p=prof, area=area, wings=wings,
                   headline=indicator_rows(prof.get("headline", []), plural), topics=topics,
                   plural=plural, api_base=base, json_url=base, pairings=pairings,
                   level_classes=lc, class_rows=_class_rows(lc), **pics)


def place_wings(atlas: Atlas, level: str, code: str) -> dict[str, Any]:
    """What the wings say about a place: its election results, its social infrastructure and
    (for a council) its tax base and what each funding scheme would give it.

    Each part comes from its wing's analysis (``elections.place_results``,
    ``infrastructure.place_ledger``, ``funding.council_summary``) and is None where the wing
    has nothing for this kind of place; the page and ``/api/wings/{level}/{code}`` show
    the same dict.
    """
    from townhall import elections, funding, infrastructure

    out: dict[str, Any] = {"elections": None, "infrastructure": None, "funding": None}
    if level in (COUNCIL, SEAT, SEAT_2010):
        try:
            r = elections.place_results(atlas, code, level).as_dict()
            if r.get("seats") or r.get("results"):
                out["elections"] = r
        except (TownhallError, duckdb.Error):  # an atlas built without this wing: no section
            pass
    try:
        led = infrastructure.place_ledger(atlas, level, code).as_dict()
        latest: dict[str, dict[str, Any]] = {}
        for row in led.get("yearly", []):
            if row["kind"] not in latest or row["year"] >= latest[row["kind"]]["year"]:
                latest[row["kind"]] = row
        out["infrastructure"] = {"open": list(latest.values()),
                                 "closures": [c for c in led.get("closures", []) if c.get("closed")],
                                 "facilities": len(led.get("facilities", [])),
                                 "url": f"/infrastructure/place/{quote(level)}/{quote(code)}"}
    except (TownhallError, duckdb.Error):  # an atlas built without this wing: no section
        pass
    if level == COUNCIL and code.startswith("E"):
        try:
            f = funding.council_summary(atlas, code).as_dict()
            out["funding"] = {**f, "url": f"/funding/council/{quote(code)}"}
        except (TownhallError, duckdb.Error):  # an atlas built without this wing: no section
            pass
    return out


@api.get("/wings/{level}/{code}", summary="What the wings say about a place")
def api_place_wings(request: Request, level: str, code: str) -> dict[str, Any]:
    """A place's election results (seats and councils), its social infrastructure (open now,
    closures by period) and, for an English council, its tax base and each funding scheme's
    result: the sections of the place page below its indicators."""
    area = atlas_of(request).area(code, level)
    return cached(request, f"place-wings:{area.level}:{area.code}",
                  lambda: place_wings(atlas_of(request), area.level, area.code))


def _class_rows(lc: dict[str, Any]) -> list[dict[str, str]]:
    """The level classes as (what, value) rows with shares shown as percentages."""
    rows = []
    for k, v in lc.items():
        if k == "scheme":
            continue
        name = {"class": "Class (" + str(lc.get("scheme", "")).replace("_", " ") + ")",
                "hocl_city_town": "House of Commons Library class (2010 seat)",
                "hocl_kind": "House of Commons Library class, on the same scale",
                "kind": "Kind of place", "town": "Town"}.get(k)
        if k.startswith("share_"):
            kind = k.removeprefix("share_").replace("_", " ")
            name, v = "Residents in " + ("London" if kind == "london" else kind + "s" if "town" in kind
                                         else "cities" if kind == "city" else "villages or rural areas"
                                         if kind == "village or rural" else kind), pct_text(v, 1)
        elif k == "population":  # the Census 2021 count the shares are of (not the headline's year)
            name, v = "Residents (Census 2021, base of the shares)", fmt_value(v, "count")
        rows.append({"what": name or k.replace("_", " "), "value": str(v)})
    return rows


def place_locator(request: Request, area: dict[str, Any], parents: list[dict[str, Any]]) -> str:
    """A map of the place's region with the place outlined (or marked, for small areas)."""
    atlas = atlas_of(request)
    lv, code = area["level"], area["code"]
    shp = cached(request, f"maps:shapes:{lv}:geo", lambda: maps.shapes(atlas, lv, "geo"))
    title = f"Where {area['name']} is"
    if not shp.empty and code in set(shp["code"]):
        reg = shp.loc[shp["code"] == code, "region"].iloc[0]
        f = shp[shp["region"] == reg]
        if lv == REGION:
            f = shp
        names = cached(request, f"maps:names:{lv}", lambda: atlas.areas(lv)[["code", "name"]])
        f = f.merge(names, on="code", how="left")
        f["name"] = f["name"].fillna(f["code"])
        return maps.locator_svg(f, code, title=title, level=lv).replace('class="map geo"', 'class="map geo locator"', 1)
    if area.get("lat") is None:
        return ""
    # Small areas and other levels without boundaries: a dot on the councils of the region.
    lads = cached(request, f"maps:shapes:{COUNCIL}:geo", lambda: maps.shapes(atlas, COUNCIL, "geo"))
    if lads.empty:
        return ""
    x, y = maps.project([area["lat"]], [area["lon"]])
    near = lads.assign(d=(lads["x"] - x[0]) ** 2 + (lads["y"] - y[0]) ** 2).sort_values("d")
    reg = near["region"].iloc[0]
    f = lads[lads["region"] == reg]
    names = cached(request, f"maps:names:{COUNCIL}", lambda: atlas.areas(COUNCIL)[["code", "name"]])
    f = f.merge(names, on="code", how="left")
    pts = pd.DataFrame({"code": [code], "name": [area["name"]], "x": x, "y": y, "label": ["this place"]})
    cls = maps.categorical(["this place"], {"this place": "#d55e00"})
    return maps.dots_svg(pts, cls, title=title, level=lv, outline=f, per_dot=True,
                         desc=f"{area['name']} (orange dot) among the councils of its region.",
                         radius=float(max(f["maxx"].max() - f["minx"].min(), 1) / 60))


#: How many headline indicators get a 'where this place sits' strip.
STRIPS = 6


def place_strips(request: Request, area: dict[str, Any], headline: list[dict[str, Any]]) -> list[dict[str, str]]:
    """'Where this place sits' against every place of its level, for the first headline indicators."""
    out = []
    for h in headline:
        if len(out) >= STRIPS or h.get("value") is None:
            continue
        try:
            vals = indicator_frame(request, h["id"], area["level"], h.get("period"))
        except TownhallError:
            continue
        if len(vals) < 10:
            continue
        kind = unit_kind(h.get("unit"), h["id"], h["name"], bool(h.get("derived")))
        sc = 100.0 if kind in ("share", "flag_share") else 1.0
        svg = charts.strip_svg(vals["value"] * sc, float(h["value"]) * sc,
                               title=f"{h['name']} ({h.get('period')}): {area['name']} among "
                                     f"{len(vals):,} {label(area['level'], plural=True)}",
                               unit=unit_text(h.get("unit"), kind), polarity=h.get("polarity"),
                               label=area["name"])
        out.append({"id": h["id"], "name": h["name"], "period": str(h.get("period")), "svg": svg})
    return out


def place_trends(request: Request, area: dict[str, Any], headline: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Time series of the place's headline indicators held for several periods."""
    ids = [h["id"] for h in headline]
    if not ids:
        return []
    obs = atlas_of(request).query(
        "SELECT indicator, period, value, lower, upper FROM observation WHERE area = ? AND level = ? "
        "AND list_contains(?, indicator) ORDER BY indicator, period", [area["code"], area["level"], ids])
    out = []
    by_id = {h["id"]: h for h in headline}
    for iid, g in obs.groupby("indicator", sort=False):
        if g["period"].nunique() < 2:
            continue
        h = by_id[iid]
        kind = unit_kind(h.get("unit"), h["id"], h["name"], bool(h.get("derived")))
        sc = 100.0 if kind in ("share", "flag_share") else 1.0
        has_iv = g["lower"].notna().any()
        svg = charts.line_svg(g["period"].tolist(), (g["value"] * sc).tolist(),
                              lower=(g["lower"] * sc).tolist() if has_iv else None,
                              upper=(g["upper"] * sc).tolist() if has_iv else None,
                              title=f"{h['name']}: {area['name']}, by period", unit=unit_text(h.get("unit"), kind),
                              source=publisher_of(request, _ind_source(request, iid)))
        out.append({"id": iid, "name": h["name"], "svg": svg})
    return out


def _ind_source(request: Request, indicator: str) -> str | None:
    df = _indicators(request)
    row = df[df["id"] == indicator]
    return None if row.empty else row["source"].iloc[0]


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
    m = None
    if level in MAP_LEVELS:  # the places of the level on a map, shaded by their Census 2021 population
        try:
            ind = atlas_of(request).indicator(LEVEL_MAP_INDICATOR)
            if level in map_levels(ind):
                m = indicator_map(request, ind, level, None)
        except TownhallError:
            m = None
    return render(request, "level.html", level=level, rows=records(shown), pager=info, sort=sort, map=m,
                   map_indicator=LEVEL_MAP_INDICATOR,
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


# -- maps of indicators -----------------------------------------------------------------------
#: The indicator a level's page maps (every level has it, rolled up from small areas).
LEVEL_MAP_INDICATOR = "census21_pop"
#: Regions a map can zoom to: the English regions and Wales.
ZOOM_WALES = ("W92000004", "Wales")
MapKind = Literal["geo", "hex"]
#: Levels with a hex cartogram.
HEX_LEVELS = (COUNCIL, SEAT_2010)
Classing = Literal["quantile", "jenks"]


def zoom_regions(request: Request) -> list[tuple[str, str]]:
    """(code, name) of the areas a map can zoom to."""
    def make() -> list[tuple[str, str]]:
        rg = atlas_of(request).areas(REGION)
        return [*zip(rg["code"], rg["name"], strict=True), ZOOM_WALES]
    return cached(request, "maps:zoom", make)


#: How many drawn maps and charts an app keeps (the most recently used; each is up to ~600 kB).
DRAWN_KEEP = 48
_DRAWN_LOCK = threading.Lock()


def drawn(request: Request, key: str, make: Callable[[], Any]) -> Any:
    """A drawn map or chart, kept for the :data:`DRAWN_KEEP` most recently asked for."""
    store: OrderedDict[str, Any] = request.app.state.cache.setdefault("maps:drawn", OrderedDict())
    with _DRAWN_LOCK:
        if key in store:
            store.move_to_end(key)
            return store[key]
    value = make()
    with _DRAWN_LOCK:
        store[key] = value
        while len(store) > DRAWN_KEEP:
            store.popitem(last=False)
    return value


def map_levels(ind: dict[str, Any]) -> list[str]:
    """Levels an indicator can be mapped at: its levels with boundaries, or small areas as dots."""
    return [lv for lv in _indicator_levels(ind) if lv in MAP_LEVELS or lv in LSOA_LEVELS]


def indicator_frame(request: Request, indicator: str, level: str, period: str | None) -> pd.DataFrame:
    """Values of an indicator at a level with rank (1 = highest) and the number ranked; cached per app."""
    def make() -> pd.DataFrame:
        df = atlas_of(request).values(indicator, level=level, period=period or None)
        df = df.copy()
        df["rank"] = df["value"].rank(ascending=False, method="min")
        df["of"] = int(df["value"].notna().sum())
        return df
    return cached(request, f"maps:values:{indicator}:{level}:{period}", make)


def map_frame(request: Request, indicator: str, level: str, period: str | None, kind: str = "geo",
              region: str | None = None) -> pd.DataFrame:
    """Shapes of ``level`` (in the countries the values cover) merged with the values."""
    vals = indicator_frame(request, indicator, level, period)
    shp = cached(request, f"maps:shapes:{level}:{kind}", lambda: maps.shapes(atlas_of(request), level, kind))
    if shp.empty:
        return shp
    countries = set(vals["area"].str[0])
    shp = shp[shp["country"].isin(countries)]
    if region:
        shp = shp[shp["region"] == region]
    names = cached(request, f"maps:names:{level}", lambda: atlas_of(request).areas(level)[["code", "name"]])
    out = shp.merge(names, on="code", how="left").merge(
        vals[["area", "value", "lower", "upper", "rank", "of"]].rename(columns={"area": "code"}), on="code", how="left")
    out["name"] = out["name"].fillna(out["code"])
    return out


def dot_frame(request: Request, indicator: str, level: str, period: str | None,
              region: str | None = None) -> pd.DataFrame:
    """Small areas as points (map units) with their values; cached per app."""
    def make() -> pd.DataFrame:
        vals = indicator_frame(request, indicator, level, period)
        areas = atlas_of(request).areas(level)[["code", "name", "lat", "lon"]]
        df = areas.merge(vals[["area", "value", "rank", "of"]].rename(columns={"area": "code"}), on="code")
        df = df.dropna(subset=["lat", "lon"])
        df["x"], df["y"] = maps.project(df["lat"], df["lon"])
        return df
    df = cached(request, f"maps:dots:{indicator}:{level}:{period}", make)
    if region:
        reg = cached(request, f"maps:dotregion:{level}", lambda: _small_area_regions(request, level))
        df = df[df["code"].map(reg) == region]
    return df


def _small_area_regions(request: Request, level: str) -> pd.Series:
    """Small area -> region (or Wales), from the atlas links."""
    atlas = atlas_of(request)
    links = atlas.links(level, REGION)
    reg = links.sort_values("weight").drop_duplicates("child", keep="last").set_index("child")["parent"]
    areas = atlas.areas(level)
    wales = areas.loc[areas["country"] == "W", "code"]
    return pd.concat([reg, pd.Series(ZOOM_WALES[0], index=wales.to_numpy())])


def indicator_map(request: Request, ind: dict[str, Any], level: str, period: str | None, *, kind: str = "geo",
                  region: str | None = None, classing: str = "quantile", k: int = 5,
                  highlight: str | None = None) -> dict[str, Any]:
    """The map of an indicator at a level: SVG, legend HTML, classes and the frame behind it."""
    unit_k = unit_kind(ind.get("unit"), ind["id"], ind["name"], level != ind["level"])
    unit = unit_text(ind.get("unit"), unit_k)
    vals = indicator_frame(request, ind["id"], level, period)
    scale = 100.0 if unit_k in ("share", "flag_share") else 1.0
    classes = maps.classify(vals["value"] * scale, k=k, method=classing, polarity=ind.get("polarity"))
    per = vals["period"].iloc[0] if len(vals) else period
    title = f"{ind['name']}, {label(level, plural=True)}, {per}"
    src = f"{publisher_of(request, ind.get('source'))}. " + (
        "Hex cartogram: House of Commons Library, Open Parliament Licence." if kind == "hex"
        else "Boundaries: ONS, OS data © Crown copyright.")
    if level in LSOA_LEVELS:
        pts = dot_frame(request, ind["id"], level, period, region)
        pts = pts.assign(value=pts["value"] * scale)
        pts["text"] = [fmt_value(v / scale, unit_k) for v in pts["value"]]
        base = maps.shapes(atlas_of(request), REGION, "geo", region)
        svg = maps.dots_svg(pts, classes, title=title, level=level, source=src, per_dot=bool(region),
                            outline=base, desc=_map_desc(vals, ind, unit_k, level))
        frame = pts
    else:
        frame = map_frame(request, ind["id"], level, period, kind, region)
        if frame.empty:
            return {"svg": "", "legend": "", "classes": classes, "frame": frame, "title": title, "unit": unit}
        texts = [fmt_value(v, unit_k) if pd.notna(v) else "no data" for v in frame["value"]]
        drawn = frame.assign(value=frame["value"] * scale)
        outline = None
        if level not in (REGION,) and kind == "geo":
            outline = cached(request, "maps:shapes:rgn:geo", lambda: maps.shapes(atlas_of(request), REGION, "geo"))
            outline = outline[outline["country"].isin(set(frame["country"]))]
            if region:
                outline = outline[outline["code"] == region]
        svg = maps.choropleth_svg(drawn, classes, title=title, level=level, source=src, highlight=highlight,
                                  outline=outline, kind=kind, value_text=texts,
                                  desc=_map_desc(vals, ind, unit_k, level))
    legend = maps.legend_html(classes, unit="" if unit_k == "count" else unit)
    return {"svg": svg, "legend": legend, "classes": classes, "frame": frame, "title": title, "unit": unit,
            "kind": unit_k, "scale": scale, "period": per}


def publisher_of(request: Request, path: str | None) -> str:
    src = cached(request, "sources", lambda: all_sources(atlas_of(request)))
    row = src[src["path"] == path]
    if row.empty:
        return str(path or "")
    r = row.iloc[0]
    return f"{r['publisher']}, {r['title']}" if r.get("title") else str(r["publisher"])


def _map_desc(vals: pd.DataFrame, ind: dict[str, Any], unit_k: str, level: str) -> str:
    v = vals.dropna(subset=["value"]).sort_values("value")
    if v.empty:
        return "No values."
    lo, hi = v.iloc[0], v.iloc[-1]
    return (f"{len(v):,} {label(level, plural=True)}. Highest: {hi['name']} ({fmt_value(hi['value'], unit_k)}); "
            f"lowest: {lo['name']} ({fmt_value(lo['value'], unit_k)}).")


def indicator_series(request: Request, indicator: str) -> pd.DataFrame:
    """Median and 10th/90th percentiles of an indicator across areas of its level, per period."""
    def make() -> pd.DataFrame:
        atlas = atlas_of(request)
        ind = atlas.indicator(indicator)
        return atlas.query(
            "SELECT period, count(*) AS n, median(value) AS median, quantile_cont(value, 0.1) AS p10, "
            "quantile_cont(value, 0.9) AS p90 FROM observation WHERE indicator = ? AND level = ? "
            "AND value IS NOT NULL GROUP BY period ORDER BY period", [indicator, ind["level"]])
    return cached(request, f"maps:series:{indicator}", make)


def indicator_charts(request: Request, ind: dict[str, Any], level: str, period: str | None,
                     classes: maps.Classes | None = None) -> tuple[str, str]:
    """An indicator's histogram at a level and period, and its trend (median and 10th-90th band)."""
    df = indicator_frame(request, ind["id"], level, period)
    unit_k = unit_kind(ind.get("unit"), ind["id"], ind["name"], level != ind["level"])
    scale = 100.0 if unit_k in ("share", "flag_share") else 1.0
    unit = unit_text(ind.get("unit"), unit_k)
    src = publisher_of(request, ind.get("source"))
    per = df["period"].iloc[0] if len(df) else period
    hist = charts.histogram_svg(df["value"] * scale, title=f"Distribution: {ind['name']}, "
                                f"{label(level, plural=True)}, {per}", unit=unit, source=src,
                                classes=classes) if len(df) else ""
    series = indicator_series(request, ind["id"])
    trend = ""
    if len(series) > 1:
        own = 100.0 if unit_kind(ind.get("unit"), ind["id"], ind["name"]) in ("share",) else 1.0
        trend = charts.line_svg(series["period"].tolist(), (series["median"] * own).tolist(),
                                lower=(series["p10"] * own).tolist(), upper=(series["p90"] * own).tolist(),
                                title=f"{ind['name']}: median of {label(ind['level'], plural=True)} by period "
                                      "(band: 10th to 90th percentile)", unit=unit, source=src)
    return hist, trend


@pages.get("/indicator/{indicator}/chart.svg", response_class=Response)
def indicator_chart_svg(request: Request, indicator: str, chart: Literal["histogram", "trend"] = "histogram",
                        level: str = "", period: str = "") -> Response:
    """An indicator's histogram or trend chart alone, as an SVG download."""
    ind = atlas_of(request).indicator(indicator)
    lv = level or ind["level"]
    check_level(lv)
    hist, trend = indicator_charts(request, ind, lv, period or None)
    svg = hist if chart == "histogram" else trend
    if not svg:
        raise TownhallError(f"{indicator} has no {chart} chart here (a trend needs several periods).")
    return charts.svg_response(svg, f"{indicator}-{chart}-{lv}")


@pages.get("/place/{level}/{code}/chart.svg", response_class=Response)
def place_chart_svg(request: Request, level: str, code: str, indicator: str,
                    chart: Literal["strip", "trend"] = "strip") -> Response:
    """Where a place sits on one indicator (strip) or its values over time (trend), as SVG."""
    prof = atlas_of(request).profile(code, level)
    ind = [i for i in prof["indicators"] if i["id"] == indicator]
    if not ind:
        raise TownhallError(f"{prof['area']['name']} has no value of {indicator}.",
                            hint="See the place's indicators on its page.")
    made = (place_strips(request, prof["area"], ind) if chart == "strip"
            else place_trends(request, prof["area"], ind))
    if not made:
        raise TownhallError(f"No {chart} chart of {indicator} for {prof['area']['name']}"
                            + (" (it has one period)." if chart == "trend" else "."))
    return charts.svg_response(made[0]["svg"], f"{prof['area']['code']}-{indicator}-{chart}")


@pages.get("/indicator/{indicator}")
def indicator_page(request: Request, indicator: str, level: str = "", period: str = "",
                   page: int = 1, sort: str = "-value", q: str = "", region: str = "",
                   kind: MapKind = "geo", classes: Classing = "quantile", k: int = Query(5, ge=3, le=7)) -> HTMLResponse:
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    lv = level or ind["level"]
    check_level(lv)
    df = indicator_frame(request, indicator, lv, period or None)
    per = df["period"].iloc[0] if len(df) else (period or None)
    unit_k = unit_kind(ind.get("unit"), ind["id"], ind["name"], lv != ind["level"])
    # The map and charts depend only on the choices in the URL: drawn once per app and kept.
    key = f"maps:drawn:{indicator}:{lv}:{period}:{kind}:{region}:{classes}:{k}"
    m = drawn(request, key, lambda: indicator_map(request, ind, lv, period or None, kind=kind, region=region or None,
                                                   classing=classes, k=k)) if lv in map_levels(ind) else None
    hist, trend = drawn(request, f"{key}:charts",
                         lambda: indicator_charts(request, ind, lv, per, m["classes"] if m else None))
    shown = df
    if q.strip():
        needle = q.strip().lower()
        shown = shown[shown["name"].str.lower().str.contains(needle, regex=False)
                      | shown["area"].str.lower().str.contains(needle, regex=False)]
    shown = sort_frame(shown, sort, ("name", "-name", "area", "value", "-value", "pct", "-pct", "rank", "-rank"))
    shown, info = paginate(shown, page)
    rows = []
    for r in records(shown):
        r["value_text"] = fmt_value(r["value"], unit_k)
        r["interval_text"] = fmt_interval(r.get("lower"), r.get("upper"), unit_k)
        rows.append(r)
    params = {"level": level, "period": period}
    here = {"level": level, "period": period, "region": region, "kind": kind if kind != "geo" else "",
            "classes": classes if classes != "quantile" else "", "k": k if k != 5 else ""}
    has_hex = lv in HEX_LEVELS
    return render(request, "indicator.html", ind=ind, level=lv, period=per,
                   periods=atlas.periods(indicator), levels=_indicator_levels(ind),
                   rows=rows, pager=info, sort=sort, q=q, unit_kind=unit_k,
                   unit=unit_text(ind.get("unit"), unit_k), map=m, hist=hist, trend=trend,
                   regions=zoom_regions(request), region=region, kind=kind, classes=classes, k=k,
                   has_hex=has_hex, here=here, source=publisher_of(request, ind.get("source")),
                   columns=[c for c in df.columns if df[c].notna().any()],
                   params=params, plural=label(lv, plural=True),
                   svg_url=f"/indicator/{quote(indicator)}/map.svg" + qs(**here),
                   geojson_url=f"/api/indicator/{quote(indicator)}/map.geojson" + qs(level=level, period=period,
                                                                                      region=region),
                   json_url=f"/api/values/{quote(indicator)}" + qs(**params),
                   csv_url=f"/api/values/{quote(indicator)}" + qs(**params, format="csv"),
                   xlsx_url=f"/api/values/{quote(indicator)}" + qs(**params, format="xlsx"))


@pages.get("/indicator/{indicator}/map.svg", response_class=Response)
def indicator_map_svg(request: Request, indicator: str, level: str = "", period: str = "", region: str = "",
                      kind: MapKind = "geo", classes: Classing = "quantile",
                      k: int = Query(5, ge=3, le=7)) -> Response:
    """The indicator's map alone, as an SVG download."""
    ind = atlas_of(request).indicator(indicator)
    lv = level or ind["level"]
    check_level(lv)
    if lv not in map_levels(ind):
        raise TownhallError(f"No map of {indicator} at {label(lv, plural=True)}.",
                            hint="Levels with maps: " + ", ".join(map_levels(ind)))
    m = indicator_map(request, ind, lv, period or None, kind=kind, region=region or None, classing=classes, k=k)
    return charts.svg_response(m["svg"], f"{indicator}-{lv}-{m.get('period')}")


@api.get("/indicator/{indicator}/map.geojson", summary="An indicator's map as GeoJSON", responses=GEOJSON_RESPONSES)
def api_indicator_geojson(request: Request, indicator: str, level: str = "", period: str = "",
                          region: str = "") -> Response:
    """The simplified shapes of a level (British National Grid metres) with the indicator's values,
    rank (1 = highest) and interval as properties."""
    import json

    ind = atlas_of(request).indicator(indicator)
    lv = level or ind["level"]
    check_level(lv, MAP_LEVELS, "map level")
    f = map_frame(request, indicator, lv, period or None, "geo", region or None)
    gj = maps.geojson(f[["code", "name", "value", "lower", "upper", "rank", "of", "region", "path", "minx", "miny",
                         "maxx", "maxy"]])
    return Response(json.dumps(gj), media_type="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="{indicator}-{lv}.geojson"'})


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
