"""The downloader against a real HTTP server on 127.0.0.1 and against local mirrors.

The server (stdlib ``http.server`` in a thread) serves files from a folder in
``tmp_path``, honours ``Range: bytes=N-`` with 206, and can be told to cut the
connection half way through the first response for a file, to answer 503 once,
or to ignore Range and send 200. Sources are built here, pointing at it; the real
catalogue is only used by the last test, which copies it from the real mirror.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.errors import ChecksumError, DataMissingError, DownloadError, InputError
from townhall.sources import download
from townhall.sources.catalogue import Source, load_catalogue

REAL_MIRROR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


# --------------------------------------------------------------------------- the server


@dataclass
class ServerState:
    root: Path
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    cut_once: set[str] = field(default_factory=set)  # cut these half way, on their first request
    fail_once: set[str] = field(default_factory=set)  # answer 503 to their first request
    ignore_range: bool = False  # answer Range requests with 200 and the whole file
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args: object) -> None:  # keep pytest output quiet
        pass

    def do_GET(self) -> None:
        state: ServerState = self.server.state  # type: ignore[attr-defined]
        name = unquote(self.path.lstrip("/"))
        rng = self.headers.get("Range")
        with state.lock:
            state.requests.append((name, rng))
            cut = name in state.cut_once
            state.cut_once.discard(name)
            fail = name in state.fail_once
            state.fail_once.discard(name)
        f = state.root / name
        if fail:
            self.send_error(503)
            return
        if not f.is_file():
            self.send_error(404)
            return
        body = f.read_bytes()
        start = 0
        if rng and not state.ignore_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if cut:
            # Promise the whole body, send half, then drop the connection.
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(payload)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, ServerState]]:
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.state = ServerState(root)  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.state  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


# --------------------------------------------------------------------------- helpers


def blob(n: int, seed: int) -> bytes:
    """n reproducible pseudo-random bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_source(
    path: str, data: bytes, base: str = "http://127.0.0.1:9", *, exact: bool = True
) -> Source:
    name = path.rsplit("/", 1)[-1]
    return Source(
        path=path,
        url=f"{base}/{name}",
        sha256=sha(data),
        bytes=len(data),
        exact=exact,
        publisher="Test Office",
        publisher_url="https://example.org",
        licence="OGL-3.0",
        vintage="2024",
        title=f"test file {name}",
    )


def serve(state: ServerState, name: str, data: bytes) -> None:
    (state.root / name).write_bytes(data)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_env_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's TOWNHALL_MIRROR must not leak into the network tests.
    monkeypatch.delenv("TOWNHALL_MIRROR", raising=False)


A = blob(300_000, 1)
B = blob(5_000, 2)


# --------------------------------------------------------------------------- network


