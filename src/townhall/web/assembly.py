"""Web page and API for citizens' assembly quotas taken from a place's Census 2021 profile.

Routes (mounted by :func:`townhall.web.app.create_app`):

- ``/assembly/quotas?place=&level=&size=&tolerance=`` - a form, then the place's profile and
  the quota table with the command that selects a panel against it;
- ``/api/assembly/quotas?...&format=json|csv`` - the same as data (the CSV is the quota file
  ``townhall assembly select`` reads).

Selection itself stays on the organiser's machine (``townhall assembly select``): a pool of
volunteers is personal data and is never uploaded to a web page.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from townhall.atlas.store import records as _records
from townhall.places.census import PROFILE_LEVELS
from townhall.web.toolkit import ERROR_RESPONSES
from townhall.web.toolkit import atlas_of as _atlas
from townhall.web.toolkit import csv_response as _csv
from townhall.web.toolkit import qs as _qs
from townhall.web.toolkit import render as _render

router = APIRouter(responses=ERROR_RESPONSES)
Format = Literal["json", "csv"]


def quotas_data(request: Request, place: str, level: str | None, size: int, tolerance: float) -> dict[str, Any]:
    """The place, its census profile and its quotas, as one JSON-ready dict."""
    from townhall.assembly import quotas_from_profile

    atlas = _atlas(request)
    area = atlas.resolve(place, level or None)
    profile = atlas.census_profile(area.code, area.level)
    quotas = quotas_from_profile(profile, size, tolerance).to_frame()
    rows = []
    for cat, values in profile.items():
        total = sum(values.values())
        for value, count in values.items():
            rows.append({"category": cat, "value": value, "adults": count,
                         "share": count / total if total else None})
    return {
        "place": {"code": area.code, "name": area.name, "level": area.level},
        "size": size,
        "tolerance": tolerance,
        "profile": rows,
        "quotas": _records(quotas),
        "method": (
            "Adults (16+) from Census 2021: age and tenure from the place's own small areas, sex, "
            "ethnicity and qualifications from its council(s), weighted by population; each target "
            "is the share times the panel size; the minimum is the target times (1 - tolerance) "
            "rounded down and the maximum the target times (1 + tolerance) rounded up, so every "
            "category can fill the panel exactly. See docs/methods/assembly.md."
        ),
    }


@router.get("/api/assembly/quotas", tags=["assembly"], summary="Assembly quotas from a place's census profile")
def api_quotas(
    request: Request,
    place: str = Query(..., description="A place: name or code (council, town, 2024 seat, region...)"),
    level: str | None = Query(None, description="Level of the place, if the name is ambiguous"),
    size: int = Query(30, ge=2, le=10_000, description="Panel size"),
    tolerance: float = Query(0.1, ge=0.0, lt=1.0, description="Relative tolerance around each target"),
    format: Format = "json",
) -> Any:
    """Quota targets and bounds (category, value, min, max, target) for a panel of ``size`` drawn
    from the place, with the census profile they come from. The CSV is a quota file for
    ``townhall assembly select``."""
    d = quotas_data(request, place, level, size, tolerance)
    if format == "csv":
        return _csv(pd.DataFrame(d["quotas"]), f"quotas-{d['place']['code']}-{size}")
    return d


@router.get("/assembly/quotas", include_in_schema=False, response_class=HTMLResponse)
def quotas_page(request: Request, place: str = "", level: str = "", size: int = Query(30, ge=2, le=10_000),
                tolerance: float = Query(0.1, ge=0.0, lt=1.0)) -> HTMLResponse:
    ctx: dict[str, Any] = {"place": place, "level": level, "size": size, "tolerance": tolerance, "d": None,
                           "PROFILE_LEVELS": PROFILE_LEVELS}
    if place.strip():
        d = quotas_data(request, place, level, size, tolerance)
        shares = {(r["category"], r["value"]): r for r in d["profile"]}
        for q in d["quotas"]:
            q["share"] = shares.get((q["category"], q["value"]), {}).get("share")
        base = "/api/assembly/quotas" + _qs(place=d["place"]["code"], level=d["place"]["level"], size=size,
                                            tolerance=tolerance)
        ctx.update(d=d, json_url=base, csv_url=base + "&format=csv")
    return _render(request, "assembly_quotas.html", **ctx)
