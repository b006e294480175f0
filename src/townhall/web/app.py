"""The web atlas: server-rendered HTML pages and a JSON/CSV API over one :class:`~townhall.api.Atlas`.

Datasette style: every page has the JSON behind it under ``/api/...`` and every
table a page shows can be downloaded as CSV. The views are thin: they call the
Atlas, shape frames for templates or JSON, and hold no analysis of their own.

>>> from townhall.web.app import create_app
>>> app = create_app(Path("atlas.duckdb"))       # then: uvicorn.run(app, host="127.0.0.1")

Layout, so the later web atlas (maps, comparisons) can grow in place:

- ``api`` router: ``/api/...`` JSON and CSV, documented in the OpenAPI schema;
- ``pages`` router: HTML pages rendered from ``templates/`` with ``static/style.css``;
- routers of other areas (:data:`AREA_ROUTERS`, e.g. ``townhall.web.towns``) join the
  same app, templates, atlas and cache;
- offline OpenAPI docs at ``/docs`` (Swagger UI 5 from the ``swagger-ui-py``
  package, served locally: no CDN);
- one error handler turns every :class:`~townhall.errors.TownhallError` into a
  JSON error (``/api``) or an error page (elsewhere) with the right status.
"""

from __future__ import annotations

import bisect
import importlib
import math
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from townhall import __version__
from townhall.api import (
    LEVELS,
    ROLLUP_LEVELS,
    AmbiguousPlaceError,
    Atlas,
    open_atlas,
)
from townhall.api import (
    records as _records,
)
from townhall.errors import (
    AtlasMissingError,
    DataMissingError,
    PlaceNotFoundError,
    TownhallError,
    UnknownIndicatorError,
)
from townhall.places.census import PROFILE_LEVELS

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

#: Rows per page of the HTML tables (the CSV and JSON always carry every row).
PAGE_SIZE = 200

#: Plural nouns for "better than X% of ...".
LEVEL_PLURAL = {
    "lad": "councils",
    "town": "towns and cities",
    "pcon24": "constituencies (2024)",
    "cty": "county councils",
    "cauth": "combined authorities",
    "rgn": "regions",
    "ctry": "countries",
    "bua22": "built-up areas",
    "ttwa11": "travel-to-work areas",
    "pcon10": "constituencies (2010)",
    "msoa21": "MSOAs (2021)",
    "lsoa21": "LSOAs (2021)",
    "msoa11": "MSOAs (2011)",
    "lsoa11": "LSOAs (2011)",
}

SCHEME_NAMES = {
    "ons_town_size": "ONS town size",
    "coastal_detailed": "Coastal (detailed)",
    "region": "Region (ONS towns table)",
    "income_deprivation": "Income deprivation (ONS towns)",
    "job_density": "Job density (ONS towns)",
    "coastal": "Coastal",
    "university": "University",
    "ttwa_class": "Travel-to-work-area class",
    "hocl_city_town": "City/town class (House of Commons Library)",
    "ruc2011": "Rural-urban classification 2011",
    "bua22_size": "Built-up area size (2022)",
}

COUNTRIES = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland", "K": "cross-border"}

