"""Getting the declared source files into the cache, and knowing which are good.

:func:`pull` fills the cache from a local mirror (``mirror=`` or ``TOWNHALL_MIRROR``)
or from each file's origin URL. Every file is written to ``<path>.part`` beside its
final place, checked against its declared length and sha256, and only then renamed
into place, so a file in the cache under its own name has passed the check (or was
knowingly accepted, see below). A bad copy is deleted, never used.

Network transfers stream with :mod:`httpx`, resume an interrupted ``.part`` with an
HTTP ``Range`` request, and retry transient failures with exponential backoff.
:func:`pull` gets everything it can and then reports every failure at once.

Files declared ``exact = false`` are the mirror's reconstructions of an origin file
(see the mirror's README): the declared sha256 is that of the mirror copy. From a
mirror they are checked as usual. From the origin the download may legitimately
differ; it is then accepted under its own check (its length matches what the server
said and its sha256 is recorded) with a warning, and recorded as "origin copy, not
checkable against the declared hash". A later pull with a mirror replaces it with the
checkable mirror copy.

A small state file, ``.townhall-state.json`` in the cache, remembers each file's
sha256 with the size and modification time it had when hashed, so listing the cache
does not rehash unchanged files; any change of size or mtime forces a rehash, and
:func:`verify` always rehashes.

Concurrency: one pull at a time writes into a cache. :func:`pull` holds a lock file
(``.townhall-pull.lock``, :mod:`filelock`) for its whole run; a second pull into the same
cache says who holds it and waits, then finds the files already there. Reading a cache
(listing, verifying, building) takes no lock and works on a read-only cache: the state
file is then simply not updated. Ctrl+C stops the transfers at once; copies from a
mirror leave no ``.part`` behind, downloads keep theirs so the next pull resumes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import httpx

from townhall import config
from townhall.errors import (
    ChecksumError,
    DataMissingError,
    DownloadError,
    InputError,
    TownhallError,
)
from townhall.sources.catalogue import Source, load_catalogue
from townhall.version import __version__ as _version

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 1 << 20  # 1 MiB: hashing and copying block size
STATE_FILE = ".townhall-state.json"
LOCK_FILE = ".townhall-pull.lock"
#: Who holds the pull lock (pid, host, since): read by a pull that has to wait.
OWNER_FILE = ".townhall-pull.owner"
STATE_VERSION = 1

#: How a file came to be in the cache.
Obtained = Literal["network", "mirror", "origin-unchecked", "found"]

ORIGIN_UNCHECKED_NOTE = "origin copy, not checkable against the declared hash"

HOW_TO_GET = (
    "Run 'townhall data pull' where there is network access, or copy from a local mirror: "
    "set TOWNHALL_MIRROR=DIR or run 'townhall data pull --mirror DIR'."
)

# Status codes worth another try: the server or something in between is having a bad moment.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ProgressEvent:
    """What :func:`pull` tells a progress display.

    Attributes
    ----------
    kind : {"plan", "bytes", "done", "wait"}
        ``plan`` once, before any transfer (``total`` = bytes to transfer, ``files`` = how many);
        ``bytes`` as data arrives (``nbytes`` may be negative when a transfer restarts from zero);
        ``done`` when a file is finished (``outcome`` says how); ``wait`` when another pull
        holds the cache's lock (``outcome`` says who).
    source : Source or None
        The file concerned (None for ``plan``).
    nbytes, total, files : int
        Byte counts as above.
    outcome : str
        For ``done``: ``network``, ``mirror``, ``origin-unchecked`` or ``failed``.
    """

    kind: Literal["plan", "bytes", "done", "wait"]
    source: Source | None = None
    nbytes: int = 0
    total: int = 0
    files: int = 0
    outcome: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class PullReport:
    """What a :func:`pull` did.

    Attributes
    ----------
    cache_dir : Path
        The cache that was filled.
    mirror : Path or None
        The mirror copied from, if any.
    fetched, copied, present : list of str
        Paths downloaded from the origin, copied from the mirror, or already in the cache and good.
    unchecked : list of str
        Paths of ``exact = false`` files accepted from the origin although their sha256 differs
        from the declared (mirror) hash: "origin copy, not checkable against the declared hash".
    failures : dict of str to TownhallError
        Path -> the error that stopped it (:class:`ChecksumError`, :class:`DownloadError`
        or :class:`DataMissingError`). Nothing was placed in the cache for these.
    bytes_fetched, bytes_copied : int
        Bytes written to the cache from each route (a resumed transfer counts only new bytes).
    seconds : float
        Wall time of the pull.
    """

    cache_dir: Path
    mirror: Path | None = None
    fetched: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    failures: dict[str, TownhallError] = field(default_factory=dict)
    bytes_fetched: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every requested file is now in the cache."""
        return not self.failures

    def error(self) -> TownhallError | None:
        """All failures as one error (None if there were none).

        The class is that of the most serious failure: a checksum mismatch before a
        download error before a missing file. The message lists every failure; the
        error carries this report as ``.report`` and the per-file errors as ``.failures``.
        """
        if not self.failures:
            return None
        errs = list(self.failures.values())
        for cls in (ChecksumError, DownloadError, DataMissingError):
            if any(isinstance(e, cls) for e in errs):
                kind = cls
                break
        else:  # pragma: no cover - only the three kinds are ever collected
            kind = TownhallError
        n = len(errs)
        missing = [p for p, e in self.failures.items() if isinstance(e, DataMissingError)]
        others = {p: e for p, e in self.failures.items() if not isinstance(e, DataMissingError)}
        lines = [
            f"{n} source file{'s' if n != 1 else ''} could not be pulled into {self.cache_dir}:"
        ]
        for err in others.values():
            lines.append("- " + err.message.replace("\n", "\n  "))
        if missing:
            first = self.failures[missing[0]]
            reason = getattr(first, "reason", first.message)
            lines.append(f"- {len(missing)} missing: {reason}:")
            shown = missing if len(missing) <= 12 else missing[:10]
            lines.extend(f"    {p}" for p in shown)
            if len(shown) < len(missing):
                lines.append(f"    ... and {len(missing) - len(shown)} more")
        hints = []
        if any(isinstance(e, ChecksumError) for e in errs):
            hints.append(
                "Check or replace the named copies (a mirror's file may be damaged), "
                "then run 'townhall data pull' again."
            )
        if missing:
            hints.append(HOW_TO_GET)
        err = kind("\n".join(lines), hint="\n".join(hints) or None)
        err.report = self  # type: ignore[attr-defined]
        err.failures = dict(self.failures)  # type: ignore[attr-defined]
        return err

    def raise_for_failures(self) -> None:
        """Raise :meth:`error` if anything failed."""
        err = self.error()
        if err is not None:
            raise err


