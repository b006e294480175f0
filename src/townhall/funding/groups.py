"""Custom groupings of councils: pooled capacity, need and scheme results as one unit.

A group is any set of councils ('One Yorkshire', a combined authority, a proposed
merger). It comes from a TOML file (``[[group]]`` tables with ``name`` and
``members``), a CSV (columns ``group`` and ``code``), a list of codes, or a preset:
``one-yorkshire`` (the councils of region E12000003, Yorkshire and the Humber), or
any region or combined authority code (its councils in the atlas).
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from townhall.atlas.store import plain, records
from townhall.errors import InputError
from townhall.levels import CAUTH, COUNCIL, COUNTY, REGION

if TYPE_CHECKING:
    from townhall.atlas.store import Atlas
    from townhall.funding.engine import FundingInputs
    from townhall.funding.schemes import Scheme

PRESETS = {"one-yorkshire": ("One Yorkshire", "E12000003")}


@dataclass(frozen=True)
class Group:
    """A named set of council codes."""

    name: str
    members: tuple[str, ...]

    @property
    def code(self) -> str:
        return "GROUP:" + self.name


def _from_toml(p: Path) -> list[Group]:
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"Cannot read the group file: {exc}", file=str(p)) from None
    tables = raw.get("group")
    if not isinstance(tables, list) or not tables:
        raise InputError("The group file needs [[group]] tables with 'name' and 'members'.", file=str(p))
    out = []
    for i, g in enumerate(tables, 1):
        name, members = g.get("name"), g.get("members")
        if not isinstance(name, str) or not name:
            raise InputError(f"[[group]] {i}, key 'name': a name is required.", file=str(p))
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise InputError(f"[[group]] {i} ({name}), key 'members': a list of council codes is required.", file=str(p))
        out.append(Group(name, tuple(m.strip() for m in members)))
    return out


def _from_csv(p: Path) -> list[Group]:
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Cannot read the group file: {exc}", file=str(p)) from None
    if not rows or "code" not in rows[0] or "group" not in rows[0]:
        raise InputError("The group CSV needs columns 'group' and 'code'.", file=str(p), column="code")
    groups: dict[str, list[str]] = {}
    for i, r in enumerate(rows, start=2):
        g, c = (r.get("group") or "").strip(), (r.get("code") or "").strip()
        if not g or not c:
            raise InputError("Empty group or code.", file=str(p), row=i, column="group" if not g else "code")
        groups.setdefault(g, []).append(c)
    return [Group(k, tuple(v)) for k, v in groups.items()]


def load_groups(spec: str | Path, atlas: Atlas | None = None) -> list[Group]:
    """Groups from a TOML or CSV file, a preset, an area code (region, county, CA) or comma-separated codes."""
    s = str(spec).strip()
    p = Path(s)
    if p.suffix.lower() == ".toml" and p.is_file():
        return _from_toml(p)
    if p.suffix.lower() == ".csv" and p.is_file():
        return _from_csv(p)
    if p.suffix.lower() in (".toml", ".csv"):
        raise InputError("No group file.", file=s)
    if s.lower() in PRESETS:
        name, area = PRESETS[s.lower()]
        return [Group(name, tuple(_members(atlas, area)))]
    if "," not in s and atlas is not None:
        members = _members(atlas, s, strict=False)
        if members:
            return [Group(s, tuple(members))]
    codes = tuple(c.strip() for c in s.split(",") if c.strip())
    if not codes:
        raise InputError(f"No councils in group {s!r}.")
    return [Group("custom group", codes)]


def _members(atlas: Atlas | None, area: str, strict: bool = True) -> list[str]:
    if atlas is None:
        raise InputError(f"Group {area!r} needs the atlas to find its councils.")
    for level in (REGION, CAUTH, COUNTY):
        kids = atlas.children(area, level, COUNCIL)
        if not kids.empty:
            col = "code" if "code" in kids else kids.columns[0]
            return sorted(kids[col].astype(str))
    if strict:
        raise InputError(f"No councils found in {area!r}.")
    return []


@dataclass
class GroupRun:
    """A group as one unit against its members apart, under one scheme.

    Attributes
    ----------
    group : Group
    table : DataFrame
        One row per member (apart) and a last row for the pooled unit: code, name,
        population, need, capacity, capacity_per_need, transfer, resources_per_need,
        marginal_retention.
    summary : dict
        Pooled against apart: capacity, need, transfers and resources in total and per
        unit of need; the inequality among the members before pooling.
    """

    group: Group
    table: pd.DataFrame
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group.name, "members": list(self.group.members),
                "summary": {k: plain(v) for k, v in self.summary.items()}, "rows": records(self.table)}


def run_group(scheme: Scheme | str, inputs: FundingInputs, group: Group, **kw: Any) -> GroupRun:
    """The scheme with the group's councils pooled into one unit, against the members apart."""
    from townhall.funding.engine import evaluate

    unknown = [m for m in group.members if m not in set(inputs.codes)]
    if unknown:
        raise InputError(f"Group {group.name!r}: {', '.join(unknown[:5])} not in the funding data.",
                         hint="Use current English council codes (E06, E07, E08, E09).")
    apart = evaluate(scheme, inputs, **kw).table
    pooled_inputs = inputs.pooled(list(group.members), group.code, group.name)
    pooled = evaluate(scheme, pooled_inputs, **kw).table
    cols = ["code", "name", "population", "need", "capacity", "capacity_per_need", "transfer", "resources",
            "resources_per_need", "marginal_retention"]
    members = apart[apart["code"].isin(group.members)][cols].assign(unit="member")
    unit = pooled[pooled["code"] == group.code][cols].assign(unit="pooled")
    table = pd.concat([members, unit], ignore_index=True)
    m = members
    w = m["need"].to_numpy(float)
    summary = {
        "members": len(m), "population": float(m["population"].sum()), "need": float(m["need"].sum()),
        "capacity": float(m["capacity"].sum()),
        "capacity_per_need": float(m["capacity"].sum() / m["need"].sum()),
        "transfer_apart": float(m["transfer"].sum()), "transfer_pooled": float(unit["transfer"].iloc[0]),
        "resources_per_need_apart": float(m["resources"].sum() / m["need"].sum()),
        "resources_per_need_pooled": float(unit["resources_per_need"].iloc[0]),
        "marginal_retention_apart": float(np.average(m["marginal_retention"], weights=w)),
        "marginal_retention_pooled": float(unit["marginal_retention"].iloc[0]),
        "spread_within_before": float(m["capacity_per_need"].max() / m["capacity_per_need"].min()),
    }
    return GroupRun(group=group, table=table, summary=summary)