def test_good_download_then_nothing_to_do(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    serve(state, "b.csv", B)
    srcs = [make_source("grp/a.bin", A, base), make_source("grp/b.csv", B, base)]
    cache = tmp_path / "cache"

    r = download.pull(srcs, cache_dir=cache, backoff=0)

    assert r.fetched == ["grp/a.bin", "grp/b.csv"]
    assert r.copied == [] and r.present == [] and r.failures == {}
    assert r.bytes_fetched == 305_000
    assert (cache / "grp/a.bin").read_bytes() == A
    assert (cache / "grp/b.csv").read_bytes() == B
    assert not list(cache.rglob("*.part"))
    st_ = json.loads((cache / ".townhall-state.json").read_text())
    assert st_["files"]["grp/a.bin"]["sha256"] == sha(A)
    assert st_["files"]["grp/a.bin"]["obtained"] == "network"
    assert st_["files"]["grp/a.bin"]["origin"] == f"{base}/a.bin"
    assert sorted(state.requests) == [("a.bin", None), ("b.csv", None)]

    # Second pull: both present and verified; the server hears nothing.
    r2 = download.pull(srcs, cache_dir=cache)
    assert r2.present == ["grp/a.bin", "grp/b.csv"]
    assert r2.fetched == [] and r2.bytes_fetched == 0
    assert len(state.requests) == 2

    df = download.status(srcs, cache_dir=cache)
    assert df["path"].tolist() == ["grp/a.bin", "grp/b.csv"]
    assert df["present"].tolist() == [True, True]
    assert df["verified"].tolist() == [True, True]
    assert df["check"].tolist() == ["sha256 ok", "sha256 ok"]
    assert df["licence"].tolist() == ["OGL-3.0", "OGL-3.0"]
    assert download.missing(srcs, cache_dir=cache) == []


def test_progress_events_add_up(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    serve(state, "b.csv", B)
    state.cut_once.add("a.bin")  # a rewind and a resume must still add up
    srcs = [make_source("a.bin", A, base), make_source("b.csv", B, base)]
    events: list[download.ProgressEvent] = []
    lock = threading.Lock()

    def record(ev: download.ProgressEvent) -> None:
        with lock:
            events.append(ev)

    download.pull(srcs, cache_dir=tmp_path / "c", progress=record, backoff=0)
    plan = [e for e in events if e.kind == "plan"]
    assert [(e.total, e.files) for e in plan] == [(305_000, 2)]
    assert sum(e.nbytes for e in events if e.kind == "bytes") == 305_000
    assert sorted((e.source.path, e.outcome) for e in events if e.kind == "done") == [
        ("a.bin", "network"),
        ("b.csv", "network"),
    ]


def test_corrupted_download_is_never_placed(server, tmp_path):
    base, state = server
    bad = bytearray(A)
    bad[1234] ^= 0xFF  # same length, one byte flipped
    serve(state, "a.bin", bytes(bad))
    serve(state, "b.csv", B)
    srcs = [make_source("grp/a.bin", A, base), make_source("grp/b.csv", B, base)]
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as ei:
        download.pull(srcs, cache_dir=cache, backoff=0)

    msg = str(ei.value)
    assert "grp/a.bin" in msg
    assert f"expected sha256 {sha(A)}" in msg
    assert f"actual sha256 {sha(bytes(bad))}" in msg
    assert f"{base}/a.bin" in msg
    assert not (cache / "grp/a.bin").exists()
    assert not (cache / "grp/a.bin.part").exists()
    # The good file was still pulled, and the report travels with the error.
    assert (cache / "grp/b.csv").read_bytes() == B
    report = ei.value.report
    assert report.fetched == ["grp/b.csv"]
    assert list(report.failures) == ["grp/a.bin"]
    assert [s.path for s in download.missing(srcs, cache_dir=cache)] == ["grp/a.bin"]


def test_wrong_length_download_names_both_hashes(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A[:-10])
    src = make_source("a.bin", A, base)
    r = download.pull([src], cache_dir=tmp_path / "c", check=False, backoff=0)
    err = r.failures["a.bin"]
    assert isinstance(err, ChecksumError)
    assert sha(A) in err.message and sha(A[:-10]) in err.message
    assert "(300,000 bytes)" in err.message and "(299,990 bytes)" in err.message
    assert not (tmp_path / "c" / "a.bin").exists()


def test_interrupted_transfer_resumes_with_range(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    state.cut_once.add("a.bin")
    src = make_source("a.bin", A, base)
    cache = tmp_path / "cache"

    r = download.pull([src], cache_dir=cache, backoff=0)

    # First request cut after 150,000 bytes; the retry asks for the rest only.
    assert state.requests == [("a.bin", None), ("a.bin", "bytes=150000-")]
    assert (cache / "a.bin").read_bytes() == A
    assert r.fetched == ["a.bin"]
    assert r.bytes_fetched == 300_000  # 150,000 + 150,000, nothing twice
    assert download.status([src], cache_dir=cache)["verified"].tolist() == [True]


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    src = make_source("a.bin", A, base)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "a.bin.part").write_bytes(A[:100_000])

    r = download.pull([src], cache_dir=cache)

    assert state.requests == [("a.bin", "bytes=100000-")]
    assert r.bytes_fetched == 200_000
    assert (cache / "a.bin").read_bytes() == A


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    state.ignore_range = True  # 200 with the whole file in answer to a Range request
    src = make_source("a.bin", A, base)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "a.bin.part").write_bytes(A[:100_000])

    r = download.pull([src], cache_dir=cache)

    assert state.requests == [("a.bin", "bytes=100000-")]
    assert r.bytes_fetched == 300_000
    assert (cache / "a.bin").read_bytes() == A  # not 100,000 bytes prepended twice


def test_stale_partial_file_is_discarded_and_fetched_afresh(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    src = make_source("a.bin", A, base)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "a.bin.part").write_bytes(blob(100_000, 99))  # a .part of something else

    r = download.pull([src], cache_dir=cache)

    assert state.requests == [("a.bin", "bytes=100000-"), ("a.bin", None)]
    assert (cache / "a.bin").read_bytes() == A
    assert r.failures == {}


def test_transient_503_is_retried(server, tmp_path):
    base, state = server
    serve(state, "b.csv", B)
    state.fail_once.add("b.csv")
    r = download.pull([make_source("b.csv", B, base)], cache_dir=tmp_path / "c", backoff=0)
    assert state.requests == [("b.csv", None), ("b.csv", None)]
    assert r.fetched == ["b.csv"]


def test_404_names_file_and_url(server, tmp_path):
    base, state = server
    serve(state, "b.csv", B)
    srcs = [make_source("grp/gone.csv", A, base), make_source("grp/b.csv", B, base)]
    cache = tmp_path / "cache"

    with pytest.raises(DownloadError) as ei:
        download.pull(srcs, cache_dir=cache, backoff=0)

    msg = str(ei.value)
    assert "grp/gone.csv" in msg and "404" in msg and f"{base}/gone.csv" in msg
    assert state.requests.count(("gone.csv", None)) == 1  # a 404 is not retried
    assert not (cache / "grp/gone.csv").exists()
    assert not (cache / "grp/gone.csv.part").exists()
    assert (cache / "grp/b.csv").read_bytes() == B


def test_no_network_no_mirror_says_what_is_missing_and_how(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}"
    srcs = [make_source("grp/a.bin", A, base), make_source("grp/b.csv", B, base)]

    with pytest.raises(DataMissingError) as ei:
        download.pull(srcs, cache_dir=tmp_path / "cache", backoff=0)

    err = ei.value
    assert "2 missing: no mirror given and the network is unreachable" in err.message
    assert "grp/a.bin" in err.message and "grp/b.csv" in err.message
    assert "TOWNHALL_MIRROR=DIR" in err.hint and "--mirror DIR" in err.hint
    assert "townhall data pull" in err.hint
    assert not (tmp_path / "cache" / "grp").exists()  # not even an empty folder


def test_unreachable_host_does_not_stop_another(server, tmp_path):
    base, state = server
    serve(state, "b.csv", B)
    dead = f"http://127.0.0.1:{closed_port()}"
    # Same host name, different port: the first file's failure must not mark the live one offline.
    srcs = [make_source("grp/a.bin", A, dead), make_source("grp/b.csv", B, base)]
    r = download.pull(srcs, cache_dir=tmp_path / "cache", check=False, backoff=0, workers=1)
    assert r.fetched == ["grp/b.csv"]
    assert list(r.failures) == ["grp/a.bin"]
    assert isinstance(r.failures["grp/a.bin"], DataMissingError)


def test_416_on_an_overlong_partial_restarts(server, tmp_path):
    base, state = server
    origin_copy = B + b"\n"
    serve(state, "recon.csv", origin_copy)
    src = make_source("recon.csv", B, base, exact=False)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "recon.csv.part").write_bytes(b"x" * 40)  # longer than the served file

    r = download.pull([src], cache_dir=cache, backoff=0)

    assert state.requests == [("recon.csv", "bytes=40-"), ("recon.csv", None)]
    assert (cache / "recon.csv").read_bytes() == origin_copy
    assert r.unchecked == ["recon.csv"]


