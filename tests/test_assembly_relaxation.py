"""The relaxation's LEXIMIN and the face descent that gives the column generation its first panels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.assembly import (
    PanelOracle,
    build_instance,
    hard_pool,
    leximin,
    read_pool,
    verify_distribution,
)
from townhall.assembly.model import Instance
from townhall.assembly.relaxation import decompose, relaxed_leximin


def two_by_two() -> Instance:
    """Four people, a panel of two: one woman and one man; ages free.

    A (F, young), B (F, old), C (M, young), D (M, old). The four panels AC, AD, BC, BD are the
    only ones; by symmetry everyone's LEXIMIN probability is 1/2.
    """
    codes = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    return Instance.from_codes(
        codes,
        2,
        ["sex", "age"],
        [["F", "M"], ["young", "old"]],
        np.array([1, 1, 0, 0]),
        np.array([1, 1, 2, 2]),
    )


def test_two_by_two_by_hand() -> None:
    inst = two_by_two()
    prof = relaxed_leximin(inst, np.ones(4, dtype=bool))
    # One stage: everyone at 1/2 (each sex row holds exactly one seat).
    assert prof.levels == pytest.approx([0.5], abs=1e-9)
    assert prof.expected == pytest.approx([0.5] * 4, abs=1e-9)
    assert prof.fixed.all()
    dec = decompose(PanelOracle(inst), prof.expected)
    # The first panel takes weight 1/2 (every selected person has m = 1/2, every other has
    # 1 - m = 1/2 to spare); what is left is the complementary panel, with the other 1/2.
    assert dec.stopped == "done" and dec.residual == pytest.approx(0.0, abs=1e-12)
    assert len(dec.panels) == 2
    assert dec.weights == pytest.approx([0.5, 0.5], abs=1e-12)
    assert (dec.panels[0] + dec.panels[1]).tolist() == [1, 1, 1, 1]
    for x in dec.panels:
        assert x.sum() == 2 and x[0] + x[1] == 1 and x[2] + x[3] == 1


def panel_ok(inst: Instance, x: np.ndarray) -> bool:
    seats = np.zeros(inst.n_values, dtype=np.int64)
    np.add.at(seats, inst.type_values.ravel(), np.repeat(x, inst.type_values.shape[1]))
    return (
        x.sum() == inst.k
        and (x >= 0).all()
        and (x <= inst.counts).all()
        and (seats >= inst.lower).all()
        and (seats <= inst.upper).all()
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(30, 90),
    categories=st.integers(5, 6),
    k=st.integers(6, 14),
    seats=st.integers(1, 2),
    seed=st.integers(0, 10_000),
)
def test_descent_panels_are_valid_and_mix_to_the_profile(n, categories, k, seats, seed) -> None:
    pool, quotas = hard_pool(n, categories=categories, size=k, seats=seats, seed=seed)
    inst = build_instance(read_pool(pool, quotas), quotas, k)
    oracle = PanelOracle(inst)
    if not oracle.feasible():
        return
    covered = oracle.cover()[1]
    prof = relaxed_leximin(inst, covered)
    assert prof.levels == sorted(prof.levels)  # each stage's level is at least the last
    assert prof.expected.sum() == pytest.approx(k, abs=1e-6)
    dec = decompose(oracle, prof.expected, min_mass=1e-9)
    assert all(panel_ok(inst, x) for x in dec.panels)
    assert (dec.weights > 0).all()
    assert dec.weights.sum() == pytest.approx(1.0 - dec.residual, abs=1e-9)
    if dec.panels:
        # What was placed is the profile less at most the unplaced weight of each count.
        mix = dec.weights @ np.array(dec.panels, dtype=np.float64)
        assert (mix <= prof.expected + 1e-7).all()
        assert (prof.expected - mix <= dec.residual * inst.counts + 1e-7).all()


def test_leximin_starts_from_the_descent_and_meets_the_relaxation() -> None:
    pool, quotas = hard_pool(300, categories=6, size=40)
    inst = build_instance(read_pool(pool, quotas), quotas, 40)
    d = leximin(inst)
    verify_distribution(inst, d)
    assert inst.n_types == 234
    assert d.optimal and d.descent_panels > 0
    assert max(d.stage_gaps) <= 1e-6
    prof = relaxed_leximin(inst, d.covered)
    # The relaxation's maximin is met: the first level is proven by it.
    assert d.levels[0] == pytest.approx(prof.levels[0], abs=1e-6)
    assert d.type_probabilities[d.covered].min() == pytest.approx(prof.levels[0], abs=1e-6)
