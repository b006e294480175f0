"""Rule types: how a claim's figure is computed from the atlas.

Each rule type is a pydantic model (its keys are the claim file's keys) with
``check(atlas)`` (names it uses exist) and ``run(atlas, ctx)`` returning a
:class:`Figure`. ``ctx`` is a dict shared by the rules of one run, so rules that
need the same heavy computation (the towns bootstrap) do it once.

=================  ==========================================================
type               figure
=================  ==========================================================
top_areas          how many of the top ``n`` areas for an option or party are
                   in ``classes`` (referendum counting areas or seats), or have at
                   least ``min_share`` of their residents in places of those classes
seat_list          share of a party's targets or marginals (``which``) in ``classes``
class_change       mean (or summed-vote) change between two elections in class
                   ``a`` minus class ``b`` (Butler swing or a party's share)
swing_count        seats in ``classes`` whose swing or share change goes one
                   way by more than ``threshold`` points
named_seats        how many of the named seats pass a test (gain, above-mean rise)
first_win          1 if the party won the seat in ``year`` and never before in
                   the 1918-2017 record, else 0
towns_headline     share of English towns falling behind their paired city
                   under a level or trend test (:mod:`townhall.places.summary`)
class_mean         an indicator's mean in class ``a`` minus class ``b``
infrastructure     a hook: a function of the social-infrastructure wing, run
                   only when the atlas has its table (else 'cannot be tested yet')
=================  ==========================================================

Intervals: counts of k out of n carry an exact (Clopper-Pearson) 95% binomial
interval, which treats the n areas as a sample of areas like them; class
differences carry a percentile bootstrap over areas; the towns shares carry
the towns bootstrap (small areas resampled). Figures that rest on no sampling
(who won a seat) carry none.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from townhall.errors import TownhallError, UnknownIndicatorError

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

Status = Literal["ok", "cannot", "not_yet"]
CONFIDENCE = 0.95


@dataclass
class Figure:
    """What one rule found.

    ``value`` is the number the claim's assertion is tested against;
    ``display`` the same in words ('22 of 30'); ``lower``/``upper`` the
    interval on the scale of ``value`` where the figure rests on sampling or
    resampling (``interval`` says how it was made); ``status`` is ``ok``,
    ``cannot`` (this data cannot answer) or ``not_yet`` (the data is being
    built), with ``reason``.
    """

    value: float | None
    display: str
    lower: float | None = None
    upper: float | None = None
    interval: str = ""
    n: int | None = None
    k: int | None = None
    note: str = ""
    details: list[dict[str, Any]] = field(default_factory=list)
    status: Status = "ok"
    reason: str = ""


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact binomial interval for a proportion k/n."""
    from scipy.stats import beta

    if n <= 0:
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def bootstrap_diff(a: np.ndarray, b: np.ndarray, draws: int = 2000, seed: int = 1,
                   confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) - mean(b), areas resampled within each group."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, len(a), (draws, len(a)))].mean(axis=1)
    db = b[rng.integers(0, len(b), (draws, len(b)))].mean(axis=1)
    q = (1 - confidence) / 2
    lo, hi = np.quantile(da - db, [q, 1 - q])
    return float(lo), float(hi)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    from townhall.atlas.store import records

    return records(df)


def _known_elections(atlas: Atlas) -> list[str]:
    from townhall.elections import data

    if data.has_elections(atlas):
        return list(data.elections(atlas)["id"])
    from townhall.atlas.elections import ELECTIONS

    return list(ELECTIONS)


def _check_elections(atlas: Atlas, **keys: str | None) -> tuple[str, str, str] | None:
    known = _known_elections(atlas)
    for key, el in keys.items():
        if el is not None and el not in known:
            return key, f"unknown election {el!r}.", "Elections: " + ", ".join(known) + "."
    return None


