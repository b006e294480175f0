"""Build step: boundaries for maps, projected and simplified once, stored as SVG paths.

The web draws every map on the server as SVG, so the shapes are prepared here,
at build time, and never at request time: each boundary is projected to the
British National Grid (EPSG:27700), simplified as a *coverage* (shared edges stay
shared, so no slivers open between neighbours; GEOS's Visvalingam-Whyatt
coverage simplification), quantised to :data:`GRID` metres and written as a
compact SVG path (absolute first point, then relative integer moves).

Table ``boundary``: ``level, kind, code, country, region, path, x, y, minx, miny,
maxx, maxy``. ``kind`` is ``geo`` (real boundaries) or ``hex`` (the House of
Commons Library's hex cartograms). SVG coordinates are in units of :data:`GRID`
metres, ``x = easting / GRID`` and ``y = (NORTH - northing) / GRID`` (north up);
hex cartograms keep their own grid, scaled by :data:`HEX_SCALE`. ``x, y`` is a
point inside the shape (for labels and dot maps), ``region`` the English region
(E12...) or Wales (W92000004) the shape's inner point falls in, so a map can
zoom to one region.

Sources and tolerances (see :data:`LAYERS`):

=========  ======================================================  =========
level      source                                                  tolerance
=========  ======================================================  =========
lad        ONS uk-topojson ``ltla`` (2016 BSC base, 2023 set)       500 m
cty        ONS uk-topojson ``cty``                                  500 m
cauth      ONS uk-topojson ``cauth``                                500 m
rgn        ONS uk-topojson ``rgn`` (+ Wales from ``ctry``)          800 m
pcon24     ONS July 2024 BUC constituencies                         300 m
pcon10     ONS Dec 2022 BUC constituencies (2010-2024 set)          300 m
town       ONS towns and cities, GB (2011 built-up areas)           150 m
=========  ======================================================  =========

Only England and Wales are kept, and only codes the atlas holds at the level
(the area table is written before the wings' steps run). OS data © Crown
copyright and database right; ONS and House of Commons Library data under the
OGL v3 and the Open Parliament Licence.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from townhall.atlas import codes
from townhall.levels import CAUTH, COUNCIL, COUNTRY, COUNTY, REGION, SEAT, SEAT_2010, TOWN
from townhall.sources.catalogue import source_file

#: Metres per SVG unit (the quantisation step of every geographic path).
GRID = 100.0
#: Northing of the SVG origin (y grows southwards from here).
NORTH = 700_000.0
#: SVG units per hex-cartogram unit.
HEX_SCALE = 20.0
#: Wales, as the 'region' of Welsh shapes (the atlas has English regions only).
WALES = "W92000004"

TOPO = "geography/onsvisual_uk_topojson/topo.json"
SEATS24 = "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_July_2024_Boundaries_UK_BUC.geojson"
SEATS10 = "geography/open_innovations_constituencies/Westminster_Parliamentary_Constituencies_Dec_2022_UK_BUC.geojson"
TOWNS = "geography/onsvisual_topojson_boundaries/geogtownscitiesGB.json"
HEX_LAD = "geography/hcl_hex_cartograms/LocalAuthorities-lowertier-2023.gpkg"
HEX_SEATS = "geography/hcl_hex_cartograms/Constituencies.gpkg"


@dataclass(frozen=True)
class Layer:
    """One level's boundaries: source file, layer, code column and simplification tolerance (m)."""

    level: str
    path: str
    layer: str | None
    code: str
    tolerance: float
    kind: str = "geo"


#: Every boundary layer the build writes.
LAYERS: tuple[Layer, ...] = (
    Layer(REGION, TOPO, "rgn", "areacd", 800),
    Layer(COUNCIL, TOPO, "ltla", "areacd", 500),
    Layer(COUNTY, TOPO, "cty", "areacd", 500),
    Layer(CAUTH, TOPO, "cauth", "areacd", 500),
    Layer(SEAT, SEATS24, None, "PCON24CD", 300),
    Layer(SEAT_2010, SEATS10, None, "PCON22CD", 300),
    Layer(TOWN, TOWNS, None, "AREACD", 150),
    Layer(COUNCIL, HEX_LAD, "LocalAuthorities-lowertier 2023 version — 7 LTLA 2023", "Lacode", 0, "hex"),
    Layer(SEAT_2010, HEX_SEATS, "4 Constituencies", "pcon-code", 0, "hex"),
)

COLUMNS = ["level", "kind", "code", "country", "region", "path", "x", "y", "minx", "miny", "maxx", "maxy"]


