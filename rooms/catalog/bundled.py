"""The sample catalog shipped with coshop, which the demo shows: 8 products with SVG images."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from rooms.catalog.coshop_json import import_coshop_json
from rooms.catalog.errors import CatalogError
from rooms.catalog.models import Catalog

SAMPLE_DIR: Final = Path(__file__).parent / "sample"
"""Directory of the sample catalog; its products' image paths are relative to it."""

SAMPLE_CATALOG_FILE: Final = SAMPLE_DIR / "catalog.json"


@cache
def sample_catalog() -> Catalog:
    """The bundled sample catalog (parsed once; the models are immutable)."""
    result = import_coshop_json(SAMPLE_CATALOG_FILE.read_text(encoding="utf-8"))
    if result.problems:
        # A packaging bug, never a user error: the tests import this very file.
        raise CatalogError(f"bundled sample catalog is invalid: {result.problems[0]}")
    return result.catalog
