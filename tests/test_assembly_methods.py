"""Selection methods on pools small enough to solve by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly_fixture import POOL, QUOTAS
from townhall.assembly import (
    Instance,
    build_instance,
    gini,
    legacy_probabilities,
    leximin,
    maximin,
    nash,
    read_pool,
    read_quotas,
    select,
    verify_distribution,
)


def instance(
    pool: pd.DataFrame = POOL, quotas: pd.DataFrame = QUOTAS, k: int = 2, households=None
) -> Instance:
    q = read_quotas(quotas)
    return build_instance(read_pool(pool, q, households=households), q, k)


def test_leximin_by_hand() -> None:
    s = select(POOL, QUOTAS, 2, legacy_runs=0)
    assert s.probabilities.round(9).to_dict() == {
        "a": 0.666666667,
        "b": 0.333333333,
        "c": 0.333333333,
        "d": 0.333333333,
        "e": 0.333333333,
    }
    d = s.distribution
    verify_distribution(s.instance, d, probabilities=s.probabilities.to_numpy())
    # d and e are interchangeable: one type of two people, so {a,d} and {a,e} are one panel
    # of types (a + one of d/e) with weight 2/3.
    dist = sorted(zip(map(tuple, d.panels.tolist()), d.weights.round(9).tolist(), strict=True))
    assert dist == [((0, 1, 1, 0), 0.333333333), ((1, 0, 0, 1), 0.666666667)]
    assert s.minimum == pytest.approx(1 / 3, abs=1e-9)
    assert s.maximum == pytest.approx(2 / 3, abs=1e-9)


def test_maximin_level_by_hand() -> None:
    d = maximin(instance())
    assert d.levels[0] == pytest.approx(1 / 3, abs=1e-9)
    assert d.type_probabilities.min() == pytest.approx(1 / 3, abs=1e-9)


def test_nash_by_hand() -> None:
    # With P{a,d} = P{a,e} = x and P{b,c} = 1 - 2x the welfare is
    # log 2x + 2 log x + 2 log(1 - 2x), maximal at 3/x = 4/(1 - 2x): x = 0.3.
    inst = instance()
    d = nash(inst)
    p = verify_distribution(inst, d)
    assert p == pytest.approx([0.6, 0.4, 0.4, 0.3, 0.3], abs=1e-5)


def test_legacy_by_hand() -> None:
    # Greedy: F (ratio 1/2, first in order) picks a or b. After a, F and young are full and
    # d or e fills M: {a,d}, {a,e} with 1/4 each. After b, {b,c} with 1/2.
    inst = instance()
    p = legacy_probabilities(inst, 20_000, seed=3)[inst.person_type]
    assert p == pytest.approx([0.5, 0.5, 0.5, 0.25, 0.25], abs=0.01)
    s = select(POOL, QUOTAS, 2, method="legacy", panels=2000, legacy_runs=0)
    assert s.probabilities.to_numpy() == pytest.approx([0.5, 0.5, 0.5, 0.25, 0.25], abs=0.03)


def test_household_rule() -> None:
    # Four people, any two may sit, but a, b and c share a household: every panel is
    # {x, d} with x one of a, b, c, so d is always selected and the others a third each.
    pool = pd.DataFrame(
        {"id": list("abcd"), "sex": ["F", "M", "F", "M"], "home": ["h1", "h1", "H1 ", "h2"]}
    )
    quotas = pd.DataFrame(
        {"category": ["sex", "sex"], "value": ["F", "M"], "min": [0, 0], "max": [2, 2]}
    )
    s = select(pool, quotas, 2, households="home", panels=300, legacy_runs=500)
    verify_distribution(s.instance, s.distribution, probabilities=s.probabilities.to_numpy())
    assert s.probabilities.round(9).tolist() == [0.333333333, 0.333333333, 0.333333333, 1.0]
    for panel in s.lottery.panels:
        assert "d" in panel and len(set(panel) & {"a", "b", "c"}) == 1
    # LEGACY obeys the rule too.
    assert s.legacy_probabilities["d"] == 1.0
    # Without the household column anyone may sit with anyone: everyone gets 1/2.
    free = select(pool, quotas, 2, panels=300, legacy_runs=0)
    assert free.probabilities.round(9).tolist() == [0.5, 0.5, 0.5, 0.5]


def test_types_group_interchangeable_people() -> None:
    inst = instance()
    assert inst.counts.tolist() == [1, 1, 1, 2]
    assert inst.person_type.tolist() == [0, 1, 2, 3, 3]
    # With households, people sharing one become types of their own.
    pool = POOL.assign(home=["x", "y", "z", "w", "w"])
    assert instance(pool, households="home").counts.tolist() == [1, 1, 1, 1, 1]


def test_unselectable_people_get_zero() -> None:
    # Nobody may be old: b, d, e can never sit.
    quotas = QUOTAS.assign(max=[1, 1, 2, 0], min=[1, 1, 2, 0])
    s = select(POOL, quotas, 2, legacy_runs=0, panels=10)
    verify_distribution(s.instance, s.distribution, probabilities=s.probabilities.to_numpy())
    assert s.probabilities.to_dict() == {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0, "e": 0.0}


def test_gini() -> None:
    assert gini([0.1, 0.1, 0.1]) == 0.0
    # Mean absolute difference over twice the mean: pairs (0, 1) differ by 1 in 2 of 4 ordered pairs.
    assert gini([0.0, 1.0]) == pytest.approx(0.5)


@st.composite
def small_pools(draw):
    n = draw(st.integers(4, 12))
    sex = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    age = draw(st.lists(st.sampled_from(["y", "m", "o"]), min_size=n, max_size=n))
    k = draw(st.integers(1, n // 2))
    return pd.DataFrame({"id": [f"p{i}" for i in range(n)], "sex": sex, "age": age}), k


@settings(max_examples=25, deadline=None)
@given(small_pools())
def test_leximin_is_a_distribution_and_not_worse_than_legacy(case) -> None:
    pool, k = case
    quotas = pd.DataFrame(
        {
            "category": ["sex", "sex", "age", "age", "age"],
            "value": ["F", "M", "y", "m", "o"],
            "min": 0,
            "max": k,
        }
    )
    inst = instance(pool, quotas, k)
    d = leximin(inst)
    verify_distribution(inst, d)
    assert d.weights.sum() == pytest.approx(1.0)
    assert (d.panels.sum(axis=1) == k).all()
    p = d.type_probabilities[inst.person_type]
    # Probabilities add up to the panel size; with free quotas everyone gets k/n.
    assert p.sum() == pytest.approx(k, abs=1e-6)
    assert p == pytest.approx(np.full(len(pool), k / len(pool)), abs=1e-6)


def test_nash_optimality_on_fixture(mirror) -> None:
    # At the Nash optimum no feasible panel has derivative sum_t x_t / p_t above n, and every
    # panel in use has exactly n (the KKT conditions), checked against the exact panel oracle.
    from townhall.assembly import PanelOracle

    fixtures = mirror / "sortition" / "sortition-algorithms-fixtures" / "tests" / "fixtures"
    q = read_quotas(fixtures / "features.csv")
    inst = build_instance(
        read_pool(fixtures / "candidates.csv", q, id_column="nationbuilder_id"), q, 22
    )
    d = nash(inst)
    grad = 1.0 / d.type_probabilities
    n = inst.n_people
    assert (d.panels @ grad) == pytest.approx(np.full(len(d.panels), n), rel=1e-5)
    best, _, _ = PanelOracle(inst).best(grad)
    assert best <= n * (1 + 1e-5)
    # Nash gives the worst-off less than LEXIMIN (1/11) but more than nothing.
    assert 0.08 < d.type_probabilities.min() < 1 / 11
