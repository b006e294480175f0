"""Measures over places: composite indices, left-behind places, spatial inequality.

- :mod:`~townhall.measures.composite`: the OECD/JRC composite index builder.
- :mod:`~townhall.measures.uncertainty`: Monte Carlo rank intervals and sensitivity.
- :mod:`~townhall.measures.spec`: index specs in TOML, and building them over the atlas.
- :mod:`~townhall.measures.leftbehind`: the open left-behind index and its validation.
- :mod:`~townhall.measures.inequality`: Theil decomposition and the spatial Gini.
- :mod:`~townhall.measures.spatial`: neighbours, Moran's I and LISA hot spots.
"""
