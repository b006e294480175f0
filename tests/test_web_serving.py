"""How the server holds under load: compressed replays, bounded computations, one warm-up per
server, and the small supervisor process of ``townhall up --workers N``."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from townhall.web import cache as web_cache
from townhall.web.cache import COMPUTING_AT_ONCE, DiskCache, Kept, Memo
from townhall.web.guard import accepts_gzip
from web_fixture import make_tiny_atlas, wait_until_serving


@pytest.mark.parametrize(("header", "expected"), [
    (b"gzip", True), (b"gzip, deflate, br", True), (b"br, GZIP;q=1.0", True), (b"gzip;q=0.5", True),
    (b"*", True), (b"deflate", False), (b"", False), (b"identity", False),
    (b"gzip;q=0", False), (b"gzip; q=0.0", False), (b"gzip;q=0.000", False),
])
def test_which_clients_get_gzip(header: bytes, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_kept_responses_are_compressed_once_and_replayed_by_what_the_client_accepts() -> None:
    body = b"<p>Wigan</p>" * 500  # 6,000 bytes of HTML
    kept = Kept(200, [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"6000"),
                      (b"etag", b'"abc"')], body)
    headers, sent = kept.variant(accepts_gzip=True)
    assert gzip.decompress(sent) == body and len(sent) < 200
    assert dict(headers)[b"content-encoding"] == b"gzip"
    assert dict(headers)[b"content-length"] == str(len(sent)).encode()
    assert dict(headers)[b"etag"] == b'"abc-gz"'  # a strong validator names one exact body
    assert kept.variant(accepts_gzip=False) == (kept.headers, body)
    # Small or already compressed bodies are sent as they are.
    assert Kept(200, [(b"content-type", b"application/json")], b"{}").gzip is None
    assert Kept(200, [(b"content-type", b"image/png")], bytes(5000)).gzip is None


def test_the_app_replays_gzip_with_its_own_etag(tmp_path: Path) -> None:
    from townhall.web.app import create_app

    app = create_app(make_tiny_atlas(tmp_path / "atlas.duckdb"))
    with TestClient(app) as client:
        url = "/place/lad/E08000010"
        plain = client.get(url, headers={"accept-encoding": "identity"})
        packed = client.get(url, headers={"accept-encoding": "gzip"})
        assert plain.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
        assert packed.content == plain.content  # httpx undoes the gzip
        assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
        assert packed.headers["vary"] == plain.headers["vary"] == "accept-encoding"
        for tag in (plain.headers["etag"], packed.headers["etag"]):
            assert client.get(url, headers={"if-none-match": tag}).status_code == 304
        refused = client.get(url, headers={"accept-encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers


def test_kept_responses_on_disk_carry_both_bodies(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path / "atlas.duckdb", "fp1")
    body = b'{"rows": []}' * 200
    disk.keep_response("/api/x?", Kept(200, [(b"content-type", b"application/json")], body))
    back = disk.response("/api/x?")
    assert back is not None and back.body == body and gzip.decompress(back.gzip) == body
    # A damaged file (a worker killed while writing would not leave one: writes are atomic) is a miss.
    (f,) = [p for p in disk.dir.iterdir() if p.name.startswith("r-")]
    f.write_bytes(f.read_bytes()[:-5])
    assert disk.response("/api/x?") is None


def test_computations_take_turns_and_nested_ones_never_wait_for_a_turn() -> None:
    memo, running, most = Memo(), [0], [0]
    lock = threading.Lock()

    def slow(i: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        # Nested: a result made from another (shared by all) result.
        shared = memo.get_or_make("shared", lambda: 10)
        with lock:
            running[0] -= 1
        return i + shared

    results: dict[int, int] = {}
    threads = [threading.Thread(target=lambda i=i: results.update({i: memo.get_or_make(f"k{i}", lambda: slow(i))}))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert results == {i: i + 10 for i in range(8)}
    assert most[0] == COMPUTING_AT_ONCE == 2


def test_work_done_once_per_server(tmp_path: Path) -> None:
    calls: list[int] = []

    def work() -> bool:
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return True

    # Two workers' caches of one atlas and fingerprint (separate objects, as in two processes).
    caches = [DiskCache(tmp_path / "atlas.duckdb", "fp") for _ in range(2)]
    threads = [threading.Thread(target=c.once, args=("warm", work), kwargs={"retry_every": 0.02}) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(calls) == 1
    assert (caches[0].dir / "warm.done").exists()
    caches[1].once("warm", work)  # done already: nothing to do
    assert len(calls) == 1
    # Work that did not all succeed leaves no mark: the next worker runs it (finding what was kept).
    failed: list[int] = []
    caches[0].once("other", lambda: failed.append(1) and False)
    caches[1].once("other", lambda: failed.append(2) and False)
    assert failed == [1, 2] and not (caches[0].dir / "other.done").exists()


def test_precomputed_results_stay_on_disk_only(tmp_path: Path) -> None:
    from townhall.web.cache import Served

    served = Served(atlas=None, fingerprint="fp", identity=None,  # type: ignore[arg-type]
                    disk=DiskCache(tmp_path / "atlas.duckdb", "fp"))
    served.precompute("big", lambda: list(range(1000)))
    assert "big" not in served.memo and served.ready("big")
    assert served.cached("big", lambda: pytest.fail("computed twice"), disk=True)[999] == 999
    assert not served.ready("other")


def test_release_memory_runs() -> None:
    web_cache.release_memory()  # glibc's malloc_trim, or nothing elsewhere; never an error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.name != "posix", reason="exec and signals as on POSIX")
def test_up_with_workers_leaves_a_small_supervisor(atlas_env: Path) -> None:
    port = _free_port()  # the session's atlas (a tiny one would be stale, and 'up' would build)
    proc = subprocess.Popen([sys.executable, "-c", "from townhall.cli import main; main()", "up", "--port", str(port),
                             "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        r = wait_until_serving(proc, f"http://127.0.0.1:{port}/api/levels")
        assert r.status_code == 200
        # The process 'townhall up' started is now the supervisor: it holds no atlas or pandas.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"townhall.web.supervisor" in cmdline
        rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:"))
        assert rss_kb < 100_000  # about 30 MB (the process before exec: about 180 MB)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "serving the atlas" in out and "Stopped after" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
