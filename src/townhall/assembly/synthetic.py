"""Synthetic pools of volunteers for any place, with self-selection bias.

Who answers an invitation to a citizens' assembly is not a random sample: older people,
graduates and home owners reply more often. :func:`synthetic_pool` draws volunteers from a
census profile (``{category: {value: count}}``, e.g. from
:meth:`townhall.api.Atlas.census_profile`) with that bias, for demonstrations, tests and
benchmarks. Every draw is reproducible from its seed; no real person is in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from townhall.errors import InputError

#: A census-like profile of adults in England and Wales (2021 shares, rounded), used by tests,
#: benchmarks and demos when no atlas is at hand.
EXAMPLE_PROFILE: dict[str, dict[str, float]] = {
    "sex": {"Female": 512.0, "Male": 488.0},
    "age": {"16-29": 210.0, "30-44": 245.0, "45-59": 250.0, "60-74": 190.0, "75+": 105.0},
    "ethnicity": {"White": 817.0, "Asian": 93.0, "Black": 40.0, "Mixed": 29.0, "Other": 21.0},
    "qualification": {
        "No qualifications": 181.0,
        "Level 1 and 2": 230.0,
        "Apprenticeship and other": 81.0,
        "Level 3": 169.0,
        "Level 4 and above": 339.0,
    },
    "tenure": {"Owned": 620.0, "Social rented": 170.0, "Private rented": 210.0},
}

_GRADUATE = re.compile(r"level\s*4|degree|graduate|higher education", re.IGNORECASE)
_OWNER = re.compile(r"\bown", re.IGNORECASE)
_AGE_LOW = re.compile(r"(\d+)")


def _age_lower(value: str) -> float | None:
    m = _AGE_LOW.search(value)
    return float(m.group(1)) if m else None


def default_bias(
    profile: Mapping[str, Mapping[str, float]], strength: float
) -> dict[str, dict[str, float]]:
    """The usual self-selection pattern at a given strength.

    Volunteers over-represented by a factor ``strength`` are graduates (a qualification value
    naming level 4, a degree or higher education) and owner-occupiers (a tenure value containing
    "own"); by age the factor rises smoothly from 1 for the youngest band to ``strength`` for the
    oldest. Categories are recognised by name (``age``, ``qualification``/``education``,
    ``tenure``); others are left unbiased.

    Parameters
    ----------
    profile : mapping
        ``{category: {value: count}}``.
    strength : float
        The over-representation factor (1 = no bias).

    Returns
    -------
    dict
        ``{category: {value: factor}}``.
    """
    bias: dict[str, dict[str, float]] = {}
    for cat, values in profile.items():
        name = cat.lower()
        if "age" in name:
            lows = {v: _age_lower(v) for v in values}
            known = [x for x in lows.values() if x is not None]
            if len(known) >= 2:
                lo, hi = min(known), max(known)
                bias[cat] = {
                    v: 1.0 if x is None else strength ** ((x - lo) / (hi - lo))
                    for v, x in lows.items()
                }
        elif "qualif" in name or "educ" in name:
            bias[cat] = {v: strength if _GRADUATE.search(v) else 1.0 for v in values}
        elif "tenure" in name:
            bias[cat] = {v: strength if _OWNER.search(v) else 1.0 for v in values}
    return bias


def synthetic_pool(
    profile: Mapping[str, Mapping[str, float]],
    n: int,
    *,
    bias: float | Mapping[str, Mapping[str, float]] = 2.0,
    seed: int = 0,
    household_share: float = 0.0,
    birth_year: int | None = None,
) -> pd.DataFrame:
    """Draw a pool of ``n`` synthetic volunteers.

    Each volunteer's value in each category is drawn from the profile's shares re-weighted by the
    bias factors (categories independently).

    Parameters
    ----------
    profile : mapping
        ``{category: {value: count}}`` of the population.
    n : int
        Pool size.
    bias : float or mapping
        A strength for :func:`default_bias`, or explicit ``{category: {value: factor}}``.
    seed : int
        Random seed; the same seed gives the same pool.
    household_share : float
        Share of volunteers who apply together with someone else in their household (they come
        in pairs with a shared ``household`` label).
    birth_year : int, optional
        If given (the year of the draw), add a ``birth_year`` column consistent with the ``age``
        band, to exercise age bands derived from birth years.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (``V00001`` ...), one per category, then ``household`` and ``birth_year``
        when asked for.
    """
    if n < 1:
        raise InputError("The pool size must be at least 1.", value=n)
    if not profile:
        raise InputError("The census profile is empty.")
    rng = np.random.default_rng(seed)
    factors = default_bias(profile, float(bias)) if isinstance(bias, int | float) else bias
    for cat in factors:
        if cat not in profile:
            raise InputError("Bias names a category the profile does not have.", value=cat)
    data: dict[str, object] = {"id": [f"V{i:05d}" for i in range(1, n + 1)]}
    for cat, values in profile.items():
        names = list(values)
        w = np.array([max(float(values[v]), 0.0) for v in names])
        if w.sum() <= 0:
            raise InputError("A profile category has no people.", column=cat)
        f = factors.get(cat, {})
        w = w * np.array([float(f.get(v, 1.0)) for v in names])
        data[cat] = np.array(names, dtype=object)[rng.choice(len(names), size=n, p=w / w.sum())]
    frame = pd.DataFrame(data)
    if household_share > 0:
        pairs = int(n * household_share) // 2
        label = np.arange(n)
        who = rng.permutation(n)[: 2 * pairs]
        label[who[1::2]] = label[who[0::2]]
        frame["household"] = [f"H{x:05d}" for x in label]
    if birth_year is not None:
        age_cat = next((c for c in profile if c.lower() == "age"), None)
        if age_cat is None:
            raise InputError("birth_year needs an 'age' category in the profile.")
        from townhall.assembly.pool import parse_band

        years = []
        for band in frame[age_cat]:
            lo, hi = parse_band(band)
            hi = lo + 14 if hi is None else hi
            years.append(birth_year - int(rng.integers(lo, hi + 1)))
        # A birthday later in the year can make someone a year younger: keep the band exact by
        # treating ages as at the end of ``birth_year``.
        frame["birth_year"] = years
    return frame


#: Three more census-like categories (England and Wales, 2021 shares, rounded) for hard pools of
#: 6 to 8 categories: region, disability and economic activity.
EXTRA_CATEGORIES: dict[str, dict[str, float]] = {
    "region": {
        "North East": 45.0,
        "North West": 125.0,
        "Yorkshire and The Humber": 92.0,
        "East Midlands": 81.0,
        "West Midlands": 100.0,
        "East of England": 106.0,
        "London": 147.0,
        "South East": 156.0,
        "South West": 96.0,
        "Wales": 52.0,
    },
    "disability": {"Disabled": 177.0, "Not disabled": 823.0},
    "activity": {"Employed": 570.0, "Unemployed": 30.0, "Retired": 220.0, "Other inactive": 180.0},
}


def hard_profile(categories: int = 8) -> dict[str, dict[str, float]]:
    """A census-like profile with 5 to 8 categories (:data:`EXAMPLE_PROFILE` then the extras)."""
    if not 5 <= categories <= 8:
        raise InputError("Hard pools have 5 to 8 categories.", value=categories)
    extra = list(EXTRA_CATEGORIES.items())[: categories - 5]
    return {**EXAMPLE_PROFILE, **dict(extra)}


def tight_quotas(profile: Mapping[str, Mapping[str, float]], size: int, seats: int = 1):
    """Quotas of ``seats`` either side of each value's proportional target (rounded).

    ``min = max(0, round(target) - seats)``, ``max = min(size, round(target) + seats)``, with the
    target ``size * share``; as sortition practitioners set them for a representative panel.
    """
    from townhall.assembly.quotas import Quotas

    if seats < 0:
        raise InputError("Quota slack cannot be negative.", value=seats)
    rows = []
    for cat, values in profile.items():
        total = float(sum(values.values()))
        for v, c in values.items():
            t = int(np.floor(size * float(c) / total + 0.5))
            rows.append((str(cat), str(v), max(0, t - seats), min(size, t + seats)))
    return Quotas(pd.DataFrame(rows, columns=["category", "value", "min", "max"]))


def hard_pool(
    n: int,
    *,
    categories: int = 8,
    size: int = 120,
    seats: int = 1,
    bias: float = 3.0,
    seed: int = 0,
):
    """A hard selection instance: a self-selected pool with population quotas of +- ``seats``.

    Volunteers are drawn from :func:`hard_profile` with strong self-selection bias (older,
    graduate, owner-occupier, and here also retired volunteers ``bias`` times as likely), and
    the quotas ask for the population's shares within ``seats`` seats (:func:`tight_quotas`).
    With 2,000 volunteers and 8 categories there are about 1,000 distinct types of volunteers.
    The same arguments give the same instance.

    Returns
    -------
    (pandas.DataFrame, Quotas)
        The pool (``id`` and one column per category) and the quotas.
    """
    profile = hard_profile(categories)
    factors = default_bias(profile, bias)
    if "activity" in profile:
        factors["activity"] = {v: bias if v == "Retired" else 1.0 for v in profile["activity"]}
    pool = synthetic_pool(profile, n, bias=factors, seed=seed)
    return pool, tight_quotas(profile, size, seats)
