"""Web page and API for the evidence pack: each claim as a card.

- ``/evidence?claim=`` and ``/api/evidence?claim=&format=json|csv``: every shipped claim (or one),
  with its words, source, the figure under each rule with its interval, and the verdict; the CSV is
  one row per claim, quantity and rule.

The claims run once per server (the atlas is immutable): the server works them out in its
warm-up and keeps the report beside the atlas for every worker; the analysis is
:mod:`townhall.evidence`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request

from townhall.web.toolkit import View, atlas_of, cached, page_and_api, slow

if TYPE_CHECKING:
    from townhall.evidence import EvidenceReport

router = APIRouter()
_api = APIRouter()
#: Where a claim's method link points (the repository's docs).
DOCS_BASE = "https://github.com/townhall-uk/townhall/blob/main/"


#: The key of the report with every claim (the server works it out ahead, in its warm-up).
EVIDENCE_KEY = "evidence:*"


def full_report(app: FastAPI) -> EvidenceReport:
    """Every shipped claim tested against the atlas, once per server (part of its warm-up)."""
    from townhall.evidence import run_evidence

    return slow(app, EVIDENCE_KEY, lambda: run_evidence(app.state.atlas))


def report_for(request: Request, claim: str | None = None) -> EvidenceReport:
    """The evidence report for one claim or all, computed once per server (kept beside the atlas)."""
    from townhall.evidence import run_evidence

    if claim is None:
        return full_report(request.app)
    served = request.scope.get("state", {}).get("served")
    if served is not None and served.ready(EVIDENCE_KEY):
        full = full_report(request.app)
        if any(c.claim.id == claim for c in full.claims):  # its card, rather than run it again
            return replace(full, claims=[c for c in full.claims if c.claim.id == claim])
    return cached(request, f"evidence:{claim}", lambda: run_evidence(atlas_of(request), claim=claim), disk=True)


@page_and_api(router, _api, "/evidence", "evidence.html",
              summary="Claims about towns and cities tested against the atlas", tags=["evidence"])
def evidence_view(request: Request, claim: str | None = None) -> View:
    report = report_for(request, claim)
    d = report.as_dict()
    for c in d["claims"]:
        m = c["method"]
        c["method_url"] = m if m.startswith("http") else DOCS_BASE + m
        for q in c["quantities"]:
            for r in q["rules"]:
                r.pop("details", None)  # the page shows figures; the details stay in the CLI report
    return View(d, report.table, "evidence" if claim is None else f"evidence_{claim}")


router.include_router(_api)
