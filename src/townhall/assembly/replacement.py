"""Replacements: re-select after dropouts, keeping those already confirmed and the quotas.

People drop out between the draw and the first meeting. The panel is refilled by a new,
equally fair selection among the volunteers not yet selected: the confirmed members stay, the
quotas still hold for the whole panel, and the households of confirmed members are out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.assembly.distribution import Progress
from townhall.assembly.pool import Pool
from townhall.assembly.quotas import InfeasibleQuotasError, Quotas
from townhall.assembly.selection import Selection, SelectionOptions, read_inputs, run_selection
from townhall.errors import InputError


def replace(
    pool: str | Path | pd.DataFrame | Pool,
    quotas: str | Path | pd.DataFrame | Quotas,
    size: int,
    options: SelectionOptions | None = None,
    *,
    confirmed: Iterable[str],
    dropouts: Iterable[str] = (),
    seed: str | None = None,
    progress: Callable[[str], None] | None = None,
    monitor: Callable[[Progress], None] | None = None,
    **changes,
) -> Selection:
    """Fill the seats left by dropouts.

    Parameters
    ----------
    pool, quotas, size
        The original pool, quotas and panel size.
    options : SelectionOptions, optional
        As for :func:`~townhall.assembly.selection.select`; ``**changes`` change its fields.
    confirmed : iterable of str
        Ids of panel members who stay.
    dropouts : iterable of str
        Ids of those who left (never re-selected). Everyone else not confirmed is a candidate,
        except members of a confirmed member's household.
    seed, progress, monitor
        As for :func:`~townhall.assembly.selection.select`.

    Returns
    -------
    Selection
        Over the candidates, for ``size - len(confirmed)`` seats, with the quotas reduced by the
        confirmed members; :attr:`~Selection.panel` is the whole new panel (confirmed first).

    Raises
    ------
    InputError
        An id not in the pool, listed twice, or both confirmed and a dropout.
    InfeasibleQuotasError
        The confirmed members already exceed a maximum, or no refill meets the quotas.
    """
    opts = SelectionOptions.of(options, **changes)
    p, q, timings = read_inputs(pool, quotas, size, opts)
    ids = p.frame["id"]
    known = set(ids)
    keep = [str(i).strip() for i in confirmed]
    gone = [str(i).strip() for i in dropouts]
    for label, group in (("confirmed", keep), ("dropout", gone)):
        seen: set[str] = set()
        for i in group:
            if i not in known:
                raise InputError(f"A {label} id is not in the pool.", file=p.source, value=i)
            if i in seen:
                raise InputError(f"A {label} id is listed twice.", value=i)
            seen.add(i)
    both = set(keep) & set(gone)
    if both:
        raise InputError("An id is both confirmed and a dropout.", value=sorted(both)[0])
    seats = size - len(keep)
    if seats <= 0:
        raise InputError(f"{len(keep)} confirmed members already fill the panel of {size}.")

    is_kept = ids.isin(keep).to_numpy()
    out = is_kept | ids.isin(gone).to_numpy()
    if p.household is not None:
        out |= np.isin(p.household, p.household[is_kept])
    kept_frame = p.frame[is_kept]

    table = q.to_frame()
    already = np.array(
        [
            int((kept_frame[c] == v).sum())
            for c, v in zip(table["category"], table["value"], strict=True)
        ]
    )
    over = np.flatnonzero(already > table["max"].to_numpy())
    if len(over):
        i = over[0]
        raise InfeasibleQuotasError(
            f"The confirmed members already include {already[i]} with "
            f"{table['category'][i]} = {table['value'][i]!r}, above its maximum {table['max'][i]}.",
            file=q.source,
        )
    reduced = q.with_bounds(
        np.maximum(table["min"].to_numpy() - already, 0), table["max"].to_numpy() - already
    )
    candidates = p.subset(~out)
    sel = run_selection(
        candidates, reduced, seats, opts, say=progress, monitor=monitor, timings=timings
    )
    sel.quotas = q
    sel.size = size
    sel.confirmed = list(ids[is_kept])
    sel.confirmed_frame = kept_frame.reset_index(drop=True)
    if seed is not None:
        sel.draw(seed)
    return sel
