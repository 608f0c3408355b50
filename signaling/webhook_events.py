"""Which room events webhooks announce and their JSON payloads, sans-IO.

Announcing a room event kind is one ``declare`` line below. A payload is
``{"id", "type", "room_id", "seq", "data"}``: ``data`` is the room event's own data (its
declaration in rooms.events), ``id`` the idempotency key every node derives alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rooms import events as room_events
from rooms.events import EventBody
from rooms.models import RoomEvent

ROOM_STARTED = "room_started"
"""Derived: the first ``participant_joined`` of a room (one per room: its id is the room's)."""
RECAP_READY = "recap_ready"
"""Derived: after ``room_finished``, with the room's recap (GET /api/rooms/{id}/recap)."""

DECLARED: dict[type[EventBody], str] = {}
"""Room event kinds webhooks announce, with the webhook type announcing them."""


def declare(kind: type[EventBody], type: str | None = None) -> None:
    """Announce ``kind`` events to webhooks, as ``type`` (default: the kind's own)."""
    DECLARED[kind] = type or kind.KIND


declare(room_events.RoomClosed, "room_finished")
declare(room_events.ParticipantJoined)
declare(room_events.ParticipantLeft)
declare(room_events.VoteRoundClosed)
declare(room_events.CartItemAdded)
declare(room_events.CartItemRemoved)
declare(room_events.CheckoutStarted)
declare(room_events.OfferReached)


def event_types() -> frozenset[str]:
    """Every webhook event type (what an endpoint's ``events`` may list)."""
    return frozenset(DECLARED.values()) | {ROOM_STARTED, RECAP_READY}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event as webhooks deliver it."""

    id: str
    type: str
    room_id: str
    seq: int
    data: dict[str, Any]

    def body(self) -> bytes:
        """The JSON request body (compact; the bytes that are signed)."""
        payload = {"id": self.id, "type": self.type, "room_id": self.room_id, "seq": self.seq,
                   "data": self.data}
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def event_id(room_id: str, seq: int) -> str:
    """The idempotency key of a room's event ``seq`` (a room's seqs are never reused: a closed
    room cannot be reopened)."""
    return f"{room_id}:{seq}"


def from_room_event(event: RoomEvent) -> list[WebhookEvent]:
    """The webhook events a room event makes (none for kinds nobody declared)."""
    type = DECLARED.get(event.body.__class__)
    if type is None:
        return []
    made = [WebhookEvent(event_id(event.room_id, event.seq), type, event.room_id, event.seq,
                         event.data)]
    if isinstance(event.body, room_events.ParticipantJoined):
        made.insert(0, WebhookEvent(f"{event.room_id}:started", ROOM_STARTED, event.room_id,
                                    event.seq, {}))
    return made


def recap_ready(finished: WebhookEvent, recap: dict[str, Any] | None) -> WebhookEvent:
    """The ``recap_ready`` following ``finished`` (``recap``: None if it could not be read;
    ``recap_path`` always says where to read it)."""
    data = {"recap_path": f"/api/rooms/{finished.room_id}/recap", "recap": recap}
    return WebhookEvent(f"{finished.id}:recap", RECAP_READY, finished.room_id, finished.seq, data)
