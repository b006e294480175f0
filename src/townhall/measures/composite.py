"""Composite indices, built the way the OECD/JRC Handbook says.

The Handbook on Constructing Composite Indicators (OECD/JRC, 2008) sets out the
steps every composite index goes through; each is a named, recorded choice here:

1. **Indicators with polarity.** Each input says whether a higher value is better
   (``polarity = +1``) or worse (``-1``), as in the atlas. The index says what a
   high score means (``higher_is = "worse"`` for a need or left-behind index,
   ``"better"`` for a well-being index) and every input is turned to point that way.
2. **Missing values.** ``mean`` or ``median`` imputation of the raw value,
   ``reweight`` (a place's score uses the indicators it has, with their weights
   rescaled to sum to one) or ``drop`` (places with any gap get no score).
3. **Normalisation.** ``zscore`` (population standard deviation), ``minmax`` (onto
   0-1), ``rank`` (percentile rank, 0-1] or ``distance`` to a reference value
   (mean, median, min, max or a number per indicator) in units of the indicator's range.
4. **Weighting.** ``equal``, ``stated`` (each indicator's weight, times its domain's
   weight where domains are given) or ``pca`` (Nicoletti et al.: factors with an
   eigenvalue above one, varimax rotation, squared loadings scaled to one per
   factor, each factor weighted by its share of explained variance).
5. **Aggregation.** ``arithmetic`` (weighted mean; fully compensatory) or
   ``geometric`` (weighted geometric mean of the normalised values mapped onto
   [1, 10]; partly compensatory, so a very poor value on one indicator is harder to
   make up for).

The result, a :class:`CompositeIndex`, keeps its inputs and its results as
attributes: ``scores``, ``ranks`` (1 = highest score), ``contributions`` (each
indicator's part of each place's score) and :meth:`CompositeIndex.drivers`.
Uncertainty over these choices is in :mod:`townhall.measures.uncertainty`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from townhall.errors import InputError

Normalisation = Literal["zscore", "minmax", "rank", "distance"]
Weighting = Literal["equal", "stated", "pca"]
Aggregation = Literal["arithmetic", "geometric"]
Missing = Literal["mean", "median", "reweight", "drop"]
Reference = Literal["mean", "median", "min", "max"]

NORMALISATIONS: tuple[str, ...] = ("zscore", "minmax", "rank", "distance")
WEIGHTINGS: tuple[str, ...] = ("equal", "stated", "pca")
AGGREGATIONS: tuple[str, ...] = ("arithmetic", "geometric")
MISSING: tuple[str, ...] = ("mean", "median", "reweight", "drop")
REFERENCES: tuple[str, ...] = ("mean", "median", "min", "max")

#: Geometric aggregation maps each normalised indicator onto [GEO_LOW, GEO_HIGH]:
#: a geometric mean needs positive values, and a floor of 1 keeps the worst place
#: on one indicator from zeroing its whole score.
GEO_LOW, GEO_HIGH = 1.0, 10.0


@dataclass(frozen=True)
class Indicator:
    """One input of a composite index.

    Parameters
    ----------
    id : str
        Column name in the data (an atlas indicator id).
    weight : float
        Stated weight (relative; rescaled within its domain). Must be >= 0.
    polarity : int
        +1 if a higher value is better, -1 if a higher value is worse.
    domain : str, optional
        Domain the indicator belongs to (for domain weights and reporting).
    label : str, optional
        Short human name for tables.
    reference : float, optional
        Reference value for ``distance`` normalisation, in the indicator's units
        (overrides the index-wide reference).
    """

    id: str
    weight: float = 1.0
    polarity: int = -1
    domain: str | None = None
    label: str | None = None
    reference: float | None = None

    @property
    def name(self) -> str:
        return self.label or self.id


def _check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InputError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.")
    return value


# -- the steps, as plain array functions (also used by the Monte Carlo) ------------------


def orient(x: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Multiply each column by its sign so that higher always means a higher index."""
    return x * signs[None, :]


