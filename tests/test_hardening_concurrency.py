"""Safe concurrency: pulls into one cache, builds killed mid-way, a server whose atlas is rebuilt.

Acceptance command for the killed builds (slow, several minutes on two cores):

    python -m pytest tests/test_hardening_concurrency.py -m slow -q
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from web_fixture import make_tiny_atlas

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("TOWNHALL_MIRROR") or ROOT.parent / "shared" / "data").resolve()
CLI = [sys.executable, "-c", "from townhall.cli import main; main()"]


def _env(**kw: str | Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update({k: str(v) for k, v in kw.items()})
    return env


def test_three_concurrent_pulls_into_one_empty_cache(tmp_path: Path) -> None:
    if not (MIRROR / "geography").is_dir():
        pytest.skip(f"no data mirror at {MIRROR}")
    cache = tmp_path / "cache"
    env = _env(TOWNHALL_CACHE=cache, TOWNHALL_MIRROR=MIRROR)
    only = ["--only", "geography/onsvisual_uk_topojson", "--only", "towns_official"]
    procs = [subprocess.Popen([*CLI, "data", "pull", *only], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in out + err
    # One copied the files; the others waited for it (saying who held the cache) and found them there.
    copied = [out for out, _ in outs if " 0 copied" not in out]
    assert len(copied) == 1, outs
    verify = subprocess.run([*CLI, "data", "verify", *only], env=env, capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stderr
    assert " 0 missing, 0 not matching" in verify.stdout
    assert sorted(p.name for p in cache.rglob("*.part")) == []


def _temp_files(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.slow
def test_builds_killed_at_random_moments_leave_nothing_after_the_next_build(source_cache: Path,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "atlas.duckdb"
    env = _env(TOWNHALL_CACHE=source_cache)
    rng = random.Random(20261203)
    killed = 0
    for _ in range(4):
        proc = subprocess.Popen([*CLI, "build", "--atlas", str(out)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2, 40))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
    assert killed >= 3  # (on a fast machine a build may finish in 40 s; most are still killed)
    left = _temp_files(tmp_path, out.name)
    before = out.stat().st_mtime_ns if out.exists() else 0
    done = subprocess.run([*CLI, "build", "--atlas", str(out)], env=env, capture_output=True, text=True,
                          timeout=3600)
    assert done.returncode == 0, done.stderr
    assert _temp_files(tmp_path, out.name) == [], (left, done.stderr[-2000:])
    assert out.stat().st_mtime_ns > before  # the atlas is the new one
    con = duckdb.connect(str(out), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM area WHERE level = 'lad'").fetchone()[0] == 361
    finally:
        con.close()


def test_leftovers_of_dead_builds_go_and_a_live_build_keeps_its_own(tmp_path: Path) -> None:
    from townhall.atlas.build import remove_leftovers

    out = tmp_path / "atlas.duckdb"
    dead = subprocess.Popen(["true"])
    dead.wait()
    for suffix in (".tmp", ".tmp.wal"):
        (tmp_path / f".atlas.duckdb.{dead.pid}{suffix}").write_bytes(b"x" * 1000)
        (tmp_path / f".atlas.duckdb.{os.getpid()}{suffix}").write_bytes(b"x")  # a live build's (ours)
    (tmp_path / f".atlas.duckdb.{dead.pid}.tmp.spill").mkdir()
    (tmp_path / ".other.duckdb.1.tmp").write_bytes(b"x")  # another atlas's: not ours to touch
    removed = remove_leftovers(out)
    assert sorted(p.name for p in removed) == sorted(
        f".atlas.duckdb.{dead.pid}{s}" for s in (".tmp", ".tmp.wal", ".tmp.spill"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".atlas.duckdb.{os.getpid()}.tmp", f".atlas.duckdb.{os.getpid()}.tmp.wal", ".other.duckdb.1.tmp"])


def test_a_running_server_serves_a_rebuilt_atlas(tmp_path: Path) -> None:
    from townhall.web.app import create_app

    path = make_tiny_atlas(tmp_path / "atlas.duckdb")
    app = create_app(path, check_every=0.0)
    with TestClient(app) as client:
        first = client.get("/api/values/imd25_imd_score", params={"level": "lad"})
        assert first.json()["rows"][0]["value"] == 35.0
        etag = first.headers["etag"]
        assert client.get("/api/values/imd25_imd_score", params={"level": "lad"},
                          headers={"If-None-Match": etag}).status_code == 304
        # 'townhall build' replaces the file atomically: a new file with a new build time.
        new = make_tiny_atlas(tmp_path / "new.duckdb")
        con = duckdb.connect(str(new))
        con.execute("UPDATE observation SET value = 36.5 WHERE area = 'E08000010' AND indicator = 'imd25_imd_score'")
        con.execute("UPDATE meta SET value = '2025-02-02T00:00:00' WHERE key = 'built'")
        con.close()
        os.replace(new, path)
        again = client.get("/api/values/imd25_imd_score", params={"level": "lad"},
                           headers={"If-None-Match": etag})
        assert again.status_code == 200 and again.json()["rows"][0]["value"] == 36.5
        assert again.headers["etag"] != etag


def test_security_headers_and_body_limit(tmp_path: Path) -> None:
    from townhall.web.app import create_app

    app = create_app(make_tiny_atlas(tmp_path / "atlas.duckdb"))
    with TestClient(app) as client:
        r = client.get("/")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split(
            "script-src")[1].split(";")[0]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert client.get("/docs").headers["content-security-policy"] == csp
        assert "<script>" not in client.get("/docs").text  # Swagger UI starts from /docs/init.js
        big = client.post("/api/search", content=b"x" * (1024 * 1024 + 1))
        assert big.status_code == 413
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_trusted_hosts_off_the_loopback(tmp_path: Path) -> None:
    from townhall.web.app import create_app

    app = create_app(make_tiny_atlas(tmp_path / "atlas.duckdb"), host="0.0.0.0", allowed_hosts=["atlas.example.org"])
    with TestClient(app, base_url="http://atlas.example.org") as client:
        assert client.get("/api/levels").status_code == 200
    with TestClient(app, base_url="http://evil.example.com") as client:
        assert client.get("/api/levels").status_code == 400