LICENCE_URLS = {
    "OGL-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "Open-Parliament-Licence": "https://www.parliament.uk/site-information/copyright-parliament/open-parliament-licence/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "GPL-3.0": "https://www.gnu.org/licenses/gpl-3.0.html",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}

# Swagger UI's files ship in a PyPI package (swagger-ui-py, Swagger UI 5: the first major
# version that reads FastAPI's OpenAPI 3.1) so /docs works with no network.
try:
    import swagger_ui as _swagger_ui

    SWAGGER_DIR: Path | None = Path(_swagger_ui.__file__).parent / "static"
except ImportError:  # pragma: no cover - the docs page then says what to install
    SWAGGER_DIR = None

Format = Literal["json", "csv"]


# -- app ----------------------------------------------------------------------------------
def create_app(atlas_path: Path) -> FastAPI:
    """Build the web app over one atlas file.

    Parameters
    ----------
    atlas_path : Path
        The built atlas (DuckDB). It is opened once, read-only, for the life of the
        app; each worker thread gets its own cursor.

    Returns
    -------
    FastAPI
        Serve it with ``uvicorn.run(app, host="127.0.0.1", port=...)``.

    Raises
    ------
    AtlasMissingError
        If there is no atlas at ``atlas_path``.
    """
    atlas = open_atlas(atlas_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        atlas.close()

    app = FastAPI(
        title="townhall",
        version=__version__,
        description=(
            "Place-based policy for England and Wales: every council, constituency, town and "
            "neighbourhood, with indicators from open data. Every HTML page has its JSON here; "
            "tables also come as CSV (`format=csv`)."
        ),
        docs_url=None,  # served below from local files, never a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.atlas = atlas
    app.state.cache = {}
    app.state.site = _site_info(atlas)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if SWAGGER_DIR is not None:
        app.mount("/swagger-ui", StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    app.include_router(api)
    app.include_router(pages)
    for router in _area_routers():
        app.include_router(router)
    app.add_api_route("/docs", _docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_exception_handler(TownhallError, _townhall_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


#: Modules of other areas that add pages and API routes (each exposes ``router``).
AREA_ROUTERS = ("towns", "assembly")


def _area_routers() -> list[APIRouter]:
    # Imported here, not at the top: the area modules import this module's helpers.
    return [importlib.import_module(f"townhall.web.{name}").router for name in AREA_ROUTERS]


def _atlas(request: Request) -> Atlas:
    return request.app.state.atlas


def _cached(request: Request, key: str, make: Any) -> pd.DataFrame:
    """An atlas-wide list (levels, indicators, sources), read once per app.

    The atlas file is immutable once built and the app holds one connection to
    it, so these never go stale; callers get a copy they may change.
    """
    cache = request.app.state.cache
    if key not in cache:
        cache[key] = make()
    return cache[key].copy()


def _site_info(atlas: Atlas) -> dict[str, Any]:
    """Facts every page shows: build metadata and the main publishers (for the footer)."""
    src = atlas.sources()
    # Which levels link to which: the place page offers "places within" only where links exist.
    pairs = atlas.query("SELECT DISTINCT parent_level, child_level FROM area_link")
    within: dict[str, list[str]] = {}
    for lv in LEVELS:  # children in the order people most likely mean them
        for parent in pairs.loc[pairs["child_level"] == lv, "parent_level"]:
            within.setdefault(parent, []).append(lv)
    pubs = Counter(p.strip() for ps in src["publisher"].dropna() for p in str(ps).split(";"))
    return {"meta": atlas.meta(), "publishers": sorted(pubs, key=lambda p: (-pubs[p], p))[:6],
            "version": __version__, "within": within}


def _docs() -> HTMLResponse:
    if SWAGGER_DIR is None:
        return HTMLResponse(
            "<!doctype html><title>API docs</title><p>Offline API docs need the "
            "<code>swagger-ui-py</code> package (<code>pip install swagger-ui-py</code>). "
            'The schema itself is at <a href="/openapi.json">/openapi.json</a>.</p>'
        )
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="townhall API",
        swagger_js_url="/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        # null: no badge fetched from the public validator
        swagger_ui_parameters={"validatorUrl": None},
    )


# -- errors -------------------------------------------------------------------------------
def _status(exc: TownhallError) -> int:
    if isinstance(exc, PlaceNotFoundError | UnknownIndicatorError):
        return 404
    if isinstance(exc, AmbiguousPlaceError):
        return 300
    if isinstance(exc, AtlasMissingError | DataMissingError):
        return 503
    return 400  # a bad level, period or roll-up: the request is at fault


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


async def _townhall_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TownhallError)
    status = _status(exc)
    suggestions = getattr(exc, "suggestions", [])
    matches = getattr(exc, "matches", None)
    if _is_api(request):
        body: dict[str, Any] = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
        if isinstance(exc, PlaceNotFoundError):
            body["suggestions"] = [_parse_suggestion(s) for s in suggestions]
        if matches is not None:
            body["matches"] = _records(matches)
        return JSONResponse(body, status_code=status)
    return _render(
        request, "error.html", status_code=status,
        title="Not found" if status == 404 else "Cannot show this",
        message=exc.message, hint=exc.hint,
        suggestions=[_parse_suggestion(s) for s in suggestions],
        matches=None if matches is None else _records(matches),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request):
        return JSONResponse({"error": "HTTPError", "message": str(exc.detail), "hint": None},
                            status_code=exc.status_code, headers=exc.headers)
    return _render(request, "error.html", status_code=exc.status_code,
                   title="Not found" if exc.status_code == 404 else "Error",
                   message=f"No page at {request.url.path}." if exc.status_code == 404 else str(exc.detail),
                   hint="Search for a place above, or start from the home page.",
                   suggestions=[], matches=None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    bad = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return _render(request, "error.html", status_code=400, title="Bad request",
                   message=f"Some of this page's parameters are not valid ({bad}).", hint=None,
                   suggestions=[], matches=None)


_SUGGESTION = re.compile(r"^(?P<name>.*) \((?P<level>\w+), (?P<code>[^)]+)\)$")


def _parse_suggestion(s: str) -> dict[str, str | None]:
    """Split Atlas.suggest's ``"Name (level, code)"`` so pages can link it."""
    m = _SUGGESTION.match(s)
    if not m:
        return {"name": s, "level": None, "code": None, "url": None}
    return {**m.groupdict(), "url": place_url(m["level"], m["code"])}


_GSS = re.compile(r"^[EWSNK]\d{8}$")


def _near_codes(atlas: Atlas, code: str, level: str, n: int = 5) -> list[str]:
    """For a mistyped GSS code, the codes of the level that sort next to it."""
    code = code.strip().upper()
    if not _GSS.match(code):
        return []
    areas = atlas.areas(level)  # ordered by code
    i = bisect.bisect_left(areas["code"].tolist(), code)
    start = max(0, i - n // 2)
    near = areas.iloc[start : start + n]
    return [f"{r.name} ({level}, {r.code})" for r in near.itertuples()]


# -- helpers ------------------------------------------------------------------------------
def place_url(level: str, code: str) -> str:
    """Path of a place page."""
    return f"/place/{quote(level)}/{quote(code)}"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _csv(df: pd.DataFrame, name: str) -> Response:
    safe = _UNSAFE.sub("_", name)  # names carry request text (a period): keep the header plain
    return Response(
        df.to_csv(index=False),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


def _table(df: pd.DataFrame, fmt: str, name: str, **extra: Any) -> Any:
    """Return a frame as CSV, or as JSON ``{**extra, "count": n, "rows": [...]}``."""
    if fmt == "csv":
        return _csv(df, name)
    return {**extra, "count": len(df), "rows": _records(df)}


def _qs(**params: Any) -> str:
    """A query string of the non-empty params (leading '?', or '' if none)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def _paginate(df: pd.DataFrame, page: int) -> tuple[pd.DataFrame, dict[str, int]]:
    pages = max(1, math.ceil(len(df) / PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    info = {"page": page, "pages": pages, "first": start + 1 if len(df) else 0,
            "last": min(start + PAGE_SIZE, len(df)), "total": len(df)}
    return df.iloc[start : start + PAGE_SIZE], info


def _sorted(df: pd.DataFrame, sort: str | None, allowed: tuple[str, ...]) -> pd.DataFrame:
    """Sort by ``sort`` (a column, '-' prefix for descending) if allowed, missing values last."""
    if not sort:
        return df
    col, asc = (sort[1:], False) if sort.startswith("-") else (sort, True)
    if col not in allowed or col not in df.columns:
        raise TownhallError(f"Cannot sort by {sort!r}.", hint="Sort by: " + ", ".join(allowed))
    return df.sort_values(col, ascending=asc, na_position="last", kind="stable")


def fmt_num(v: Any, digits: int | None = None) -> str:
    """A number for people: thousands separators, few decimals, '–' for missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "–"
    if digits is not None:
        return f"{x:,.{digits}f}"
    if x == int(x):
        return f"{int(x):,}"
    ax = abs(x)
    if ax < 0.01:  # tiny rates: two significant figures rather than a misleading 0
        return f"{x:.2g}"
    d = 0 if ax >= 1000 else 1 if ax >= 100 else 2 if ax >= 1 else 3
    s = f"{x:,.{d}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _ordinal(n: Any) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "–"
    i = round(float(n))
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"


def _indicator_rows(inds: list[dict[str, Any]], plural: str) -> list[dict[str, Any]]:
    """Profile indicators with their display text worked out once, in Python.

    A council has a couple of hundred indicators; formatting them here rather
    than in Jinja macros keeps the place page well inside its time budget.
    """
    out = []
    for i in inds:
        pct, better = i.get("pct"), i.get("better_than_pct")
        lo, hi = i.get("lower"), i.get("upper")
        if pct is None:
            standing, bar, cls, compared = "–", None, "", "–"
        else:
            b = better if better is not None else pct
            standing, bar = _ordinal(pct), round(pct, 1)
            cls = "" if better is None else "good" if b >= 60 else "bad" if b <= 40 else ""
            compared = "neutral" if better is None else f"better than {round(better)}% of {plural}"
        out.append({
            "id": i["id"], "name": i["name"], "period": i.get("period"), "unit": i.get("unit") or "",
            "derived": bool(i.get("derived")), "value": fmt_num(i.get("value")),
            "interval": f"({fmt_num(lo)}–{fmt_num(hi)})" if lo is not None and hi is not None else "",
            "standing": standing, "bar": bar, "bar_class": cls, "compared": compared,
            "neutral": better is None,
        })
    return out


def _sentence(text: Any) -> str:
    """First letter up, the rest as written (Jinja's ``capitalize`` lowercases 'ONS')."""
    t = str(text or "").replace("_", " ")
    return t[:1].upper() + t[1:]


def _scheme(scheme: str) -> str:
    return SCHEME_NAMES.get(scheme) or _sentence(scheme)


def _licences(licence: str | None) -> list[dict[str, str | None]]:
    """A licence field (e.g. ``OGL-3.0+Open-Parliament-Licence``) as named links."""
    if not licence:
        return [{"name": "unstated", "url": None}]
    return [{"name": part, "url": LICENCE_URLS.get(part)} for part in licence.split("+")]


templates.env.filters["num"] = fmt_num
templates.env.filters["ordinal"] = _ordinal
templates.env.filters["licences"] = _licences
templates.env.filters["sentence"] = _sentence
templates.env.filters["scheme"] = _scheme
templates.env.globals.update(
    place_url=place_url, LEVELS=LEVELS, LEVEL_PLURAL=LEVEL_PLURAL, SCHEME_NAMES=SCHEME_NAMES,
    COUNTRIES=COUNTRIES, qs=_qs, PROFILE_LEVELS=PROFILE_LEVELS,
)


def _render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    site = getattr(request.app.state, "site", {"meta": {}, "publishers": [], "version": __version__})
    return templates.TemplateResponse(request, name, {"site": site, **ctx}, status_code=status_code)


# -- attribution --------------------------------------------------------------------------
OGL_STATEMENT = "Contains public sector information licensed under the Open Government Licence v3.0."
ONS_STATEMENT = "Source: Office for National Statistics licensed under the Open Government Licence v.3.0"
OS_STATEMENT = "Contains OS data © Crown copyright and database right 2024"
OPL_STATEMENT = "Contains Parliamentary information licensed under the Open Parliament Licence v3.0."
OSM_STATEMENT = "© OpenStreetMap contributors"

_GEOMETRY = re.compile(r"bound|centroid|topojson|geojson|_bgc|_buc|_bfc|pwc", re.IGNORECASE)


def attributions(sources: pd.DataFrame) -> list[dict[str, Any]]:
    """The attribution statements the given sources' licences require.

    Parameters
    ----------
    sources : DataFrame
        Columns path, title, publisher, licence.

    Returns
    -------
    list of dict
        Each with ``statement``, ``licence`` (a link name, or None), ``url`` and
        ``caution`` (True for sources whose licence is not stated).
    """
    src = sources.fillna("")
    lic = src["licence"].astype(str)
    pub = src["publisher"].astype(str)
    text = (src["path"].astype(str) + " " + src["title"].astype(str))
    out: list[dict[str, Any]] = []

    def add(statement: str, licence: str | None, caution: bool = False) -> None:
        out.append({"statement": statement, "licence": licence,
                    "url": LICENCE_URLS.get(licence or ""), "caution": caution})

    if lic.str.contains("OGL").any():
        add(OGL_STATEMENT, "OGL-3.0")
    if pub.str.contains(r"\bONS\b|Office for National Statistics").any():
        add(ONS_STATEMENT, "OGL-3.0")
    if text.str.contains(_GEOMETRY).any() or pub.str.contains("Ordnance Survey").any():
        add(OS_STATEMENT, "OGL-3.0")
    if lic.str.contains("Open-Parliament").any():
        add(OPL_STATEMENT, "Open-Parliament-Licence")
    for p in sorted(set(pub[lic.str.contains("CC-BY")])):
        add(f"Contains data from {p}, licensed under Creative Commons Attribution 4.0 (CC BY 4.0).",
            "CC-BY-4.0")
    if lic.str.contains("ODbL").any() or text.str.contains("openstreetmap", case=False).any():
        add(f"{OSM_STATEMENT}, licensed under the Open Database Licence (ODbL).", "ODbL-1.0")
    for p in sorted(set(pub[lic.str.contains("GPL")])):
        add(f"Sortition test fixtures from {p} are licensed under the GNU GPL v3.0; townhall uses "
            "them only as an independent reference in tests and benchmarks.", "GPL-3.0")
    unstated = src[(lic == "") | lic.str.contains("unstated")]
    for p, files in unstated.groupby("publisher", sort=True):
        n = len(files)
        add(f"No licence is stated for {n} file{'s' if n != 1 else ''} from {p or 'an unnamed publisher'}"
            f" (marked 'unstated' below). {'They are' if n != 1 else 'It is'} cited with its "
            "origin and publisher; check the publisher's terms before reuse.", None, caution=True)
    return out


def _all_sources(atlas: Atlas) -> pd.DataFrame:
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
api = APIRouter(prefix="/api", tags=["api"])


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
    atlas = _atlas(request)
    df = atlas.find(q, level=level or None, limit=limit)
    if format == "csv":
        return _csv(df, "search")
    suggestions = [] if len(df) else [_parse_suggestion(s) for s in atlas.suggest(q)]
    rows = _records(df)
    for r in rows:
        r["url"] = place_url(r["level"], r["code"])
    return {"query": q, "level": level, "count": len(rows), "rows": rows, "suggestions": suggestions}


@api.get("/place/{level}/{code}", summary="A place's profile")
def api_place(request: Request, level: str, code: str) -> dict[str, Any]:
    """Everything the atlas holds about one place: area, parents, classes, latest
    indicators with percentiles (``better_than_pct`` uses the indicator's polarity) and
    sources with licences. Same as ``Atlas.profile``."""
    return _atlas(request).profile(code, level)


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
    prof = _atlas(request).profile(code, level)
    rows = prof[table]
    if table == "classes":
        rows = [{"scheme": k, "class": v} for k, v in rows.items()]
    df = pd.DataFrame(rows, columns=None if rows else PLACE_TABLE_COLUMNS[table])
    return _table(df, format, f"{prof['area']['code']}-{table}", area=prof["area"]["code"],
                  level=prof["area"]["level"])


@api.get("/place/{level}/{code}/within/{child_level}", summary="Places within a place")
def api_within(request: Request, level: str, code: str, child_level: str,
               format: Format = "json") -> Any:
    """Areas of ``child_level`` linked to this place, with the share of each (link weight),
    population and link method."""
    area, df = _within(request, level, code, child_level)
    return _table(df, format, f"{area.code}-{child_level}", area=area.code, level=area.level,
                  child_level=child_level)


def _within(request: Request, level: str, code: str, child_level: str) -> tuple[Any, pd.DataFrame]:
    atlas = _atlas(request)
    for lv in (level, child_level):
        if lv not in LEVELS:
            raise TownhallError(f"Unknown level {lv!r}.", hint="Levels: " + ", ".join(LEVELS))
    area = atlas.area(code, level)
    return area, atlas.children(area.code, area.level, child_level)


@api.get("/levels", summary="Levels held in the atlas")
def api_levels(request: Request, format: Format = "json") -> Any:
    """Every level with its description and number of areas."""
    return _table(_levels(request), format, "levels")


@api.get("/areas/{level}", summary="All areas of a level")
def api_areas(request: Request, level: str, country: str | None = None,
              format: Format = "json") -> Any:
    """Every area of ``level``: code, name, country, centroid, population and its year."""
    df = _atlas(request).areas(level, country=country or None)
    return _table(df, format, f"areas-{level}", level=level)


@api.get("/indicators", summary="Registered indicators")
def api_indicators(request: Request, topic: str | None = None, level: str | None = None,
                   format: Format = "json") -> Any:
    """Indicators with id, name, topic, unit, polarity, level, roll-up rule, source, periods."""
    return _table(_indicators(request, topic, level), format, "indicators")


@api.get("/indicator/{indicator}", summary="One indicator")
def api_indicator(request: Request, indicator: str) -> dict[str, Any]:
    """An indicator's registration, its periods and the levels its values can be read at."""
    atlas = _atlas(request)
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
    atlas = _atlas(request)
    ind = atlas.indicator(indicator)
    df = atlas.values(indicator, level=level or None, period=period or None)
    lv = level or ind["level"]
    per = df["period"].iloc[0] if len(df) else period
    return _table(df, format, f"values-{indicator}-{lv}-{per}", indicator=indicator, level=lv,
                  period=per)


@api.get("/sources", summary="Sources and licences")
def api_sources(request: Request, format: Format = "json") -> Any:
    """Every source (``in_atlas`` says whether this atlas was built from it) and the
    attribution statements their licences require."""
    df = _sources(request)
    if format == "csv":
        return _csv(df, "sources")
    return {"count": len(df), "rows": _records(df), "attributions": attributions(df)}


def _levels(request: Request) -> pd.DataFrame:
    return _cached(request, "levels", _atlas(request).levels)


def _indicators(request: Request, topic: str | None = None, level: str | None = None) -> pd.DataFrame:
    """Registered indicators, optionally of one topic and level (as Atlas.indicators)."""
    df = _cached(request, "indicators", _atlas(request).indicators)
    if topic:
        df = df[df["topic"] == topic]
    if level:
        df = df[df["level"] == level]
    return df.reset_index(drop=True)


def _sources(request: Request) -> pd.DataFrame:
    return _cached(request, "sources", lambda: _all_sources(_atlas(request)))


def _indicator_levels(ind: dict[str, Any]) -> list[str]:
    """The indicator's own level, then the levels small-area values roll up to."""
    if ind.get("agg") == "none":
        return [ind["level"]]
    return [ind["level"], *[lv for lv in ROLLUP_LEVELS if lv != ind["level"]]]


# -- HTML pages ---------------------------------------------------------------------------
pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@pages.get("/")
def home(request: Request) -> HTMLResponse:
    return _render(request, "home.html", levels=_records(_levels(request)), json_url="/api")


@pages.get("/search")
def search(request: Request, q: str = "", level: str = "") -> Response:
    atlas = _atlas(request)
    q = q.strip()
    rows: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    if q:
        df = atlas.find(q, level=level or None, limit=50)
        # One exact hit is what the person meant: go straight to it.
        if len(df) == 1 and df["match"].iloc[0] in ("code", "exact"):
            return RedirectResponse(place_url(df["level"].iloc[0], df["code"].iloc[0]), 303)
        rows = _records(df)
        if not rows:
            suggestions = [_parse_suggestion(s) for s in atlas.suggest(q)]
    return _render(request, "search.html", q=q, level=level, rows=rows, suggestions=suggestions,
                   json_url="/api/search" + _qs(q=q, level=level) if q else None,
                   csv_url="/api/search" + _qs(q=q, level=level, format="csv") if q else None)


@pages.get("/place/{level}/{code}")
def place(request: Request, level: str, code: str) -> Response:
    atlas = _atlas(request)
    try:
        prof = atlas.profile(code, level)
    except AmbiguousPlaceError as exc:
        return _render(request, "search.html", q=code, level=level, rows=_records(exc.matches),
                       suggestions=[], json_url=None, csv_url=None)
    except PlaceNotFoundError as exc:
        # The code may exist at another level (/place/town/E08000010): offer those too.
        elsewhere = atlas.find(code, limit=10)
        exc.suggestions = [
            f"{r.name} ({r.level}, {r.code})" for r in elsewhere.itertuples()
        ] + list(exc.suggestions) + _near_codes(atlas, code, level)
        raise
    area = prof["area"]
    if area["code"] != code:  # reached by name: send to the canonical address
        return RedirectResponse(place_url(area["level"], area["code"]), 307)
    plural = LEVEL_PLURAL.get(area["level"], "areas")
    topics: dict[str, list[dict[str, Any]]] = {}
    for i, row in zip(prof["indicators"], _indicator_rows(prof["indicators"], plural), strict=True):
        topics.setdefault(i["topic"] or "other", []).append(row)
    base = f"/api/place/{quote(level)}/{quote(code)}"
    pairings = None
    if area["level"] == "town":
        from townhall.web.towns import town_pairings  # the towns module imports this one

        try:
            pairings = town_pairings(request, area["code"])
        except TownhallError:  # an atlas without cities (a partial build): show the rest
            pairings = None
    return _render(request, "place.html", p=prof, area=area,
                   headline=_indicator_rows(prof.get("headline", []), plural), topics=topics,
                   plural=plural, api_base=base, json_url=base, pairings=pairings)


@pages.get("/place/{level}/{code}/within/{child_level}")
def within_page(request: Request, level: str, code: str, child_level: str,
                page: int = 1, sort: str = "name") -> HTMLResponse:
    area, df = _within(request, level, code, child_level)
    df = _sorted(df, sort, ("name", "code", "population", "-population", "weight", "-weight"))
    shown, info = _paginate(df, page)
    api_url = f"/api/place/{quote(level)}/{quote(code)}/within/{quote(child_level)}"
    return _render(request, "within.html", area=area, child_level=child_level,
                   rows=_records(shown), pager=info, sort=sort,
                   json_url=api_url, csv_url=api_url + "?format=csv")


@pages.get("/levels")
def levels(request: Request) -> HTMLResponse:
    return _render(request, "levels.html", levels=_records(_levels(request)),
                   json_url="/api/levels", csv_url="/api/levels?format=csv")


@pages.get("/level/{level}")
def level_page(request: Request, level: str, page: int = 1, sort: str = "name") -> HTMLResponse:
    df = _atlas(request).areas(level)
    df = _sorted(df, sort, ("name", "code", "population", "-population", "-name", "-code"))
    shown, info = _paginate(df, page)
    return _render(request, "level.html", level=level, rows=_records(shown), pager=info, sort=sort,
                   json_url=f"/api/areas/{quote(level)}",
                   csv_url=f"/api/areas/{quote(level)}?format=csv")


@pages.get("/indicators")
def indicators_page(request: Request, topic: str = "", level: str = "") -> HTMLResponse:
    every = _indicators(request)
    df = _indicators(request, topic, level)
    topics: dict[str, list[dict[str, Any]]] = {}
    for r in _records(df):
        topics.setdefault(r["topic"] or "other", []).append(r)
    return _render(request, "indicators.html", topics=topics, count=len(df), topic=topic,
                   level=level, all_topics=sorted(every["topic"].dropna().unique()),
                   all_levels=[lv for lv in LEVELS if lv in set(every["level"])],
                   json_url="/api/indicators" + _qs(topic=topic, level=level),
                   csv_url="/api/indicators" + _qs(topic=topic, level=level, format="csv"))


@pages.get("/indicator/{indicator}")
def indicator_page(request: Request, indicator: str, level: str = "", period: str = "",
                   page: int = 1, sort: str = "") -> HTMLResponse:
    atlas = _atlas(request)
    ind = atlas.indicator(indicator)
    lv = level or ind["level"]
    df = atlas.values(indicator, level=lv, period=period or None)
    per = df["period"].iloc[0] if len(df) else (period or None)
    df = _sorted(df, sort, ("name", "area", "value", "-value", "pct", "-pct"))
    shown, info = _paginate(df, page)
    params = {"level": level, "period": period}
    return _render(request, "indicator.html", ind=ind, level=lv, period=per,
                   periods=atlas.periods(indicator), levels=_indicator_levels(ind),
                   rows=_records(shown), pager=info, sort=sort,
                   # only the columns that hold something for this indicator
                   columns=[c for c in df.columns if df[c].notna().any()],
                   params=params, plural=LEVEL_PLURAL.get(lv, "areas"),
                   json_url=f"/api/values/{quote(indicator)}" + _qs(**params),
                   csv_url=f"/api/values/{quote(indicator)}" + _qs(**params, format="csv"))


@pages.get("/sources")
def sources_page(request: Request) -> HTMLResponse:
    df = _sources(request)
    return _render(request, "sources.html", used=_records(df[df["in_atlas"]]),
                   declared=_records(df[~df["in_atlas"]]), attributions=attributions(df),
                   json_url="/api/sources", csv_url="/api/sources?format=csv")
