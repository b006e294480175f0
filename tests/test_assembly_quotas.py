"""Quotas from target shares and census profiles; synthetic pools; replacements."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.assembly import (
    EXAMPLE_PROFILE,
    InfeasibleQuotasError,
    default_bias,
    quotas_from_profile,
    quotas_from_shares,
    replace,
    select,
    synthetic_pool,
    verify_distribution,
)
from townhall.errors import InputError

PROFILE = {
    "sex": {"Female": 5100.0, "Male": 4900.0},
    "age": {"16-29": 2000.0, "30-49": 3500.0, "50-64": 2500.0, "65+": 2000.0},
    "tenure": {"Owned": 6300.0, "Social rented": 1700.0, "Private rented": 2000.0},
}


def test_quotas_from_profile_by_hand() -> None:
    q = quotas_from_profile(PROFILE, 30, tolerance=0.1).table
    got = {
        (c, v): (lo, hi, t)
        for c, v, lo, hi, t in q[["category", "value", "min", "max", "target"]].itertuples(
            index=False
        )
    }
    # Female: 30 * 0.51 = 15.3 seats; 15.3 * 0.9 = 13.77 -> 13; 15.3 * 1.1 = 16.83 -> 17.
    assert got[("sex", "Female")] == (13, 17, 15.3)
    # Male: 14.7 -> 13.23 -> 13; 16.17 -> 17.
    assert got[("sex", "Male")] == (13, 17, 14.7)
    # 16-29: 6 seats exactly; 5.4 -> 5, 6.6 -> 7.
    assert got[("age", "16-29")] == (5, 7, 6.0)
    # 30-49: 10.5 -> 9.45 -> 9 and 11.55 -> 12.
    assert got[("age", "30-49")] == (9, 12, 10.5)
    # Owned: 18.9 -> 17.01 -> 17 and 20.79 -> 21.
    assert got[("tenure", "Owned")] == (17, 21, 18.9)
    assert q.columns.tolist() == ["category", "value", "min", "max", "target"]


def test_zero_tolerance_gives_floor_and_ceiling() -> None:
    q = quotas_from_shares({"sex": {"F": 0.51, "M": 0.49}}, 30, tolerance=0.0).table
    assert q[["min", "max"]].values.tolist() == [[15, 16], [14, 15]]
    # An exact target is a single value.
    q = quotas_from_shares({"sex": {"F": 1, "M": 1}}, 30, tolerance=0.0).table
    assert q[["min", "max"]].values.tolist() == [[15, 15], [15, 15]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e6), min_size=1, max_size=8).filter(lambda xs: sum(xs) > 0),
    st.integers(1, 200),
    st.floats(0.0, 0.5),
)
def test_shares_always_admit_the_panel_size(counts, size, tol) -> None:
    q = quotas_from_shares({"c": {f"v{i}": x for i, x in enumerate(counts)}}, size, tol).table
    assert (q["min"] <= q["max"]).all()
    assert (q["min"] >= 0).all() and (q["max"] <= size).all()
    assert q["min"].sum() <= size <= q["max"].sum()


def test_bad_profile_inputs() -> None:
    with pytest.raises(InputError, match="panel size must be at least 1"):
        quotas_from_profile(PROFILE, 0)
    with pytest.raises(InputError, match="tolerance"):
        quotas_from_profile(PROFILE, 10, tolerance=1.5)
    with pytest.raises(InputError, match="has no people"):
        quotas_from_profile({"sex": {"F": 0, "M": 0}}, 10)


def test_default_bias_recognises_usual_categories() -> None:
    b = default_bias(
        {
            "age": {"16-24": 1, "25-49": 1, "50-64": 1, "65+": 1},
            "qualification": {"No qualifications": 1, "Level 4 or above": 1},
            "tenure": {"Owner-occupier": 1, "Social renter": 1},
            "sex": {"F": 1, "M": 1},
        },
        4.0,
    )
    # Age factor rises from 1 (youngest band, 16) to 4 (oldest, 65), by 4 ** ((low - 16) / 49).
    assert b["age"] == pytest.approx(
        {"16-24": 1.0, "25-49": 4 ** (9 / 49), "50-64": 4 ** (34 / 49), "65+": 4.0}
    )
    assert b["qualification"] == {"No qualifications": 1.0, "Level 4 or above": 4.0}
    assert b["tenure"] == {"Owner-occupier": 4.0, "Social renter": 1.0}
    assert "sex" not in b


def test_synthetic_pool_bias_and_reproducibility() -> None:
    a = synthetic_pool(EXAMPLE_PROFILE, 4000, bias=3.0, seed=7)
    b = synthetic_pool(EXAMPLE_PROFILE, 4000, bias=3.0, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a["id"].tolist()[:2] == ["V00001", "V00002"]
    owners = (a["tenure"] == "Owned").mean()
    # Population share 0.62; three times the odds of owners: 3 * 620 / (3 * 620 + 380) = 0.830.
    assert owners == pytest.approx(3 * 620 / (3 * 620 + 380), abs=0.02)
    unbiased = synthetic_pool(EXAMPLE_PROFILE, 4000, bias=1.0, seed=7)
    assert (unbiased["tenure"] == "Owned").mean() == pytest.approx(0.62, abs=0.02)


def test_synthetic_households_and_birth_years() -> None:
    pool = synthetic_pool(EXAMPLE_PROFILE, 200, household_share=0.2, birth_year=2025, seed=1)
    sizes = pool["household"].value_counts()
    assert sizes.max() == 2 and int((sizes == 2).sum()) == 20
    ages = 2025 - pool["birth_year"]
    young = pool["age"] == "16-29"
    assert ages[young].between(16, 29).all()
    assert (ages[pool["age"] == "75+"] >= 75).all()


def test_replacement_keeps_confirmed_and_quotas() -> None:
    pool = synthetic_pool(EXAMPLE_PROFILE, 120, bias=2.0, seed=2, household_share=0.1)
    quotas = quotas_from_profile(EXAMPLE_PROFILE, 12, tolerance=0.3)
    first = select(
        pool, quotas, 12, seed="first", households="household", panels=200, legacy_runs=0
    )
    dropouts = first.panel[:3]
    confirmed = first.panel[3:]
    again = replace(
        pool,
        quotas,
        12,
        confirmed=confirmed,
        dropouts=dropouts,
        seed="second",
        households="household",
        panels=200,
        legacy_runs=0,
    )
    assert len(again.panel) == 12
    for sel in (first, again):
        verify_distribution(
            sel.instance, sel.distribution, probabilities=sel.probabilities.to_numpy()
        )
    assert again.panel[:9] == confirmed
    assert not set(again.panel) & set(dropouts)
    frame = pool.set_index("id")
    panel = frame.loc[again.panel]
    # One per household, and every quota met by the whole panel.
    assert panel["household"].is_unique
    for cat, val, lo, hi in quotas.table[["category", "value", "min", "max"]].itertuples(
        index=False
    ):
        assert lo <= int((panel[cat] == val).sum()) <= hi
    fit = again.quota_fit()
    assert (fit["panel"] >= fit["min"]).all() and (fit["panel"] <= fit["max"]).all()
    # Expected seats over the whole panel add up to 12 in every category.
    assert fit.groupby("category")["expected"].sum().to_numpy() == pytest.approx(
        [12.0] * 5, abs=1e-3
    )
    # Confirmed members' households are out of the candidates.
    hh = set(frame.loc[confirmed, "household"])
    assert not (again.pool.frame["id"].map(frame["household"]).isin(hh)).any()


def test_replacement_errors() -> None:
    pool = pd.DataFrame({"id": list("abcd"), "sex": ["F", "F", "M", "M"]})
    quotas = pd.DataFrame(
        {"category": ["sex", "sex"], "value": ["F", "M"], "min": [1, 1], "max": [1, 1]}
    )
    with pytest.raises(InputError, match=r"A confirmed id is not in the pool.*'z'"):
        replace(pool, quotas, 2, confirmed=["z"])
    with pytest.raises(InputError, match="both confirmed and a dropout"):
        replace(pool, quotas, 2, confirmed=["a"], dropouts=["a"])
    with pytest.raises(
        InfeasibleQuotasError, match="already include 2 with sex = 'F', above its maximum 1"
    ):
        replace(pool, quotas.assign(max=[1, 2]), 3, confirmed=["a", "b"])
    with pytest.raises(InputError, match="already fill the panel"):
        replace(pool, quotas, 2, confirmed=["a", "c"])
    # With a and c gone and b confirmed, only d can fill the seat.
    s = replace(
        pool,
        quotas,
        2,
        confirmed=["b"],
        dropouts=["a", "c"],
        seed="s",
        panels=5,
        legacy_runs=0,
    )
    assert s.panel == ["b", "d"]
    assert s.probabilities.to_dict() == {"d": 1.0}
    assert np.allclose(s.lottery_probabilities.to_numpy(), [1.0])
