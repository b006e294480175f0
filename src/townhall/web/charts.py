"""Charts drawn on the server as SVG strings: histograms, strips, time series and bars.

Every chart carries a ``<title>`` and ``<desc>`` (its text alternative), names its
units on the axis and ends with a source line. Pure functions; any wing may reuse
them (serve one alone with :func:`svg_response` for an ``image/svg+xml`` download).

Signatures
----------
``histogram_svg(values, *, title, unit="", source="", classes=None, marker=None, marker_label="",
                bins=30) -> str``
    Distribution of values; bars coloured by the map's classes when given; an optional
    marker line (this place).
``strip_svg(values, value, *, title, unit="", source="", polarity=0, label="") -> str``
    'Where this place sits': every place of the level as a tick, this one as a dot, with
    its percentile.
``line_svg(periods, values, *, title, unit="", source="", lower=None, upper=None, series=None)
        -> str``
    A time series (one or more series), with a shaded interval where given.
``bars_svg(rows, *, title, unit="", source="", percent=False) -> str``
    Horizontal bars for groups: each row ``label``, ``value`` and optional ``lower``/``upper``
    (drawn as an interval) and ``n``.
``dot_interval_svg(rows, *, title, unit="", ...) -> str``
    Dots with intervals around zero (gaps), from :mod:`townhall.web.towns`.
``svg_response(svg, name) -> Response``
    An SVG as a download (``image/svg+xml``).
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from fastapi.responses import Response

INK, MUTED, GRIDC, ACCENT, MARK = "#1b1f24", "#4a525c", "#d8dde3", "#1d5fa8", "#d55e00"
FONT = 'font-family="system-ui, sans-serif"'


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _id(title: str) -> str:
    return "c" + re.sub(r"[^a-z0-9]", "", title.lower())[:20] + str(abs(hash(title)) % 100_000)


def _open(w: int, h: int, title: str, desc: str, cls: str) -> list[str]:
    i = _id(title + cls)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="0 0 {w} {h}" {FONT} '
            f'role="img" aria-labelledby="{i} {i}d">',
            f'<title id="{i}">{_e(title)}</title><desc id="{i}d">{_e(desc)}</desc>',
            f'<rect width="{w}" height="{h}" fill="#ffffff"/>']


def _text(x: float, y: float, s: str, size: int = 11, anchor: str = "start", fill: str = MUTED,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"'
            f'{" font-weight=" + chr(34) + weight + chr(34) if weight != "normal" else ""}>{_e(s)}</text>')


def fmt(v: float) -> str:
    """Compact axis numbers: thousands separators, at most three significant figures."""
    if v is None or not math.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a == int(a):
        return f"{int(v)}"
    return f"{v:.3g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values spanning [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while True:  # up to the first tick at or above hi, so every value is inside the axis
        ticks.append(round(t, 10))
        if t >= hi - step * 1e-9 or len(ticks) > 50:
            break
        t += step
    return ticks


def histogram_svg(values: Any, *, title: str, unit: str = "", source: str = "", classes: Any = None,
                  marker: float | None = None, marker_label: str = "", bins: int = 30,
                  width: int = 640, height: int = 220) -> str:
    """A histogram of ``values`` (see the module docstring)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return ""
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        hi = lo + 1
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    left, right, top, bottom = 44, 12, 10, 48
    pw, ph = width - left - right, height - top - bottom
    cmax = counts.max() or 1

    def x(val: float) -> float:
        return left + pw * (val - lo) / (hi - lo)

    desc = (f"{len(v):,} values from {fmt(lo)} to {fmt(hi)} {unit}, median {fmt(float(np.median(v)))}"
            + (f"; {marker_label} at {fmt(marker)}" if marker is not None else "") + ".")
    out = _open(width, height, title, desc, "histogram")
    for t in nice_ticks(0, float(cmax), 4):
        y = top + ph - ph * t / cmax
        if t <= cmax:
            out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRIDC}"/>')
            out.append(_text(left - 4, y + 4, fmt(t), anchor="end"))
    for c, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        if c == 0:
            continue
        fill = classes.colour((a + b) / 2) if classes is not None else ACCENT
        h = ph * c / cmax
        out.append(f'<rect x="{x(a) + 0.5:.1f}" y="{top + ph - h:.1f}" width="{max(x(b) - x(a) - 1, 0.5):.1f}" '
                   f'height="{h:.1f}" fill="{fill}"><title>{fmt(a)} to {fmt(b)}: {c:,}</title></rect>')
    for t in nice_ticks(lo, hi, 6):
        if lo <= t <= hi:
            out.append(_text(x(t), top + ph + 14, fmt(t), anchor="middle"))
    out.append(_text(left + pw / 2, top + ph + 30, f"{unit or 'value'} (number of areas on the vertical axis)",
                     anchor="middle"))
    if marker is not None and math.isfinite(marker):
        out.append(f'<line x1="{x(marker):.1f}" x2="{x(marker):.1f}" y1="{top}" y2="{top + ph}" stroke="{MARK}" '
                   'stroke-width="2.5"/>')
        out.append(_text(min(x(marker) + 4, width - 80), top + 10, marker_label or fmt(marker), fill=INK, weight="600"))
    if source:
        out.append(_text(4, height - 4, f"Source: {source}", size=10))
    out.append("</svg>")
    return "".join(out)


