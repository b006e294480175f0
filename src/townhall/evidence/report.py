"""Write the evidence report: Markdown, HTML and JSON, one file each.

>>> paths = write_report(report, Path("evidence-report"))   # evidence.md, evidence.html, evidence.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from townhall.errors import InputError

if TYPE_CHECKING:
    from townhall.evidence.run import EvidenceReport


def fmt_value(v: Any) -> str:
    """A figure's value for a table cell."""
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def interval_text(r: dict[str, Any]) -> str:
    """'lo – hi (how)' or ''."""
    lo, hi = r.get("lower"), r.get("upper")
    if lo is None or hi is None or lo != lo or hi != hi:
        return ""
    return f"{fmt_value(lo)} – {fmt_value(hi)} ({r.get('interval', '')})"


def holds_text(h: bool | None) -> str:
    return "–" if h is None else ("meets it" if h else "does not")


def to_markdown(report: EvidenceReport) -> str:
    """The report as Markdown."""
    d = report.as_dict()
    out = ["# Evidence report", "",
           f"Atlas `{d['atlas']}` (inputs {d['meta'].get('inputs')}); {len(d['claims'])} claims in "
           f"{d['seconds']:.1f} s. Verdicts: " + ", ".join(f"{v} {n}" for v, n in d["verdicts"].items() if n) + ".",
           ""]
    for c in d["claims"]:
        s = c["source"]
        out += [f"## {c['title']} (`{c['id']}`)", "", f"> {c['words']}", "",
                f"Source: {s['author'] + ', ' if s['author'] else ''}*{s['publication']}*, {s['date']}"
                + (f", <{s['url']}>" if s["url"] else "") + ("" if s["verified"] else " (wording not verified "
                                                              "against the publication)") + ".",
                "", f"**Verdict: {c['verdict']}.** {c['reason']} Method: {c['method']}.", ""]
        for q in c["quantities"]:
            out += [f"### {q['words']}", "", f"Asserts: {q['asserts']} {q['unit']}. "
                    f"Verdict: **{q['verdict']}** ({q['reason']})", "",
                    "| rule | figure | interval | assertion | note |", "|---|---|---|---|---|"]
            for r in q["rules"]:
                name = ("**main**: " if r["main"] else "alternative: ") + r["rule"].replace("|", "/")
                note = (r["note"] or r["reason"] or "").replace("|", "/").replace("\n", " ")
                out.append(f"| {name} | {r['display']} | {interval_text(r)} | {holds_text(r['holds'])} | {note} |")
            out.append("")
    return "\n".join(out) + "\n"


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.card{border:1px solid #ccc;border-radius:.4rem;padding:1rem;margin:1rem 0}
blockquote{border-left:4px solid #999;margin:0;padding:.2rem 1rem;color:#333}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
.v{font-weight:bold;padding:.1rem .4rem;border-radius:.3rem}
.v-borne-out{background:#d8f0d8}.v-partly-borne-out{background:#fdf1c8}.v-not-borne-out{background:#f6d3d3}
.v-cannot-be-tested-with-this-data,.v-cannot-be-tested-yet{background:#e4e4e4}
</style></head><body>
<h1>Evidence report</h1>
<p>Atlas <code>{{ d.atlas }}</code>; {{ d.claims|length }} claims in {{ '%.1f'|format(d.seconds) }} s.</p>
{% for c in d.claims %}<section class="card" id="{{ c.id }}">
<h2>{{ c.title }}</h2>
<blockquote>{{ c.words }}</blockquote>
<p>Source: {% if c.source.author %}{{ c.source.author }}, {% endif %}<em>{{ c.source.publication }}</em>, {{ c.source.date }}
{% if c.source.url %}(<a href="{{ c.source.url }}">{{ c.source.url }}</a>){% endif %}
{% if not c.source.verified %}<small>(wording not verified against the publication)</small>{% endif %}</p>
<p>Verdict: <span class="v v-{{ c.verdict|replace(' ', '-') }}">{{ c.verdict }}</span> {{ c.reason }}
Method: <a href="{{ c.method }}">{{ c.method }}</a></p>
{% for q in c.quantities %}<h3>{{ q.words }}</h3>
<p>Asserts {{ q.asserts }} {{ q.unit }}: <span class="v v-{{ q.verdict|replace(' ', '-') }}">{{ q.verdict }}</span> {{ q.reason }}</p>
<table><thead><tr><th>rule</th><th>figure</th><th>interval</th><th>assertion</th><th>note</th></tr></thead><tbody>
{% for r in q.rules %}<tr><td>{% if r.main %}<strong>main</strong>{% else %}alternative{% endif %}: {{ r.rule }}</td>
<td>{{ r.display }}</td><td>{{ interval(r) }}</td><td>{{ holds(r.holds) }}</td><td>{{ r.note or r.reason }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}</section>
{% endfor %}</body></html>
"""


def to_html(report: EvidenceReport) -> str:
    """The report as one self-contained HTML page."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    return env.from_string(_HTML).render(d=report.as_dict(), interval=interval_text, holds=holds_text)


def write_report(report: EvidenceReport, out: Path) -> dict[str, Path]:
    """Write ``evidence.md``, ``evidence.html`` and ``evidence.json`` into ``out`` (created if needed)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"markdown": out / "evidence.md", "html": out / "evidence.html", "json": out / "evidence.json"}
        paths["markdown"].write_text(to_markdown(report), "utf-8")
        paths["html"].write_text(to_html(report), "utf-8")
        paths["json"].write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", "utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write the evidence report to {out}: {exc}.", file=str(out)) from None
    return paths
