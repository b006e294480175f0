"""Gaps: how far each town is ahead of or behind its city, with bootstrap intervals.

For a town, its paired city and each indicator held for small areas (LSOAs):

- *town value* and *city value* are population-weighted means over the
  place's LSOAs (the atlas's roll-up);
- the *gap* is town minus city, multiplied by the indicator's polarity, so a
  positive gap always means the town does better;
- the *95% interval* is a percentile bootstrap: each of ``n_draws`` draws
  resamples the town's LSOAs with replacement (as many as it has) and,
  independently, the city's, recomputes both weighted means and the gap. The
  city is drawn once per draw and shared by every town paired with it, so the
  draws of all towns together form one joint bootstrap (used for the headline
  share's interval in :mod:`townhall.places.summary`);
- the verdict: *falling behind* when the whole interval is below zero,
  *ahead* when it is all above, otherwise *no clear gap*.

Change over time uses a scale that is comparable between the IoD 2019
(LSOA 2011) and IoD 2025 (LSOA 2021): each LSOA's national percentile of its
rank, ``100 * rank / number of LSOAs`` (0 = most deprived, 100 = least), for
the composite and every domain (ids ``imd19_<domain>_natpct`` and
``imd25_<domain>_natpct``). The gap in each year is town minus city on that
scale; the change is 2025 minus 2019 (positive = the town gained ground), with
an interval from the two years' independent draws; the gap *widened* when its
size grew, *narrowed* when it shrank and *reversed* when the sign changed.

Draws are seeded per place (``seed`` with a hash of the level and place
code), so a town's interval is the same whether it is computed alone or with
every other town, and the same on every machine.

The arithmetic is vectorised numpy: one matrix product per place turns the
resample counts (draws x LSOAs) and the LSOA values (LSOAs x indicators) into
all the draws of all indicators at once.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from townhall.errors import TownhallError
from townhall.levels import LSOA_LEVELS, SMALL_AREA_2011, SMALL_AREA_2021, TOWN
from townhall.places.links import links_sql

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas
    from townhall.places.pairing import Pairing

DEFAULT_SEED = 20250923
DEFAULT_DRAWS = 1000
#: Upper limits of a bootstrap (a request over them is refused with a message): draws per
#: place (a resample matrix is draws x small areas: London's 4,994 at 5,000 draws is 200 MB),
#: and the gap draws kept across towns for the headline and trend (indicators x towns x draws,
#: float32: 60 M cells = 240 MB, which allows about 2,300 draws for all 1,082 English towns).
MAX_DRAWS = 5_000
MAX_KEPT_CELLS = 60_000_000
DOMAINS = ("imd", "income", "employment", "education", "health", "crime", "barriers", "environment")
#: The seven IoD domains (the composite IMD is ``imd``).
SEVEN = DOMAINS[1:]
#: Indicators whose draws the headline needs: the 2025 composite and its seven domains.
HEADLINE = ("imd25_imd_score", *(f"imd25_{d}_score" for d in SEVEN))
TREND = {d: (f"imd19_{d}_natpct", f"imd25_{d}_natpct") for d in DOMAINS}
DOMAIN_NAMES = {
    "imd": "Index of Multiple Deprivation", "income": "Income", "employment": "Employment",
    "education": "Education, skills and training", "health": "Health and disability", "crime": "Crime",
    "barriers": "Barriers to housing and services", "environment": "Living environment",
}
VERDICTS = ("falling behind", "no clear gap", "ahead")
SMALL = {SMALL_AREA_2021: "2025", SMALL_AREA_2011: "2019"}


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to one thread while bootstrapping.

    The products here are many small ones (1,000 draws x tens of LSOAs); a
    multi-threaded OpenBLAS spends far longer waking threads than multiplying
    (measured 30 times slower on the 2-core build machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the result is the same, only slower
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def natpct_id(year: str, domain: str) -> str:
    """Id of the national percentile of an IoD rank, e.g. ``imd25_income_natpct``."""
    return f"imd{year[-2:]}_{domain}_natpct"


# -- data -------------------------------------------------------------------------------------
@dataclass
class SmallAreas:
    """Small-area values of many indicators, and which small areas make up which place.

    Attributes
    ----------
    level : str
        'lsoa21' or 'lsoa11' (or anything, for synthetic data).
    indicators : list of str
    polarity : ndarray (K,)
        +1 where higher is better, -1 where lower is better.
    values : ndarray (n, K)
        NaN where an area has no value.
    weights : ndarray (n,)
        Population of each area.
    groups : dict
        Place code -> (row indices, link weights): the areas of the place and
        the share of each area's population in it.
    periods : dict
        Indicator -> period of the values.
    """

    level: str
    indicators: list[str]
    polarity: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    periods: dict[str, str] = field(default_factory=dict)
    _stacked: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=float)
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        self.weights = np.asarray(self.weights, dtype=float)
        self.polarity = np.asarray(self.polarity, dtype=float)
        n, k = self.values.shape
        if len(self.weights) != n or len(self.polarity) != k or len(self.indicators) != k:
            raise ValueError("SmallAreas: values, weights, polarity and indicators disagree in shape")

    def stacked(self) -> np.ndarray:
        """Values with NaN as 0 beside the 0/1 mask of present values, (n, 2K), computed once."""
        if self._stacked is None:
            mask = ~np.isnan(self.values)
            self._stacked = np.hstack([np.where(mask, self.values, 0.0), mask.astype(float)])
        return self._stacked

    def draws(self, code: str, n_draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Point estimate (K,) and bootstrap draws (n_draws, K) of a place's weighted means."""
        rows, link = self.groups.get(code, (np.empty(0, int), np.empty(0)))
        w = self.weights[rows] * link
        xm = self.stacked()[rows]
        k = len(self.indicators)
        cw = resample_counts(len(rows), n_draws, rng) * w
        with np.errstate(invalid="ignore", divide="ignore"):
            point = (w @ xm[:, :k]) / (w @ xm[:, k:])
            both = cw @ xm  # one product gives numerators and denominators
            return point, both[:, :k] / both[:, k:]

    def place(self, code: str) -> tuple[np.ndarray, np.ndarray]:
        """Values (m, K) and weights (m,) of a place's areas (empty if it has none)."""
        rows, link = self.groups.get(code, (np.empty(0, int), np.empty(0)))
        return self.values[rows], self.weights[rows] * link

    def n(self, code: str) -> int:
        """Number of small areas in a place."""
        return len(self.groups.get(code, ((),))[0])

    def select(self, indicators: Iterable[str]) -> SmallAreas:
        """The same areas with only some indicators (unknown ids ignored)."""
        pos = [self.indicators.index(i) for i in indicators if i in self.indicators]
        return SmallAreas(self.level, [self.indicators[p] for p in pos], self.polarity[pos], self.values[:, pos],
                          self.weights, self.groups, {self.indicators[p]: self.periods.get(self.indicators[p], "")
                                                       for p in pos})