def strip_svg(values: Any, value: float | None, *, title: str, unit: str = "", source: str = "",
              polarity: int | float | None = 0, label: str = "", width: int = 640, height: int = 96) -> str:
    """Every place of a level as a thin tick on one axis, this place as a dot (see the module docstring)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    if len(v) == 0 or value is None or not math.isfinite(value):
        return ""
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        hi = lo + 1
    left, right = 16, 16
    pw = width - left - right

    def x(val: float) -> float:
        return left + pw * (val - lo) / (hi - lo)

    pct = 100.0 * float((v < value).sum() + 0.5 * (v == value).sum()) / len(v)
    pol = polarity or 0
    better = "" if not pol else f"; better than {round(pct if pol > 0 else 100 - pct)}% of them"
    desc = f"{label or 'This place'}: {fmt(value)} {unit}, higher than {round(pct)}% of {len(v):,} places{better}."
    out = _open(width, height, title, desc, "strip")
    y0, y1 = 18, 50
    ticks = np.unique(np.round(left + pw * (v - lo) / (hi - lo), 1))  # one tick per pixel column
    out.append(f'<path d="{"".join(f"M{t} {y0}V{y1}" for t in ticks)}" stroke="#9aa3ad" stroke-width="1" '
               'stroke-opacity="0.5"/>')
    med = float(np.median(v))
    out.append(f'<line x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{y0 - 6}" y2="{y1 + 6}" stroke="{INK}" '
               'stroke-dasharray="3 2"/>')
    out.append(f'<circle cx="{x(value):.1f}" cy="{(y0 + y1) / 2:.1f}" r="7" fill="{MARK}" stroke="#fff" '
               'stroke-width="2"/>')
    out.append(_text(left, y1 + 18, f"{fmt(lo)}", anchor="start"))
    out.append(_text(width - right, y1 + 18, f"{fmt(hi)} {unit}".strip(), anchor="end"))
    out.append(_text(x(med), y0 - 8, f"median {fmt(med)}", anchor="middle", size=10))
    out.append(_text(width / 2, y1 + 18, f"{label or 'this place'}: {fmt(value)}{(' ' + unit) if unit else ''}, "
                     f"{round(pct)}th percentile", anchor="middle", fill=INK, weight="600"))
    if source:
        out.append(_text(4, height - 4, f"Source: {source}", size=10))
    out.append("</svg>")
    return "".join(out)


def line_svg(periods: list[str], values: list[float | None], *, title: str, unit: str = "", source: str = "",
             lower: list[float | None] | None = None, upper: list[float | None] | None = None,
             series: dict[str, list[float | None]] | None = None, width: int = 640, height: int = 240) -> str:
    """A time series over ``periods`` (labels in order), with a shaded interval where given.

    ``series`` adds more lines (name -> values), e.g. the median of all places.
    """
    lines = {"this place": values, **(series or {})}
    allv = [float(x) for vs in [*lines.values(), lower or [], upper or []] for x in vs
            if x is not None and math.isfinite(float(x))]
    if not allv or len(periods) < 2:
        return ""
    ticks = nice_ticks(min(allv), max(allv), 4)
    lo, hi = ticks[0], ticks[-1]
    if hi == lo:
        hi = lo + 1
    left, right, top, bottom = 56, 20, 14, 46
    pw, ph = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + pw * i / max(len(periods) - 1, 1)

    def y(v: float) -> float:
        return top + ph - ph * (v - lo) / (hi - lo)

    first = next((v for v in values if v is not None), None)
    last = next((v for v in reversed(values) if v is not None), None)
    desc = f"{title}: from {fmt(first) if first is not None else '–'} ({periods[0]}) to " \
           f"{fmt(last) if last is not None else '–'} ({periods[-1]}) {unit}."
    out = _open(width, height, title, desc, "line")
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRIDC}"/>')
        out.append(_text(left - 6, y(t) + 4, fmt(t), anchor="end"))
    step = max(1, math.ceil(len(periods) / 8))
    for i, p in enumerate(periods):
        if i % step == 0 or i == len(periods) - 1:
            out.append(_text(x(i), top + ph + 16, str(p), anchor="middle"))
    out.append(_text(left - 50, top - 2, unit, size=10))
    if lower is not None and upper is not None:
        pts = [(i, lo_, hi_) for i, (lo_, hi_) in enumerate(zip(lower, upper, strict=True))
               if lo_ is not None and hi_ is not None and math.isfinite(lo_) and math.isfinite(hi_)]
        if len(pts) >= 2:
            d = "M" + " L".join(f"{x(i):.1f} {y(h):.1f}" for i, _, h in pts) + " L" + \
                " L".join(f"{x(i):.1f} {y(lw):.1f}" for i, lw, _ in reversed(pts)) + "Z"
            out.append(f'<path d="{d}" fill="{ACCENT}" fill-opacity="0.15"><title>95% interval</title></path>')
        else:
            for i, lw, h in pts:
                out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(lw):.1f}" y2="{y(h):.1f}" '
                           f'stroke="{ACCENT}" stroke-width="2" opacity="0.5"/>')
    colours = [ACCENT, "#5b6470", MARK, "#009e73"]
    for k, (name, vs) in enumerate(lines.items()):
        col = colours[k % len(colours)]
        seg = [(i, float(v)) for i, v in enumerate(vs) if v is not None and math.isfinite(float(v))]
        if not seg:
            continue
        d = "M" + " L".join(f"{x(i):.1f} {y(v):.1f}" for i, v in seg)
        dash = ' stroke-dasharray="5 3"' if k else ""
        out.append(f'<path d="{d}" fill="none" stroke="{col}" stroke-width="2.2"{dash}/>')
        for i, v in seg:
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.2" fill="{col}"><title>{_e(name)}, '
                       f'{_e(periods[i])}: {fmt(v)} {_e(unit)}</title></circle>')
        if len(lines) > 1:
            out.append(_text(x(seg[-1][0]) - 4, y(seg[-1][1]) - 8, name, anchor="end", fill=col, size=10))
    if source:
        out.append(_text(4, height - 4, f"Source: {source}", size=10))
    out.append("</svg>")
    return "".join(out)


def bars_svg(rows: list[dict[str, Any]], *, title: str, unit: str = "", source: str = "", percent: bool = False,
             width: int = 640, row_height: int = 26, label_width: int = 200) -> str:
    """Horizontal bars with optional intervals (see the module docstring).

    ``percent``: values are shares (0-1), drawn and labelled as percentages.
    """
    rows = [r for r in rows if r.get("value") is not None and math.isfinite(float(r["value"]))]
    if not rows:
        return ""
    k = 100.0 if percent else 1.0
    vals = [float(r["value"]) * k for r in rows] + [float(r[b]) * k for r in rows for b in ("lower", "upper")
                                                     if r.get(b) is not None and math.isfinite(float(r[b]))]
    lo = min(0.0, min(vals))
    ticks = nice_ticks(lo, max(vals), 5)
    hi = ticks[-1] if ticks else max(vals)
    top, bottom = 8, 44
    height = top + bottom + row_height * len(rows)
    pw = width - label_width - 60

    def x(v: float) -> float:
        return label_width + pw * (v - lo) / ((hi - lo) or 1)

    u = "%" if percent else unit
    desc = "; ".join(f"{r['label']}: {fmt(float(r['value']) * k)}{u if percent else ''}" for r in rows[:12])
    out = _open(width, height, title, desc, "bars")
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - bottom + 4}" stroke="{GRIDC}"/>')
        out.append(_text(x(t), height - bottom + 18, fmt(t) + ("%" if percent else ""), anchor="middle"))
    out.append(_text(label_width + pw / 2, height - bottom + 32, u or "value", anchor="middle"))
    for i, r in enumerate(rows):
        cy = top + row_height * i + row_height / 2
        v = float(r["value"]) * k
        out.append(_text(label_width - 8, cy + 4, str(r["label"])[:34], anchor="end", fill=INK, size=12))
        x0, x1 = sorted((x(0 if lo <= 0 else lo), x(v)))
        tip = f"{r['label']}: {fmt(v)}{u if percent else ' ' + u}"
        if r.get("lower") is not None and r.get("upper") is not None:
            tip += f" (95% interval {fmt(float(r['lower']) * k)} to {fmt(float(r['upper']) * k)})"
        if r.get("n") is not None:
            tip += f", n = {int(r['n']):,}"
        out.append(f'<rect x="{x0:.1f}" y="{cy - row_height * 0.32:.1f}" width="{max(x1 - x0, 1):.1f}" '
                   f'height="{row_height * 0.64:.1f}" fill="{r.get("colour") or ACCENT}" opacity="0.85">'
                   f'<title>{_e(tip)}</title></rect>')
        if r.get("lower") is not None and r.get("upper") is not None:
            a, b = float(r["lower"]) * k, float(r["upper"]) * k
            if math.isfinite(a) and math.isfinite(b):
                out.append(f'<line x1="{x(a):.1f}" x2="{x(b):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{INK}" '
                           'stroke-width="1.6"/>')
                for e in (a, b):
                    out.append(f'<line x1="{x(e):.1f}" x2="{x(e):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" '
                               f'stroke="{INK}" stroke-width="1.6"/>')
        out.append(_text(max(x1, x(float(r["upper"]) * k) if r.get("upper") is not None
                             and math.isfinite(float(r["upper"])) else x1) + 6, cy + 4,
                         fmt(v) + ("%" if percent else ""), fill=INK))
    if source:
        out.append(_text(4, height - 4, f"Source: {source}", size=10))
    out.append("</svg>")
    return "".join(out)


def svg_response(svg: str, name: str) -> Response:
    """An SVG chart or map as a download (``image/svg+xml``)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="{safe}.svg"',
                             "Cache-Control": "max-age=3600"})


def dot_interval_svg(*args: Any, **kw: Any) -> str:
    """Dots with intervals around zero; see :func:`townhall.web.towns.dot_interval_svg`."""
    from townhall.web.towns import dot_interval_svg as draw

    return draw(*args, **kw)
