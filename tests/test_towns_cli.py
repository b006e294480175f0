"""The ``towns`` and ``similar`` commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.errors import TownhallError

runner = CliRunner()


def test_towns_lists_every_pairing(atlas_env):
    r = runner.invoke(app, ["towns", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 1082
    barnsley = next(x for x in rows if x["town"] == "E35000961")
    assert barnsley["nearest_city_name"] == "Sheffield" and barnsley["ttwa_city"] is None


def test_towns_of_a_city(atlas_env):
    r = runner.invoke(app, ["towns", "--city", "Manchester", "--rule", "ttwa", "--format", "csv", "--draws", "50"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "town,town_name,size,region,km,imd25_gap,lower,upper,verdict"
    assert len(lines) == 1 + 58 and any(",Salford," in x for x in lines)
    r = runner.invoke(app, ["towns", "--city", "Gotham"])
    assert r.exit_code != 0 and isinstance(r.exception, TownhallError)


@pytest.mark.slow
def test_towns_summary_prints_share_breakdowns_and_method(atlas_env):
    r = runner.invoke(app, ["towns", "--summary", "--draws", "200"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())  # undo rich's line wrapping
    assert "of 1,082 English towns do worse than their neighbouring city" in out
    assert "95% interval" in out and "Demos (2015): 26 of 42 towns (61.9%)" in out
    for word in ("Town size", "Region", "Coastal", "Job density", "Income", "North East", "Method."):
        assert word in out
    j = json.loads(runner.invoke(app, ["towns", "--summary", "--rule", "ttwa", "--draws", "100",
                                       "--format", "json"]).stdout)
    assert j["towns"] == 287 and j["lower"] <= j["share"] <= j["upper"]


def test_similar_command(atlas_env):
    r = runner.invoke(app, ["similar", "Barnsley", "--level", "lad", "-n", "3", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["place"]["code"] == "E08000038" and len(d["rows"]) == 3
