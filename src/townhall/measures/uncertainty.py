"""How much a composite index's ranking depends on the choices behind it.

Uncertainty analysis as in the OECD/JRC Handbook (step 7): draw many indices,
each with its own choice of normalisation, weighting scheme, aggregation and
missing-value policy, and with every weight perturbed; rank the places in each
draw. Each place gets its median rank and a 90% rank interval (the 5th and 95th
percentiles of its ranks).

Sensitivity is variance-based: for each choice, the share of the variance of the
ranks (summed over places) explained by that choice alone, i.e. the first-order
Sobol index estimated by grouping draws on the choice's value. Continuous
weight multipliers are grouped into ten equal-count bins. Each share is
bias-corrected as epsilon-squared, ``(SS_between - (L - 1) MS_within) / SS_total``,
so a choice that does nothing scores about zero rather than ``(L - 1) / draws``.
What the first-order shares leave over is due to interactions between choices.

The work is vectorised: the normalised matrices are computed once per
(missing, normalisation) pair, each group of draws sharing them is one matrix
product, and ranks are found by one ``argsort`` per block of draws (run on two
threads; numpy releases the GIL while sorting).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import product

import numpy as np
import pandas as pd

from townhall.errors import InputError
from townhall.measures.composite import (
    AGGREGATIONS,
    MISSING,
    NORMALISATIONS,
    WEIGHTINGS,
    CompositeIndex,
    Rollup,
    rank_desc,
    to_positive,
)

#: The 90% interval.
LOWER_Q, UPPER_Q = 0.05, 0.95
#: Bins for continuous factors (the weight multipliers) in the sensitivity analysis.
WEIGHT_BINS = 10
#: Upper limits of one Monte Carlo (a request over them is refused with a message, not run):
#: at most this many draws, and at most this many draws x places, since the score matrix is
#: held whole (60 M cells = 480 MB of float64 plus 240 MB of int32 ranks). At the 33,755
#: small areas of England that allows 1,777 draws; at councils, the full 10,000.
MAX_DRAWS = 10_000
MAX_SCORE_CELLS = 60_000_000


def check_draws(draws: int, places: int) -> None:
    """Refuse a Monte Carlo over :data:`MAX_DRAWS` draws or :data:`MAX_SCORE_CELLS` draws x places."""
    if draws > MAX_DRAWS:
        raise InputError(f"{draws:,} Monte Carlo draws is over the limit of {MAX_DRAWS:,}; "
                         "1,000 are enough for published intervals.")
    if draws * places > MAX_SCORE_CELLS:
        most = MAX_SCORE_CELLS // max(places, 1)
        raise InputError(f"{draws:,} Monte Carlo draws of {places:,} places would hold {draws * places / 1e6:,.0f} M "
                         f"scores, over the limit of {MAX_SCORE_CELLS / 1e6:,.0f} M (about "
                         f"{MAX_SCORE_CELLS * 12 / 1e9:.1f} GB): use at most {most:,} draws here, "
                         "or rank a higher level.")


class RankUncertainty:
    """Monte Carlo over the choices of a composite index.

    Parameters
    ----------
    index : CompositeIndex
        The nominal index (its data, indicators and choices).
    draws : int
        Number of indices drawn (at least 1,000 for published intervals).
    normalisations, weightings, aggregations, missing : sequence of str, optional
        The choices to draw from, uniformly and independently. Default: the
        index's own choice only for ``missing``; all four normalisations; the
        index's weighting plus ``equal``; both aggregations.
    weight_noise : float
        Each weight is multiplied by a factor drawn uniformly from
        [1 - weight_noise, 1 + weight_noise] before rescaling to sum to one.
    seed : int, optional
        Seed of the random generator (results are reproducible with it).
    rollup : Rollup, optional
        Rank parents instead: each draw's small-area scores are rolled up first.
    progress : callable, optional
        Called with the number of draws done so far (for progress bars).

    Attributes
    ----------
    codes : ndarray
        Places ranked (small areas, or parents with ``rollup``).
    choices : DataFrame
        One row per draw: normalisation, weighting, aggregation, missing and the
        weight multiplier of each indicator.
    point_rank : ndarray
        Rank under the nominal index.
    median_rank, lower, upper : ndarray
        Median and 5th / 95th percentiles of each place's ranks over draws.
    sensitivity : DataFrame
        ``choice`` and ``share`` of rank variance (first order), plus ``interactions``.
    ranks : ndarray
        The (places x draws) rank matrix (int32), if ``keep_ranks``.
    """

    def __init__(
        self,
        index: CompositeIndex,
        draws: int = 1000,
        *,
        normalisations: Sequence[str] | None = None,
        weightings: Sequence[str] | None = None,
        aggregations: Sequence[str] | None = None,
        missing: Sequence[str] | None = None,
        weight_noise: float = 0.25,
        seed: int | None = None,
        rollup: Rollup | None = None,
        block: int = 50,
        keep_ranks: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        if draws < 2:
            raise InputError("The Monte Carlo needs at least 2 draws (1,000 or more to publish).")
        check_draws(int(draws), len(index.data))
        if not 0 <= weight_noise < 1:
            raise InputError(f"weight_noise must be in [0, 1), not {weight_noise}.")
        self.index = index
        self.draws = int(draws)
        self.seed = seed
        self.weight_noise = float(weight_noise)
        self.normalisations = list(normalisations or NORMALISATIONS)
        self.weightings = list(weightings or dict.fromkeys([index.weighting, "equal"]))
        self.aggregations = list(aggregations or AGGREGATIONS)
        self.missing = list(missing or [index.missing])
        for vals, allowed, what in (
            (self.normalisations, NORMALISATIONS, "normalisation"),
            (self.weightings, WEIGHTINGS, "weighting"),
            (self.aggregations, AGGREGATIONS, "aggregation"),
            (self.missing, MISSING, "missing-value policy"),
        ):
            bad = [v for v in vals if v not in allowed]
            if bad:
                raise InputError(f"Unknown {what} {bad[0]!r} in the uncertainty analysis; "
                                 f"choose from {', '.join(allowed)}.")
        if "drop" in self.missing and self.missing != [index.missing]:
            raise InputError("'drop' changes which places are ranked, so it cannot be varied in the "
                             "Monte Carlo; vary mean, median and reweight instead.")
        rng = np.random.default_rng(seed)
        k = len(index.ids)

        # -- the design: one row per draw --------------------------------------------
        pick = lambda opts: np.asarray(opts, dtype=object)[rng.integers(0, len(opts), self.draws)]  # noqa: E731
        mult = rng.uniform(1 - weight_noise, 1 + weight_noise, size=(self.draws, k))
        self.choices = pd.DataFrame({
            "normalisation": pick(self.normalisations),
            "weighting": pick(self.weightings),
            "aggregation": pick(self.aggregations),
            "missing": pick(self.missing),
        })
        for j, ind in enumerate(index.ids):
            self.choices[f"w:{ind}"] = mult[:, j]
        base = {wt: index.weights_for(wt) for wt in self.weightings}
        weights = np.stack([base[wt] for wt in self.choices["weighting"]]) * mult
        weights /= weights.sum(axis=1, keepdims=True)

        # -- scores for every draw, one matrix product per shared configuration -------
        # Draws in rows, places in columns: each draw's scores are contiguous for sorting.
        n = len(index.data)
        scores = np.empty((self.draws, n))
        for miss, norm, agg in product(self.missing, self.normalisations, self.aggregations):
            sel = np.flatnonzero(
                (self.choices["missing"] == miss).to_numpy()
                & (self.choices["normalisation"] == norm).to_numpy()
                & (self.choices["aggregation"] == agg).to_numpy()
            )
            if sel.size == 0:
                continue
            v = index.matrix(norm, miss)
            terms = np.log(to_positive(v)) if agg == "geometric" else v
            avail = ~np.isnan(terms)
            w = weights[sel]  # (d, k)
            sc = w @ np.where(avail, terms, 0.0).T
            if not avail.all():  # reweight: rescale by the weight each place has data for
                with np.errstate(invalid="ignore", divide="ignore"):
                    sc /= w @ avail.T.astype(float)
            # exp keeps geometric scores on their own scale for roll-ups (ranks don't care)
            scores[sel] = np.exp(sc) if agg == "geometric" and rollup is not None else sc

        nominal = index.scores.to_numpy()
        if rollup is not None:
            m = rollup.matrix_for(index.data.index)
            keep = np.asarray(m.sum(axis=1)).ravel() > 0
            m = m[keep]
            self.codes = rollup.parents[keep]
            scores = np.ascontiguousarray(Rollup.apply(m, scores.T).T)
            nominal = Rollup.apply(m, nominal[:, None])[:, 0]
        else:
            self.codes = np.asarray(index.data.index, dtype=object)
        self.point_rank = rank_desc(nominal)
        box = [scores]
        del scores  # the ranking frees the score matrix as soon as it is ranked
        self._rank_and_summarise(box, block, keep_ranks, progress)

    # ---------------------------------------------------------------------------------
    def _factors(self) -> list[tuple[str, np.ndarray, int]]:
        """(name, level code per draw, number of levels) for each varied choice."""
        out = []
        for col in ("normalisation", "weighting", "aggregation", "missing"):
            codes, levels = pd.factorize(self.choices[col])
            if len(levels) > 1:
                out.append((col, codes, len(levels)))
        if self.weight_noise > 0:
            bins = min(WEIGHT_BINS, max(2, self.draws // 20))
            for col in self.choices.columns[self.choices.columns.str.startswith("w:")]:
                q = np.quantile(self.choices[col], np.linspace(0, 1, bins + 1)[1:-1])
                out.append((col, np.searchsorted(q, self.choices[col].to_numpy()), bins))
        return out

    def _rank_and_summarise(self, box, block, keep_ranks, progress) -> None:
        scores = box.pop()
        d, n = scores.shape
        ranks = np.empty((n, d), dtype=np.int32)
        ar = np.arange(1, n + 1, dtype=np.int32)
        # One-hot design of every varied choice, so each block of ranks adds its
        # per-level sums with one matrix product (no second copy of the ranks).
        factors = self._factors()
        sizes = [lv for _, _, lv in factors]
        design = np.zeros((d, sum(sizes)))
        off = 0
        for _, codes, lv in factors:
            design[np.arange(d), off + codes] = 1.0
            off += lv

        def do(lo: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
            hi = min(lo + block, d)
            s = -scores[lo:hi]
            s[np.isnan(s)] = np.inf  # places without a score rank last
            # Introsort, not a stable sort: twice as fast; exact ties (rare in real scores)
            # are broken arbitrarily but reproducibly.
            order = np.argsort(s, axis=1)
            r = np.empty(order.shape, dtype=np.int32)
            np.put_along_axis(r, order, ar[None, :], axis=1)
            ranks[:, lo:hi] = r.T
            rf = r.astype(np.float64)
            return hi - lo, rf.sum(axis=0), (rf * rf).sum(axis=0), (design[lo:hi].T @ rf).T

        done = 0
        tot = np.zeros(n)
        tot2 = np.zeros(n)
        level_sums = np.zeros((n, design.shape[1]))
        with ThreadPoolExecutor(max_workers=2) as pool:
            for k, s1, s2, sl in pool.map(do, range(0, d, block)):
                tot += s1
                tot2 += s2
                level_sums += sl
                done += k
                if progress:
                    progress(done)
        scores = None  # free the score matrix before sorting the ranks

        # -- sensitivity: between-level variance of ranks per choice ---------------------
        mean = tot / d
        ss_total = np.clip(tot2 - tot * mean, 0, None)
        total = ss_total.sum()
        cnt_all = design.sum(axis=0)
        rows = []
        off = 0
        for (name, _, lv) in factors:
            cnt = cnt_all[off:off + lv]
            used = cnt > 0
            means = level_sums[:, off:off + lv][:, used] / cnt[used]
            off += lv
            ss_b = (((means - mean[:, None]) ** 2) * cnt[used]).sum(axis=1)
            ss_w = ss_total - ss_b
            nl = int(used.sum())
            adj = ss_b - (nl - 1) * ss_w / max(d - nl, 1)
            share = float(max(adj.sum() / total, 0.0)) if total > 0 else 0.0
            rows.append((name, share))
        sens = pd.DataFrame(rows, columns=["choice", "share"])
        wrows = sens["choice"].str.startswith("w:")
        if wrows.any():
            sens = pd.concat([
                sens[~wrows],
                pd.DataFrame({"choice": ["weights (all perturbations)"],
                              "share": [sens.loc[wrows, "share"].sum()]}),
                sens[wrows],
            ], ignore_index=True)
        first = sens.loc[~sens["choice"].str.startswith("w:"), "share"].sum()
        sens = pd.concat([sens, pd.DataFrame({"choice": ["interactions"], "share": [max(0.0, 1 - first)]})],
                         ignore_index=True)
        self.sensitivity = sens

        # -- intervals: sort each place's ranks once ------------------------------------
        ranks.sort(axis=1)
        q = lambda p: ranks[:, min(d - 1, int(np.floor(p * (d - 1) + 0.5)))]  # noqa: E731
        self.lower = q(LOWER_Q).astype(float)
        self.upper = q(UPPER_Q).astype(float)
        mid = d // 2  # rows are sorted: the median is the middle (or mean of the two middle)
        self.median_rank = (ranks[:, mid].astype(float) if d % 2
                            else (ranks[:, mid - 1].astype(float) + ranks[:, mid]) / 2)
        self.rank_sd = np.sqrt(ss_total / max(d - 1, 1))
        self.ranks = ranks if keep_ranks else None

    # ---------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """code, rank (nominal), median_rank, lower, upper, width, in_interval."""
        df = pd.DataFrame({
            "code": self.codes,
            "rank": pd.array(self.point_rank, dtype="Int64"),
            "median_rank": self.median_rank,
            "lower": self.lower.astype(int),
            "upper": self.upper.astype(int),
        })
        df["width"] = df["upper"] - df["lower"]
        df["in_interval"] = (df["rank"] >= df["lower"]) & (df["rank"] <= df["upper"])
        return df

    def summary(self) -> dict[str, object]:
        """Draws, options and headline figures, for printing or JSON."""
        f = self.frame
        return {
            "draws": self.draws,
            "seed": self.seed,
            "normalisations": self.normalisations,
            "weightings": self.weightings,
            "aggregations": self.aggregations,
            "missing": self.missing,
            "weight_noise": self.weight_noise,
            "places": len(f),
            "median_interval_width": float(f["width"].median()),
            "share_point_rank_in_interval": float(f["in_interval"].mean()),
            "sensitivity": {r.choice: round(float(r.share), 4) for r in self.sensitivity.itertuples()
                            if not r.choice.startswith("w:")},
        }


def monte_carlo(index: CompositeIndex, draws: int = 1000, **kwargs: object) -> RankUncertainty:
    """Run the uncertainty analysis (see :class:`RankUncertainty` for the options)."""
    return RankUncertainty(index, draws, **kwargs)  # type: ignore[arg-type]
