"""Spatial clustering: global Moran's I and local hot and cold spots (LISA).

Neighbours are built from each area's population-weighted centroid (the atlas
``lat``/``lon``), projected to the British National Grid so distances are in
metres: the ``k`` nearest neighbours (default 8, so every area has neighbours),
or every area within a distance band. ``esda`` does the statistics: global
Moran's I (``esda.Moran``) and local Moran's I (``esda.Moran_Local``) with
conditional permutations (999 by default). With 33,755 local tests, a plain 5%
cut-off would flag some 1,700 areas by chance, so significance is controlled for
the false discovery rate (Benjamini-Hochberg, via ``esda.fdr``).

Labels follow the LISA quadrants of significant areas: ``hot spot`` (high value,
high-valued neighbours), ``cold spot`` (low, low), ``high-low outlier`` and
``low-high outlier``. 'Hot' means high values of the indicator, whatever its
polarity: for a deprivation score a hot spot is a cluster of deprivation.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from esda import fdr
from esda.moran import Moran, Moran_Local
from libpysal.weights import KNN, DistanceBand, W
from pyproj import Transformer

from townhall.errors import InputError

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

QUADRANT_LABELS = {1: "hot spot", 2: "low-high outlier", 3: "cold spot", 4: "high-low outlier"}
NOT_SIGNIFICANT = "not significant"
#: Upper limit of conditional permutations (time grows with them: 999 take 4 to 8 s over
#: England's 33,755 small areas, so 9,999 take about a minute; memory stays bounded because
#: the simulations are not kept).
MAX_PERMUTATIONS = 9_999


def check_permutations(permutations: int) -> None:
    """Refuse fewer than 99 or more than :data:`MAX_PERMUTATIONS` permutations."""
    if permutations < 99:
        raise InputError("Use at least 99 permutations (999 to publish).")
    if permutations > MAX_PERMUTATIONS:
        raise InputError(f"{permutations:,} permutations is over the limit of {MAX_PERMUTATIONS:,} "
                         "(999 are enough to publish; 9,999 take about a minute over every small area).")

_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def project(lat, lon) -> np.ndarray:
    """(n, 2) British National Grid easting/northing in metres for WGS84 lat/lon."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise InputError("Every area needs a centroid (lat, lon) to build neighbours.")
    x, y = _to_bng.transform(lon, lat)
    return np.column_stack([x, y])


def knn_weights(lat, lon, k: int = 8) -> W:
    """Binary k-nearest-neighbour weights on projected centroids (ids 0..n-1)."""
    if len(lat) <= k:
        raise InputError(f"{len(lat)} areas are too few for {k} nearest neighbours.")
    with warnings.catch_warnings():
        # Islands (Scilly, Lundy...) make a few disconnected components: expected, not news.
        warnings.simplefilter("ignore", UserWarning)
        return KNN.from_array(project(lat, lon), k=k)


def band_weights(lat, lon, km: float) -> W:
    """Binary distance-band weights: neighbours within ``km`` kilometres (islands possible)."""
    if km <= 0:
        raise InputError("The distance band must be positive.")
    return DistanceBand(project(lat, lon), threshold=km * 1000.0, binary=True, silence_warnings=True)


