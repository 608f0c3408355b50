"""Room state and media offers translated into wire messages (pure functions)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from pydantic import ValidationError

from rooms import events as room_events
from rooms.events import PARTICIPANT_JOINED, PARTICIPANT_LEFT, ROOM_CLOSED
from rooms.models import Participant, RoomEvent, RoomInfo, RoomSnapshot
from rooms.shopping import shortlist
from rooms.shopping_state import parse_tallies, shortlist_dicts
from sfu import Offer, Slot
from signaling import protocol as wire

log = logging.getLogger(__name__)

#: The event signaling publishes (RoomStore.publish) when the SFU reports a published track;
#: data {"participant_id": str, "kind": "audio" | "video"}.
TRACK_PUBLISHED = "track_published"
#: Published when a participant says its microphone or camera changed (``media_state``);
#: data {"participant_id": str, "audio": bool, "video": bool}.
MEDIA_STATE = "media_state"
#: Published when the SFU hears a new active speaker; data {"participant_id": str | None}.
ACTIVE_SPEAKER = "active_speaker"


def participant_info(participant: Participant) -> wire.ParticipantInfo:
    """A rooms Participant as the wire shows it."""
    return wire.ParticipantInfo.model_validate(participant.to_dict())


def room_ref(info: RoomInfo) -> wire.RoomRef:
    """The client-facing part of a RoomInfo."""
    return wire.RoomRef(id=info.id, capacity=info.capacity)


def joined(
    snapshot: RoomSnapshot,
    you: Participant,
    resume: str,
    ice_servers: list[dict[str, Any]] | None = None,
) -> wire.Joined:
    """The reply to a successful join (``resume``: the credential to come back with;
    ``ice_servers``: signaling.ice.ice_servers_for)."""
    return wire.Joined(
        resume=resume,
        ice_servers=[wire.IceServerInfo.model_validate(s) for s in ice_servers or []],
        seq=snapshot.seq,
        room=room_ref(snapshot.room),
        you=participant_info(you),
        participants=[participant_info(p) for p in snapshot.participants],
        shopping=shopping_info(snapshot),
    )


def shopping_info(snapshot: RoomSnapshot) -> wire.ShoppingInfo:
    """The shopping state of a snapshot as the wire shows it."""
    return wire.ShoppingInfo.model_validate(snapshot.shopping.to_dict())


def snapshot(snapshot: RoomSnapshot, you: Participant) -> wire.Snapshot:
    """The reply to ``resync``."""
    return wire.Snapshot(
        seq=snapshot.seq,
        room=room_ref(snapshot.room),
        you=participant_info(you),
        participants=[participant_info(p) for p in snapshot.participants],
        shopping=shopping_info(snapshot),
    )


def _wire_slots(slots: list[Slot]) -> list[wire.Slot]:
    return [
        wire.Slot.model_validate(
            {"mid": s.mid, "kind": s.kind, "direction": s.direction, "source": s.source}
        )
        for s in slots
    ]


def offer(offer: Offer) -> wire.Offer:
    """An SFU offer and its slot map."""
    return wire.Offer(sdp=offer.sdp, slots=_wire_slots(offer.slots))


def slots(slots: list[Slot]) -> wire.Slots:
    """A new slot map for m-lines already negotiated (no offer)."""
    return wire.Slots(slots=_wire_slots(slots))


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
        if event.type == ACTIVE_SPEAKER:
            return wire.ActiveSpeaker(seq=event.seq, participant_id=data["participant_id"])
        if event.type == MEDIA_STATE:
            return wire.MediaStateChanged.model_validate({"seq": event.seq, **data})
        if event.type == ROOM_CLOSED:
            return wire.RoomClosed(seq=event.seq, room=event.room_id)
        if event.type in _SHOPPING_MESSAGES:
            return _SHOPPING_MESSAGES[event.type].model_validate(_shopping_fields(event))
    except (KeyError, TypeError, ValueError, ValidationError):
        log.warning("room %s: malformed %s event seq=%d: %r", event.room_id, event.type,
                    event.seq, data)
        return None
    return None


class EventMessages:
    """Room events as wire messages and their JSON text, built once per event and shared by
    every socket of this node in the room (the fan-out then costs one send per socket)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._built: OrderedDict[tuple[str, int, str], tuple[wire.ServerMessage, str] | None]
        self._built = OrderedDict()

    def get(self, event: RoomEvent) -> tuple[wire.ServerMessage, str] | None:
        """The message announcing ``event`` and its text; None when the protocol has none."""
        key = (event.room_id, event.seq, event.type)
        if key in self._built:
            return self._built[key]
        message = event_message(event)
        built = None if message is None else (message, wire.dump(message))
        self._built[key] = built
        if len(self._built) > self._size:
            self._built.popitem(last=False)
        return built


#: The shopping events and the message announcing each (catalog_loaded is answered with a
#: snapshot instead: see Session).
_SHOPPING_MESSAGES: dict[str, type[wire.ServerMessage]] = {
    room_events.CAROUSEL_CHANGED: wire.CarouselChanged,
    room_events.VOTE_CAST: wire.VoteCast,
    room_events.VOTE_RETRACTED: wire.VoteRetracted,
    room_events.VOTE_ROUND_OPENED: wire.VoteRoundOpened,
    room_events.VOTE_ROUND_CLOSED: wire.VoteRoundClosed,
    room_events.CHAT_MESSAGE: wire.ChatMessage,
    room_events.REACTION: wire.Reaction,
    room_events.CART_ITEM_ADDED: wire.CartItemAdded,
    room_events.CART_ITEM_REMOVED: wire.CartItemRemoved,
}


def _shopping_fields(event: RoomEvent) -> dict[str, object]:
    """The event's data as message fields; vote events also get the shortlist of their
    tallies (derived here, so the stores publish only what they count)."""
    fields: dict[str, object] = {"seq": event.seq, **event.data}
    if event.type in (room_events.VOTE_CAST, room_events.VOTE_RETRACTED):
        tallies = parse_tallies(event.data["tallies"])
        fields["shortlist"] = shortlist_dicts(shortlist(tallies))
    return fields