def test_origin_copy_of_inexact_source_is_accepted_with_note(server, tmp_path):
    base, state = server
    mirror_copy = B
    origin_copy = B + b"\n"  # the origin's own bytes differ from the mirror's reconstruction
    serve(state, "recon.csv", origin_copy)
    src = make_source("grp/recon.csv", mirror_copy, base, exact=False)
    cache = tmp_path / "cache"

    r = download.pull([src], cache_dir=cache)

    assert r.fetched == ["grp/recon.csv"]
    assert r.unchecked == ["grp/recon.csv"]
    assert (cache / "grp/recon.csv").read_bytes() == origin_copy
    df = download.status([src], cache_dir=cache)
    assert df["present"].tolist() == [True]
    assert df["verified"].tolist() == [False]
    assert df["check"].tolist() == ["origin copy, not checkable against the declared hash"]
    assert download.missing([src], cache_dir=cache) == []
    download.require([src], cache_dir=cache)  # accepted under its own check

    # Again without a mirror: left alone, still flagged.
    r2 = download.pull([src], cache_dir=cache)
    assert r2.present == ["grp/recon.csv"] and r2.unchecked == ["grp/recon.csv"]
    assert len(state.requests) == 1

    # With a mirror: replaced by the checkable copy.
    mirror = tmp_path / "mirror"
    (mirror / "grp").mkdir(parents=True)
    (mirror / "grp/recon.csv").write_bytes(mirror_copy)
    r3 = download.pull([src], cache_dir=cache, mirror=mirror)
    assert r3.copied == ["grp/recon.csv"] and r3.unchecked == []
    assert (cache / "grp/recon.csv").read_bytes() == mirror_copy
    assert download.status([src], cache_dir=cache)["verified"].tolist() == [True]


