"""Inequality and spread measures of resources per unit of need (pure, weighted).

Every measure weights a council by its units of need, so a council counts as many
times as it has people (need-adjusted): the question is how unequal the resources
behind each unit of need are, not how unequal 296 council averages are.
"""

from __future__ import annotations

import numpy as np


def weighted_gini(y: np.ndarray, w: np.ndarray) -> float:
    """Gini coefficient of values ``y`` held by ``w`` units each (0 = equal).

    G = sum_i sum_j w_i w_j |y_i - y_j| / (2 W^2 mean), computed in O(n log n)
    from the sorted values.
    """
    y, w = np.asarray(y, float), np.asarray(w, float)
    o = np.argsort(y, kind="stable")
    y, w = y[o], w[o]
    W = w.sum()
    mu = float(w @ y) / W
    if mu == 0:
        return 0.0
    cw = np.cumsum(w)
    cwy = np.cumsum(w * y)
    # sum over pairs i > j of w_i w_j (y_i - y_j) = sum_i w_i (y_i * W_<i - (wy)_<i)
    below_w = cw - w
    below_wy = cwy - w * y
    pairs = float(np.sum(w * (y * below_w - below_wy)))
    return pairs / (W * W * mu)


def weighted_var(y: np.ndarray, w: np.ndarray) -> float:
    """Variance of ``y`` with weights ``w`` (population form)."""
    mu = float(w @ y) / w.sum()
    return float(w @ (y - mu) ** 2) / float(w.sum())


def cv(y: np.ndarray, w: np.ndarray) -> float:
    """Coefficient of variation: weighted standard deviation over the weighted mean."""
    mu = float(w @ y) / w.sum()
    return float(np.sqrt(weighted_var(y, w)) / mu) if mu else float("nan")


def theil(y: np.ndarray, w: np.ndarray) -> float:
    """Theil's T with weights (``townhall.measures.inequality.theil_t``); needs positive values."""
    y = np.asarray(y, float)
    if np.any(y <= 0):
        return float("nan")
    # Imported here: that module loads PySAL's inequality (and matplotlib), which pages of
    # a council's funding never need otherwise.
    from townhall.measures.inequality import theil_t

    return theil_t(y, np.asarray(w, float))


def p90_p10(y: np.ndarray, w: np.ndarray) -> float:
    """Ratio of the 90th to the 10th weighted percentile (inverted-CDF percentiles)."""
    o = np.argsort(y, kind="stable")
    ys, cw = np.asarray(y, float)[o], np.cumsum(np.asarray(w, float)[o])
    cw = cw / cw[-1]
    p10 = ys[np.searchsorted(cw, 0.10)]
    p90 = ys[min(np.searchsorted(cw, 0.90), len(ys) - 1)]
    return float(p90 / p10) if p10 > 0 else float("nan")


def gap_closed(before: np.ndarray, after: np.ndarray, w: np.ndarray) -> float:
    """Share of the capacity gap closed: 1 - Var(after) / Var(before) of resources per need."""
    vb = weighted_var(before, w)
    return float(1.0 - weighted_var(after, w) / vb) if vb > 0 else float("nan")


def spread(y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Gini, Theil, CV and the p90/p10 ratio of ``y`` in one dict."""
    return {"gini": weighted_gini(y, w), "theil": theil(y, w), "cv": cv(y, w), "p90_p10": p90_p10(y, w)}
