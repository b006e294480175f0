"""Licences and the attribution statements they require.

Every source's licence is declared in ``catalogue.toml``; these rules turn a
set of sources into the statements a page, a report or ``docs/data.md`` must
show (OGL, ONS, OS, Open Parliament, CC BY, ODbL, GPL fixtures, and a caution
for files whose licence is not stated).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

LICENCE_URLS = {
    "OGL-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "OGL-2.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/2/",
    "Open-Parliament-Licence": "https://www.parliament.uk/site-information/copyright-parliament/open-parliament-licence/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "GPL-3.0": "https://www.gnu.org/licenses/gpl-3.0.html",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "MIT": "https://opensource.org/license/mit",
}


def licence_links(licence: str | None) -> list[dict[str, str | None]]:
    """A licence field (e.g. ``OGL-3.0+Open-Parliament-Licence``) as named links."""
    if not licence:
        return [{"name": "unstated", "url": None}]
    return [{"name": part, "url": LICENCE_URLS.get(part)} for part in licence.split("+")]


# -- attribution --------------------------------------------------------------------------
OGL_STATEMENT = "Contains public sector information licensed under the Open Government Licence v3.0."
ONS_STATEMENT = "Source: Office for National Statistics licensed under the Open Government Licence v.3.0"
OS_STATEMENT = "Contains OS data © Crown copyright and database right 2024"
OPL_STATEMENT = "Contains Parliamentary information licensed under the Open Parliament Licence v3.0."
OSM_STATEMENT = "© OpenStreetMap contributors"

_GEOMETRY = re.compile(r"bound|centroid|topojson|geojson|_bgc|_buc|_bfc|pwc", re.IGNORECASE)


def attributions(sources: pd.DataFrame) -> list[dict[str, Any]]:
    """The attribution statements the given sources' licences require.

    Parameters
    ----------
    sources : DataFrame
        Columns path, title, publisher, licence.

    Returns
    -------
    list of dict
        Each with ``statement``, ``licence`` (a link name, or None), ``url`` and
        ``caution`` (True for sources whose licence is not stated).
    """
    src = sources.fillna("")
    lic = src["licence"].astype(str)
    pub = src["publisher"].astype(str)
    text = (src["path"].astype(str) + " " + src["title"].astype(str))
    out: list[dict[str, Any]] = []

    def add(statement: str, licence: str | None, caution: bool = False) -> None:
        out.append({"statement": statement, "licence": licence,
                    "url": LICENCE_URLS.get(licence or ""), "caution": caution})

    if lic.str.contains("OGL").any():
        add(OGL_STATEMENT, "OGL-3.0")
    if pub.str.contains(r"\bONS\b|Office for National Statistics").any():
        add(ONS_STATEMENT, "OGL-3.0")
    if text.str.contains(_GEOMETRY).any() or pub.str.contains("Ordnance Survey").any():
        add(OS_STATEMENT, "OGL-3.0")
    if lic.str.contains("Open-Parliament").any():
        add(OPL_STATEMENT, "Open-Parliament-Licence")
    for p in sorted(set(pub[lic.str.contains("CC-BY")])):
        add(f"Contains data from {p}, licensed under Creative Commons Attribution 4.0 (CC BY 4.0).",
            "CC-BY-4.0")
    if lic.str.contains("ODbL").any() or text.str.contains("openstreetmap", case=False).any():
        add(f"{OSM_STATEMENT}, licensed under the Open Database Licence (ODbL).", "ODbL-1.0")
    for p in sorted(set(pub[lic.str.contains("GPL")])):
        add(f"Sortition test fixtures from {p} are licensed under the GNU GPL v3.0; townhall uses "
            "them only as an independent reference in tests and benchmarks.", "GPL-3.0")
    unstated = src[(lic == "") | lic.str.contains("unstated")]
    for p, files in unstated.groupby("publisher", sort=True):
        n = len(files)
        add(f"No licence is stated for {n} file{'s' if n != 1 else ''} from {p or 'an unnamed publisher'}"
            f" (marked 'unstated' below). {'They are' if n != 1 else 'It is'} cited with its "
            "origin and publisher; check the publisher's terms before reuse.", None, caution=True)
    return out
