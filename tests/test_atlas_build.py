"""Build and CLI behaviour: atomic builds, staleness, forgiving place search, `townhall up`."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from townhall.cli import app
from web_fixture import wait_until_serving

runner = CliRunner()


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_build_fails_cleanly_and_keeps_the_old_atlas(source_cache, atlas_path, tmp_path):
    from townhall.atlas.build import build
    from townhall.errors import BuildError

    cache = tmp_path / "cache"
    shutil.copytree(source_cache, cache)
    target = tmp_path / "atlas.duckdb"
    shutil.copy(atlas_path, target)
    before = _sha(target)
    victim = cache / "towns_official" / "english_education.csv"
    victim.write_text(victim.read_text()[:5000])  # truncated: length and hash no longer match
    with pytest.raises(BuildError) as exc:
        build(target, cache_dir=cache)
    assert "towns_official/english_education.csv" in str(exc.value)
    assert "untouched" in str(exc.value)
    assert _sha(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas.duckdb", "cache"]  # no temp files left


def test_fresh_atlas_is_not_stale_and_other_file_is(atlas_path, tmp_path):
    from townhall.atlas.build import is_stale

    assert not is_stale(atlas_path)
    assert is_stale(tmp_path / "nothing.duckdb")
    (tmp_path / "junk.duckdb").write_bytes(b"not a database")
    assert is_stale(tmp_path / "junk.duckdb")


@pytest.mark.slow
def test_build_is_repeatable(source_cache, atlas, tmp_path):
    from townhall.api import open_atlas
    from townhall.atlas.build import build

    again = tmp_path / "again.duckdb"
    build(again, cache_dir=source_cache)
    b = open_atlas(again)
    for table, cols in (("area", "code, level, name, population, round(lat, 9)"),
                        ("area_link", "child, parent, method, round(weight, 9)"),
                        ("observation", "indicator, level, area, period, round(value, 6), round(pct, 6)")):
        sql = f"SELECT count(*) AS n, sum(hash({cols})) AS h FROM {table}"
        assert atlas.query(sql).to_dict() == b.query(sql).to_dict(), table


def test_place_lists_council_and_town(atlas_env):
    res = runner.invoke(app, ["place", "wigan"])
    assert res.exit_code == 0, res.output
    assert "lad E08000010" in res.output
    assert "town E35001379" in res.output
    assert "Population 344,922 (2024)" in res.output


def test_place_json(atlas_env):
    import json

    res = runner.invoke(app, ["place", "E06000010", "--format", "json"])
    assert res.exit_code == 0
    prof = json.loads(res.output)
    assert prof["area"]["name"] == "Kingston upon Hull, City of"
    assert prof["area"]["level"] == "lad"


def test_place_unknown_exits_nonzero_with_suggestions(atlas_env):
    proc = subprocess.run([sys.executable, "-c", "from townhall.cli import main; main()", "place", "Wigam"],
                          capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 1
    assert "No place matches 'Wigam'" in proc.stderr
    assert "Wigan (lad, E08000010)" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from townhall.cli import main; main()", "place", "xyzzy"],
                          capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 1 and "No place matches 'xyzzy'" in proc.stderr and "Traceback" not in proc.stderr
    assert "Did you mean:" in proc.stderr  # nothing is close, but the nearest councils and towns are offered


def test_values_rollup_to_town_csv(atlas_env):
    import io

    import pandas as pd

    res = runner.invoke(app, ["values", "census21_pop", "--level", "town", "--format", "csv"])
    assert res.exit_code == 0
    df = pd.read_csv(io.StringIO(res.output)).set_index("area")
    assert len(df) == 1_204
    assert df.loc["E35001379", "name"] == "Wigan"


def test_up_without_data_or_network_says_what_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    env.update(TOWNHALL_CACHE=str(tmp_path / "cache"), TOWNHALL_ATLAS=str(tmp_path / "atlas.duckdb"),
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")  # no route out
    proc = subprocess.run([sys.executable, "-c", "from townhall.cli import main; main()", "up", "--no-serve"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert "TOWNHALL_MIRROR" in proc.stderr
    assert "facilities_census/census2021_ltla_onsgeo/ts037.csv" in proc.stderr and "302 missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "atlas.duckdb").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_up_serves_the_atlas(atlas_env, source_cache):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from townhall.cli import main; main()", "up", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        r = wait_until_serving(proc, f"http://127.0.0.1:{port}/api/place/lad/E08000010", timeout=60)
        assert r.status_code == 200
        assert r.json()["area"]["population"] == 344_922
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
