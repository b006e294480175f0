"""Index specs: the shipped examples parse; every bad spec gets a message naming file and key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from townhall.cli import app, main
from townhall.errors import InputError
from townhall.measures.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()

GOOD = """
[index]
name = "Test"

[[indicator]]
id = "imd25_income_score"
weight = 2

[[indicator]]
id = "imd25_health_score"
weight = 1
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def test_shipped_examples_parse():
    lb = load_spec("left_behind")  # shipped in the package
    assert lb.index.name == "Open left-behind index"
    assert len(lb.indicators) == 12
    assert set(lb.domains) == {"deprivation", "connectedness", "engagement", "civic"}
    # four equal domains of three indicators: 1/12 each
    assert (lb.stated_weights() / lb.stated_weights().sum()).tolist() == pytest.approx([1 / 12] * 12)
    assert lb.uncertainty.draws == 1000
    simple = load_spec(EXAMPLES / "simple_index.toml")
    assert [i.weight for i in simple.indicators] == [2, 1, 1, 1]
    assert simple.index.normalisation == "zscore"


def test_defaults():
    s = parse_spec(GOOD)
    assert (s.index.level, s.index.higher_is, s.index.normalisation, s.index.weighting,
            s.index.aggregation, s.index.missing) == ("lsoa21", "worse", "zscore", "stated",
                                                     "arithmetic", "mean")
    assert s.uncertainty.draws == 1000 and s.uncertainty.weight_noise == 0.25


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight = 2", 'weight = "high"',
         "[[indicator]] 1 (imd25_income_score), key 'weight': Input should be a valid number (file spec.toml, value 'high')"),
        ("weight = 2", 'weight = "2"', "key 'weight': Input should be a valid number"),
        ("weight = 2", "weight = 0", None),  # still fine: the other weight is 1
        ('name = "Test"', 'name = "Test"\nnormalisation = "log"',
         "[index], key 'normalisation': Input should be 'zscore', 'minmax', 'rank' or 'distance'"),
        ('name = "Test"', 'name = "Test"\nnormalization = "zscore"',
         "[index], key 'normalization': unknown key (check its spelling)"),
        ('id = "imd25_health_score"', 'id = "imd25_health_score"\npolarity = 2',
         "[[indicator]] 2 (imd25_health_score), key 'polarity': Input should be -1 or 1"),
        ("weight = 2", "weight = -1", "key 'weight': Input should be greater than or equal to 0"),
        ('id = "imd25_health_score"', 'id = "imd25_income_score"',
         "[[indicator]] 2, key 'id': 'imd25_income_score' is already listed as [[indicator]] 1"),
        ('name = "Test"', "", "key 'index', key 'name'"),
    ],
)
def test_bad_specs_name_the_key(old, new, message):
    text = GOOD.replace(old, new, 1)
    if message is None:
        assert parse_spec(text, file="spec.toml").indicators[0].weight == 0
        return
    if old == 'name = "Test"' and new == "":
        message = "[index], key 'name': this key is required"
    with pytest.raises(InputError) as ei:
        parse_spec(text, file="spec.toml")
    assert message in str(ei.value)
    assert "spec.toml" in str(ei.value)


def test_zero_weight_sum():
    text = GOOD.replace("weight = 2", "weight = 0").replace("weight = 1", "weight = 0.0")
    with pytest.raises(InputError, match=r"key 'weight' of every \[\[indicator\]\]: the weights sum to zero"):
        parse_spec(text, file="zero.toml")
    dom = (GOOD.replace("weight = 2", 'domain = "a"').replace("weight = 1", 'domain = "a"')
           + "\n[domains.a]\nweight = 0\n")
    with pytest.raises(InputError, match=r"every \[domains\.\*\] table: the weights sum to zero"):
        parse_spec(dom, file="zero.toml")


def test_domain_must_exist_and_toml_must_parse():
    text = GOOD.replace("weight = 2", 'domain = "money"') + "\n[domains.health]\nweight = 1\n"
    with pytest.raises(InputError, match=r"\[\[indicator\]\] 1 \(imd25_income_score\), key 'domain'"):
        parse_spec(text)
    with pytest.raises(InputError, match="not valid TOML"):
        parse_spec("[index\nname = 1")
    with pytest.raises(InputError, match=r"\[\[indicator\]\] tables, not \[\[indicators\]\]"):
        parse_spec(GOOD.replace("[[indicator]]", "[[indicators]]"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("weight = 2", 'weight = "lots"', "key 'weight': Input should be a valid number"),
        ("weight = 2", "weight = 0", None),
    ],
)
def test_cli_bad_spec_fails_before_opening_an_atlas(tmp_path, monkeypatch, old, new, expected):
    monkeypatch.setenv("TOWNHALL_ATLAS", str(tmp_path / "none.duckdb"))
    spec = tmp_path / "bad.toml"
    text = GOOD.replace(old, new, 1)
    if expected is None:  # make the weights sum to zero instead
        text = text.replace("weight = 1", "weight = 0")
        expected = "the weights sum to zero"
    spec.write_text(text)
    r = runner.invoke(app, ["index", "build", str(spec)])
    assert r.exit_code == 1
    assert isinstance(r.exception, InputError)
    assert expected in str(r.exception) and "bad.toml" in str(r.exception)


def test_cli_message_without_traceback(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "nonnumeric.toml"
    spec.write_text(GOOD.replace("weight = 1", 'weight = "one"'))
    monkeypatch.setattr(sys, "argv", ["townhall", "index", "build", str(spec)])
    with pytest.raises(SystemExit) as ei:
        main()
    assert ei.value.code == 1
    err = flat(capsys.readouterr().err)
    assert "Traceback" not in err
    assert "Error: Bad index spec at [[indicator]] 2 (imd25_health_score), key 'weight'" in err
    assert "nonnumeric.toml" in err


def test_missing_spec_file(tmp_path):
    r = runner.invoke(app, ["index", "build", str(tmp_path / "nope.toml")])
    assert r.exit_code == 1 and "No spec file" in str(r.exception)
