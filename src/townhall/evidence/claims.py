"""Claim files: what was said, by whom, what it asserts, and how to test it.

A claim file is TOML (the shipped ones are in ``townhall/parameters/claims/``;
``--claims DIR`` adds a folder of your own)::

    id = "eu16_top30"
    title = "Remain in the cities, Leave in the towns"
    words = "Of the top 30 Remain voting areas, 22 were cities or areas of cities; ..."
    method = "docs/methods/evidence.md#top-areas"

    [source]
    publication = "..."
    author = "..."
    date = "2017"
    url = "https://..."
    verified = false          # the wording was checked against the publication?

    [[quantity]]              # one per figure the claim asserts
    id = "remain_cities"
    words = "Of the top 30 Remain voting areas, 22 were cities or areas of cities"
    unit = "areas"
    asserts = { op = "approx", value = 22, tolerance = 3 }

    [quantity.rule]           # the test rule
    type = "top_areas"
    label = "UK counting areas of 2016; townhall's settlement class"
    election = "eu2016"
    option = "remain"
    n = 30
    areas = "counting"
    scheme = "settlement"
    classes = ["City"]

    [[quantity.alternative]]  # at least one: only the keys that change
    label = "England and Wales counting areas only"
    countries = ["E", "W"]

An alternative without ``type`` (or with the same type) takes the main rule's
keys and overrides those it gives; with another ``type`` it stands alone.

Checking happens in two steps, and every problem is an
:class:`~townhall.errors.InputError` naming the file and the key: on load
(:func:`load_claim`) the structure (unknown keys, a rule type that does not
exist, a value of the wrong kind, an assertion without its threshold); against
an atlas (:func:`check_claim`) the names the rules use (unknown election,
indicator, class, level). The figures themselves are never in the file: only
the claim's own assertion ('22 of 30') is.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from townhall.errors import InputError
from townhall.evidence.rules import RULE_TYPES, Rule

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

Number = Annotated[float, Field(strict=False)]
OPS = (">=", ">", "<=", "<", "==", "approx", "between")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Model):
    """Where the claim was made."""

    publication: str
    date: str
    url: str = ""
    author: str = ""
    note: str = ""
    verified: bool = False


class Assertion(_Model):
    """What the claim says the figure is: ``op`` against ``value`` (``approx``: within ``tolerance``)."""

    op: Literal[">=", ">", "<=", "<", "==", "approx", "between"]
    value: Number | list[Number]
    tolerance: Number | None = None
    words: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Assertion:
        if self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("op 'between' needs value = [low, high]")
        elif isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs one number as value, not a list")
        if self.op == "approx" and self.tolerance is None:
            raise ValueError("op 'approx' needs a tolerance")
        return self

    def holds(self, x: float | None) -> bool | None:
        """Does the figure ``x`` meet the assertion (None if there is no figure)?"""
        if x is None or x != x:
            return None
        v = self.value
        if self.op == "between":
            lo, hi = v  # type: ignore[misc]
            return bool(lo <= x <= hi)
        v = float(v)  # type: ignore[arg-type]
        return bool({">=": x >= v, ">": x > v, "<=": x <= v, "<": x < v, "==": x == v,
                     "approx": abs(x - v) <= float(self.tolerance or 0)}[self.op])

    def text(self) -> str:
        if self.op == "between":
            return f"between {self.value[0]:g} and {self.value[1]:g}"  # type: ignore[index]
        if self.op == "approx":
            return f"about {float(self.value):g} (within {float(self.tolerance or 0):g})"  # type: ignore[arg-type]
        return f"{self.op} {float(self.value):g}"  # type: ignore[arg-type]


class Quantity(_Model):
    """One figure the claim asserts, with its test rule and alternatives."""

    id: str
    words: str
    unit: str = ""
    asserts: Assertion
    rule: dict[str, Any]
    alternative: list[dict[str, Any]] = Field(min_length=1)
    _rule: Rule | None = PrivateAttr(default=None)
    _alternatives: list[Rule] = PrivateAttr(default_factory=list)

    @property
    def rules(self) -> list[Rule]:
        """The main rule first, then the alternatives (validated)."""
        return [r for r in [self._rule, *self._alternatives] if r is not None]


class Claim(_Model):
    """A whole claim file."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    words: str
    topic: str = ""
    method: str = "docs/methods/evidence.md"
    source: Source
    quantity: list[Quantity] = Field(min_length=1)
    _path: str = PrivateAttr(default="")

    @property
    def path(self) -> str:
        return self._path


