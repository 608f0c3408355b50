"""Redis key and channel names of the rooms, documented like an API.

Every key of one room carries the hash tag ``{room:<id>}`` so the room's keys share one cluster
slot and each Lua script touches a single slot. ``<ns>`` is the store's namespace (default
``coshop``; tests use a unique one each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "coshop"

NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""No braces (they would change the hash tag) and no glob characters (tests SCAN by prefix)."""

ROOMS_INDEX = "{ns}:rooms"
"""SET of room ids (str). Added to before a room can be created, so a superset of the rooms:
an id without a meta hash (a creator crashed in between) is skipped by list_rooms."""

ROOM_META = "{ns}:{{room:{room_id}}}:meta"
"""HASH ``capacity`` -> int, ``closed`` -> "0" | "1", ``created_at`` -> float unix seconds.
Its existence is the room's existence."""

ROOM_PARTICIPANTS = "{ns}:{{room:{room_id}}}:participants"
"""HASH participant id -> Participant.to_json(), joined_at stamped by the store. Absent if empty."""

ROOM_SEQ = "{ns}:{{room:{room_id}}}:seq"
"""STRING integer: the seq of the room's latest event (absent = 0). INCRed once per event."""

ROOM_EVENTS = "{ns}:{{room:{room_id}}}:events"
"""Pub/sub CHANNEL: each message is one RoomEvent.to_json(), published in seq order."""


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if it matches ``NAMESPACE_PATTERN``; raise ValueError otherwise."""
    if not isinstance(namespace, str) or NAMESPACE_PATTERN.fullmatch(namespace) is None:
        raise ValueError(f"invalid Redis namespace {namespace!r}: expected 1-64 of [A-Za-z0-9_.:-]")
    return namespace


def rooms_index_key(namespace: str) -> str:
    """The ``ROOMS_INDEX`` key of ``namespace``."""
    return ROOMS_INDEX.format(ns=namespace)


@dataclass(frozen=True, slots=True)
class RoomKeys:
    """The names of one room's keys and channel (see the module constants for shapes)."""

    meta: str
    participants: str
    seq: str
    events: str

    @classmethod
    def of(cls, namespace: str, room_id: str) -> RoomKeys:
        """The names for ``room_id`` in ``namespace`` (both already validated)."""
        return cls(
            meta=ROOM_META.format(ns=namespace, room_id=room_id),
            participants=ROOM_PARTICIPANTS.format(ns=namespace, room_id=room_id),
            seq=ROOM_SEQ.format(ns=namespace, room_id=room_id),
            events=ROOM_EVENTS.format(ns=namespace, room_id=room_id),
        )
