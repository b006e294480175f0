"""Spatial inequality: how much lies within places rather than between them.

Two measures, each a small object with its inputs and results as attributes
(in the style of PySAL ``inequality``, which does the work where it fits):

* :class:`TheilDecomposition`: Theil's T and L (mean log deviation) of a
  small-area rate, population-weighted, split into a *within*-group part and a
  *between*-group part for a partition of the areas (place class, region).
  Unweighted, T and its between part come from ``inequality.theil.TheilD``; with
  population weights (the default for small areas of unequal size) the same
  formulas are applied with population shares, which ``TheilD`` does not take.
* :class:`SpatialGini`: Rey and Smith's spatial Gini (``inequality.gini.Gini_Spatial``),
  which splits the Gini's pairwise differences into those between neighbours and
  those between non-neighbours; a vectorised neighbour sum makes it fast for
  33,755 areas.

The atlas-backed helpers (:func:`place_classes`, :func:`regions`,
:func:`theil_by`, :func:`spatial_gini`) fetch the data: LSOA 2021 rates, their
populations, and each LSOA's town (ONS town size class, 'Rural (not in a town)'
where it is in none) or region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from inequality.gini import Gini_Spatial
from inequality.theil import TheilD

from townhall.errors import InputError

if TYPE_CHECKING:
    from libpysal.weights import W

    from townhall.atlas.store import Atlas

#: The class given to small areas in no town or city.
RURAL = "Rural (not in a town)"
#: Small areas in a town the ONS towns table does not size (the Welsh towns).
UNSIZED = "Town without an ONS size class"


def _xlogx(a: np.ndarray) -> np.ndarray:
    """a * ln(a) with 0 ln 0 = 0."""
    out = np.zeros_like(a, dtype=float)
    pos = a > 0
    out[pos] = a[pos] * np.log(a[pos])
    return out


def theil_t(y: np.ndarray, w: np.ndarray) -> float:
    """Theil's T of values ``y`` with population weights ``w``: sum p (y/mu) ln(y/mu)."""
    p = w / w.sum()
    mu = float(p @ y)
    return float(p @ _xlogx(y / mu))


def theil_l(y: np.ndarray, w: np.ndarray) -> float:
    """Theil's L (mean log deviation) of positive ``y`` with weights ``w``: sum p ln(mu/y)."""
    p = w / w.sum()
    mu = float(p @ y)
    return float(p @ np.log(mu / y))


