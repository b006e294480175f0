"""Claim files: the shipped ones load; malformed ones get a message naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.errors import InputError
from townhall.evidence import load_claim, load_claims
from townhall.evidence.claims import Assertion, check_claim
from townhall.evidence.rules import Figure, clopper_pearson
from townhall.evidence.run import BORNE_OUT, NOT_BORNE_OUT, PARTLY, RuleResult, quantity_verdict

GOOD = """
id = "mine"
title = "A claim of my own"
words = "Turnout is higher in villages than in cities."

[source]
publication = "My notebook"
date = "2025"

[[quantity]]
id = "turnout_gap"
words = "Turnout is higher in villages"
asserts = { op = ">", value = 0 }

[quantity.rule]
type = "class_mean"
indicator = "ge2017_turnout"
level = "pcon10"
a = "Village or rural"
b = "City"

[[quantity.alternative]]
label = "2019"
indicator = "ge2019_turnout"
"""


def _write(tmp_path: Path, text: str, name: str = "claim.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, "utf-8")
    return p


def test_shipped_claims_load_with_alternatives():
    claims = load_claims()
    ids = {c.id for c in claims}
    assert {"eu16_top30", "lab_towns_2017", "ge2017_cities_towns", "demos_towns_behind", "towns_visible_loss",
            "pubs_cohesion"} <= ids
    for c in claims:
        for q in c.quantity:
            assert len(q.rules) >= 2, (c.id, q.id)  # the test rule and at least one alternative


def test_alternative_overrides_only_its_keys(tmp_path):
    c = load_claim(_write(tmp_path, GOOD))
    main, alt = c.quantity[0].rules
    assert (main.indicator, alt.indicator) == ("ge2017_turnout", "ge2019_turnout")
    assert (alt.level, alt.a, alt.b) == ("pcon10", "Village or rural", "City")


@pytest.mark.parametrize(("old", "new", "message"), [
    ('type = "class_mean"', 'type = "class_median"', "key 'type': unknown rule type 'class_median'"),
    ('level = "pcon10"', 'level = "pcon10"\nwieght = 2', "key 'wieght'"),
    ('asserts = { op = ">", value = 0 }', 'asserts = { op = "approx", value = 0 }', "op 'approx' needs a tolerance"),
    ('asserts = { op = ">", value = 0 }', 'asserts = { op = "more", value = 0 }', "key 'asserts.op'"),
    ('label = "2019"\n', 'label = "2019"\ntype = "top_areas"\n', "[[quantity.alternative]] 1, key 'election'"),
    ('[[quantity.alternative]]\nlabel = "2019"\nindicator = "ge2019_turnout"\n', "", "key 'alternative'"),
])
def test_malformed_rule_names_file_and_key(tmp_path, old, new, message):
    assert old in GOOD
    p = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(InputError) as exc:
        load_claim(p)
    assert str(p) in exc.value.message and message in exc.value.message, exc.value.message


def test_bad_toml_and_duplicate_ids(tmp_path):
    p = _write(tmp_path, "id = ")
    with pytest.raises(InputError, match="not valid TOML"):
        load_claim(p)
    d = tmp_path / "claims"
    d.mkdir()
    _write(d, GOOD.replace('id = "mine"', 'id = "eu16_top30"'))
    with pytest.raises(InputError, match="claim id 'eu16_top30' is also used by"):
        load_claims([d])


def test_unknown_indicator_and_election_against_the_atlas(atlas, tmp_path):
    c = load_claim(_write(tmp_path, GOOD.replace('indicator = "ge2019_turnout"', 'indicator = "ge2018_turnout"')))
    with pytest.raises(InputError) as exc:
        check_claim(c, atlas)
    m = exc.value.message
    assert "claim.toml" in m and "[[quantity.alternative]] 1" in m and "key 'indicator'" in m and "ge2018_turnout" in m
    text = GOOD.replace('type = "class_mean"\nindicator = "ge2017_turnout"\nlevel = "pcon10"\na = "Village or rural"\nb = "City"',
                        'type = "top_areas"\nelection = "eu2015"\noption = "remain"\nn = 30\nclasses = ["City"]')
    text = text.replace('label = "2019"\nindicator = "ge2019_turnout"', 'label = "more"\nn = 40')
    c = load_claim(_write(tmp_path, text, "el.toml"))
    with pytest.raises(InputError) as exc:
        check_claim(c, atlas)
    assert "el.toml" in exc.value.message and "key 'election'" in exc.value.message and "'eu2015'" in exc.value.message


def test_assertions_and_intervals():
    assert Assertion(op="approx", value=22, tolerance=2).holds(24) is True
    assert Assertion(op="approx", value=22, tolerance=2).holds(25) is False
    assert Assertion(op="between", value=[0.5, 0.7]).holds(0.71) is False
    assert Assertion(op=">=", value=1).holds(None) is None
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))  # exact: 1 - (alpha/2)^(1/n)
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10))


def test_verdict_rules():
    def rr(main, holds):
        return RuleResult(main, "r", "t", Figure(1.0, "1"), holds)

    assert quantity_verdict([rr(True, True), rr(False, True)])[0] == BORNE_OUT
    assert quantity_verdict([rr(True, True), rr(False, False)])[0] == PARTLY
    assert quantity_verdict([rr(True, False), rr(False, True)])[0] == PARTLY
    assert quantity_verdict([rr(True, False), rr(False, False)])[0] == NOT_BORNE_OUT
    not_yet = RuleResult(True, "r", "infrastructure", Figure(None, "no figure", status="not_yet", reason="Missing: x."),
                         None)
    assert quantity_verdict([not_yet, rr(False, True)]) == ("cannot be tested yet", "Missing: x.")
