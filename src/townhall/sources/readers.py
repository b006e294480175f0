"""Readers: publisher files -> tidy pandas frames, with the traps handled once.

Every reader takes a declared source path (see :mod:`townhall.sources.catalogue`),
finds the verified local copy, and turns parse failures into an
:class:`~townhall.errors.InputError` that names the file (and column where known)
instead of a pandas traceback.
"""

from __future__ import annotations

import contextlib
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
    except UnicodeDecodeError:
        sep = kw.get("sep") or kw.get("delimiter") or ","
        raise utf8_error(p, sep=sep if isinstance(sep, str) and len(sep) == 1 else ",", label=path) from None
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
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
        with _ctrl_c_after():
            result = pyreadr.read_r(str(p))
    except Exception as exc:  # pyreadr raises its own LibrdataError and others
        raise InputError(f"Cannot read R data file {path}: {exc}", file=str(p)) from None
    if len(result) != 1:
        raise InputError(f"Expected one data frame in {path}, found {len(result)}", file=str(p))
    df = next(iter(result.values()))
    _require(df, required, path)
    return df


@contextlib.contextmanager
def _ctrl_c_after():
    """Hold Ctrl+C until the block ends, then raise it.

    pyreadr's parser calls Python back for every value; a KeyboardInterrupt raised in a
    callback is printed as a traceback and swallowed by the C code. Held here, it stops the
    command cleanly a second or two later.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if pressed:
        raise KeyboardInterrupt


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


def utf8_error(file: str | Path, *, sep: str | None = ",", label: str | None = None,
               skip_rows: int = 0) -> InputError:
    """The error for a text file that is not UTF-8, naming the row and column of the first bad bytes.

    Call it where a decode failed (``except UnicodeDecodeError``): the file is scanned line
    by line (streamed, so any size) for the first bytes that are not UTF-8.

    Parameters
    ----------
    file : str or Path
        The file that failed to decode.
    sep : str or None
        The field separator of a delimited file: the column is then named by its header
        (the first line) and number; ``None`` for other text (TOML, JSON), where the
        column is the character position in the line.
    label : str, optional
        How to name the file in the message (a declared source path); default ``file``.
    skip_rows : int
        Lines before the header of a delimited file (a title block).

    Returns
    -------
    InputError
        With ``row`` (1-based line number; for a delimited file, the data row after the
        header is ``row - 1 - skip_rows`` and the message says both), ``column`` and the bad
        bytes in hex, and a hint on how to re-save the file as UTF-8. If no bad bytes are
        found (the file changed meanwhile), a plain error naming the file.
    """
    p = Path(file)
    name = label or str(p)
    hint = ("Re-save the file as UTF-8 (in Excel: 'CSV UTF-8'; in LibreOffice: character set Unicode (UTF-8)), "
            "or fix the characters at that place." if sep is not None else
            "Re-save the file as UTF-8 in your editor, or fix the characters at that place.")
    header: list[str] = []
    try:
        with open(p, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw[3:] if lineno == 1 and raw.startswith(b"\xef\xbb\xbf") else raw  # a BOM is fine
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad = line[exc.start : exc.end]
                    good = line[: exc.start].decode("utf-8", errors="replace")
                    if sep is not None:
                        col_no = good.count(sep) + 1
                        col = header[col_no - 1] if lineno > 1 + skip_rows and col_no <= len(header) else None
                        column = f"{col_no} ({col})" if col else str(col_no)
                        where = "the header" if lineno == 1 + skip_rows else f"data row {lineno - 1 - skip_rows}"
                        msg = f"{name} is not UTF-8 text: bytes {bad.hex(' ')} at line {lineno} ({where}), column {column}"
                    else:
                        column = str(len(good) + 1)
                        msg = f"{name} is not UTF-8 text: bytes {bad.hex(' ')} at line {lineno}, character {column}"
                    err = InputError(msg, hint=hint)  # the message already says where
                    err.file, err.row, err.column, err.value = str(p), lineno, column, bad
                    return err
                if sep is not None and lineno == 1 + skip_rows:
                    header = [h.strip().strip('"') for h in text.rstrip("\r\n").split(sep)]
    except OSError as exc:
        return InputError(f"Cannot read {name} ({exc.strerror or exc}).", file=str(p))
    return InputError(f"{name} is not UTF-8 text.", file=str(p), hint=hint)


def read_text(file: str | Path, *, label: str | None = None) -> str:
    """A text file's contents as UTF-8 (a BOM is dropped), or an :class:`InputError` naming the
    line and character of the first bytes that are not UTF-8 (for TOML specs, schemes, claims)."""
    p = Path(file)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {label or p} ({exc.strerror or exc}).", file=str(p)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise utf8_error(p, sep=None, label=label) from None


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
