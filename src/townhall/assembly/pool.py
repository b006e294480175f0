"""The pool of volunteers: reading, derived fields and validation against the quotas.

A pool file (CSV or XLSX) has one row per volunteer: an id, one column per quota category and
optionally household or address columns. Any other columns (names, contact details) are read
and immediately dropped: they are never kept, logged or written out.

Every problem is reported as an :class:`~townhall.errors.InputError` naming the file, row (as a
spreadsheet numbers it: the header is row 1), column and value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from townhall.assembly.quotas import Quotas, read_table
from townhall.errors import InputError

_BAND = re.compile(
    r"^\s*(?:(?P<lo>\d+)\s*(?:-|–|to)\s*(?P<hi>\d+)|(?P<plus>\d+)\s*(?:\+|and over|or over|plus|and older)"
    r"|(?:under|<)\s*(?P<under>\d+))\s*(?:years?)?\s*$",
    re.IGNORECASE,
)


def parse_band(text: str) -> tuple[int, int | None]:
    """Parse an age band such as ``16-29``, ``75+``, ``75 and over`` or ``under 18``.

    Returns
    -------
    (low, high)
        Inclusive bounds in years; ``high`` is ``None`` for an open band.

    Raises
    ------
    ValueError
        When the text is not an age band.
    """
    m = _BAND.match(str(text))
    if not m:
        raise ValueError(f"not an age band: {text!r}")
    if m.group("lo") is not None:
        return int(m.group("lo")), int(m.group("hi"))
    if m.group("plus") is not None:
        return int(m.group("plus")), None
    return 0, int(m.group("under")) - 1


def age_band(ages: Sequence[int] | np.ndarray, bands: Sequence[str]) -> list[str | None]:
    """The band (from ``bands``) each age falls in, or ``None`` when it falls in none.

    Examples
    --------
    >>> age_band([16, 29, 30, 80], ["16-29", "30-44", "75+"])
    ['16-29', '16-29', '30-44', '75+']
    """
    parsed = [(b, *parse_band(b)) for b in bands]
    out: list[str | None] = []
    for a in ages:
        hit = None
        for b, lo, hi in parsed:
            if a >= lo and (hi is None or a <= hi):
                hit = b
                break
        out.append(hit)
    return out


@dataclass
class Pool:
    """Volunteers with their quota categories, checked against a quota table.

    Attributes
    ----------
    frame : pandas.DataFrame
        Column ``id`` then one column per quota category, values spelled as in the quotas.
    categories : list of str
        Quota categories (columns of ``frame`` after ``id``).
    household : numpy.ndarray or None
        Integer household label per volunteer (same label = same household), when household or
        address columns were named. The addresses themselves are not kept.
    source : str or None
        The file read (for messages).
    """

    frame: pd.DataFrame
    categories: list[str]
    household: np.ndarray | None = None
    source: str | None = None

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        hh = "" if self.household is None else ", with households"
        return f"Pool({len(self)} volunteers, {len(self.categories)} categories{hh})"

    def codes(self, quotas: Quotas) -> np.ndarray:
        """``(n, C)`` index of each volunteer's value within each category's quota values."""
        cols = []
        for cat in quotas.categories:
            lookup = {v: i for i, v in enumerate(quotas.values(cat))}
            cols.append(self.frame[cat].map(lookup).to_numpy(dtype=np.int64))
        return np.stack(cols, axis=1) if cols else np.zeros((len(self), 0), dtype=np.int64)

    def subset(self, mask: np.ndarray) -> Pool:
        """The volunteers where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        hh = None if self.household is None else self.household[mask]
        return Pool(self.frame[mask].reset_index(drop=True), self.categories, hh, self.source)


def _norm(s: str) -> str:
    return " ".join(str(s).split()).casefold()


def _find_column(columns: list[str], name: str) -> str | None:
    if name in columns:
        return name
    low = {_norm(c): c for c in columns}
    return low.get(_norm(name))


