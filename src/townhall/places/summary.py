"""The headline: what share of English towns do worse than their neighbouring city?

Rule (``composite_and_most_domains``): a town *does worse than its city
overall* when its population-weighted IMD 2025 score is worse than its city's
**and** it is worse on at least four of the seven IoD domains (income,
employment, education, health, crime, barriers, living environment). Both
halves matter: the composite weights income and employment heavily, the
domain count treats each kind of deprivation alike.

The interval comes from the joint bootstrap of :class:`~townhall.places.gaps.Gaps`:
in each draw every town and city is resampled, the rule applied to every town,
and the share counted; the 2.5th and 97.5th percentiles of those shares,
centred on the estimate (see :func:`centred_interval`), are the 95% interval. It measures how much the share depends on which small areas
happen to make up each place, not sampling of towns (every town is counted).

The same rule on the national-percentile scale gives the share in 2019 and in
2025, so the two years can be compared. Demos (2015) found 26 of 42 towns
(62%) did worse than their neighbouring city; that study is shown beside the
share for reference, not as a like-for-like figure (other towns, other
measures, one year).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from townhall.errors import TownhallError
from townhall.places.gaps import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    HEADLINE,
    SEVEN,
    TREND,
    Gaps,
    quantiles,
)

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Demos (2015): 26 of 42 towns did worse than their neighbouring city.
DEMOS = {"worse": 26, "towns": 42, "share": 26 / 42,
         "source": "Demos (2015), towns compared with their neighbouring city"}
BREAKDOWNS = {"size": "Town size (ONS)", "region": "Region", "coastal": "Coastal",
              "job_density": "Job density (ONS)", "income_deprivation": "Income deprivation (ONS)"}
MIN_DOMAINS = 4


def worse_overall(composite: np.ndarray, domains: np.ndarray, min_domains: int = MIN_DOMAINS) -> np.ndarray:
    """The rule: composite gap below 0 and at least ``min_domains`` domain gaps below 0.

    Parameters
    ----------
    composite : ndarray (...,)
        Gap on the composite index (positive = town better).
    domains : ndarray (n_domains, ...)
        Gaps on each domain.
    min_domains : int

    Returns
    -------
    ndarray of bool (False where the composite is missing)
    """
    composite = np.asarray(composite, float)
    worse_domains = (np.asarray(domains, float) < 0).sum(axis=0)
    return (composite < 0) & (worse_domains >= min_domains)


class Headline:
    """The share of towns doing worse than their city, with its interval and breakdowns.

    Parameters
    ----------
    gaps : Gaps
        Gaps with draws kept for the composite and the seven domains.
    towns : DataFrame
        Typology of the towns: town (code), town_name, and the columns of
        :data:`BREAKDOWNS` (as in ``Pairing.table``).
    rule : str
        The pairing rule the gaps were computed under (for the text).
    min_domains : int, default 4
    confidence : float, default 0.95

    Attributes
    ----------
    share, lower, upper : float
        The share of towns doing worse and its interval.
    n_towns, n_worse : int
    n_falling_behind : int
        Towns whose composite interval lies wholly on the worse side.
    towns : DataFrame
        One row per town: typology, composite_gap, composite_lower,
        composite_upper, domains_worse, worse, falling_behind.
    breakdown : DataFrame
        by, group, towns, worse, share, lower, upper.
    over_time : DataFrame
        The same rule on national percentiles of ranks: period, towns, worse,
        share, lower, upper.
    demos : dict
    method : str
        One paragraph saying how the share was made.
    """

    def __init__(self, gaps: Gaps, towns: pd.DataFrame, *, rule: str = "nearest",
                 min_domains: int = MIN_DOMAINS, confidence: float = 0.95) -> None:
        missing = [i for i in HEADLINE if i not in gaps.draws]
        if missing:
            raise TownhallError(f"The headline needs gap draws for {', '.join(missing)}.")
        self.rule, self.min_domains, self.confidence = rule, min_domains, confidence
        self.n_draws, self.seed = gaps.n_draws, gaps.seed
        qs = ((1 - confidence) / 2, 1 - (1 - confidence) / 2)
        point = gaps.table.pivot(index="town", columns="indicator", values="gap").reindex(gaps.towns)
        bounds = gaps.table[gaps.table["indicator"] == HEADLINE[0]].set_index("town").reindex(gaps.towns)
        comp, doms = HEADLINE[0], list(HEADLINE[1:])
        worse = worse_overall(point[comp].to_numpy(), point[doms].to_numpy().T, min_domains)
        draws = worse_overall(gaps.draws[comp], np.stack([gaps.draws[d] for d in doms]), min_domains)  # (T, B)
        known = point[comp].notna().to_numpy()
        typ = towns.drop_duplicates("town").set_index("town").reindex(gaps.towns)
        self.towns = pd.DataFrame({
            "town": gaps.towns, "town_name": typ.get("town_name"),
            "city": gaps.pairs["city"].to_numpy(),
            **{c: typ[c].to_numpy() for c in BREAKDOWNS if c in typ},
            "composite_gap": point[comp].to_numpy(), "composite_lower": bounds["lower"].to_numpy(),
            "composite_upper": bounds["upper"].to_numpy(),
            "domains_worse": (point[doms] < 0).sum(axis=1).to_numpy(), "worse": worse,
            "falling_behind": (bounds["upper"] < 0).to_numpy(),
        })
        self.n_towns, self.n_worse = int(known.sum()), int(worse[known].sum())
        self.n_falling_behind = int(self.towns["falling_behind"][known].sum())
        self.share, self.lower, self.upper = _share(worse[known], draws[known], qs)
        rows = []
        for by in BREAKDOWNS:
            if by not in self.towns:
                continue
            for group, idx in self.towns[known].groupby(by, sort=True).groups.items():
                pos = self.towns.index.get_indexer(idx)
                s, lo, hi = _share(worse[pos], draws[pos], qs)
                rows.append({"by": by, "group": group, "towns": len(pos), "worse": int(worse[pos].sum()),
                             "share": s, "lower": lo, "upper": hi})
        self.breakdown = pd.DataFrame(rows, columns=["by", "group", "towns", "worse", "share", "lower", "upper"])
        self.over_time = self._over_time(gaps, qs)
        self.demos = dict(DEMOS)
        self.method = self._method()

    def _over_time(self, gaps: Gaps, qs: tuple[float, float]) -> pd.DataFrame:
        rows = []
        point = gaps.table.pivot(index="town", columns="indicator", values="gap").reindex(gaps.towns)
        for k, year in enumerate(("2019", "2025")):
            ids = [TREND[d][k] for d in ("imd", *SEVEN)]
            if not all(i in gaps.draws and i in point for i in ids):
                continue
            known = point[ids[0]].notna().to_numpy()
            worse = worse_overall(point[ids[0]].to_numpy(), point[ids[1:]].to_numpy().T, self.min_domains)
            draws = worse_overall(gaps.draws[ids[0]], np.stack([gaps.draws[i] for i in ids[1:]]), self.min_domains)
            s, lo, hi = _share(worse[known], draws[known], qs)
            rows.append({"period": year, "towns": int(known.sum()), "worse": int(worse[known].sum()),
                         "share": s, "lower": lo, "upper": hi})
        return pd.DataFrame(rows, columns=["period", "towns", "worse", "share", "lower", "upper"])

    def _method(self) -> str:
        pairing = ("its nearest city (distance between population-weighted centres)" if self.rule == "nearest"
                   else "the city of its 2011 travel-to-work area (towns whose area has no city are left out)")
        return (
            f"Each of {self.n_towns:,} English towns (ONS towns table, 2011 built-up areas; the 18 cities "
            f"excluded) is paired with {pairing}, among the 18 ONS cities and London (its 33 boroughs). "
            "Town and city values are population-weighted means of their LSOAs (2021; a town's LSOAs are those "
            "whose population-weighted centroid lies in its 2011 boundary). A town does worse than its city "
            f"overall when its IMD 2025 score is worse and it is worse on at least {self.min_domains} of the 7 IoD "
            f"domains. The {round(self.confidence * 100)}% interval is a percentile bootstrap (centred on the share) over "
            f"{self.n_draws:,} draws (seed {self.seed}) that resample the LSOAs of every town and city, so it "
            "shows how much the share depends on the small areas that make up each place. Demos (2015) found "
            "26 of 42 towns (62%) did worse than their neighbouring city, on other measures and other towns."
        )

    def as_dict(self) -> dict[str, object]:
        """Everything, ready for JSON."""
        return {
            "rule": self.rule, "min_domains": self.min_domains, "n_draws": self.n_draws, "seed": self.seed,
            "towns": self.n_towns, "worse": self.n_worse, "share": self.share, "lower": self.lower,
            "upper": self.upper, "falling_behind": self.n_falling_behind, "demos": self.demos,
            "breakdown": _records(self.breakdown), "over_time": _records(self.over_time), "method": self.method,
        }


def _share(worse: np.ndarray, draws: np.ndarray, qs: tuple[float, float]) -> tuple[float, float, float]:
    if len(worse) == 0:
        return float("nan"), float("nan"), float("nan")
    share = float(worse.mean())
    lo, hi = centred_interval(share, draws.mean(axis=0), qs)
    return share, lo, hi


def centred_interval(estimate: float, draws: np.ndarray, qs: tuple[float, float]) -> tuple[float, float]:
    """Percentile interval of the draws, moved so the draws are centred on the estimate.

    A share of towns over a line is biased under resampling: noise pushes towns
    near the line to either side, and as most towns sit on the 'not worse' side
    more cross one way than the other, so the draws centre above the estimate.
    The interval keeps the draws' spread and removes that shift (their mean
    minus the estimate), so it always surrounds the estimate. Efron's
    bias-corrected percentiles would instead move the percentiles, and exclude
    the estimate when nearly every draw is above it.
    """
    d = np.asarray(draws, float)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return float("nan"), float("nan")
    shift = d.mean() - estimate
    lo, hi = quantiles(d[:, None], qs, axis=0)[:, 0]
    return float(np.clip(lo - shift, 0.0, 1.0)), float(np.clip(hi - shift, 0.0, 1.0))


def _records(df: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in r.items()} for r in df.to_dict(orient="records")]


def headline(atlas: Atlas, *, rule: str = "nearest", n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
             london: bool = True, min_domains: int = MIN_DOMAINS, indicators: Iterable[str] | None = None,
             progress: Callable[[int, int], None] | None = None) -> Headline:
    """The headline share for every English town under one pairing rule.

    Only the indicators the headline needs are bootstrapped (the composite,
    the seven domains and the rank percentiles of both years) unless
    ``indicators`` asks for more.
    """
    from townhall.places.gaps import gaps_for_pairs
    from townhall.places.pairing import Pairing

    p = Pairing(atlas, london=london)
    need = [*HEADLINE, *(i for ids in TREND.values() for i in ids)]
    ind = list(dict.fromkeys([*need, *(indicators or [])]))
    g = gaps_for_pairs(atlas, p.pairs(rule), n_draws=n_draws, seed=seed, indicators=ind, progress=progress)
    return Headline(g, p.table, rule=rule, min_domains=min_domains)


#: The tests of 'falling behind' compared side by side (see :func:`sensitivity`).
TESTS: dict[str, str] = {
    "level": "IMD 2025 score worse than the city's and worse on at least 4 of the 7 domains",
    "level_2019": "the same rule on national percentiles of the IoD 2019 ranks",
    "level_2025_pct": "the same rule on national percentiles of the IoD 2025 ranks",
    "trend": "the town's gap to its city on the overall IMD (national percentiles) "
             "smaller (worse) in 2025 than in 2019",
    "trend_clear": "as 'trend', with the change's 95% bootstrap interval below zero",
}

#: Short names of the tests, for tables.
TEST_LABELS: dict[str, str] = {"level": "worse now (2025)", "level_2019": "worse in 2019 (percentiles)",
                               "level_2025_pct": "worse in 2025 (percentiles)", "trend": "losing ground 2019-2025",
                               "trend_clear": "clearly losing ground 2019-2025"}


class Sensitivity:
    """The share of towns 'falling behind' their city under each test and pairing rule, side by side.

    Attributes
    ----------
    table : DataFrame
        One row per pairing rule and test: pairing, test, description, towns,
        count, share, lower, upper (95% bootstrap interval, centred on the share).
    headlines : dict
        Pairing rule -> the :class:`Headline` of that pairing.
    """

    def __init__(self, runs: dict[str, tuple[Gaps, pd.DataFrame]], *, min_domains: int = MIN_DOMAINS,
                 confidence: float = 0.95) -> None:
        qs = ((1 - confidence) / 2, 1 - (1 - confidence) / 2)
        rows, self.headlines = [], {}
        for pairing, (g, towns) in runs.items():
            h = Headline(g, towns, rule=pairing, min_domains=min_domains, confidence=confidence)
            self.headlines[pairing] = h
            rows.append(_row(pairing, "level", h.n_towns, h.n_worse, h.share, h.lower, h.upper))
            for r in h.over_time.itertuples():
                rows.append(_row(pairing, "level_2019" if r.period == "2019" else "level_2025_pct", r.towns,
                                 r.worse, r.share, r.lower, r.upper))
            for test, clear in (("trend", False), ("trend_clear", True)):
                n, k, s, lo, hi = losing_ground(g, clear=clear, qs=qs)
                rows.append(_row(pairing, test, n, k, s, lo, hi))
        self.table = pd.DataFrame(rows, columns=["pairing", "test", "description", "towns", "count", "share",
                                                 "lower", "upper"])
        self.n_draws = next(iter(runs.values()))[0].n_draws if runs else 0

    def as_dict(self) -> dict[str, object]:
        return {"n_draws": self.n_draws, "tests": dict(TESTS), "table": _records(self.table),
                "demos": dict(DEMOS)}


def _row(pairing: str, test: str, n: int, k: int, share: float, lo: float, hi: float) -> dict[str, object]:
    return {"pairing": pairing, "test": test, "description": TESTS[test], "towns": int(n), "count": int(k),
            "share": share, "lower": lo, "upper": hi}


def losing_ground(gaps: Gaps, *, clear: bool = False,
                  qs: tuple[float, float] = (0.025, 0.975)) -> tuple[int, int, float, float, float]:
    """Towns whose overall-IMD gap to their city (national percentiles) fell between 2019 and 2025.

    Returns
    -------
    (towns, count, share, lower, upper)
        ``clear``: count only towns whose change's interval lies below zero.
        The interval is the centred percentile bootstrap of the share (the
        'clear' rule has no interval: it already uses each town's interval).
    """
    i19, i25 = TREND["imd"]
    t = gaps.trend[gaps.trend["domain"] == "imd"].set_index("town").reindex(gaps.towns)
    known = t["change"].notna().to_numpy()
    if not known.any() or i19 not in gaps.draws or i25 not in gaps.draws:
        return 0, 0, float("nan"), float("nan"), float("nan")
    if clear:
        losing = (t["upper"] < 0).to_numpy()
        k = int(losing[known].sum())
        return int(known.sum()), k, k / int(known.sum()), float("nan"), float("nan")
    losing = (t["change"] < 0).to_numpy()
    draws = (gaps.draws[i25].astype(float) - gaps.draws[i19].astype(float)) < 0  # (towns, draws)
    s, lo, hi = _share(losing[known], draws[known], qs)
    return int(known.sum()), int(losing[known].sum()), s, lo, hi


def sensitivity(atlas: Atlas, *, pairings: Iterable[str] = ("nearest", "ttwa"), n_draws: int = DEFAULT_DRAWS,
                seed: int = DEFAULT_SEED, london: bool = True, min_domains: int = MIN_DOMAINS,
                progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """The share of towns falling behind under every test (level and trend) and pairing rule.

    One bootstrap per pairing rule serves every test (the same draws, so the
    tests differ only in their rule).
    """
    from townhall.places.gaps import gaps_for_pairs
    from townhall.places.pairing import Pairing, check_rule

    p = Pairing(atlas, london=london)
    need = [*HEADLINE, *(i for ids in TREND.values() for i in ids)]
    runs = {}
    for rule in pairings:
        check_rule(rule)
        g = gaps_for_pairs(atlas, p.pairs(rule), n_draws=n_draws, seed=seed, indicators=need, progress=progress)
        runs[rule] = (g, p.table)
    return Sensitivity(runs, min_domains=min_domains)
