"""Write a selection out: HTML for people, CSV and JSON for machines, the lottery for auditors.

Files written by :func:`write_report` into one directory (and nothing anywhere else):

- ``report.html``: summary, commitment and draw, fairness beside LEGACY, quota fit, the curve of
  selection probabilities, the panel;
- ``report.json``: the same as data;
- ``probabilities.csv``: per volunteer (id and quota categories only): probability under the
  method, in the lottery, and under LEGACY;
- ``quota_fit.csv``: per quota value: bounds, pool, expected and drawn seats;
- ``panel.csv``: the drawn panel (id and quota categories), when drawn;
- ``lottery.json``: the ``m`` panels and the commitment, to publish before the draw.

Only ids and quota categories are ever written; names, contact details and addresses are never
read into a :class:`~townhall.assembly.selection.Selection` in the first place.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from townhall.assembly.lottery import SEED_RULE
from townhall.assembly.selection import Selection

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Citizens' assembly selection: {{ method|upper }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}.warn{color:#a00}code{word-break:break-all}
</style></head><body>
<h1>Selection of a panel of {{ size }} from {{ pool_size }} volunteers</h1>
<p>Method: <b>{{ method|upper }}</b>. Quota categories: {{ categories|join(', ') }}.
{% if confirmed %}Replacement selection: {{ confirmed }} members confirmed, {{ seats }} seats refilled.{% endif %}</p>
{% if note %}<p class="warn"><b>Not proven optimal.</b> {{ note }}</p>{% endif %}
<h2>Commitment and draw</h2>
<p>The lottery has {{ m }} panels; each person's chance in it is within
{{ '%.4f'|format(max_dev) }} of the optimal probability
{% if within %}(at most 1/m = {{ '%.4f'|format(1/m) }}){% else %}<span class="warn">(more than 1/m)</span>{% endif %}.</p>
<p>Commitment (SHA-256 of the lottery and the seed rule): <code>{{ commitment }}</code></p>
<p>Seed rule: {{ seed_rule }}</p>
{% if seed is not none %}<p>Seed: <code>{{ seed }}</code> &rarr; panel number <b>{{ index }}</b>.</p>
{% else %}<p>Not drawn yet.</p>{% endif %}
<h2>Fairness</h2>
<table><tr><th></th><th>minimum</th><th>maximum</th><th>Gini</th><th>geometric mean</th></tr>
{% for name, r in stats %}<tr><td>{{ name }}</td><td>{{ '%.4f'|format(r.minimum) }}</td><td>{{ '%.4f'|format(r.maximum) }}</td>
<td>{{ '%.3f'|format(r.gini) }}</td><td>{{ '%.4f'|format(r.geometric_mean) }}</td></tr>{% endfor %}
</table>
{% if below is not none %}<p>LEGACY gives {{ '%.1f'|format(100*below) }} % of volunteers a lower chance than
{{ method|upper }}'s minimum.</p>{% endif %}
<svg width="600" height="260" viewBox="0 0 600 260" role="img" aria-label="Selection probability by percentile of volunteers">
<rect x="50" y="10" width="540" height="220" fill="none" stroke="#999"/>
{% for c in curves %}<polyline fill="none" stroke="{{ c.colour }}" stroke-width="2" points="{{ c.points }}"/>
<text x="{{ 60 }}" y="{{ 28 + loop.index0*16 }}" fill="{{ c.colour }}" font-size="12">{{ c.name }}</text>{% endfor %}
<text x="45" y="14" text-anchor="end" font-size="11">{{ '%.3f'|format(ymax) }}</text>
<text x="45" y="230" text-anchor="end" font-size="11">0</text>
<text x="320" y="250" text-anchor="middle" font-size="11">volunteers, from lowest to highest probability</text>
</svg>
<h2>Quotas</h2>
<table><tr><th>category</th><th>value</th><th>min</th><th>max</th><th>pool</th><th>expected</th><th>panel</th></tr>
{% for r in quota_fit %}<tr><td>{{ r.category }}</td><td class="l">{{ r.value }}</td><td>{{ r.min }}</td><td>{{ r.max }}</td>
<td>{{ r.pool }}</td><td>{{ '%.2f'|format(r.expected) }}</td><td>{{ '' if r.panel is none else r.panel }}</td></tr>{% endfor %}
</table>
{% if panel %}<h2>Panel</h2><table><tr>{% for c in panel_columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in panel %}<tr>{% for v in r %}<td class="l">{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
<p>Made with townhall. Timings (s): {% for k, v in seconds.items() %}{{ k }} {{ '%.2f'|format(v) }}{{ '; ' if not loop.last }}{% endfor %}.</p>
</body></html>
"""