def _read(layer: Layer, cache_dir: Path | None):  # -> GeoDataFrame
    import geopandas as gpd

    from townhall.errors import InputError

    p = source_file(layer.path, cache_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # several layers: we name the one we want
            gdf = gpd.read_file(p, layer=layer.layer) if layer.layer else gpd.read_file(p)
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise InputError(f"Cannot read boundaries from {layer.path} (layer {layer.layer}): {exc}",
                         file=str(p)) from None
    if layer.code not in gdf.columns:
        raise InputError(f"{layer.path} has no column {layer.code!r}.", file=str(p), column=layer.code)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:27700" if layer.kind == "hex" else "EPSG:4326")
    gdf = gdf.rename(columns={layer.code: "code"})
    if "start" in gdf.columns:  # uk-topojson: several versions of a code; keep the newest
        gdf = gdf.sort_values("start", na_position="first").drop_duplicates("code", keep="last")
    return gdf[["code", "geometry"]]


def polygonal(geom):  # shapely geometry -> Polygon or MultiPolygon
    """The polygonal part of a geometry (make_valid can return polygons mixed with lines)."""
    from shapely.geometry import MultiPolygon

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for g in getattr(geom, "geoms", []) for p in getattr(polygonal(g), "geoms", [polygonal(g)])
             if p.geom_type == "Polygon" and not p.is_empty]
    return MultiPolygon(parts)


def _simplify(geoms, tolerance: float):  # GeoSeries -> GeoSeries
    import shapely

    geoms = geoms.make_valid().apply(polygonal)
    if tolerance <= 0:
        return geoms
    try:
        out = shapely.coverage_simplify(geoms.to_numpy(), tolerance)
        return geoms.__class__(out, index=geoms.index, crs=geoms.crs)
    except Exception:  # not a clean coverage, or an old GEOS: shape by shape
        return geoms.simplify(tolerance, preserve_topology=True)


