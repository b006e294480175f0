"""The uniform lottery: rounding within 1/m, the commitment, and reproducible draws."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assembly_fixture import POOL, QUOTAS
from townhall.assembly import SEED_RULE, Lottery, read_pool, read_quotas, seed_index, select
from townhall.errors import InputError


def seats(lottery: Lottery) -> dict[str, int]:
    out: dict[str, int] = {}
    for panel in lottery.panels:
        for i in panel:
            out[i] = out.get(i, 0) + 1
    return out


def test_rounding_by_hand() -> None:
    # a has 2/3, everyone else 1/3; with m = 1000, a sits on 666 or 667 panels, the others on
    # 333 or 334, and every panel is one of {a,d}, {a,e}, {b,c}.
    s = select(POOL, QUOTAS, 2, panels=1000, legacy_runs=0)
    lot = s.lottery
    assert lot.m == 1000
    n = seats(lot)
    assert n["a"] in (666, 667)
    assert all(n[i] in (333, 334) for i in "bcde")
    assert n["b"] == n["c"] and n["a"] == n["d"] + n["e"]
    assert {frozenset(p) for p in lot.panels} == {frozenset("ad"), frozenset("ae"), frozenset("bc")}
    assert lot.within_bound
    assert (s.lottery_probabilities - s.probabilities).abs().max() <= 1 / 1000


def test_rounding_within_one_over_m_on_fixture(mirror: Path) -> None:
    fixtures = mirror / "sortition" / "sortition-algorithms-fixtures" / "tests" / "fixtures"
    s = select(
        fixtures / "candidates.csv",
        fixtures / "features.csv",
        22,
        id_column="nationbuilder_id",
        legacy_runs=0,
    )
    assert s.lottery.m == 1000
    gap = (s.lottery_probabilities - s.probabilities).abs().max()
    assert gap <= (1 + 1e-6) / 1000
    assert s.lottery.within_bound
    q = read_quotas(fixtures / "features.csv")
    pool = read_pool(fixtures / "candidates.csv", q, id_column="nationbuilder_id").frame.set_index(
        "id"
    )
    # Every lottery panel meets the quotas.
    for panel in set(s.lottery.panels):
        members = pool.loc[list(panel)]
        assert len(members) == 22
        for cat, val, lo, hi in q.table[["category", "value", "min", "max"]].itertuples(
            index=False
        ):
            assert lo <= int((members[cat] == val).sum()) <= hi


@st.composite
def skewed(draw):
    n = draw(st.integers(6, 14))
    sex = draw(st.lists(st.sampled_from(["F", "M"]), min_size=n, max_size=n))
    age = draw(st.lists(st.sampled_from(["y", "o"]), min_size=n, max_size=n))
    k = draw(st.integers(2, n // 2))
    m = draw(st.sampled_from([7, 50, 333]))
    return pd.DataFrame({"id": [f"p{i}" for i in range(n)], "sex": sex, "age": age}), k, m


@settings(max_examples=20, deadline=None)
@given(skewed())
def test_rounding_bound_property(case) -> None:
    pool, k, m = case
    half = (k + 1) // 2
    quotas = pd.DataFrame(
        {
            "category": ["sex", "sex", "age", "age"],
            "value": ["F", "M", "y", "o"],
            "min": [k // 2, 0, 0, 0],
            "max": [half, k, k, k],
        }
    )
    try:
        s = select(pool, quotas, k, panels=m, legacy_runs=0)
    except InputError:
        return  # no feasible panel for this draw
    assert s.lottery.m == m
    assert all(len(set(p)) == k for p in s.lottery.panels)
    assert (s.lottery_probabilities - s.probabilities).abs().max() <= (1 + 1e-6) / m


def test_commitment_is_hash_of_lottery_and_seed_rule() -> None:
    s = select(POOL, QUOTAS, 2, panels=10, legacy_runs=0)
    body = {
        "format": "townhall-lottery/1",
        "method": "leximin",
        "panels": [list(p) for p in s.lottery.panels],
        "seed_rule": SEED_RULE,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert s.commitment == hashlib.sha256(text.encode()).hexdigest()


def test_seed_reproducibility(tmp_path: Path) -> None:
    seed = "EuroMillions 2025-06-06: 4 9 21 33 45 / 2 11"
    a = select(POOL, QUOTAS, 2, seed=seed, legacy_runs=0)
    b = select(POOL, QUOTAS, 2, seed=seed, legacy_runs=0)
    # Same inputs: same lottery, same commitment, same panel.
    assert a.commitment == b.commitment
    assert a.panel == b.panel
    assert (
        a.index
        == seed_index(seed, 1000)
        == int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 1000
    )
    assert a.panel == list(a.lottery.panels[a.index])
    # Anyone with the published file gets the same draw.
    a.lottery.save(tmp_path / "lottery.json")
    again = Lottery.load(tmp_path / "lottery.json")
    assert again.commitment == a.commitment
    assert again.draw(seed) == (a.index, tuple(a.panel))
    # Another seed picks by the same rule.
    other = "EuroMillions 2025-06-10: 1 2 3 4 5 / 6 7"
    assert again.draw(other)[0] == seed_index(other, 1000)


def test_tampered_lottery_is_rejected(tmp_path: Path) -> None:
    s = select(POOL, QUOTAS, 2, panels=10, legacy_runs=0)
    path = tmp_path / "lottery.json"
    s.lottery.save(path)
    data = json.loads(path.read_text())
    data["panels"][0] = ["b", "c"] if data["panels"][0] != ["b", "c"] else ["a", "d"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="does not match its commitment"):
        Lottery.load(path)
    path.write_text("{}")
    with pytest.raises(InputError, match="Not a townhall lottery file"):
        Lottery.load(path)


def test_empty_seed_rejected() -> None:
    s = select(POOL, QUOTAS, 2, panels=10, legacy_runs=0)
    with pytest.raises(InputError, match="non-empty"):
        s.draw("")


def test_seed_index_examples() -> None:
    assert seed_index("abc", 1000) == 965
    assert np.unique([seed_index(str(i), 7) for i in range(200)]).tolist() == list(range(7))