def benjamini_hochberg(p, alpha: float = 0.05) -> np.ndarray:
    """Boolean mask of p-values rejected by the Benjamini-Hochberg step-up procedure."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    order = np.argsort(p)
    ok = p[order] <= alpha * np.arange(1, n + 1) / n
    out = np.zeros(n, dtype=bool)
    if ok.any():
        out[order[: np.flatnonzero(ok).max() + 1]] = True
    return out


class Hotspots:
    """Global Moran's I and local hot and cold spots, with false-discovery control.

    Parameters
    ----------
    y : array-like
        Values per area.
    w : libpysal.weights.W
        Neighbours (row-standardised for the statistics).
    ids : array-like, optional
        Area codes, in the order of ``y``.
    permutations : int
        Conditional permutations for the local (and global) pseudo p-values.
    alpha : float
        False discovery rate (or plain significance level with ``fdr=False``).
    fdr : bool
        Control the false discovery rate (Benjamini-Hochberg) across areas.
    seed : int, optional

    Attributes
    ----------
    moran : esda.Moran
        ``I``, ``EI``, ``z_sim``, ``p_sim``.
    local : esda.Moran_Local
        ``Is``, ``q`` (1 HH, 2 LH, 3 LL, 4 HL), ``p_sim``.
    threshold : float
        p-value cut-off used (the FDR cut-off, or ``alpha``).
    significant : ndarray of bool
    labels : ndarray of str
        hot spot, cold spot, high-low outlier, low-high outlier or not significant.
    frame : DataFrame
        code, value, local_i, quadrant, p_sim, significant, label.
    counts : dict
        Areas per label.
    """

    def __init__(self, y, w: W, ids=None, *, permutations: int = 999, alpha: float = 0.05,
                 fdr_control: bool = True, seed: int | None = 1) -> None:
        y = np.asarray(y, dtype=float)
        if len(y) != w.n:
            raise InputError(f"{len(y)} values but {w.n} areas in the weights.")
        if not np.isfinite(y).all():
            raise InputError("Hot spots need a value for every area; drop the gaps first.")
        if np.nanstd(y) == 0:
            raise InputError("The indicator takes one value everywhere: there are no hot spots.")
        check_permutations(permutations)
        self.ids = np.asarray(ids if ids is not None else np.arange(len(y)), dtype=object)
        self.y, self.w = y, w
        self.permutations, self.alpha, self.fdr = permutations, alpha, fdr_control
        w.transform = "r"
        state = np.random.get_state()  # esda.Moran permutes with the global generator
        try:
            if seed is not None:
                np.random.seed(seed)
            self.moran = Moran(y, w, transformation="r", permutations=permutations)
        finally:
            np.random.set_state(state)
        with warnings.catch_warnings():
            # esda 2.x warns that its default pseudo p-value (folded, as in GeoDa) will change
            # in its next major release and offers no switch in Moran_Local yet; the folded
            # p-value is the one documented in docs/methods/left-behind.md.
            warnings.filterwarnings("ignore", "The alternative hypothesis", DeprecationWarning)
            self.local = Moran_Local(y, w, transformation="r", permutations=permutations,
                                     seed=seed, keep_simulations=False)
        p = np.asarray(self.local.p_sim)
        self.threshold = float(fdr(p, alpha)) if fdr_control else float(alpha)
        self.significant = p <= self.threshold
        q = np.asarray(self.local.q)
        self.labels = np.where(self.significant, pd.Series(q).map(QUADRANT_LABELS).to_numpy(),
                               NOT_SIGNIFICANT).astype(object)

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "code": self.ids,
            "value": self.y,
            "local_i": np.asarray(self.local.Is),
            "quadrant": np.asarray(self.local.q),
            "p_sim": np.asarray(self.local.p_sim),
            "significant": self.significant,
            "label": self.labels,
        })

    @property
    def counts(self) -> dict[str, int]:
        s = pd.Series(self.labels).value_counts()
        order = ["hot spot", "cold spot", "high-low outlier", "low-high outlier", NOT_SIGNIFICANT]
        return {k: int(s.get(k, 0)) for k in order}

    def summary(self) -> dict[str, object]:
        return {
            "areas": len(self.y),
            "morans_i": float(self.moran.I),
            "expected_i": float(self.moran.EI),
            "z_sim": float(self.moran.z_sim),
            "p_sim": float(self.moran.p_sim),
            "permutations": self.permutations,
            "alpha": self.alpha,
            "fdr": self.fdr,
            "threshold": self.threshold,
            "counts": self.counts,
        }

    @property
    def table(self) -> pd.DataFrame:
        """Map-ready points when the result came from the atlas (:func:`hotspot_points`), else the frame."""
        return hotspot_points(self) if getattr(self, "places", None) is not None else self.frame

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: what was tested (when known), the summary and every area."""
        from townhall.atlas.store import plain, records

        head = {k: getattr(self, k) for k in ("indicator", "level") if hasattr(self, k)}
        summary = {k: plain(v) if not isinstance(v, dict) else v for k, v in self.summary().items()}
        return {**head, "summary": summary,
                "points": records(self.table)}


