"""The version of townhall (one place: the package, the atlas metadata and the web read it)."""

__version__ = "0.1.0"
