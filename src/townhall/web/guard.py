"""The ASGI guard in front of the app: the atlas for each request, ETags and 304s, whole
responses replayed from memory or from beside the atlas (gzip for clients that take it), a
limit on request bodies, and the security headers on every answer.

What it keeps and where is :mod:`townhall.web.cache`'s; this module only decides, per
request, whether the app needs to run.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from townhall.web.cache import AtlasHolder, Kept, gzip_etag

#: Responses kept in memory per process: at most this many bytes in all, each at most RESPONSE_MAX.
RESPONSES_BYTES = 48 * 1024 * 1024
RESPONSE_MAX = 2 * 1024 * 1024
#: Largest request body accepted (a TOML upload is a few kB).
MAX_BODY = 1024 * 1024

#: No inline scripts (every script is a file under /static); styles may be inline (SVG charts).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths whose responses are files with their own validators (StaticFiles' ETag).
_UNCACHED_PREFIXES = ("/static/", "/swagger-ui/")


def accepts_gzip(value: bytes) -> bool:
    """Whether an ``Accept-Encoding`` header value takes gzip (named or ``*``, and not ``q=0``)."""
    for part in value.split(b","):
        name, _, params = part.strip().partition(b";")
        if name.strip().lower() in (b"gzip", b"*"):
            q = params.strip().lower()
            return not (q.startswith(b"q=") and q[2:].strip().rstrip(b"0").rstrip(b".") in (b"", b"0"))
    return False


class ResponseCache:
    """Recent complete responses of GET requests, keyed by atlas fingerprint and URL, bounded by bytes."""

    def __init__(self, max_bytes: int = RESPONSES_BYTES) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[str, str], Kept] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str]) -> Kept | None:
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
        return hit

    def put(self, key: tuple[str, str], kept: Kept) -> None:
        if len(kept.body) > RESPONSE_MAX or key in self._data:
            return
        self._data[key] = kept
        self._bytes += kept.size
        while self._bytes > self.max_bytes and self._data:
            _, old = self._data.popitem(last=False)
            self._bytes -= old.size


class Guard:
    """ASGI middleware: atlas per request, ETag / 304, response cache, body limit, security headers.

    Parameters
    ----------
    app : ASGI app
        The FastAPI app (its routes read the atlas through :func:`townhall.web.toolkit.atlas_of`).
    holder : AtlasHolder
        The atlas being served.
    max_body : int
        Largest request body accepted, in bytes (413 above it).
    """

    def __init__(self, app: ASGIApp, holder: AtlasHolder, max_body: int = MAX_BODY) -> None:
        self.app, self.holder, self.max_body = app, holder, max_body
        self.responses = ResponseCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        served = self.holder.get()
        scope.setdefault("state", {})["served"] = served

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":  # a copy: cached headers stay without these
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain(send_secure, 413, f"Request body over {self.max_body // 1024} kB.")
            return
        path = scope.get("path", "")
        if scope.get("method") != "GET" or path.startswith(_UNCACHED_PREFIXES):
            await self.app(scope, _limited(receive, self.max_body), send_secure)
            return
        url = path + "?" + scope.get("query_string", b"").decode("latin-1")
        etag = '"' + hashlib.sha256(f"{served.fingerprint}|{url}".encode()).hexdigest()[:32] + '"'
        inm = headers.get(b"if-none-match", b"").decode("latin-1")
        if inm:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            for tag in (etag, gzip_etag(etag.encode()).decode()):
                if inm.strip() == "*" or tag in tags:
                    await send_secure({"type": "http.response.start", "status": 304,
                                       "headers": [(b"etag", tag.encode()), (b"cache-control", b"no-cache"),
                                                   (b"vary", b"accept-encoding")]})
                    await send_secure({"type": "http.response.body", "body": b""})
                    return
        key = (served.fingerprint, url)
        hit = self.responses.get(key)
        if hit is None and served.disk is not None:
            hit = served.disk.response(url)  # made by another worker of this server
            if hit is not None:
                self.responses.put(key, hit)
        if hit is not None:
            hdrs, body = hit.variant(accepts_gzip(headers.get(b"accept-encoding", b"")))
            await send_secure({"type": "http.response.start", "status": hit.status, "headers": hdrs})
            await send_secure({"type": "http.response.body", "body": body})
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def send_tagged(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if any(k.lower() == b"cache-control" and b"no-store" in v.lower() for k, v in message.get("headers", [])):
                    start = {**message, "status": -1}  # the app said not to keep it: no ETag, not stored
                elif message["status"] == 200:
                    hdrs = [(k, v) for k, v in message.get("headers", [])
                            if k.lower() not in (b"etag", b"cache-control", b"vary")]
                    message["headers"] = [*hdrs, (b"etag", etag.encode()), (b"cache-control", b"no-cache"),
                                          (b"vary", b"accept-encoding")]
            elif message["type"] == "http.response.body" and start.get("status") == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    if not any(k.lower() == b"set-cookie" for k, _ in start["headers"]) and len(body) <= RESPONSE_MAX:
                        kept = Kept(200, list(start["headers"]), body)
                        self.responses.put(key, kept)
                        if served.disk is not None:
                            served.disk.keep_response(url, kept)
            await send_secure(message)

        await self.app(scope, receive, send_tagged)


def _limited(receive: Receive, max_body: int) -> Receive:
    """A receive that stops a body (sent in chunks, without a length) at ``max_body`` bytes."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                from starlette.exceptions import HTTPException

                raise HTTPException(413, f"Request body over {max_body // 1024} kB.")
        return message

    return wrapped


async def _plain(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": "HTTPError", "message": text, "hint": None}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
