"""The atlas store: a read-only view over the built DuckDB file.

:class:`Atlas` is the one reader every analysis, the CLI and the web go
through. It answers geography (find, resolve, areas, links, classes) and
indicator questions (values, roll-ups, profiles) with plain frames and dicts;
analyses built on top of it live in ``places/``, ``measures/``, ``assembly/``
and the other wings, and :mod:`townhall.api` is the public face that gathers them.

The atlas file is immutable once built, so an :class:`Atlas` opens it read-only
and any number of processes can share it.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from townhall import config
from townhall.errors import (
    AtlasMissingError,
    PlaceNotFoundError,
    TownhallError,
    UnknownIndicatorError,
)
from townhall.levels import (
    LEVELS,
    NAMED_PLACE_LEVELS,
    SMALL_AREAS,
    check_level,
    in_sql,
    normalise_name,
    order_sql,
)

_LEVEL_ORDER_SQL = order_sql()
_SMALL_SQL = in_sql(SMALL_AREAS)

#: Indicators shown first in a profile, where the place has them.
HEADLINE: tuple[str, ...] = (
    "census21_pop", "census21_share_65_plus", "imd25_imd_score", "imd25_income_score",
    "imd25_employment_score", "imd25_education_score", "imd25_health_score", "imd19_imd_score",
    "cni23_score", "cni23_left_behind", "els_gdhi_per_head", "els_median_weekly_pay",
    "els_employment_rate", "els_hle_female", "els_hle_male", "els_gigabit_broadband",
    "els_housing_affordability_ratio", "els_gcse_english_maths", "wimd19_imd_score",
)

class AmbiguousPlaceError(TownhallError):
    """A name matched several places; ``matches`` lists them to choose from."""

    def __init__(self, query: str, matches: pd.DataFrame) -> None:
        self.query = query
        self.matches = matches
        lines = [f"  {r.name} ({r.level}, {r.code})" for r in matches.itertuples()]
        super().__init__(
            f"{query!r} matches {len(matches)} places:\n" + "\n".join(lines),
            hint="Give a code, or a level (e.g. --level lad).",
        )


@dataclass
class Area:
    """One area of one level, as stored in the atlas."""

    code: str
    level: str
    name: str
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    population: float | None = None
    population_year: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def open_atlas(path: str | Path | None = None, cls: type[Atlas] | None = None) -> Atlas:
    """Open the built atlas read-only.

    Parameters
    ----------
    path : str or Path, optional
        The atlas file; default :func:`townhall.config.atlas_path` (``TOWNHALL_ATLAS``).
    cls : type, optional
        The reader class to open it with (default :class:`Atlas`).

    Returns
    -------
    Atlas
    """
    p = Path(path) if path else config.atlas_path()
    if not p.is_file():
        raise AtlasMissingError(
            f"No atlas at {p}.",
            hint="Build it with 'townhall build' (after 'townhall data pull'), or run 'townhall up'.",
        )
    return (cls or Atlas)(p)


class Atlas:
    """A read-only view over the atlas file.

    Every method returns plain pandas frames or dicts so results go straight to
    notebooks, CSV or JSON. Thread-safe: each thread gets its own cursor.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise AtlasMissingError(
                f"The atlas at {self.path} cannot be opened: it is damaged, truncated or not an atlas "
                f"({first}); rebuild it with 'townhall build'.",
            ) from None
        self._local = threading.local()

    # -- plumbing -----------------------------------------------------------------
    def _cur(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self._con.cursor()
        return cur

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run read-only SQL against the atlas and return a frame (the escape hatch)."""
        return self._cur().execute(sql, params or []).df()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Atlas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self) -> dict[str, str]:
        """Build metadata: when, from which sources, townhall version."""
        return dict(self._cur().execute("SELECT key, value FROM meta").fetchall())

    # -- geography ----------------------------------------------------------------
    def levels(self) -> pd.DataFrame:
        """Levels held, with a description and the number of areas."""
        df = self.query("SELECT level, count(*) AS areas FROM area GROUP BY level")
        df["description"] = df["level"].map(LEVELS)
        df["order"] = df["level"].map({lv: i for i, lv in enumerate(LEVELS)})
        return df.sort_values("order").drop(columns="order").reset_index(drop=True)

    def areas(self, level: str, country: str | None = None) -> pd.DataFrame:
        """All areas of a level: code, name, country, lat, lon, population, population_year."""
        check_level(level)
        sql = (
            "SELECT code, name, country, lat, lon, population, population_year FROM area "
            "WHERE level = ?" + (" AND country = ?" if country else "") + " ORDER BY code"
        )
        return self.query(sql, [level] + ([country] if country else []))

    def _area_index(self) -> pd.DataFrame:
        # Loaded once per Atlas: the ~100k area rows keyed by code make profile lookups
        # dictionary reads instead of table scans (the file is immutable, so it never goes stale).
        idx = getattr(self, "_areas_cache", None)
        if idx is None:
            idx = self.query(
                f"SELECT code, level, name, country, lat, lon, population, population_year, {_LEVEL_ORDER_SQL} AS ord "
                "FROM area ORDER BY code, ord"
            ).set_index("code")
            self._areas_cache = idx
        return idx

    def area(self, code: str, level: str | None = None) -> Area:
        """One area by code (level needed only for LSOA codes shared by 2011 and 2021)."""
        idx = self._area_index()
        rows = idx.loc[[code]] if code in idx.index else idx.iloc[0:0]
        if level:
            rows = rows[rows["level"] == level]
        if rows.empty:
            raise PlaceNotFoundError(code, self.suggest(code))
        r = rows.iloc[0]
        r = r.copy()
        r["code"] = code
        return Area(
            code=r["code"], level=r["level"], name=r["name"], country=r["country"],
            lat=_f(r["lat"]), lon=_f(r["lon"]), population=_f(r["population"]),
            population_year=None if pd.isna(r["population_year"]) else int(r["population_year"]),
        )

    def find(self, query: str, level: str | None = None, limit: int = 20) -> pd.DataFrame:
        """Places matching a name or code, most likely first.

        Tries, in order: an exact GSS code; an exact name (after folding case,
        accents and punctuation); names starting with the query; names
        containing it. Returns code, name, level, population and ``match``.
        """
        q = query.strip()
        if level:
            check_level(level)
        lv = " AND level = ?" if level else ""
        extra = [level] if level else []
        cols = "code, name, level, country, population"
        code = q.upper().replace(" ", "")
        idx = self._area_index()
        if code in idx.index:  # a GSS code: answered from memory, no table scan
            df = idx.loc[[code]].reset_index()
            if level:
                df = df[df["level"] == level]
            if not df.empty:
                df = df.sort_values(["ord", "population"], ascending=[True, False])
                return df[["code", "name", "level", "country", "population"]].assign(match="code").reset_index(drop=True)
        n = normalise_name(q)
        empty = pd.DataFrame(columns=["code", "name", "level", "country", "population", "match"])
        if not n:
            return empty
        df = empty
        # Exact names and whole-word prefixes together ('Kingston upon Hull' finds the council
        # 'Kingston upon Hull, City of' too); looser matches only when those find nothing.
        for kinds in ((("exact", n), ("prefix", n + " %")), (("starts", n + "%"), ("contains", "% " + n + "%"))):
            # Small areas only on an exact name: 'Wigan' must not list Wigan 001 ... Wigan 039.
            small = "" if level else f" AND level NOT IN {_SMALL_SQL}"
            parts = [
                f"SELECT {cols}, '{kind}' AS match, {i} AS m FROM area WHERE search "
                f"{'=' if kind == 'exact' else 'LIKE'} ?{lv}{'' if kind == 'exact' else small}"
                for i, (kind, _) in enumerate(kinds)
            ]
            params = [p for _, pat in kinds for p in (pat, *extra)]
            df = self.query(
                f"SELECT * EXCLUDE (m) FROM ({' UNION ALL '.join(parts)}) "
                f"ORDER BY m, {_LEVEL_ORDER_SQL}, population DESC NULLS LAST LIMIT {int(limit)}",
                params,
            )
            if not df.empty:
                return df.drop_duplicates(["code", "level"]).reset_index(drop=True)
        return df

    def suggest(self, query: str, n: int = 5) -> list[str]:
        """Close names for a query that matched nothing (Jaro-Winkler on folded names)."""
        code = query.strip().upper()
        if re.fullmatch(r"[EWSNK]\d{8}", code):
            # An unknown GSS code: the nearest codes of the same type, not similar-looking names.
            df = self.query(
                "SELECT name, level, code FROM area WHERE code[1:3] = ? "
                "ORDER BY abs(CAST(code[4:] AS BIGINT) - ?), code LIMIT 3",
                [code[:3], int(code[3:])],
            )
            return [f"{r.name} ({r.level}, {r.code})" for r in df.itertuples()]
        q = normalise_name(query)
        if not q:
            return []
        df = self.query(
            "SELECT name, level, code, jaro_winkler_similarity(search, ?) AS s FROM area "
            f"WHERE level NOT IN {_SMALL_SQL} AND s > 0.75 "
            f"ORDER BY s DESC, {_LEVEL_ORDER_SQL} LIMIT ?",
            [q, n],
        )
        if df.empty:
            # Nothing close: still offer the nearest councils and towns, so the user has a lead.
            df = self.query(
                "SELECT name, level, code, jaro_winkler_similarity(search, ?) AS s FROM area "
                f"WHERE level IN {in_sql(NAMED_PLACE_LEVELS)} ORDER BY s DESC, {_LEVEL_ORDER_SQL}, code LIMIT 3",
                [q],
            )
        return [f"{r.name} ({r.level}, {r.code})" for r in df.itertuples()]

    def resolve(self, query: str, level: str | None = None) -> Area:
        """Exactly one area for a name or code, or a clear error.

        A code or a unique match returns that area. Several exact matches at
        different levels (``'Wigan'``: council, town, seats) resolve to the most
        prominent level unless ``level`` is given; several of the same level
        raise :class:`AmbiguousPlaceError`.
        """
        df = self.find(query, level=level)
        if df.empty:
            raise PlaceNotFoundError(query, self.suggest(query))
        if len(df) == 1 or df["match"].iloc[0] in ("code", "exact"):
            top = df[df["level"] == df["level"].iloc[0]]
            if len(top) > 1 and df["match"].iloc[0] != "code":
                raise AmbiguousPlaceError(query, top)
            return self.area(df["code"].iloc[0], df["level"].iloc[0])
        raise AmbiguousPlaceError(query, df.head(10))

    def parents(self, code: str, level: str) -> pd.DataFrame:
        """Areas this one belongs to: parent, parent_level, name, weight, method."""
        df = self.query(
            "SELECT parent AS code, parent_level AS level, weight, method FROM area_link "
            f"WHERE child = ? AND child_level = ? ORDER BY {order_sql('parent_level')}, weight DESC",
            [code, level],
        )
        names_by = getattr(self, "_names_cache", None)
        if names_by is None:
            idx = self._area_index()
            names_by = self._names_cache = dict(zip(zip(idx.index, idx["level"], strict=True), idx["name"], strict=True))
        names = [names_by.get((c, lv)) for c, lv in zip(df["code"], df["level"], strict=True)]
        df.insert(2, "name", pd.Series(names, dtype=object))
        return df

    def children(self, code: str, level: str, child_level: str) -> pd.DataFrame:
        """Areas of ``child_level`` linked to this one, with the link weight."""
        return self.query(
            "SELECT l.child AS code, a.name, l.weight, a.population, l.method FROM area_link l "
            "JOIN area a ON a.code = l.child AND a.level = l.child_level "
            "WHERE l.parent = ? AND l.parent_level = ? AND l.child_level = ? ORDER BY l.child",
            [code, level, child_level],
        )

    def links(self, child_level: str, parent_level: str) -> pd.DataFrame:
        """The weighted links between two levels: child, parent, weight, method."""
        return self.query(
            "SELECT child, parent, weight, method FROM area_link WHERE child_level = ? AND parent_level = ? "
            "ORDER BY child, parent",
            [child_level, parent_level],
        )

    def classes(self, code: str | None = None, level: str | None = None, scheme: str | None = None) -> pd.DataFrame:
        """Classifications: code, level, scheme, class, source."""
        where, params = [], []
        for col, v in (("code", code), ("level", level), ("scheme", scheme)):
            if v is not None:
                where.append(f"{col} = ?")
                params.append(v)
        sql = "SELECT code, level, scheme, class, source FROM area_class"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.query(sql + " ORDER BY code, scheme", params)

    # -- indicators ---------------------------------------------------------------
    def indicators(self, topic: str | None = None, level: str | None = None) -> pd.DataFrame:
        """Registered indicators: id, name, topic, unit, polarity, level, agg, source, periods."""
        where, params = [], []
        if topic:
            where.append("i.topic = ?")
            params.append(topic)
        if level:
            where.append("i.level = ?")
            params.append(level)
        sql = (
            "SELECT i.*, (SELECT string_agg(DISTINCT period, ', ' ORDER BY period) FROM observation o "
            "WHERE o.indicator = i.id AND o.level = i.level) AS periods FROM indicator i"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        if level:
            check_level(level)
        df = self.query(sql + " ORDER BY i.topic, i.id", params)
        if df.empty and topic:
            topics = [r[0] for r in self._cur().execute(
                "SELECT DISTINCT topic FROM indicator WHERE topic IS NOT NULL ORDER BY 1").fetchall()]
            if topic not in topics:
                raise TownhallError(f"Unknown topic {topic!r}.", hint="Topics: " + ", ".join(topics) + ".")
        return df

    def indicator(self, indicator: str) -> dict[str, Any]:
        """One indicator's registration (raises with close ids if unknown)."""
        row = self.query("SELECT * FROM indicator WHERE id = ?", [indicator])
        if row.empty:
            close = self.query(
                "SELECT id FROM indicator ORDER BY jaro_winkler_similarity(id, ?) DESC LIMIT 5", [indicator]
            )["id"].tolist()
            raise UnknownIndicatorError(
                f"Unknown indicator {indicator!r}.",
                hint=("Close ids: " + ", ".join(close) + ". ") + "List them with 'townhall indicators'.",
            )
        return {k: plain(v) for k, v in row.iloc[0].items()}

    def periods(self, indicator: str) -> list[str]:
        """Periods with values for an indicator at its own level, oldest first."""
        ind = self.indicator(indicator)
        return [
            r[0]
            for r in self._cur()
            .execute("SELECT DISTINCT period FROM observation WHERE indicator = ? AND level = ? ORDER BY period",
                     [indicator, ind["level"]])
            .fetchall()
        ]

    def values(self, indicator: str, level: str | None = None, period: str | None = None) -> pd.DataFrame:
        """Values of an indicator at a level: area, name, period, value, lower, upper, pct.

        At the indicator's own level the published values come back; at a
        higher level the population-weighted roll-up (see :meth:`rollup`).
        ``period`` defaults to the latest.
        """
        ind = self.indicator(indicator)
        level = level or ind["level"]
        check_level(level)
        period = period or self._latest(indicator, ind["level"])
        stored = self.query(
            "SELECT o.area, a.name, o.period, o.value, o.lower, o.upper, o.pct FROM observation o "
            "JOIN area a ON a.code = o.area AND a.level = o.level "
            "WHERE o.indicator = ? AND o.level = ? AND o.period = ? ORDER BY o.area",
            [indicator, level, period],
        )
        if stored.empty:
            self._check_period(indicator, ind["level"], period)
        if not stored.empty or level == ind["level"]:
            return stored
        return self.rollup(indicator, level, period)

    def _check_period(self, indicator: str, level: str, period: str) -> None:
        """Raise, listing the periods there are, if ``indicator`` has no values for ``period``."""
        periods = [r[0] for r in self._cur().execute(
            "SELECT DISTINCT period FROM observation WHERE indicator = ? AND level = ? ORDER BY period",
            [indicator, level]).fetchall()]
        if period not in periods:
            raise TownhallError(f"{indicator} has no values for period {period!r}.",
                                hint="Periods: " + ", ".join(periods) + ".")

    def rollup(self, indicator: str, level: str, period: str | None = None) -> pd.DataFrame:
        """Roll an indicator up from its own level to ``level``.

        Each child's value is weighted by its population times the link weight
        (its share of population in the parent): a weighted mean for rates and
        scores (``agg = mean``), a weighted sum for counts (``agg = sum``).
        ``n_children`` and ``coverage`` (share of the parent's linked population
        with a value) say how much data stands behind each figure.
        """
        ind = self.indicator(indicator)
        check_level(level)
        if ind["agg"] == "none":
            raise TownhallError(
                f"{indicator} ({ind['name']}) cannot be rolled up: it is a rank or a class, not a rate or a count."
            )
        period = period or self._latest(indicator, ind["level"])
        if level == ind["level"]:
            return self.values(indicator, level, period)
        self._check_period(indicator, ind["level"], period)
        nlinks = self._cur().execute(
            "SELECT count(*) FROM area_link WHERE child_level = ? AND parent_level = ?", [ind["level"], level]
        ).fetchone()[0]
        if nlinks == 0:
            raise TownhallError(
                f"No link from {ind['level']} to {level} in the atlas, so {indicator} cannot be rolled up to {level}."
            )
        agg = (
            "sum(o.value * l.weight)" if ind["agg"] == "sum"
            else "sum(o.value * l.weight * c.population) / nullif(sum(l.weight * c.population), 0)"
        )
        return self.query(
            f"""
            SELECT l.parent AS area, p.name, ? AS period, {agg} AS value,
                   NULL::DOUBLE AS lower, NULL::DOUBLE AS upper,
                   count(o.value) AS n_children,
                   sum(CASE WHEN o.value IS NOT NULL THEN l.weight * c.population END)
                     / nullif(sum(l.weight * c.population), 0) AS coverage
            FROM area_link l
            JOIN area c ON c.code = l.child AND c.level = l.child_level
            JOIN area p ON p.code = l.parent AND p.level = l.parent_level
            LEFT JOIN observation o ON o.area = l.child AND o.level = l.child_level
                 AND o.indicator = ? AND o.period = ?
            WHERE l.child_level = ? AND l.parent_level = ?
            GROUP BY l.parent, p.name
            HAVING count(o.value) > 0
            ORDER BY l.parent
            """,
            [period, indicator, period, ind["level"], level],
        )

    def _latest(self, indicator: str, level: str) -> str:
        row = self._cur().execute(
            "SELECT max(period) FROM observation WHERE indicator = ? AND level = ?", [indicator, level]
        ).fetchone()
        if row[0] is None:
            raise TownhallError(f"Indicator {indicator} has no values in this atlas.")
        return row[0]

    # -- profiles -----------------------------------------------------------------
    def profile(self, query: str, level: str | None = None) -> dict[str, Any]:
        """Everything the atlas says about one place, ready for JSON.

        Keys: area, parents, classes, headline (the :data:`HEADLINE` indicators
        the place has, in that order), indicators (latest value of each
        indicator held at this place's level, with its percentile among areas of
        the level and whether that is good or bad), sources (with licences).
        """
        a = self.resolve(query, level)
        parents = self.parents(a.code, a.level)
        classes = self.classes(a.code, a.level)
        inds = self.query(
            """
            SELECT i.id, i.name, i.topic, i.unit, i.polarity, o.period, o.value, o.lower, o.upper, o.pct,
                   o.derived, i.source
            FROM observation o JOIN indicator i ON i.id = o.indicator
            WHERE o.area = ? AND o.level = ?
            QUALIFY row_number() OVER (PARTITION BY o.indicator ORDER BY o.period DESC) = 1
            ORDER BY i.topic, i.id
            """,
            [a.code, a.level],
        )
        inds["better_than_pct"] = [
            None if pd.isna(p) or not pol else (p if pol > 0 else 100 - p)
            for p, pol in zip(inds["pct"], inds["polarity"], strict=True)
        ]
        src_paths = set(inds["source"].dropna()) | set(classes["source"].dropna())
        if a.population_year:
            src_paths |= set(self.query("SELECT population_source FROM area WHERE code = ? AND level = ?",
                                        [a.code, a.level])["population_source"].dropna())
        sources = self.query(
            "SELECT path, title, publisher, publisher_url, licence, vintage FROM source WHERE list_contains(?, path) ORDER BY publisher, path",
            [sorted(src_paths)],
        )
        order = {iid: i for i, iid in enumerate(HEADLINE)}
        head = inds[inds["id"].isin(order)].copy()
        head = head.iloc[head["id"].map(order).argsort()]
        return {
            "headline": records(head.drop(columns=["source"])),
            "area": {
                "code": a.code, "name": a.name, "level": a.level, "level_name": LEVELS[a.level],
                "country": a.country, "lat": a.lat, "lon": a.lon,
                "population": a.population, "population_year": a.population_year,
            },
            "parents": records(parents),
            "classes": dict(zip(classes["scheme"], classes["class"], strict=True)),
            "indicators": records(inds.drop(columns=["source"])),
            "sources": records(sources),
        }

    def sources(self) -> pd.DataFrame:
        """Every source the atlas was built from, with publisher and licence."""
        return self.query("SELECT * FROM source ORDER BY path")


def _f(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def plain(v: Any) -> Any:
    """A value fit for JSON: numpy scalars as plain Python, NaN, NA and infinities as None."""
    if v is None or isinstance(v, str | bool | int | list | dict | tuple):
        return v
    if pd.isna(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-ready dicts."""
    return [{k: plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
