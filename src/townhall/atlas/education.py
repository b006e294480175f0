"""The ONS towns table's own education measures, as town-level indicators.

The ONS (2023) followed the pupils who sat their GCSEs (key stage 4) in
2012/13 through to age 22, town by town: attainment at 11 (key stage 2, in
2007/08) and 16, qualifications at 18, what they did at 19 and the highest
qualification reached by 22, with an overall ``education_score``. These are
columns 14-31 of ``towns_official/english_education.csv``; the 1,100 English
towns and cities have them (the table's London and 'other' summary rows have
no code and are left out).

:func:`town_education` returns them in the shape of the indicator readers in
:mod:`townhall.atlas.indicators`, so the build can register them::

    reg, obs = town_education(cache_dir)   # ids ons_towns_<measure>, level 'town'

Polarity: attainment, level 2/3 at 18, higher education, apprenticeships,
employment, level 6+ by 22, the average qualification score and the
education score are better when higher (+1); out of work at 19 and the two
lowest qualification bands by 22 are worse when higher (-1); sustained further
education at 19 and level 3-5 by 22 are neither (0), and the cohort size is a
count (0). Values are percentages of the cohort unless the unit says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from townhall.atlas.registry import OBS_COLS, reg_row
from townhall.sources import readers

TOWNS = "towns_official/english_education.csv"
PERIOD = "2012/13"
COHORT = ("the 2012/13 key stage 4 cohort living in the town (followed from key stage 2 in 2007/08 to age 22); "
          "ONS towns and education dataset, 2023")

#: column -> (id suffix, name, unit, polarity)
MEASURES: dict[str, tuple[str, str, str, int]] = {
    "level4qual_residents35_64_2011": ("level4_35_64", "Residents aged 35-64 with level 4+ qualifications (2011 band)",
                                       "band (1 = low, 2 = medium, 3 = high)", 1),
    "ks4_2012_2013_counts": ("ks4_cohort", "Pupils in the key stage 4 cohort 2012/13", "pupils", 0),
    "key_stage_2_attainment_school_year_2007_to_2008": ("ks2_attainment", "Key stage 2 attainment, 2007/08", "percent", 1),
    "key_stage_4_attainment_school_year_2012_to_2013": ("ks4_attainment", "Key stage 4 attainment, 2012/13", "percent", 1),
    "level_2_at_age_18": ("level2_at_18", "Level 2 qualifications at age 18", "percent", 1),
    "level_3_at_age_18": ("level3_at_18", "Level 3 qualifications at age 18", "percent", 1),
    "activity_at_age_19_full_time_higher_education": ("he_at_19", "In full-time higher education at 19", "percent", 1),
    "activity_at_age_19_sustained_further_education": ("fe_at_19", "In sustained further education at 19", "percent", 0),
    "activity_at_age_19_appprenticeships": ("apprenticeship_at_19", "In an apprenticeship at 19", "percent", 1),
    "activity_at_age_19_employment_with_earnings_above_0": ("employed_at_19", "In employment (any earnings) at 19",
                                                            "percent", 1),
    "activity_at_age_19_employment_with_earnings_above_10_000": ("earning_10k_at_19",
                                                                 "In employment earning over £10,000 at 19", "percent", 1),
    "activity_at_age_19_out_of_work": ("out_of_work_at_19", "Out of work at 19", "percent", -1),
    "highest_level_qualification_achieved_by_age_22_less_than_level_1": ("below_level1_by_22",
                                                                         "Highest qualification by 22: below level 1",
                                                                         "percent", -1),
    "highest_level_qualification_achieved_by_age_22_level_1_to_level_2": ("level1_2_by_22",
                                                                          "Highest qualification by 22: level 1 to 2",
                                                                          "percent", -1),
    "highest_level_qualification_achieved_by_age_22_level_3_to_level_5": ("level3_5_by_22",
                                                                          "Highest qualification by 22: level 3 to 5",
                                                                          "percent", 0),
    "highest_level_qualification_achieved_by_age_22_level_6_or_above": ("level6_by_22",
                                                                        "Highest qualification by 22: level 6 or above",
                                                                        "percent", 1),
    "highest_level_qualification_achieved_b_age_22_average_score": ("qualification_score_22",
                                                                    "Average highest qualification score by 22",
                                                                    "score (level)", 1),
    "education_score": ("education_score", "Education score (ONS towns)", "score (standardised)", 1),
}
BANDS = {"Low": 1.0, "Medium": 2.0, "High": 3.0}


def town_education(cache_dir: Path | None = None) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """Registry rows and observations of the towns table's education measures.

    Parameters
    ----------
    cache_dir : Path, optional
        The source cache (default: :func:`townhall.config.cache_dir`).

    Returns
    -------
    (list of dict, DataFrame)
        Registry rows (id, name, topic, unit, polarity, level, agg, source,
        description) and observations (indicator, level, area, period,
        value, lower, upper), level ``town``, period ``2012/13``.
    """
    df = readers.read_csv(TOWNS, cache_dir, required=["town11cd", *MEASURES])
    df = df[df["town11cd"].notna()].copy()
    df["level4qual_residents35_64_2011"] = df["level4qual_residents35_64_2011"].map(BANDS)
    reg, frames = [], []
    for col, (suffix, name, unit, pol) in MEASURES.items():
        iid = f"ons_towns_{suffix}"
        reg.append(reg_row(id=iid, name=name, topic="education", unit=unit, polarity=pol, level="town", agg="none",
                        source=TOWNS, description=f"{name}: {COHORT}."))
        vals = pd.to_numeric(df[col], errors="coerce")
        frames.append(pd.DataFrame({"indicator": iid, "level": "town", "area": df["town11cd"].to_numpy(),
                                    "period": PERIOD, "value": vals.to_numpy(float), "lower": np.nan,
                                    "upper": np.nan}))
    obs = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    return reg, obs[OBS_COLS].reset_index(drop=True)
