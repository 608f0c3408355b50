"""Room state and media offers translated into wire messages (pure functions)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from rooms.events import PARTICIPANT_JOINED, PARTICIPANT_LEFT, ROOM_CLOSED
from rooms.models import Participant, RoomEvent, RoomInfo, RoomSnapshot
from sfu import Offer
from signaling import protocol as wire

log = logging.getLogger(__name__)

#: The event signaling publishes (RoomStore.publish) when the SFU reports a published track;
#: data {"participant_id": str, "kind": "audio" | "video"}.
TRACK_PUBLISHED = "track_published"


def participant_info(participant: Participant) -> wire.ParticipantInfo:
    """A rooms Participant as the wire shows it."""
    return wire.ParticipantInfo.model_validate(participant.to_dict())


def room_ref(info: RoomInfo) -> wire.RoomRef:
    """The client-facing part of a RoomInfo."""
    return wire.RoomRef(id=info.id, capacity=info.capacity)


def joined(snapshot: RoomSnapshot, you: Participant) -> wire.Joined:
    """The reply to a successful join."""
    return wire.Joined(
        seq=snapshot.seq,
        room=room_ref(snapshot.room),
        you=participant_info(you),
        participants=[participant_info(p) for p in snapshot.participants],
    )


def snapshot(snapshot: RoomSnapshot, you: Participant) -> wire.Snapshot:
    """The reply to ``resync``."""
    return wire.Snapshot(
        seq=snapshot.seq,
        room=room_ref(snapshot.room),
        you=participant_info(you),
        participants=[participant_info(p) for p in snapshot.participants],
    )


def offer(offer: Offer) -> wire.Offer:
    """An SFU offer and its slot map."""
    return wire.Offer(
        sdp=offer.sdp,
        slots=[
            wire.Slot.model_validate(
                {"mid": s.mid, "kind": s.kind, "direction": s.direction, "source": s.source}
            )
            for s in offer.slots
        ],
    )


def event_message(event: RoomEvent) -> wire.ServerMessage | None:
    """The message announcing ``event``; None for event types protocol v1 does not carry."""
    data = event.data
    try:
        if event.type == PARTICIPANT_JOINED:
            return wire.ParticipantJoined(
                seq=event.seq,
                participant=participant_info(Participant.from_dict(data["participant"])),
            )
        if event.type == PARTICIPANT_LEFT:
            return wire.ParticipantLeft(
                seq=event.seq, participant_id=data["participant_id"], reason=data["reason"]
            )
        if event.type == TRACK_PUBLISHED:
            return wire.TrackPublished.model_validate(
                {"seq": event.seq, "participant_id": data["participant_id"], "kind": data["kind"]}
            )
        if event.type == ROOM_CLOSED:
            return wire.RoomClosed(seq=event.seq, room=event.room_id)
    except (KeyError, TypeError, ValueError, ValidationError):
        log.warning("room %s: malformed %s event seq=%d: %r", event.room_id, event.type,
                    event.seq, data)
        return None
    return None
