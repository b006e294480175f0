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

Serving (:func:`bind`, :func:`serve`, ``townhall up --workers N``): the port is bound
before anything is announced; with several workers each process builds its app from
:func:`app_from_env` (``TOWNHALL_ATLAS``) over the same read-only atlas. In front of the
routes, :class:`townhall.web.guard.Guard` picks up a rebuilt atlas without a restart, answers
``If-None-Match`` with 304 (ETags keyed by the atlas fingerprint), keeps recent responses,
limits request bodies to 1 MB and sets the security headers (a Content-Security-Policy with
no inline scripts, ``nosniff``, a same-origin referrer, no framing). On a host other than
the loopback, only requests naming an allowed host are answered.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from townhall import config
from townhall.api import Atlas, open_atlas
from townhall.atlas.store import AmbiguousPlaceError, records
from townhall.errors import (
    AtlasMissingError,
    DataMissingError,
    InputError,
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
from townhall.web.cache import CHECK_EVERY, AtlasHolder
from townhall.web.guard import Guard
from townhall.web.supervisor import UVICORN, supervise
from townhall.web.toolkit import ERROR_RESPONSES, parse_suggestion, render

HERE = Path(__file__).parent

# Swagger UI's files ship in a PyPI package (swagger-ui-py, Swagger UI 5: the first major
# version that reads FastAPI's OpenAPI 3.1) so /docs works with no network.
try:
    import swagger_ui as _swagger_ui

    SWAGGER_DIR: Path | None = Path(_swagger_ui.__file__).parent / "static"
except ImportError:  # pragma: no cover - the docs page then says what to install
    SWAGGER_DIR = None



# -- app ----------------------------------------------------------------------------------
def create_app(atlas_path: Path, *, host: str = "127.0.0.1", allowed_hosts: list[str] | None = None,
               check_every: float = CHECK_EVERY) -> FastAPI:
    """Build the web app over one atlas file.

    Parameters
    ----------
    atlas_path : Path
        The built atlas (DuckDB), opened read-only; each worker thread gets its own cursor.
        If the file is rebuilt while the app runs, the app notices (a stat every
        ``check_every`` seconds) and serves the new one.
    host : str
        The interface the server listens on. On anything but the loopback, requests must
        name an allowed host (DNS rebinding, stray proxies).
    allowed_hosts : list of str, optional
        Host names accepted off the loopback (``*.example.org`` patterns allowed); default
        ``TOWNHALL_ALLOWED_HOSTS`` (comma-separated), else the interface and this machine's names.
    check_every : float
        Seconds between checks of the atlas file.

    Returns
    -------
    FastAPI
        Serve it with ``uvicorn.run(app, host="127.0.0.1", port=...)`` (or ``townhall up``).

    Raises
    ------
    AtlasMissingError
        If there is no atlas at ``atlas_path``.
    """
    holder = AtlasHolder(Path(atlas_path), _site_info, check_every=check_every)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        holder.close()

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
    app.state = _LiveState(holder)  # atlas, cache and site follow a rebuilt atlas
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if SWAGGER_DIR is not None:
        app.mount("/swagger-ui", StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    for area in AREAS:
        app.include_router(area.router)
    app.add_api_route("/docs", _docs, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route("/docs/init.js", _docs_init, include_in_schema=False)
    app.add_exception_handler(TownhallError, _townhall_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(duckdb.Error, _atlas_error)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(Guard, holder=holder)  # every answer gets the security headers
    if not _loopback(host):  # outermost: no cached answer goes to a request naming another host
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or _allowed_hosts(host))
    return app


def app_from_env() -> FastAPI:
    """The app factory each worker process calls (``townhall.web.app:app_from_env``).

    Reads ``TOWNHALL_ATLAS`` (the atlas), ``TOWNHALL_HOST`` (the interface, default the
    loopback) and ``TOWNHALL_ALLOWED_HOSTS``.
    """
    host = os.environ.get("TOWNHALL_HOST", "127.0.0.1")
    return create_app(config.atlas_path(), host=host)


class _LiveState:
    """``app.state`` whose atlas, cache and site are those of the atlas being served now."""

    def __init__(self, holder: AtlasHolder) -> None:
        object.__setattr__(self, "holder", holder)
        object.__setattr__(self, "_extra", {})

    @property
    def atlas(self) -> Atlas:
        return self.holder.get().atlas

    @property
    def cache(self) -> dict[str, Any]:
        return self.holder.get().cache

    @property
    def site(self) -> dict[str, Any]:
        return self.holder.get().site

    def __getattr__(self, name: str) -> Any:
        try:
            return self._extra[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._extra[name] = value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed_hosts(host: str) -> list[str]:
    env = os.environ.get("TOWNHALL_ALLOWED_HOSTS", "")
    if env.strip():
        return [h.strip() for h in env.split(",") if h.strip()]
    names = {"localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn()}
    if host not in ("0.0.0.0", "::", ""):
        names.add(host)
    return sorted(n for n in names if n)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or an :class:`InputError` saying why not and what to do.

    Bound before the server announces itself, so a port in use is an error, not a promise.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise InputError(f"Cannot listen on host {host!r} ({exc}): give an address of this machine, "
                         "e.g. --host 127.0.0.1.") from None
    family, _, _, _, addr = infos[0]
    # proto=IPPROTO_TCP: asyncio then sets TCP_NODELAY on every connection (without it, Nagle
    # and delayed ACKs add 40 ms to responses written in two parts).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)  # not listening yet: until the app is ready, a connection is refused, not kept waiting
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"Port {port} on {host} is already in use by another program: "
                             f"stop it, or choose another port, e.g. --port {port + 1 if port < 65535 else 8000}.") from None
        if exc.errno == errno.EACCES:
            raise InputError(f"Port {port} on {host} needs special rights: use a port above 1023, "
                             "e.g. --port 8000.") from None
        raise InputError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --host "
                         "or --port.") from None
    sock.set_inheritable(True)
    return sock


def serve(atlas_path: Path, sock: socket.socket, *, host: str = "127.0.0.1", workers: int = 1,
          replace_process: bool = False) -> None:
    """Serve the atlas on a bound socket until Ctrl+C, with ``workers`` processes.

    One worker serves an app made here; several each make theirs with :func:`app_from_env`,
    watched by :func:`townhall.web.supervisor.supervise`. With ``replace_process`` (what
    ``townhall up`` asks for) and several workers, this process becomes that small supervisor
    (``exec``) and does not return.
    """
    import uvicorn

    if workers <= 1:
        server = uvicorn.Server(uvicorn.Config(create_app(atlas_path, host=host), **UVICORN))
        server.run(sockets=[sock])
        return
    os.environ["TOWNHALL_ATLAS"] = str(Path(atlas_path).absolute())  # read by each worker's factory
    os.environ["TOWNHALL_HOST"] = host
    open_atlas(atlas_path).close()  # a missing or unreadable atlas is said here, once
    if replace_process and os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.set_inheritable(sock.fileno(), True)
        os.execv(sys.executable, [sys.executable, "-m", "townhall.web.supervisor", str(sock.fileno()), str(workers)])
    supervise(sock, workers)


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
    # Swagger UI started from a script file, not an inline one: the CSP allows no inline scripts.
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>townhall API</title>'
        '<link rel="icon" href="/static/favicon.svg">'
        '<link rel="stylesheet" href="/swagger-ui/swagger-ui.css"></head>'
        '<body><div id="swagger-ui"></div>'
        '<script src="/swagger-ui/swagger-ui-bundle.js"></script>'
        '<script src="/docs/init.js"></script></body></html>'
    )


def _docs_init() -> Response:
    # validatorUrl null: no badge fetched from the public validator
    js = ('window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout", '
          "deepLinking: true, showExtensions: true, showCommonExtensions: true, validatorUrl: null, "
          "presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]});\n")
    return Response(js, media_type="text/javascript")


#: Media types of the ``format`` values a table route may answer with.
FORMAT_MEDIA = {
    "csv": ("text/csv", {"type": "string", "description": "The table as CSV (UTF-8, a header row)"}),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             {"type": "string", "format": "binary"}),
}
#: Error answers of every API route beyond the toolkit's 400 and 404.
MORE_ERRORS: dict[str, dict[str, Any]] = {
    "300": {"description": "Several places match the name; the body lists them (`matches`)"},
    "503": {"description": "The atlas is missing or damaged: rebuild it with `townhall build`"},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema, with what every route may answer: the CSV (and XLSX) bodies of
    routes with a ``format`` parameter, and the 300, 400, 404 and 503 error answers."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    errors = {str(k): v for k, v in ERROR_RESPONSES.items()} | MORE_ERRORS
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            for code, spec in errors.items():
                responses.setdefault(code, dict(spec))
            fmt = next((p for p in op.get("parameters", []) if p.get("name") == "format"), None)
            if fmt is None:
                continue
            values = _enum(fmt.get("schema", {}))
            ok = responses.setdefault("200", {"description": "Successful Response"})
            content = ok.setdefault("content", {"application/json": {"schema": {}}})
            for value, (media, body) in FORMAT_MEDIA.items():
                if value in values:
                    content.setdefault(media, {"schema": body})
    app.openapi_schema = schema
    return schema


def _enum(schema: dict[str, Any]) -> set[str]:
    """The values a (possibly nested anyOf / enum) parameter schema allows."""
    out = set(schema.get("enum", []))
    if "const" in schema:
        out.add(schema["const"])
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []):
        out |= _enum(sub)
    return out


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


async def _atlas_error(request: Request, exc: Exception) -> Response:
    """A DuckDB error while answering: the atlas file is damaged (or was cut short)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    message = f"The atlas cannot be read: it may be damaged or truncated ({first})."
    hint = "Rebuild it with 'townhall build'; the server picks up the new atlas by itself."
    if _is_api(request):
        return JSONResponse({"error": "AtlasDamagedError", "message": message, "hint": hint}, status_code=503)
    return render(request, "error.html", status_code=503, title="Cannot show this", message=message, hint=hint,
                  suggestions=[], matches=None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    bad = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return render(request, "error.html", status_code=400, title="Bad request",
                   message=f"Some of this page's parameters are not valid ({bad}).", hint=None,
                   suggestions=[], matches=None)
