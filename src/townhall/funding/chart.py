"""Server-drawn SVG charts for the funding lab (no plotting library, no JavaScript)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

W, H, PAD = 660, 460, 56
#: Top and right margins (room for the labels of points at the edges).
TOP, RIGHT = 30, 70


def _scale(v: float, lo: float, hi: float, a: float, b: float) -> float:
    return a + (b - a) * ((v - lo) / (hi - lo) if hi > lo else 0.5)


def _axes(xlabel: str, ylabel: str, xlo: float, xhi: float, ylo: float, yhi: float, title: str) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f"<title>{escape(title)}</title>",
           f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - RIGHT}" y2="{H - PAD}" stroke="#333"/>',
           f'<line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{H - PAD}" stroke="#333"/>']
    for k in range(6):
        xv = xlo + (xhi - xlo) * k / 5
        yv = ylo + (yhi - ylo) * k / 5
        x = _scale(xv, xlo, xhi, PAD, W - RIGHT)
        y = _scale(yv, ylo, yhi, H - PAD, TOP)
        out.append(f'<line x1="{x:.1f}" y1="{H - PAD}" x2="{x:.1f}" y2="{H - PAD + 4}" stroke="#333"/>'
                   f'<text x="{x:.1f}" y="{H - PAD + 16}" text-anchor="middle">{xv:.3g}</text>')
        out.append(f'<line x1="{PAD - 4}" y1="{y:.1f}" x2="{PAD}" y2="{y:.1f}" stroke="#333"/>'
                   f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{PAD - 6}" y="{y + 4:.1f}" text-anchor="end">{yv:.3g}</text>')
    out.append(f'<text x="{(PAD + W - RIGHT) / 2:.0f}" y="{H - 14}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text transform="translate(14,{(H - PAD) / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f"{escape(ylabel)}</text>")
    return out


def frontier_svg(sweep: pd.DataFrame, points: pd.DataFrame, title: str = "Autonomy against equalisation") -> str:
    """The frontier: marginal retention (x) against the share of the capacity gap closed (y).

    ``sweep`` has columns rate, marginal_retention, gap_closed (a line); ``points`` has
    scheme, name, marginal_retention, gap_closed (one labelled dot per scheme).
    """
    out = _axes("Autonomy: marginal retention (share of an extra £ of own base kept)",
                "Equalisation: share of the capacity gap closed", 0.0, 1.0, 0.0, 1.0, title)
    if not sweep.empty:
        pts = " ".join(f"{_scale(x, 0, 1, PAD, W - RIGHT):.1f},{_scale(y, 0, 1, H - PAD, TOP):.1f}"
                       for x, y in zip(sweep["marginal_retention"], sweep["gap_closed"], strict=True)
                       if np.isfinite(x) and np.isfinite(y))
        out.append(f'<polyline points="{pts}" fill="none" stroke="#888" stroke-width="2">'
                   "<title>Linear equalisation, rate 0 to 1</title></polyline>")
    for i, r in enumerate(points.itertuples(index=False)):
        x, y = float(r.marginal_retention), float(r.gap_closed)
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        cx, cy = _scale(min(max(x, 0), 1), 0, 1, PAD, W - RIGHT), _scale(min(max(y, 0), 1), 0, 1, H - PAD, TOP)
        dy = -8 if i % 2 == 0 else 14
        out.append(f'<g class="scheme" data-scheme="{escape(str(r.scheme))}"><circle cx="{cx:.1f}" cy="{cy:.1f}" '
                   f'r="5" fill="#1f6f8b"><title>{escape(str(r.name))}: retention {x:.2f}, gap closed {y:.2f}'
                   f'</title></circle><text x="{cx + 7:.1f}" y="{cy + dy:.1f}">{escape(str(r.scheme))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def capacity_need_svg(table: pd.DataFrame, title: str = "Capacity and resources against need") -> str:
    """Each council's need per head (x) against capacity per head before (grey) and after (blue)."""
    x = table["need_per_head"].to_numpy(float)
    yb = table["capacity_per_head"].to_numpy(float)
    ya = table["resources_per_head"].to_numpy(float)
    ys = np.concatenate([yb, ya])
    ys = ys[np.isfinite(ys)]
    xlo, xhi = float(np.nanmin(x)), float(np.nanmax(x))
    ylo, yhi = float(np.min(ys)) if len(ys) else 0.0, float(np.max(ys)) if len(ys) else 1.0
    out = _axes("Need per head (1 = average)", "£ per head", xlo, xhi, ylo, yhi, title)
    for xi, b, a, nm in zip(x, yb, ya, table["name"], strict=True):
        if not (np.isfinite(xi) and np.isfinite(b) and np.isfinite(a)):
            continue
        cx = _scale(xi, xlo, xhi, PAD, W - RIGHT)
        out.append(f'<circle cx="{cx:.1f}" cy="{_scale(b, ylo, yhi, H - PAD, TOP):.1f}" r="2.5" fill="#bbb">'
                   f"<title>{escape(str(nm))}: capacity £{b:,.0f} per head</title></circle>")
        out.append(f'<circle cx="{cx:.1f}" cy="{_scale(a, ylo, yhi, H - PAD, TOP):.1f}" r="2.5" fill="#1f6f8b">'
                   f"<title>{escape(str(nm))}: after the scheme £{a:,.0f} per head</title></circle>")
    out.append(f'<text x="{W - 20}" y="28" text-anchor="end" fill="#888">grey: own capacity</text>'
               f'<text x="{W - 20}" y="42" text-anchor="end" fill="#1f6f8b">blue: after the scheme</text>')
    out.append("</svg>")
    return "\n".join(out)
