"""The ``funding`` commands and ``values --group`` on the real atlas."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.errors import InputError
from townhall.funding import shipped

runner = CliRunner()


def test_frontier_prints_and_draws_every_scheme(atlas_env, tmp_path):
    svg = tmp_path / "f.svg"
    r = runner.invoke(app, ["funding", "frontier", "--svg", str(svg), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert len(d["sweep"]) == 101
    assert sorted(p["scheme"] for p in d["schemes"]) == sorted(shipped())
    text = svg.read_text()
    assert text.startswith("<svg")
    for sid in shipped():
        assert f'data-scheme="{sid}"' in text


def test_run_table_and_json(atlas_env):
    r = runner.invoke(app, ["funding", "run", "norway", "--base", "council_tax", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["scheme"]["id"] == "norway" and len(d["councils"]) == 296
    assert d["summary"]["budget_neutral"] is True
    r = runner.invoke(app, ["funding", "run", "full"])
    assert r.exit_code == 0, r.output
    assert "Gap closed 100.0%" in r.stdout


def test_a_bad_scheme_file_names_file_and_key(atlas_env, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[scheme]\nid = "m"\nname = "M"\ncountry = "-"\ndescription = "d"\n'
                   'reference = "An Act 2024"\nbase = "land"\n[[component]]\nkind = "symmetric"\nrate = 0.5\n')
    with pytest.raises(InputError, match=r"\[scheme\], key 'base'.*mine\.toml"):
        runner.invoke(app, ["funding", "run", str(bad)], catch_exceptions=False)


def test_schemes_and_taxes(atlas_env):
    r = runner.invoke(app, ["funding", "schemes", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 1 + len(shipped())
    r = runner.invoke(app, ["funding", "taxes", "--income", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    adur = next(c for c in d["councils"] if c["code"] == "E07000223")
    assert adur["yield"] > 0
    r = runner.invoke(app, ["funding", "taxes", "--revalue", "A=0.5,H=3", "--scheme", "full", "--format", "json"])
    assert r.exit_code == 0, r.output
    su = json.loads(r.stdout)["summary"]
    assert su["gini_after"] == pytest.approx(0.0, abs=1e-9)


def test_values_group(atlas_env):
    r = runner.invoke(app, ["values", "ct_taxbase", "--period", "2023-24", "--group", "E07000223,E07000224",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    # Adur 21,937.3 + Arun 64,159.0 (Table 9 2023-24, line 7)
    assert rows[-1]["value"] == pytest.approx(21937.3 + 64159.0)
    assert rows[-1]["method"] == "sum"
