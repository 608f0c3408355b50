"""The named errors of the catalog package."""

from __future__ import annotations

from rooms.errors import RoomsError


class CatalogError(RoomsError):
    """A catalog file (or argument) is unusable: unreadable, not a catalog, bad currency."""


class InvalidMoney(CatalogError, ValueError):
    """An amount or currency cannot be represented exactly as Money.

    A ValueError too, so that pydantic validators report it as a field error.
    """
