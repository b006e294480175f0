"""Composite index specifications in TOML, checked before anything is computed.

A spec names the inputs (atlas indicator ids), their polarity, weights and
domains, and every choice of the OECD/JRC steps, so that an index can be read,
shared and challenged as a file. The shipped examples are
``examples/simple_index.toml`` (a file of your own) and the shipped ``left_behind`` spec::

    [index]
    name = "Simple deprivation index"
    level = "lsoa21"            # level the inputs are read at
    higher_is = "worse"         # a high score means more deprived
    normalisation = "zscore"    # zscore | minmax | rank | distance
    weighting = "stated"        # equal | stated | pca
    aggregation = "arithmetic"  # arithmetic | geometric
    missing = "mean"            # mean | median | reweight | drop

    [domains.economy]
    weight = 2

    [[indicator]]
    id = "imd25_income_score"
    domain = "economy"
    weight = 1
    # polarity = -1             # default: the atlas's registration

    [uncertainty]
    draws = 1000
    seed = 1

Every problem (a syntax error, an unknown key, an unknown indicator, a weight
that is not a number, weights that sum to zero) is an :class:`InputError` that
names the file and the key.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from townhall.errors import InputError, TownhallError
from townhall.levels import check_level
from townhall.measures.composite import CompositeIndex, Indicator, Rollup, top_drivers
from townhall.measures.uncertainty import RankUncertainty

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas

Number = Annotated[float, Field(strict=True)]  # strict: "2" or "high" is not a weight


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexSection(_Model):
    """The ``[index]`` table: what the index is and how it is put together."""

    name: str
    id: str | None = None
    description: str = ""
    level: str = "lsoa21"
    higher_is: Literal["worse", "better"] = "worse"
    normalisation: Literal["zscore", "minmax", "rank", "distance"] = "zscore"
    weighting: Literal["equal", "stated", "pca"] = "stated"
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    missing: Literal["mean", "median", "reweight", "drop"] = "mean"
    reference: Literal["mean", "median", "min", "max"] = "median"
    min_coverage: Annotated[Number, Field(ge=0, le=1)] = 0.5


class DomainSection(_Model):
    """A ``[domains.<name>]`` table."""

    weight: Annotated[Number, Field(ge=0)] = 1.0
    label: str | None = None
    description: str = ""


class IndicatorSection(_Model):
    """One ``[[indicator]]`` table."""

    id: str
    weight: Annotated[Number, Field(ge=0)] = 1.0
    polarity: Literal[-1, 1] | None = None
    domain: str | None = None
    label: str | None = None
    period: str | None = None
    level: str | None = None
    reference: Number | None = None
    description: str = ""


class UncertaintySection(_Model):
    """The ``[uncertainty]`` table: the Monte Carlo over choices."""

    draws: Annotated[int, Field(strict=True, ge=2)] = 1000
    seed: int | None = 1
    normalisations: list[Literal["zscore", "minmax", "rank", "distance"]] | None = None
    weightings: list[Literal["equal", "stated", "pca"]] | None = None
    aggregations: list[Literal["arithmetic", "geometric"]] | None = None
    missing: list[Literal["mean", "median", "reweight", "drop"]] | None = None
    weight_noise: Annotated[Number, Field(ge=0, lt=1)] = 0.25


class Spec(_Model):
    """A whole index specification (see the module docstring for the format)."""

    index: IndexSection
    domains: dict[str, DomainSection] = Field(default_factory=dict)
    indicators: list[IndicatorSection] = Field(alias="indicator", min_length=1)
    uncertainty: UncertaintySection = Field(default_factory=UncertaintySection)
    _path: str | None = PrivateAttr(default=None)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def stated_weights(self) -> np.ndarray:
        """Effective stated weights (domain weight x share within domain), not rescaled."""
        w = np.array([i.weight for i in self.indicators], dtype=float)
        if not self.domains:
            return w
        out = np.zeros_like(w)
        for name, d in self.domains.items():
            m = np.array([i.domain == name for i in self.indicators])
            if m.any() and w[m].sum() > 0:
                out[m] = d.weight * w[m] / w[m].sum()
        return out

    @property
    def path(self) -> str | None:
        """The file the spec was read from (for error messages)."""
        return self._path

    @property
    def domain_weights(self) -> dict[str, float] | None:
        return {k: d.weight for k, d in self.domains.items()} or None


# -- reading ----------------------------------------------------------------------------


def _key(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """A human path to a key: ``[[indicator]] 2 (imd25_income_score), key 'weight'``."""
    if not loc:
        return "top level"
    head = loc[0]
    if head == "indicator" and len(loc) > 1 and isinstance(loc[1], int):
        n = loc[1]
        try:
            ident = raw["indicator"][n].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            ident = None
        where = f"[[indicator]] {n + 1}" + (f" ({ident})" if ident else "")
        rest = ".".join(str(x) for x in loc[2:])
        return where + (f", key '{rest}'" if rest else "")
    if head == "domains" and len(loc) > 1:
        rest = ".".join(str(x) for x in loc[2:])
        return f"[domains.{loc[1]}]" + (f", key '{rest}'" if rest else "")
    if len(loc) == 1:
        return f"key '{head}'"
    rest = ".".join(str(x) for x in loc[1:])
    return f"[{head}], key '{rest}'"


def _value_at(raw: Any, loc: tuple[Any, ...]) -> Any:
    cur = raw
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def parse_spec(text: str, *, file: str = "<spec>") -> Spec:
    """Parse and validate a spec from TOML text.

    Raises
    ------
    InputError
        Naming the file and the key at fault.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The spec is not valid TOML: {exc}", file=file) from None
    if "indicators" in raw and "indicator" not in raw:
        raise InputError("Indicators are listed as [[indicator]] tables, not [[indicators]].", file=file)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        # Union/literal errors add the tried type to the location; drop the noise.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("int", "float"))))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling)"
        elif err["type"] == "missing":
            msg = "this key is required"
        value = _value_at(raw, loc) if err["type"] != "missing" else None
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise InputError(f"Bad index spec at {_key(loc, raw)}: {msg}{more}", file=file,
                         value=value) from None
    spec._path = file
    _check_consistent(spec, file)
    return spec