def read_pool(
    source: str | Path | pd.DataFrame,
    quotas: Quotas,
    *,
    id_column: str | None = None,
    households: str | Sequence[str] | None = None,
    birth_year: str | None = None,
    reference_year: int | None = None,
    age_category: str = "age",
) -> Pool:
    """Read and check a pool of volunteers.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV or XLSX file, or a frame.
    quotas : Quotas
        The quotas: every category must be a column (or derivable), every value must be listed.
    id_column : str, optional
        The id column. Default: a column called ``id`` if there is one, else the row number
        (``1`` for the first volunteer), as in the Flanigan et al. instances.
    households : str or sequence of str, optional
        Column(s) identifying a household or address; volunteers with equal values (compared
        ignoring case and spacing) share a household and at most one of them may be selected.
        Blank cells mean a household of one.
    birth_year : str, optional
        A column of years of birth from which to derive ``age_category`` (its quota values must
        be age bands such as ``16-29`` or ``75+``); age is ``reference_year - birth_year``.
    reference_year : int, optional
        The year ages are taken at (default: this year).
    age_category : str
        The quota category filled from ``birth_year``.

    Returns
    -------
    Pool

    Raises
    ------
    InputError
        Missing file or column, blank or duplicate id, a value the quotas do not list, a blank
        value, a birth year that is not a year or falls in no band.
    """
    file = None if isinstance(source, pd.DataFrame) else str(source)
    raw = source.copy() if isinstance(source, pd.DataFrame) else read_table(source)
    raw.columns = [str(c).strip() for c in raw.columns]
    columns = list(raw.columns)
    n = len(raw)
    if n == 0:
        raise InputError("The pool has no volunteers.", file=file)
    rows = np.arange(n) + 2  # spreadsheet row of each volunteer

    # Ids.
    if id_column is None:
        found = _find_column(columns, "id")
        ids = (
            raw[found].astype(str).str.strip().tolist()
            if found
            else [str(i) for i in range(1, n + 1)]
        )
        id_col = found or "row number"
    else:
        found = _find_column(columns, id_column)
        if found is None:
            raise InputError(
                "The id column is missing.",
                file=file,
                column=id_column,
                hint=f"Columns are: {', '.join(columns)}",
            )
        ids = raw[found].astype(str).str.strip().tolist()
        id_col = found
    first_row: dict[str, int] = {}
    for r, i in zip(rows, ids, strict=True):
        if i == "" or i.lower() == "nan":
            raise InputError("A volunteer has no id.", file=file, row=int(r), column=id_col)
        if i in first_row:
            raise InputError(
                "Duplicate id.",
                file=file,
                row=int(r),
                column=id_col,
                value=i,
                hint=f"First seen on row {first_row[i]}.",
            )
        first_row[i] = int(r)

    out = {"id": ids}
    for cat in quotas.categories:
        allowed = quotas.values(cat)
        col = _find_column(columns, cat)
        if col is None and birth_year is not None and _norm(cat) == _norm(age_category):
            out[cat] = _derive_age(raw, birth_year, allowed, reference_year, file, rows, columns)
            continue
        if col is None:
            raise InputError(
                f"The pool has no column for the quota category {cat!r}.",
                file=file,
                column=cat,
                hint=f"Pool columns are: {', '.join(columns)}",
            )
        exact = set(allowed)
        folded = {_norm(v): v for v in allowed}
        vals = []
        for r, v in zip(rows, raw[col].astype(str).tolist(), strict=True):
            v = v.strip()
            if v in exact:
                vals.append(v)
            elif _norm(v) in folded:
                vals.append(folded[_norm(v)])
            elif v == "" or v.lower() == "nan":
                raise InputError("Blank value.", file=file, row=int(r), column=col)
            else:
                raise InputError(
                    "Value not in the quotas.",
                    file=file,
                    row=int(r),
                    column=col,
                    value=v,
                    hint=f"The quotas for {cat!r} list: {', '.join(allowed)}",
                )
        out[cat] = vals

    household = None
    if households:
        hcols = [households] if isinstance(households, str) else list(households)
        keys = []
        for h in hcols:
            col = _find_column(columns, h)
            if col is None:
                raise InputError("The household column is missing.", file=file, column=h)
            keys.append(raw[col].astype(str).map(_norm).replace("nan", "").tolist())
        labels: dict[tuple[str, ...], int] = {}
        household = np.empty(n, dtype=np.int64)
        for i, key in enumerate(zip(*keys, strict=True)):
            if all(k == "" for k in key):
                household[i] = -1 - i  # a household of one
            else:
                household[i] = labels.setdefault(key, len(labels))
    frame = pd.DataFrame(out)
    return Pool(frame, list(quotas.categories), household, file)


def _derive_age(
    raw: pd.DataFrame,
    column: str,
    bands: list[str],
    reference_year: int | None,
    file: str | None,
    rows: np.ndarray,
    columns: list[str],
) -> list[str]:
    import datetime

    col = _find_column(columns, column)
    if col is None:
        raise InputError("The birth year column is missing.", file=file, column=column)
    for b in bands:
        try:
            parse_band(b)
        except ValueError:
            raise InputError(
                "Cannot derive age bands: a quota value is not an age band.",
                file=file,
                column=column,
                value=b,
                hint="Age bands look like 16-29, 75+ or 75 and over.",
            ) from None
    year = reference_year or datetime.date.today().year
    ages = []
    for r, v in zip(rows, raw[col].astype(str).tolist(), strict=True):
        try:
            y = int(float(v.strip()))
        except ValueError:
            raise InputError(
                "Not a year of birth.", file=file, row=int(r), column=col, value=v
            ) from None
        if not 1900 <= y <= year:
            raise InputError("Not a year of birth.", file=file, row=int(r), column=col, value=v)
        ages.append(year - y)
    out = age_band(ages, bands)
    for r, a, b, v in zip(rows, ages, out, raw[col].tolist(), strict=True):
        if b is None:
            raise InputError(
                f"Age {a} falls in none of the quota's age bands.",
                file=file,
                row=int(r),
                column=col,
                value=v,
                hint=f"Bands: {', '.join(bands)}",
            )
    return out  # type: ignore[return-value]
