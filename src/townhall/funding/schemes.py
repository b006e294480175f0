"""Equalisation schemes as parameter files, and their arithmetic as pure array functions.

A scheme is a TOML file under ``townhall/parameters/funding/schemes/`` (PolicyEngine
style: every value with the date it applies from, a reference to the law or official
document, and a plain description; a ``simplified`` note where the file departs from
the law)::

    [scheme]
    id = "norway"
    name = "Norway: symmetric income equalisation"
    country = "Norway"
    description = "..."
    reference = "Inntektssystemet for kommuner og fylkeskommuner (Grønt hefte), ..."
    simplified = "..."
    base = "council_tax"     # council_tax | income_tax | mix | business_rates
    per = "need"             # equalise capacity per unit of need (or per head)
    funding = "horizontal"   # horizontal: councils pay each other (must sum to zero) | vertical

    [[component]]
    kind = "symmetric"       # symmetric | topup | levy | benchmark | retention
    rate = { "2005-01-01" = 0.55, "2017-01-01" = 0.60 }   # or a plain number
    threshold = 1.0          # share of the average capacity per unit

Components, with c the capacity per unit (of need or head) of each council, a the
average (sum of capacity / sum of units), N the units, r the rate and t the threshold:

* ``symmetric``: T = r (t a - c) N.
* ``topup``: T = r max(0, t a - c) N; ``financed = "central"`` (vertical) or
  ``"equal_per_unit"`` (every council pays the total back per unit: horizontal).
* ``levy``: T = -r max(0, c - t a) N; ``proceeds = "central"`` or ``"equal_per_unit"``.
* ``benchmark``: T = r max(0, b - c) N with b the average (``benchmark = "average"``)
  or the stronger of the two largest councils (``"stronger_of_largest_2"``, as
  Australia's states are lifted to the stronger of New South Wales and Victoria).
* ``retention``: England's business rates retention (2013): at the reset a tariff or
  top-up equal to the gap between a council's share of need and its baseline, then
  a council keeps ``local_share`` of growth less a levy of ``1 - baseline funding /
  baseline`` (capped at ``levy_cap``), and a safety net at ``safety_net`` of its
  baseline funding level.

Components add up; ``on = "after"`` makes a component see the capacity after the
components before it (Germany's federal top-up follows the horizontal step).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from townhall.errors import InputError

BASES = ("council_tax", "income_tax", "mix", "business_rates")
Rate = Annotated[float, Field(strict=False, ge=0, le=1)]


def _dated(v: Any, lo: float | None, hi: float | None) -> Any:
    """A number or a {date: number} table; dates ISO, numbers within [lo, hi]."""
    table = v if isinstance(v, dict) else {"1900-01-01": v}
    if not table:
        raise ValueError("needs at least one value")
    for k, x in table.items():
        try:
            dt.date.fromisoformat(str(k))
        except ValueError:
            raise ValueError(f"date {k!r} is not an ISO date (YYYY-MM-DD)") from None
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise ValueError(f"value {x!r} is not a number")
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            bounds = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise ValueError(f"value {x} is outside {bounds}")
    return {str(k): float(x) for k, x in table.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component(_Model):
    """One ``[[component]]`` table (see the module docstring)."""

    kind: Literal["symmetric", "topup", "levy", "benchmark", "retention"]
    rate: dict[str, float] | float = 1.0
    threshold: dict[str, float] | float = 1.0
    financed: Literal["central", "equal_per_unit"] = "central"
    proceeds: Literal["central", "equal_per_unit"] = "central"
    benchmark: Literal["average", "stronger_of_largest_2"] = "average"
    on: Literal["before", "after"] = "before"
    local_share: dict[str, float] | float = 0.5
    levy_cap: dict[str, float] | float = 0.5
    safety_net: dict[str, float] | float = 0.925
    description: str = ""

    @field_validator("rate", "local_share", "levy_cap", "safety_net", mode="before")
    @classmethod
    def _unit(cls, v: Any) -> Any:
        return _dated(v, 0.0, 1.0)

    @field_validator("threshold", mode="before")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        return _dated(v, 0.0, None)


class Header(_Model):
    """The ``[scheme]`` table."""

    id: str
    name: str
    country: str
    description: str
    reference: str = Field(min_length=8)
    simplified: str = ""
    base: Literal["council_tax", "income_tax", "mix", "business_rates"] = "council_tax"
    per: Literal["need", "head"] = "need"
    funding: Literal["horizontal", "vertical"] = "horizontal"
    sweep: bool = Field(default=False, description="the linear family swept by the frontier")


class Scheme(_Model):
    """A whole scheme file."""

    scheme: Header
    components: list[Component] = Field(default_factory=list, alias="component")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def id(self) -> str:
        return self.scheme.id

    @property
    def name(self) -> str:
        return self.scheme.name


@dataclass(frozen=True)
class Params:
    """A component's numbers for one date (what the arithmetic uses)."""

    kind: str
    rate: float
    threshold: float
    financed: str
    proceeds: str
    benchmark: str
    on: str
    local_share: float
    levy_cap: float
    safety_net: float


