"""What an import produced: the catalog of the good rows and one Problem per defect of a bad row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

from rooms.catalog.models import Catalog


class CatalogFormat(StrEnum):
    """The catalog file formats coshop imports."""

    COSHOP = "coshop"
    SHOPIFY = "shopify"
    GMC_TSV = "gmc_tsv"
    GMC_XML = "gmc_xml"

    @property
    def row_unit(self) -> str:
        """What ``Problem.row`` counts in this format: file lines (TSV) or items (JSON, XML)."""
        return "line" if self is CatalogFormat.GMC_TSV else "item"


class Problem(BaseModel):
    """One defect of one row; the row was skipped (or, for a variant, just that variant).

    ``row`` is 1-based: the line number for TSV, the item number for JSON and XML.
    ``field`` names the offending field ("price", "variants[1].price"); "" for the row as a whole.
    """

    model_config = ConfigDict(frozen=True)

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"row {self.row}: {where}{self.message}"


class ImportResult(BaseModel):
    """The catalog built from every good row, and the problems of the bad ones."""

    model_config = ConfigDict(frozen=True)

    format: CatalogFormat
    catalog: Catalog
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing was skipped."""
        return not self.problems


def field_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic error location as ``variants[0].price.amount_minor``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def problems_from(
    error: ValidationError,
    row: int,
    prefix: Sequence[int | str] = (),
    *,
    rename: Mapping[str, str] | None = None,
) -> list[Problem]:
    """One Problem per error of a pydantic validation, located under ``prefix``.

    ``rename`` maps a rendered field path to the name the source file uses for it.
    """
    problems = []
    for detail in error.errors(include_url=False):
        ctx = detail.get("ctx") or {}
        cause = ctx.get("error")
        # Our validators raise ValueError with a complete message; pydantic would prefix it.
        message = str(cause) if detail["type"] == "value_error" and cause else detail["msg"]
        path = field_path([*prefix, *detail["loc"]])
        if rename:
            path = rename.get(path, path)
        problems.append(Problem(row=row, field=path, message=message))
    return problems


class RowError(Exception):
    """Raised inside an importer: this field makes the row unusable (becomes one Problem)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
