"""Properties of the engine over random councils (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.funding.engine import FundingInputs, evaluate
from townhall.funding.measures import weighted_var
from townhall.funding.schemes import shipped

councils = st.integers(min_value=2, max_value=25).flatmap(lambda n: st.tuples(
    st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n),      # capacity
    st.lists(st.floats(0.1, 100.0), min_size=n, max_size=n),     # need
    st.lists(st.floats(1.0, 1e4), min_size=n, max_size=n),       # population
))
HORIZONTAL = sorted(sid for sid, s in shipped().items() if s.scheme.funding == "horizontal")


def inputs(data):
    cap, need, pop = data
    return FundingInputs.from_arrays(cap, need, population=pop)


@settings(max_examples=60, deadline=None)
@given(councils, st.sampled_from(HORIZONTAL))
def test_budget_neutral_schemes_sum_to_zero(data, sid):
    inp = inputs(data)
    r = evaluate(sid, inp, retention=False)
    assert abs(r.table["transfer"].sum()) <= 1e-9 * inp.capacity.sum()
    assert r.summary["budget_neutral"]


@settings(max_examples=60, deadline=None)
@given(councils)
def test_full_equalisation_leaves_no_variance_per_need(data):
    inp = inputs(data)
    t = evaluate("full", inp, retention=False).table
    y = t["resources_per_need"].to_numpy()
    assert weighted_var(y, t["need"].to_numpy()) <= 1e-18 * max(1.0, float(np.mean(y)) ** 2) + 1e-12
    np.testing.assert_allclose(y, inp.capacity.sum() / inp.need.sum(), rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(councils, st.floats(0.0, 1.0))
def test_linear_schemes_retain_one_minus_rate(data, rate):
    inp = inputs(data)
    for sid in ("linear", "full", "denmark"):
        mr = evaluate(sid, inp, rate=rate).table["marginal_retention"].to_numpy()
        np.testing.assert_allclose(mr, 1.0 - rate, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(councils, st.floats(0.0, 1.0))
def test_linear_gap_closed_is_one_minus_square(data, rate):
    inp = inputs(data)
    r = evaluate("linear", inp, rate=rate, retention=False)
    if r.summary["cv_before"] > 1e-6:
        assert abs(r.summary["gap_closed"] - (1 - (1 - rate) ** 2)) < 1e-7