def gap_indicators(atlas: Atlas, level: str) -> pd.DataFrame:
    """Indicators at a small-area level that have a direction and roll up as means.

    The English IoD 2025 and 2019, the Welsh IMD 2019 and the Community Needs
    Index, plus the national percentiles of the English IoD ranks
    (``imd19_*_natpct``, ``imd25_*_natpct``) derived here. Returns id, name,
    unit, polarity, topic.
    """
    reg = atlas.query(
        "SELECT id, name, unit, polarity, topic FROM indicator WHERE level = ? AND agg = 'mean' AND polarity <> 0 "
        "AND (id LIKE 'imd%' OR id LIKE 'cni%' OR id LIKE 'wimd%') ORDER BY id", [level])
    year = SMALL.get(level)
    extra = []
    if year:
        ranks = set(atlas.query("SELECT id FROM indicator WHERE level = ? AND id LIKE 'imd__\\_%\\_rank' ESCAPE '\\'",
                                [level])["id"])
        for d in DOMAINS:
            if f"imd{year[-2:]}_{d}_rank" in ranks:
                extra.append({"id": natpct_id(year, d), "unit": "national percentile (0 = most deprived)",
                              "name": f"{DOMAIN_NAMES[d]}: national percentile of rank (IoD{year})",
                              "polarity": 1, "topic": "deprivation"})
    return pd.concat([reg, pd.DataFrame(extra, columns=reg.columns)], ignore_index=True)