def svg_path(geom, scale: float, north: float | None, min_area: float = 0.0) -> str:
    """A (multi)polygon as a compact SVG path in integer units.

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        Projected coordinates.
    scale : float
        Coordinate units per SVG unit.
    north : float or None
        Flip y about this value (geographic); None keeps y as is but flips the
        sign (hex grids grow northwards too).
    min_area : float
        Drop rings smaller than this (in squared coordinate units), keeping the largest part.
    """
    polys = list(getattr(geom, "geoms", [geom]))
    polys = [p for p in polys if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        return ""
    biggest = max(p.area for p in polys)
    out: list[str] = []
    for p in polys:
        if p.area < min_area and p.area < biggest:
            continue
        for ring in (p.exterior, *p.interiors):
            xy = np.asarray(ring.coords)[:-1]
            if len(xy) < 3:
                continue
            x = np.rint(xy[:, 0] / scale).astype(np.int64)
            y = np.rint(((north - xy[:, 1]) if north is not None else -xy[:, 1]) / scale).astype(np.int64)
            keep = np.ones(len(x), dtype=bool)
            keep[1:] = (np.diff(x) != 0) | (np.diff(y) != 0)  # repeated points after rounding
            x, y = x[keep], y[keep]
            if len(x) < 3:
                continue
            dx, dy = np.diff(x), np.diff(y)
            moves = " ".join(f"{a} {b}" for a, b in zip(dx.tolist(), dy.tolist(), strict=True))
            out.append(f"M{x[0]} {y[0]}l{moves}z")
    return "".join(out)


def _frame(layer: Layer, gdf, regions) -> pd.DataFrame:  # gdf projected
    inner = gdf.geometry.representative_point()
    b = gdf.geometry.bounds
    if layer.kind == "hex":
        scale, north = 1 / HEX_SCALE, None
        x, y = inner.x / scale, -inner.y / scale
        minx, maxx = b["minx"] / scale, b["maxx"] / scale
        miny, maxy = -b["maxy"] / scale, -b["miny"] / scale
        min_area = 0.0
    else:
        scale, north = GRID, NORTH
        x, y = inner.x / GRID, (NORTH - inner.y) / GRID
        minx, maxx = b["minx"] / GRID, b["maxx"] / GRID
        miny, maxy = (NORTH - b["maxy"]) / GRID, (NORTH - b["miny"]) / GRID
        # Islets under a grid cell's area vanish at this scale anyway.
        min_area = (layer.tolerance * 2) ** 2
    paths = [svg_path(g, scale, north, min_area) for g in gdf.geometry]
    return pd.DataFrame({
        "level": layer.level, "kind": layer.kind, "code": gdf["code"].to_numpy(),
        "country": gdf["code"].str[0].to_numpy(), "region": gdf["code"].map(regions).to_numpy(),
        "path": paths, "x": x.to_numpy(), "y": y.to_numpy(), "minx": minx.to_numpy(), "miny": miny.to_numpy(),
        "maxx": maxx.to_numpy(), "maxy": maxy.to_numpy(),
    })


def region_of(points, region_shapes) -> np.ndarray:  # GeoSeries (27700), GeoDataFrame code+geometry
    """The region (or Wales) code each point falls in; the nearest region for points just outside."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=region_shapes.crs)
    hit = gpd.sjoin_nearest(pts, region_shapes[["code", "geometry"]], how="left")
    hit = hit[~hit.index.duplicated(keep="first")]
    return hit["code"].to_numpy()


def build_boundaries(cache_dir: Path | None, known: dict[str, set[str]],
                     step: Callable[[str], None] = lambda s: None) -> tuple[pd.DataFrame, set[str]]:
    """Every boundary layer as rows of :data:`COLUMNS`, and the source paths read.

    Parameters
    ----------
    cache_dir : Path, optional
    known : dict
        Level -> the codes the atlas holds at that level (others are dropped).
    """
    import geopandas as gpd

    used: set[str] = set()
    step("boundaries: regions")
    rg = _read(Layer(REGION, TOPO, "rgn", "areacd", 800), cache_dir)
    wales = _read(Layer(COUNTRY, TOPO, "ctry", "areacd", 800), cache_dir)
    rg = pd.concat([rg[rg["code"].str.startswith("E12")], wales[wales["code"] == WALES]], ignore_index=True)
    rg = gpd.GeoDataFrame(rg, geometry="geometry", crs="EPSG:4326").to_crs(27700)
    rg["geometry"] = rg.geometry.make_valid()
    used.add(TOPO)
    frames = []
    succ: dict[str, str] | None = None
    geo_regions: dict[str, dict[str, str]] = {}
    for layer in LAYERS:
        step(f"boundaries: {layer.level} ({layer.kind})")
        gdf = _read(layer, cache_dir)
        used.add(layer.path)
        if layer.level == COUNCIL:  # older files carry councils' older codes (Barnsley, Sheffield 2024)
            if succ is None:
                succ = codes.successors(cache_dir)
            native = set(gdf["code"])
            new = gdf["code"].map(lambda c, s=succ: codes.current(c, s))
            # An old code whose successor has its own shape is dropped; otherwise it takes the new code.
            gdf = gdf[(new == gdf["code"]) | ~new.isin(native)].assign(code=new)
            if gdf["code"].duplicated().any():  # merged councils without a shape: one from their parts
                gdf["geometry"] = gdf.geometry.make_valid().buffer(0)
                gdf = gdf.dissolve(by="code", as_index=False)
        keep = known.get(layer.level, set()) | ({WALES} if layer.level == REGION else set())
        gdf = gdf[gdf["code"].isin(keep) & gdf["code"].str[0].isin(("E", "W"))].reset_index(drop=True)
        if gdf.empty:
            continue
        gdf = gdf.to_crs(27700) if layer.kind == "geo" else gdf
        if layer.level == REGION:  # Wales is drawn with the regions, as a region-like outline
            gdf = pd.concat([gdf, rg[rg["code"] == WALES]], ignore_index=True).drop_duplicates("code")
            gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:27700")
        gdf["geometry"] = _simplify(gdf.geometry, layer.tolerance)
        if layer.kind == "geo":
            regions = dict(zip(gdf["code"], region_of(gdf.geometry.representative_point(), rg), strict=True))
            if layer.level == REGION:
                regions = {c: c for c in gdf["code"]}
            geo_regions[layer.level] = regions
        else:  # a hex takes the region of the real place
            regions = geo_regions.get(layer.level, {})
        frames.append(_frame(layer, gdf, regions))
    df = pd.concat(frames, ignore_index=True)
    return df[df["path"] != ""].reset_index(drop=True)[COLUMNS], used


def add_to_atlas(con: duckdb.DuckDBPyConnection, cache_dir: Path | None,
                 step: Callable[[str], None]) -> set[str]:
    """Write the ``boundary`` table (see the module docstring); return the sources read."""
    areas = con.execute("SELECT level, code FROM area").df()
    known = {lv: set(g["code"]) for lv, g in areas.groupby("level")}
    df, used = build_boundaries(cache_dir, known, step)
    con.execute("DROP TABLE IF EXISTS boundary")
    con.execute(
        "CREATE TABLE boundary (level VARCHAR, kind VARCHAR, code VARCHAR, country VARCHAR, region VARCHAR, "
        "path VARCHAR, x DOUBLE, y DOUBLE, minx DOUBLE, miny DOUBLE, maxx DOUBLE, maxy DOUBLE)")
    con.register("boundary_df", df)
    con.execute("INSERT INTO boundary SELECT * FROM boundary_df ORDER BY level, kind, code")
    con.unregister("boundary_df")
    return used
