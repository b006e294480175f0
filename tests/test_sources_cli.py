"""``townhall data pull|list|verify``: in-process with typer's runner, and once for real."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import townhall.cli.data as cli_data
from townhall.cli import app, main
from townhall.errors import ChecksumError, DataMissingError, InputError
from townhall.sources.catalogue import Source, sources_under

REAL_MIRROR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
runner = CliRunner()

A = bytes(range(256)) * 400  # 102,400 bytes
B = b"code,name\nE06000001,Hartlepool\n"


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_source(path: str, data: bytes, base: str) -> Source:
    return Source(
        path=path,
        url=f"{base}/{path}",
        sha256=sha(data),
        bytes=len(data),
        exact=True,
        publisher="Test Office",
        publisher_url="https://example.org",
        licence="OGL-3.0",
        vintage="2024",
        title="test",
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Two synthetic sources (origin: a closed port), a mirror holding both, an empty cache."""
    base = f"http://127.0.0.1:{closed_port()}"
    srcs = (make_source("grp/a.bin", A, base), make_source("other/b.csv", B, base))
    monkeypatch.setattr(cli_data, "load_catalogue", lambda: srcs)
    mirror = tmp_path / "mirror"
    for path, data in (("grp/a.bin", A), ("other/b.csv", B)):
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(data)
    cache = tmp_path / "cache"
    monkeypatch.setenv("TOWNHALL_CACHE", str(cache))
    monkeypatch.delenv("TOWNHALL_MIRROR", raising=False)
    return {"mirror": mirror, "cache": cache, "sources": srcs}


def test_pull_from_mirror_then_list(env):
    r = runner.invoke(app, ["data", "pull", "--mirror", str(env["mirror"])])
    assert r.exit_code == 0, r.output
    assert "2 of 2 source files" in flat(r.stdout)
    assert "0 downloaded (0.0 MB), 2 copied from the mirror (0.1 MB), 0 already present" in flat(
        r.stdout
    )
    assert (env["cache"] / "grp/a.bin").read_bytes() == A

    r = runner.invoke(app, ["data", "list", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["path"], x["present"], x["verified"], x["licence"]) for x in rows] == [
        ("grp/a.bin", True, True, "OGL-3.0"),
        ("other/b.csv", True, True, "OGL-3.0"),
    ]

    r = runner.invoke(app, ["data", "pull", "--mirror", str(env["mirror"])])
    assert "0 copied from the mirror (0.0 MB), 2 already present" in flat(r.stdout)


def test_pull_only_prefix(env):
    r = runner.invoke(app, ["data", "pull", "--mirror", str(env["mirror"]), "--only", "other/"])
    assert r.exit_code == 0, r.output
    assert "1 of 1 source files" in flat(r.stdout)
    assert not (env["cache"] / "grp/a.bin").exists()
    assert (env["cache"] / "other/b.csv").read_bytes() == B

    r = runner.invoke(app, ["data", "list", "--format", "csv"])
    assert r.stdout.splitlines() == [
        "path,publisher,licence,vintage,present,verified,bytes,check",
        "grp/a.bin,Test Office,OGL-3.0,2024,False,False,102400,missing",
        "other/b.csv,Test Office,OGL-3.0,2024,True,True,31,sha256 ok",
    ]


def test_only_matching_nothing_is_an_input_error(env):
    r = runner.invoke(app, ["data", "list", "--only", "nowhere/"])
    assert r.exit_code == 1
    assert isinstance(r.exception, InputError)
    assert "'nowhere/'" in r.exception.message and "grp, other" in r.exception.hint


def test_pull_mirror_with_one_corrupted_file_fails_naming_it(env):
    bad = B.replace(b"Hartlepool", b"Hartlepoo!")
    (env["mirror"] / "other/b.csv").write_bytes(bad)

    r = runner.invoke(app, ["data", "pull", "--mirror", str(env["mirror"])])

    assert r.exit_code == 1
    assert isinstance(r.exception, ChecksumError)
    msg = str(r.exception)
    assert "other/b.csv" in msg and sha(B) in msg and sha(bad) in msg
    assert "1 of 2 source files" in flat(r.stdout)  # the good one was still copied
    assert (env["cache"] / "grp/a.bin").read_bytes() == A
    assert not (env["cache"] / "other/b.csv").exists()


def test_verify_finds_a_damaged_file(env):
    assert runner.invoke(app, ["data", "pull", "--mirror", str(env["mirror"])]).exit_code == 0
    assert runner.invoke(app, ["data", "verify"]).exit_code == 0
    damaged = B.replace(b"E06", b"X06")
    (env["cache"] / "other/b.csv").write_bytes(damaged)

    r = runner.invoke(app, ["data", "verify"])

    assert r.exit_code == 1
    assert "2 sources" in flat(r.stdout) and "1 verified, 0 missing, 1 not matching" in flat(
        r.stdout
    )
    assert isinstance(r.exception, ChecksumError)
    assert sha(B) in str(r.exception) and sha(damaged) in str(r.exception)


def test_no_network_no_mirror_message_without_traceback(env, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["townhall", "data", "pull"])
    with pytest.raises(SystemExit) as ei:
        main()
    assert ei.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Error:" in err
    assert "2 missing: no mirror given and the network is unreachable" in err
    assert "grp/a.bin" in err and "other/b.csv" in err
    assert "TOWNHALL_MIRROR=DIR" in err


def test_no_network_error_type(env):
    r = runner.invoke(app, ["data", "pull"])
    assert r.exit_code == 1
    assert isinstance(r.exception, DataMissingError)


@pytest.mark.skipif(not REAL_MIRROR.is_dir(), reason="the shared data mirror is not here")
def test_real_command_corrupted_mirror_no_traceback(tmp_path):
    """The installed ``townhall`` command, the real catalogue, a mirror with one damaged file."""
    group = "facilities_census/census2021_ltla_onsgeo/"
    srcs = sources_under(group)
    assert len(srcs) == 6
    mirror = tmp_path / "mirror"
    for s in srcs:
        (mirror / s.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REAL_MIRROR / s.path, mirror / s.path)
    victim = mirror / group / "ts037.csv"
    data = victim.read_bytes()
    damaged = data[:-2] + b"9\n" if data[-2:-1] != b"9" else data[:-2] + b"8\n"
    victim.write_bytes(damaged)
    env = {
        **os.environ,
        "TOWNHALL_CACHE": str(tmp_path / "cache"),
        "TOWNHALL_MIRROR": str(mirror),
        "COLUMNS": "300",  # keep rich from wrapping the hashes
    }
    exe = shutil.which("townhall") or "townhall"
    p = subprocess.run(
        [exe, "data", "pull", "--only", group], env=env, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert f"{group}ts037.csv" in p.stderr
    assert f"expected sha256 {sha(data)}" in p.stderr
    assert f"actual sha256 {sha(damaged)}" in p.stderr
    assert "5 of 6 source files" in p.stdout
    assert not (tmp_path / "cache" / group / "ts037.csv").exists()
    assert (tmp_path / "cache" / group / "ts021.csv").is_file()
