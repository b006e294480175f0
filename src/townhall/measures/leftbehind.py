"""townhall's open left-behind index, and its validation against OCSI's flags.

The index is an ordinary composite-index spec, ``townhall/parameters/indices/left_behind.toml`` (shipped in the package; ``townhall index build left_behind``):
twelve open inputs in four equally weighted domains (deprivation,
connectedness, engagement and skills, civic assets), for each LSOA 2021 in
England, and rolled up with population weights to towns, councils and 2024
constituencies (``build(atlas, level=...)``). ``docs/methods/left-behind.md``
describes it domain by domain.

OCSI's Community Needs Index is closed, but its left-behind flags are public:
the 1,305 LSOAs flagged in 2023 (``cni23_left_behind``) and the LSOAs in the 225
left-behind wards of 2019 (``cni19_left_behind``, on LSOA 2011). :class:`Validation`
compares the open index with them, with rules fixed in advance (never tuned):

* **AUC**: the chance that a flagged area scores higher than an unflagged one;
* **precision and recall** when the open index flags as many areas as OCSI did
  (then precision equals recall), and when it flags its own top 10%.

The 2019 flags are on LSOA 2011: they are compared on the LSOAs whose code is
the same in 2011 and 2021 (boundaries unchanged), as the atlas holds no
2011-2021 best-fit table. The IoD2025 IMD score alone is shown as a baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from townhall.errors import InputError
from townhall.measures.spec import IndexRun, build_index, load_spec, shipped_specs

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

SPEC_NAME = "left_behind.toml"
FLAGS = {
    "2023": ("cni23_left_behind", "lsoa21", "OCSI left-behind LSOAs, 2023 (1,305)"),
    "2019": ("cni19_left_behind", "lsoa11", "LSOAs in OCSI's 225 left-behind wards, 2019"),
}
BASELINE = ("imd25_imd_score", "IoD2025 IMD score alone (baseline)")
TOP_SHARE = 0.10


def spec_path() -> Path:
    """The shipped spec, inside the installed package (``townhall/parameters/indices``)."""
    spec = shipped_specs().get(SPEC_NAME.removesuffix(".toml"))
    if spec is None:
        raise InputError(f"The open left-behind index spec ({SPEC_NAME}) is not installed.",
                         hint="Reinstall townhall: the spec ships inside the package.")
    return spec


def build(
    atlas: Atlas,
    level: str = "lsoa21",
    *,
    draws: int | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> IndexRun:
    """Build the open left-behind index at a level (lsoa21, town, lad, pcon24, rgn).

    Parameters
    ----------
    atlas : Atlas
    level : str
        ``lsoa21`` or a level its scores are rolled up to with population weights.
    draws : int, optional
        Monte Carlo draws (default the spec's 1,000; 0 for none).
    seed : int, optional
    progress : callable, optional

    Returns
    -------
    IndexRun
    """
    return build_index(load_spec(spec_path()), atlas, level=level, draws=draws, seed=seed,
                       progress=progress)


def auc(scores: np.ndarray, flags: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney), ties counted as half."""
    scores = np.asarray(scores, dtype=float)
    flags = np.asarray(flags, dtype=bool)
    npos, nneg = int(flags.sum()), int((~flags).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(scores)
    return float((r[flags].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def _rules(scores: np.ndarray, flags: np.ndarray, label: str) -> list[dict[str, Any]]:
    n, npos = len(scores), int(flags.sum())
    order = np.argsort(-scores, kind="stable")
    ntop = round(TOP_SHARE * n)
    out = []
    for rule, k in ((f"top {npos:,} (as many as OCSI)", npos), (f"top {TOP_SHARE:.0%} ({ntop:,})", ntop)):
        sel = np.zeros(n, dtype=bool)
        sel[order[:k]] = True
        tp = int((sel & flags).sum())
        out.append({"measure": label, "rule": rule, "selected": k, "true_positives": tp,
                    "precision": tp / k if k else float("nan"), "recall": tp / npos if npos else float("nan")})
    return out


class Validation:
    """The open left-behind index against OCSI's 2023 and 2019 left-behind flags.

    Parameters
    ----------
    atlas : Atlas
    run : IndexRun, optional
        An LSOA 2021 build of the index (built without Monte Carlo if not given).

    Attributes
    ----------
    table : DataFrame
        One row per (flag set, measure, rule): flags, areas, flagged, selected,
        true_positives, precision, recall, auc.
    scores : Series
        The index score per LSOA 2021.
    """

    def __init__(self, atlas: Atlas, run: IndexRun | None = None) -> None:
        if run is None:
            run = build(atlas, "lsoa21", draws=0)
        if run.level != "lsoa21":
            raise InputError("Validate the index at LSOA 2021 (the flags are small areas).")
        self.run = run
        self.scores = run.index.scores
        base = atlas.values(BASELINE[0]).set_index("area")["value"].astype(float)
        rows = []
        self.coverage: dict[str, dict[str, int]] = {}
        for year, (ind, _lvl, title) in FLAGS.items():
            flags = atlas.values(ind).set_index("area")["value"].astype(float)
            # 2019 flags are on LSOA 2011: codes unchanged in 2021 are the same areas.
            common = self.scores.index.intersection(flags.index)
            f = flags.reindex(common).to_numpy() > 0.5
            self.coverage[year] = {"flag_areas": len(flags), "matched": len(common),
                                   "flagged": int((flags > 0.5).sum()), "flagged_matched": int(f.sum())}
            for label, s in (("Open left-behind index", self.scores.reindex(common)),
                             (BASELINE[1], base.reindex(common))):
                ok = s.notna().to_numpy()
                sv, fv = s.to_numpy()[ok], f[ok]
                a = auc(sv, fv)
                for r in _rules(sv, fv, label):
                    rows.append({"flags": title, "year": year, "areas": int(ok.sum()),
                                 "flagged": int(fv.sum()), **r, "auc": a})
        self.table = pd.DataFrame(rows)

    def headline(self) -> pd.DataFrame:
        """The open index's rows only."""
        return self.table[self.table["measure"] == "Open left-behind index"].reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        return {"coverage": self.coverage,
                "rows": self.table.to_dict(orient="records")}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: coverage of the flags, every row, and the index's weights."""
        from townhall.atlas.store import records

        return {"coverage": self.coverage, "rows": records(self.table),
                "weights": records(weights_table(self.run))}

    def to_markdown(self) -> str:
        """A Markdown table of every row (as recorded in docs/methods/left-behind.md)."""
        cols = ["year", "measure", "areas", "flagged", "rule", "precision", "recall", "auc"]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in self.table[cols].itertuples(index=False):
            cells = []
            for c, v in zip(cols, r, strict=True):
                if c in ("precision", "recall", "auc"):
                    cells.append(f"{v:.3f}")
                elif isinstance(v, int | np.integer):
                    cells.append(f"{v:,}")
                else:
                    cells.append(str(v))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def validate(atlas: Atlas, run: IndexRun | None = None) -> Validation:
    """Validate the open left-behind index against OCSI's flags (see :class:`Validation`)."""
    return Validation(atlas, run)


def weights_table(run: IndexRun) -> pd.DataFrame:
    """Inputs and effective weights of a built index: domain, indicator, label, polarity, weight."""
    ix = run.index
    dom_labels = {k: (d.label or k) for k, d in run.spec.domains.items()}
    return pd.DataFrame({
        "domain": [dom_labels.get(i.domain, i.domain or "") for i in ix.indicators],
        "indicator": [i.id for i in ix.indicators],
        "label": [i.name for i in ix.indicators],
        "polarity": [i.polarity for i in ix.indicators],
        "level": [s.level or run.spec.index.level for s in run.spec.indicators],
        "weight": ix.weights.to_numpy(),
    })