def _check_consistent(spec: Spec, file: str) -> None:
    """Checks across keys: duplicate ids, domains, weights summing to zero."""
    seen: dict[str, int] = {}
    for n, ind in enumerate(spec.indicators, 1):
        if ind.id in seen:
            raise InputError(f"Bad index spec at [[indicator]] {n}, key 'id': {ind.id!r} is already "
                             f"listed as [[indicator]] {seen[ind.id]}.", file=file, value=ind.id)
        seen[ind.id] = n
        if spec.domains and ind.domain not in spec.domains:
            raise InputError(
                f"Bad index spec at [[indicator]] {n} ({ind.id}), key 'domain': not one of the "
                f"[domains] tables ({', '.join(spec.domains)}).", file=file, value=ind.domain)
    if not spec.stated_weights().sum() > 0:
        if spec.domains and any(d.weight > 0 for d in spec.domains.values()):
            where = "key 'weight' of the [[indicator]] tables in every weighted domain"
        elif spec.domains:
            where = "key 'weight' of every [domains.*] table"
        else:
            where = "key 'weight' of every [[indicator]]"
        raise InputError(f"Bad index spec at {where}: the weights sum to zero, so no index can be "
                         "formed.", file=file, hint="Give at least one indicator a positive weight.")


#: The composite-index specs that ship inside the package (``townhall/parameters/indices``).
SHIPPED = "townhall.parameters.indices"


def shipped_specs() -> dict[str, Path]:
    """Specs shipped with townhall, by name (``left_behind``: the open left-behind index)."""
    folder = resources.files(SHIPPED)
    return {f.name.removesuffix(".toml"): Path(str(f)) for f in folder.iterdir() if f.name.endswith(".toml")}


