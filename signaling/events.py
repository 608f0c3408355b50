"""Room state, room events and media offers as wire messages; the room events signaling
publishes itself.

A room event's message follows from its kind's declaration: it is the wire message of the same
``type``, carrying the event's seq and every field the kind declares, exactly as declared.
``_CARRIERS`` checks that for every declared kind when this module loads, so a kind the wire
cannot carry stops the server from starting instead of being dropped while it runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, cast

from pydantic import BaseModel

from rooms import events as room_events
from rooms.event_shapes import RatingInfo, TallyInfo
from rooms.events import EventBody
from rooms.models import Participant, RoomEvent, RoomInfo, RoomKind, RoomSnapshot
from rooms.shopping import ShortlistEntry, Tally, shortlist
from rooms.shopping_state import shortlist_dicts
from rooms.store import RoomStore
from sfu import Offer, Slot
from signaling import protocol as wire

# --- the events signaling publishes (RoomStore.publish validates them against these) -------------


class TrackPublished(EventBody):
    """The SFU forwards a participant's audio or video (it reached the server)."""

    type: Literal["track_published"] = "track_published"
    participant_id: str
    kind: Literal["audio", "video"]


class MediaState(EventBody):
    """A participant said its microphone or camera changed (the ``media_state`` message)."""

    type: Literal["media_state"] = "media_state"
    participant_id: str
    audio: bool
    video: bool


class ActiveSpeaker(EventBody):
    """The SFU hears a new active speaker (None: nobody speaks)."""

    type: Literal["active_speaker"] = "active_speaker"
    participant_id: str | None


class ProductRated(EventBody):
    """Somebody in the room rated a product (signaling.ratings)."""

    type: Literal["product_rated"] = "product_rated"
    rating: RatingInfo


class RatingsShared(EventBody):
    """The ratings of the room's catalog by the people in the room (signaling.ratings)."""

    type: Literal["ratings_shared"] = "ratings_shared"
    ratings: list[RatingInfo]


async def publish(store: RoomStore, room_id: str, body: EventBody) -> RoomEvent:
    """Number and publish one of the events above in the room."""
    return await store.publish(room_id, body.type, body.to_data())


# --- room state and media ------------------------------------------------------------------------


def participant_info(participant: Participant) -> wire.ParticipantInfo:
    """A rooms Participant as the wire shows it."""
    return wire.ParticipantInfo.model_validate(participant.to_dict())


def room_ref(info: RoomInfo) -> wire.RoomRef:
    """The client-facing part of a RoomInfo."""
    slow_mode = info.slow_mode or None
    if info.kind is RoomKind.GROUP:
        return wire.RoomRef(id=info.id, capacity=info.capacity, slow_mode=slow_mode)
    return wire.RoomRef(
        id=info.id,
        capacity=info.capacity,
        kind="live",
        audience_capacity=info.audience_capacity,
        audience_count=info.audience_count,
        slow_mode=slow_mode,
        raised_hands=list(info.raised_hands),
    )


def joined(
    snapshot: RoomSnapshot,
    you: Participant,
    resume: str,
    may: wire.MayInfo,
    ice_servers: list[dict[str, Any]] | None = None,
    media_states: list[wire.MediaStateInfo] | None = None,
) -> wire.Joined:
    """The reply to a successful join (``resume``: the credential to come back with;
    ``may``: your permissions, signaling.may; ``ice_servers``: signaling.ice.ice_servers_for)."""
    return wire.Joined(
        media_states=media_states or [],
        may=may,
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


def snapshot(
    snapshot: RoomSnapshot,
    you: Participant,
    may: wire.MayInfo,
    resume: str | None = None,
    media_states: list[wire.MediaStateInfo] | None = None,
) -> wire.Snapshot:
    """The reply to ``resync`` (``resume``: a new credential, after a role change)."""
    return wire.Snapshot(
        media_states=media_states or [],
        resume=resume,
        may=may,
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


# --- room events ---------------------------------------------------------------------------------

ANSWERED_BY_SNAPSHOT: frozenset[type[EventBody]] = frozenset({room_events.CatalogLoaded})
"""Kinds no message announces: a new catalog changes so much of the shopping state that every
socket is sent a whole ``snapshot`` instead (Session)."""


def _carrier(kind: type[EventBody]) -> type[BaseModel]:
    """The message announcing ``kind`` events: the one of its type, with each of its fields."""
    message = wire.SERVER_MESSAGES.get(kind.KIND)
    if message is None:
        raise TypeError(f"no wire message carries {kind.KIND!r} events")
    for name, field in kind.model_fields.items():
        carried = message.model_fields.get(name)
        if carried is None or carried.annotation != field.annotation:
            raise TypeError(f"{message.__name__} does not carry {kind.__name__}.{name} as declared")
    return message


_CARRIERS = {
    kind: _carrier(kind)
    for kind in room_events.declared_kinds()
    if kind not in ANSWERED_BY_SNAPSHOT
}


def _with_shortlist(event: RoomEvent) -> dict[str, object]:
    """Vote messages also carry the shortlist of their tallies (derived here, so the stores
    publish only what they count)."""
    assert isinstance(event.body, room_events.VoteCast | room_events.VoteRetracted)
    return {"shortlist": shortlist_dicts(shortlist_of(event.body.tallies))}


def shortlist_of(tallies: dict[str, TallyInfo]) -> list[ShortlistEntry]:
    """The ranked shortlist of an event's tallies."""
    return shortlist({pid: _tally(t) for pid, t in tallies.items()})


def _tally(info: TallyInfo) -> Tally:
    variants = {vid: _tally(v) for vid, v in sorted(info.by_variant.items())}
    return Tally(info.yes, info.no, info.score_count, info.score_total, variants)


#: What some messages add to their event's fields.
_DERIVED: dict[type[EventBody], Callable[[RoomEvent], dict[str, object]]] = {
    room_events.VoteCast: _with_shortlist,
    room_events.VoteRetracted: _with_shortlist,
    room_events.RoomClosed: lambda event: {"room": event.room_id},
}


def event_message(event: RoomEvent) -> wire.ServerMessage | None:
    """The message announcing ``event``; None for custom events and ANSWERED_BY_SNAPSHOT."""
    kind = type(event.body)
    message = _CARRIERS.get(kind)
    if message is None:
        return None
    fields = {"seq": event.seq, **dict(event.body)}
    derive = _DERIVED.get(kind)
    if derive is not None:
        fields |= derive(event)
    # The carriers are ServerMessage members (wire.SERVER_MESSAGES).
    return cast(wire.ServerMessage, message.model_validate(fields))


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