def impute(x: np.ndarray, method: str) -> np.ndarray:
    """Fill gaps column by column with the column ``mean`` or ``median``.

    ``reweight`` and ``drop`` leave gaps in place (they are handled at aggregation).
    """
    if method not in ("mean", "median") or not np.isnan(x).any():
        return x
    fill = np.nanmean(x, axis=0) if method == "mean" else np.nanmedian(x, axis=0)
    out = x.copy()
    rows, cols = np.nonzero(np.isnan(out))
    out[rows, cols] = fill[cols]
    return out


def normalise(
    x: np.ndarray,
    method: str,
    *,
    reference: str = "median",
    references: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Normalise each column of an oriented (n, k) array; gaps stay NaN.

    Parameters
    ----------
    x : ndarray
        Oriented values, places in rows, indicators in columns.
    method : {'zscore', 'minmax', 'rank', 'distance'}
        ``zscore``: (x - mean) / sd with the population sd (ddof = 0).
        ``minmax``: (x - min) / (max - min). ``rank``: average rank / number of
        values, in (0, 1]. ``distance``: (x - reference) / (max - min).
    reference : {'median', 'mean', 'min', 'max'}
        Reference for ``distance`` where ``references`` gives none.
    references : ndarray, optional
        Per-column reference in oriented units (NaN: use ``reference``).
    names : sequence of str, optional
        Column names, for error messages.

    Returns
    -------
    ndarray
        The normalised array, same shape.
    """
    _check_choice(method, NORMALISATIONS, "normalisation")
    names = list(names) if names is not None else [f"column {j}" for j in range(x.shape[1])]
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    span = hi - lo
    flat = ~(span > 0)
    if flat.any():
        bad = [n for n, f in zip(names, flat, strict=True) if f]
        raise InputError(
            f"Indicator(s) {', '.join(bad)} take the same value in every place, so they cannot be "
            "normalised or carry any weight.",
            hint="Drop them from the index.",
        )
    if method == "zscore":
        return (x - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0)
    if method == "minmax":
        return (x - lo) / span
    if method == "rank":
        r = rankdata(x, axis=0, method="average", nan_policy="omit")
        return r / np.sum(~np.isnan(x), axis=0)
    _check_choice(reference, REFERENCES, "reference")
    ref = {
        "mean": np.nanmean(x, axis=0),
        "median": np.nanmedian(x, axis=0),
        "min": lo,
        "max": hi,
    }[reference]
    if references is not None:
        ref = np.where(np.isnan(references), ref, references)
    return (x - ref) / span


def to_positive(v: np.ndarray) -> np.ndarray:
    """Map each normalised column onto [GEO_LOW, GEO_HIGH] (for geometric aggregation)."""
    lo, hi = np.nanmin(v, axis=0), np.nanmax(v, axis=0)
    return GEO_LOW + (GEO_HIGH - GEO_LOW) * (v - lo) / (hi - lo)


def stated_weights(indicators: Sequence[Indicator], domain_weights: Mapping[str, float] | None) -> np.ndarray:
    """Effective stated weights, summing to one.

    Without domain weights each indicator's weight is used as given. With them,
    an indicator's weight is its domain's weight times its share of the
    indicator weights within that domain.
    """
    w = np.array([i.weight for i in indicators], dtype=float)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise InputError("Weights must be finite and not negative.")
    if domain_weights:
        missing = sorted({i.domain for i in indicators} - set(domain_weights))
        if missing:
            raise InputError(f"No weight for domain(s) {', '.join(map(str, missing))}.")
        out = np.zeros_like(w)
        for d, dw in domain_weights.items():
            m = np.array([i.domain == d for i in indicators])
            if m.any() and w[m].sum() > 0:
                out[m] = dw * w[m] / w[m].sum()
        w = out
    if w.sum() <= 0:
        raise InputError("The weights sum to zero, so no index can be formed.")
    return w / w.sum()


def varimax(loadings: np.ndarray, *, max_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Varimax rotation of a (k, m) loading matrix (Kaiser, 1958)."""
    k, m = loadings.shape
    if m < 2:
        return loadings
    rot = np.eye(m)
    crit = 0.0
    for _ in range(max_iter):
        lam = loadings @ rot
        u, s, vt = np.linalg.svd(loadings.T @ (lam**3 - lam @ np.diag(np.sum(lam**2, axis=0)) / k))
        rot = u @ vt
        new = s.sum()
        if new - crit < tol * max(new, 1.0):
            break
        crit = new
    return loadings @ rot


def pca_weights(x: np.ndarray) -> np.ndarray:
    """Weights from principal components, as in the OECD/JRC Handbook (Nicoletti et al.).

    The correlation matrix of the (oriented, gap-free) indicators is factored;
    factors with an eigenvalue above one are kept (at least one, and enough to
    explain 60% of the variance); their loadings are varimax-rotated; squared
    loadings are scaled to sum to one within each factor; each indicator takes
    its largest scaled squared loading times that factor's share of the
    explained variance; the result is rescaled to sum to one.

    Parameters
    ----------
    x : ndarray
        (n, k) values without gaps.

    Returns
    -------
    ndarray
        (k,) weights summing to one.
    """
    k = x.shape[1]
    if k == 1:
        return np.ones(1)
    corr = np.corrcoef(x, rowvar=False)
    vals, vecs = np.linalg.eigh(corr)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    keep = max(1, int(np.sum(vals > 1.0)))
    while keep < k and vals[:keep].sum() / k < 0.6:
        keep += 1
    loadings = varimax(vecs[:, :keep] * np.sqrt(np.clip(vals[:keep], 0, None)))
    sq = loadings**2
    explained = sq.sum(axis=0)  # variance each rotated factor explains
    scaled = sq / explained[None, :]
    share = explained / explained.sum()
    best = np.argmax(scaled, axis=1)
    w = scaled[np.arange(k), best] * share[best]
    return w / w.sum()


def aggregate(v: np.ndarray, w: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate normalised values with weights; gaps are left out and weights rescaled.

    Parameters
    ----------
    v : ndarray
        (n, k) normalised values (NaN = missing).
    w : ndarray
        (k,) weights summing to one.
    method : {'arithmetic', 'geometric'}

    Returns
    -------
    scores : ndarray
        (n,) the index (NaN where a place has no values).
    contributions : ndarray
        (n, k) each indicator's part of the score: ``w v / sum(w)`` for the
        arithmetic mean (rows sum to the score); ``w ln(v) / sum(w)`` for the
        geometric mean (rows sum to the log of the score).
    """
    _check_choice(method, AGGREGATIONS, "aggregation")
    avail = ~np.isnan(v)
    wsum = avail.astype(float) @ w
    terms = np.log(to_positive(v)) if method == "geometric" else v
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(avail, terms * w[None, :], 0.0) / wsum[:, None]
    contrib[wsum == 0] = np.nan
    total = contrib.sum(axis=1)
    scores = np.exp(total) if method == "geometric" else total
    return scores, contrib


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Ranks with 1 = highest score; ties share the best rank; NaN stays NaN."""
    out = np.full(scores.shape, np.nan)
    ok = ~np.isnan(scores)
    out[ok] = rankdata(-scores[ok], method="min")
    return out


def top_drivers(
    contributions: pd.DataFrame,
    labels: Sequence[str] | None = None,
    n: int = 3,
    direction: Literal["up", "down"] = "up",
) -> pd.DataFrame:
    """Each place's strongest drivers: contributions measured against the average place.

    A driver's effect is the place's contribution from that indicator minus the
    mean contribution of that indicator over all places, so it says why *this*
    place ranks where it does. ``up`` lists what raises the score most (why a
    place ranks high); ``down`` what lowers it most (why it ranks low).

    Parameters
    ----------
    contributions : DataFrame
        Places in rows, indicators in columns (as ``CompositeIndex.contributions``).
    labels : sequence of str, optional
        Names for the indicators (default the column names).
    n : int
        How many drivers per place.
    direction : {'up', 'down'}

    Returns
    -------
    DataFrame
        Indexed like ``contributions``: ``driver_1`` ... ``driver_n`` (labels) and
        ``effect_1`` ... ``effect_n`` (contribution above, or below, the average).
    """
    c = contributions
    rel = (c - c.mean(axis=0)).to_numpy()
    key = np.where(np.isnan(rel), -np.inf, rel if direction == "up" else -rel)
    n = min(n, rel.shape[1])
    top = np.argsort(-key, axis=1, kind="stable")[:, :n]
    names = np.array(list(labels) if labels is not None else list(c.columns), dtype=object)
    out: dict[str, object] = {}
    for j in range(n):
        out[f"driver_{j + 1}"] = names[top[:, j]]
    for j in range(n):
        out[f"effect_{j + 1}"] = rel[np.arange(len(rel)), top[:, j]]
    return pd.DataFrame(out, index=c.index)


# -- the index object -------------------------------------------------------------------


class CompositeIndex:
    """A composite index over places, with every choice and every result kept.

    Parameters
    ----------
    data : DataFrame
        One row per place (the index is the place code), one column per indicator id.
    indicators : sequence of Indicator
        The inputs, with polarity, weight and domain.
    higher_is : {'worse', 'better'}
        What a high score means. ``worse`` for a need or left-behind index.
    normalisation : {'zscore', 'minmax', 'rank', 'distance'}
    weighting : {'equal', 'stated', 'pca'}
    aggregation : {'arithmetic', 'geometric'}
    missing : {'mean', 'median', 'reweight', 'drop'}
    reference : {'median', 'mean', 'min', 'max'}
        Reference value for ``distance`` normalisation.
    domain_weights : mapping, optional
        Weight of each domain (for ``stated`` weighting).
    min_coverage : float
        Places whose indicators with values carry less than this share of the
        stated weight are left out rather than imputed (0 keeps every place with
        any value).
    name : str
        A title for tables.

    Attributes
    ----------
    data : DataFrame
        The raw inputs (places with no values at all removed).
    oriented : DataFrame
        Inputs after imputation and orientation (higher = higher index).
    normalised : DataFrame
        Normalised values (the ones aggregated).
    weights : Series
        Effective weights per indicator (sum to one).
    scores : Series
        The index value per place.
    ranks : Series
        1 = highest score.
    contributions : DataFrame
        Each indicator's part of each place's score (see :func:`aggregate`).
    dropped : list of str
        Places left out (no values, or any gap under ``missing = 'drop'``).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]}, index=["x", "y", "z"])
    >>> ix = CompositeIndex(df, [Indicator("a"), Indicator("b")], normalisation="minmax")
    >>> ix.scores.round(2).tolist()
    [0.5, 0.25, 0.75]
    """

    def __init__(
        self,
        data: pd.DataFrame,
        indicators: Sequence[Indicator],
        *,
        higher_is: Literal["worse", "better"] = "worse",
        normalisation: Normalisation = "zscore",
        weighting: Weighting = "stated",
        aggregation: Aggregation = "arithmetic",
        missing: Missing = "mean",
        reference: Reference = "median",
        domain_weights: Mapping[str, float] | None = None,
        min_coverage: float = 0.0,
        name: str = "index",
    ) -> None:
        self.indicators = list(indicators)
        if not self.indicators:
            raise InputError("An index needs at least one indicator.")
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise InputError(f"Indicator(s) listed twice: {', '.join(dup)}.")
        absent = [i for i in ids if i not in data.columns]
        if absent:
            raise InputError(f"No data for indicator(s) {', '.join(absent)}.")
        for ind in self.indicators:
            if ind.polarity not in (-1, 1):
                raise InputError(f"Polarity of {ind.id} must be +1 or -1, not {ind.polarity!r}.")
        _check_choice(higher_is, ("worse", "better"), "direction (higher_is)")
        self.higher_is = higher_is
        self.normalisation = _check_choice(normalisation, NORMALISATIONS, "normalisation")
        self.weighting = _check_choice(weighting, WEIGHTINGS, "weighting")
        self.aggregation = _check_choice(aggregation, AGGREGATIONS, "aggregation")
        self.missing = _check_choice(missing, MISSING, "missing-value policy")
        self.reference = _check_choice(reference, REFERENCES, "reference")
        self.domain_weights = dict(domain_weights) if domain_weights else None
        self.name = name

        raw = data[ids].apply(pd.to_numeric, errors="coerce").astype(float)
        empty = raw.isna().all(axis=1)
        if self.missing == "drop":
            empty = raw.isna().any(axis=1)
        elif min_coverage > 0:
            # Too many gaps and an imputed score says more about the means than the place.
            w = stated_weights(self.indicators, self.domain_weights)
            empty |= pd.Series(raw.notna().to_numpy() @ w, index=raw.index) < min_coverage - 1e-12
        self.min_coverage = min_coverage
        self.dropped = [str(c) for c in raw.index[empty]]
        self.data = raw.loc[~empty]
        if len(self.data) < 2:
            raise InputError("An index needs at least two places with values.")

        # A need index counts 'worse' upwards: turn each input to point that way.
        sign = 1.0 if higher_is == "better" else -1.0
        self.signs = np.array([sign * i.polarity for i in self.indicators], dtype=float)
        refs = np.array([np.nan if i.reference is None else i.reference for i in self.indicators])
        self._references = refs * self.signs

        x = orient(impute(self.data.to_numpy(), self.missing), self.signs)
        self.oriented = pd.DataFrame(x, index=self.data.index, columns=ids)
        v = normalise(x, self.normalisation, reference=self.reference,
                      references=self._references, names=ids)
        self.normalised = pd.DataFrame(v, index=self.data.index, columns=ids)
        self.weights = pd.Series(self.weights_for(self.weighting), index=ids, name="weight")
        scores, contrib = aggregate(v, self.weights.to_numpy(), self.aggregation)
        self.scores = pd.Series(scores, index=self.data.index, name="score")
        self.ranks = pd.Series(rank_desc(scores), index=self.data.index, name="rank").astype("Int64")
        self.contributions = pd.DataFrame(contrib, index=self.data.index, columns=ids)

    # -- choices reused by the Monte Carlo --------------------------------------------
    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    def weights_for(self, weighting: str) -> np.ndarray:
        """Weights (summing to one) under a weighting scheme, for these inputs."""
        _check_choice(weighting, WEIGHTINGS, "weighting")
        k = len(self.indicators)
        if weighting == "equal":
            return np.full(k, 1.0 / k)
        if weighting == "stated":
            return stated_weights(self.indicators, self.domain_weights)
        # PCA needs complete rows: impute by the mean just for the correlation matrix.
        x = impute(self.oriented.to_numpy(), "mean")
        return pca_weights(x)

    def matrix(self, normalisation: str, missing: str | None = None) -> np.ndarray:
        """Normalised (n, k) values under another normalisation / missing-value policy."""
        missing = missing or self.missing
        x = orient(impute(self.data.to_numpy(), missing), self.signs)
        return normalise(x, normalisation, reference=self.reference,
                         references=self._references, names=self.ids)

    # -- reading the results -----------------------------------------------------------
    def drivers(self, n: int = 3, direction: Literal["up", "down"] = "up") -> pd.DataFrame:
        """The indicators that move each place's score most, against the average place.

        See :func:`top_drivers`.
        """
        return top_drivers(self.contributions, [i.name for i in self.indicators], n, direction)

    def to_frame(self, drivers: int = 3) -> pd.DataFrame:
        """Scores, ranks and top drivers, best-ranked first."""
        df = pd.concat([self.scores, self.ranks], axis=1)
        if drivers:
            df = df.join(self.drivers(drivers)[[f"driver_{j + 1}" for j in range(min(drivers, len(self.ids)))]])
        df.index.name = "code"
        return df.sort_values("rank").reset_index()

    def rollup(self, links: Rollup) -> pd.DataFrame:
        """Scores and contributions rolled up to parent areas, ranked there.

        Parameters
        ----------
        links : Rollup
            Population weights from these places to their parents.

        Returns
        -------
        DataFrame
            code, score, rank, coverage and one column per indicator contribution.
        """
        m = links.matrix_for(self.scores.index)
        s = self.scores.to_numpy()
        score = links.apply(m, s[:, None])[:, 0]
        contrib = links.apply(m, self.contributions.to_numpy())
        out = pd.DataFrame(contrib, columns=self.ids)
        out.insert(0, "code", links.parents)
        out.insert(1, "score", score)
        out.insert(2, "rank", pd.array(rank_desc(score), dtype="Int64"))
        out.insert(3, "coverage", links.coverage(m))
        return out.dropna(subset=["score"]).sort_values("rank").reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        """The choices made, for printing or JSON."""
        return {
            "name": self.name,
            "places": len(self.scores),
            "dropped": len(self.dropped),
            "higher_is": self.higher_is,
            "normalisation": self.normalisation,
            "weighting": self.weighting,
            "aggregation": self.aggregation,
            "missing": self.missing,
            "weights": {k: round(float(v), 6) for k, v in self.weights.items()},
        }


class Rollup:
    """Population weights that take small-area values up to parent areas.

    Each parent's value is the mean of its children's values weighted by child
    population times link weight (the child's share in the parent), over the
    children that have a value.

    Parameters
    ----------
    links : DataFrame
        ``child``, ``parent`` and ``weight`` (as from ``Atlas.links``).
    population : Series
        Child population, indexed by child code.
    """

    def __init__(self, links: pd.DataFrame, population: pd.Series) -> None:
        lk = links[["child", "parent", "weight"]].dropna()
        pop = population.reindex(lk["child"]).to_numpy(dtype=float)
        lk = lk.assign(w=lk["weight"].to_numpy(dtype=float) * np.nan_to_num(pop, nan=0.0))
        self.links = lk[lk["w"] > 0].reset_index(drop=True)
        self.parents = np.array(sorted(self.links["parent"].unique()), dtype=object)
        self._parent_pos = {p: i for i, p in enumerate(self.parents)}

    def matrix_for(self, children: pd.Index) -> sp.csr_matrix:
        """(parents x children) matrix of raw weights for these children, in order."""
        pos = {c: i for i, c in enumerate(children)}
        lk = self.links[self.links["child"].isin(pos)]
        rows = lk["parent"].map(self._parent_pos).to_numpy()
        cols = lk["child"].map(pos).to_numpy()
        return sp.csr_matrix((lk["w"].to_numpy(), (rows, cols)), shape=(len(self.parents), len(children)))

    @staticmethod
    def apply(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
        """Weighted means of the columns of ``values`` (children x c) per parent."""
        ok = ~np.isnan(values)
        num = m @ np.where(ok, values, 0.0)
        den = m @ ok.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den

    def coverage(self, m: sp.csr_matrix) -> np.ndarray:
        """Share of each parent's linked population covered by these children."""
        tot = self.links.groupby("parent")["w"].sum().reindex(self.parents).to_numpy()
        return np.asarray(m.sum(axis=1)).ravel() / tot
