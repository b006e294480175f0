"""``townhall elections ...``: tables, CSV and JSON from the result objects; clear errors."""

from __future__ import annotations

import io
import json

import pandas as pd
from typer.testing import CliRunner

from townhall.cli import app

runner = CliRunner()


def test_targets_json_and_csv(atlas_env):
    r = runner.invoke(app, ["elections", "targets", "ge2017", "lab", "--speaker", "counted", "-n", "3",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["majority"], d["held"], d["needed"]) == (326, 262, 64)
    assert [t["name"] for t in d["table"]] == ["Southampton, Itchen", "Glasgow South West", "Glasgow East"]
    r = runner.invoke(app, ["elections", "targets", "ge2017", "lab", "--marginals", "-n", "2", "--format", "csv"])
    df = pd.read_csv(io.StringIO(r.output))
    assert len(df) == 2 and (df["winner"] == "lab").all()


def test_results_top_and_swing(atlas_env):
    r = runner.invoke(app, ["elections", "results", "ge2017", "--scheme", "hocl", "--coarse", "--format", "json"])
    d = json.loads(r.output)
    assert sum(row["areas"] for row in d["table"]) == 632
    r = runner.invoke(app, ["elections", "top", "eu2016", "leave", "-n", "2", "--areas", "counting", "--format", "csv"])
    assert pd.read_csv(io.StringIO(r.output))["name"].tolist() == ["Boston", "South Holland"]
    r = runner.invoke(app, ["elections", "swing", "ge2015", "ge2017", "--party", "lab", "--coarse", "--format", "json"])
    d = json.loads(r.output)
    assert {row["class"] for row in d["table"]} == {"City", "Town", "Village or rural"}
    r = runner.invoke(app, ["elections", "results", "all", "--place", "E14000810", "--format", "json"])
    assert [s["election"] for s in json.loads(r.output)["seats"]][-1] == "ge2019"


def test_unknown_election_is_a_clear_error(atlas_env):
    r = runner.invoke(app, ["elections", "targets", "ge2018", "lab"])
    assert r.exit_code != 0
    assert "Unknown election 'ge2018'" in str(r.exception) or "Unknown election 'ge2018'" in r.output