class TheilDecomposition:
    """Theil T and L of a small-area rate, decomposed within and between groups.

    With population shares ``p`` and mean ``mu = sum p y``:

    - ``T = sum p (y/mu) ln(y/mu)`` = ``sum_g s_g T_g`` (within) +
      ``sum_g s_g ln(mu_g/mu)`` (between), where ``s_g`` is group g's share of the
      total (population times rate);
    - ``L = sum p ln(mu/y)`` = ``sum_g P_g L_g`` (within) + ``sum_g P_g ln(mu/mu_g)``
      (between), where ``P_g`` is group g's population share.

    Parameters
    ----------
    y : array-like
        Non-negative values (e.g. the share of people income-deprived) per area.
    groups : array-like
        The group of each area (exhaustive, one each).
    weights : array-like, optional
        Population per area. None gives every area equal weight, and then T and
        its between part are PySAL's ``TheilD``.
    floor : float, optional
        Theil's L needs positive values: values below ``floor`` are raised to it for
        L only. Default: half the smallest positive value. ``n_floored`` counts them.

    Attributes
    ----------
    T, T_within, T_between : float
    L, L_within, L_between : float
    between_share_T, between_share_L : float
        Between part as a share of the total.
    by_group : DataFrame
        group, n, population, mean, pop_share, total_share, T, L and each group's
        part of the within terms (``T_within_part``, ``L_within_part``).
    pysal : inequality.theil.TheilD or None
        The PySAL object, when unweighted.
    """

    def __init__(self, y, groups, weights=None, *, floor: float | None = None) -> None:
        y = np.asarray(y, dtype=float)
        groups = np.asarray(groups, dtype=object)
        if y.ndim != 1 or groups.shape != y.shape:
            raise InputError("Theil needs one value and one group per area.")
        w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
        bad = ~np.isfinite(y) | ~np.isfinite(w) | pd.isna(groups)
        if bad.any():
            raise InputError(f"{int(bad.sum())} area(s) have no value, weight or group; drop them first.")
        if (y < 0).any() or (w < 0).any():
            raise InputError("Theil indices need values and weights that are not negative.")
        if y @ w <= 0:
            raise InputError("Theil indices need some positive values.")
        self.y, self.groups, self.weights = y, groups, (None if weights is None else w)
        self.n = len(y)

        pos = y[y > 0]
        self.floor = float(floor) if floor is not None else float(pos.min() / 2)
        yl = np.maximum(y, self.floor)
        self.n_floored = int((y < self.floor).sum())

        labels, inv = np.unique(groups.astype(str), return_inverse=True)
        P = np.bincount(inv, weights=w)  # population per group
        Y = np.bincount(inv, weights=w * y)  # total (population x rate) per group
        YL = np.bincount(inv, weights=w * yl)
        mu, mul = Y.sum() / P.sum(), YL.sum() / P.sum()
        pg = P / P.sum()
        sg = Y / Y.sum()
        mug, mulg = Y / P, YL / P

        tg = np.array([theil_t(y[inv == g], w[inv == g]) if Y[g] > 0 else 0.0 for g in range(len(labels))])
        lg = np.array([theil_l(yl[inv == g], w[inv == g]) for g in range(len(labels))])

        self.pysal = None
        if weights is None:
            self.pysal = TheilD(y, groups.astype(str))
            self.T = float(np.asarray(self.pysal.T).ravel()[0])
            self.T_between = float(np.asarray(self.pysal.bg).ravel()[0])
        else:
            self.T = theil_t(y, w)
            self.T_between = float(np.sum(_safe(sg, np.log(np.where(mug > 0, mug, 1) / mu))))
        self.T_within = float(sg @ tg)
        self.L = theil_l(yl, w)
        self.L_within = float(pg @ lg)
        self.L_between = float(pg @ np.log(mul / mulg))
        self.between_share_T = self.T_between / self.T if self.T > 0 else float("nan")
        self.between_share_L = self.L_between / self.L if self.L > 0 else float("nan")
        self.mean = float(mu)
        self.by_group = pd.DataFrame({
            "group": labels,
            "n": np.bincount(inv),
            "population": P,
            "mean": mug,
            "pop_share": pg,
            "total_share": sg,
            "T": tg,
            "L": lg,
            "T_within_part": sg * tg,
            "L_within_part": pg * lg,
        })

    def to_frame(self) -> pd.DataFrame:
        """Totals: measure, total, within, between, between_share."""
        return pd.DataFrame({
            "measure": ["Theil T", "Theil L (MLD)"],
            "total": [self.T, self.L],
            "within": [self.T_within, self.L_within],
            "between": [self.T_between, self.L_between],
            "between_share": [self.between_share_T, self.between_share_L],
        })

    def summary(self) -> dict[str, object]:
        return {
            "areas": self.n, "groups": len(self.by_group), "weighted": self.weights is not None,
            "mean": self.mean, "T": self.T, "T_within": self.T_within, "T_between": self.T_between,
            "L": self.L, "L_within": self.L_within, "L_between": self.L_between,
            "between_share_T": self.between_share_T, "between_share_L": self.between_share_L,
            "floor": self.floor, "n_floored": self.n_floored,
        }

    @property
    def table(self) -> pd.DataFrame:
        """The decomposition by group (the same as :attr:`by_group`)."""
        return self.by_group

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: what was decomposed (when known), the totals and every group."""
        from townhall.atlas.store import plain, records

        head = {k: getattr(self, k) for k in ("indicator", "by", "level") if hasattr(self, k)}
        return {**head, "theil": {k: plain(v) for k, v in self.summary().items()}, "groups": records(self.by_group)}


def _safe(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a * b, 0.0)


class _FastGiniSpatial(Gini_Spatial):
    """Gini_Spatial with the neighbour sum done on arrays instead of a Python loop."""

    def __init__(self, x, w, permutations: int = 99) -> None:
        coo = w.sparse.tocoo()
        self._i, self._j = coo.row, coo.col
        super().__init__(x, w, permutations=permutations)

    def _calc(self, x, w) -> float:  # same sum as the parent: |x_i - x_j| over directed neighbour pairs
        return float(np.abs(x[self._i] - x[self._j]).sum())


class SpatialGini:
    """The spatial Gini of Rey and Smith (2013), via ``inequality.gini.Gini_Spatial``.

    The Gini's sum of absolute differences over all pairs of areas is split into
    pairs of neighbours and pairs of non-neighbours. If inequality were spatially
    random, the non-neighbour share would be what permutations give; a larger
    share means unlike areas lie apart and like areas together.

    Parameters
    ----------
    y : array-like
        Values per area (unweighted: LSOAs have similar populations).
    w : libpysal.weights.W
        Neighbours (binary; any transform is reset to binary).
    permutations : int
        Random relabellings for the pseudo p-value.
    seed : int, optional

    Attributes
    ----------
    g : float
        The (aspatial) Gini.
    wcg_share : float
        The part of the Gini from non-neighbour pairs (PySAL's ``wcg_share``: the
        Gini is this plus the neighbour part).
    non_neighbour_share : float
        Non-neighbour pairs' share of all absolute differences (``wcg_share / g``).
    e_non_neighbour_share : float
        Mean of that share under random permutations.
    p_sim : float
        Pseudo p-value of the non-neighbour component.
    polarization : float
        Non-neighbour to neighbour inequality ratio, scaled to 1 under randomness.
    neighbour_ratio : float
        Mean absolute difference between neighbours as a share of that between
        non-neighbours (``1 / polarization``): 1 if spatially random, small when
        neighbours are alike.
    pysal : inequality.gini.Gini_Spatial
    """

    def __init__(self, y, w: W, permutations: int = 99, seed: int | None = 1) -> None:
        y = np.asarray(y, dtype=float)
        if w.n != len(y):
            raise InputError(f"{len(y)} values but {w.n} areas in the weights.")
        if not np.isfinite(y).all():
            raise InputError("The spatial Gini needs a value for every area.")
        old = w.transform
        w.transform = "B"
        state = np.random.get_state()  # PySAL shuffles with the global generator
        try:
            if seed is not None:
                np.random.seed(seed)
            gs = _FastGiniSpatial(y, w, permutations=permutations)
        finally:
            np.random.set_state(state)
            w.transform = old
        self.pysal = gs
        self.y = y
        self.permutations = permutations
        self.g = float(gs.g)
        self.wcg_share = float(gs.wcg_share)
        self.polarization = float(gs.polarization)
        self.p_sim = float(gs.p_sim) if permutations else float("nan")
        self.non_neighbour_share = float(gs.wcg / gs.dtotal)
        # Mean absolute difference between neighbours relative to non-neighbours (1 = random).
        self.neighbour_ratio = float(1.0 / gs.polarization) if gs.polarization else float("nan")
        self.e_non_neighbour_share = float(gs.e_wcg / gs.dtotal) if permutations else float("nan")
        self.polarization_p_sim = float(gs.polarization_p_sim) if permutations else float("nan")

    def summary(self) -> dict[str, float]:
        return {"gini": self.g, "non_neighbour_share": self.non_neighbour_share,
                "expected_non_neighbour_share": self.e_non_neighbour_share, "p_sim": self.p_sim,
                "polarization": self.polarization, "polarization_p_sim": self.polarization_p_sim,
                "neighbour_ratio": self.neighbour_ratio,
                "permutations": self.permutations}

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary (NaN as None)."""
        from townhall.atlas.store import plain

        return {k: plain(v) for k, v in self.summary().items()}


