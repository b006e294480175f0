"""Serving an atlas that may be rebuilt under a running server, and caching what it answers.

The atlas file is immutable once built, but ``townhall build`` may replace it (an atomic
rename) while a server runs. So:

- :class:`AtlasHolder` keeps the open atlas and checks the file's identity (inode, size,
  modification time) at most every :data:`CHECK_EVERY` seconds; when it changed, it opens the
  new file and from then on serves it (no restart). The old one is closed a while later, once
  the requests that began on it are done.
- Everything computed from an atlas is keyed by its **fingerprint**: ``meta.inputs`` (the
  inputs and code it was built from) plus ``meta.built`` (when). :class:`Served` holds one
  atlas with its fingerprint and a bounded in-memory memo; expensive analyses (a comparison,
  a town's gaps) are also kept on disk beside the atlas (``.<atlas>.cache/<fingerprint>/``)
  so that several worker processes compute each one once, not once each.
- :class:`Kept` is a whole response as replayed (with its gzip form, compressed once);
  the ASGI guard that replays them is :mod:`townhall.web.guard`.
- At most :data:`COMPUTING_AT_ONCE` results are worked out at once per process, and memory
  freed by each goes back to the system.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townhall.api import Atlas, open_atlas
from townhall.version import __version__

#: Seconds between checks of the atlas file's identity (a stat: microseconds).
CHECK_EVERY = 2.0
#: Seconds an atlas that was replaced stays open for the requests still using it.
RETIRE_AFTER = 120.0
#: Results kept in memory per atlas and process (least recently used go first).
MEMO_ENTRIES = 512
#: Results worked out at the same time per process: more wait their turn, so that a burst of
#: requests for pages not seen yet cannot hold many analyses' working memory at once.
COMPUTING_AT_ONCE = 2
#: Results kept on disk per atlas (beyond this, new results stay in memory only).
DISK_ENTRIES = 20_000
#: DuckDB's working memory per worker process for the read-only atlas.
DUCKDB_MEMORY = "128MB"


def code_fingerprint() -> str:
    """A hash of townhall's own files (code, templates, static files, parameters).

    Pages and analyses kept beside the atlas depend on the code that made them as much as on
    the atlas: an upgrade, or an edit while developing, must not serve what older code made.
    """
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parents[1]
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".html", ".css", ".js", ".toml", ".sql") and f.is_file():
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


#: Computed once per process (the code does not change under a running server).
CODE = code_fingerprint()


def fingerprint(atlas: Atlas) -> str:
    """What identifies what the app serves: the atlas build (``meta.inputs`` and ``meta.built``,
    or the file's identity if absent) and the code (:data:`CODE`)."""
    meta = atlas.meta()
    built = meta.get("built")
    if not built:  # an atlas from before 'built' was recorded: the file's identity stands in
        st = atlas.path.stat()
        built = f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"
    return hashlib.sha256(f"{meta.get('inputs', '')}|{built}|{CODE}".encode()).hexdigest()[:20]


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def release_memory() -> None:
    """Hand memory freed by a large computation back to the system (glibc keeps it otherwise,
    and each worker process would hold its high-water mark for good)."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None


_COMPUTING = threading.BoundedSemaphore(COMPUTING_AT_ONCE)
_DEPTH = threading.local()


@contextlib.contextmanager
def _computing() -> Any:
    """A turn to compute; a computation nested in one (a result made from other results)
    runs in its caller's turn, so that nested ones never wait for each other."""
    depth = getattr(_DEPTH, "n", 0)
    if depth:
        _DEPTH.n = depth + 1
        try:
            yield
        finally:
            _DEPTH.n = depth
        return
    with _COMPUTING:
        _DEPTH.n = 1
        try:
            yield
        finally:
            _DEPTH.n = 0


class Memo:
    """A bounded, thread-safe least-recently-used map, with one computation per key at a time
    (and at most :data:`COMPUTING_AT_ONCE` in the process)."""

    def __init__(self, entries: int = MEMO_ENTRIES) -> None:
        self.entries = entries
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._busy: dict[str, threading.Lock] = {}

    def get_or_make(self, key: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        # A turn first, then the key's lock: a computation holding a turn may wait for a key,
        # never a key's holder for a turn, so the turns cannot deadlock.
        with _computing():
            with self._lock:
                if key in self._data:
                    return self._data[key]
                busy = self._busy.setdefault(key, threading.Lock())
            with busy:  # a second request for the same key waits for the first, then reads its result
                try:
                    with self._lock:
                        if key in self._data:
                            return self._data[key]
                    value = make()
                    with self._lock:
                        self._data[key] = value
                        while len(self._data) > self.entries:
                            self._data.popitem(last=False)
                finally:
                    with self._lock:
                        self._busy.pop(key, None)
        release_memory()
        return value

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data


class DiskCache:
    """Results pickled beside the atlas, shared by the worker processes of one server.

    The folder is ``.<atlas name>.cache/<fingerprint>/`` beside the atlas; it is used only if
    it can be created there and belongs to this user with no write access for others (a
    pickle is code: nobody else may put one there). Otherwise every call just computes.
    Folders of other fingerprints (older builds) are removed when a new one is made.
    """

    def __init__(self, atlas_path: Path, fp: str) -> None:
        self.root = atlas_path.with_name(f".{atlas_path.name}.cache")
        self.dir: Path | None = self.root / fp
        try:
            self.root.mkdir(mode=0o700, exist_ok=True)
            if not self._safe(self.root):
                raise PermissionError
            fresh = not self.dir.exists()
            self.dir.mkdir(mode=0o700, exist_ok=True)
            if not self._safe(self.dir):
                raise PermissionError
            if fresh:
                for old in self.root.iterdir():
                    if old.name != fp and old.is_dir() and not old.is_symlink():
                        shutil.rmtree(old, ignore_errors=True)
        except OSError:
            self.dir = None

    @staticmethod
    def _safe(p: Path) -> bool:
        st = p.lstat()
        return p.is_dir() and not p.is_symlink() and st.st_uid == os.getuid() and not st.st_mode & 0o022

    def get_or_make(self, key: str, make: Callable[[], Any]) -> Any:
        if self.dir is None:
            return make()
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        file = self.dir / f"{name}.pkl"
        hit = self._load(file)
        if hit is not None:
            return hit[0]
        from filelock import FileLock, Timeout

        try:
            # Another worker computing the same thing: wait for it rather than compute twice.
            with FileLock(str(self.dir / f"{name}.lock"), timeout=120):
                hit = self._load(file)
                if hit is not None:
                    return hit[0]
                value = make()
                self._store(file, value)
                return value
        except (Timeout, OSError):
            return make()

    def has(self, key: str) -> bool:
        """Whether a result for ``key`` is kept on disk (by any worker; files appear whole)."""
        return self.dir is not None and (self.dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.pkl").is_file()

    def once(self, name: str, work: Callable[[], bool], *, retry_every: float = 5.0) -> None:
        """Run ``work`` in one worker of the server for this atlas, once.

        The worker that holds ``<name>.lock`` runs it; when ``work`` returns True (all of it
        done) it leaves ``<name>.done``. The others wait until that file appears or the lock is
        free again (the work failed in part, or its worker died: the lock goes with its
        process), then run it themselves, finding on disk whatever was already done. Without a
        cache folder, every worker runs it.
        """
        if self.dir is None:
            work()
            return
        from filelock import FileLock, Timeout

        done = self.dir / f"{name}.done"
        lock = FileLock(str(self.dir / f"{name}.lock"))
        while not done.exists():
            try:
                with lock.acquire(timeout=0):
                    if not done.exists() and work():
                        done.touch()
                return
            except Timeout:
                time.sleep(retry_every)
            except OSError:  # the folder went away (a rebuilt atlas): nothing more to do here
                return

    def response(self, key: str) -> Kept | None:
        """A complete response kept by any worker of this server for this atlas, or None."""
        if self.dir is None:
            return None
        file = self.dir / f"r-{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"
        try:
            with open(file, "rb") as fh:
                head = json.loads(fh.readline())
                body = fh.read()
        except (OSError, ValueError):
            return None
        n, gz_n = head.get("length"), head.get("gzip_length") or 0
        if not isinstance(n, int) or len(body) != n + gz_n:
            return None
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in head["headers"]]
        # Compressed (or found not worth it) by the worker that kept it: never again here.
        return Kept(head["status"], headers, body[:n], body[n:] or None, compress=False)

    def keep_response(self, key: str, kept: Kept) -> None:
        """Keep a complete response for the other workers (written atomically)."""
        if self.dir is None:
            return
        file = self.dir / f"r-{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"
        head = {"status": kept.status, "length": len(kept.body), "gzip_length": len(kept.gzip or b""),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in kept.headers]}
        tmp = file.with_name(f"{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            if sum(1 for _ in os.scandir(self.dir)) > 2 * DISK_ENTRIES:
                return
            with open(tmp, "wb") as fh:
                fh.write(json.dumps(head).encode() + b"\n")
                fh.write(kept.body)
                fh.write(kept.gzip or b"")
            os.replace(tmp, file)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _load(file: Path) -> tuple[Any] | None:
        try:
            with open(file, "rb") as fh:
                return (pickle.load(fh),)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry: compute again and overwrite it
            return None

    @staticmethod
    def _store(file: Path, value: Any) -> None:
        with contextlib.suppress(OSError):
            if sum(1 for _ in os.scandir(file.parent)) > 2 * DISK_ENTRIES:  # entries and their locks
                return
        tmp = file.with_name(f"{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, file)
        except Exception:  # not picklable or no space: the memory cache still has it
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@dataclass
class Served:
    """One opened atlas and everything computed from it in this process."""

    atlas: Atlas
    fingerprint: str
    identity: tuple[int, int, int, int] | None
    site: dict[str, Any] = field(default_factory=dict)
    memo: Memo = field(default_factory=Memo)
    #: The routers' own atlas-wide results (``request.app.state.cache``), dropped with the atlas.
    cache: dict[str, Any] = field(default_factory=dict)
    disk: DiskCache | None = None

    def cached(self, key: str, make: Callable[[], Any], *, disk: bool = False) -> Any:
        """``make()`` once per atlas (and, with ``disk``, once per server: shared by workers)."""
        if disk and self.disk is not None:
            d = self.disk
            return self.memo.get_or_make(key, lambda: d.get_or_make(key, make))
        return self.memo.get_or_make(key, make)

    def precompute(self, key: str, make: Callable[[], Any]) -> None:
        """Work out ``cached(key, make, disk=True)`` ahead of requests, keeping it on disk only
        (the worker that does it then holds no more memory than the others)."""
        if self.disk is None or key in self.memo:
            self.cached(key, make, disk=True)
            return
        self.disk.get_or_make(key, make)
        release_memory()

    def ready(self, key: str) -> bool:
        """Whether ``cached(key, ..., disk=True)`` would answer without computing."""
        if key in self.memo:
            return True
        return self.disk is not None and self.disk.has(key)


class AtlasHolder:
    """The atlas a server answers from, reopened when the file is rebuilt.

    Parameters
    ----------
    path : Path
        The atlas file.
    site : callable
        Makes the facts every page shows from an atlas (build metadata, publishers).
    check_every : float
        Seconds between checks of the file's identity.
    """

    def __init__(self, path: Path, site: Callable[[Atlas], dict[str, Any]],
                 check_every: float = CHECK_EVERY) -> None:
        self.path = Path(path)
        self._site = site
        self.check_every = check_every
        self._lock = threading.Lock()
        self._retired: list[tuple[float, Served]] = []
        self._links: Path | None = None
        self.current: Served | None = None
        self.current = self._open()
        self._checked = time.monotonic()
        self._closed = False

    def _open(self) -> Served:
        ident = _identity(self.path)
        path = self.path
        if getattr(self, "current", None) is not None:
            # DuckDB keeps one database per path in a process: the rebuilt file is opened
            # through a link of its own so that it is not the old (still open) one.
            # (a hard link: DuckDB resolves symbolic ones). Where no link can be made, the old
            # atlas is closed first; a request still reading it then gets a 503 once.
            self._links = self.path.with_name(f".{self.path.name}.served")
            try:
                self._links.mkdir(exist_ok=True)
                path = self._links / f"{ident[1] if ident else 0}-{time.time_ns()}.duckdb"
                os.link(self.path, path)
            except OSError:
                path = self.path
                with contextlib.suppress(Exception):
                    self.current.atlas.close()
        atlas = open_atlas(path)
        if path != self.path:  # open now: the link's name is no longer needed (no space held)
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(Exception):  # a DuckDB without the setting: its default
            atlas.query(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        fp = fingerprint(atlas)
        return Served(atlas, fp, ident, site=self._site(atlas), disk=DiskCache(self.path, fp))

    def get(self) -> Served:
        """The current atlas; at most every ``check_every`` seconds, a stat to see if it was rebuilt."""
        now = time.monotonic()
        if now - self._checked < self.check_every and not self._closed:
            return self.current
        with self._lock:
            if self._closed:  # the app's lifespan ended and a new one began (test clients do this)
                self.current = None  # type: ignore[assignment]
                self.current, self._closed = self._open(), False
            if now - self._checked < self.check_every:
                return self.current
            self._checked = now
            ident = _identity(self.path)
            if ident is not None and ident != self.current.identity:
                try:
                    new = self._open()
                except Exception:  # mid-replacement or damaged: keep serving the one we have
                    return self.current
                self._retired.append((now, self.current))
                self.current = new
            for when, old in list(self._retired):
                if now - when > RETIRE_AFTER:
                    self._retired.remove((when, old))
                    with contextlib.suppress(Exception):
                        old.atlas.close()
            return self.current

    def close(self) -> None:
        """Close every atlas (the app's lifespan ended); a later request opens it again."""
        with self._lock:
            for _, old in self._retired:
                with contextlib.suppress(Exception):
                    old.atlas.close()
            self._retired.clear()
            with contextlib.suppress(Exception):
                self.current.atlas.close()
            self._closed = True
            links = getattr(self, "_links", None)
            if links is not None:
                shutil.rmtree(links, ignore_errors=True)
                self._links = None


# -- responses as kept ------------------------------------------------------------------------
#: Types sent gzip-compressed (from the cache) to clients that accept it.
_COMPRESSIBLE = (b"text/", b"application/json", b"application/geo+json", b"image/svg+xml",
                 b"application/javascript")
#: Bodies smaller than this are sent as they are (compression would not pay).
GZIP_MIN = 1024


class Kept:
    """A complete response kept for replay: its status, headers and body, and the body
    gzip-compressed when that is worth it (compressed once, when kept, not per request)."""

    __slots__ = ("body", "gzip", "gzip_headers", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                 gzip_body: bytes | None = None, *, compress: bool = True) -> None:
        self.status, self.headers, self.body = status, headers, body
        ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if compress and gzip_body is None and len(body) >= GZIP_MIN and ctype.startswith(_COMPRESSIBLE) and not any(
                k.lower() == b"content-encoding" for k, _ in headers):
            import gzip as gz

            packed = gz.compress(body, compresslevel=6, mtime=0)
            gzip_body = packed if len(packed) < len(body) else None
        self.gzip = gzip_body
        self.gzip_headers: list[tuple[bytes, bytes]] | None = None
        if gzip_body is not None:
            self.gzip_headers = [(k, gzip_etag(v) if k.lower() == b"etag" else v) for k, v in headers
                                 if k.lower() != b"content-length"]
            self.gzip_headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(gzip_body)).encode())]

    def variant(self, accepts_gzip: bool) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The headers and body to send to a client that does or does not accept gzip."""
        if accepts_gzip and self.gzip is not None:
            return self.gzip_headers or [], self.gzip
        return self.headers, self.body

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzip or b"")


def gzip_etag(etag: bytes) -> bytes:
    """The compressed variant's own validator (a strong ETag names one exact body)."""
    return etag[:-1] + b'-gz"' if etag.endswith(b'"') else etag