def _check_classes(classes: list[str], coarse: bool, key: str = "classes") -> tuple[str, str, str] | None:
    from townhall.elections.data import class_order

    ok = class_order(coarse)
    bad = [c for c in classes if c not in ok]
    if bad:
        return key, f"unknown class {bad[0]!r} for coarse = {str(coarse).lower()}.", "Classes: " + ", ".join(ok) + "."
    return None


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = ""

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        """(key, message, hint) for the first name the atlas does not know, else None."""
        return None

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in words (its label, or its keys)."""
        if self.label:
            return self.label
        keys = self.model_dump(exclude={"label", "type"}, exclude_none=True)
        return f"{getattr(self, 'type', '')}: " + ", ".join(f"{k} = {v}" for k, v in keys.items())


def _no_data(atlas: Atlas) -> Figure | None:
    from townhall.elections import data

    if not data.has_elections(atlas):
        return Figure(None, "no figure", status="cannot",
                      reason="The atlas has no election tables (build it with this version of townhall).")
    return None


class TopAreas(_Rule):
    """How many of the top ``n`` areas for an option or party fall in ``classes``."""

    type: Literal["top_areas"]
    election: str
    option: str
    n: int = Field(ge=1)
    areas: Literal["current", "counting"] = "current"
    countries: list[Literal["E", "W", "S", "N", "GI"]] | None = None
    scheme: Literal["settlement", "hocl"] = "settlement"
    coarse: bool = True
    classes: list[str] = Field(min_length=1)
    lowest: bool = False
    min_share: float | None = Field(default=None, gt=0, le=1)

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        if self.min_share is not None and self.scheme != "settlement":
            return "min_share", "min_share works with scheme = 'settlement' (residents' shares).", ""
        return _check_elections(atlas, election=self.election) or _check_classes(self.classes, self.coarse)

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.data import GROUPS, area_classes, class_column
        from townhall.elections.geography import top
        from townhall.places.classify import KINDS, SHARE_COLS

        if (f := _no_data(atlas)) is not None:
            return f
        t = top(atlas, self.election, self.option, self.n, countries=tuple(self.countries or ()) or None,
                areas=self.areas, lowest=self.lowest)
        col = class_column(self.scheme, self.coarse)
        inside = t.table[col].isin(self.classes)
        if self.min_share is not None:
            # 'An area of a city': at least min_share of its residents live in places of these classes.
            kinds = [k for k in KINDS if (GROUPS[k] if self.coarse else k) in self.classes]
            cols = [SHARE_COLS[KINDS.index(k)] for k in kinds]
            level = str(atlas.query("SELECT level FROM election WHERE id = ?", [self.election]).iat[0, 0])
            sh = area_classes(atlas, level).set_index("code")[cols].sum(axis=1)
            inside = t.table["class_area"].map(sh).fillna(0) >= self.min_share
        k, n = int(inside.sum()), len(t.table)
        unclassified = int(t.table[col].isna().sum())
        lo, hi = clopper_pearson(k, n)
        note = (f"{unclassified} of the {n} areas have no {self.scheme} class (Scotland, Northern Ireland, "
                "Gibraltar or no Library class) and count as outside the classes." if unclassified else "")
        det = t.table[["rank", "name", "country", "share", col]].rename(columns={col: "class"})
        return Figure(float(k), f"{k} of {n}", lo * n, hi * n, "exact binomial 95% (areas as a sample)", n, k,
                      note, _records(det))


class SeatList(_Rule):
    """Share of a party's target or marginal seats that fall in ``classes``."""

    type: Literal["seat_list"]
    election: str
    party: str
    which: Literal["targets", "marginals"] = "targets"
    n: int | None = Field(default=None, ge=1)
    pool: Literal["all", "second"] = "all"
    speaker: Literal["excluded", "counted"] = "excluded"
    countries: list[Literal["E", "W", "S", "N"]] | None = None
    count_in: list[Literal["E", "W", "S", "N"]] | None = None
    max_majority: float | None = Field(default=None, gt=0)
    scheme: Literal["settlement", "hocl"] = "hocl"
    coarse: bool = True
    classes: list[str] = Field(min_length=1)

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        return _check_elections(atlas, election=self.election) or _check_classes(self.classes, self.coarse)

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.data import class_column
        from townhall.elections.targets import targets

        if (f := _no_data(atlas)) is not None:
            return f
        n = self.n
        if self.max_majority is not None and self.which == "marginals":
            n = 10_000  # every held seat, cut by majority below
        t = targets(atlas, self.election, self.party, kind=self.which, n=n, pool=self.pool, speaker=self.speaker,
                    countries=tuple(self.countries or ()) or None)
        tab = t.table
        if self.max_majority is not None and self.which == "marginals":
            tab = tab[tab["majority_share"] < self.max_majority]
        if self.count_in:
            tab = tab[tab["country"].isin(self.count_in)]
        col = class_column(self.scheme, self.coarse)
        known = tab[tab[col].notna()]
        k, m = int(known[col].isin(self.classes).sum()), len(known)
        lo, hi = clopper_pearson(k, m)
        share = k / m if m else float("nan")
        note = (f"{t.rule} {len(tab)} of the listed seats counted"
                + (f" (in {', '.join(self.count_in)})" if self.count_in else "")
                + (f"; {len(tab) - m} without a {self.scheme} class left out" if len(tab) > m else "") + ".")
        det = tab[["rank", "name", "country", "winner", *(["swing_needed"] if "swing_needed" in tab else []),
                   "majority_share", col]].rename(columns={col: "class"})
        return Figure(share, f"{k} of {m} ({100 * share:.0f}%)" if m else "no seats", lo, hi,
                      "exact binomial 95% (seats as a sample)", m, k, note, _records(det))