# -- atlas-backed helpers ---------------------------------------------------------------

TOWN_SCHEME = "ons_town_size"


def place_classes(atlas: Atlas, level: str = "lsoa21") -> pd.Series:
    """Each small area's place class: its town's ONS size class, or :data:`RURAL`.

    Small areas reach towns through ``Atlas.links(level, 'town')`` (the largest
    link weight wins where an area is split) and towns their class through
    ``Atlas.classes(level='town', scheme='ons_town_size')``: 'City', 'Large Towns',
    'Medium Towns', 'Small Towns' as the ONS spells them. Areas in no town are
    :data:`RURAL`; areas in a town without a size class (Wales) :data:`UNSIZED`.
    """
    links = atlas.links(level, "town")
    cls = atlas.classes(level="town", scheme=TOWN_SCHEME)
    if cls.empty:
        raise InputError(f"The atlas has no town classes ({TOWN_SCHEME}).")
    town_cls = cls.drop_duplicates("code").set_index("code")["class"]
    best = links.sort_values(["child", "weight"], ascending=[True, False]).drop_duplicates("child")
    out = best.set_index("child")["parent"].map(town_cls).fillna(UNSIZED)
    areas = atlas.areas(level)["code"]
    out = out.reindex(areas).fillna(RURAL).astype(str).str.strip()
    out.index.name = "code"
    return out.rename("class")


