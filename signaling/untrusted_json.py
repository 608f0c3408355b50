"""Decoding JSON that a client sent: strict, and bounded in depth.

orjson refuses what Python's ``json`` lets through and later breaks on: text that is not UTF-8,
lone surrogates (``"\\ud800"``: valid JSON, but no Unicode string can be encoded back), NaN and
Infinity, numbers that overflow to infinity; and it never recurses past 1024 levels. On top of
that a value may nest at most ``MAX_JSON_DEPTH`` containers: no message of the protocol or the
HTTP API comes close, and a deep value is refused before pydantic walks it.
"""

from __future__ import annotations

from typing import Any

import orjson

#: Arrays/objects one inside the other, the outermost counting 1 (docs/PROTOCOL.md "Limits").
MAX_JSON_DEPTH = 32


class InvalidJson(ValueError):
    """The text is not strict JSON, or nests deeper than MAX_JSON_DEPTH."""


def loads(data: str | bytes) -> Any:
    """Decode one JSON document from a client. Raises InvalidJson."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"not JSON: {exc}") from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise InvalidJson(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative: a recursive walk is what this module exists to avoid.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