class ClassChange(_Rule):
    """Change between two elections in class ``a`` minus class ``b`` (points)."""

    type: Literal["class_change"]
    from_election: str
    to_election: str
    measure: str = "butler"
    scheme: Literal["settlement", "hocl"] = "hocl"
    coarse: bool = True
    a: str
    b: str
    stat: Literal["mean", "aggregate"] = "mean"
    draws: int = Field(default=2000, ge=100)
    seed: int = 1

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        return (_check_elections(atlas, from_election=self.from_election, to_election=self.to_election)
                or _check_classes([self.a], self.coarse, "a") or _check_classes([self.b], self.coarse, "b"))

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.geography import swing

        if (f := _no_data(atlas)) is not None:
            return f
        party = None if self.measure == "butler" else self.measure
        s = swing(atlas, self.from_election, self.to_election, self.scheme, self.coarse, party)
        col = "butler" if party is None else "change"
        va = s.seats.loc[s.seats["class"] == self.a, col].to_numpy(float)
        vb = s.seats.loc[s.seats["class"] == self.b, col].to_numpy(float)
        if len(va) == 0 or len(vb) == 0:
            return Figure(None, "no figure", status="cannot", reason=f"No seats of class {self.a!r} or {self.b!r}.")
        tab = s.table.set_index("class")
        if self.stat == "mean":
            value = float(va.mean() - vb.mean())
            lo, hi = bootstrap_diff(va, vb, self.draws, self.seed)
            how = f"percentile bootstrap 95% over seats ({self.draws} draws, seed {self.seed})"
        else:
            agg = "butler" if party is None else "change"
            value = float(tab.at[self.a, agg] - tab.at[self.b, agg])
            lo = hi = None
            how = ""
        what = "Butler swing to Con" if party is None else f"{party} share change"
        det = s.table.rename(columns={"butler": "butler_aggregate"})
        return Figure(value, f"{value:+.1f} points", lo, hi, how, len(va) + len(vb), None,
                      f"{what}, {self.stat} of {self.a} ({len(va)} seats) minus {self.b} ({len(vb)} seats).",
                      _records(det))


