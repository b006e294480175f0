"""Readers: publisher files -> tidy pandas frames, with the traps handled once.

Every reader takes a declared source path (see :mod:`townhall.sources.catalogue`),
finds the verified local copy, and turns parse failures into an
:class:`~townhall.errors.InputError` that names the file (and column where known)
instead of a pandas traceback.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from townhall.errors import InputError
from townhall.sources.catalogue import source_file


def _path(path: str, cache_dir: Path | None) -> Path:
    return source_file(path, cache_dir)


def read_csv(path: str, cache_dir: Path | None = None, *, required: Iterable[str] = (), **kw: Any) -> pd.DataFrame:
    """Read a declared CSV (gzip, BOM and thousands separators handled by keyword).

    Parameters
    ----------
    path : str
        Declared source path.
    required : iterable of str
        Columns that must be present; a missing one raises :class:`InputError`.
    **kw
        Passed to :func:`pandas.read_csv` (``thousands=","``, ``encoding="utf-8-sig"``...).
    """
    p = _path(path, cache_dir)
    kw.setdefault("encoding", "utf-8-sig")  # several publishers write a BOM
    kw.setdefault("low_memory", False)
    try:
        df = pd.read_csv(p, **kw)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError, EOFError) as exc:
        raise InputError(f"Cannot parse {path}: {exc}", file=str(p)) from None
    _require(df, required, path)
    return df


def read_excel(path: str, cache_dir: Path | None = None, *, required: Iterable[str] = (), **kw: Any) -> pd.DataFrame:
    """Read a declared spreadsheet (xlsx via openpyxl, xls via xlrd)."""
    p = _path(path, cache_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's style warnings say nothing about the data
            df = pd.read_excel(p, **kw)
    except Exception as exc:  # openpyxl/xlrd raise many unrelated types for a corrupt file
        raise InputError(f"Cannot read spreadsheet {path}: {exc}", file=str(p)) from None
    _require(df, required, path)
    return df


def read_rda(path: str, cache_dir: Path | None = None, *, required: Iterable[str] = ()) -> pd.DataFrame:
    """Read the single data frame in a declared ``.rda`` file (pyreadr: fast, C-backed)."""
    import pyreadr

    p = _path(path, cache_dir)
    try:
        result = pyreadr.read_r(str(p))
    except Exception as exc:  # pyreadr raises its own LibrdataError and others
        raise InputError(f"Cannot read R data file {path}: {exc}", file=str(p)) from None
    if len(result) != 1:
        raise InputError(f"Expected one data frame in {path}, found {len(result)}", file=str(p))
    df = next(iter(result.values()))
    _require(df, required, path)
    return df


def read_parquet(path: str, cache_dir: Path | None = None, *, required: Iterable[str] = ()) -> pd.DataFrame:
    """Read a declared Parquet file."""
    p = _path(path, cache_dir)
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # pyarrow errors for a corrupt file
        raise InputError(f"Cannot read Parquet file {path}: {exc}", file=str(p)) from None
    _require(df, required, path)
    return df


def read_points_ndjson(path: str, cache_dir: Path | None = None, code_field: str = "areacd") -> pd.DataFrame:
    """Read gzipped newline-delimited GeoJSON points into code, lon, lat."""
    p = _path(path, cache_dir)
    codes, lons, lats = [], [], []
    lineno = 0
    try:
        with gzip.open(p, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):  # noqa: B007 - read in the except below
                if not line.strip():
                    continue
                feat = json.loads(line)
                codes.append(feat["properties"][code_field])
                lon, lat = feat["geometry"]["coordinates"][:2]
                lons.append(float(lon))
                lats.append(float(lat))
    except (OSError, EOFError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"Cannot read points from {path}: {exc}", file=str(p), row=lineno) from None
    return pd.DataFrame({"code": codes, "lon": lons, "lat": lats})


def read_geo(path: str, cache_dir: Path | None = None, *, crs: str = "EPSG:4326") -> Any:
    """Read declared boundaries (GeoJSON/TopoJSON) as a GeoDataFrame, geometries made valid.

    TopoJSON files from ONSvisual carry no CRS; their coordinates are WGS84
    longitude/latitude, so ``crs`` is set when the file gives none.
    """
    import geopandas as gpd

    p = _path(path, cache_dir)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise InputError(f"Cannot read boundaries from {path}: {exc}", file=str(p)) from None
    if gdf.crs is None:
        gdf = gdf.set_crs(crs)
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf


def to_number(s: pd.Series) -> pd.Series:
    """Numbers written as text with thousands separators, spaces or footnote marks -> float."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    cleaned = s.astype("string").str.replace(r"[,\s£%]", "", regex=True).replace({"": None, "NA": None, "-": None})
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def _require(df: pd.DataFrame, required: Iterable[str], path: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{path} lacks expected column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(str, df.columns[:12]))}{'...' if len(df.columns) > 12 else ''}",
            file=path,
            column=missing[0],
        )