def regions(atlas: Atlas, level: str = "lsoa21") -> pd.Series:
    """Each small area's region (name), via ``Atlas.links(level, 'rgn')``."""
    links = atlas.links(level, "rgn")
    if links.empty:
        raise InputError(f"The atlas has no links from {level} to regions.")
    names = atlas.areas("rgn").set_index("code")["name"]
    best = links.sort_values(["child", "weight"], ascending=[True, False]).drop_duplicates("child")
    out = best.set_index("child")["parent"].map(names).rename("region")
    out.index.name = "code"
    return out


def _values_with_population(atlas: Atlas, indicator: str, level: str) -> pd.DataFrame:
    v = atlas.values(indicator, level=level)[["area", "value"]].rename(columns={"area": "code"})
    pop = atlas.areas(level)[["code", "population", "lat", "lon", "name"]]
    df = v.merge(pop, on="code", how="left")
    return df.dropna(subset=["value"]).reset_index(drop=True)


def theil_by(
    atlas: Atlas,
    by: Literal["class", "region"] = "class",
    indicator: str = "imd25_income_score",
    level: str = "lsoa21",
    weighted: bool = True,
) -> TheilDecomposition:
    """Theil T and L of a small-area indicator, within and between place classes or regions.

    Parameters
    ----------
    atlas : Atlas
    by : {'class', 'region'}
        ``class``: city, large, medium, small town, rural (ONS town sizes);
        ``region``: the nine English regions (and Wales where data allows).
    indicator : str
        A non-negative small-area rate; default the IoD2025 income deprivation rate.
    level : str
    weighted : bool
        Weight areas by population (default) or count each area once.

    Returns
    -------
    TheilDecomposition
        With ``indicator``, ``by`` and ``level`` attributes added.
    """
    if by not in ("class", "region"):
        raise InputError(f"Group by 'class' or 'region', not {by!r}.")
    df = _values_with_population(atlas, indicator, level)
    grp = place_classes(atlas, level) if by == "class" else regions(atlas, level)
    df["group"] = df["code"].map(grp)
    missing = df["group"].isna() | (weighted & df["population"].isna())
    df = df[~missing]
    if df.empty:
        raise InputError(f"No {level} areas with both {indicator} and a {by}.")
    t = TheilDecomposition(df["value"].to_numpy(), df["group"].to_numpy(),
                           df["population"].to_numpy() if weighted else None)
    t.indicator, t.by, t.level = indicator, by, level  # type: ignore[attr-defined]
    t.dropped = int(missing.sum())  # type: ignore[attr-defined]
    return t


def spatial_gini(
    atlas: Atlas,
    indicator: str = "imd25_income_score",
    level: str = "lsoa21",
    k: int = 8,
    permutations: int = 99,
    seed: int | None = 1,
) -> SpatialGini:
    """Spatial Gini of a small-area indicator on k nearest neighbours (population-weighted centroids)."""
    from townhall.measures.spatial import knn_weights

    df = _values_with_population(atlas, indicator, level).dropna(subset=["lat", "lon"])
    w = knn_weights(df["lat"].to_numpy(), df["lon"].to_numpy(), k=k)
    g = SpatialGini(df["value"].to_numpy(), w, permutations=permutations, seed=seed)
    g.indicator, g.level, g.k = indicator, level, k  # type: ignore[attr-defined]
    return g
