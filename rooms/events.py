"""The room events the stores themselves publish, their ``data`` shapes, and free-form type rules.

``participant_joined``  data ``{"participant": {id, name, role, joined_at}}``
``participant_left``    data ``{"participant_id": str, "reason": str}`` (``node_lost``: reaped)
``room_closed``         data ``{}``; always the last event of a room

Shopping (shapes in rooms.shopping_state; ``by`` is a participant id, or None for the HTTP API):

``catalog_loaded``      data ``{"revision", "product_count", "currency", "image_base", "carousel"}``
``carousel_changed``    data ``{"carousel", "change": "move" | "remote" | "mode", "by"}``
``vote_cast``           data ``{"vote", "previous": vote | None, "tallies": {product id: tally}}``
``vote_retracted``      data ``{"vote", "tallies"}``
``vote_round_opened``   data ``{"round"}``
``vote_round_closed``   data ``{"round", "reason": "host" | "deadline"}``
``chat_message``        data ``{"message"}``
``reaction``            data ``{"participant_id", "emoji", "product_id": str | None}``
``cart_item_added``     data ``{"item"}``
``cart_item_removed``   data ``{"item", "by"}``
"""

from __future__ import annotations

import json
from typing import Any

from rooms.models import Participant

PARTICIPANT_JOINED = "participant_joined"
PARTICIPANT_LEFT = "participant_left"
ROOM_CLOSED = "room_closed"

NODE_LOST = "node_lost"
"""``participant_left`` reason: the participant's node stopped renewing its presence lease
(crashed, killed, cut off) and another node reaped it."""

CATALOG_LOADED = "catalog_loaded"
CAROUSEL_CHANGED = "carousel_changed"
VOTE_CAST = "vote_cast"
VOTE_RETRACTED = "vote_retracted"
VOTE_ROUND_OPENED = "vote_round_opened"
VOTE_ROUND_CLOSED = "vote_round_closed"
CHAT_MESSAGE = "chat_message"
REACTION = "reaction"
CART_ITEM_ADDED = "cart_item_added"
CART_ITEM_REMOVED = "cart_item_removed"

SHOPPING_TYPES = frozenset(
    {
        CATALOG_LOADED,
        CAROUSEL_CHANGED,
        VOTE_CAST,
        VOTE_RETRACTED,
        VOTE_ROUND_OPENED,
        VOTE_ROUND_CLOSED,
        CHAT_MESSAGE,
        REACTION,
        CART_ITEM_ADDED,
        CART_ITEM_REMOVED,
    }
)

RESERVED_TYPES = frozenset({PARTICIPANT_JOINED, PARTICIPANT_LEFT, ROOM_CLOSED}) | SHOPPING_TYPES
"""Types only the store emits: a forged ``room_closed`` would end every subscription, a forged
``vote_cast`` would show a vote nobody cast."""


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