class SwingCount(_Rule):
    """Seats in ``classes`` whose swing (or a party's change) goes one way by more than ``threshold``."""

    type: Literal["swing_count"]
    from_election: str
    to_election: str
    measure: str = "butler"
    direction: Literal["up", "down"] = "up"
    threshold: float = 0.0
    scheme: Literal["settlement", "hocl"] = "hocl"
    coarse: bool = True
    classes: list[str] = Field(min_length=1)

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        return (_check_elections(atlas, from_election=self.from_election, to_election=self.to_election)
                or _check_classes(self.classes, self.coarse))

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.geography import swing

        if (f := _no_data(atlas)) is not None:
            return f
        party = None if self.measure == "butler" else self.measure
        s = swing(atlas, self.from_election, self.to_election, self.scheme, self.coarse, party)
        col = "butler" if party is None else "change"
        part = s.seats[s.seats["class"].isin(self.classes)]
        v = part[col]
        hit = (v > self.threshold) if self.direction == "up" else (v < -self.threshold)
        k, m = int(hit.sum()), len(part)
        lo, hi = clopper_pearson(k, m)
        what = ("Butler swing to Con" if party is None else f"{party} share change")
        det = part[hit].sort_values(col, ascending=self.direction == "down")[["name", "class", col]]
        return Figure(float(k), f"{k} of {m} seats", lo * m, hi * m, "exact binomial 95% (seats as a sample)", m, k,
                      f"{what} {'above' if self.direction == 'up' else 'below'} "
                      f"{'+' if self.direction == 'up' else '-'}{self.threshold:g} points.", _records(det.head(40)))


class NamedSeats(_Rule):
    """How many of the named seats pass a test between two elections."""

    type: Literal["named_seats"]
    from_election: str
    to_election: str
    party: str
    seats: list[str] = Field(min_length=1)
    test: Literal["gain", "above_mean", "above_median", "rise"] = "above_mean"

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        return _check_elections(atlas, from_election=self.from_election, to_election=self.to_election)

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.geography import seat_changes
        from townhall.levels import normalise_name

        if (f := _no_data(atlas)) is not None:
            return f
        ch, _, _ = seat_changes(atlas, self.from_election, self.to_election, self.party)
        ch.attrs.pop("votes", None)
        by_name = {normalise_name(str(n)): i for i, n in zip(ch.index, ch["name"], strict=True)}
        by_code = dict(zip(ch["area"], ch.index, strict=True))
        rows, missing = [], []
        mean, median = ch["change"].mean(), ch["change"].median()
        for s in self.seats:
            i = by_code.get(s, by_name.get(normalise_name(s)))
            if i is None:
                missing.append(s)
                continue
            r = ch.loc[i]
            ok = {"gain": r["winner_2"] == self.party and r["winner_1"] != self.party,
                  "above_mean": r["change"] > mean, "above_median": r["change"] > median,
                  "rise": r["change"] > 0}[self.test]
            rows.append({"seat": r["name"], "change": r["change"], "winner_before": r["winner_1"],
                         "winner_after": r["winner_2"], "passes": bool(ok)})
        if missing:
            return Figure(None, "no figure", status="cannot",
                          reason=f"No seat named {missing[0]!r} in {self.to_election}.")
        k = sum(r["passes"] for r in rows)
        note = (f"Test '{self.test}' for {self.party}: " + {"gain": "won from another party",
                                                             "above_mean": f"share rose by more than the mean of all seats ({mean:+.1f} points)",
                                                             "above_median": f"share rose by more than the median seat ({median:+.1f} points)",
                                                             "rise": "share rose"}[self.test] + ".")
        return Figure(float(k), f"{k} of {len(rows)}", None, None, "", len(rows), k, note, rows)