def _curve(values: np.ndarray, ymax: float) -> str:
    v = np.sort(values)
    n = len(v)
    xs = 50 + 540 * (np.arange(n) / max(n - 1, 1))
    ys = 230 - 220 * (v / ymax if ymax > 0 else v)
    step = max(1, n // 300)  # a few hundred points draw the same curve
    idx = np.unique(np.append(np.arange(0, n, step), n - 1))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[idx], ys[idx], strict=True))


def summary(sel: Selection) -> dict:
    """The selection as plain data (what ``report.json`` holds)."""
    st = sel.stats()
    fit = sel.quota_fit()
    return {
        "method": sel.method,
        "size": sel.size,
        "pool_size": len(sel.pool) + len(sel.confirmed),
        "categories": sel.pool.categories,
        "confirmed": sel.confirmed,
        "lottery": {
            "m": sel.lottery.m,
            "commitment": sel.commitment,
            "seed_rule": SEED_RULE,
            "max_deviation": sel.lottery.max_deviation,
            "within_1_over_m": sel.lottery.within_bound,
        },
        "optimality": sel.optimality(),
        "seed": sel.seed,
        "index": sel.index,
        "panel": sel.panel,
        "stats": {
            k: {c: (None if pd.isna(v) else float(v)) for c, v in r.items()}
            for k, r in st.iterrows()
        },
        "quota_fit": [
            {
                k: (None if (v is None or (isinstance(v, float) and np.isnan(v))) else v)
                for k, v in r.items()
            }
            for r in json.loads(fit.to_json(orient="records"))
        ],
        "seconds": sel.seconds,
    }


def write_report(sel: Selection, out: str | Path) -> list[Path]:
    """Write the report files into directory ``out`` (created if needed).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    frame = sel.pool.frame
    probs = frame.copy()
    probs["probability"] = sel.probabilities.reindex(frame["id"]).to_numpy()
    probs["lottery_probability"] = sel.lottery_probabilities.reindex(frame["id"]).to_numpy()
    if sel.legacy_probabilities is not None:
        probs["legacy_probability"] = sel.legacy_probabilities.reindex(frame["id"]).to_numpy()
    path = out / "probabilities.csv"
    probs.to_csv(path, index=False)
    written.append(path)
    fit = sel.quota_fit()
    path = out / "quota_fit.csv"
    fit.to_csv(path, index=False)
    written.append(path)
    path = out / "lottery.json"
    sel.lottery.save(path)
    written.append(path)
    panel_rows: list[list[str]] = []
    if sel.panel is not None:
        everyone = frame
        if sel.confirmed_frame is not None:
            everyone = pd.concat([sel.confirmed_frame, frame], ignore_index=True)
        panel = everyone.set_index("id").loc[sel.panel].reset_index()
        path = out / "panel.csv"
        panel.to_csv(path, index=False)
        written.append(path)
        panel_rows = panel.astype(str).values.tolist()
    data = summary(sel)
    path = out / "report.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)

    st = sel.stats()
    series = [(sel.method.upper(), sel.probabilities.to_numpy(), "#1b6ca8")]
    if sel.legacy_probabilities is not None and sel.method != "legacy":
        series.append(("LEGACY", sel.legacy_probabilities.to_numpy(), "#c0392b"))
    ymax = max(float(v.max()) for _, v, _ in series) * 1.05 or 1.0
    html = (
        jinja2.Environment(autoescape=True)
        .from_string(_TEMPLATE)
        .render(
            method=sel.method,
            note=sel.optimality_note(),
            size=sel.size,
            pool_size=data["pool_size"],
            categories=sel.pool.categories,
            confirmed=len(sel.confirmed),
            seats=sel.size - len(sel.confirmed),
            m=sel.lottery.m,
            max_dev=sel.lottery.max_deviation,
            within=sel.lottery.within_bound,
            commitment=sel.commitment,
            seed_rule=SEED_RULE,
            seed=sel.seed,
            index=sel.index,
            stats=[(k, r) for k, r in st.iterrows()],
            below=st["share_below_method_minimum"].get("legacy")
            if "share_below_method_minimum" in st
            else None,
            curves=[{"name": n, "points": _curve(v, ymax), "colour": c} for n, v, c in series],
            ymax=ymax,
            quota_fit=fit.to_dict(orient="records"),
            panel=panel_rows,
            panel_columns=["id", *sel.pool.categories],
            seconds=sel.seconds,
        )
    )
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    written.append(path)
    return written