def resolve_spec(path: str | Path) -> Path:
    """A spec file's path: the file itself, or the shipped spec of that name (``left_behind``)."""
    p = Path(path)
    if p.is_file():
        return p
    shipped = shipped_specs()
    name = p.name.removesuffix(".toml")
    if name in shipped and p.parent == Path("."):
        return shipped[name]
    raise InputError(f"No spec file at {p}.", file=str(p),
                     hint="Give a TOML file, or the name of a shipped spec: " + ", ".join(sorted(shipped)) + ".")


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file, or a shipped spec by name (see :func:`parse_spec`)."""
    from townhall.sources.readers import read_text

    p = resolve_spec(path)
    # Not UTF-8: the error names the line and character of the bad bytes.
    return parse_spec(read_text(p, label=f"The spec {p}"), file=str(p))


def check_spec(spec: Spec, atlas: Atlas) -> dict[str, dict[str, Any]]:
    """Check every indicator against the atlas; return their registrations by id.

    Raises
    ------
    InputError
        For an unknown indicator (with close ids), or one without a stated or
        registered polarity.
    """
    known = atlas.indicators()
    by_id = {r["id"]: r for r in known.to_dict(orient="records")}
    out = {}
    for n, ind in enumerate(spec.indicators, 1):
        if ind.id not in by_id:
            close = difflib.get_close_matches(ind.id, list(by_id), n=5, cutoff=0.6)
            raise InputError(
                f"Unknown indicator {ind.id!r} at [[indicator]] {n}, key 'id'.",
                file=spec.path, value=ind.id,
                hint=("Close ids: " + ", ".join(close) + ". " if close else "")
                + "List them with 'townhall indicators'.",
            )
        reg = by_id[ind.id]
        pol = ind.polarity if ind.polarity is not None else reg.get("polarity")
        if pol not in (-1, 1):
            raise InputError(
                f"Indicator {ind.id!r} has no polarity in the atlas; state it at [[indicator]] {n}, "
                "key 'polarity' (+1 higher is better, -1 higher is worse).", file=spec.path)
        out[ind.id] = reg
    return out


# -- building ---------------------------------------------------------------------------


@dataclass
class IndexRun:
    """A built index at one level, with its uncertainty: what ``townhall index build`` prints.

    Attributes
    ----------
    spec : Spec
    index : CompositeIndex
        The index at the spec's level (the inputs' level).
    level : str
        Level of the results (the spec's level, or a parent it was rolled up to).
    uncertainty : RankUncertainty or None
    table : DataFrame
        code, name, score, rank, median_rank, lower, upper, driver_1..3 (raising the
        score) and down_1..3 (lowering it), best-ranked (highest score) first.
    places : DataFrame
        code, name, lat, lon of the places at ``level``.
    """

    spec: Spec
    index: CompositeIndex
    level: str
    uncertainty: RankUncertainty | None
    table: pd.DataFrame
    places: pd.DataFrame = field(repr=False)

    def top(self, n: int = 10) -> pd.DataFrame:
        """The n highest-scoring places."""
        return self.table.head(n)

    def bottom(self, n: int = 10) -> pd.DataFrame:
        """The n lowest-scoring places, lowest last."""
        return self.table.tail(n)

    def points(self) -> pd.DataFrame:
        """Map-ready points: code, name, lat, lon, value (score), label, rank, lower, upper, drivers."""
        cols = ["code", "rank", "lower", "upper", "score", "driver_1", "driver_2", "driver_3"]
        df = self.table[[c for c in cols if c in self.table]].merge(
            self.places[["code", "name", "lat", "lon"]], on="code", how="left")
        df = df.rename(columns={"score": "value"})
        df["label"] = [
            f"{nm}: rank {r}" + (f" ({lo}-{hi})" if "lower" in df and pd.notna(lo) else "")
            for nm, r, lo, hi in zip(df["name"], df["rank"], df.get("lower", df["rank"]),
                                     df.get("upper", df["rank"]), strict=True)
        ]
        order = ["code", "name", "lat", "lon", "value", "label", "rank", "lower", "upper",
                 "driver_1", "driver_2", "driver_3"]
        return df[[c for c in order if c in df]]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index.summary(), "level": self.level,
                               "places": len(self.table)}
        if self.uncertainty is not None:
            out["uncertainty"] = self.uncertainty.summary()
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary, the sensitivity of ranks to each choice, and map-ready places."""
        from townhall.atlas.store import records

        sens = self.uncertainty.sensitivity if self.uncertainty is not None else pd.DataFrame()
        return {"summary": self.summary(), "sensitivity": records(sens), "places": records(self.points())}


def load_inputs(spec: Spec, atlas: Atlas) -> pd.DataFrame:
    """The spec's indicators at its level from the atlas: places in rows (code index).

    An indicator with ``level`` set to a parent level (e.g. ``lad`` for a council
    statistic) is read there and each place takes its parent's value (the parent
    with the largest link weight): coarse, and documented as such, but the only
    way to use inputs published for councils alone.
    """
    level = spec.index.level
    cols = {}
    for ind in spec.indicators:
        read_at = ind.level or level
        try:
            v = atlas.values(ind.id, level=read_at, period=ind.period)
        except TownhallError as exc:
            raise InputError(f"Indicator {ind.id!r} cannot be read at level {read_at}: {exc.message}",
                             file=spec.path) from None
        if v.empty:
            raise InputError(f"Indicator {ind.id!r} has no values at level {read_at}"
                             + (f" for period {ind.period}" if ind.period else "") + ".", file=spec.path)
        vals = v.set_index("area")["value"].astype(float)
        if read_at != level:
            links = atlas.links(level, read_at)
            if links.empty:
                raise InputError(f"Indicator {ind.id!r} is read at {read_at}, but the atlas has no links "
                                 f"from {level} to {read_at}.", file=spec.path)
            best = links.sort_values(["child", "weight"], ascending=[True, False]).drop_duplicates("child")
            vals = best.set_index("child")["parent"].map(vals).astype(float)
        cols[ind.id] = vals
    df = pd.DataFrame(cols)
    df.index.name = "code"
    return df.sort_index()


def build_index(
    spec: Spec | str | Path,
    atlas: Atlas,
    *,
    level: str | None = None,
    draws: int | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> IndexRun:
    """Build an index from a spec over the atlas, with its Monte Carlo rank intervals.

    Parameters
    ----------
    spec : Spec or path
    atlas : Atlas
    level : str, optional
        Report at this level: the spec's own level, or a parent level (``town``,
        ``lad``, ``pcon24``, ``rgn``...) to which small-area scores are rolled up
        with population weights.
    draws : int, optional
        Monte Carlo draws (default the spec's ``[uncertainty] draws``; 0 for none).
    seed : int, optional
        Overrides the spec's seed.
    progress : callable, optional
        Called with draws done.

    Returns
    -------
    IndexRun
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    regs = check_spec(spec, atlas)
    data = load_inputs(spec, atlas)
    inds = [
        Indicator(
            id=i.id, weight=i.weight,
            polarity=int(i.polarity if i.polarity is not None else regs[i.id]["polarity"]),
            domain=i.domain, label=i.label or i.id, reference=i.reference,
        )
        for i in spec.indicators
    ]
    s = spec.index
    try:
        ix = CompositeIndex(
            data, inds, higher_is=s.higher_is, normalisation=s.normalisation, weighting=s.weighting,
            aggregation=s.aggregation, missing=s.missing, reference=s.reference,
            domain_weights=spec.domain_weights, min_coverage=s.min_coverage, name=s.name,
        )
    except InputError as exc:
        raise InputError(exc.message, file=spec.path, hint=exc.hint) from None
    base = s.level
    level = level or base
    rollup = None
    if level != base:
        check_level(level)
        links = atlas.links(base, level)
        if links.empty:
            raise InputError(f"The atlas has no links from {base} to {level}, so the index cannot "
                             f"be rolled up there.", file=spec.path)
        pop = atlas.areas(base).set_index("code")["population"]
        rollup = Rollup(links, pop)

    u = spec.uncertainty
    ndraws = u.draws if draws is None else draws
    unc = None
    if ndraws:
        unc = RankUncertainty(
            ix, ndraws, normalisations=u.normalisations, weightings=u.weightings,
            aggregations=u.aggregations, missing=u.missing, weight_noise=u.weight_noise,
            seed=u.seed if seed is None else seed, rollup=rollup, progress=progress,
        )

    labels = [i.name for i in inds]
    if rollup is None:
        table = pd.DataFrame({"code": ix.scores.index, "score": ix.scores.to_numpy(),
                              "rank": ix.ranks.to_numpy()})
        contrib = ix.contributions
    else:
        r = ix.rollup(rollup)
        table = r[["code", "score", "rank", "coverage"]]
        contrib = r.set_index("code")[ix.ids]
    nd = min(3, len(labels))
    names = [f"driver_{j + 1}" for j in range(nd)]
    up = top_drivers(contrib, labels, nd, "up")[names]
    down = top_drivers(contrib, labels, nd, "down")[names]
    drv = up.join(down.rename(columns=lambda c: c.replace("driver", "down")))
    table = table.merge(drv, left_on="code", right_index=True, how="left")
    if unc is not None:
        table = table.merge(unc.frame[["code", "median_rank", "lower", "upper"]], on="code", how="left")
    places = atlas.areas(level)[["code", "name", "lat", "lon"]]
    table = table.merge(places[["code", "name"]], on="code", how="left")
    first = ["code", "name", "score", "rank", "median_rank", "lower", "upper"]
    table = table[[c for c in first if c in table] + [c for c in table if c not in first]]
    table = table.sort_values(["rank", "code"]).reset_index(drop=True)
    return IndexRun(spec=spec, index=ix, level=level, uncertainty=unc, table=table, places=places)
