"""The web atlas app: the factory, the offline API docs and the error handlers.

Datasette style: every page has the JSON behind it under ``/api/...`` and every
table a page shows can be downloaded as CSV. Each area has its own router
(:data:`AREAS`: atlas pages, towns, assembly, and the wings'), built on the shared
:mod:`townhall.web.toolkit`; this module only puts them together.

>>> from townhall.web.app import create_app
>>> app = create_app(Path("atlas.duckdb"))       # then: uvicorn.run(app, host="127.0.0.1")

One error handler turns every :class:`~townhall.errors.TownhallError` into a JSON
error (``/api``) or an error page (elsewhere) with the right status; OpenAPI docs
are served offline at ``/docs`` (Swagger UI 5 from the ``swagger-ui-py`` package).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from townhall.api import Atlas, open_atlas
from townhall.atlas.store import AmbiguousPlaceError, records
from townhall.errors import (
    AtlasMissingError,
    DataMissingError,
    PlaceNotFoundError,
    TownhallError,
    UnknownIndicatorError,
)
from townhall.levels import LEVELS
from townhall.version import __version__
from townhall.web import (
    assembly,
    elections,
    evidence,
    funding,
    infrastructure,
    measures,
    places,
    towns,
)
from townhall.web.toolkit import parse_suggestion, render

HERE = Path(__file__).parent

# Swagger UI's files ship in a PyPI package (swagger-ui-py, Swagger UI 5: the first major
# version that reads FastAPI's OpenAPI 3.1) so /docs works with no network.
try:
    import swagger_ui as _swagger_ui

    SWAGGER_DIR: Path | None = Path(_swagger_ui.__file__).parent / "static"
except ImportError:  # pragma: no cover - the docs page then says what to install
    SWAGGER_DIR = None



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
    for area in AREAS:
        app.include_router(area.router)
    app.add_api_route("/docs", _docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_exception_handler(TownhallError, _townhall_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


#: The areas whose routers make up the app, in the order their routes are tried.
AREAS = (places, towns, assembly, infrastructure, funding, measures, elections, evidence)


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
            body["suggestions"] = [parse_suggestion(s) for s in suggestions]
        if matches is not None:
            body["matches"] = records(matches)
        return JSONResponse(body, status_code=status)
    return render(
        request, "error.html", status_code=status,
        title="Not found" if status == 404 else "Cannot show this",
        message=exc.message, hint=exc.hint,
        suggestions=[parse_suggestion(s) for s in suggestions],
        matches=None if matches is None else records(matches),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request):
        return JSONResponse({"error": "HTTPError", "message": str(exc.detail), "hint": None},
                            status_code=exc.status_code, headers=exc.headers)
    return render(request, "error.html", status_code=exc.status_code,
                   title="Not found" if exc.status_code == 404 else "Error",
                   message=f"No page at {request.url.path}." if exc.status_code == 404 else str(exc.detail),
                   hint="Search for a place above, or start from the home page.",
                   suggestions=[], matches=None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    bad = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return render(request, "error.html", status_code=400, title="Bad request",
                   message=f"Some of this page's parameters are not valid ({bad}).", hint=None,
                   suggestions=[], matches=None)
