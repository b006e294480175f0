"""Council code changes: older GSS codes mapped to today's councils.

Many sources are keyed on councils as they were when the source was published:
the 2016 EU referendum on 2016 councils, council tax and income statistics on
pre-2023 districts, the mid-2024 population on Barnsley's and Sheffield's
pre-2025 codes. The mirror's ONS lookup (``la_all_codes.csv``: every code ever
used since 2009 with its active successor) and ONS's list of changes
(``changes.csv``: mergers and recodings 2018-2025) give the successor of every
old code. A merged council gets the **sum** of its predecessors for counts and
the **weighted mean** for rates; :func:`to_current` does both and says which
predecessors each row came from.

>>> succ = successors(cache_dir)            # {'E08000016': 'E08000038', 'E07000163': 'E06000065', ...}
>>> to_current(df, "code", succ, sums=["electorate", "votes"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.errors import TownhallError
from townhall.sources import readers

LA_ALL = "geography/drkane_geo_lookups/la_all_codes.csv"
CHANGES = "geography/onsvisual_uk_topojson/changes.csv"
#: Kinds of change in ``changes.csv`` that move a council's area to another council code.
COUNCIL_CHANGES = ("merger", "new_code")


def successors_from(lookup: pd.DataFrame, changes: pd.DataFrame | None = None) -> dict[str, str]:
    """Old council code -> current council code, from the two lookup frames (a pure function).

    Parameters
    ----------
    lookup : DataFrame
        ``LADCD`` and ``LADCD_ACTIVE`` columns (the ONS all-codes lookup).
    changes : DataFrame, optional
        ``oldcd``, ``newcd``, ``type`` columns (ONS's list of changes); only
        council mergers and recodings are used.

    Returns
    -------
    dict
        Only codes that changed; chains (a code merged, then recoded) are followed to the end.
    """
    out = {o: n for o, n in zip(lookup["LADCD"], lookup["LADCD_ACTIVE"], strict=True)
           if isinstance(o, str) and isinstance(n, str) and o != n}
    if changes is not None:
        ch = changes[changes["type"].isin(COUNCIL_CHANGES) & changes["newcd"].notna()]
        # Only council-to-council rows: combined authorities (E47) are not successors of a council.
        ch = ch[ch["oldcd"].str[:3].isin(("E06", "E07", "E08", "E09", "W06")) & ch["newcd"].str[:3].isin(("E06", "E07", "E08", "E09", "W06"))]
        for o, n in zip(ch["oldcd"], ch["newcd"], strict=True):
            out.setdefault(o, n)
    for o in list(out):
        seen = {o}
        n = out[o]
        while n in out and n not in seen:  # follow chains, e.g. Taunton Deane -> SW&T -> Somerset
            seen.add(n)
            n = out[n]
        out[o] = n
    return out


def successors(cache_dir: Path | None = None) -> dict[str, str]:
    """Old council code -> current council code, read from the pulled lookups."""
    lookup = readers.read_csv(LA_ALL, cache_dir, required=["LADCD", "LADCD_ACTIVE"])
    changes = readers.read_csv(CHANGES, cache_dir, required=["oldcd", "newcd", "type"])
    return successors_from(lookup, changes)


def current(code: str, succ: Mapping[str, str]) -> str:
    """Today's code for a council code (the code itself when it has not changed)."""
    return succ.get(code, code)


def to_current(
    df: pd.DataFrame,
    code_col: str,
    succ: Mapping[str, str],
    sums: Iterable[str] = (),
    means: Mapping[str, str] | None = None,
    keep: Iterable[str] = (),
) -> pd.DataFrame:
    """Re-key a council table on today's codes: summed counts, weighted-mean rates.

    Parameters
    ----------
    df : DataFrame
        One row per (old or current) council.
    code_col : str
        The column holding council codes.
    succ : mapping
        Old code -> current code (:func:`successors`).
    sums : iterable of str
        Count columns: a merged council gets the sum of its predecessors.
    means : mapping, optional
        Rate column -> weight column: a merged council gets the weighted mean
        (e.g. ``{"turnout": "electorate"}``). The weight column must be in ``sums``
        or in the frame.
    keep : iterable of str
        Other columns (e.g. a name) taken from the first predecessor.

    Returns
    -------
    DataFrame
        ``code_col`` (current), the columns asked for, ``predecessors`` (the old
        codes joined with '+', or the code itself) and ``n_predecessors``.
    """
    sums, keep, means = list(sums), list(keep), dict(means or {})
    missing = [c for c in [code_col, *sums, *keep, *means, *means.values()] if c not in df.columns]
    if missing:
        raise TownhallError(f"Cannot re-key councils: no column(s) {', '.join(dict.fromkeys(missing))}.")
    work = df.copy()
    work["_old"] = work[code_col]
    work[code_col] = work[code_col].map(lambda c: succ.get(c, c))
    agg: dict[str, pd.NamedAgg] = {c: pd.NamedAgg(c, lambda s: s.sum(min_count=1)) for c in sums}
    for rate, weight in means.items():
        work[f"_wx_{rate}"] = work[rate] * work[weight]
        work[f"_w_{rate}"] = work[weight].where(work[rate].notna())
        agg[f"_wx_{rate}"] = pd.NamedAgg(f"_wx_{rate}", "sum")
        agg[f"_w_{rate}"] = pd.NamedAgg(f"_w_{rate}", "sum")
    for c in keep:
        agg[c] = pd.NamedAgg(c, "first")
    agg["predecessors"] = pd.NamedAgg("_old", lambda s: "+".join(sorted(dict.fromkeys(s))))
    agg["n_predecessors"] = pd.NamedAgg("_old", "nunique")
    out = work.groupby(code_col, sort=True).agg(**agg).reset_index()
    for rate in means:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rate] = out.pop(f"_wx_{rate}") / out.pop(f"_w_{rate}").replace(0, np.nan)
    return out[[code_col, *sums, *means, *keep, "predecessors", "n_predecessors"]]
