"""The web toolkit: what every area's router shares.

Rendering (one Jinja2 environment and the base template), tables as JSON or
CSV, paging and sorting, number formatting, place links and suggestions, a
per-app cache, and :func:`page_and_api`, which registers an HTML page and its
``/api/...`` twin from ONE view function that returns data (the datasette
pattern): no page computes anything that the API does not expose.

An area router (``web/places.py``, ``web/towns.py``, ``web/assembly.py``, and
the wings') imports from here and from the analysis layer only; the app
factory (:mod:`townhall.web.app`) includes the routers.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import inspect
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from townhall.atlas.store import Atlas, records
from townhall.errors import TownhallError
from townhall.levels import LEVEL_PLURAL, LEVELS, label
from townhall.places.census import PROFILE_LEVELS
from townhall.sources.licences import licence_links
from townhall.version import __version__

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

Format = Literal["json", "csv", "xlsx"]

#: Rows per page of the HTML tables (the CSV and JSON always carry every row).
PAGE_SIZE = 200

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


def atlas_of(request: Request) -> Atlas:
    """The atlas this request is answered from (read-only; a rebuilt atlas replaces it
    between requests, see :mod:`townhall.web.cache`)."""
    served = request.scope.get("state", {}).get("served")
    return served.atlas if served is not None else request.app.state.atlas


def cached(request: Request, key: str, make: Callable[[], Any], *, disk: bool = False) -> Any:
    """An atlas-wide result (levels, indicators, a pairing, a comparison), computed once per atlas.

    Kept in memory per process (bounded: the least recently used go first) and keyed by the
    atlas's fingerprint, so a rebuilt atlas never gets an old answer. With ``disk=True`` the
    result is also kept beside the atlas and shared by the server's worker processes (for
    expensive analyses: a comparison, a town's gaps). Concurrent requests for the same key
    wait for one computation. Frames come back as copies the caller may change.
    """
    served = request.scope.get("state", {}).get("served")
    if served is not None:
        value = served.cached(key, make, disk=disk)
    else:  # an app without the guard (a bare router in a test): a plain per-app dict
        cache = request.app.state.cache
        if key not in cache:
            cache[key] = make()
        value = cache[key]
    return value.copy() if isinstance(value, pd.DataFrame) else value


_WARMING = threading.local()


@contextlib.contextmanager
def warming() -> Iterator[None]:
    """Within it, :func:`slow` works results out ahead of requests: kept beside the atlas only,
    not in this process's memory (the server's warm-up)."""
    _WARMING.on = True
    try:
        yield
    finally:
        _WARMING.on = False


def slow(app: FastAPI, key: str, make: Callable[[], Any]) -> Any:
    """A slow result computed once per server: kept beside the atlas and shared by the worker
    processes; other requests for it wait instead of recomputing. Within :func:`warming` it is
    only made and kept (and None is returned)."""
    served = app.state.holder.get()
    if getattr(_WARMING, "on", False):
        served.precompute(key, make)
        return None
    return served.cached(key, make, disk=True)


_SUGGESTION = re.compile(r"^(?P<name>.*) \((?P<level>\w+), (?P<code>[^)]+)\)$")


def parse_suggestion(s: str) -> dict[str, str | None]:
    """Split Atlas.suggest's ``"Name (level, code)"`` so pages can link it."""
    m = _SUGGESTION.match(s)
    if not m:
        return {"name": s, "level": None, "code": None, "url": None}
    return {**m.groupdict(), "url": place_url(m["level"], m["code"])}


GSS = re.compile(r"^[EWSNK]\d{8}$")


def near_codes(atlas: Atlas, code: str, level: str, n: int = 5) -> list[str]:
    """For a mistyped GSS code, the codes of the level that sort next to it."""
    code = code.strip().upper()
    if not GSS.match(code):
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