def load_small_areas(atlas: Atlas, level: str, places: Mapping[str, Iterable[str] | None],
                     indicators: Iterable[str] | None = None) -> SmallAreas:
    """Read small-area values and place memberships from the atlas.

    Parameters
    ----------
    atlas : Atlas
    level : {'lsoa21', 'lsoa11'}
    places : mapping
        Parent level -> the codes wanted (None for all), e.g.
        ``{"town": towns, "rgn": ["E12000007"]}``.
    indicators : iterable of str, optional
        Default: every indicator of :func:`gap_indicators`.

    Returns
    -------
    SmallAreas
    """
    reg = gap_indicators(atlas, level)
    if indicators is not None:
        known = set(reg["id"])
        wanted = [i for i in dict.fromkeys(indicators) if i in known]
        reg = reg.set_index("id").loc[wanted].reset_index()
    ids = reg["id"].tolist()
    ranks = {i: i.replace("_natpct", "_rank") for i in ids if i.endswith("_natpct")}
    fetch = [i for i in ids if i not in ranks] + sorted(set(ranks.values()))
    numbered = "SELECT code, population, row_number() OVER (ORDER BY code) - 1 AS rn FROM area WHERE level = ?"
    pop = atlas.query(f"SELECT population FROM ({numbered}) ORDER BY rn", [level])["population"].to_numpy(float)
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for parent_level, wanted in places.items():
        sql, params = links_sql(level, parent_level)
        where, extra = ("", []) if wanted is None else (" WHERE list_contains(?, l.parent)", [sorted(set(wanted))])
        lk = atlas.query(
            f"WITH a AS ({numbered}), l AS ({sql}) SELECT l.parent, a.rn, l.weight FROM l "
            f"JOIN a ON a.code = l.child{where} ORDER BY l.parent, a.rn", [level, *params, *extra])
        parents = lk["parent"].to_numpy(object)
        rows, weights = lk["rn"].to_numpy(int), lk["weight"].to_numpy(float)
        if len(parents) == 0:
            continue
        cuts = np.flatnonzero(parents[1:] != parents[:-1]) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(parents)], strict=True):
            groups[parents[a]] = (rows[a:b], weights[a:b])
    per = atlas.query(
        "SELECT indicator, max(period) AS period FROM observation WHERE level = ? AND list_contains(?, indicator) "
        "GROUP BY indicator", [level, fetch])
    per = dict(zip(per["indicator"], per["period"], strict=True))
    needed = np.unique(np.concatenate([r for r, _ in groups.values()])) if groups else np.empty(0, int)
    # A few places: read only their small areas. Positions rather than codes come back, so no
    # string matching happens in pandas.
    only = " AND list_contains(?, a.rn)" if len(needed) < len(pop) // 4 else ""
    obs = atlas.query(
        f"WITH a AS ({numbered}), p AS (SELECT unnest(?) AS indicator, unnest(?) AS period) "
        "SELECT list_position(?, o.indicator)::INTEGER - 1 AS k, a.rn, o.value FROM observation o "
        f"JOIN p USING (indicator, period) JOIN a ON a.code = o.area WHERE o.level = ?{only}",
        [level, list(per), list(per.values()), fetch, level, *([needed.tolist()] if only else [])])
    raw = np.full((len(pop), len(fetch)), np.nan)
    raw[obs["rn"].to_numpy(int), obs["k"].to_numpy(int)] = obs["value"].to_numpy(float)
    n_ranked = {}
    if ranks:
        cnt = atlas.query(
            "SELECT indicator, count(value) AS n FROM observation WHERE level = ? AND list_contains(?, indicator) "
            "AND list_contains(?, indicator || '@' || period) GROUP BY indicator",
            [level, sorted(set(ranks.values())), [f"{k}@{v}" for k, v in per.items()]])
        n_ranked = dict(zip(cnt["indicator"], cnt["n"], strict=True))
    values = np.full((len(pop), len(ids)), np.nan)
    periods: dict[str, str] = {}
    for j, i in enumerate(ids):
        src = fetch.index(ranks.get(i, i))
        col = raw[:, src]
        if i in ranks:
            # National percentile: share of ranked LSOAs at least as deprived (0 = most deprived).
            col = 100.0 * col / max(int(n_ranked.get(ranks[i], 0)), 1)
        values[:, j] = col
        periods[i] = str(per.get(fetch[src], ""))
    return SmallAreas(level, ids, reg["polarity"].to_numpy(float), values, np.nan_to_num(pop), groups, periods)


