"""Strict JSON decoding for catalog files: exact decimals, no NaN, clear errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rooms.catalog.errors import CatalogError


def _refuse_constant(name: str) -> Any:
    raise CatalogError(f"not valid JSON: {name} is not a number")


def parse_json(text: str) -> Any:
    """Decode JSON with every non-integer number as an exact Decimal (prices never touch floats).

    Raises CatalogError for text that is not JSON.
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise CatalogError("not valid JSON: nested too deeply") from None
