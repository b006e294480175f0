"""Web page and API for the evidence pack: each claim as a card.

- ``/evidence?claim=`` and ``/api/evidence?claim=&format=json|csv``: every shipped claim (or one),
  with its words, source, the figure under each rule with its interval, and the verdict; the CSV is
  one row per claim, quantity and rule.

The claims run once per app (the atlas is immutable) and are cached; the analysis is
:mod:`townhall.evidence`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from fastapi import APIRouter, Request

from townhall.web.toolkit import View, atlas_of, page_and_api

router = APIRouter()
_api = APIRouter()
_LOCK = threading.Lock()
#: Where a claim's method link points (the repository's docs).
DOCS_BASE = "https://github.com/townhall-uk/townhall/blob/main/"


@page_and_api(router, _api, "/evidence", "evidence.html",
              summary="Claims about towns and cities tested against the atlas", tags=["evidence"])
def evidence_view(request: Request, claim: str | None = None) -> View:
    from townhall.evidence import run_evidence

    cache = request.app.state.cache
    key = f"evidence:{claim or '*'}"
    with _LOCK:  # one run at a time: the towns bootstrap is heavy
        if key not in cache:
            full = cache.get("evidence:*")
            if claim is not None and full is not None and any(c.claim.id == claim for c in full.claims):
                # Already run with every claim: take its card rather than run it again.
                cache[key] = replace(full, claims=[c for c in full.claims if c.claim.id == claim])
            else:
                cache[key] = run_evidence(atlas_of(request), claim=claim)
    report = cache[key]
    d = report.as_dict()
    for c in d["claims"]:
        m = c["method"]
        c["method_url"] = m if m.startswith("http") else DOCS_BASE + m
        for q in c["quantities"]:
            for r in q["rules"]:
                r.pop("details", None)  # the page shows figures; the details stay in the CLI report
    return View(d, report.table, "evidence" if claim is None else f"evidence_{claim}")


router.include_router(_api)