# -- the bootstrap ----------------------------------------------------------------------------
def place_rng(seed: int, level: str, code: str) -> np.random.Generator:
    """The random stream of one place: depends only on the seed, the level and the code."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{level}|{code}".encode())])


def check_draws(n_draws: int) -> None:
    """Refuse a bootstrap of fewer than 10 or more than :data:`MAX_DRAWS` draws."""
    if n_draws < 10:
        raise TownhallError(f"At least 10 bootstrap draws are needed, not {n_draws}.")
    if n_draws > MAX_DRAWS:
        raise TownhallError(f"{n_draws:,} bootstrap draws is over the limit of {MAX_DRAWS:,} "
                            f"(the default {DEFAULT_DRAWS:,} gives stable 95% intervals).")


def resample_counts(n: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n`` areas is picked in each of ``n_draws`` resamples of size ``n``.

    Returns
    -------
    ndarray (n_draws, n) of float
        Each row sums to ``n``.
    """
    check_draws(n_draws)
    if n == 0:
        return np.zeros((n_draws, 0))
    idx = rng.integers(0, n, size=(n_draws, n)) + n * np.arange(n_draws)[:, None]
    return np.bincount(idx.ravel(), minlength=n * n_draws).reshape(n_draws, n).astype(float)


def weighted_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of each column, skipping missing values (NaN if none)."""
    values = np.atleast_2d(np.asarray(values, float).T).T
    mask = ~np.isnan(values)
    w = np.asarray(weights, float)[:, None] * mask
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mask, values, 0.0).T @ np.asarray(weights, float) / w.sum(axis=0)


def bootstrap_means(values: np.ndarray, weights: np.ndarray, n_draws: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Bootstrap draws of the weighted mean of each column.

    Parameters
    ----------
    values : ndarray (n, K)
        NaN where missing.
    weights : ndarray (n,)
    n_draws : int
    rng : numpy Generator

    Returns
    -------
    ndarray (n_draws, K)
        NaN for a draw in which every picked area lacks the value.
    """
    values = np.atleast_2d(np.asarray(values, float).T).T
    n = len(values)
    cw = resample_counts(n, n_draws, rng) * np.asarray(weights, float)
    mask = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        if mask.all():
            return (cw @ values) / cw.sum(axis=1, keepdims=True)
        return (cw @ np.where(mask, values, 0.0)) / (cw @ mask.astype(float))


def quantiles(draws: np.ndarray, qs: Sequence[float], axis: int = 0) -> np.ndarray:
    """Quantiles along ``axis`` ignoring NaN (linear interpolation, as :func:`numpy.quantile`).

    Columns with every draw present (nearly all) go through one
    :func:`numpy.partition`; the few with missing draws are sorted; a column
    with no draws gives NaN.

    Returns
    -------
    ndarray
        Shape ``(len(qs),) + draws.shape`` without ``axis``.
    """
    d = np.moveaxis(np.asarray(draws), axis, 0)
    shape, b = d.shape[1:], d.shape[0]
    d = d.reshape(b, -1)
    n = np.count_nonzero(~np.isnan(d), axis=0)
    out = np.full((len(qs), d.shape[1]), np.nan)
    full = n == b
    if b and full.any():
        pos = [(b - 1) * q for q in qs]
        kth = sorted({int(np.floor(h)) for h in pos} | {min(int(np.floor(h)) + 1, b - 1) for h in pos})
        part = np.partition(d[:, full], kth, axis=0)
        for j, h in enumerate(pos):
            lo = int(np.floor(h))
            hi = min(lo + 1, b - 1)
            out[j, full] = part[lo] + (h - lo) * (part[hi] - part[lo])
    some = (n > 0) & ~full
    if some.any():
        s = np.sort(d[:, some], axis=0)  # NaN sort last
        m = n[some]
        cols = np.arange(s.shape[1])
        for j, q in enumerate(qs):
            h = (m - 1) * q
            lo = np.floor(h).astype(int)
            hi = np.minimum(lo + 1, m - 1)
            out[j, some] = s[lo, cols] + (h - lo) * (s[hi, cols] - s[lo, cols])
    return out.reshape((len(qs), *shape))


