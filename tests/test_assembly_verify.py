"""Independent verification of distributions, the anytime stop with its proven gap, and the
options shared by select, replace and the commands."""

from __future__ import annotations

import numpy as np
import pytest

from assembly_fixture import POOL, QUOTAS
from townhall.assembly import (
    SelectionOptions,
    build_instance,
    hard_pool,
    leximin,
    maximin,
    read_pool,
    read_quotas,
    select,
    tight_quotas,
    verify_distribution,
)
from townhall.assembly.distribution import STAGE_TOLERANCE
from townhall.errors import InputError


def tiny():
    q = read_quotas(QUOTAS)
    return build_instance(read_pool(POOL, q), q, 2)


def test_verify_accepts_the_hand_solved_distribution() -> None:
    inst = tiny()
    # Types: a, b, c, {d, e}. Panels {a, d or e} (weight 2/3) and {b, c} (1/3).
    panels = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    p = verify_distribution(inst, panels=panels, weights=np.array([2 / 3, 1 / 3]))
    assert p == pytest.approx([2 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    d = leximin(inst)
    assert verify_distribution(inst, d) == pytest.approx(p)


@pytest.mark.parametrize(
    ("panels", "weights", "probabilities", "message"),
    [
        # {a, b}: both women, but the quota for F is exactly 1.
        ([[1, 1, 0, 0]], [1.0], None, r"Panel 0 has 2 with quota value 0, outside \[1, 1\]"),
        ([[1, 0, 0, 2]], [1.0], None, "Panel 0 has 3 members, not 2"),
        ([[0, 1, 1, 0], [1, 0, 0, 1]], [0.5, 0.4], None, "The weights sum to"),
        ([[0, 1, 1, 0], [1, 0, 0, 1]], [1.2, -0.2], None, "negative weight"),
        # Right panels, wrong claimed probability for type 0 (a is on the second panel only).
        (
            [[0, 1, 1, 0], [1, 0, 0, 1]],
            [0.5, 0.5],
            [0.6, 0.5, 0.5, 0.25],
            r"Probability 0 is 0.6 but its panels' weights add up to 0.5",
        ),
    ],
)
def test_verify_names_the_fault(panels, weights, probabilities, message) -> None:
    with pytest.raises(ValueError, match=message):
        verify_distribution(
            tiny(),
            panels=np.array(panels),
            weights=np.array(weights),
            probabilities=None if probabilities is None else np.array(probabilities),
        )


def test_verify_household_rule() -> None:
    import pandas as pd

    pool = pd.DataFrame(
        {"id": list("abcd"), "sex": ["F", "M", "F", "M"], "home": ["h1"] * 3 + ["h2"]}
    )
    quotas = pd.DataFrame(
        {"category": ["sex", "sex"], "value": ["F", "M"], "min": [0, 0], "max": [2, 2]}
    )
    q = read_quotas(quotas)
    inst = build_instance(read_pool(pool, q, households="home"), q, 2)
    assert inst.counts.tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="2 members of one household"):
        verify_distribution(inst, panels=np.array([[1, 1, 0, 0]]), weights=np.array([1.0]))
    verify_distribution(inst, leximin(inst))


def hard_instance(n: int = 150, categories: int = 5, k: int = 20):
    pool, quotas = hard_pool(n, categories=categories, size=k)
    return build_instance(read_pool(pool, quotas), quotas, k)


def test_tight_quotas_by_hand() -> None:
    # Targets 30 * 0.512 = 15.36 -> 15 and 30 * 0.488 = 14.64 -> 15, plus or minus one seat.
    q = tight_quotas({"sex": {"Female": 512, "Male": 488}}, 30, 1)
    assert q.table[["value", "min", "max"]].values.tolist() == [
        ["Female", 14, 16],
        ["Male", 14, 16],
    ]


def test_hard_pool_leximin_is_valid_and_exact() -> None:
    inst = hard_instance()
    d = leximin(inst)
    verify_distribution(inst, d)
    assert d.optimal and d.gap == 0.0 and d.stopped is None
    # Maximin is LEXIMIN's first level, and both are proven by the same bound.
    m = maximin(inst)
    verify_distribution(inst, m)
    assert m.levels[0] == pytest.approx(d.levels[0], abs=1e-7)
    assert d.type_probabilities[d.covered].min() == pytest.approx(d.levels[0], abs=1e-7)


def test_tolerance_closes_each_stage_within_it() -> None:
    inst = hard_instance()
    exact = leximin(inst)
    assert exact.tolerance == 0.0 and max(exact.stage_gaps) <= 1e-7
    assert len(exact.faces) == exact.stages  # every exact stage keeps its face
    d = leximin(inst, tolerance=0.01)
    verify_distribution(inst, d)
    assert d.optimal and d.tolerance == 0.01
    assert len(d.stage_gaps) == d.stages and max(d.stage_gaps) <= 0.01
    # The first level is the maximin within the tolerance, and never above it.
    assert exact.levels[0] - 0.01 - 1e-9 <= d.levels[0] <= exact.levels[0] + 1e-7
    assert d.type_probabilities[d.covered].min() >= d.levels[0] - 1e-7
    # Only stages proven exactly have a face (later pricing and the lottery keep to it).
    assert len(d.faces) == sum(g <= STAGE_TOLERANCE for g in d.stage_gaps)
    with pytest.raises(InputError, match="tolerance must be at least 0"):
        SelectionOptions(tolerance=-0.1)
    s = select(POOL, QUOTAS, 2, legacy_runs=0, panels=10, tolerance=0.001)
    assert s.optimality()["tolerance"] == 0.001
    assert s.optimality()["largest_stage_gap"] <= 0.001


def test_time_limit_returns_the_best_so_far_with_its_gap() -> None:
    inst = hard_instance(500, 6, 120)
    d = leximin(inst, time_limit=1.0)
    verify_distribution(inst, d)
    assert not d.optimal and d.stopped == "time limit"
    lowest = d.type_probabilities[d.covered].min()
    # The bound is proven (the LP relaxation at least); the distribution is below it by the gap.
    assert d.proven_stages == 0 and d.gap > 0
    assert lowest == pytest.approx(d.bound - d.gap, abs=1e-7)
    assert lowest <= d.bound


def test_selection_options_are_checked_once() -> None:
    with pytest.raises(InputError, match="LEGACY runs cannot be negative"):
        SelectionOptions(legacy_runs=-1)
    with pytest.raises(InputError, match="Unknown method 'fastest'"):
        SelectionOptions(method="fastest")
    with pytest.raises(InputError, match="at least one panel"):
        SelectionOptions(panels=0)
    with pytest.raises(InputError, match="time limit must be a positive"):
        SelectionOptions(time_limit=0)
    with pytest.raises(TypeError, match="unknown selection option 'legacy_runs_count'"):
        SelectionOptions.of(legacy_runs_count=3)
    opts = SelectionOptions(method=" Maximin ", households=["home"])
    assert opts.method == "maximin" and opts.households == ("home",)
    # select and replace take the options object, or its fields by name.
    a = select(POOL, QUOTAS, 2, SelectionOptions(legacy_runs=0, panels=10))
    b = select(POOL, QUOTAS, 2, legacy_runs=0, panels=10)
    assert a.commitment == b.commitment and a.optimal and a.gap == 0.0
    verify_distribution(a.instance, a.distribution, probabilities=a.probabilities.to_numpy())