class FirstWin(_Rule):
    """1 if ``party`` won the seat in ``year`` and never before in the 1918-2017 record."""

    type: Literal["first_win"]
    names: list[str] = Field(min_length=1)
    party: Literal["con", "lab", "ld", "nat", "oth"]
    year: str

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        has = len(atlas.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'election_history'"))
        if not has:
            return Figure(None, "no figure", status="cannot", reason="The atlas has no election history table.")
        names = [n.upper() for n in self.names]
        h = atlas.query("SELECT election, constituency, winner FROM election_history WHERE list_contains(?, "
                        "constituency) ORDER BY election", [names])
        if h.empty:
            return Figure(None, "no figure", status="cannot",
                          reason=f"No contest under the name(s) {', '.join(self.names)} in 1918-2017.")
        year = self.year
        won_now = bool(((h["election"] == year) & (h["winner"] == self.party)).any())
        earlier = h[(h["election"] < year) & (h["winner"] == self.party)]
        value = 1.0 if won_now and earlier.empty else 0.0
        first, last = h["election"].min(), h["election"].max()
        return Figure(value, "yes" if value else "no", note=(
            f"{self.party} won in {year}: {'yes' if won_now else 'no'}; earlier {self.party} wins "
            f"{first}-{last}: {len(earlier)} of {int((h['election'] < year).sum())} contests"
            + (f" ({', '.join(earlier['election'])})" if len(earlier) else "") + "."),
            n=len(h), details=_records(h))


class TownsHeadline(_Rule):
    """Share of English towns falling behind their paired city, by test and pairing rule."""

    type: Literal["towns_headline"]
    test: Literal["level", "level_2019", "level_2025_pct", "trend", "trend_clear"] = "level"
    pairing: Literal["nearest", "ttwa"] = "nearest"
    draws: int = Field(default=200, ge=10)
    seed: int | None = None

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.places.gaps import DEFAULT_SEED
        from townhall.places.summary import TESTS, sensitivity

        seed = DEFAULT_SEED if self.seed is None else self.seed
        key = ("towns_sensitivity", self.pairing, self.draws, seed)
        if key not in ctx:
            try:
                ctx[key] = sensitivity(atlas, pairings=(self.pairing,), n_draws=self.draws, seed=seed)
            except TownhallError as exc:
                return Figure(None, "no figure", status="cannot", reason=exc.message)
        t = ctx[key].table
        r = t[t["test"] == self.test].iloc[0]
        lo, hi = (None, None) if pd.isna(r["lower"]) else (float(r["lower"]), float(r["upper"]))
        return Figure(float(r["share"]), f"{int(r['count']):,} of {int(r['towns']):,} ({100 * r['share']:.0f}%)",
                      lo, hi, f"towns bootstrap 95% ({self.draws} draws, small areas resampled)" if lo is not None
                      else "", int(r["towns"]), int(r["count"]), f"Test: {TESTS[self.test]}; pairing: {self.pairing}.")


class ClassMean(_Rule):
    """An indicator's mean over the areas of class ``a`` minus its mean over class ``b``."""

    type: Literal["class_mean"]
    indicator: str
    level: str
    period: str | None = None
    scheme: Literal["settlement", "hocl"] = "settlement"
    coarse: bool = True
    a: str
    b: str
    draws: int = Field(default=2000, ge=100)
    seed: int = 1

    def check(self, atlas: Atlas) -> tuple[str, str, str] | None:
        from townhall.levels import LEVELS
        from townhall.places.classify import SHARE_LEVELS

        try:
            atlas.indicator(self.indicator)
        except UnknownIndicatorError:
            return "indicator", f"unknown indicator {self.indicator!r}.", "List them with 'townhall indicators'."
        if self.level not in LEVELS or self.level not in SHARE_LEVELS:
            return "level", f"no classes at level {self.level!r}.", "Levels: " + ", ".join(SHARE_LEVELS) + "."
        return _check_classes([self.a], self.coarse, "a") or _check_classes([self.b], self.coarse, "b")

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        from townhall.elections.data import area_classes, class_column

        v = atlas.values(self.indicator, self.level, self.period)
        cls = area_classes(atlas, self.level).set_index("code")[class_column(self.scheme, self.coarse)]
        v["class"] = v["area"].map(cls)
        va = v.loc[v["class"] == self.a, "value"].to_numpy(float)
        vb = v.loc[v["class"] == self.b, "value"].to_numpy(float)
        if len(va) == 0 or len(vb) == 0:
            return Figure(None, "no figure", status="cannot",
                          reason=f"No {self.level} areas of class {self.a!r} or {self.b!r} with {self.indicator}.")
        value = float(np.nanmean(va) - np.nanmean(vb))
        lo, hi = bootstrap_diff(va, vb, self.draws, self.seed)
        return Figure(value, f"{value:+.3g}", lo, hi, f"percentile bootstrap 95% over areas ({self.draws} draws)",
                      len(va) + len(vb), None, f"Mean of {self.indicator} ({v['period'].iloc[0]}) over "
                      f"{len(va)} {self.a} areas minus {len(vb)} {self.b} areas ({self.level}).")


class Infrastructure(_Rule):
    """A hook for the social-infrastructure wing: runs its function when the atlas has its table.

    The function ``module.function`` is called as ``function(atlas, **params)``.
    The figure is read from what it returns in one of two ways:

    * ``value_path`` (and optionally ``lower_path``, ``upper_path``): a dotted
      path of attributes, keys or list positions, e.g. ``associations.0.r``;
      the default ``value`` reads a ``value`` attribute or key;
    * ``column`` with ``a`` and ``b``: the result's ``table`` (a DataFrame with
      a ``class`` column) gives the mean of ``column`` over the classes ``a``
      minus its mean over the classes ``b``.

    Until the table, the module and the function exist, the figure is 'cannot
    be tested yet' and says what is missing.
    """

    type: Literal["infrastructure"]
    table: str = "facility"
    module: str = "townhall.infrastructure"
    function: str
    params: dict[str, Any] = Field(default_factory=dict)
    value_path: str = "value"
    lower_path: str | None = None
    upper_path: str | None = None
    column: str | None = None
    a: list[str] = Field(default_factory=list)
    b: list[str] = Field(default_factory=list)

    def _missing(self, atlas: Atlas) -> tuple[list[str], Any]:
        missing, fn = [], None
        if not len(atlas.query("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [self.table])):
            missing.append(f"atlas table '{self.table}' (rebuild the atlas once the wing's build step is in WINGS)")
        try:
            fn = getattr(importlib.import_module(self.module), self.function, None)
            if fn is None:
                missing.append(f"function {self.module}.{self.function}")
        except ImportError:
            missing.append(f"module {self.module}")
        return missing, fn

    def run(self, atlas: Atlas, ctx: dict[str, Any]) -> Figure:
        missing, fn = self._missing(atlas)
        if missing:
            return Figure(None, "no figure", status="not_yet", reason="Missing: " + "; ".join(missing) + ".")
        try:
            res = fn(atlas, **self.params)
            if self.column:
                t = res.table if hasattr(res, "table") else res["table"]
                va = t.loc[t["class"].isin(self.a), self.column].astype(float)
                vb = t.loc[t["class"].isin(self.b), self.column].astype(float)
                value = float(va.mean() - vb.mean())
                lo = hi = None
                display = f"{value:+.3g}"
                note = (f"{self.function}: mean {self.column} of {', '.join(self.a)} minus "
                        f"{', '.join(self.b)}.")
            else:
                value = float(_pick(res, self.value_path))
                lo = float(_pick(res, self.lower_path)) if self.lower_path else None
                hi = float(_pick(res, self.upper_path)) if self.upper_path else None
                display, note = f"{value:.3g}", f"{self.function}: {self.value_path}."
        except Exception as exc:  # the hook must never break a report: say what failed instead
            msg = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            return Figure(None, "no figure", status="not_yet", reason=f"{self.module}.{self.function} failed: {msg}")
        if value != value:
            return Figure(None, "no figure", status="not_yet", reason=f"{self.module}.{self.function}: no value.")
        return Figure(value, display, lo, hi, "from the infrastructure wing" if lo is not None else "", note=note)


def _pick(obj: Any, path: str) -> Any:
    """Follow a dotted path of attributes, keys and list positions: ``associations.0.r``."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj[part]
        elif isinstance(obj, list | tuple):
            obj = obj[int(part)]
        else:
            obj = getattr(obj, part)
    return obj


Rule = Annotated[TopAreas | SeatList | ClassChange | SwingCount | NamedSeats | FirstWin | TownsHeadline | ClassMean
                 | Infrastructure, Field(discriminator="type")]
RULE_TYPES: tuple[str, ...] = ("top_areas", "seat_list", "class_change", "swing_count", "named_seats", "first_win",
                               "towns_headline", "class_mean", "infrastructure")