# --------------------------------------------------------------------------- state file


class _State:
    """The cache's memory of hashes (path -> sha256, bytes, mtime_ns, obtained, origin, at).

    Thread-safe; saved atomically. A missing or unreadable state file only means rehashing.
    """

    def __init__(self, cache: Path) -> None:
        self.path = cache / STATE_FILE
        self._lock = threading.Lock()
        self._dirty = False
        self.files: dict[str, dict] = {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if data.get("version") == STATE_VERSION and isinstance(data.get("files"), dict):
                self.files = data["files"]
        except (OSError, ValueError):
            pass

    def get(self, path: str) -> dict | None:
        with self._lock:
            entry = self.files.get(path)
            return dict(entry) if entry else None

    def put(self, path: str, file: Path, sha256: str, obtained: str, origin: str = "") -> None:
        st = file.stat()
        entry = {
            "sha256": sha256,
            "bytes": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "obtained": obtained,
            "origin": origin,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self._lock:
            self.files[path] = entry
            self._dirty = True

    def drop(self, path: str) -> None:
        with self._lock:
            if self.files.pop(path, None) is not None:
                self._dirty = True

    def save(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            tmp = self.path.with_name(f"{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
            body = {"version": STATE_VERSION, "files": dict(sorted(self.files.items()))}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(body, indent=1), "utf-8")
                os.replace(tmp, self.path)
            except OSError:
                # A read-only cache can still be read and verified: the state file is only
                # a memory of hashes, so not saving it means rehashing next time, nothing worse.
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
            self._dirty = False


# --------------------------------------------------------------------------- checking


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class _Check:
    present: bool
    verified: bool  # matches the declared length and sha256
    accepted: bool  # verified, or an exact=false origin copy still matching its own recorded hash
    sha256: str | None
    size: int | None
    obtained: str
    note: str


def _check(src: Source, cache: Path, state: _State, *, rehash: bool = False) -> _Check:
    """Is ``src`` in the cache and good? Rehash only if the state file cannot vouch for it."""
    p = src.local(cache)
    try:
        st = p.stat()
    except FileNotFoundError:
        state.drop(src.path)
        return _Check(False, False, False, None, None, "", "missing")
    entry = state.get(src.path)
    unchecked = bool(entry) and entry.get("obtained") == "origin-unchecked"
    if st.st_size != src.bytes and not unchecked:
        # A wrong length settles it without reading the file.
        return _Check(
            True,
            False,
            False,
            None,
            st.st_size,
            "",
            f"wrong length ({st.st_size:,} bytes, declared {src.bytes:,})",
        )
    if (
        not rehash
        and entry
        and entry.get("bytes") == st.st_size
        and entry.get("mtime_ns") == st.st_mtime_ns
    ):
        sha = entry["sha256"]
        obtained = entry.get("obtained", "found")
    else:
        sha = sha256_file(p)
        if entry and entry.get("sha256") == sha:
            obtained = entry.get("obtained", "found")
        else:
            # Unknown to the state file, or changed since it was recorded (an origin copy
            # accepted under its own check loses that acceptance when its bytes change).
            obtained = "found"
        state.put(src.path, p, sha, obtained, entry.get("origin", "") if entry else "")
    if sha == src.sha256 and st.st_size == src.bytes:
        return _Check(True, True, True, sha, st.st_size, obtained, "sha256 ok")
    if obtained == "origin-unchecked" and not src.exact:
        return _Check(True, False, True, sha, st.st_size, obtained, ORIGIN_UNCHECKED_NOTE)
    return _Check(True, False, False, sha, st.st_size, obtained, "sha256 mismatch")


def _rehash(srcs: list[Source], cache: Path, state: _State, workers: int = 4) -> None:
    """Hash every present file of the right length again (in threads: hashlib releases the
    GIL), recording each in the state file so :func:`_check` then trusts only fresh hashes."""

    def one(src: Source) -> None:
        p = src.local(cache)
        try:
            st = p.stat()
        except FileNotFoundError:
            return
        entry = state.get(src.path)
        unchecked = bool(entry) and entry.get("obtained") == "origin-unchecked"
        if st.st_size != src.bytes and not unchecked:
            return  # the length alone fails it: no need to read it
        sha = sha256_file(p)
        keep = entry is not None and entry.get("sha256") == sha
        state.put(src.path, p, sha, entry.get("obtained", "found") if keep else "found",
                  entry.get("origin", "") if keep else "")

    if workers <= 1 or len(srcs) <= 1:
        for s in srcs:
            one(s)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, srcs))


def _select(sources: Iterable[Source] | None) -> list[Source]:
    return list(load_catalogue() if sources is None else sources)


def _cache(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else config.cache_dir()


def status(
    sources: Iterable[Source] | None = None, cache_dir: Path | str | None = None
) -> pd.DataFrame:
    """Each source with its attribution and whether it is present and verified.

    Uses the cache's state file, so unchanged files are not rehashed.

    Parameters
    ----------
    sources : iterable of Source, optional
        Which sources (default: the whole catalogue).
    cache_dir : path, optional
        The cache (default :func:`townhall.config.cache_dir`).

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``publisher``, ``licence``, ``vintage``, ``present``, ``verified``
        (bool: matches the declared length and sha256), ``bytes`` (declared), ``check``
        (``sha256 ok``, ``missing``, ``sha256 mismatch``, ``wrong length (...)`` or
        ``origin copy, not checkable against the declared hash``).
    """
    return _status(_select(sources), _cache(cache_dir), rehash=False)


def verify(
    sources: Iterable[Source] | None = None, cache_dir: Path | str | None = None
) -> pd.DataFrame:
    """Like :func:`status`, but rehash every present file (and refresh the state file)."""
    return _status(_select(sources), _cache(cache_dir), rehash=True)


def _status(srcs: list[Source], cache: Path, *, rehash: bool) -> pd.DataFrame:
    state = _State(cache)
    rows = []
    try:
        if rehash:
            _rehash(srcs, cache, state)
        for s in srcs:
            c = _check(s, cache, state)
            rows.append(
                {
                    "path": s.path,
                    "publisher": s.publisher,
                    "licence": s.licence,
                    "vintage": s.vintage,
                    "present": c.present,
                    "verified": c.verified,
                    "bytes": s.bytes,
                    "check": c.note,
                }
            )
    finally:
        state.save()
    import pandas as pd  # lazily: the CLI should start without pandas where it can

    cols = ["path", "publisher", "licence", "vintage", "present", "verified", "bytes", "check"]
    return pd.DataFrame(rows, columns=cols)


def missing(
    sources: Iterable[Source] | None = None, cache_dir: Path | str | None = None
) -> list[Source]:
    """Sources not in the cache in good order (absent, or failing their check).

    An ``exact = false`` file accepted from its origin counts as present.
    """
    srcs, cache = _select(sources), _cache(cache_dir)
    state = _State(cache)
    try:
        return [s for s in srcs if not _check(s, cache, state).accepted]
    finally:
        state.save()


def require(
    sources: Iterable[Source] | None = None,
    cache_dir: Path | str | None = None,
    *,
    rehash: bool = False,
) -> None:
    """Raise unless every source is in the cache in good order.

    Cheap by default (uses the state file); with ``rehash=True`` every file is hashed
    again first (what a build does: the inputs it reads are the ones verified, not merely
    files of the right size and date). A missing file raises :class:`DataMissingError`
    listing them with how to get them; a file failing its check raises
    :class:`ChecksumError` naming it and both hashes (the same message as ``data verify``).
    """
    srcs, cache = _select(sources), _cache(cache_dir)
    state = _State(cache)
    absent, bad = [], []
    try:
        if rehash:
            _rehash(srcs, cache, state)
        for s in srcs:
            c = _check(s, cache, state)
            if not c.present:
                absent.append(s)
            elif not c.accepted:
                sha = c.sha256 or sha256_file(
                    s.local(cache)
                )  # name both hashes, even if the length gave it away
                bad.append((s, sha, c.size))
    finally:
        state.save()
    if bad:
        lines = [
            f"{s.path} in the cache fails its check: expected sha256 {s.sha256} ({s.bytes:,} bytes), "
            f"actual sha256 {sha} ({size:,} bytes)"
            for s, sha, size in bad
        ]
        raise ChecksumError(
            "\n".join(lines), hint="Run 'townhall data pull' to replace the bad files."
        )
    if absent:
        names = [s.path for s in absent]
        shown = "\n  ".join(
            names if len(names) <= 12 else [*names[:10], f"... and {len(names) - 10} more"]
        )
        raise DataMissingError(
            f"{len(names)} source file{'s are' if len(names) != 1 else ' is'} not in the cache "
            f"({cache}):\n  {shown}",
            hint=HOW_TO_GET,
        )


# --------------------------------------------------------------------------- pulling


class _Offline(Exception):
    """Could not connect at all: no network (or the origin host is unreachable)."""


class _Transient(Exception):
    """A failure worth retrying (dropped connection, 5xx, timeout)."""


class _Stopped(Exception):
    """The pull was interrupted (Ctrl+C): stop this transfer now."""


class _Puller:
    """One pull: the shared pieces the per-file workers need."""

    def __init__(
        self,
        cache: Path,
        mirror: Path | None,
        client: httpx.Client,
        state: _State,
        report: PullReport,
        progress: ProgressCallback | None,
        retries: int,
        backoff: float,
    ) -> None:
        self.cache, self.mirror, self.client, self.state = cache, mirror, client, state
        self.report, self.progress = report, progress
        self.retries, self.backoff = retries, backoff
        self.lock = threading.Lock()
        # origin (scheme, host, port) -> why it could not be reached; later files from it are not tried
        self.offline: dict[str, str] = {}
        # Set on Ctrl+C: every transfer stops at its next block.
        self.stop = threading.Event()

    def emit(self, event: ProgressEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def bytes_(self, src: Source, n: int) -> None:
        if n:
            self.emit(ProgressEvent("bytes", src, nbytes=n))

    # ---- one file

    def pull_one(self, src: Source) -> None:
        outcome = "failed"
        if self.stop.is_set():
            return
        try:
            outcome = self._pull_one(src)
        except _Stopped:
            outcome = "stopped"
        except TownhallError as exc:
            with self.lock:
                self.report.failures[src.path] = exc
        finally:
            self.emit(ProgressEvent("done", src, outcome=outcome))

    def _pull_one(self, src: Source) -> str:
        final = src.local(self.cache)
        part = final.with_name(final.name + ".part")
        if self.mirror is not None and (self.mirror / src.path).is_file():
            return self._copy(src, self.mirror / src.path, part, final)
        url = httpx.URL(src.url)
        host = f"{url.scheme}://{url.host}:{url.port or ''}"
        with self.lock:
            known = self.offline.get(host)
        if known is not None:
            raise self._missing(src, known)
        try:
            return self._download(src, part, final)
        except _Offline as exc:
            with self.lock:
                why = self.offline.setdefault(host, str(exc))
            raise self._missing(src, why) from None

    def _missing(self, src: Source, why: str) -> DataMissingError:
        where = f"not in the mirror {self.mirror}" if self.mirror is not None else "no mirror given"
        reason = f"{where} and the network is unreachable ({why})"
        err = DataMissingError(f"{src.path} is missing: {reason}", hint=HOW_TO_GET)
        err.reason = reason  # type: ignore[attr-defined]
        return err

    def _place(
        self, src: Source, part: Path, final: Path, sha: str, obtained: str, origin: str
    ) -> None:
        os.replace(part, final)  # atomic on one filesystem: the cache never holds half a file
        self.state.put(src.path, final, sha, obtained, origin)

    def _mismatch(self, src: Source, part: Path, sha: str, size: int, where: str) -> ChecksumError:
        part.unlink(missing_ok=True)
        return ChecksumError(
            f"Checksum mismatch for {src.path} ({where}): expected sha256 {src.sha256} "
            f"({src.bytes:,} bytes), actual sha256 {sha} ({size:,} bytes). "
            "The bad copy was deleted; nothing was put in the cache."
        )

    # ---- from a mirror

    def _copy(self, src: Source, origin: Path, part: Path, final: Path) -> str:
        h = hashlib.sha256()
        size = 0
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            with open(origin, "rb") as fin, open(part, "wb") as fout:
                while block := fin.read(CHUNK):
                    if self.stop.is_set():
                        raise _Stopped
                    h.update(block)
                    fout.write(block)
                    size += len(block)
                    self.bytes_(src, len(block))
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"Could not copy {src.path} from the mirror ({origin}): {exc}"
            ) from None
        except BaseException:  # stopped (Ctrl+C): a half copy is worth nothing
            part.unlink(missing_ok=True)
            raise
        sha = h.hexdigest()
        if sha != src.sha256 or size != src.bytes:
            raise self._mismatch(src, part, sha, size, f"from the mirror: {origin}")
        self._place(src, part, final, sha, "mirror", str(origin))
        with self.lock:
            self.report.copied.append(src.path)
            self.report.bytes_copied += size
        return "mirror"

    # ---- from the origin

    def _download(self, src: Source, part: Path, final: Path) -> str:
        attempt = 0
        restarted = False
        while True:
            try:
                sha, size, new = self._transfer(src, part)
            except _Transient as exc:
                attempt += 1
                if attempt > self.retries:
                    raise DownloadError(
                        f"Could not download {src.path} from {src.url} after {attempt} tries: {exc}. "
                        "The partial file is kept; 'townhall data pull' resumes it."
                    ) from None
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))
                continue
            except _Offline:
                attempt += 1
                if attempt > min(self.retries, 2):  # a refused connection rarely heals in seconds
                    raise
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))
                continue
            if sha == src.sha256 and size == src.bytes:
                self._place(src, part, final, sha, "network", src.url)
                with self.lock:
                    self.report.fetched.append(src.path)
                return "network"
            if new < size and not restarted:
                # Resumed onto an old .part that may not belong to this file: start afresh once.
                part.unlink(missing_ok=True)
                self.bytes_(src, -size)
                restarted = True
                continue
            if not src.exact:
                # The mirror's copy is a reconstruction: the origin's own file may differ.
                self._place(src, part, final, sha, "origin-unchecked", src.url)
                with self.lock:
                    self.report.fetched.append(src.path)
                    self.report.unchecked.append(src.path)
                return "origin-unchecked"
            raise self._mismatch(src, part, sha, size, f"downloaded from {src.url}")

    def _transfer(self, src: Source, part: Path) -> tuple[str, int, int]:
        """Stream ``src.url`` into ``part``, resuming what is there.

        Returns (sha256, size, bytes received now). On failure the ``.part`` keeps what
        arrived (unless it cannot belong to this file) and the progress is rewound.
        """
        h = hashlib.sha256()
        have = part.stat().st_size if part.exists() else 0
        if src.exact and have > src.bytes:
            part.unlink()
            have = 0
        if have:
            # Hash what we already have so the finished file is hashed once, not re-read.
            with open(part, "rb") as f:
                while block := f.read(CHUNK):
                    h.update(block)
            self.bytes_(src, have)
            if src.exact and have == src.bytes:
                return h.hexdigest(), have, 0
        # identity: a Range counts bytes of the encoded body, so a compressed body cannot resume.
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        new = 0
        try:
            with self.client.stream("GET", src.url, headers=headers) as r:
                if r.status_code == 416 and have:
                    # Our .part is at or past the end the server knows: start afresh.
                    part.unlink(missing_ok=True)
                    raise _Transient("server refused to resume (416); restarting")
                if r.status_code == 404:
                    part.unlink(missing_ok=True)
                    raise DownloadError(
                        f"{src.path} was not found at its origin (HTTP 404): {src.url}",
                        hint="The declared URL may be wrong; a local mirror may still have it "
                        "(TOWNHALL_MIRROR=DIR or 'townhall data pull --mirror DIR').",
                    )
                if r.status_code in _RETRY_STATUS:
                    raise _Transient(f"HTTP {r.status_code}")
                if r.status_code not in (200, 206):
                    part.unlink(missing_ok=True)
                    raise DownloadError(
                        f"Could not download {src.path}: HTTP {r.status_code} from {src.url}"
                    )
                mode = "ab"
                if r.status_code == 206:
                    got = _range_start(r.headers.get("content-range", ""))
                    if got != have:
                        part.unlink(missing_ok=True)
                        raise _Transient(f"server resumed at byte {got}, not {have}; restarting")
                elif have:
                    # 200 to a Range request: the server is sending the whole file; start over.
                    self.bytes_(src, -have)
                    h = hashlib.sha256()
                    have = 0
                    mode = "wb"
                else:
                    mode = "wb"
                part.parent.mkdir(parents=True, exist_ok=True)
                with open(part, mode) as f:
                    for block in r.iter_bytes():  # as it arrives, so a cut loses little
                        if self.stop.is_set():
                            raise _Stopped  # the .part stays: the next pull resumes it
                        f.write(block)
                        h.update(block)
                        new += len(block)
                        self.bytes_(src, len(block))
        except BaseException as exc:
            self.bytes_(src, -(have + new))  # the next attempt counts again what is on disk
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise _Offline(_short(exc)) from None
            if isinstance(exc, httpx.TransportError | httpx.DecodingError):
                # Dropped connection, read timeout, truncated body: the .part keeps what arrived.
                raise _Transient(_short(exc)) from None
            raise
        finally:
            with self.lock:
                self.report.bytes_fetched += new
        return h.hexdigest(), have + new, new


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, rest = content_range.split(" ", 1)
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def pull(
    sources: Iterable[Source] | None = None,
    *,
    cache_dir: Path | str | None = None,
    mirror: Path | str | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    client: httpx.Client | None = None,
    check: bool = True,
    workers: int = 4,
    retries: int = 4,
    backoff: float = 0.5,
) -> PullReport:
    """Get source files into the cache, checking every one.

    Each file already in the cache and good (length and sha256, vouched for by the state
    file or rehashed) is left alone. Otherwise it is copied from the mirror if the mirror
    has it, else downloaded from its origin URL; either way into ``<path>.part``, checked,
    then renamed into place. Everything that can be pulled is pulled before failures are
    reported.

    ``exact = false`` sources: the declared sha256 is that of the mirror's reconstruction.
    A mirror copy is checked as usual. An origin download whose hash differs is accepted
    under its own check (complete transfer, sha256 recorded), with a warning in
    ``report.unchecked``: "origin copy, not checkable against the declared hash". Use the
    mirror copy where exactness matters; a later pull with a mirror replaces it.

    Parameters
    ----------
    sources : iterable of Source, optional
        Which files (default: the whole catalogue).
    cache_dir : path, optional
        The cache (default :func:`townhall.config.cache_dir`, ``TOWNHALL_CACHE``).
    mirror : path, optional
        A local mirror laid out like the catalogue's paths (default ``TOWNHALL_MIRROR``).
    force : bool
        Fetch again even files already present and good (a good file is only replaced
        by a copy that passes its check).
    progress : callable, optional
        Called with a :class:`ProgressEvent` as work proceeds (from worker threads).
    client : httpx.Client, optional
        Client for network transfers (default: one made here, following redirects).
    check : bool
        Raise the collected failures (see :meth:`PullReport.error`) at the end; if False,
        return the report with ``failures`` filled in.
    workers : int
        Files transferred at once.
    retries, backoff : int, float
        Retries of a transient network failure, and the first wait in seconds (doubling).

    Returns
    -------
    PullReport

    Raises
    ------
    ChecksumError
        A file's copy did not match its declared sha256 or length (the message names
        the file and both hashes; the bad copy is deleted).
    DownloadError
        A file could not be fetched (e.g. 404; the message names the file and URL).
    DataMissingError
        No mirror has the file and the network cannot be reached; says how to get it.
    InputError
        ``mirror`` is not a folder.
    """
    t0 = time.perf_counter()
    srcs = _select(sources)
    cache = _cache(cache_dir)
    mirror_path = Path(mirror).expanduser() if mirror is not None else config.mirror_dir()
    if mirror_path is not None:
        mirror_path = mirror_path.absolute()  # messages and the state file name it unambiguously
    if mirror_path is not None and not mirror_path.is_dir():
        raise InputError(
            "The mirror folder does not exist",
            file=str(mirror_path),
            hint="Give the folder holding catalogue.csv and the data folders (--mirror DIR or TOWNHALL_MIRROR).",
        )
    _make_cache(cache)
    report = PullReport(cache_dir=cache, mirror=mirror_path)
    with _cache_lock(cache, srcs, progress):
        _pull_locked(srcs, cache, mirror_path, report, force=force, progress=progress, client=client,
                     workers=workers, retries=retries, backoff=backoff)
    order = {s.path: i for i, s in enumerate(srcs)}
    for lst in (report.fetched, report.copied, report.present, report.unchecked):
        lst.sort(key=order.__getitem__)
    report.failures = dict(sorted(report.failures.items(), key=lambda kv: order[kv[0]]))
    report.seconds = time.perf_counter() - t0
    if check:
        report.raise_for_failures()
    return report


