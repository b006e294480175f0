"""Build the atlas: pulled source files -> one DuckDB file, atomically.

The build writes to a temporary file beside the target and renames it into
place only when every step has succeeded, so a failed build leaves the previous
atlas untouched. Given the same inputs it writes the same tables in the same
order (repeatable); ``meta.inputs`` fingerprints the inputs so ``townhall up``
can tell whether the atlas is stale, and ``meta.built`` says when it was written
(with ``inputs``, the fingerprint a running web server checks to notice a rebuilt atlas).

Safety: before any work the build checks that it can write beside the target, removes
what earlier builds that were killed left behind (their temporary atlas, WAL and spill
folder; a build still running keeps its own), and hashes every input again, refusing a
file that changed since it was verified (the message is that of ``townhall data verify``).
Ctrl+C or any failure removes this build's own temporary files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import ModuleType

import duckdb
import pandas as pd

from townhall import config
from townhall.atlas import boundaries, elections, facilities, finance
from townhall.atlas.registry import POP_CHANGE, POP_CHANGE_REGISTRY, register
from townhall.errors import BuildError, TownhallError
from townhall.levels import ROLLUP_LEVELS, TOWN, in_sql
from townhall.sources.catalogue import get_source, load_catalogue
from townhall.version import __version__

#: Bump when the build logic changes in a way that changes the atlas.
BUILD_VERSION = "2"
#: The wings' build steps, run in order after the geography and indicators are written and
#: before the roll-ups: each is a module with ``add_to_atlas(con, cache_dir, step) -> set[str]``
#: that creates its own tables, may register indicators (rows in ``indicator``) and stage
#: observations (rows in ``obs_stage``), and returns the source paths it read.
WINGS: tuple[ModuleType, ...] = (elections, facilities, finance, boundaries)
#: DuckDB's working-memory cap during a build (the whole build stays under about 2 GB).
MEMORY_LIMIT = "768MB"


@dataclass
class BuildSummary:
    """What a build produced."""

    path: Path
    seconds: float
    areas: dict[str, int] = field(default_factory=dict)
    indicators: int = 0
    observations: int = 0
    sources: int = 0


def inputs_fingerprint() -> str:
    """Hash of the declared inputs and of the build code: changes whenever a rebuild is needed.

    The build code is every file of ``townhall.atlas`` (readers, wings' steps, schema), so an
    upgrade that changes what the build writes marks an older atlas stale by itself.
    """
    h = hashlib.sha256(f"{__version__}:{BUILD_VERSION}".encode())
    for s in load_catalogue():
        h.update(f"{s.path}:{s.sha256}".encode())
    code = resources.files("townhall.atlas")
    for f in sorted(code.iterdir(), key=lambda f: f.name):
        if f.name.endswith((".py", ".sql", ".toml")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def is_stale(path: Path | None = None) -> bool:
    """True if there is no atlas at ``path`` or it was built from other inputs or code."""
    p = Path(path) if path else config.atlas_path()
    if not p.is_file():
        return True
    try:
        con = duckdb.connect(str(p), read_only=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'inputs'").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return True
    return row is None or row[0] != inputs_fingerprint()


def build(
    out: Path | None = None,
    cache_dir: Path | None = None,
    step: Callable[[str], None] = lambda s: None,
) -> BuildSummary:
    """Build the atlas from the pulled sources.

    Parameters
    ----------
    out : Path, optional
        Atlas file to write (default :func:`townhall.config.atlas_path`).
    cache_dir : Path, optional
        Where the pulled sources are (default :func:`townhall.config.cache_dir`).
    step : callable
        Called with a short label as each stage starts (for progress display).

    Returns
    -------
    BuildSummary
    """
    from townhall.atlas.geography import build_geography
    from townhall.atlas.indicators import build_indicators

    t0 = time.perf_counter()
    out = Path(out) if out else config.atlas_path()
    check_writable(out)
    remove_leftovers(out)
    check_inputs(cache_dir)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    current = "starting"

    def _step(label: str) -> None:
        nonlocal current
        current = label
        step(label)

    try:
        geo = build_geography(cache_dir, _step)
        inds = build_indicators(cache_dir, _step)
        _step("writing the atlas")
        con = duckdb.connect(str(tmp))
        try:
            # Bound memory: DuckDB spills the roll-up and percentile passes to disk past this.
            spill = tmp.with_name(tmp.name + ".spill")
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'; SET temp_directory = '{spill}'; "
                        "SET preserve_insertion_order = false")
            _write(con, geo, inds)
            del geo, inds  # the frames are in DuckDB now; free them before the heavy passes
            for wing in WINGS:
                add_sources(con, wing.add_to_atlas(con, cache_dir, _step))
            _step("rolling up small areas to towns, councils, seats and regions")
            _rollups(con)
            _derived(con)
            _step("percentiles and checks")
            _percentiles(con)
            _check(con)
            summary = _summary(con, out, t0)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _cleanup_spill(tmp)
        os.replace(tmp, out)  # atomic on POSIX and Windows
    except TownhallError as exc:
        _cleanup_spill(tmp)
        tmp.unlink(missing_ok=True)
        raise BuildError(f"Build failed while reading {current}: {exc.message} The existing atlas is untouched.",
                         hint=exc.hint) from None
    except duckdb.InterruptException:  # Ctrl+C inside a DuckDB statement
        _cleanup_spill(tmp)
        tmp.unlink(missing_ok=True)
        raise KeyboardInterrupt from None
    except (ValueError, KeyError, duckdb.Error, OSError) as exc:
        _cleanup_spill(tmp)
        tmp.unlink(missing_ok=True)
        raise BuildError(f"Build failed while processing {current}: {type(exc).__name__}: {exc}. "
                         "The existing atlas is untouched.") from None
    except BaseException:
        _cleanup_spill(tmp)
        tmp.unlink(missing_ok=True)
        raise
    summary.seconds = time.perf_counter() - t0
    return summary


def _cleanup_spill(tmp: Path) -> None:
    shutil.rmtree(tmp.with_name(tmp.name + ".spill"), ignore_errors=True)
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)


def check_writable(out: Path) -> None:
    """Raise :class:`BuildError` naming the path and the fix unless an atlas can be written at ``out``.

    Checked before the build starts, so a bad path costs nothing: a folder that cannot be
    created (a part of the path is a file), a read-only folder, or a target that is a folder.
    """
    fix = "Choose another path with --atlas or TOWNHALL_ATLAS."
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), parent)
        raise BuildError(f"Cannot write the atlas at {out}: {blocker} is a file, not a folder. {fix}") from None
    except OSError as exc:
        raise BuildError(f"Cannot write the atlas at {out}: the folder {parent} cannot be created "
                         f"({exc.strerror or exc}). {fix}") from None
    if out.is_dir():
        raise BuildError(f"Cannot write the atlas at {out}: it is a folder. {fix}")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BuildError(f"Cannot write the atlas at {out}: the folder {parent} is read-only "
                         f"({exc.strerror or exc}). {fix}") from None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_leftovers(out: Path) -> list[Path]:
    """Remove what killed builds of ``out`` left beside it; return what was removed.

    A build writes ``.<name>.<pid>.tmp`` (with DuckDB's ``.wal`` and ``.spill`` folder beside
    it) and renames it into place at the end; one killed with SIGKILL cannot clean up, and
    each leftover may be hundreds of MB. Files of a build whose process is still running
    are kept.
    """
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(\d+)\.tmp(\.wal|\.spill|\.tmp)?$")
    removed: list[Path] = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = pattern.match(p.name)
        if m is None or _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


def check_inputs(cache_dir: Path | None = None) -> None:
    """Hash every declared input again and refuse a missing or changed one.

    Size and modification time alone could let a file edited in place (same size, the time
    reset) through; hashing all of them (about 135 MB) takes about a second on two cores.
    The error is that of ``townhall data verify``, plus that the existing atlas is untouched.
    """
    from townhall.sources.download import require

    try:
        require(cache_dir=cache_dir, rehash=True)
    except TownhallError as exc:
        hint = " ".join(h for h in (exc.hint, "The existing atlas is untouched.") if h)
        raise BuildError(exc.message, hint=hint) from None


def _write(con: duckdb.DuckDBPyConnection, geo, inds) -> None:
    con.execute(resources.files("townhall.atlas").joinpath("schema.sql").read_text("utf-8"))
    areas = pd.concat(geo.areas, ignore_index=True).sort_values(["level", "code"], kind="stable")
    links = pd.concat(geo.links, ignore_index=True)
    links = links.groupby(["child", "child_level", "parent", "parent_level", "method"], as_index=False)["weight"].sum()
    links = links.sort_values(["child_level", "child", "parent_level", "parent"], kind="stable")  # a place's parents sit together
    classes = pd.concat(geo.classes, ignore_index=True).drop_duplicates(["code", "level", "scheme"])
    classes = classes.sort_values(["level", "scheme", "code"], kind="stable")
    reg = pd.DataFrame(inds.registry).drop_duplicates("id").sort_values("id")
    for name, df in (("areas_df", areas), ("links_df", links), ("classes_df", classes), ("reg_df", reg)):
        con.register(name, df)
    con.execute("""INSERT INTO area SELECT code, level, name, country, lat, lon, centroid_method, population,
                   CAST(population_year AS INTEGER), population_source, search FROM areas_df""")
    con.execute("INSERT INTO area_link SELECT child, child_level, parent, parent_level, weight, method FROM links_df")
    con.execute('INSERT INTO area_class SELECT code, level, scheme, "class", source FROM classes_df')
    con.execute("INSERT INTO indicator SELECT id, name, topic, unit, CAST(polarity AS INTEGER), level, agg, source, description FROM reg_df")
    # Keep observations only for areas the atlas knows (drops e.g. ELS ITL rows, Scottish IZs).
    # One frame at a time: no giant concatenation in pandas.
    con.execute("""CREATE TEMP TABLE obs_stage (indicator VARCHAR, level VARCHAR, area VARCHAR, period VARCHAR,
                   value DOUBLE, lower DOUBLE, upper DOUBLE, derived BOOLEAN)""")
    while inds.obs:
        con.register("obs_df", inds.obs.pop())
        con.execute("""INSERT INTO obs_stage
                       SELECT o.indicator, o.level, o.area, o.period, o.value, o.lower, o.upper, FALSE
                       FROM obs_df o SEMI JOIN area a ON a.code = o.area AND a.level = o.level""")
        con.unregister("obs_df")
    add_sources(con, geo.used | inds.used)
    meta = {"townhall_version": __version__, "build_version": BUILD_VERSION, "inputs": inputs_fingerprint(),
            # When: with 'inputs', the fingerprint a running server checks to notice a rebuilt atlas.
            "built": datetime.now(UTC).isoformat(timespec="microseconds")}
    con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    for name in ("areas_df", "links_df", "classes_df", "reg_df"):
        con.unregister(name)


def add_sources(con: duckdb.DuckDBPyConnection, paths: set[str]) -> None:
    """Record declared sources in the ``source`` table (those already there are skipped)."""
    have = {r[0] for r in con.execute("SELECT path FROM source").fetchall()}
    new = sorted(set(paths) - have)
    if not new:
        return
    src = pd.DataFrame([{
        "path": s.path, "title": s.title, "publisher": s.publisher, "publisher_url": s.publisher_url, "licence": s.licence,
        "vintage": s.vintage, "origin_url": s.url, "sha256": s.sha256, "bytes": s.bytes,
    } for s in map(get_source, new)])
    con.register("src_df", src)
    con.execute("INSERT INTO source SELECT * FROM src_df")
    con.unregister("src_df")


def _rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Store population-weighted roll-ups of every small-area indicator at the roll-up levels."""
    levels = in_sql(ROLLUP_LEVELS)[1:-1]
    con.execute(f"""
        INSERT INTO obs_stage
        SELECT o.indicator, l.parent_level, l.parent, o.period,
               -- Compensated sums rounded to 10 d.p.: parallel aggregation adds in no fixed order,
               -- and a repeatable build must not differ in the last bit.
               round(CASE WHEN i.agg = 'sum' THEN fsum(o.value * l.weight)
                     ELSE fsum(o.value * l.weight * c.population) / nullif(fsum(l.weight * c.population), 0) END, 10),
               NULL, NULL, TRUE
        FROM obs_stage o
        JOIN indicator i ON i.id = o.indicator AND i.level = o.level AND i.agg IN ('mean', 'sum')
        JOIN area_link l ON l.child = o.area AND l.child_level = o.level AND l.parent_level IN ({levels})
        JOIN area c ON c.code = o.area AND c.level = o.level
        WHERE o.value IS NOT NULL AND NOT o.derived
        GROUP BY o.indicator, l.parent_level, l.parent, o.period, i.agg
        ORDER BY 1, 2, 3, 4
    """)


def _derived(con: duckdb.DuckDBPyConnection) -> None:
    """Indicators computed from others after the roll-ups: towns' population change 2011-2021."""
    register(con, [POP_CHANGE_REGISTRY])
    con.execute("""
        INSERT INTO obs_stage
        SELECT ?, a.level, a.code, '2011-2021', round(100 * (o.value - a.population) / a.population, 10), NULL, NULL, TRUE
        FROM area a JOIN obs_stage o ON o.indicator = 'census21_pop' AND o.level = a.level AND o.area = a.code
        WHERE a.level = ? AND a.population_year = 2011 AND a.population > 0
    """, [POP_CHANGE, TOWN])


def _percentiles(con: duckdb.DuckDBPyConnection) -> None:
    # Percentile among areas of the same level and period (0 = lowest value, 100 = highest),
    # computed while moving the staged rows into place: one pass, no UPDATE.
    con.execute("""
        INSERT INTO observation
        SELECT indicator, level, area, period, value, lower, upper, derived,
               CASE WHEN value IS NOT NULL THEN
                 100 * percent_rank() OVER (PARTITION BY indicator, level, period, value IS NULL ORDER BY value) END
        FROM obs_stage
        ORDER BY level, area, indicator, period  -- a place's rows sit together: profiles read one block
    """)
    con.execute("DROP TABLE obs_stage")


def _check(con: duckdb.DuckDBPyConnection) -> None:
    """Invariants a build must satisfy; a failure aborts before the atlas is replaced."""
    dup = con.execute("SELECT count(*) FROM (SELECT code, level FROM area GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    if dup:
        raise ValueError(f"{dup} duplicate area codes within a level")
    orphan = con.execute("""SELECT count(*) FROM area_link l ANTI JOIN area a ON a.code = l.parent AND a.level = l.parent_level""").fetchone()[0]
    if orphan:
        bad = con.execute("""SELECT l.parent_level, l.parent FROM area_link l ANTI JOIN area a
                             ON a.code = l.parent AND a.level = l.parent_level LIMIT 3""").fetchall()
        raise ValueError(f"{orphan} links point to unknown parents, e.g. {bad}")
    con.execute("DELETE FROM area_link l WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = l.child AND a.level = l.child_level)")


def _summary(con: duckdb.DuckDBPyConnection, out: Path, t0: float) -> BuildSummary:
    return BuildSummary(
        path=out,
        seconds=time.perf_counter() - t0,
        areas=dict(con.execute("SELECT level, count(*) FROM area GROUP BY level ORDER BY level").fetchall()),
        indicators=con.execute("SELECT count(*) FROM indicator").fetchone()[0],
        observations=con.execute("SELECT count(*) FROM observation").fetchone()[0],
        sources=con.execute("SELECT count(*) FROM source").fetchone()[0],
    )
