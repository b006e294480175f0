"""Independent check of a distribution over panels: every panel valid, probabilities consistent.

:func:`verify_distribution` recomputes everything from the instance's raw data (the quota bounds,
each type's values, sizes and households), without the solver's models, so a bug in the
optimisation cannot hide itself: every panel in the support has the panel size and meets every
quota and the household rule, the weights are a probability distribution, each person's
probability is the total weight of the panels they sit on, and the probabilities add up to the
panel size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from townhall.assembly.distribution import Distribution
    from townhall.assembly.model import Instance


def verify_distribution(
    inst: Instance,
    dist: Distribution | None = None,
    *,
    panels: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Check a distribution over panels of types; raise ``ValueError`` naming the first fault.

    Parameters
    ----------
    inst : Instance
        The problem.
    dist : Distribution, optional
        The distribution to check (its panels, weights and per-type probabilities).
    panels, weights, probabilities : numpy.ndarray, optional
        Instead of ``dist``: ``(P, T)`` counts per type, ``(P,)`` weights, and the claimed
        probabilities per type ``(T,)`` or per person ``(n,)`` (checked when given).
    tolerance : float
        Allowed numerical error on sums and probabilities.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` each person's probability, recomputed from the panels.

    Raises
    ------
    ValueError
        A panel of the wrong size, breaking a quota or the household rule, or with more people of
        a type than there are; negative weights or weights not summing to 1; probabilities not
        matching the panels or not summing to the panel size.
    """
    if dist is not None:
        panels, weights = dist.panels, dist.weights
        probabilities = dist.type_probabilities if probabilities is None else probabilities
    if panels is None or weights is None:
        raise ValueError("Give a distribution, or panels and weights.")
    X = np.asarray(panels)
    w = np.asarray(weights, dtype=np.float64)
    T = inst.n_types
    if X.ndim != 2 or X.shape[1] != T or len(w) != len(X):
        raise ValueError(f"Expected ({len(w)}, {T}) panels; got {X.shape}.")
    if not np.array_equal(X, np.rint(X)):
        raise ValueError("A panel has a fractional count.")
    X = np.rint(X).astype(np.int64)
    if (w < -tolerance).any():
        raise ValueError(f"Panel {int(np.argmin(w))} has a negative weight {w.min()}.")
    if abs(w.sum() - 1.0) > tolerance:
        raise ValueError(f"The weights sum to {float(w.sum())!r}, not 1.")
    # Seats per quota value, recomputed from each type's values (not from the solver's matrix).
    seats = np.zeros((len(X), inst.n_values), dtype=np.int64)
    for c in range(inst.type_values.shape[1]):
        np.add.at(seats.T, inst.type_values[:, c], X.T)
    for i, x in enumerate(X):
        if x.sum() != inst.k:
            raise ValueError(f"Panel {i} has {x.sum()} members, not {inst.k}.")
        if (x < 0).any() or (x > inst.counts).any():
            t = int(np.flatnonzero((x < 0) | (x > inst.counts))[0])
            raise ValueError(f"Panel {i} seats {x[t]} of type {t}, which has {inst.counts[t]}.")
        bad = np.flatnonzero((seats[i] < inst.lower) | (seats[i] > inst.upper))
        if len(bad):
            v = int(bad[0])
            raise ValueError(
                f"Panel {i} has {seats[i, v]} with quota value {v}, outside "
                f"[{inst.lower[v]}, {inst.upper[v]}]."
            )
        for g in inst.households:
            if x[g].sum() > 1:
                raise ValueError(f"Panel {i} seats {x[g].sum()} members of one household.")
    type_p = (w @ X) / inst.counts
    person_p = type_p[inst.person_type]
    if abs(person_p.sum() - inst.k) > tolerance * max(1, inst.k):
        raise ValueError(f"The probabilities sum to {float(person_p.sum())!r}, not {inst.k}.")
    if probabilities is not None:
        claimed = np.asarray(probabilities, dtype=np.float64)
        want = type_p if len(claimed) == T and len(claimed) != inst.n_people else person_p
        if len(claimed) != len(want):
            raise ValueError(f"Expected {len(want)} probabilities; got {len(claimed)}.")
        err = np.abs(claimed - want)
        if err.max() > tolerance:
            j = int(np.argmax(err))
            raise ValueError(
                f"Probability {j} is {float(claimed[j])!r} but its panels' weights add up to {float(want[j])!r}."
            )
    return person_p
