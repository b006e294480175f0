"""Analyses in the browser: the front page's findings, towns and their cities, the open
left-behind index and its validation, inequality, hot spots, similar places and composite
indices from an uploaded spec.

Routes (each page has its ``/api`` twin from one view function, with JSON, CSV and XLSX
of its table, and GeoJSON for its map):

- ``/`` - the front page: search, headline findings, levels in words;
- ``/towns?rule=`` - share of English towns doing worse than their city, with its interval,
  rule, breakdowns, sensitivity to the test and pairing, and a map of towns and cities;
- ``/left-behind?level=&region=`` - the open left-behind index, mapped, with its validation;
- ``/inequality?by=&indicator=`` - Theil decomposition by place class or region, the spatial
  Gini, and within-council inequality mapped;
- ``/hotspots?indicator=&level=&region=`` - Moran's I and LISA hot and cold spots;
- ``/similar?place=&level=`` - the ten places most like a place, and why;
- ``/index`` (GET a form, POST a TOML spec) - a composite index of the user's own.

Everything is computed by :mod:`townhall.places` and :mod:`townhall.measures`; slow results
are computed once per app (a warm-up thread starts them when the app starts) and kept in the
app's cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from townhall.atlas.store import records
from townhall.errors import InputError, TownhallError
from townhall.levels import (
    COUNCIL,
    LEVELS,
    REGION,
    SEAT,
    SMALL_AREA_2021,
    TOWN,
    check_level,
    label,
)
from townhall.web import charts, maps
from townhall.web.evidence import full_report
from townhall.web.places import drawn, publisher_of, zoom_regions
from townhall.web.toolkit import (
    ERROR_RESPONSES,
    GEOJSON_RESPONSES,
    View,
    atlas_of,
    cached,
    csv_response,
    page_and_api,
    qs,
    render,
    slow,
    warming,
    xlsx_response,
)

#: Spec files larger than this are refused (a spec is a few kilobytes of TOML).
MAX_SPEC_BYTES = 64 * 1024
#: Levels the left-behind index and uploaded indices can be shown at.
INDEX_LEVELS = (COUNCIL, TOWN, SEAT, SMALL_AREA_2021)
#: The default indicator of the inequality and hot-spot pages (as the CLI's).
DEFAULT_INDICATOR = "imd25_income_score"

_LOCKS_GUARD = threading.Lock()
#: Nice value of the warm-up thread: requests come first on a busy machine.
WARM_NICE = 10


def _ready(app: FastAPI, key: str) -> bool:
    return app.state.holder.get().ready(key)


# -- the slow analyses, each computed once per app ---------------------------------------------------
def towns_sensitivity(app: FastAPI) -> Any:
    """Every test of 'falling behind' under both pairing rules (the CLI's defaults)."""
    from townhall.places.gaps import DEFAULT_DRAWS, DEFAULT_SEED
    from townhall.places.summary import sensitivity

    return slow(app, "measures:towns", lambda: sensitivity(app.state.atlas, n_draws=DEFAULT_DRAWS, seed=DEFAULT_SEED))


def left_behind(app: FastAPI, level: str) -> Any:
    """The open left-behind index at a level (the shipped spec's draws, as the CLI)."""
    from townhall.measures.leftbehind import build

    return slow(app, f"measures:olbi:{level}", lambda: build(app.state.atlas, level))


def validation(app: FastAPI) -> Any:
    from townhall.measures.leftbehind import validate

    return slow(app, "measures:olbi:validation", lambda: validate(app.state.atlas))


def inequality(app: FastAPI, by: str, indicator: str) -> Any:
    from townhall.measures.inequality import theil_by

    return slow(app, f"measures:theil:{by}:{indicator}", lambda: theil_by(app.state.atlas, by=by, indicator=indicator))


def gini(app: FastAPI, indicator: str) -> Any:
    from townhall.measures.inequality import spatial_gini

    return slow(app, f"measures:gini:{indicator}", lambda: spatial_gini(app.state.atlas, indicator=indicator))


def within_councils(app: FastAPI, indicator: str) -> Any:
    """Theil T of an LSOA indicator within each council (TheilDecomposition with councils as groups)."""
    from townhall.measures.inequality import TheilDecomposition

    def make() -> Any:
        atlas = app.state.atlas
        v = atlas.values(indicator, level=SMALL_AREA_2021)[["area", "value"]]
        pop = atlas.areas(SMALL_AREA_2021).set_index("code")["population"]
        link = atlas.links(SMALL_AREA_2021, COUNCIL)
        lad = link.sort_values("weight").drop_duplicates("child", keep="last").set_index("child")["parent"]
        df = v.assign(population=v["area"].map(pop), group=v["area"].map(lad)).dropna()
        t = TheilDecomposition(df["value"].to_numpy(), df["group"].to_numpy(), df["population"].to_numpy())
        t.indicator, t.by, t.level = indicator, COUNCIL, SMALL_AREA_2021  # type: ignore[attr-defined]
        return t
    return slow(app, f"measures:within:{indicator}", make)


def hotspots(app: FastAPI, indicator: str, level: str) -> Any:
    from townhall.measures.spatial import hotspots as run

    return slow(app, f"measures:lisa:{indicator}:{level}", lambda: run(app.state.atlas, indicator, level))


def findings(app: FastAPI, compute: bool = True) -> dict[str, Any]:
    """The front page's headline answers; with ``compute=False`` only those already worked out.

    Keys: ``towns`` (the share of towns worse than their city, nearest-city rule), ``left_behind``
    (the five most left-behind councils), ``inequality`` (the five councils whose small areas differ
    most in income deprivation); each None when not (yet) available.
    """
    out: dict[str, Any] = {"towns": None, "left_behind": None, "inequality": None}
    if compute or _ready(app, "measures:towns"):
        try:
            h = towns_sensitivity(app).headlines["nearest"]
            out["towns"] = {"share": h.share, "lower": h.lower, "upper": h.upper, "towns": h.n_towns,
                            "worse": h.n_worse, "min_domains": h.min_domains, "n_draws": h.n_draws}
        except TownhallError:
            pass
    if compute or _ready(app, f"measures:within:{DEFAULT_INDICATOR}"):
        try:
            t = within_councils(app, DEFAULT_INDICATOR)
            names = app.state.atlas.areas(COUNCIL).set_index("code")["name"]
            top = t.by_group.sort_values("T", ascending=False).head(5)
            out["inequality"] = [{"code": g, "name": names.get(g, g), "T": float(tt), "mean": float(m)}
                                 for g, tt, m in zip(top["group"], top["T"], top["mean"], strict=True)]
        except TownhallError:
            pass
    if compute or _ready(app, f"measures:olbi:{COUNCIL}"):
        try:
            run = left_behind(app, COUNCIL)
            out["left_behind"] = records(run.table.head(5)[["code", "name", "score", "rank", "lower", "upper"]])
        except TownhallError:
            pass
    return out


def warm_steps(app: FastAPI) -> bool:
    """Work out the slow results in the order people are likely to ask for them, keeping each
    beside the atlas (not in this process's memory); True if every one was made."""
    steps: list[Callable[[], Any]] = [
        lambda: towns_sensitivity(app), lambda: within_councils(app, DEFAULT_INDICATOR),
        lambda: left_behind(app, COUNCIL), lambda: left_behind(app, SMALL_AREA_2021), lambda: validation(app),
        lambda: hotspots(app, DEFAULT_INDICATOR, SMALL_AREA_2021),
        lambda: inequality(app, "class", DEFAULT_INDICATOR), lambda: gini(app, DEFAULT_INDICATOR),
        lambda: full_report(app),
    ]
    ok = True
    with warming():
        for s in steps:
            try:
                s()
            except Exception:
                ok = False
    return ok


def warm(app: FastAPI) -> None:
    """The server's warm-up: :func:`warm_steps` once per server (one worker does it, the others
    find the results beside the atlas), at low priority so that requests come first.

    The work runs in a child process (``python -m townhall.web.warm``): the workers keep their
    cores' time and memory for requests, the child's memory goes back to the system when it
    ends, it stops with the server, and no thread of the server is left inside DuckDB when the
    server exits (which would abort the process). Where nothing can be kept beside the atlas,
    this process works them out itself.
    """
    served = app.state.holder.get()
    if served.disk is None:  # nothing to share results through: this process keeps them
        with contextlib.suppress(AttributeError, OSError):  # Linux: a thread's own priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WARM_NICE)
        warm_steps(app)
        return
    import subprocess
    import sys

    def child() -> bool:
        # Its stdin is a pipe held by this process: at its end (the server stopped), the child stops.
        proc = subprocess.Popen([sys.executable, "-m", "townhall.web.warm", str(app.state.holder.path)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc.wait() == 0

    served.disk.once("warm", child)


def start_warm(app: FastAPI) -> None:
    """Start the warm-up once per app (a daemon thread that starts and waits for the child)."""
    with _LOCKS_GUARD:
        if getattr(app.state, "warming", False):
            return
        app.state.warming = True
    threading.Thread(target=warm, args=(app,), name="townhall-warm", daemon=True).start()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the warm-up thread when the app starts (a daemon: it never holds the app open)."""
    if getattr(app.state, "atlas", None) is not None:
        start_warm(app)
    yield


pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api = APIRouter(tags=["analyses"], responses=ERROR_RESPONSES)


# -- helpers for maps of results ------------------------------------------------------------------
def result_map(request: Request, level: str, values: pd.DataFrame, *, title: str, polarity: int = -1,
               unit: str = "", source: str = "", region: str | None = None, text: list[str] | None = None,
               classes: maps.Classes | None = None, label_col: str | None = None) -> tuple[str, str, pd.DataFrame]:
    """A map of a result table (``code``, ``value`` and optionally ``rank``/``label``) at a level.

    Returns the SVG, its legend (HTML) and the frame drawn. Small areas are drawn as dots.
    """
    atlas = atlas_of(request)
    v = values.copy()
    if classes is None:
        classes = maps.classify(v["value"], polarity=polarity)
    src = (source + ". " if source else "") + "Boundaries: ONS, OS data © Crown copyright."
    if level == SMALL_AREA_2021:
        pts = cached(request, f"maps:points:{level}", lambda: _points(request, level))
        f = pts.merge(v, on="code", how="inner")
        if region:
            reg = cached(request, f"maps:dotregion:{level}", lambda: _small_area_regions(request, level))
            f = f[f["code"].map(reg) == region]
        if label_col:
            f["label"] = f[label_col]
        f["text"] = text if text is not None and len(text) == len(f) else (
            f["label"] if label_col else [charts.fmt(x) for x in f["value"]])
        base = maps.shapes(atlas, REGION, "geo", region or None)
        svg = maps.dots_svg(f, classes, title=title, level=level, source=src, per_dot=bool(region), outline=base)
        return svg, maps.legend_html(classes, unit), f
    shp = cached(request, f"maps:shapes:{level}:geo", lambda: maps.shapes(atlas, level, "geo"))
    shp = shp[shp["country"].isin(set(v["code"].str[0]))]
    if region:
        shp = shp[shp["region"] == region]
    names = cached(request, f"maps:names:{level}", lambda: atlas.areas(level)[["code", "name"]])
    keep = [c for c in v.columns if c != "name"]
    f = shp.merge(names, on="code", how="left").merge(v[keep], on="code", how="left")
    f["name"] = f["name"].fillna(f["code"])
    if label_col:
        f["label"] = f[label_col].fillna("no data")
    if "of" not in f and "rank" in f:
        f["of"] = int(f["rank"].notna().sum())
    outline = cached(request, "maps:shapes:rgn:geo", lambda: maps.shapes(atlas, REGION, "geo"))
    outline = outline[outline["country"].isin(set(f["country"]))] if level != REGION else None
    if outline is not None and region:
        outline = outline[outline["code"] == region]
    vt = None
    if text is not None:
        m = dict(zip(v["code"], text, strict=True))
        vt = [m.get(c, "no data") for c in f["code"]]
    svg = maps.choropleth_svg(f, classes, title=title, level=level, unit=unit, source=src, outline=outline,
                              value_text=vt)
    return svg, maps.legend_html(classes, unit), f


def _points(request: Request, level: str) -> pd.DataFrame:
    a = atlas_of(request).areas(level)[["code", "name", "lat", "lon"]].dropna(subset=["lat", "lon"])
    a["x"], a["y"] = maps.project(a["lat"], a["lon"])
    return a


def _small_area_regions(request: Request, level: str) -> pd.Series:
    from townhall.web.places import ZOOM_WALES

    atlas = atlas_of(request)
    links = atlas.links(level, REGION)
    reg = links.sort_values("weight").drop_duplicates("child", keep="last").set_index("child")["parent"]
    areas = atlas.areas(level)
    return pd.concat([reg, pd.Series(ZOOM_WALES[0], index=areas.loc[areas["country"] == "W", "code"].to_numpy())])


def _regions(request: Request) -> list[tuple[str, str]]:
    return zoom_regions(request)


def geojson_response(frame: pd.DataFrame, name: str) -> Response:
    """A map's frame as a GeoJSON download."""
    cols = [c for c in frame.columns if c not in ("country", "x", "y", "lat", "lon", "text")]
    return Response(json.dumps(maps.geojson(frame[cols])), media_type="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.geojson"'})


# -- front page ----------------------------------------------------------------------------------------
#: How long the front page waits for findings still being worked out before it shows what is
#: ready (marked ``no-store``, so the server keeps no half-ready copy; a reload shows the rest).
HOME_WAIT = 3.0


@page_and_api(pages, api, "/", "home.html", summary="Front page: headline findings")
def home_view(request: Request) -> View:
    """The headline answers: the share of towns behind their city, the most left-behind councils
    and the councils with the widest inequality between their small areas; levels in words."""
    app = request.app
    start_warm(app)  # no-op once started (the app's start-up does it; a bare test client does not)
    deadline = time.monotonic() + HOME_WAIT
    f = findings(app, compute=False)
    while any(v is None for v in f.values()) and time.monotonic() < deadline and _warming(app):
        time.sleep(0.25)
        f = findings(app, compute=False)
    lv = cached(request, "levels", atlas_of(request).levels)
    levels = [{"level": r["level"], "name": label(r["level"], plural=True), "areas": int(r["areas"]),
               "description": LEVELS.get(r["level"], r["level"])} for r in records(lv)]
    pending = any(v is None for v in f.values()) and _warming(app)
    return View({"findings": f, "levels": levels}, None, "home",
                headers={"Cache-Control": "no-store"} if pending else {})


def _warming(app: FastAPI) -> bool:
    return any(t.name == "townhall-warm" and t.is_alive() for t in threading.enumerate())


# -- towns ---------------------------------------------------------------------------------------------
Rule = Literal["nearest", "ttwa"]


@page_and_api(pages, api, "/towns", "towns_summary.html", summary="Towns and their cities: the headline share")
def towns_view(request: Request, rule: Rule = "nearest", region: str = "") -> View:
    """The share of English towns doing worse than their neighbouring city under one pairing rule,
    with its 95% bootstrap interval, breakdowns, the same share in 2019 and 2025, and every test
    of 'falling behind' under both rules. Rows: one per town."""
    from townhall.places.summary import BREAKDOWNS, TEST_LABELS

    sens = towns_sensitivity(request.app)
    h = sens.headlines[rule]
    towns = h.towns.copy()
    names = atlas_of(request).areas(TOWN).set_index("code")["name"]
    towns["city_name"] = towns["city"].map(names)
    towns["verdict"] = np.where(towns["worse"], "worse than its city", "not worse")
    towns.loc[towns["composite_gap"].isna(), "verdict"] = "no comparison"
    d = h.as_dict()
    d["sensitivity"] = records(sens.table.assign(test_label=sens.table["test"].map(TEST_LABELS)))
    d["breakdown_names"] = BREAKDOWNS
    table = towns.rename(columns={"town": "code"})
    cls = maps.categorical(["worse than its city", "not worse", "city", "no comparison"],
                           {"worse than its city": "#d55e00", "not worse": "#0072b2", "city": "#1b1f24",
                            "no comparison": "#d9dde2"})
    mv = table.assign(value=table["composite_gap"])
    text = [f"{v}; city {c}; IMD gap {charts.fmt(g)}; worse on {int(n)} of 7 domains"
            if pd.notna(g) else "no comparison" for v, c, g, n in
            zip(mv["verdict"], mv["city_name"], mv["composite_gap"], mv["domains_worse"], strict=True)]
    cities = sorted(set(table["city"].dropna()) - set(table["code"]))
    if cities:  # the cities themselves, so each town can be seen beside its city
        n_towns = table.groupby("city")["code"].count()
        mv = pd.concat([mv, pd.DataFrame({"code": cities, "verdict": "city", "value": np.nan})], ignore_index=True)
        text += [f"city paired with {int(n_towns.get(c, 0))} towns" for c in cities]
    svg, legend, _ = drawn(request, f"measures:towns-map:{rule}:{region}", lambda: result_map(
        request, TOWN, mv, title=f"English towns against their city ({rule} rule)",
        source="ONS IoD 2025; townhall towns analysis", region=region or None, text=text, classes=cls,
        label_col="verdict"))
    bars = {}
    for by, name in BREAKDOWNS.items():
        rows = [r for r in d["breakdown"] if r["by"] == by]
        if rows:
            bars[by] = charts.bars_svg([{"label": r["group"], "value": r["share"], "lower": r["lower"],
                                         "upper": r["upper"], "n": r["towns"]} for r in rows],
                                       title=f"Share of towns worse than their city, by {name.lower()}",
                                       percent=True, source="townhall towns analysis (ONS IoD 2025)")
    worst = table.dropna(subset=["composite_gap"]).nsmallest(20, "composite_gap")
    ctx = {"map": svg, "legend": legend, "bars": bars, "rule": rule, "region": region, "worst": records(worst),
           "regions": _regions(request), "test_labels": TEST_LABELS,
           "geojson_url": "/api/towns.geojson" + qs(rule=rule)}
    return View(d, table, f"towns-{rule}", ctx, page_rows=0)


@api.get("/api/towns.geojson", summary="Towns and their verdicts as GeoJSON", responses=GEOJSON_RESPONSES)
def towns_geojson(request: Request, rule: Rule = "nearest") -> Response:
    h = towns_sensitivity(request.app).headlines[rule]
    t = h.towns.rename(columns={"town": "code"})[["code", "city", "composite_gap", "domains_worse", "worse"]]
    shp = maps.shapes(atlas_of(request), TOWN, "geo")
    return geojson_response(shp.merge(t, on="code"), f"towns-{rule}")


# -- left behind ---------------------------------------------------------------------------------------
@page_and_api(pages, api, "/left-behind", "left_behind.html", summary="The open left-behind index")
def left_behind_view(request: Request, level: str = SMALL_AREA_2021, region: str = "") -> View:
    """The open left-behind index at a level (higher = more left behind), with rank intervals from the
    spec's Monte Carlo, its weights, and its validation against OCSI's left-behind flags."""
    check_level(level, INDEX_LEVELS)
    run = left_behind(request.app, level)
    val = validation(request.app)
    table = run.table.copy()
    table["of"] = len(table)
    mv = table.assign(value=table["score"])
    text = [f"score {charts.fmt(s)}, rank {int(r):,}" + (f" (90% interval {int(lo)}-{int(hi)})" if pd.notna(lo) else "")
            for s, r, lo, hi in zip(mv["score"], mv["rank"], mv.get("lower", mv["rank"]), mv.get("upper", mv["rank"]),
                                    strict=True)]
    svg, legend, _ = drawn(request, f"measures:olbi-map:{level}:{region}", lambda: result_map(
        request, level, mv.drop(columns=["rank"]).assign(rank=table["rank"]),
        title=f"Open left-behind index, {label(level, plural=True)}", polarity=-1,
        source="townhall open left-behind index", region=region or None, text=text))
    vrows = records(val.table)
    d = {"level": level, "summary": run.summary(), "weights": records(_weights(run)), "validation": vrows,
         "coverage": val.coverage}
    ctx = {"map": svg, "legend": legend, "regions": _regions(request), "region": region,
           "levels": INDEX_LEVELS, "top": records(table.head(15)),
           "geojson_url": "/api/left-behind.geojson" + qs(level=level)}
    return View(d, table.drop(columns=["of"]), f"left-behind-{level}", ctx, page_rows=0)


def _weights(run: Any) -> pd.DataFrame:
    from townhall.measures.leftbehind import weights_table

    return weights_table(run)


@api.get("/api/left-behind.geojson", summary="The open left-behind index as GeoJSON", responses=GEOJSON_RESPONSES)
def left_behind_geojson(request: Request, level: str = COUNCIL) -> Response:
    check_level(level, INDEX_LEVELS)
    run = left_behind(request.app, level)
    t = run.table[[c for c in ("code", "name", "score", "rank", "lower", "upper") if c in run.table]]
    if level == SMALL_AREA_2021:  # small areas: points at their population-weighted centres
        return points_geojson(t.merge(run.places[["code", "lat", "lon"]], on="code"), f"left-behind-{level}")
    shp = maps.shapes(atlas_of(request), level, "geo")
    return geojson_response(shp.merge(t, on="code"), f"left-behind-{level}")


def points_geojson(df: pd.DataFrame, name: str) -> Response:
    """Rows with ``lat``/``lon`` as a GeoJSON FeatureCollection of points (WGS84), other columns as properties."""
    props = [c for c in df.columns if c not in ("lat", "lon")]
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
              "properties": {k: r[k] for k in props}} for r in records(df.dropna(subset=["lat", "lon"]))]
    return Response(json.dumps({"type": "FeatureCollection", "features": feats}), media_type="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.geojson"'})


# -- inequality -----------------------------------------------------------------------------------------
By = Literal["class", "region"]


@page_and_api(pages, api, "/inequality", "inequality.html", summary="Inequality between and within places")
def inequality_view(request: Request, by: By = "class", indicator: str = DEFAULT_INDICATOR) -> View:
    """Theil T and L of a small-area rate within and between place classes or regions (population
    weighted), the spatial Gini, and the Theil T within each council (mapped)."""
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    t = inequality(request.app, by, indicator)
    g = gini(request.app, indicator)
    w = within_councils(request.app, indicator)
    groups = t.by_group.copy()
    bars = charts.bars_svg([{"label": r["group"], "value": r["T"], "n": r["n"]} for r in records(groups)],
                           title=f"Theil T within each {'place class' if by == 'class' else 'region'}: {ind['name']}",
                           unit="Theil T", source=f"{publisher_of(request, ind['source'])}; townhall inequality")
    means = charts.bars_svg([{"label": r["group"], "value": r["mean"]} for r in records(groups)],
                            title=f"Population-weighted mean by {'place class' if by == 'class' else 'region'}: "
                                  f"{ind['name']}", percent=True, source=publisher_of(request, ind["source"]))
    wc = w.by_group.rename(columns={"group": "code"})
    wc["value"] = wc["T"]
    wc["rank"] = wc["T"].rank(ascending=False, method="min")
    names = atlas.areas(COUNCIL).set_index("code")["name"]
    wc["name"] = wc["code"].map(names)
    svg, legend, _ = result_map(request, COUNCIL, wc[["code", "value", "rank"]],
                                title=f"Inequality between small areas within each council (Theil T): {ind['name']}",
                                polarity=-1, unit="Theil T", source=f"{publisher_of(request, ind['source'])}; townhall inequality")
    d = {**t.as_dict(), "totals": records(t.to_frame()), "spatial_gini": g.as_dict(),
         "within_councils": records(wc.sort_values("T", ascending=False)[["code", "name", "T", "mean", "n"]])}
    ctx = {"bars": bars, "means": means, "map": svg, "legend": legend, "ind": ind, "by": by,
           "within_top": records(wc.sort_values("T", ascending=False).head(10)),
           "geojson_url": "/api/inequality.geojson" + qs(indicator=indicator)}
    return View(d, groups, f"inequality-{by}-{indicator}", ctx)


@api.get("/api/inequality.geojson", summary="Within-council inequality as GeoJSON", responses=GEOJSON_RESPONSES)
def inequality_geojson(request: Request, indicator: str = DEFAULT_INDICATOR) -> Response:
    w = within_councils(request.app, indicator).by_group.rename(columns={"group": "code"})
    shp = maps.shapes(atlas_of(request), COUNCIL, "geo")
    return geojson_response(shp.merge(w[["code", "T", "L", "mean", "n"]], on="code"), f"inequality-{indicator}")


# -- hot spots ------------------------------------------------------------------------------------------
HOT_ORDER = ["hot spot", "cold spot", "high-low outlier", "low-high outlier", "not significant"]


@page_and_api(pages, api, "/hotspots", "hotspots.html", summary="Hot and cold spots (LISA)")
def hotspots_view(request: Request, indicator: str = DEFAULT_INDICATOR, level: str = SMALL_AREA_2021,
                  region: str = "") -> View:
    """Global Moran's I and local hot and cold spots of an indicator (8 nearest neighbours, 999
    conditional permutations, false discovery rate 5%: the CLI's defaults). Rows: every area."""
    atlas = atlas_of(request)
    ind = atlas.indicator(indicator)
    check_level(level, (SMALL_AREA_2021, COUNCIL, SEAT, TOWN))
    h = hotspots(request.app, indicator, level)
    pts = h.table.copy()
    cls = maps.categorical(HOT_ORDER, maps.HOTSPOT_COLOURS)
    mv = pts.assign(label=pts["label"])[["code", "value", "label", "p_sim", "local_i"]]
    text = [f"{lb}; value {charts.fmt(v)}" for lb, v in zip(mv["label"], mv["value"], strict=True)]
    svg, legend, _ = drawn(request, f"measures:lisa-map:{indicator}:{level}:{region}", lambda: result_map(
        request, level, mv, title=f"Hot and cold spots: {ind['name']}",
        source=f"{publisher_of(request, ind['source'])}; townhall LISA", region=region or None, text=text,
        classes=cls, label_col="label"))
    s = h.summary()
    counts = s["counts"]
    bars = charts.bars_svg([{"label": k, "value": counts.get(k, 0), "colour": maps.HOTSPOT_COLOURS[k]}
                            for k in HOT_ORDER], title=f"Areas by LISA label: {ind['name']}", unit="areas",
                           source="townhall LISA")
    hot = pts[pts["label"] == "hot spot"].sort_values("local_i", ascending=False).head(10)
    d = {"indicator": indicator, "level": level, "summary": {k: v for k, v in s.items()}}
    ctx = {"map": svg, "legend": legend, "bars": bars, "ind": ind, "hot": records(hot), "region": region,
           "regions": _regions(request), "level_name": label(level, plural=True),
           "geojson_url": "/api/hotspots.geojson" + qs(indicator=indicator, level=level)}
    return View(d, pts.drop(columns=[c for c in ("lat", "lon") if c in pts]), f"hotspots-{indicator}-{level}", ctx,
                page_rows=0)


@api.get("/api/hotspots.geojson", summary="Hot and cold spots as GeoJSON (points for small areas)", responses=GEOJSON_RESPONSES)
def hotspots_geojson(request: Request, indicator: str = DEFAULT_INDICATOR, level: str = SMALL_AREA_2021) -> Response:
    h = hotspots(request.app, indicator, level)
    pts = h.table
    if level == SMALL_AREA_2021:
        return points_geojson(pts[["code", "name", "lat", "lon", "value", "label", "p_sim"]], f"hotspots-{indicator}")
    shp = maps.shapes(atlas_of(request), level, "geo")
    return geojson_response(shp.merge(pts[["code", "name", "value", "label", "p_sim"]], on="code"),
                            f"hotspots-{indicator}-{level}")


# -- similar places ------------------------------------------------------------------------------------
@page_and_api(pages, api, "/similar", "similar.html", summary="Places most like a place, and why")
def similar_view(request: Request, place: str = "", level: str = "") -> View:
    """The ten places of the same level most like a place on standardised indicators, each with the
    three indicators on which the two are closest (chosen among those where the place stands out)."""
    from townhall.places.similar import similar

    if not place.strip():
        return View({"place": None, "rows": []}, None, "similar", {"form": True, "place_q": place, "level": level})
    s = similar(atlas_of(request), place, level or None)
    d = s.as_dict()
    t = s.table.copy()
    lv = s.level
    svg = legend = ""
    shp = cached(request, f"maps:shapes:{lv}:geo", lambda: maps.shapes(atlas_of(request), lv, "geo"))
    if not shp.empty:
        lab = {s.place.code: "this place", **{c: "similar" for c in t["code"]}}
        mv = pd.DataFrame({"code": list(lab), "label": list(lab.values())})
        mv["value"] = 1.0
        rk = dict(zip(t["code"], t["rank"], strict=True))
        text = ["this place" if c == s.place.code else f"similar, number {rk[c]}" for c in mv["code"]]
        cls = maps.categorical(["this place", "similar"], {"this place": "#d55e00", "similar": "#0072b2"})
        svg, legend, _ = result_map(request, lv, mv, title=f"{s.place.name} and the places most like it",
                                    source="townhall similar places", text=text, classes=cls, label_col="label")
    ctx = {"form": True, "place_q": place, "level": level, "map": svg, "legend": legend, "s": s,
           "level_name": label(lv, plural=True)}
    return View(d, t, f"similar-{s.place.code}", ctx)


# -- composite index from an uploaded spec ---------------------------------------------------------------
def _run_spec(request: Request, text: str, filename: str, level: str, draws: int) -> Any:
    from townhall.measures.spec import build_index, parse_spec

    spec = parse_spec(text, file=filename)
    return build_index(spec, atlas_of(request), level=level or None, draws=draws)


async def read_upload(request: Request) -> tuple[str, str, dict[str, str]]:
    """The uploaded spec (text, file name) and the other form fields, from a multipart form or a raw body.

    Parsed with the standard library's MIME parser (no extra dependency); the body is
    refused past :data:`MAX_SPEC_BYTES` plus room for the form's other fields.
    """
    import email.parser
    import email.policy

    ctype = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    limit = MAX_SPEC_BYTES + 8192
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputError(f"The upload is larger than {MAX_SPEC_BYTES // 1024} kB: not an index spec.",
                         hint="A spec is a short TOML file: see examples/ and townhall/parameters/indices/.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InputError(f"The upload is larger than {MAX_SPEC_BYTES // 1024} kB: not an index spec.",
                             hint="A spec is a short TOML file: see examples/ and townhall/parameters/indices/.")
    fields: dict[str, str] = dict(request.query_params)
    raw, name = b"", "spec.toml"
    if ctype.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            field = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if field == "spec":
                raw, name = data, part.get_filename() or name
            elif field:
                fields[str(field)] = data.decode("utf-8", "replace").strip()
    else:  # a raw TOML body (API clients: curl --data-binary @spec.toml)
        raw = body
    if len(raw) > MAX_SPEC_BYTES:
        raise InputError(f"{name} is larger than {MAX_SPEC_BYTES // 1024} kB: not an index spec.", file=name,
                         hint="A spec is a short TOML file: see examples/ and townhall/parameters/indices/.")
    if not raw.strip():
        raise InputError(f"{name} is empty (or no file was chosen).", file=name, hint="Choose a TOML spec file.")
    try:
        return raw.decode("utf-8-sig"), name, fields
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text.", file=name, hint="Save the spec as UTF-8 TOML.") from None


def _options(fields: dict[str, str]) -> tuple[str, int]:
    level = fields.get("level", "") or ""
    if level:
        check_level(level, INDEX_LEVELS)
    try:
        draws = int(fields.get("draws") or 0)
    except ValueError:
        raise InputError("Draws must be a whole number.", value=fields.get("draws")) from None
    if not 0 <= draws <= 1000:
        raise InputError("Draws must be between 0 and 1,000.", value=draws)
    return level, draws


@pages.get("/index")
def index_form(request: Request) -> HTMLResponse:
    return render(request, "index_upload.html", run=None, error=None, levels=INDEX_LEVELS, level="", draws=0)


@pages.post("/index")
async def index_page(request: Request) -> HTMLResponse:
    """A composite index from an uploaded spec; any error is shown on the page (status 400)."""
    level, draws = "", 0
    try:
        text, name, fields = await read_upload(request)
        level, draws = _options(fields)
        run = _run_spec(request, text, name, level, draws)
    except TownhallError as exc:
        return render(request, "index_upload.html", status_code=400, run=None, error=exc, levels=INDEX_LEVELS,
                      level=level, draws=draws)
    table = run.table
    mv = table.assign(value=table["score"])
    svg, legend, _ = result_map(request, run.level, mv[["code", "value", "rank"]],
                                title=f"{run.spec.index.name}, {label(run.level, plural=True)}", polarity=-1,
                                source="your spec; townhall composite index")
    return render(request, "index_upload.html", run=run, error=None, levels=INDEX_LEVELS, level=level, draws=draws,
                  rows=records(table.head(50)), count=len(table), map=svg, legend=legend,
                  level_name=label(run.level, plural=True))


@api.post("/api/index", summary="A composite index from an uploaded spec")
async def api_index(request: Request) -> Any:
    """Upload a TOML spec (at most 64 kB) as the ``spec`` field of a multipart form, or as the raw
    body; ``level``, ``draws`` and ``format`` (json, csv, xlsx) as form fields or query parameters.
    Returns the index (JSON: summary, sensitivity, places) or its table as CSV or XLSX."""
    text, name, fields = await read_upload(request)
    level, draws = _options(fields)
    fmt = fields.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise InputError(f"Unknown format {fmt!r}.", hint="Use json, csv or xlsx.")
    run = _run_spec(request, text, name, level, draws)
    if fmt == "csv":
        return csv_response(run.table, f"index-{run.spec.index.id}")
    if fmt == "xlsx":
        return xlsx_response(run.table, f"index-{run.spec.index.id}")
    return run.as_dict()


#: The router the app factory includes (with the warm-up lifespan).
router = APIRouter(lifespan=lifespan)
router.include_router(api)
router.include_router(pages)