_RULE = TypeAdapter(Rule)


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _where(claim: dict[str, Any], q: int, part: str) -> str:
    qs = claim.get("quantity") or []
    qid = qs[q].get("id", "?") if q < len(qs) and isinstance(qs[q], dict) else "?"
    return f"[[quantity]] {q + 1} ({qid}), {part}"


def _rule_dict(main: dict[str, Any], alt: dict[str, Any]) -> dict[str, Any]:
    if "type" in alt and alt["type"] != main.get("type"):
        return dict(alt)
    return {**main, **alt}


def parse_claim(raw: dict[str, Any], path: str) -> Claim:
    """A claim from its parsed TOML (structure checked; errors name ``path`` and the key)."""
    try:
        claim = Claim.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = e["loc"]
        where = f"key '{_loc(loc)}'"
        if len(loc) >= 2 and loc[0] == "quantity" and isinstance(loc[1], int):
            where = _where(raw, loc[1], f"key '{_loc(loc[2:])}'")
        raise InputError(f"{path}: {where}: {e['msg']}.", file=path,
                         hint="See docs/methods/evidence.md for the claim file format.") from None
    for i, q in enumerate(claim.quantity):
        parsed = []
        for j, d in enumerate([q.rule, *q.alternative]):
            part = "[quantity.rule]" if j == 0 else f"[[quantity.alternative]] {j}"
            d = d if j == 0 else _rule_dict(q.rule, d)
            if "type" not in d:
                raise InputError(f"{path}: {_where(raw, i, part)}: no rule 'type'.", file=path,
                                 hint="Rule types: " + ", ".join(RULE_TYPES) + ".")
            if d["type"] not in RULE_TYPES:
                raise InputError(f"{path}: {_where(raw, i, part)}, key 'type': unknown rule type {d['type']!r}.",
                                 file=path, hint="Rule types: " + ", ".join(RULE_TYPES) + ".")
            try:
                parsed.append(_RULE.validate_python(d))
            except ValidationError as exc:
                e = exc.errors()[0]
                key = _loc(e["loc"][1:]) if len(e["loc"]) > 1 else _loc(e["loc"])
                raise InputError(f"{path}: {_where(raw, i, part)}, key '{key}': {e['msg']}.", file=path,
                                 hint=f"Rule type {d['type']!r}: see docs/methods/evidence.md.") from None
        q._rule, q._alternatives = parsed[0], parsed[1:]
    claim._path = path
    return claim


def load_claim(path: str | Path) -> Claim:
    """Read and check one claim file."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({exc}).", file=str(p)) from None
    except OSError as exc:
        raise InputError(f"Cannot read claim file {p}: {exc}.", file=str(p)) from None
    return parse_claim(raw, str(p))


def shipped_claim_files() -> list[Path]:
    """The claim files shipped with townhall (package data)."""
    root = resources.files("townhall.parameters").joinpath("claims")
    return sorted(Path(str(f)) for f in root.iterdir() if f.name.endswith(".toml"))


def load_claims(dirs: list[str | Path] | None = None, *, shipped: bool = True) -> list[Claim]:
    """The shipped claims and those in ``dirs`` (every ``*.toml``), checked; ids must be unique."""
    files = shipped_claim_files() if shipped else []
    for d in dirs or []:
        dp = Path(d)
        if dp.is_file():
            files.append(dp)
        elif dp.is_dir():
            found = sorted(dp.glob("*.toml"))
            if not found:
                raise InputError(f"No claim files (*.toml) in {dp}.", file=str(dp))
            files += found
        else:
            raise InputError(f"No claim folder or file {dp}.", file=str(dp))
    claims, seen = [], {}
    for f in files:
        c = load_claim(f)
        if c.id in seen:
            raise InputError(f"{f}: key 'id': claim id {c.id!r} is also used by {seen[c.id]}.", file=str(f),
                             hint="Give each claim file its own id.")
        seen[c.id] = str(f)
        claims.append(c)
    return claims


def check_claim(claim: Claim, atlas: Atlas) -> None:
    """Check the names a claim's rules use against the atlas (elections, indicators, classes, levels)."""
    for i, q in enumerate(claim.quantity):
        for j, rule in enumerate(q.rules):
            part = "[quantity.rule]" if j == 0 else f"[[quantity.alternative]] {j}"
            problem = rule.check(atlas)
            if problem:
                key, msg, hint = problem
                raise InputError(f"{claim.path}: [[quantity]] {i + 1} ({q.id}), {part}, key '{key}': {msg}",
                                 file=claim.path, hint=hint)
