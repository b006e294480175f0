"""Errors townhall reports to people, not to programmers.

Every error a user can cause (bad input, missing data, an unknown place) is a
:class:`TownhallError`. The CLI prints its message and exits non-zero; no
traceback. Messages name *what* and *where*: file, row, column, value.
"""

from __future__ import annotations


class TownhallError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class DataMissingError(TownhallError):
    """A source file is not in the cache (and no mirror or network can supply it)."""


class ChecksumError(TownhallError):
    """A downloaded or copied file does not match its declared sha256."""


class DownloadError(TownhallError):
    """A file could not be fetched (HTTP error, interrupted transfer, no network)."""


class AtlasMissingError(TownhallError):
    """No atlas has been built yet."""


class BuildError(TownhallError):
    """The atlas build failed; the previous atlas is left untouched."""


class PlaceNotFoundError(TownhallError):
    """A place name or code matched nothing; carries close suggestions."""

    def __init__(self, query: str, suggestions: list[str] | None = None) -> None:
        self.query = query
        self.suggestions = suggestions or []
        msg = f"No place matches {query!r}."
        hint = None
        if self.suggestions:
            hint = "Did you mean: " + "; ".join(self.suggestions) + "?"
        super().__init__(msg, hint=hint)


class UnknownIndicatorError(TownhallError):
    """An indicator id is not registered in the atlas."""


class InputError(TownhallError):
    """A file or value the user gave is malformed (names file, row, column, value)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object | None = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        self.file, self.row, self.column, self.value = file, row, column, value
        full = message if not where else f"{message} ({', '.join(where)})"
        super().__init__(full, hint=hint)
