"""Maps drawn on the server as SVG: choropleths, hex cartograms, dot maps and locator maps.

Pure functions return SVG strings; the only reader is :func:`shapes`, which
takes the simplified boundaries the build stored (table ``boundary``, written
by :mod:`townhall.atlas.boundaries`). Every wing can reuse them::

    from townhall.web import maps
    shp = maps.shapes(atlas, "pcon24")                       # code, path, x, y, bounds, region
    cls = maps.classify(values, k=5, method="quantile")      # -> Classes (breaks, colours, legend)
    svg = maps.choropleth_svg(frame, cls, title="Turnout 2024", level="pcon24",
                              source="House of Commons Library", unit="%")

Signatures
----------
``shapes(atlas, level, kind="geo", region=None) -> DataFrame``
    Boundaries of a level (``kind`` ``geo`` or ``hex``), optionally one region (E12.../W92000004).
``classify(values, k=5, method="quantile"|"jenks", polarity=0, palette="viridis") -> Classes``
    Class breaks and colours; ``polarity`` -1 or 0: higher values darker; +1: lower values darker
    (darker always means worse where the indicator has a direction).
``categorical(labels, palette=CATEGORICAL) -> Classes``
    Colours for named classes (hot spot, cold spot...).
``choropleth_svg(frame, classes, *, title, level, unit="", source="", desc="", highlight=None,
                 outline=None, link=True, kind="geo", value_text=None) -> str``
    ``frame``: shapes merged with ``name``, ``value`` (or ``label`` for categories) and optional
    ``rank``/``of``. Each shape is an ``<a>`` to the place page with an ``aria-label`` naming the
    place, value and rank (read by ``/static/map.js`` for the hover box; no JavaScript needed to
    click). Shapes without a value are drawn grey and say so.
``dots_svg(points, classes, *, title, unit="", source="", desc="", per_dot=False) -> str``
    Points (``x``, ``y`` in map units from :func:`project`) coloured by class; with
    ``per_dot`` each dot is a link with a label (for a region), else one path per class.
``locator_svg(frame, code, *, title, outline=None) -> str``
    One place highlighted among its neighbours (the place page's map of its region).
``legend_html(classes, unit="", note="") -> str``
    The legend as HTML (swatches and ranges), for pages that put it beside the map.
``project(lat, lon) -> (x, y)``
    WGS84 to the boundary table's map units (British National Grid / 100 m, north up).
``geojson(frame) -> dict``
    A FeatureCollection of simplified shapes (British National Grid metres, EPSG:27700) with the
    frame's other columns as properties, for download.

Colours are colour-blind-safe sequential ramps written out as hex lists (viridis and
cividis, 5 to 7 classes); the legend states which way is worse.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

#: Metres per map unit, and the northing of y = 0 (as :mod:`townhall.atlas.boundaries` wrote them).
GRID, NORTH = 100.0, 700_000.0

#: Sequential ramps, light to dark, by number of classes (viridis and cividis, sampled evenly).
PALETTES: dict[str, dict[int, list[str]]] = {
    "viridis": {
        3: ["#fde725", "#21918c", "#440154"],
        4: ["#fde725", "#35b779", "#31688e", "#440154"],
        5: ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"],
        6: ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"],
        7: ["#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154"],
    },
    "cividis": {
        3: ["#fee838", "#7c7b78", "#00204d"],
        4: ["#fee838", "#a69d75", "#575c6d", "#00204d"],
        5: ["#fee838", "#bcaf6f", "#7c7b78", "#414d6b", "#00204d"],
        6: ["#fee838", "#cbba69", "#958f78", "#666970", "#31446b", "#00204d"],
        7: ["#fee838", "#d3c164", "#a69d75", "#7c7b78", "#575c6d", "#233e6c", "#00204d"],
    },
}
#: Named classes (Okabe-Ito, safe for colour-blind readers).
CATEGORICAL = ["#d55e00", "#0072b2", "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#f0e442", "#000000"]
NO_DATA = "#eceff2"
#: Hot and cold spots: hot = vermilion, cold = blue, outliers lighter, not significant grey.
HOTSPOT_COLOURS = {"hot spot": "#d55e00", "cold spot": "#0072b2", "high-low outlier": "#e69f00",
                   "low-high outlier": "#56b4e9", "not significant": "#d9dde2"}


@dataclass
class Classes:
    """Classes of a map: breaks (upper bounds, ascending) or labels, and a colour for each.

    Attributes
    ----------
    colours : list of str
        One colour per class (hex).
    breaks : list of float
        Upper bound of each class but the last (numeric classes), ascending.
    labels : list of str
        Legend text of each class.
    method : str
        'quantile', 'jenks' or 'categories'.
    direction : str
        What darker means, in words (for the legend).
    lo, hi : float
        Range of the values.
    """

    colours: list[str]
    breaks: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    method: str = "quantile"
    direction: str = ""
    lo: float = float("nan")
    hi: float = float("nan")

    def colour(self, value: Any) -> str:
        """The fill of one value (or category label)."""
        if self.method == "categories":
            try:
                return self.colours[self.labels.index(str(value))]
            except ValueError:
                return NO_DATA
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return NO_DATA
        i = int(np.searchsorted(np.asarray(self.breaks), float(value), side="left"))
        return self.colours[min(i, len(self.colours) - 1)]

    def colour_all(self, values: Any) -> list[str]:
        if self.method == "categories":
            return [self.colour(v) for v in values]
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        idx = np.minimum(np.searchsorted(np.asarray(self.breaks, dtype=float), v, side="left"), len(self.colours) - 1)
        return [NO_DATA if not math.isfinite(x) else self.colours[i] for x, i in zip(v, idx, strict=True)]


def jenks_breaks(values: np.ndarray, k: int) -> list[float]:
    """Fisher-Jenks natural breaks (optimal within-class variance) on up to 1,000 sorted values.

    Returns the upper bound of each class but the last.
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) > 1000:  # evenly spaced order statistics keep the shape, bound the O(k n^2) work
        x = x[np.linspace(0, len(x) - 1, 1000).round().astype(int)]
    n = len(x)
    k = min(k, len(np.unique(x)))
    if k < 2:
        return []
    s1, s2 = np.concatenate([[0], np.cumsum(x)]), np.concatenate([[0], np.cumsum(x * x)])

    def ssd(i: np.ndarray, j: int) -> np.ndarray:  # within-class sum of squares of x[i:j]
        cnt = j - i
        s = s1[j] - s1[i]
        return (s2[j] - s2[i]) - s * s / np.maximum(cnt, 1)

    cost = np.full((k + 1, n + 1), np.inf)
    back = np.zeros((k + 1, n + 1), dtype=int)
    cost[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            i = np.arange(c - 1, j)
            tot = cost[c - 1, i] + ssd(i, j)
            b = int(np.argmin(tot))
            cost[c, j], back[c, j] = tot[b], i[b]
    cuts, j = [], n
    for c in range(k, 0, -1):
        i = back[c, j]
        cuts.append(i)
        j = i
    starts = sorted(cuts)[1:]
    return [float(x[s - 1]) for s in starts]


def classify(values: Any, k: int = 5, method: str = "quantile", polarity: int | float | None = 0,
             palette: str = "viridis") -> Classes:
    """Class breaks and colours for a choropleth.

    Parameters
    ----------
    values : array-like
        The values to map (missing values ignored).
    k : int
        Number of classes (3 to 7).
    method : {'quantile', 'jenks'}
        Equal-count classes, or Fisher-Jenks natural breaks.
    polarity : int
        The indicator's polarity: +1 higher is better (so low values are drawn dark),
        -1 higher is worse, 0 no direction (high values dark).
    palette : {'viridis', 'cividis'}
    """
    if method not in ("quantile", "jenks"):
        from townhall.errors import TownhallError

        raise TownhallError(f"Unknown classification {method!r}.", hint="Use 'quantile' or 'jenks'.")
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    k = max(3, min(7, int(k)))
    if len(v) == 0:
        return Classes([NO_DATA], [], ["no data"], method, "")
    if method == "jenks":
        breaks = jenks_breaks(v, k)
    else:
        breaks = [float(b) for b in np.quantile(v, np.arange(1, k) / k)]
    breaks = sorted(set(breaks))
    n = len(breaks) + 1
    ramp = PALETTES.get(palette, PALETTES["viridis"])[max(3, n)][:n] if n >= 3 else PALETTES[palette][3][:n]
    pol = polarity or 0
    # Darker = worse: a higher-is-better indicator puts its dark colours on the low values.
    colours = list(reversed(ramp)) if pol > 0 else list(ramp)
    if pol > 0:
        direction = "darker = worse (lower values; higher is better)"
    elif pol < 0:
        direction = "darker = worse (higher values)"
    else:
        direction = "darker = higher (no better or worse direction)"
    lo, hi = float(v.min()), float(v.max())
    edges = [lo, *breaks, hi]
    labels = [f"{_short(edges[i])} to {_short(edges[i + 1])}" for i in range(n)]
    return Classes(colours, breaks, labels, method, direction, lo, hi)


def categorical(labels: list[str], colours: dict[str, str] | None = None) -> Classes:
    """Classes for named categories (in the order given), coloured from ``colours`` or Okabe-Ito."""
    cols = [(colours or {}).get(lb) or CATEGORICAL[i % len(CATEGORICAL)] for i, lb in enumerate(labels)]
    return Classes(cols, [], [str(lb) for lb in labels], "categories", "")


def _short(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    if a >= 1:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


# -- reading the stored boundaries ----------------------------------------------------------
def shapes(atlas: Atlas, level: str, kind: str = "geo", region: str | None = None) -> pd.DataFrame:
    """Stored boundaries of a level: code, country, region, path, x, y, minx, miny, maxx, maxy.

    Empty when the atlas was built without boundaries for that level.
    """
    sql = ("SELECT code, country, region, path, x, y, minx, miny, maxx, maxy FROM boundary "
           "WHERE level = ? AND kind = ?" + (" AND region = ?" if region else "") + " ORDER BY code")
    try:
        return atlas.query(sql, [level, kind] + ([region] if region else []))
    except Exception:  # an atlas built before boundaries existed
        return pd.DataFrame(columns=["code", "country", "region", "path", "x", "y", "minx", "miny", "maxx", "maxy"])


def project(lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 latitude/longitude to map units (x = easting / 100 m, y = (700 km - northing) / 100 m)."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    e, n = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(e) / GRID, (NORTH - np.asarray(n)) / GRID


# -- drawing ----------------------------------------------------------------------------------
def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _viewbox(df: pd.DataFrame, pad: float = 0.02) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = float(df["minx"].min()), float(df["miny"].min()), float(df["maxx"].max()), float(df["maxy"].max())
    w, h = x1 - x0, y1 - y0
    p = max(w, h) * pad
    return x0 - p, y0 - p, w + 2 * p, h + 2 * p


def _open(vb: tuple[float, float, float, float], title: str, desc: str, cls: str, extra: str = "",
          role: str = "img") -> list[str]:
    """The opening of a map: ``role="img"`` for a picture, ``"group"`` when it holds links."""
    x, y, w, h = vb
    tid = "t" + re.sub(r"[^a-z0-9]", "", title.lower())[:24] + str(abs(hash(title)) % 10_000)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="{x:.0f} {y:.0f} {w:.0f} {h:.0f}" '
        f'role="{role}" aria-labelledby="{tid} {tid}d" preserveAspectRatio="xMidYMid meet"{extra}>',
        f'<title id="{tid}">{_e(title)}</title><desc id="{tid}d">{_e(desc)}</desc>',
    ]


def choropleth_svg(frame: pd.DataFrame, classes: Classes, *, title: str, level: str, unit: str = "",
                   source: str = "", desc: str = "", highlight: str | None = None,
                   outline: pd.DataFrame | None = None, link: bool = True, kind: str = "geo",
                   value_text: list[str] | None = None) -> str:
    """A choropleth of ``frame`` (shapes with name, value or label, rank, of) as SVG.

    Parameters
    ----------
    frame : DataFrame
        From :func:`shapes`, merged with ``name`` and ``value`` (numbers) or ``label``
        (categories), optionally ``rank`` and ``of`` (the number ranked).
    classes : Classes
    title, desc : str
        Accessible title and description (the description should say what the map shows
        in a sentence, e.g. the highest and lowest places).
    level : str
        Level of the shapes, for the links (``/place/{level}/{code}``).
    unit : str
        Unit text for the hover labels.
    source : str
        Source line drawn under the map.
    highlight : str, optional
        Code of a place to outline.
    outline : DataFrame, optional
        Shapes (``path``) drawn on top as thin outlines (regions).
    link : bool
        Make each shape a link to its place page.
    kind : str
        'geo' or 'hex' (hex maps get a thicker white stroke).
    value_text : list of str, optional
        Display text of each value (default: compact numbers).
    """
    if frame.empty:
        return ""
    vb = _viewbox(frame)
    n_valued = int(pd.to_numeric(frame.get("value"), errors="coerce").notna().sum()) if "value" in frame else len(frame)
    d = desc or f"Map of {len(frame):,} areas, {n_valued:,} with a value."
    out = _open(vb, title, d, f"map {kind}", f' data-level="{_e(level)}"', "group" if link else "img")
    # Strokes are in screen pixels (non-scaling), so they look alike at any zoom and size.
    out.append("<style>path{vector-effect:non-scaling-stroke}</style>")
    out.append(f'<g class="areas" stroke="#ffffff" stroke-width="{1.2 if kind == "hex" else 0.4}" '
               'stroke-linejoin="round">')
    if "label" in frame and classes.method == "categories":
        fills = classes.colour_all(frame["label"])
    else:
        fills = classes.colour_all(frame["value"] if "value" in frame else [None] * len(frame))
    vals = frame["value"].tolist() if "value" in frame else [None] * len(frame)
    texts = value_text if value_text is not None else [
        ("no data" if v is None or (isinstance(v, float) and not math.isfinite(v)) else _short(float(v)) + (f" {unit}" if unit else ""))
        if not isinstance(v, str) else v for v in vals]
    names = frame["name"].tolist() if "name" in frame else frame["code"].tolist()
    ranks = frame["rank"].tolist() if "rank" in frame else [None] * len(frame)
    ofs = frame["of"].tolist() if "of" in frame else [None] * len(frame)
    labels = frame["label"].tolist() if "label" in frame else [None] * len(frame)
    for code, path, fill, nm, txt, rk, of, lab in zip(frame["code"], frame["path"], fills, names, texts, ranks, ofs,
                                                       labels, strict=True):
        parts = [str(nm), txt]
        if lab is not None and classes.method == "categories" and lab != txt:
            parts.append(str(lab))
        if rk is not None and not (isinstance(rk, float) and math.isnan(rk)):
            parts.append(f"rank {int(rk):,}" + (f" of {int(of):,}" if of else ""))
        label = _e(", ".join(p for p in parts if p))
        shape = f'<path d="{path}" fill="{fill}"/>'
        if link:
            out.append(f'<a href="/place/{_e(level)}/{_e(code)}" aria-label="{label}" data-code="{_e(code)}">{shape}</a>')
        else:
            out.append(f'<g aria-label="{label}" data-code="{_e(code)}" role="img">{shape}</g>')
    out.append("</g>")
    if outline is not None and not outline.empty:
        out.append('<g class="outline" fill="none" stroke="#1b1f24" stroke-width="1" '
                   'stroke-opacity="0.6" pointer-events="none">')
        out.extend(f'<path d="{p}"/>' for p in outline["path"])
        out.append("</g>")
    if highlight is not None and highlight in set(frame["code"]):
        p = frame.loc[frame["code"] == highlight, "path"].iloc[0]
        out.append(f'<path class="hl" d="{p}" fill="none" stroke="#1b1f24" stroke-width="2.5" '
                   'pointer-events="none"/>')
    if source:
        out.append(f'<text x="{vb[0] + vb[2] * 0.01:.0f}" y="{vb[1] + vb[3] * 0.985:.0f}" font-size="{vb[2] / 60:.0f}" '
                   f'fill="#4a525c">{_e(source)}</text>')
    out.append("</svg>")
    return "".join(out)


def dots_svg(points: pd.DataFrame, classes: Classes, *, title: str, level: str = "lsoa21", unit: str = "",
             source: str = "", desc: str = "", per_dot: bool = False, outline: pd.DataFrame | None = None,
             radius: float | None = None) -> str:
    """A dot map: one dot per point (``x``, ``y`` map units; ``value`` or ``label``), coloured by class.

    With ``per_dot`` each dot is a link with a label (fine for a region's few thousand
    dots); otherwise dots of a class share one path (a national map of 35,000 small
    areas stays small), and hover shows nothing but the class.
    """
    pts = points.dropna(subset=["x", "y"])
    if pts.empty:
        return ""
    bounds = pd.DataFrame({"minx": [pts["x"].min()], "miny": [pts["y"].min()],
                           "maxx": [pts["x"].max()], "maxy": [pts["y"].max()]})
    if outline is not None and not outline.empty:
        bounds = pd.concat([bounds, outline[["minx", "miny", "maxx", "maxy"]]])
    vb = _viewbox(bounds)
    r = radius or max(vb[2], vb[3]) / (260 if per_dot else 420)
    out = _open(vb, title, desc or f"Dot map of {len(pts):,} small areas.", "map dots", f' data-level="{_e(level)}"',
                "group" if per_dot else "img")
    if outline is not None and not outline.empty:
        out.append("<style>.base path{vector-effect:non-scaling-stroke}</style>")
        out.append('<g class="base" fill="#f4f6f8" stroke="#9aa3ad" stroke-width="0.8">')
        out.extend(f'<path d="{p}"/>' for p in outline["path"])
        out.append("</g>")
    key = "label" if classes.method == "categories" else "value"
    fills = classes.colour_all(pts[key])
    if per_dot:
        out.append('<g class="areas">')
        texts = [str(t) for t in (pts["text"] if "text" in pts else pts[key])]
        for code, x, y, f, nm, t in zip(pts["code"], pts["x"], pts["y"], fills, pts["name"], texts, strict=True):
            out.append(f'<a href="/place/{_e(level)}/{_e(code)}" aria-label="{_e(nm)}, {_e(t)}" data-code="{_e(code)}">'
                       f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{r:.1f}" fill="{f}"/></a>')
        out.append("</g>")
    else:
        # One path per colour: each dot is a zero-length segment drawn with a round cap.
        by: dict[str, list[str]] = {}
        for x, y, f in zip(pts["x"].round().astype(int), pts["y"].round().astype(int), fills, strict=True):
            by.setdefault(f, []).append(f"M{x} {y}h0")
        # Background classes first: named classes are listed most important first, so draw them last.
        ramp = list(reversed(classes.colours)) if classes.method == "categories" else classes.colours
        order = [NO_DATA, *[c for c in ramp if c != NO_DATA]]
        for f in sorted(by, key=lambda c: order.index(c) if c in order else 99):
            lab = classes.labels[classes.colours.index(f)] if f in classes.colours else "no data"
            out.append(f'<path d="{"".join(by[f])}" stroke="{f}" stroke-width="{2 * r:.1f}" stroke-linecap="round" '
                       f'fill="none"><title>{_e(lab)}</title></path>')
    if source:
        out.append(f'<text x="{vb[0] + vb[2] * 0.01:.0f}" y="{vb[1] + vb[3] * 0.985:.0f}" font-size="{vb[2] / 60:.0f}" '
                   f'fill="#4a525c">{_e(source)}</text>')
    out.append("</svg>")
    return "".join(out)


def locator_svg(frame: pd.DataFrame, code: str, *, title: str, level: str,
                outline: pd.DataFrame | None = None) -> str:
    """One place (``code``) highlighted among the shapes of ``frame`` (its region), others linked."""
    if frame.empty or code not in set(frame["code"]):
        return ""
    classes = categorical(["this place", "other"], {"this place": "#d55e00", "other": "#cfd5dc"})
    f = frame.copy()
    f["label"] = np.where(f["code"] == code, "this place", "other")
    f["value"] = f["label"]
    name = f.loc[f["code"] == code, "name"].iloc[0] if "name" in f else code
    return choropleth_svg(f, classes, title=title, level=level, desc=f"{name} (orange) among its neighbours.",
                          highlight=code, outline=outline, value_text=[""] * len(f))


def legend_html(classes: Classes, unit: str = "", note: str = "") -> str:
    """The legend as HTML: a swatch and range per class, what darker means, and a note."""
    items = "".join(
        f'<li><span class="sw" style="background:{c}"></span>{_e(lb)}{(" " + _e(unit)) if unit and classes.method != "categories" else ""}</li>'
        for c, lb in zip(classes.colours, classes.labels, strict=False))
    method = {"quantile": "equal-count classes (quantiles)", "jenks": "natural breaks (Fisher-Jenks)",
              "categories": ""}.get(classes.method, "")
    extra = "; ".join(x for x in (method, classes.direction) if x)
    nd = f'<li><span class="sw nd" style="background:{NO_DATA}"></span>no data</li>' if classes.method != "categories" else ""
    return (f'<div class="legend"><ul>{items}{nd}</ul>'
            + (f'<p class="muted">{_e(extra)}</p>' if extra else "")
            + (f'<p class="muted">{_e(note)}</p>' if note else "") + "</div>")


_PATH_TOKEN = re.compile(r"[Mlz]|-?\d+")


def _rings(path: str, scale: float = GRID, north: float = NORTH) -> list[list[tuple[float, float]]]:
    """Parse a stored path back into rings of BNG coordinates (metres)."""
    rings: list[list[tuple[float, float]]] = []
    toks = _PATH_TOKEN.findall(path)
    i, cur = 0, None
    while i < len(toks):
        t = toks[i]
        if t == "M":
            x, y = int(toks[i + 1]), int(toks[i + 2])
            cur = [(x, y)]
            rings.append(cur)
            i += 3
        elif t == "l" or t == "z":
            i += 1
        else:
            x, y = cur[-1][0] + int(t), cur[-1][1] + int(toks[i + 1])
            cur.append((x, y))
            i += 2
    return [[(x * scale, north - y * scale) for x, y in r] + [(r[0][0] * scale, north - r[0][1] * scale)]
            for r in rings]


def geojson(frame: pd.DataFrame) -> dict[str, Any]:
    """Shapes as a GeoJSON FeatureCollection in British National Grid metres (EPSG:27700).

    Rings are those of the simplified map (a ring's holes are not told apart from its
    islands: each ring is its own polygon), enough to re-draw the map elsewhere.
    """
    from townhall.atlas.store import plain

    props = [c for c in frame.columns if c not in ("path", "minx", "miny", "maxx", "maxy")]
    feats = []
    for r in frame.to_dict(orient="records"):
        rings = _rings(r["path"])
        feats.append({"type": "Feature",
                      "geometry": {"type": "MultiPolygon",
                                   "coordinates": [[[list(p) for p in ring]] for ring in rings]},
                      "properties": {k: plain(r[k]) for k in props}})
    return {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
            "features": feats}