def map_points(places: pd.DataFrame, values: pd.DataFrame | pd.Series, *,
               value: str = "value", label: str | None = None) -> pd.DataFrame:
    """Join values to area centroids for a map: code, name, lat, lon, value, label.

    Parameters
    ----------
    places : DataFrame
        code, name, lat, lon (as ``Atlas.areas``).
    values : DataFrame or Series
        With a ``code`` column (or indexed by code) and a ``value`` column.
    value : str
        The column holding the value.
    label : str, optional
        The column to use as label (default the formatted value).
    """
    v = values.rename(value).to_frame() if isinstance(values, pd.Series) else values
    if "code" not in v.columns:
        v = v.rename_axis("code").reset_index()
    df = places[["code", "name", "lat", "lon"]].merge(v, on="code", how="inner")
    df = df.rename(columns={value: "value"})
    df["label"] = df[label] if label else [f"{x:.3g}" if pd.notna(x) else "" for x in df["value"]]
    rest = [c for c in df.columns if c not in ("code", "name", "lat", "lon", "value", "label")]
    return df[["code", "name", "lat", "lon", "value", "label", *rest]]


def hotspots(
    atlas: Atlas,
    indicator: str,
    level: str = "lsoa21",
    *,
    k: int = 8,
    band_km: float | None = None,
    permutations: int = 999,
    alpha: float = 0.05,
    fdr_control: bool = True,
    seed: int | None = 1,
) -> Hotspots:
    """Moran's I and LISA hot and cold spots of an atlas indicator at a level.

    Parameters
    ----------
    atlas : Atlas
    indicator : str
    level : str
        Areas to test (default LSOA 2021; any level with centroids works).
    k : int
        Nearest neighbours (ignored with ``band_km``).
    band_km : float, optional
        Use a distance band of this many km instead of k nearest neighbours.
    permutations, alpha, fdr_control, seed
        See :class:`Hotspots`.

    Returns
    -------
    Hotspots
        With ``indicator``, ``level`` and ``places`` attributes, and :meth:`points`
        giving map-ready points.
    """
    v = atlas.values(indicator, level=level)[["area", "value"]].rename(columns={"area": "code"})
    places = atlas.areas(level)[["code", "name", "lat", "lon"]]
    df = v.merge(places, on="code", how="inner").dropna(subset=["value", "lat", "lon"])
    if len(df) < 10:
        raise InputError(f"Only {len(df)} {level} areas have {indicator} and a centroid: too few.")
    df = df.reset_index(drop=True)
    w = band_weights(df["lat"], df["lon"], band_km) if band_km else knn_weights(df["lat"], df["lon"], k)
    h = Hotspots(df["value"].to_numpy(), w, df["code"].to_numpy(), permutations=permutations,
                 alpha=alpha, fdr_control=fdr_control, seed=seed)
    h.indicator, h.level, h.places = indicator, level, df[["code", "name", "lat", "lon"]]  # type: ignore[attr-defined]
    return h


def hotspot_points(h: Hotspots) -> pd.DataFrame:
    """Map-ready points for a :func:`hotspots` result: code, name, lat, lon, value, label, p_sim."""
    places = getattr(h, "places", None)
    if places is None:
        raise InputError("These hot spots carry no centroids; use townhall.measures.spatial.hotspots.")
    return map_points(places, h.frame[["code", "value", "label", "p_sim", "local_i"]], label="label")
