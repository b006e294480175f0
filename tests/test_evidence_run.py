"""Running the evidence pack: the infrastructure hook, the real claims, the CLI and its report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.evidence import run_evidence
from townhall.evidence.rules import Infrastructure

runner = CliRunner()


class _StubAtlas:
    """Just enough of an atlas for the hook: a DuckDB connection to query."""

    def __init__(self, with_table: bool) -> None:
        self.con = duckdb.connect()
        if with_table:
            self.con.execute("CREATE TABLE facility (id INTEGER)")

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()


def test_infrastructure_hook_says_what_is_missing(tmp_path, monkeypatch):
    rule = Infrastructure(type="infrastructure", module="hook_mod_absent", function="rates")
    f = rule.run(_StubAtlas(False), {})
    assert f.status == "not_yet"
    assert "atlas table 'facility'" in f.reason and "module hook_mod_absent" in f.reason
    (tmp_path / "hook_mod.py").write_text(
        "import pandas as pd\n"
        "class R:\n"
        "    table = pd.DataFrame({'class': ['Small town', 'City', 'London'], 'rate': [0.3, 0.1, 0.2]})\n"
        "def rates(atlas, kind='library'):\n"
        "    return R()\n"
        "def assoc(atlas):\n"
        "    return {'associations': [{'r': -0.25, 'r_lower': -0.4, 'r_upper': -0.1}]}\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("hook_mod", None)
    f = Infrastructure(type="infrastructure", module="hook_mod", function="nothing").run(_StubAtlas(True), {})
    assert f.status == "not_yet" and "function hook_mod.nothing" in f.reason
    f = Infrastructure(type="infrastructure", module="hook_mod", function="rates", column="rate",
                       a=["Small town"], b=["City", "London"]).run(_StubAtlas(True), {})
    assert f.status == "ok" and f.value == pytest.approx(0.3 - 0.15)
    f = Infrastructure(type="infrastructure", module="hook_mod", function="assoc", value_path="associations.0.r",
                       lower_path="associations.0.r_lower", upper_path="associations.0.r_upper").run(_StubAtlas(True), {})
    assert (f.value, f.lower, f.upper) == (-0.25, -0.4, -0.1)


@pytest.mark.slow
def test_every_claim_has_figures_rules_and_a_verdict(atlas):
    t0 = time.perf_counter()
    r = run_evidence(atlas)
    assert time.perf_counter() - t0 < 60
    d = r.as_dict()
    ids = [c["id"] for c in d["claims"]]
    assert {"eu16_top30", "lab_towns_2017", "ge2017_cities_towns", "demos_towns_behind", "towns_visible_loss",
            "pubs_cohesion"} <= set(ids)
    for c in d["claims"]:
        assert c["verdict"] in ("borne out", "partly borne out", "not borne out", "cannot be tested with this data",
                                "cannot be tested yet"), c["id"]
        for q in c["quantities"]:
            assert len(q["rules"]) >= 2 and q["rules"][0]["main"]
            for rr in q["rules"]:
                assert rr["display"] and (rr["status"] != "ok" or rr["value"] is not None)
    top = next(c for c in d["claims"] if c["id"] == "eu16_top30")
    leave = top["quantities"][1]["rules"][0]
    assert leave["n"] == 30 and leave["details"][0]["name"] == "Boston"
    lab = next(c for c in d["claims"] if c["id"] == "lab_towns_2017")
    assert "floor(650 / 2) + 1 = 326" in lab["quantities"][0]["rules"][0]["note"]  # the majority from the result
    ge = next(c for c in d["claims"] if c["id"] == "ge2017_cities_towns")
    mansfield = next(q for q in ge["quantities"] if q["id"] == "mansfield_first_con")
    assert mansfield["rules"][0]["value"] == 1.0 and mansfield["verdict"] == "borne out"
    demos = next(c for c in d["claims"] if c["id"] == "demos_towns_behind")
    tests = [rr["rule"] for rr in demos["quantities"][0]["rules"]]
    assert any("Trend" in t for t in tests) and any("Level" in t for t in tests)
    assert all(rr["lower"] is not None for rr in demos["quantities"][0]["rules"][:5])  # bootstrap intervals


@pytest.mark.slow
def test_cli_writes_the_report_and_takes_user_claims(atlas_env, tmp_path):
    claims = tmp_path / "mine"
    claims.mkdir()
    (claims / "turnout.toml").write_text(Path(__file__).with_name("test_evidence_claims.py").read_text("utf-8")
                                         .split('GOOD = """')[1].split('"""')[0], "utf-8")
    out = tmp_path / "report"
    res = runner.invoke(app, ["evidence", "--claims", str(claims), "--no-shipped", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "A claim of my own" in res.output
    d = json.loads((out / "evidence.json").read_text("utf-8"))
    assert [c["id"] for c in d["claims"]] == ["mine"]
    q = d["claims"][0]["quantities"][0]
    assert q["rules"][0]["lower"] < q["rules"][0]["value"] < q["rules"][0]["upper"]  # bootstrap over seats
    assert "<blockquote>Turnout is higher in villages than in cities.</blockquote>" in (out / "evidence.html").read_text()
    assert "## A claim of my own (`mine`)" in (out / "evidence.md").read_text()
    res = runner.invoke(app, ["evidence", "--claim", "nope", "--out", str(out)])
    assert res.exit_code != 0