def csv_response(df: pd.DataFrame, name: str) -> Response:
    safe = _UNSAFE.sub("_", name)  # names carry request text (a period): keep the header plain
    return Response(
        df.to_csv(index=False),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


def xlsx_response(df: pd.DataFrame, name: str) -> Response:
    """A frame as an Excel workbook (one sheet, written with openpyxl)."""
    import io

    safe = _UNSAFE.sub("_", name)
    buf = io.BytesIO()
    out = df.copy()
    for c in out.columns:  # Excel has no time zones and no nested values
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v))
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        out.to_excel(xw, index=False, sheet_name=safe[:31] or "table")
    return Response(buf.getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.xlsx"'})


def table_response(df: pd.DataFrame, fmt: str, name: str, **extra: Any) -> Any:
    """Return a frame as CSV or XLSX, or as JSON ``{**extra, "count": n, "rows": [...]}``."""
    if fmt == "csv":
        return csv_response(df, name)
    if fmt == "xlsx":
        return xlsx_response(df, name)
    return {**extra, "count": len(df), "rows": records(df)}


def qs(**params: Any) -> str:
    """A query string of the non-empty params (leading '?', or '' if none)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def paginate(df: pd.DataFrame, page: int) -> tuple[pd.DataFrame, dict[str, int]]:
    pages = max(1, math.ceil(len(df) / PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    info = {"page": page, "pages": pages, "first": start + 1 if len(df) else 0,
            "last": min(start + PAGE_SIZE, len(df)), "total": len(df)}
    return df.iloc[start : start + PAGE_SIZE], info


def sort_frame(df: pd.DataFrame, sort: str | None, allowed: tuple[str, ...]) -> pd.DataFrame:
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


#: Units that count things (shown as whole numbers, never with '.0').
COUNT_UNITS = ("people", "count", "households", "pupils", "number of enterprises", "dwellings", "facilities",
               "seats", "votes", "libraries", "practices")


def unit_kind(unit: Any, ind_id: str = "", name: str = "", derived: bool = False) -> str:
    """What a unit is, for display: share, percent, ratio, count, money, flag, flag_share, rank or number.

    ``derived``: a value rolled up from smaller areas (a rolled-up flag is the share of
    small areas flagged, not a flag).
    """
    u = str(unit or "").strip().lower()
    text = f"{ind_id} {name}".lower()
    if u.startswith("flag"):
        return "flag_share" if derived else "flag"
    if "ratio" in text and "rate" not in u:
        return "ratio"
    if u == "share" or u.startswith("rate (share") or u == "proportion":
        return "share"
    if u in ("%", "percent", "per cent", "percentage") or u.startswith("% "):
        return "percent"
    if u.startswith("£") or u in ("gbp", "pounds", "£m", "gbp m"):
        return "money"
    if u.startswith(("rank", "decile", "band", "quintile")):
        return "rank"
    if u in COUNT_UNITS or u.startswith(("number of", "count of")):
        return "count"
    return "number"


#: How each kind of unit is named on axes and legends.
KIND_UNITS = {"share": "%", "percent": "%", "flag_share": "% of small areas flagged", "money": "£",
              "ratio": "ratio", "count": "", "rank": "", "flag": "", "number": ""}


def unit_text(unit: Any, kind: str) -> str:
    """The unit as written beside a figure: '%' for shares and percentages, 'ratio', '£', or the unit."""
    t = KIND_UNITS.get(kind, "")
    if kind in ("count", "rank", "number"):
        return str(unit or "")
    return t


def fmt_value(v: Any, kind: str = "number", unit: Any = "") -> str:
    """A value as what it is: shares and percentages with '%', counts whole, money in £, ratios bare."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "–"
    if kind in ("share", "flag_share"):
        return f"{x * 100:.1f}%"
    if kind == "percent":
        return f"{x:.1f}%"
    if kind == "flag":
        return "yes" if x >= 0.5 else "no"
    if kind == "count" or kind == "rank":
        return f"{round(x):,}"
    if kind == "money":
        return f"£{x:,.0f}" if abs(x) >= 100 else f"£{x:,.2f}"
    if kind == "ratio":
        return f"{x:.2f}"
    return fmt_num(x)


def fmt_interval(lo: Any, hi: Any, kind: str = "number") -> str:
    """'(a–b)' for an interval in the value's own format, or '' if either end is missing."""
    if lo is None or hi is None or (isinstance(lo, float) and math.isnan(lo)) or (isinstance(hi, float) and math.isnan(hi)):
        return ""
    return f"({fmt_value(lo, kind)}–{fmt_value(hi, kind)})"


def pct_text(share: Any, digits: int = 0) -> str:
    """A share (0-1) as a percentage: 0.193 -> '19%'."""
    if share is None or (isinstance(share, float) and not math.isfinite(share)):
        return "–"
    return f"{float(share) * 100:.{digits}f}%"


def ordinal(n: Any) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "–"
    i = round(float(n))
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"


def indicator_rows(inds: list[dict[str, Any]], plural: str) -> list[dict[str, Any]]:
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
            standing, bar = ordinal(pct), round(pct, 1)
            cls = "" if better is None else "good" if b >= 60 else "bad" if b <= 40 else ""
            compared = "neutral" if better is None else f"better than {round(better)}% of {plural}"
        kind = unit_kind(i.get("unit"), i["id"], i["name"], bool(i.get("derived")))
        out.append({
            "id": i["id"], "name": i["name"], "period": i.get("period"), "unit": unit_text(i.get("unit"), kind),
            "derived": bool(i.get("derived")), "value": fmt_value(i.get("value"), kind),
            "interval": fmt_interval(lo, hi, kind),
            "standing": standing, "bar": bar, "bar_class": cls, "compared": compared,
            "neutral": better is None,
        })
    return out


def sentence(text: Any) -> str:
    """First letter up, the rest as written (Jinja's ``capitalize`` lowercases 'ONS')."""
    t = str(text or "").replace("_", " ")
    return t[:1].upper() + t[1:]


def scheme_name(scheme: str) -> str:
    return SCHEME_NAMES.get(scheme) or sentence(scheme)





templates.env.filters["num"] = fmt_num
templates.env.filters["pct"] = pct_text
templates.env.filters["value"] = fmt_value
templates.env.filters["ordinal"] = ordinal
templates.env.filters["licences"] = licence_links
templates.env.filters["sentence"] = sentence
templates.env.filters["scheme"] = scheme_name
templates.env.globals.update(
    place_url=place_url, LEVELS=LEVELS, LEVEL_PLURAL=LEVEL_PLURAL, SCHEME_NAMES=SCHEME_NAMES, level_label=label,
    COUNTRIES=COUNTRIES, qs=qs, PROFILE_LEVELS=PROFILE_LEVELS,
)


def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render a template with the site facts (build, publishers) every page shows."""
    site = getattr(request.app.state, "site", {"meta": {}, "publishers": [], "version": __version__})
    return templates.TemplateResponse(request, name, {"site": site, **ctx}, status_code=status_code)


# -- one view, two routes ---------------------------------------------------------------------
@dataclass
class View:
    """What a view function returns: JSON-ready data, and the table the page shows.

    Attributes
    ----------
    data : dict
        Everything the page shows, JSON-ready (the ``/api`` twin returns it as is,
        plus ``count`` and ``rows`` when there is a table).
    table : DataFrame, optional
        The page's main table; ``format=csv`` on the API returns it.
    name : str
        File name stem for the CSV download.
    context : dict
        Extra template-only context (derived from ``data``, e.g. an SVG chart).
    """

    data: dict[str, Any]
    table: pd.DataFrame | None = None
    name: str = "table"
    context: dict[str, Any] = field(default_factory=dict)
    #: Response headers for both routes (e.g. ``Cache-Control: no-store`` for a page still filling in).
    headers: dict[str, str] = field(default_factory=dict)
    #: How many of the table's rows the page gets as ``rows`` (None: all; the downloads always
    #: carry every row). Pages that show their own excerpt of a big table set it low.
    page_rows: int | None = None


def page_and_api(pages: APIRouter, api: APIRouter, path: str, template: str, *,
                 summary: str, tags: list[str] | None = None) -> Callable[[Callable[..., View]], Callable[..., View]]:
    """Register ``path`` (HTML) and ``/api{path}`` (JSON or CSV) from one view function.

    The view takes ``request`` and any query or path parameters (FastAPI reads
    them from its signature, for both routes) and returns a :class:`View`. The
    page renders ``template`` with ``data`` (as ``d``), ``rows`` and the links to
    its JSON and CSV; the API returns ``data`` with ``count`` and ``rows``, or the
    table as CSV with ``format=csv``.

    >>> @page_and_api(pages, api, "/elections", "elections.html", summary="Results by class")
    ... def elections_view(request: Request, election: str = "ge2017") -> View: ...
    """

    def deco(view: Callable[..., View]) -> Callable[..., View]:
        sig = inspect.signature(view)
        params = [p for p in sig.parameters.values()]

        @functools.wraps(view)
        def page(**kw: Any) -> Response:
            request = kw["request"]
            v = view(**kw)
            query = {k: val for k, val in request.query_params.items() if k != "format"}
            api_url = "/api" + request.url.path + qs(**query)
            shown = v.table if v.table is None or v.page_rows is None else v.table.head(v.page_rows)
            ctx = {"d": v.data, "rows": records(shown) if shown is not None else [],
                   "json_url": api_url, **v.context}
            if v.table is not None:
                ctx["csv_url"] = "/api" + request.url.path + qs(**query, format="csv")
                ctx["xlsx_url"] = "/api" + request.url.path + qs(**query, format="xlsx")
            resp = render(request, template, **ctx)
            resp.headers.update(v.headers)
            return resp

        page.__signature__ = sig.replace(return_annotation=HTMLResponse)  # type: ignore[attr-defined]

        @functools.wraps(view)
        def api_view(**kw: Any) -> Any:
            fmt = kw.pop("format")
            v = view(**kw)
            if fmt in ("csv", "xlsx"):
                if v.table is None:
                    raise TownhallError(f"This page has no table to download as {fmt.upper()}.",
                                        hint="Use format=json.")
                return csv_response(v.table, v.name) if fmt == "csv" else xlsx_response(v.table, v.name)
            out = v.data if v.table is None else table_response(v.table, "json", v.name, **v.data)
            if v.headers:
                from fastapi.encoders import jsonable_encoder
                from fastapi.responses import JSONResponse

                return JSONResponse(jsonable_encoder(out), headers=v.headers)
            return out

        fmt_param = inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY,
                                      default=Query("json", description="json, or csv or xlsx for the table"),
                                      annotation=Format)
        api_view.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind is not inspect.Parameter.KEYWORD_ONLY else p
                          for p in params], fmt_param], return_annotation=Any)
        pages.add_api_route(path, page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
        api.add_api_route("/api" + path if not api.prefix else path, api_view, methods=["GET"], summary=summary,
                          tags=tags or None, responses=ERROR_RESPONSES)
        return view

    return deco


#: Error answers every API route documents (the error handler's JSON body).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request: an unknown level, period, rule or a malformed parameter"},
    404: {"description": "No such place, indicator or item; the body suggests close matches"},
}
#: What a GeoJSON download route answers (a FeatureCollection, as a file).
GEOJSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A GeoJSON FeatureCollection",
          "content": {"application/geo+json": {"schema": {"type": "object"}}}},
    **ERROR_RESPONSES,
}
