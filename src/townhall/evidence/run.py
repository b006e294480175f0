"""Run claims against the atlas and give each a verdict.

Verdicts, per quantity (one figure a claim asserts):

* **borne out**: the main rule's figure meets the claim's assertion, and so
  does every alternative rule that could be computed;
* **partly borne out**: the rules disagree (some meet it, some do not);
* **not borne out**: no rule's figure meets it;
* **cannot be tested with this data**: the main rule cannot be computed (its
  data is not in the mirror), or **cannot be tested yet** (its data is being
  built: the social-infrastructure hook).

Per claim: every testable quantity borne out -> borne out; none borne out ->
not borne out; otherwise partly borne out. Quantities that cannot be tested
are listed with their reason and do not count either way, unless none can be
tested.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from townhall.errors import InputError
from townhall.evidence.claims import Claim, Quantity, check_claim, load_claims
from townhall.evidence.rules import Figure

if TYPE_CHECKING:
    from pathlib import Path

    from townhall.atlas.store import Atlas

BORNE_OUT, PARTLY, NOT_BORNE_OUT = "borne out", "partly borne out", "not borne out"
CANNOT, NOT_YET = "cannot be tested with this data", "cannot be tested yet"
VERDICTS = (BORNE_OUT, PARTLY, NOT_BORNE_OUT, CANNOT, NOT_YET)


@dataclass
class RuleResult:
    """One rule's figure and whether it meets the assertion."""

    main: bool
    rule: str
    type: str
    figure: Figure
    holds: bool | None

    def as_dict(self) -> dict[str, Any]:
        f = self.figure
        return {"main": self.main, "rule": self.rule, "type": self.type, "value": f.value, "display": f.display,
                "lower": f.lower, "upper": f.upper, "interval": f.interval, "n": f.n, "k": f.k, "note": f.note,
                "status": f.status, "reason": f.reason, "holds": self.holds, "details": f.details}


@dataclass
class QuantityResult:
    quantity: Quantity
    rules: list[RuleResult]
    verdict: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        q = self.quantity
        return {"id": q.id, "words": q.words, "unit": q.unit, "asserts": q.asserts.text(), "verdict": self.verdict,
                "reason": self.reason, "rules": [r.as_dict() for r in self.rules]}


@dataclass
class ClaimResult:
    claim: Claim
    quantities: list[QuantityResult]
    verdict: str
    reason: str
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        c = self.claim
        return {"id": c.id, "title": c.title, "words": c.words, "topic": c.topic, "method": c.method,
                "file": c.path, "source": c.source.model_dump(), "verdict": self.verdict, "reason": self.reason,
                "seconds": round(self.seconds, 2), "quantities": [q.as_dict() for q in self.quantities]}


@dataclass
class EvidenceReport:
    """Every claim's result.

    ``table`` (a DataFrame) has one row per claim, quantity and rule: claim,
    quantity, rule, main, figure, lower, upper, holds, verdict.
    """

    claims: list[ClaimResult]
    atlas: str
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> Any:
        import pandas as pd

        rows = []
        for c in self.claims:
            for q in c.quantities:
                for r in q.rules:
                    rows.append({"claim": c.claim.id, "quantity": q.quantity.id, "asserts": q.quantity.asserts.text(),
                                 "rule": r.rule, "main": r.main, "figure": r.figure.display, "value": r.figure.value,
                                 "lower": r.figure.lower, "upper": r.figure.upper, "holds": r.holds,
                                 "status": r.figure.status, "quantity_verdict": q.verdict,
                                 "claim_verdict": c.verdict})
        return pd.DataFrame(rows)

    def as_dict(self) -> dict[str, Any]:
        return {"atlas": self.atlas, "seconds": round(self.seconds, 2), "meta": self.meta,
                "verdicts": {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS},
                "claims": [c.as_dict() for c in self.claims]}


def quantity_verdict(results: list[RuleResult]) -> tuple[str, str]:
    """Verdict of one quantity from its rules' results (the main rule first)."""
    main = results[0]
    if main.figure.status != "ok" or main.holds is None:
        return (NOT_YET if main.figure.status == "not_yet" else CANNOT), main.figure.reason or "No figure."
    tested = [r for r in results if r.holds is not None]
    held = [r for r in tested if r.holds]
    if len(held) == len(tested):
        return BORNE_OUT, f"All {len(tested)} rules meet the assertion."
    if not held:
        return NOT_BORNE_OUT, f"None of the {len(tested)} rules meets the assertion."
    which = "the main rule meets it" if main.holds else "the main rule does not meet it"
    return PARTLY, f"{len(held)} of {len(tested)} rules meet the assertion; {which}."


def claim_verdict(qs: list[QuantityResult]) -> tuple[str, str]:
    """Verdict of a claim from its quantities' verdicts."""
    testable = [q for q in qs if q.verdict not in (CANNOT, NOT_YET)]
    untested = [q for q in qs if q.verdict in (CANNOT, NOT_YET)]
    if not testable:
        v = NOT_YET if any(q.verdict == NOT_YET for q in qs) else CANNOT
        return v, " ".join(q.reason for q in qs)
    vs = {q.verdict for q in testable}
    v = vs.pop() if len(vs) == 1 else PARTLY
    parts = "; ".join(f"{q.quantity.id}: {q.verdict}" for q in qs)
    extra = f" ({len(untested)} part(s) could not be tested.)" if untested else ""
    return v, parts + "." + extra


def run_claim(atlas: Atlas, claim: Claim, ctx: dict[str, Any] | None = None) -> ClaimResult:
    """Check a claim's names against the atlas, run every rule and give the verdicts."""
    ctx = {} if ctx is None else ctx
    t0 = time.perf_counter()
    check_claim(claim, atlas)
    qres = []
    for q in claim.quantity:
        rr = []
        for j, rule in enumerate(q.rules):
            fig = rule.run(atlas, ctx)
            holds = q.asserts.holds(fig.value) if fig.status == "ok" else None
            rr.append(RuleResult(j == 0, rule.describe(), rule.type, fig, holds))  # type: ignore[attr-defined]
        v, why = quantity_verdict(rr)
        qres.append(QuantityResult(q, rr, v, why))
    v, why = claim_verdict(qres)
    return ClaimResult(claim, qres, v, why, time.perf_counter() - t0)


def run_evidence(atlas: Atlas, *, claim: str | None = None, claims_dirs: list[str | Path] | None = None,
                 shipped: bool = True) -> EvidenceReport:
    """Run every claim (or one, by id) and return the report.

    Parameters
    ----------
    atlas : Atlas
    claim : str, optional
        Only this claim id.
    claims_dirs : list of path, optional
        Folders (or files) of claim files to add to the shipped ones.
    shipped : bool
        Include the shipped claims.
    """
    t0 = time.perf_counter()
    claims = load_claims(claims_dirs, shipped=shipped)
    if claim is not None:
        claims = [c for c in claims if c.id == claim]
        if not claims:
            ids = ", ".join(c.id for c in load_claims(claims_dirs, shipped=shipped))
            raise InputError(f"No claim with id {claim!r}.", hint=f"Claims: {ids}.")
    ctx: dict[str, Any] = {}
    results = [run_claim(atlas, c, ctx) for c in claims]
    meta = atlas.meta()
    return EvidenceReport(results, str(atlas.path), time.perf_counter() - t0,
                          {"townhall_version": meta.get("townhall_version"), "inputs": meta.get("inputs")})