def test_exact_source_from_origin_must_match(server, tmp_path):
    base, state = server
    serve(state, "recon.csv", B + b"\n")
    src = make_source("recon.csv", B, base, exact=True)
    with pytest.raises(ChecksumError):
        download.pull([src], cache_dir=tmp_path / "c")
    assert not (tmp_path / "c" / "recon.csv").exists()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(k=st.integers(min_value=0, max_value=len(B)))
def test_resume_from_any_byte_gives_the_file(server, k):
    base, state = server
    serve(state, "b.csv", B)
    src = make_source("b.csv", B, base)
    with tempfile.TemporaryDirectory() as d:
        cache = Path(d)
        if k:
            (cache / "b.csv.part").write_bytes(B[:k])
        state.requests.clear()
        r = download.pull([src], cache_dir=cache)
        assert (cache / "b.csv").read_bytes() == B
        assert r.bytes_fetched == len(B) - k
        # A complete .part is checked without asking the server; otherwise only the rest is asked for.
        expected = [] if k == len(B) else [("b.csv", f"bytes={k}-" if k else None)]
        assert state.requests == expected


# --------------------------------------------------------------------------- mirror


def make_mirror(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def test_mirror_copy_good(tmp_path):
    mirror = make_mirror(tmp_path / "mirror", {"grp/a.bin": A, "grp/sub/b.csv": B})
    srcs = [make_source("grp/a.bin", A), make_source("grp/sub/b.csv", B)]  # URLs unreachable
    cache = tmp_path / "cache"

    r = download.pull(srcs, cache_dir=cache, mirror=mirror)

    assert r.copied == ["grp/a.bin", "grp/sub/b.csv"]
    assert r.bytes_copied == 305_000 and r.fetched == []
    assert (cache / "grp/sub/b.csv").read_bytes() == B
    st_ = json.loads((cache / ".townhall-state.json").read_text())["files"]
    assert st_["grp/a.bin"]["obtained"] == "mirror"
    assert st_["grp/a.bin"]["origin"] == str(mirror / "grp/a.bin")


def test_mirror_from_environment(tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror", {"b.csv": B})
    monkeypatch.setenv("TOWNHALL_MIRROR", str(mirror))
    monkeypatch.setenv("TOWNHALL_CACHE", str(tmp_path / "envcache"))
    r = download.pull([make_source("b.csv", B)])
    assert r.copied == ["b.csv"]
    assert (tmp_path / "envcache" / "b.csv").read_bytes() == B


def test_mirror_with_one_corrupted_file(tmp_path):
    bad = B[:-1] + b"X"
    mirror = make_mirror(tmp_path / "mirror", {"grp/a.bin": A, "grp/b.csv": bad})
    srcs = [make_source("grp/a.bin", A), make_source("grp/b.csv", B)]
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as ei:
        download.pull(srcs, cache_dir=cache, mirror=mirror)

    msg = str(ei.value)
    assert "grp/b.csv" in msg
    assert f"expected sha256 {sha(B)}" in msg and f"actual sha256 {sha(bad)}" in msg
    assert str(mirror / "grp/b.csv") in msg
    assert (cache / "grp/a.bin").read_bytes() == A
    assert not (cache / "grp/b.csv").exists() and not (cache / "grp/b.csv.part").exists()


def test_missing_mirror_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="mirror folder does not exist"):
        download.pull([make_source("b.csv", B)], cache_dir=tmp_path / "c", mirror=tmp_path / "nope")


def test_file_absent_from_mirror_falls_back_to_network(server, tmp_path):
    base, state = server
    serve(state, "a.bin", A)
    mirror = make_mirror(tmp_path / "mirror", {"b.csv": B})
    srcs = [make_source("a.bin", A, base), make_source("b.csv", B, base)]
    r = download.pull(srcs, cache_dir=tmp_path / "c", mirror=mirror)
    assert r.fetched == ["a.bin"] and r.copied == ["b.csv"]
    assert state.requests == [("a.bin", None)]


# --------------------------------------------------------------------------- the state file


def test_status_uses_state_and_rehashes_only_changed_files(tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror", {"a.bin": A, "b.csv": B})
    srcs = [make_source("a.bin", A), make_source("b.csv", B)]
    cache = tmp_path / "cache"
    download.pull(srcs, cache_dir=cache, mirror=mirror)

    hashed: list[str] = []
    real = download.sha256_file
    monkeypatch.setattr(download, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))

    assert download.status(srcs, cache_dir=cache)["verified"].tolist() == [True, True]
    assert hashed == []  # vouched for by the state file

    # Same length, new content and mtime: rehashed and found bad.
    bad = B[:-1] + b"X"
    (cache / "b.csv").write_bytes(bad)
    os.utime(cache / "b.csv", ns=(1_000_000_000, 1_000_000_000))
    df = download.status(srcs, cache_dir=cache)
    assert hashed == ["b.csv"]
    assert df["verified"].tolist() == [True, False]
    assert df["check"].tolist() == ["sha256 ok", "sha256 mismatch"]

    # verify() rehashes everything.
    hashed.clear()
    download.verify(srcs, cache_dir=cache)
    assert sorted(hashed) == ["a.bin", "b.csv"]

    with pytest.raises(ChecksumError) as ei:
        download.require(srcs, cache_dir=cache)
    assert sha(B) in str(ei.value) and sha(bad) in str(ei.value) and "b.csv" in str(ei.value)

    # A pull replaces the bad file with the mirror's good copy.
    r = download.pull(srcs, cache_dir=cache, mirror=mirror)
    assert r.copied == ["b.csv"] and r.present == ["a.bin"]
    assert (cache / "b.csv").read_bytes() == B


def test_wrong_length_in_cache_is_not_verified(tmp_path):
    mirror = make_mirror(tmp_path / "mirror", {"b.csv": B})
    src = make_source("b.csv", B)
    cache = tmp_path / "cache"
    download.pull([src], cache_dir=cache, mirror=mirror)
    with open(cache / "b.csv", "ab") as f:
        f.write(b"more")
    df = download.status([src], cache_dir=cache)
    assert df["check"].tolist() == ["wrong length (5,004 bytes, declared 5,000)"]
    assert [s.path for s in download.missing([src], cache_dir=cache)] == ["b.csv"]


def test_require_lists_missing_files(tmp_path):
    srcs = [make_source("grp/a.bin", A), make_source("grp/b.csv", B)]
    with pytest.raises(DataMissingError) as ei:
        download.require(srcs, cache_dir=tmp_path / "empty")
    assert "2 source files are not in the cache" in ei.value.message
    assert "grp/a.bin" in ei.value.message and "TOWNHALL_MIRROR" in ei.value.hint


def test_force_refetches_but_keeps_a_good_file_if_the_new_copy_is_bad(tmp_path):
    mirror = make_mirror(tmp_path / "mirror", {"b.csv": B})
    src = make_source("b.csv", B)
    cache = tmp_path / "cache"
    download.pull([src], cache_dir=cache, mirror=mirror)
    assert download.pull([src], cache_dir=cache, mirror=mirror, force=True).copied == ["b.csv"]

    (mirror / "b.csv").write_bytes(B[:-1] + b"X")
    with pytest.raises(ChecksumError):
        download.pull([src], cache_dir=cache, mirror=mirror, force=True)
    assert (cache / "b.csv").read_bytes() == B


# --------------------------------------------------------------------------- the real mirror


@pytest.mark.skipif(not REAL_MIRROR.is_dir(), reason="the shared data mirror is not here")
def test_real_catalogue_from_real_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNHALL_MIRROR", str(REAL_MIRROR))
    cache = tmp_path / "cache"
    cat = load_catalogue()
    assert len(cat) == 302

    r = download.pull(cache_dir=cache)

    assert len(r.copied) == 302 and r.failures == {} and r.unchecked == []
    assert r.bytes_copied == sum(s.bytes for s in cat) == 134_963_790
    df = download.verify(cache_dir=cache)
    assert len(df) == 302
    assert int(df["verified"].sum()) == 302
    assert sum(not s.exact for s in cat) == 7  # the reconstructions, checkable from the mirror
    download.require(cache_dir=cache)
