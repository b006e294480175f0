"""A place's Census 2021 profile by category, the input to assembly quotas.

Councils have the topic summaries directly (sex, ethnicity, qualifications,
tenure). A town, seat or small area gets its own age structure from its small
areas (rolled up in the atlas) and the other categories from the council(s) it
lies in, mixed by the share of its population in each. A county, combined
authority, region or country is the sum of its councils. The
profile counts adults (16+) where the table allows; ethnicity and tenure are
shares of all residents and of households respectively, scaled to adults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from townhall.levels import COUNCIL_LEVELS, COUNCIL_SUM_LEVELS, SEAT, SMALL_AREA_2021, TOWN

if TYPE_CHECKING:
    from townhall.atlas.store import Area, Atlas

#: Levels whose places have a census profile: councils, the areas councils nest in, and
#: places made of small areas (the web links these to their assembly quotas).
PROFILE_LEVELS = (*COUNCIL_LEVELS, TOWN, SEAT, SMALL_AREA_2021)

AGE = {"16-24": "census21_pop_16_24", "25-34": "census21_pop_25_34", "35-49": "census21_pop_35_49",
       "50-64": "census21_pop_50_64", "65+": "census21_pop_65_plus"}
SEX = {"Female": ("census21_sex_working_age_females", "census21_sex_older_females"),
       "Male": ("census21_sex_working_age_males", "census21_sex_older_males")}
ETHNICITY = {
    "Asian": "census21_ts021_asian_asian_british_or_asian_welsh",
    "Black": "census21_ts021_black_black_british_black_welsh_caribbean_or_african",
    "Mixed": "census21_ts021_mixed_or_multiple_ethnic_groups",
    "White": "census21_ts021_white",
    "Other": "census21_ts021_other_ethnic_group",
}
QUALIFICATION = {
    "No qualifications": "census21_ts067_no_qualifications",
    "Level 1 or 2": ("census21_ts067_level_1_and_entry_level_qualifications", "census21_ts067_level_2_qualifications"),
    "Apprenticeship or other": ("census21_ts067_apprenticeship", "census21_ts067_other_qualifications"),
    "Level 3": "census21_ts067_level_3_qualifications",
    "Level 4 or above": "census21_ts067_level_4_qualifications_and_above",
}
TENURE = {
    "Owner-occupier": ("census21_ts054_owned", "census21_ts054_shared_ownership"),
    "Social renter": "census21_ts054_social_rented",
    "Private renter or rent free": ("census21_ts054_private_rented", "census21_ts054_lives_rent_free"),
}


def _ids(spec: dict[str, str | tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for v in spec.values():
        out.extend(v if isinstance(v, tuple) else (v,))
    return out


def _values(atlas: Atlas, level: str, codes: list[str], ids: list[str]) -> pd.DataFrame:
    df = atlas.query(
        "SELECT area, indicator, value FROM observation WHERE level = ? AND list_contains(?, area) "
        "AND list_contains(?, indicator) AND period = '2021'",
        [level, codes, ids],
    )
    return df.pivot_table(index="area", columns="indicator", values="value", aggfunc="sum")


def _group(row: pd.Series, spec: dict[str, str | tuple[str, ...]]) -> dict[str, float]:
    out = {}
    for label, ids in spec.items():
        ids = ids if isinstance(ids, tuple) else (ids,)
        out[label] = float(sum(row.get(i, 0.0) for i in ids))
    return out


def census_profile(atlas: Atlas, area: Area) -> dict[str, dict[str, float]]:
    """``{category: {value: count}}`` of adults for age, sex, ethnicity, qualification, tenure.

    Raises :class:`~townhall.errors.TownhallError` for a place the census
    tables cannot describe (e.g. Scotland, or a level with no council link).
    """
    from townhall.errors import TownhallError

    if area.level in COUNCIL_SUM_LEVELS:
        return _sum_of_councils(atlas, area)
    if area.level == "lad":
        lads = pd.Series({area.code: 1.0})
    else:
        parents = atlas.parents(area.code, area.level)
        lads = parents[parents["level"] == "lad"].set_index("code")["weight"]
    if lads.empty:
        raise _no_profile(area)
    own = _values(atlas, area.level, [area.code], list(AGE.values()))
    lad_vals = _values(atlas, "lad", list(lads.index), _ids(SEX) + _ids(ETHNICITY) + _ids(QUALIFICATION) + _ids(TENURE))
    if own.empty or lad_vals.empty:
        raise TownhallError(f"The atlas holds no Census 2021 tables for {area.name} ({area.level}, {area.code}).")
    age = _group(own.iloc[0], AGE)
    adults = sum(age.values())
    lad_vals = lad_vals.reindex(lads.index).fillna(0.0)
    # Mix the councils' distributions by the share of the place's population in each.
    shares: dict[str, dict[str, float]] = {}
    for cat, spec in (("sex", SEX), ("ethnicity", ETHNICITY), ("qualification", QUALIFICATION), ("tenure", TENURE)):
        mix: dict[str, float] = {}
        for code, w in lads.items():
            g = _group(lad_vals.loc[code], spec)
            tot = sum(g.values())
            for k, v in g.items():
                mix[k] = mix.get(k, 0.0) + w * (v / tot if tot else 0.0)
        norm = sum(mix.values())
        shares[cat] = {k: v / norm for k, v in mix.items()} if norm else mix
    profile = {"age": age}
    for cat, s in shares.items():
        profile[cat] = {k: round(v * adults, 1) for k, v in s.items()}
    return profile


def _no_profile(area: Area) -> Exception:
    from townhall.errors import TownhallError

    return TownhallError(
        f"{area.name} ({area.level}, {area.code}) has no council link in the atlas, "
        "so its census profile is unknown.",
        hint="Use a council, county, combined authority, region, town, 2024 seat or small area "
        "in England or Wales.",
    )


def _sum_of_councils(atlas: Atlas, area: Area) -> dict[str, dict[str, float]]:
    """A region, county, combined authority or country: the sum of its councils' counts.

    Councils nest exactly in these areas, so the counts simply add up (no mixing needed).
    """
    lads = atlas.children(area.code, area.level, "lad")["code"].tolist()
    if not lads:
        raise _no_profile(area)
    specs = {"age": AGE, "sex": SEX, "ethnicity": ETHNICITY, "qualification": QUALIFICATION, "tenure": TENURE}
    vals = _values(atlas, "lad", lads, [i for spec in specs.values() for i in _ids(spec)]).sum()
    age = _group(vals, AGE)
    adults = sum(age.values())
    profile = {"age": age}
    for cat, spec in specs.items():
        if cat == "age":
            continue
        g = _group(vals, spec)
        tot = sum(g.values())
        # Scaled to adults, as for a council (ethnicity and tenure count residents and households).
        profile[cat] = {k: round(v / tot * adults, 1) if tot else 0.0 for k, v in g.items()}
    return profile