def pool_values(values: pd.DataFrame, members: list[str], agg: str, population: pd.Series | None = None) -> dict[str, Any]:
    """An indicator's value for a group as one unit (pure).

    Parameters
    ----------
    values : DataFrame
        ``area`` and ``value`` columns (an indicator at council level).
    members : list of str
    agg : {'sum', 'mean', 'none'}
        The indicator's registered aggregation: a count is summed; anything else is
        the population-weighted mean of the members (``population`` required).
    """
    v = values.set_index("area")["value"].astype(float)
    have = [m for m in members if m in v.index and np.isfinite(v[m])]
    out: dict[str, Any] = {"members": len(members), "with_values": len(have),
                           "missing": [m for m in members if m not in have]}
    if not have:
        out["value"] = None
        return out
    if agg == "sum":
        out["value"], out["method"] = float(v[have].sum()), "sum"
    else:
        if population is None:
            raise InputError("Pooling a rate needs populations.")
        w = population.reindex(have).astype(float).fillna(0.0)
        out["value"] = float(np.average(v[have], weights=w)) if w.sum() > 0 else float(v[have].mean())
        out["method"] = "population-weighted mean"
    return out


def pooled_indicator(atlas: Atlas, indicator: str, spec: str | Path, period: str | None = None) -> pd.DataFrame:
    """An atlas indicator for each group as one unit, beside its members' values.

    Counts (``agg = 'sum'``) are summed; rates and everything else are the
    population-weighted mean of the members (latest council populations).

    Returns
    -------
    DataFrame
        group, code, name, value, method (one row per member, then the pooled row).
    """
    info = atlas.indicator(indicator)
    vals = atlas.values(indicator, level=COUNCIL, period=period)
    areas = atlas.areas(COUNCIL).set_index("code")
    rows = []
    for g in load_groups(spec, atlas):
        unknown = [m for m in g.members if m not in areas.index]
        if unknown:
            raise InputError(f"Group {g.name!r}: {', '.join(unknown[:5])} is not a council code.",
                             hint="Use current GSS council codes (E06, E07, E08, E09, W06).")
        v = vals.set_index("area")["value"]
        for mcode in g.members:
            rows.append({"group": g.name, "code": mcode, "name": areas.loc[mcode, "name"],
                         "value": float(v[mcode]) if mcode in v.index else float("nan"), "method": "member"})
        p = pool_values(vals, list(g.members), str(info.get("agg")), areas["population"])
        rows.append({"group": g.name, "code": g.code, "name": f"{g.name} (pooled)",
                     "value": p["value"] if p["value"] is not None else float("nan"),
                     "method": p.get("method", "no values")})
    return pd.DataFrame(rows)