def verdict(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """'falling behind' (interval below 0), 'ahead' (above 0), else 'no clear gap'; None if unknown."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    out = np.where(upper < 0, VERDICTS[0], np.where(lower > 0, VERDICTS[2], VERDICTS[1])).astype(object)
    out[np.isnan(lower) | np.isnan(upper)] = None
    return out


class Gaps:
    """Gaps between pairs of places (town, city) on every indicator, with bootstrap intervals.

    Parameters
    ----------
    data : sequence of SmallAreas
        One per small-area level (LSOA 2021 for 2025 values, LSOA 2011 for 2019).
    pairs : DataFrame
        Columns ``town`` and ``city`` (codes present in each ``data``'s groups).
    n_draws : int, default 1000
    seed : int
    confidence : float, default 0.95
    keep : iterable of str
        Indicators whose gap draws are kept in :attr:`draws` (the headline ones
        by default; the percentile ones for the trend are always kept).
    progress : callable, optional
        ``progress(done, total)`` after each batch of towns (total = towns x levels).

    Attributes
    ----------
    table : DataFrame
        One row per town and indicator: town, city, indicator, level, period,
        polarity, town_value, city_value, gap, lower, upper, verdict, n_town,
        n_city.
    trend : DataFrame
        One row per town and IoD domain with both years: town, city, domain,
        gap_2019, gap_2025, change, lower, upper, trend ('widened', 'narrowed',
        'reversed'), clear (the change's interval excludes 0).
    draws : dict
        Indicator -> ndarray (n_towns, n_draws) of gap draws (float32), rows in
        the order of :attr:`towns`.
    towns : list of str
    """

    def __init__(self, data: Sequence[SmallAreas], pairs: pd.DataFrame, *, n_draws: int = DEFAULT_DRAWS,
                 seed: int = DEFAULT_SEED, confidence: float = 0.95, keep: Iterable[str] = HEADLINE,
                 progress: Callable[[int, int], None] | None = None) -> None:
        check_draws(n_draws)
        if not 0 < confidence < 1:
            raise TownhallError(f"The confidence level must be between 0 and 1, not {confidence}.")
        self.n_draws, self.seed, self.confidence = int(n_draws), int(seed), float(confidence)
        self.pairs = pairs[["town", "city"]].reset_index(drop=True)
        self.towns = self.pairs["town"].tolist()
        trend_ids = {i for ids in TREND.values() for i in ids}
        keep = set(keep) | trend_ids
        cells = len(keep) * len(self.towns) * self.n_draws
        if cells > MAX_KEPT_CELLS:
            most = MAX_KEPT_CELLS // max(len(keep) * len(self.towns), 1)
            raise TownhallError(f"{self.n_draws:,} draws for {len(self.towns):,} towns would keep {cells / 1e6:,.0f} M "
                                f"gap draws, over the limit of {MAX_KEPT_CELLS / 1e6:,.0f} M: use at most {most:,} draws.")
        self.draws: dict[str, np.ndarray] = {}
        frames = []
        alpha = (1 - self.confidence) / 2
        total = len(self.towns) * len(data)
        with one_blas_thread():
            for j, sa in enumerate(data):
                step = None
                if progress is not None:
                    def step(done: int, off: int = j * len(self.towns)) -> None:
                        progress(off + done, total)
                frames.append(self._run(sa, keep, (alpha, 1 - alpha), step))
        self.table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.trend = self._trend((alpha, 1 - alpha))

    def _run(self, sa: SmallAreas, keep: set[str], qs: tuple[float, float],
             progress: Callable[[int], None] | None) -> pd.DataFrame:
        n_t, k, b = len(self.towns), len(sa.indicators), self.n_draws
        pol = sa.polarity
        city_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        tv, cv = np.full((n_t, k), np.nan), np.full((n_t, k), np.nan)
        lo, hi = np.full((n_t, k), np.nan), np.full((n_t, k), np.nan)
        kept = [j for j, i in enumerate(sa.indicators) if i in keep]
        kdraws = np.full((len(kept), n_t, b), np.nan, dtype=np.float32)
        n_town, n_city = np.zeros(n_t, int), np.zeros(n_t, int)
        batch = 64
        buf = np.empty((batch, b, k), dtype=np.float32)
        for start in range(0, n_t, batch):
            stop = min(start + batch, n_t)
            for i in range(start, stop):
                town, city = self.pairs.at[i, "town"], self.pairs.at[i, "city"]
                if city not in city_cache:
                    city_cache[city] = sa.draws(city, b, place_rng(self.seed, sa.level, city))
                cpt, cdr = city_cache[city]
                tpt, tdr = sa.draws(town, b, place_rng(self.seed, sa.level, town))
                n_town[i], n_city[i] = sa.n(town), sa.n(city)
                tv[i], cv[i] = tpt, cpt
                buf[i - start] = pol * (tdr - cdr)
            chunk = buf[: stop - start]
            q = quantiles(chunk, qs, axis=1)  # (2, chunk, K)
            lo[start:stop], hi[start:stop] = q[0], q[1]
            if kept:
                kdraws[:, start:stop] = np.moveaxis(chunk[:, :, kept], 2, 0)
            if progress:
                progress(stop)
        for j, col in enumerate(kept):
            self.draws[sa.indicators[col]] = kdraws[j]
        gap = pol * (tv - cv)
        return pd.DataFrame({
            "town": np.repeat(self.towns, k), "city": np.repeat(self.pairs["city"].to_numpy(), k),
            "indicator": np.tile(sa.indicators, n_t), "level": sa.level,
            "period": np.tile([sa.periods.get(i, "") for i in sa.indicators], n_t),
            "polarity": np.tile(pol, n_t).astype(int),
            "town_value": tv.ravel(), "city_value": cv.ravel(), "gap": gap.ravel(),
            "lower": lo.ravel(), "upper": hi.ravel(), "verdict": verdict(lo.ravel(), hi.ravel()),
            "n_town": np.repeat(n_town, k), "n_city": np.repeat(n_city, k),
        })

    def _trend(self, qs: tuple[float, float]) -> pd.DataFrame:
        cols = ["town", "city", "domain", "gap_2019", "gap_2025", "change", "lower", "upper", "trend", "clear"]
        rows = []
        if self.table.empty:
            return pd.DataFrame(columns=cols)
        point = self.table.set_index(["indicator", "town"])["gap"]
        for d, (i19, i25) in TREND.items():
            if i19 not in self.draws or i25 not in self.draws:
                continue
            g19 = point.loc[i19].reindex(self.towns).to_numpy()
            g25 = point.loc[i25].reindex(self.towns).to_numpy()
            change = self.draws[i25].astype(float) - self.draws[i19].astype(float)
            q = quantiles(change, qs, axis=1)
            rows.append(pd.DataFrame({"town": self.towns, "city": self.pairs["city"].to_numpy(), "domain": d,
                                      "gap_2019": g19, "gap_2025": g25, "change": g25 - g19,
                                      "lower": q[0], "upper": q[1]}))
        if not rows:
            return pd.DataFrame(columns=cols)
        out = pd.concat(rows, ignore_index=True)
        out["trend"] = trend_label(out["gap_2019"].to_numpy(), out["gap_2025"].to_numpy())
        out["clear"] = (out["lower"] > 0) | (out["upper"] < 0)
        return out[cols]

    def for_town(self, town: str) -> pd.DataFrame:
        """The gap rows of one town."""
        return self.table[self.table["town"] == town].reset_index(drop=True)


def trend_label(gap_2019: np.ndarray, gap_2025: np.ndarray) -> np.ndarray:
    """'reversed' when the sign changed, else 'widened' or 'narrowed' by the gap's size."""
    g19, g25 = np.asarray(gap_2019, float), np.asarray(gap_2025, float)
    out = np.where(np.sign(g19) * np.sign(g25) < 0, "reversed",
                   np.where(np.abs(g25) > np.abs(g19), "widened", "narrowed")).astype(object)
    out[np.isnan(g19) | np.isnan(g25)] = None
    return out


def town_gaps(atlas: Atlas, *, rule: str = "nearest", n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
              indicators: Iterable[str] | None = None, towns: Iterable[str] | None = None, london: bool = True,
              keep: Iterable[str] = HEADLINE, progress: Callable[[int, int], None] | None = None) -> Gaps:
    """Gaps of every English town (or some) from its paired city, both IoD years.

    Parameters
    ----------
    atlas : Atlas
    rule : {'nearest', 'ttwa'}
        How towns are paired with cities (see :mod:`townhall.places.pairing`).
    n_draws, seed
        Bootstrap draws and seed.
    indicators : iterable of str, optional
        Default: every small-area indicator with a direction (about 60, see
        :func:`gap_indicators`) plus the rank percentiles.
    towns : iterable of str, optional
        Town codes; default every paired town.
    london : bool, default True
        Count London as a city.
    progress : callable, optional
        ``progress(done, total)`` after each batch of towns.

    Returns
    -------
    Gaps
    """
    from townhall.places.pairing import Pairing

    pairs = Pairing(atlas, london=london).pairs(rule)
    if towns is not None:
        wanted = list(towns)
        pairs = pairs[pairs["town"].isin(set(wanted))]
    return gaps_for_pairs(atlas, pairs, n_draws=n_draws, seed=seed, indicators=indicators, keep=keep,
                          progress=progress)


def gaps_for_pairs(atlas: Atlas, pairs: pd.DataFrame, *, n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
                   indicators: Iterable[str] | None = None, keep: Iterable[str] = HEADLINE,
                   levels: Mapping[str, str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Gaps:
    """Gaps for given pairs of places (``town``, ``city`` codes) of the atlas.

    ``levels`` maps each code to its level (default: town, and rgn for London).
    """
    from townhall.places.pairing import LONDON

    codes = set(pairs["town"]) | set(pairs["city"])
    levels = dict(levels or {})
    by_level: dict[str, set[str]] = {}
    for c in codes:
        by_level.setdefault(levels.get(c, "rgn" if c == LONDON else "town"), set()).add(c)
    if indicators is None:  # English towns and cities: the Welsh index would be all missing
        ind = [i for lv in LSOA_LEVELS for i in gap_indicators(atlas, lv)["id"] if not i.startswith("wimd")]
    else:
        ind = list(indicators)
    data = []
    for small in LSOA_LEVELS:
        sa = load_small_areas(atlas, small, by_level, ind)
        if sa.indicators:
            data.append(sa)
    return Gaps(data, pairs, n_draws=n_draws, seed=seed, keep=keep, progress=progress)


@dataclass
class TownGaps:
    """One town's city, its gaps from it on every small-area indicator, and the 2019 -> 2025 trend.

    Attributes
    ----------
    town : dict
        code, name, population, population_year.
    rule : str
        The pairing rule.
    city : dict or None
        The paired city under ``rule`` (None: no city by this rule).
    pairings : dict
        The city under each rule, with distances.
    classes : dict
        The town's typology (size, region, coastal, job density, income deprivation).
    table : DataFrame
        indicator, level, name, period, polarity, town_value, city_value, gap, lower, upper,
        verdict, n_town, n_city (positive gap = the town does better).
    trend : DataFrame
        Gap in 2019 and 2025 on national percentiles of IoD ranks, per domain.
    n_draws, seed : int
        Bootstrap draws and seed.
    """

    town: dict[str, object]
    rule: str
    city: dict[str, object] | None
    pairings: dict[str, dict[str, object] | None]
    classes: dict[str, object]
    table: pd.DataFrame
    trend: pd.DataFrame
    n_draws: int
    seed: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: every attribute, tables as lists of records."""
        from townhall.atlas.store import plain, records

        return {"town": self.town, "rule": self.rule, "city": self.city, "pairings": self.pairings,
                "classes": {k: plain(v) for k, v in self.classes.items()},
                "n_draws": self.n_draws, "seed": self.seed,
                "gaps": records(self.table), "trend": records(self.trend)}


def one_town_gaps(atlas: Atlas, code: str, *, rule: str = "nearest", pairing: Pairing | None = None,
                  n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> TownGaps:
    """A town's pairing, gaps on every indicator and trend (as on its web page).

    Parameters
    ----------
    atlas : Atlas
    code : str
        A town (name or code).
    rule : {'nearest', 'ttwa'}
    pairing : Pairing, optional
        A pairing already made (reused across calls; default: made here).
    n_draws, seed
        Bootstrap draws and seed.

    Returns
    -------
    TownGaps
    """
    from townhall.places.pairing import Pairing, check_rule

    check_rule(rule)
    p = pairing if pairing is not None else Pairing(atlas)
    town = atlas.resolve(code, TOWN)
    row = p.table[p.table["town"] == town.code]
    if row.empty:
        raise TownhallError(f"{town.name} ({town.code}) is not one of the English towns paired with a city.",
                            hint="Cities and Welsh towns have no paired city.")
    r = row.iloc[0]
    city = p.city_of(town.code, rule)
    cols = ["indicator", "level", "name", "period", "polarity", "town_value", "city_value", "gap", "lower",
            "upper", "verdict", "n_town", "n_city"]
    table, trend = pd.DataFrame(columns=cols), pd.DataFrame()
    if city is not None:
        g = gaps_for_pairs(atlas, pd.DataFrame({"town": [town.code], "city": [city["code"]]}),
                           n_draws=n_draws, seed=seed)
        names = dict(atlas.query("SELECT id, name FROM indicator").to_numpy().tolist())
        derived = pd.concat([gap_indicators(atlas, lv) for lv in LSOA_LEVELS], ignore_index=True)
        names.update(dict(zip(derived["id"], derived["name"], strict=True)))
        t = g.table.copy()
        t.insert(3, "name", t["indicator"].map(names))
        table = t.drop(columns=["town", "city"]).reset_index(drop=True)
        trend = g.trend.drop(columns=["town", "city"]).reset_index(drop=True)
    return TownGaps(
        town={"code": town.code, "name": town.name, "population": town.population,
              "population_year": town.population_year},
        rule=rule, city=city, pairings=p.pairings_of(town.code) or {},
        classes={k: r[k] for k in ("size", "region", "coastal", "job_density", "income_deprivation")},
        table=table, trend=trend, n_draws=n_draws, seed=seed,
    )


@dataclass
class CityTowns:
    """The towns paired with one city, each with its gap from it on the composite IMD.

    Attributes
    ----------
    city : dict
        code, name.
    rule : str
        The pairing rule.
    table : DataFrame
        town, town_name, size, region, km, imd25_gap, lower, upper, verdict (nearest first;
        positive gap = the town less deprived).
    n_draws, seed : int
    """

    city: dict[str, object]
    rule: str
    table: pd.DataFrame
    n_draws: int
    seed: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: every attribute, the table as records."""
        from townhall.atlas.store import records

        return {"city": self.city, "rule": self.rule, "n_draws": self.n_draws, "seed": self.seed,
                "towns": records(self.table)}


def city_towns(atlas: Atlas, city: str, *, rule: str = "nearest", london: bool = True,
               n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
               progress: Callable[[int, int], None] | None = None) -> CityTowns:
    """The towns paired with a city (name or code) and their IMD 2025 gap from it.

    Parameters
    ----------
    atlas : Atlas
    city : str
        One of the cities towns are paired with (e.g. 'Manchester', 'London').
    rule : {'nearest', 'ttwa'}
    london : bool, default True
        Count London as a city.
    n_draws, seed
        Bootstrap draws and seed.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    CityTowns
    """
    from townhall.places.pairing import Pairing

    p = Pairing(atlas, london=london)
    c = p.find_city(city)
    df = p.towns_of(str(c["code"]), rule)
    cols = ["imd25_gap", "lower", "upper", "verdict"]
    if df.empty:
        return CityTowns({"code": c["code"], "name": c["name"]}, rule, df.assign(**{k: [] for k in cols}),
                         n_draws, seed)
    g = gaps_for_pairs(atlas, p.pairs(rule)[lambda t: t["town"].isin(df["town"])], n_draws=n_draws, seed=seed,
                       indicators=[HEADLINE[0]], progress=progress)
    gap = g.table.set_index("town")
    df["imd25_gap"] = df["town"].map(gap["gap"])
    df["lower"], df["upper"] = df["town"].map(gap["lower"]), df["town"].map(gap["upper"])
    df["verdict"] = df["town"].map(gap["verdict"])
    return CityTowns({"code": c["code"], "name": c["name"]}, rule, df.reset_index(drop=True), n_draws, seed)