def _make_cache(cache: Path) -> None:
    """Create the cache folder, or say plainly why it cannot be one."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"The source cache {cache} is a file, not a folder: set TOWNHALL_CACHE to a folder."
        ) from None
    except OSError as exc:
        raise InputError(
            f"Cannot create the source cache {cache} ({exc.strerror or exc}): "
            "set TOWNHALL_CACHE to a folder you can write to."
        ) from None


@contextlib.contextmanager
def _cache_lock(cache: Path, srcs: list[Source], progress: ProgressCallback | None):
    """Hold the cache's pull lock: one pull at a time writes into a cache.

    A second pull says who holds the lock (pid, host, since when) and waits for it. A cache
    that cannot hold a lock file is read-only: fine if nothing needs pulling, else an error
    naming the folder.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(cache / LOCK_FILE))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if progress is not None:
                progress(ProgressEvent("wait", outcome=_lock_owner(cache)))
            lock.acquire()  # Ctrl+C still stops the wait
    except OSError as exc:
        if missing(srcs, cache):
            raise InputError(
                f"The source cache {cache} is not writable ({exc.strerror or exc}), so nothing can be "
                "pulled into it: set TOWNHALL_CACHE to a folder you can write to "
                "(a read-only cache that is already complete can still be read and verified)."
            ) from None
        yield  # read-only but complete: nothing will be written
        return
    try:
        with contextlib.suppress(OSError):
            (cache / OWNER_FILE).write_text(json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds")}), "utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            (cache / OWNER_FILE).unlink(missing_ok=True)
        lock.release()


def _lock_owner(cache: Path) -> str:
    """Who holds a cache's pull lock, for the waiting pull's message."""
    try:
        o = json.loads((cache / OWNER_FILE).read_text("utf-8"))
        return f"another pull (pid {o['pid']} on {o['host']}, since {o['since']}) is filling {cache}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"another pull is filling {cache}"


def _pull_locked(srcs: list[Source], cache: Path, mirror_path: Path | None, report: PullReport, *,
                 force: bool, progress: ProgressCallback | None, client: httpx.Client | None,
                 workers: int, retries: int, backoff: float) -> None:
    """The body of :func:`pull`, run while holding the cache's lock."""
    state = _State(cache)  # read under the lock: another pull may just have filled the cache
    todo: list[Source] = []
    try:
        for s in srcs:
            c = _check(s, cache, state)
            upgrade = (
                c.obtained == "origin-unchecked"
                and mirror_path is not None
                and (mirror_path / s.path).is_file()
            )
            if c.accepted and not force and not upgrade:
                report.present.append(s.path)
                if c.obtained == "origin-unchecked":
                    report.unchecked.append(s.path)
                continue
            if c.present and not c.accepted:
                # A bad file must not stay where a build would read it.
                s.local(cache).unlink(missing_ok=True)
                state.drop(s.path)
            todo.append(s)
        if progress is not None:
            progress(ProgressEvent("plan", total=sum(s.bytes for s in todo), files=len(todo)))
        if todo:
            own_client = client is None
            http = client or httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(60.0, connect=15.0),
                headers={
                    "User-Agent": f"townhall/{_version} (+https://github.com/townhall-uk/townhall)"
                },
            )
            try:
                puller = _Puller(
                    cache, mirror_path, http, state, report, progress, retries, backoff
                )
                try:
                    if workers <= 1 or len(todo) == 1:
                        for s in todo:
                            puller.pull_one(s)
                    else:
                        with ThreadPoolExecutor(max_workers=workers) as pool:
                            futures = [pool.submit(puller.pull_one, s) for s in todo]
                            try:
                                for f in futures:
                                    f.result()
                            except BaseException:
                                puller.stop.set()  # Ctrl+C: running transfers stop at their next block
                                for f in futures:
                                    f.cancel()
                                raise
                except BaseException:
                    puller.stop.set()
                    raise
            finally:
                if own_client:
                    http.close()
    finally:
        state.save()


__all__ = [
    "ORIGIN_UNCHECKED_NOTE",
    "ProgressEvent",
    "PullReport",
    "missing",
    "pull",
    "require",
    "sha256_file",
    "status",
    "verify",
]
