"""Quotas: how many panel members each category value may have.

A quota table has one row per (category, value) with a minimum and a maximum. It can be read
from a file (``category,value,min,max``; the Sortition Foundation's ``feature,value,min,max``;
the Flanigan et al. replication format ``category,feature,min,max``), built from target shares
and a panel size (:func:`quotas_from_shares`), or from a place's census profile
(:func:`quotas_from_profile`).

When no panel can meet the quotas, :func:`check_feasible` says so before any selection runs and
proposes the smallest relaxation (fewest extra seats of slack in total) that makes one possible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

from townhall.errors import InputError

_CATEGORY_NAMES = ("category",)
_VALUE_NAMES = ("value",)


class InfeasibleQuotasError(InputError):
    """No panel of the requested size meets the quotas (with the suggested relaxation attached).

    Attributes
    ----------
    relaxation : pandas.DataFrame or None
        ``category, value, min, max, new_min, new_max`` for each quota that must change, or
        ``None`` when no change of quotas can help (the pool is too small).
    """

    def __init__(self, message: str, relaxation: pd.DataFrame | None = None, **kwargs) -> None:
        self.relaxation = relaxation
        hint = kwargs.pop("hint", None)
        if relaxation is not None and len(relaxation):
            lines = ["Smallest change to the quotas that makes a selection possible:"]
            for r in relaxation.itertuples(index=False):
                if r.new_min != r.min:
                    lines.append(
                        f"  {r.category}={r.value}: lower the minimum from {r.min} to {r.new_min}"
                    )
                if r.new_max != r.max:
                    lines.append(
                        f"  {r.category}={r.value}: raise the maximum from {r.max} to {r.new_max}"
                    )
            hint = "\n".join(lines) if hint is None else hint + "\n" + "\n".join(lines)
        super().__init__(message, hint=hint, **kwargs)


@dataclass
class Quotas:
    """Minimum and maximum panel members per category value.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``category, value, min, max`` (integers), in file order.
    source : str or None
        The file the quotas came from (for messages).
    """

    table: pd.DataFrame
    source: str | None = None

    @property
    def categories(self) -> list[str]:
        """Categories in order of first appearance."""
        return list(dict.fromkeys(self.table["category"].tolist()))

    def values(self, category: str) -> list[str]:
        """The values of one category, in order."""
        t = self.table
        return t.loc[t["category"] == category, "value"].tolist()

    @property
    def lower(self) -> np.ndarray:
        """Minimums, ordered category by category (as :attr:`flat_values`)."""
        return self._ordered()["min"].to_numpy(dtype=np.int64)

    @property
    def upper(self) -> np.ndarray:
        """Maximums, ordered category by category (as :attr:`flat_values`)."""
        return self._ordered()["max"].to_numpy(dtype=np.int64)

    @property
    def flat_values(self) -> list[tuple[str, str]]:
        """``(category, value)`` pairs, grouped by category in order."""
        t = self._ordered()
        return list(zip(t["category"].tolist(), t["value"].tolist(), strict=True))

    def _ordered(self) -> pd.DataFrame:
        order = {c: i for i, c in enumerate(self.categories)}
        t = self.table.assign(_c=self.table["category"].map(order), _r=np.arange(len(self.table)))
        return t.sort_values(["_c", "_r"]).drop(columns=["_c", "_r"])

    def __repr__(self) -> str:
        return f"Quotas({len(self.categories)} categories, {len(self.table)} values)"

    def to_frame(self) -> pd.DataFrame:
        """The quota table (a copy)."""
        return self._ordered().reset_index(drop=True).copy()

    def with_bounds(self, lower: np.ndarray, upper: np.ndarray) -> Quotas:
        """A copy with new bounds (in :attr:`flat_values` order)."""
        t = self.to_frame()
        t["min"] = np.asarray(lower, dtype=np.int64)
        t["max"] = np.asarray(upper, dtype=np.int64)
        return Quotas(t, self.source)


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in low:
            return low[n]
    return None


def read_table(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise InputError("File not found.", file=str(path))
    try:
        if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(p, dtype=str, keep_default_na=False)
        return pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"Could not read the table: {exc}", file=str(path)) from None


def _to_int(raw: str, *, file: str | None, row: int, column: str) -> int:
    text = str(raw).strip()
    try:
        f = float(text)
    except ValueError:
        raise InputError(
            "Expected a whole number.", file=file, row=row, column=column, value=raw
        ) from None
    if not math.isfinite(f) or f != int(f):
        raise InputError("Expected a whole number.", file=file, row=row, column=column, value=raw)
    if f < 0:
        raise InputError("Quotas cannot be negative.", file=file, row=row, column=column, value=raw)
    return int(f)


def read_quotas(
    source: str | Path | pd.DataFrame, size: int | None = None, *, tolerance: float = 0.1
) -> Quotas:
    """Read a quota table.

    Accepted columns (case-insensitive): ``category, value, min, max``; ``feature, value, min,
    max`` (Sortition Foundation); ``category, feature, min, max`` (Flanigan et al.); or
    ``category, value, share`` (target shares, needs ``size``; see :func:`quotas_from_shares`).
    Other columns (such as ``min_flex``, or the ``target`` seats written by
    :func:`quotas_from_profile`) are ignored beside min and max; a ``target`` column without
    min and max, or a min without a max, is refused. Rows are numbered as a spreadsheet shows
    them: the header is row 1.

    Parameters
    ----------
    source : str, Path or DataFrame
        A CSV or XLSX file, or a frame.
    size : int, optional
        Panel size, needed for target shares and used to check the bounds.
    tolerance : float
        For target shares: relative tolerance around each target.

    Returns
    -------
    Quotas

    Raises
    ------
    InputError
        Missing columns, non-numeric or negative bounds, minimum above maximum, repeated values.
    """
    file = None if isinstance(source, pd.DataFrame) else str(source)
    raw = source.astype(str) if isinstance(source, pd.DataFrame) else read_table(source)
    cols = [str(c) for c in raw.columns]
    raw.columns = cols
    cat = _pick(cols, ("category",))
    val = _pick(cols, ("value",))
    feat = _pick(cols, ("feature",))
    if cat and val:
        pass
    elif feat and val:
        cat = feat
    elif cat and feat:
        val = feat
    else:
        missing = "category" if not (cat or feat) else "value"
        raise InputError(
            "The quota table needs a category and a value column.",
            file=file,
            column=missing,
            hint="Expected columns: category,value,min,max (or category,value,share with a panel size).",
        )
    lo_c, hi_c = _pick(cols, ("min", "minimum")), _pick(cols, ("max", "maximum"))
    share_c = _pick(cols, ("share", "target", "proportion"))
    records = []
    seen: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(raw.to_dict(orient="records")):
        row = i + 2
        c, v = str(rec[cat]).strip(), str(rec[val]).strip()
        if not c and not v:
            continue
        if not c or not v:
            raise InputError(
                "A quota row needs both a category and a value.",
                file=file,
                row=row,
                column=cat if not c else val,
            )
        if (c, v) in seen:
            raise InputError(
                f"The value {v!r} of category {c!r} is listed twice.",
                file=file,
                row=row,
                column=val,
                value=v,
                hint=f"First listed on row {seen[(c, v)]}.",
            )
        seen[(c, v)] = row
        records.append((row, c, v, rec))
    if not records:
        raise InputError("The quota table has no rows.", file=file)

    if bool(lo_c) != bool(hi_c):
        # A min without a max (or the reverse) is a half-written quota file: never guess.
        raise InputError(
            f"The quota table has a {'min' if lo_c else 'max'} column but no "
            f"{'max' if lo_c else 'min'} column.",
            file=file,
            column="max" if lo_c else "min",
            hint="Give both min and max (a target column alone is not read as bounds).",
        )
    if share_c and not lo_c and share_c.strip().lower() == "target":
        # ``townhall assembly quotas`` writes ``target`` as seats beside min and max; alone it
        # would be ambiguous (seats or shares?), so it is refused rather than guessed.
        raise InputError(
            "The quota table has a target column but no min and max columns.",
            file=file,
            column=share_c,
            hint="A target is a number of seats, not bounds: add min and max columns, or "
            "rename the column to share to ask for quotas around those shares.",
        )
    if lo_c and hi_c:
        rows = []
        for row, c, v, rec in records:
            lo = _to_int(rec[lo_c], file=file, row=row, column=lo_c)
            hi = _to_int(rec[hi_c], file=file, row=row, column=hi_c)
            if lo > hi:
                raise InputError(
                    f"The minimum ({lo}) is above the maximum ({hi}).",
                    file=file,
                    row=row,
                    column=lo_c,
                    value=lo,
                )
            rows.append((c, v, lo, hi))
        quotas = Quotas(pd.DataFrame(rows, columns=["category", "value", "min", "max"]), file)
    elif share_c:
        if size is None:
            raise InputError("Target shares need a panel size.", file=file, column=share_c)
        shares: dict[str, dict[str, float]] = {}
        for row, c, v, rec in records:
            try:
                s = float(str(rec[share_c]).strip().rstrip("%"))
            except ValueError:
                raise InputError(
                    "Expected a number.", file=file, row=row, column=share_c, value=rec[share_c]
                ) from None
            if not math.isfinite(s) or s < 0:
                raise InputError(
                    "Shares must be zero or more.",
                    file=file,
                    row=row,
                    column=share_c,
                    value=rec[share_c],
                )
            shares.setdefault(c, {})[v] = s
        quotas = quotas_from_shares(shares, size, tolerance)
        quotas.source = file
    else:
        raise InputError(
            "The quota table needs min and max columns (or a share column).",
            file=file,
            column="min" if not lo_c else "max",
        )
    if size is not None:
        check_bounds(quotas, size)
    return quotas


def bound_problems(quotas: Quotas, size: int) -> list[tuple[str, str]]:
    """Categories that cannot add up to the panel size on their own: ``(message, category)``."""
    out = []
    for cat in quotas.categories:
        sub = quotas.table[quotas.table["category"] == cat]
        lo, hi = int(sub["min"].sum()), int(sub["max"].sum())
        if lo > size:
            out.append(
                (
                    f"The minimums of category {cat!r} add up to {lo}, more than the panel size {size}.",
                    cat,
                )
            )
        if hi < size:
            out.append(
                (
                    f"The maximums of category {cat!r} add up to {hi}, less than the panel size {size}.",
                    cat,
                )
            )
    return out


def check_bounds(quotas: Quotas, size: int) -> None:
    """Check each category can add up to the panel size on its own.

    Raises
    ------
    InfeasibleQuotasError
        When a category's minimums add up to more than ``size`` or its maximums to less.
    """
    if size < 1:
        raise InputError("The panel size must be at least 1.", value=size)
    for message, cat in bound_problems(quotas, size)[:1]:
        raise InfeasibleQuotasError(message, file=quotas.source, column=cat)


def quotas_from_shares(
    shares: Mapping[str, Mapping[str, float]], size: int, tolerance: float = 0.1
) -> Quotas:
    """Quotas around target shares of a panel.

    For a value with share ``s`` of its category, the target is ``size * s`` seats; the minimum
    is ``floor(target * (1 - tolerance))`` and the maximum ``ceil(target * (1 + tolerance))``
    (capped at ``size``). Rounding down and up keeps every category able to reach ``size``
    exactly: the minimums add up to at most ``size`` and the maximums to at least ``size``.

    Parameters
    ----------
    shares : mapping
        ``{category: {value: share or count}}``; each category is normalised to sum to 1.
    size : int
        Panel size.
    tolerance : float
        Relative tolerance (0.1 = targets plus or minus 10 %).

    Returns
    -------
    Quotas
    """
    if size < 1:
        raise InputError("The panel size must be at least 1.", value=size)
    if not 0 <= tolerance < 1:
        raise InputError("The tolerance must be at least 0 and below 1.", value=tolerance)
    rows = []
    for cat, values in shares.items():
        total = float(sum(values.values()))
        if total <= 0:
            raise InputError("A category has no people or shares.", column=cat)
        for v, s in values.items():
            target = size * float(s) / total
            # Round with a little slack so 12.000000001 is not pushed to 13.
            lo = max(0, math.floor(target * (1 - tolerance) + 1e-9))
            hi = min(size, math.ceil(target * (1 + tolerance) - 1e-9))
            rows.append((str(cat), str(v), int(lo), int(max(hi, lo))))
    return Quotas(pd.DataFrame(rows, columns=["category", "value", "min", "max"]))


def quotas_from_profile(
    profile: Mapping[str, Mapping[str, float]], size: int, tolerance: float = 0.1
) -> Quotas:
    """Quotas from a place's census profile.

    Parameters
    ----------
    profile : mapping
        ``{category: {value: count}}`` as returned by
        :meth:`townhall.api.Atlas.census_profile` (counts of adults).
    size : int
        Panel size.
    tolerance : float
        Relative tolerance around each target (see :func:`quotas_from_shares`).

    Returns
    -------
    Quotas
        With an extra ``target`` column: the exact proportional number of seats.

    Examples
    --------
    >>> q = quotas_from_profile({"sex": {"Female": 510, "Male": 490}}, 30, 0.1)
    >>> q.table[["value", "min", "max"]].values.tolist()
    [['Female', 13, 17], ['Male', 13, 17]]
    """
    q = quotas_from_shares(profile, size, tolerance)
    targets = []
    for values in profile.values():
        total = float(sum(values.values()))
        targets += [size * float(c) / total for c in values.values()]
    q.table["target"] = np.round(targets, 3)
    return q


def relaxation(inst) -> pd.DataFrame | None:
    """The smallest change of quota bounds that lets some panel exist.

    A MIP on HiGHS: counts per type as in the panel oracle, plus non-negative integer slack on
    every minimum and maximum; minimise the total slack.

    Parameters
    ----------
    inst : townhall.assembly.model.Instance
        The (infeasible) problem.

    Returns
    -------
    pandas.DataFrame or None
        Flat index ``i`` of each changed quota with ``new_min, new_max``, or ``None`` when even
        dropping every quota leaves no panel (too few people, or too few households).
    """
    from townhall.assembly.model import new_highs

    h = new_highs()
    T, V = inst.n_types, inst.n_values
    # Columns: x_t (T), s_lo_v (V), s_hi_v (V).
    h.addVars(
        T + 2 * V,
        np.zeros(T + 2 * V),
        np.concatenate(
            [inst.counts.astype(float), inst.lower.astype(float), np.full(V, float(inst.k))]
        ),
    )
    h.changeColsIntegrality(
        T + 2 * V,
        np.arange(T + 2 * V, dtype=np.int32),
        np.full(T + 2 * V, highspy.HighsVarType.kInteger),
    )
    h.changeColsCost(2 * V, np.arange(T, T + 2 * V, dtype=np.int32), np.ones(2 * V))
    a = inst.value_matrix()
    rows_lo, rows_hi, starts, idx, vals = (
        [float(inst.k)],
        [float(inst.k)],
        [0],
        [np.arange(T)],
        [np.ones(T)],
    )
    pos = T
    for v in range(V):
        members = np.flatnonzero(a[v])
        # sum x + s_lo >= lower ; sum x - s_hi <= upper
        starts.append(pos)
        idx.append(np.append(members, T + v))
        vals.append(np.append(np.ones(len(members)), 1.0))
        rows_lo.append(float(inst.lower[v]))
        rows_hi.append(np.inf)
        pos += len(members) + 1
        starts.append(pos)
        idx.append(np.append(members, T + V + v))
        vals.append(np.append(np.ones(len(members)), -1.0))
        rows_lo.append(-np.inf)
        rows_hi.append(float(inst.upper[v]))
        pos += len(members) + 1
    for group in inst.households:
        starts.append(pos)
        idx.append(group)
        vals.append(np.ones(len(group)))
        rows_lo.append(0.0)
        rows_hi.append(1.0)
        pos += len(group)
    h.addRows(
        len(rows_lo),
        np.array(rows_lo),
        np.array(rows_hi),
        pos,
        np.array(starts, dtype=np.int32),
        np.concatenate(idx).astype(np.int32),
        np.concatenate(vals),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
    s_lo, s_hi = sol[T : T + V], sol[T + V :]
    changed = np.flatnonzero((s_lo > 0) | (s_hi > 0))
    return pd.DataFrame(
        {
            "i": changed,
            "new_min": inst.lower[changed] - s_lo[changed],
            "new_max": inst.upper[changed] + s_hi[changed],
        }
    )
