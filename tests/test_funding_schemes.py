"""Every shipped scheme on a three-council toy worked by hand, and the scheme files' checks.

Toy: capacities 100, 200, 300 and one unit of need each, so the average capacity per
unit a = 200 and each transfer can be worked out on paper (see docs/methods/funding.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from townhall.errors import InputError
from townhall.funding.engine import FundingInputs, evaluate, frontier
from townhall.funding.schemes import fiscal_date, parse_scheme, shipped, value_at

TOY = FundingInputs.from_arrays([100.0, 200.0, 300.0], [1.0, 1.0, 1.0], population=[1.0, 1.1, 0.9])

# scheme id -> (transfers C1..C3, marginal retention C1..C3), worked by hand
HAND = {
    "none": ([0, 0, 0], [1, 1, 1]),
    "full": ([100, 0, -100], [0, 0, 0]),
    "linear": ([50, 0, -50], [0.5, 0.5, 0.5]),
    "england_ct_2026": ([100, 0, -100], [0, 0, 0]),
    # reset: tariff/top-up closes the gap; growth kept at 50% less a levy 1 - 100/150 = 1/3 for C3
    "england_brr": ([100, 0, -100], [0.5, 0.5, 0.5 * (1 - 1 / 3)]),
    # grant 0.95 x (230 - c) below 115% of 200; charge 0.85 x (c - 230) above
    "sweden": ([123.5, 28.5, -59.5], [0.05, 0.05, 0.15]),
    # 0.6 (200 - c); plus 0.35 x (180 - 100) = 28 for C1, paid back 28/3 by each
    "norway": ([60 + 28 - 28 / 3, -28 / 3, -60 - 28 / 3], [0.05, 0.4, 0.4]),
    "denmark": ([75, 0, -75], [0.25, 0.25, 0.25]),
    # 0.63 (200 - c) -> 163, 200, 237; then 0.8 x (199.5 - 163) = 29.2 for C1 from the federation
    "germany": ([63 + 29.2, 0, -63], [0.37 * 0.2, 0.37, 0.37]),
    # lifted to the stronger of the two most populous (C2: 200, C1: 100) -> 200; nobody pays
    "australia": ([100, 0, 0], [0, 1, 1]),
}


def by_code(run):
    return run.table.set_index("code").loc[["C1", "C2", "C3"]]


@pytest.mark.parametrize("sid", sorted(HAND))
def test_every_scheme_on_the_toy(sid):
    t = by_code(evaluate(sid, TOY))
    want_t, want_mr = HAND[sid]
    np.testing.assert_allclose(t["transfer"].to_numpy(), want_t, atol=1e-9)
    np.testing.assert_allclose(t["marginal_retention"].to_numpy(), want_mr, atol=1e-6)


def test_every_shipped_scheme_has_a_hand_answer():
    assert set(shipped()) == set(HAND)


def test_toy_measures():
    r = evaluate("linear", TOY)
    # Gini of 100, 200, 300: pairwise |differences| 100+200+100 twice = 800; 800 / (2 x 9 x 200)
    assert r.summary["gini_before"] == pytest.approx(800 / 3600)
    assert r.summary["gini_after"] == pytest.approx(400 / 3600)  # 150, 200, 250
    assert r.summary["gap_closed"] == pytest.approx(0.75)          # 1 - 0.5^2
    assert r.summary["cv_before"] == pytest.approx(np.sqrt(20000 / 3) / 200)
    assert r.summary["budget_neutral"] is True
    s = evaluate("sweden", TOY).summary
    assert s["net_cost"] == pytest.approx(123.5 + 28.5 - 59.5)
    assert s["budget_neutral"] is False


def test_need_weights_per_unit():
    # equal capacity, need 1 and 3: average 200 / 4 = 50 per unit -> 50 and 150
    inp = FundingInputs.from_arrays([100.0, 100.0], [1.0, 3.0], population=[2.0, 2.0])
    t = evaluate("full", inp).table.set_index("code")
    assert t.loc["C1", "transfer"] == pytest.approx(-50)
    assert t.loc["C2", "transfer"] == pytest.approx(50)
    assert t.loc["C1", "resources_per_need"] == pytest.approx(t.loc["C2", "resources_per_need"])


def test_policy_year_picks_the_dated_value():
    assert by_code(evaluate("england_ct_2026", TOY, policy_year="2023-24"))["transfer"].tolist() == [0, 0, 0]
    np.testing.assert_allclose(by_code(evaluate("denmark", TOY, policy_year=2020))["transfer"], [58, 0, -58])
    assert value_at({"2005-01-01": 0.95, "2020-01-01": 0.85}, fiscal_date("2019-20")) == 0.95
    assert value_at({"2005-01-01": 0.95, "2020-01-01": 0.85}, fiscal_date("2020-21")) == 0.85


def test_rate_override_and_bounds():
    np.testing.assert_allclose(by_code(evaluate("linear", TOY, rate=0.2))["transfer"], [20, 0, -20])
    with pytest.raises(InputError, match="outside"):
        evaluate("linear", TOY, rate=1.5)


def test_frontier_has_every_scheme_and_the_sweep_ends():
    f = frontier(TOY, steps=11)
    assert sorted(f.points["scheme"]) == sorted(shipped())
    assert f.sweep["marginal_retention"].iloc[0] == pytest.approx(1.0)
    assert f.sweep["gap_closed"].iloc[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(f.sweep["gap_closed"], 1 - (1 - f.sweep["rate"]) ** 2, atol=1e-12)


GOOD = """
[scheme]
id = "x"
name = "X"
country = "-"
description = "d"
reference = "Some Act 2020, s. 1"
[[component]]
kind = "symmetric"
rate = 0.5
"""


def test_a_good_file_parses():
    assert parse_scheme(GOOD, file="x.toml").components[0].rate == {"1900-01-01": 0.5}


@pytest.mark.parametrize(("text", "where"), [
    (GOOD.replace('reference = "Some Act 2020, s. 1"\n', ""), "[scheme], key 'reference': this key is required"),
    (GOOD.replace("rate = 0.5", "rate = 1.5"), "[[component]] 1, key 'rate'"),
    (GOOD.replace("rate = 0.5", 'rate = { "2020-01-01" = -0.1 }'), "[[component]] 1, key 'rate'"),
    (GOOD.replace('reference =', 'base = "land_value"\nreference ='), "[scheme], key 'base'"),
    (GOOD.replace('kind = "symmetric"', 'kind = "magic"'), "[[component]] 1, key 'kind'"),
    (GOOD.replace("rate = 0.5", "rat = 0.5"), "[[component]] 1, key 'rat': unknown key"),
])
def test_bad_files_name_the_file_and_key(text, where):
    with pytest.raises(InputError) as e:
        parse_scheme(text, file="bad_scheme.toml")
    msg = str(e.value)
    assert "bad_scheme.toml" in msg
    assert where in msg


def test_rate_outside_unit_interval_says_so():
    with pytest.raises(InputError, match=r"outside \[0.0, 1.0\]"):
        parse_scheme(GOOD.replace("rate = 0.5", "rate = 1.5"), file="f.toml")


def test_horizontal_scheme_that_does_not_balance_is_refused():
    text = GOOD.replace('kind = "symmetric"', 'kind = "topup"')  # financed centrally but declared horizontal
    with pytest.raises(InputError, match="declared horizontal"):
        evaluate(parse_scheme(text, file="t.toml"), TOY)
