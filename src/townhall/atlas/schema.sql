-- The atlas: one DuckDB file, long and tidy so a new indicator needs no schema change.
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE source (
    path VARCHAR PRIMARY KEY,      -- relative path in the cache / mirror
    title VARCHAR, publisher VARCHAR, publisher_url VARCHAR, licence VARCHAR, vintage VARCHAR,
    origin_url VARCHAR, sha256 VARCHAR, bytes BIGINT
);

CREATE TABLE area (
    code VARCHAR NOT NULL,         -- GSS code (E01..., E06..., E14..., E34...)
    level VARCHAR NOT NULL,        -- lsoa11, lsoa21, msoa11, msoa21, lad, cty, cauth, rgn, ctry, pcon10, pcon24, town, bua22, ttwa11
    name VARCHAR,
    country VARCHAR,               -- E, W, S, N, K (cross-border)
    lat DOUBLE, lon DOUBLE,        -- population-weighted centroid where a source gives one, else a representative point
    centroid_method VARCHAR,
    population DOUBLE, population_year INTEGER, population_source VARCHAR,
    search VARCHAR,                -- normalised name for forgiving search
    PRIMARY KEY (code, level)      -- LSOA 2011 and 2021 share many codes: the level disambiguates
);

CREATE TABLE area_link (
    child VARCHAR NOT NULL, child_level VARCHAR NOT NULL,
    parent VARCHAR NOT NULL, parent_level VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,        -- share of the child's population in the parent
    method VARCHAR NOT NULL        -- official_best_fit | centroid_in_polygon | population_overlap | composed
);

CREATE TABLE area_class (
    code VARCHAR NOT NULL, level VARCHAR NOT NULL,
    scheme VARCHAR NOT NULL,       -- ons_town_size, income_deprivation, job_density, coastal, university, ttwa_class, hocl_city_town, ruc2011, bua22_size
    class VARCHAR NOT NULL,
    source VARCHAR
);

CREATE TABLE indicator (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL, topic VARCHAR, unit VARCHAR,
    polarity INTEGER,              -- +1 higher is better, -1 lower is better, 0 neutral
    level VARCHAR NOT NULL,        -- the level the values are published at
    agg VARCHAR NOT NULL,          -- how it rolls up: mean (population-weighted) | sum | none
    source VARCHAR, description VARCHAR
);

CREATE TABLE observation (
    indicator VARCHAR NOT NULL,
    level VARCHAR NOT NULL,        -- level of the area (the indicator's own level, or a roll-up level)
    area VARCHAR NOT NULL, period VARCHAR NOT NULL,
    value DOUBLE, lower DOUBLE, upper DOUBLE,   -- lower/upper: 95% interval where the publisher gives one
    derived BOOLEAN NOT NULL DEFAULT FALSE,     -- true for roll-ups computed at build time
    pct DOUBLE                                  -- percentile of value among areas of the level (0-100)
);
