"""Input rules of the room store API (sans-IO): room ids and capacities."""

from __future__ import annotations

import re

ROOM_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A room id appears in URLs, Redis keys and channel names: this keeps it escape-free."""


def validate_room_id(room_id: str) -> str:
    """Return ``room_id`` if it matches ``ROOM_ID_PATTERN``; raise ValueError otherwise."""
    if not isinstance(room_id, str) or ROOM_ID_PATTERN.fullmatch(room_id) is None:
        raise ValueError(f"invalid room id {room_id!r}: expected 1-64 of [A-Za-z0-9_-]")
    return room_id


def validate_capacity(capacity: int) -> int:
    """Return ``capacity`` if it is a positive int; raise ValueError otherwise."""
    # bool is an int subclass; True as a capacity is always a caller bug.
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"invalid capacity {capacity!r}: expected an int >= 1")
    return capacity