def value_at(table: dict[str, float] | float, when: dt.date) -> float:
    """The value in force on ``when``: the latest dated value on or before it (else the earliest)."""
    if not isinstance(table, dict):
        return float(table)
    items = sorted((dt.date.fromisoformat(k), v) for k, v in table.items())
    chosen = items[0][1]
    for d, v in items:
        if d <= when:
            chosen = v
    return float(chosen)


def fiscal_date(year: str | int | None) -> dt.date:
    """1 April of a financial year ('2023-24' or 2023); today's date when None."""
    if year is None:
        return dt.date.today()
    y = int(str(year)[:4])
    return dt.date(y, 4, 1)


def params(scheme: Scheme, year: str | int | None = None, rate: float | None = None) -> list[Params]:
    """Each component's numbers in force in ``year``; ``rate`` overrides every component's rate."""
    when = fiscal_date(year)
    out = []
    for c in scheme.components:
        out.append(Params(
            kind=c.kind, rate=value_at(c.rate, when) if rate is None else float(rate),
            threshold=value_at(c.threshold, when), financed=c.financed, proceeds=c.proceeds,
            benchmark=c.benchmark, on=c.on, local_share=value_at(c.local_share, when),
            levy_cap=value_at(c.levy_cap, when), safety_net=value_at(c.safety_net, when)))
    return out


# -- reading ----------------------------------------------------------------------------


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "top level"
    if loc[0] == "component" and len(loc) > 1 and isinstance(loc[1], int):
        rest = ".".join(str(x) for x in loc[2:] if not (isinstance(x, str) and "[" in x))
        return f"[[component]] {loc[1] + 1}" + (f", key '{rest}'" if rest else "")
    if len(loc) == 1:
        return f"key '{loc[0]}'"
    return f"[{loc[0]}], key '{'.'.join(str(x) for x in loc[1:])}'"


def parse_scheme(text: str, *, file: str = "<scheme>") -> Scheme:
    """Parse and validate a scheme from TOML text.

    Raises
    ------
    InputError
        Naming the file and the key at fault (a missing reference, a rate outside
        [0, 1], an unknown base...).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The scheme is not valid TOML: {exc}", file=file) from None
    try:
        s = Scheme.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("float", "dict[str,float]")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling)"
        elif err["type"] == "missing":
            msg = "this key is required"
        elif err["type"] == "literal_error":
            msg = f"not one of the allowed values ({err['ctx']['expected']})"
        raise InputError(f"Bad scheme at {_where(loc)}: {msg}", file=file,
                         hint="See docs/methods/funding.md for the scheme format.") from None
    if not s.components and s.scheme.id != "none":
        raise InputError("Bad scheme at [[component]]: a scheme needs at least one component "
                         "(only the 'none' scheme has none).", file=file)
    return s


def load_scheme(path: str | Path) -> Scheme:
    """Read and validate a scheme file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"No scheme file at {p}.", file=str(p))
    return parse_scheme(p.read_text(encoding="utf-8"), file=str(p))


def shipped() -> dict[str, Scheme]:
    """Every scheme shipped in ``townhall/parameters/funding/schemes``, by id (file order)."""
    folder = resources.files("townhall.parameters").joinpath("funding", "schemes")
    out: dict[str, Scheme] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            s = parse_scheme(entry.read_text(encoding="utf-8"), file=f"parameters/funding/schemes/{entry.name}")
            out[s.id] = s
    return out


def get_scheme(name: str | Path | Scheme) -> Scheme:
    """A shipped scheme by id, or a scheme file by path."""
    if isinstance(name, Scheme):
        return name
    all_ = shipped()
    if str(name) in all_:
        return all_[str(name)]
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        return load_scheme(p)
    raise InputError(f"Unknown scheme {str(name)!r}.", hint="Schemes: " + ", ".join(all_) + " (or a .toml file).")


# -- the arithmetic (vectorised; arrays may carry leading axes, councils on the last) --------


def _avg(cap: np.ndarray, units: np.ndarray) -> np.ndarray:
    return cap.sum(axis=-1, keepdims=True) / units.sum(axis=-1, keepdims=True)


@dataclass
class Standards:
    """The national figures a component compares councils with: held fixed for marginal rates."""

    average: np.ndarray
    benchmark: np.ndarray
    pooled: np.ndarray  # the per-unit charge (or payout) of an equal-per-unit financing
    base_average: np.ndarray


