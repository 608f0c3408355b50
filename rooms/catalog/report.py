"""``coshop catalog import``: validate a catalog file, report its problems, optionally normalise it.

The signaling CLI parses the arguments and calls ``run_import``; this module only reads the
catalog and writes the requested output file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final, TextIO

from pydantic import ValidationError

from rooms.catalog.coshop_json import dump_coshop_json
from rooms.catalog.errors import CatalogError
from rooms.catalog.loader import load_catalog
from rooms.catalog.models import Catalog
from rooms.catalog.result import CatalogFormat, ImportResult

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_UNREADABLE: Final = 2


def run_import(
    path: str | os.PathLike[str],
    format: CatalogFormat | str | None,
    currency: str,
    out: TextIO,
    output: str | os.PathLike[str] | None = None,
    *,
    shop: str | None = None,
    catalog_id: str | None = None,
) -> int:
    """Import ``path``, print one line per problem and a summary to ``out``, and write the
    normalised coshop JSON to ``output`` if given (even when rows were skipped), named
    ``catalog_id`` if given (the name people's ratings are kept under: rooms.ratings).

    Returns EXIT_OK, EXIT_PROBLEMS (rows were skipped) or EXIT_UNREADABLE.
    """
    try:
        result = load_catalog(path, format, currency, shop=shop)
    except CatalogError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_UNREADABLE
    catalog = result.catalog
    if catalog_id is not None:
        try:
            catalog = Catalog.model_validate({**catalog.model_dump(), "id": catalog_id})
        except ValidationError as exc:
            print(f"error: --id: {exc.errors()[0]['msg']}", file=out)
            return EXIT_UNREADABLE
    print(f"{path}: {result.format.value}", file=out)
    for line in problem_lines(result):
        print(f"  {line}", file=out)
    print(summary(result), file=out)
    if output is not None:
        try:
            _write_atomically(Path(output), dump_coshop_json(catalog))
        except OSError as exc:
            print(f"error: cannot write {output}: {exc.strerror or exc}", file=out)
            return EXIT_UNREADABLE
        print(f"wrote {output}", file=out)
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def problem_lines(result: ImportResult) -> list[str]:
    """One line per problem: "line 4: price: not a decimal amount: 'twelve'"."""
    unit = result.format.row_unit
    lines = []
    for problem in result.problems:
        where = f"{problem.field}: " if problem.field else ""
        lines.append(f"{unit} {problem.row}: {where}{problem.message}")
    return lines


def summary(result: ImportResult) -> str:
    """The summary line: "8 products, 23 variants, 2 problems"."""
    catalog = result.catalog
    return ", ".join(
        _count(n, noun)
        for n, noun in (
            (len(catalog.products), "product"),
            (catalog.variant_count, "variant"),
            (len(result.problems), "problem"),
        )
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _write_atomically(path: Path, text: str) -> None:
    # A reader of ``path`` sees the old file or the new one, never half of one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
