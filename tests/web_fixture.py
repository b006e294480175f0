"""A tiny synthetic atlas for fast tests of the web layer.

Every value here is made up by hand (not mirror data) so tests can assert exact
figures: one region, two councils, one town, two LSOAs, their links and classes,
three indicators with observations (including percentiles and a stored roll-up)
and two source rows.
"""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

import duckdb
import httpx

from townhall.api import normalise_name

# code, level, name, country, lat, lon, population, population_year, population_source
AREAS = [
    ("E12000002", "rgn", "North West", "E", 53.8, -2.6, 7400000.0, 2021, "src/ons_pop.csv"),
    ("E08000010", "lad", "Wigan", "E", 53.54, -2.63, 330000.0, 2021, "src/ons_pop.csv"),
    ("E08000001", "lad", "Bolton", "E", 53.58, -2.43, 296000.0, 2021, "src/ons_pop.csv"),
    ("E34000999", "town", "Leigh", "E", 53.50, -2.52, 46000.0, 2011, "src/ons_pop.csv"),
    ("E01000001", "lsoa21", "Wigan 001A", "E", 53.51, -2.52, 1500.0, 2021, "src/ons_pop.csv"),
    ("E01000002", "lsoa21", "Wigan 001B", "E", 53.55, -2.64, 500.0, 2021, "src/ons_pop.csv"),
]

# child, child_level, parent, parent_level, weight, method
LINKS = [
    ("E08000010", "lad", "E12000002", "rgn", 1.0, "official_best_fit"),
    ("E08000001", "lad", "E12000002", "rgn", 1.0, "official_best_fit"),
    ("E34000999", "town", "E08000010", "lad", 1.0, "centroid_in_polygon"),
    ("E01000001", "lsoa21", "E08000010", "lad", 1.0, "official_best_fit"),
    ("E01000002", "lsoa21", "E08000010", "lad", 1.0, "official_best_fit"),
    ("E01000001", "lsoa21", "E34000999", "town", 1.0, "centroid_in_polygon"),
]

# code, level, scheme, class, source
CLASSES = [
    ("E34000999", "town", "ons_town_size", "Medium Towns", "src/ons_towns.csv"),
    ("E34000999", "town", "coastal", "Non-coastal", "src/ons_towns.csv"),
    ("E08000010", "lad", "ruc2011", "Urban with Major Conurbation", "src/ons_towns.csv"),
]

# id, name, topic, unit, polarity, level, agg, source, description
INDICATORS = [
    ("imd25_imd_score", "IMD 2025 score", "deprivation", "score", -1, "lsoa21", "mean",
     "src/iod25.csv", "Index of Multiple Deprivation 2025 score; higher is more deprived."),
    ("census21_pop", "Usual residents, Census 2021", "population", "people", 0, "lsoa21", "sum",
     "src/els.csv", "Usual resident population."),
    ("els_gva_per_hour", "GVA per hour worked", "economy", "GBP", 1, "lad", "none",
     "src/els.csv", "Gross value added per hour worked."),
]

# indicator, level, area, period, value, lower, upper, derived, pct
OBSERVATIONS = [
    ("imd25_imd_score", "lsoa21", "E01000001", "2025", 40.0, None, None, False, 90.0),
    ("imd25_imd_score", "lsoa21", "E01000002", "2025", 20.0, None, None, False, 40.0),
    # Stored roll-up: (40 * 1500 + 20 * 500) / 2000 = 35.
    ("imd25_imd_score", "lad", "E08000010", "2025", 35.0, None, None, True, 80.0),
    ("imd25_imd_score", "town", "E34000999", "2025", 40.0, None, None, True, 70.0),
    # Counts with no stored roll-up: the council figure is rolled up live, 1500 + 500 = 2000.
    ("census21_pop", "lsoa21", "E01000001", "2021", 1500.0, None, None, False, 75.0),
    ("census21_pop", "lsoa21", "E01000002", "2021", 500.0, None, None, False, 25.0),
    ("els_gva_per_hour", "lad", "E08000010", "2021", 30.5, 29.0, 32.0, False, 25.0),
    ("els_gva_per_hour", "lad", "E08000010", "2022", 31.5, 30.0, 33.0, False, 30.0),
    ("els_gva_per_hour", "lad", "E08000001", "2022", 33.0, 31.5, 34.5, False, 45.0),
]

# path, title, publisher, publisher_url, licence, vintage, origin_url, sha256, bytes
SOURCES = [
    ("src/iod25.csv", "English indices of deprivation 2025", "MHCLG",
     "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
     "OGL-3.0", "2025", "https://example.org/iod25.csv", "0" * 64, 100),
    ("src/els.csv", "Explore local statistics", "ONS",
     "https://www.ons.gov.uk/explore-local-statistics", "OGL-3.0", "2024",
     "https://example.org/els.csv", "1" * 64, 200),
]


def make_tiny_atlas(path: str | Path) -> Path:
    """Write the tiny synthetic atlas to ``path`` and return it.

    Parameters
    ----------
    path : str or Path
        Where to write the DuckDB file (must not exist yet).

    Returns
    -------
    Path
        The atlas file, ready for :func:`townhall.open_atlas`.
    """
    path = Path(path)
    schema = resources.files("townhall.atlas").joinpath("schema.sql").read_text("utf-8")
    con = duckdb.connect(str(path))
    try:
        con.execute(schema)
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("built", "2025-01-01T00:00:00"),
                                                           ("townhall_version", "test")])
        con.executemany("INSERT INTO source VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", SOURCES)
        con.executemany(
            "INSERT INTO area (code, level, name, country, lat, lon, population, population_year, "
            "population_source, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, normalise_name(row[2])) for row in AREAS],
        )
        con.executemany("INSERT INTO area_link VALUES (?, ?, ?, ?, ?, ?)", LINKS)
        con.executemany("INSERT INTO area_class VALUES (?, ?, ?, ?, ?)", CLASSES)
        con.executemany("INSERT INTO indicator VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", INDICATORS)
        con.executemany(
            "INSERT INTO observation (indicator, level, area, period, value, lower, upper, derived, "
            "pct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            OBSERVATIONS,
        )
    finally:
        con.close()
    return path


def wait_until_serving(proc: subprocess.Popen[str], url: str, timeout: float = 90.0) -> httpx.Response:
    """The first answer of a server started as ``proc`` to ``url`` (polled), or an assertion
    error with the server's stderr if it stopped, or after ``timeout`` seconds."""
    import time

    deadline = time.time() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.time() > deadline or proc.poll() is not None:
                raise AssertionError(proc.stderr.read() if proc.poll() is not None and proc.stderr
                                     else "server did not start") from None
            time.sleep(0.3)
