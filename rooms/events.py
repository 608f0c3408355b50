"""The room events the stores themselves publish, their ``data`` shapes, and free-form type rules.

``participant_joined``  data ``{"participant": {id, name, role, joined_at}}``
``participant_left``    data ``{"participant_id": str, "reason": str}``
``room_closed``         data ``{}``; always the last event of a room
"""

from __future__ import annotations

import json
from typing import Any

from rooms.models import Participant

PARTICIPANT_JOINED = "participant_joined"
PARTICIPANT_LEFT = "participant_left"
ROOM_CLOSED = "room_closed"

RESERVED_TYPES = frozenset({PARTICIPANT_JOINED, PARTICIPANT_LEFT, ROOM_CLOSED})
"""Types only the store emits: a forged ``room_closed`` would end every subscription."""


def participant_joined_data(participant: Participant) -> dict[str, Any]:
    """The ``data`` of a ``participant_joined`` event."""
    return {"participant": participant.to_dict()}


def participant_left_data(participant_id: str, reason: str) -> dict[str, Any]:
    """The ``data`` of a ``participant_left`` event."""
    return {"participant_id": participant_id, "reason": reason}


def validate_custom_type(type: str) -> str:
    """Return ``type`` if ``RoomStore.publish`` may use it; raise ValueError otherwise."""
    if not isinstance(type, str) or not type:
        raise ValueError(f"invalid event type {type!r}: expected a non-empty str")
    if type in RESERVED_TYPES:
        raise ValueError(f"event type {type!r} is reserved for the store itself")
    return type


def json_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as every subscriber will see it: round-tripped through JSON.

    Both stores deliver this form, so a value that would not survive Redis fails in memory too.
    """
    decoded: dict[str, Any] = json.loads(json.dumps(data, separators=(",", ":")))
    return decoded