def component_transfer(p: Params, cap: np.ndarray, units: np.ndarray, base_cap: np.ndarray,
                       population: np.ndarray, fixed: Standards | None = None) -> tuple[np.ndarray, Standards]:
    """Transfers (positive = the council receives) of one component, and the standards used.

    Parameters
    ----------
    p : Params
    cap : ndarray
        Capacity the component sees (before, or after earlier components), shape (..., n).
    units : ndarray
        Units of need (or heads), shape (n,).
    base_cap : ndarray
        Capacity at the baseline (for ``retention``: the reset), shape like ``cap``.
    population : ndarray
        Heads, shape (n,): ranks councils for ``stronger_of_largest_2``.
    fixed : Standards, optional
        National averages to use instead of computing them (a council too small to move
        them: how marginal rates are defined).
    """
    c = cap / units
    a = _avg(cap, units) if fixed is None else fixed.average
    a0 = _avg(base_cap, units) if fixed is None else fixed.base_average
    if fixed is not None:
        b = fixed.benchmark
    elif p.benchmark == "average":
        b = a
    else:
        big = np.argsort(-population, kind="stable")[:2]
        b = np.max(c[..., big], axis=-1, keepdims=True)
    share = units / units.sum()
    pooled = np.zeros_like(a)
    if p.kind == "symmetric":
        t = p.rate * (p.threshold * a - c) * units
    elif p.kind in ("topup", "levy"):
        if p.kind == "topup":
            t = p.rate * np.maximum(0.0, p.threshold * a - c) * units
            spread = p.financed == "equal_per_unit"
        else:
            t = -p.rate * np.maximum(0.0, c - p.threshold * a) * units
            spread = p.proceeds == "equal_per_unit"
        if spread:
            pooled = t.sum(axis=-1, keepdims=True) if fixed is None else fixed.pooled
            t = t - pooled * share
    elif p.kind == "benchmark":
        t = p.rate * np.maximum(0.0, p.threshold * b - c) * units
    elif p.kind == "retention":
        s = p.local_share
        bfl = s * a0 * units                     # baseline funding level: the local share of need
        brb = s * base_cap                       # business rates baseline
        topup = bfl - brb                        # tariff (<0) or top-up (>0), fixed at the reset
        with np.errstate(divide="ignore", invalid="ignore"):
            levy = np.clip(np.where(brb > 0, 1.0 - bfl / np.where(brb > 0, brb, 1.0), 0.0), 0.0, p.levy_cap)
        growth = cap - base_cap
        kept = s * growth - levy * s * np.maximum(0.0, growth)
        net = np.maximum(brb + topup + kept, p.safety_net * bfl)  # the safety net tops up a big fall
        # The central share (1 - s) comes back as grant by need, fixed at the reset, so the
        # transfer against the council's own capacity is:
        t = net + (1.0 - s) * a0 * units - cap
    else:  # pragma: no cover - the model admits no other kind
        raise ValueError(p.kind)
    return t, Standards(a, b, pooled, a0)


def transfers(ps: list[Params], cap: np.ndarray, units: np.ndarray, base_cap: np.ndarray | None = None,
              population: np.ndarray | None = None,
              fixed: list[Standards] | None = None) -> tuple[np.ndarray, list[Standards]]:
    """Total transfers of a scheme's components (positive = receives), and each one's standards."""
    base_cap = cap if base_cap is None else base_cap
    population = units if population is None else population
    total = np.zeros_like(cap, dtype=float)
    used = []
    for k, p in enumerate(ps):
        seen = cap + total if p.on == "after" else cap
        t, st = component_transfer(p, seen, units, base_cap, population, None if fixed is None else fixed[k])
        total = total + t
        used.append(st)
    return total, used


def marginal_retention(ps: list[Params], cap: np.ndarray, units: np.ndarray, population: np.ndarray,
                       eps: float | None = None) -> np.ndarray:
    """What each council keeps of one more pound of its own base: 1 + dT_i/dC_i.

    Each council's capacity is raised by ``eps`` with the national standards (averages,
    benchmark, pooled charges, the retention baseline) held where they were: the usual
    definition, for a council too small to move them. With the standards fixed every
    component is a function of the council's own capacity alone, so all councils are
    bumped at once (one pass, not an n x n batch). A one-sided difference upwards, so at a
    threshold it reads the rate above it.
    """
    eps = float(eps) if eps is not None else max(1.0, 1e-6 * float(np.abs(cap).mean()))
    t0, std = transfers(ps, cap, units, cap, population)
    t1, _ = transfers(ps, cap + eps, units, cap, population, fixed=std)
    return 1.0 + (t1 - t0) / eps
