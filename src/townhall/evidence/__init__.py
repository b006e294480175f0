"""The evidence pack: claims made about towns and cities, tested against the atlas.

>>> from townhall import evidence
>>> report = evidence.run_evidence(atlas)              # every shipped claim
>>> evidence.write_report(report, Path("out"))         # evidence.md, .html, .json
>>> evidence.run_evidence(atlas, claim="eu16_top30", claims_dirs=["my-claims"])

Claim files are TOML (``townhall/parameters/claims/*.toml``; the format is in
:mod:`townhall.evidence.claims` and docs/methods/evidence.md), the rule types
in :mod:`townhall.evidence.rules`, the verdicts in :mod:`townhall.evidence.run`.
"""

from townhall.evidence.claims import Claim, check_claim, load_claim, load_claims, parse_claim
from townhall.evidence.report import to_html, to_markdown, write_report
from townhall.evidence.rules import RULE_TYPES, Figure, clopper_pearson
from townhall.evidence.run import VERDICTS, ClaimResult, EvidenceReport, run_claim, run_evidence

__all__ = [
    "RULE_TYPES", "VERDICTS", "Claim", "ClaimResult", "EvidenceReport", "Figure", "check_claim", "clopper_pearson",
    "load_claim", "load_claims", "parse_claim", "run_claim", "run_evidence", "to_html", "to_markdown",
    "write_report",
]
