"""Room events as wire messages: every declared kind is carried, and one build per event."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from rooms import events as room_events
from rooms.event_shapes import (
    CarouselInfo,
    CartItemInfo,
    ChatMessageInfo,
    OfferInfo,
    ParticipantInfo,
    RatingInfo,
    RoundInfo,
    TallyInfo,
    VoteInfo,
)
from rooms.events import CustomEvent, EventBody
from rooms.memory_store import MemoryStore
from rooms.models import RoomEvent
from signaling import events
from signaling import protocol as wire
from signaling.events import ANSWERED_BY_SNAPSHOT, EventMessages, event_message

OFFER = OfferInfo(
    product_id="tee", threshold=3, percent=10, code="TEE10", expires_at=100.5, set_by="h"
)

TALLY = TallyInfo(yes=2, no=0, score_count=1, score_total=3)
VOTE = VoteInfo(participant_id="a", product_id="tee", variant_id=None, value="yes")
CAROUSEL = CarouselInfo(index=1, current="cap", version=3, mode="everyone", holder="a")
ROUND = RoundInfo(id=4, state="open", opens_at=10.0, closes_at=70.0, product_ids=["tee"])
ITEM = CartItemInfo(product_id="tee", variant_id="tee-m", quantity=2, added_by="a",
                    added_by_name="Ann", added_at=12.5)

#: One event of every declared kind (the test below fails for a kind missing here).
RATING = RatingInfo(product_id="tee", participant_id="a", name="Ann", stars=4, at=2.5)
EXAMPLES: list[EventBody] = [
    room_events.ParticipantJoined(
        participant=ParticipantInfo(id="a", name="Ann", role="host", joined_at=1.5)
    ),
    room_events.ParticipantLeft(participant_id="a", reason="node_lost"),
    room_events.RoomClosed(),
    room_events.CatalogLoaded(revision=9, product_count=3, currency="EUR", image_base=None,
                              carousel=CAROUSEL),
    room_events.CarouselChanged(carousel=CAROUSEL, change="remote", by=None),
    room_events.VoteCast(
        vote=VOTE,
        previous=VOTE.model_copy(update={"value": 4}),
        tallies={"tee": TALLY.model_copy(update={"by_variant": {"tee-m": TALLY}})},
    ),
    room_events.VoteRetracted(vote=VOTE, tallies={}),
    room_events.VoteRoundOpened(round=ROUND),
    room_events.VoteRoundClosed(round=ROUND.model_copy(update={"state": "closed"}),
                                reason="deadline"),
    room_events.ChatMessage(
        message=ChatMessageInfo(seq=7, participant_id="a", name="Ann", text="hi", at=3.0)
    ),
    room_events.Reaction(participant_id="a", emoji="🔥", product_id=None),
    room_events.CartItemAdded(item=ITEM),
    room_events.CartItemRemoved(item=ITEM, by="b"),
    room_events.CheckoutStarted(by="b", participant_id=None, lines=2, quantity=3),
    room_events.OfferProgress(offer=OFFER, backers=2, reached=False),
    room_events.OfferReached(offer=OFFER, backers=3),
    events.TrackPublished(participant_id="a", kind="video"),
    events.ProductRated(rating=RATING),
    events.RatingsShared(ratings=[RATING]),
    events.MediaState(participant_id="a", audio=False, video=True),
    events.ActiveSpeaker(participant_id=None),
    # Host controls (issue 14).
    room_events.ParticipantMuted(participant_id="a", kind="audio", by="h"),
    room_events.ParticipantBanned(participant_id="a", by=None),
    room_events.RoleChanged(participant_id="a", role="guest", by="h"),
    room_events.SlowModeChanged(seconds=2.5, by="h"),
    room_events.ChatHidden(message_seq=3, by="h"),
    room_events.HandRaised(participant_id="a", raised=True),
]


def test_every_declared_event_kind_is_carried_by_the_wire() -> None:
    assert {type(body) for body in EXAMPLES} == set(room_events.declared_kinds())
    for body in EXAMPLES:
        message = event_message(RoomEvent("room-1", 7, body))
        if type(body) in ANSWERED_BY_SNAPSHOT:
            assert message is None
            continue
        assert message is not None, body.type
        received = wire.parse_server_message(wire.dump(message))
        assert (received.type, getattr(received, "seq", None)) == (body.type, 7)
        # Every field of the event arrives as it was, and the message has nothing else but
        # what signaling derives from the event.
        assert {name: getattr(received, name) for name in type(body).model_fields} == dict(body)
        others = set(type(received).model_fields) - set(type(body).model_fields) - {"seq"}
        assert others <= {"shortlist", "room"}, body.type


class MuteReaction(BaseModel):
    """A wire message that lost a field of its event."""

    type: Literal["reaction"] = "reaction"
    seq: int
    participant_id: str
    product_id: str | None


class CountedReaction(MuteReaction):
    """One that has it with another type."""

    emoji: int


def test_a_kind_the_wire_cannot_carry_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert events._carrier(room_events.Reaction) is wire.Reaction
    for message in (MuteReaction, CountedReaction):
        monkeypatch.setitem(wire.SERVER_MESSAGES, "reaction", message)
        with pytest.raises(TypeError, match=r"does not carry Reaction\.emoji as declared"):
            events._carrier(room_events.Reaction)
    monkeypatch.delitem(wire.SERVER_MESSAGES, "reaction")
    with pytest.raises(TypeError, match="no wire message carries 'reaction'"):
        events._carrier(room_events.Reaction)


def test_derived_fields() -> None:
    vote_cast = room_events.VoteCast(
        vote=VOTE,
        previous=None,
        tallies={"tee": TALLY, "cap": TallyInfo(yes=0, no=1, score_count=0, score_total=0)},
    )
    message = event_message(RoomEvent("r", 5, vote_cast))
    assert isinstance(message, wire.VoteCast) and message.seq == 5
    assert [(e.rank, e.product_id) for e in message.shortlist] == [(1, "tee")]
    assert message.tallies["tee"].by_variant == {}
    closed = event_message(RoomEvent("room-1", 6, room_events.RoomClosed()))
    assert closed == wire.RoomClosed(seq=6, room="room-1")


def test_custom_events_have_no_message() -> None:
    assert event_message(RoomEvent("r", 3, CustomEvent(type="probe", data={}))) is None
    # Not even one whose type a server message has: only declared kinds reach the wire.
    left = CustomEvent(type="left", data={"reason": "x"})
    assert event_message(RoomEvent("r", 4, left)) is None


def vote_event(seq: int) -> RoomEvent:
    return RoomEvent("r", seq, room_events.VoteRetracted(vote=VOTE, tallies={"tee": TALLY}))


def test_each_event_is_built_once() -> None:
    messages = EventMessages(size=2)
    first = messages.get(vote_event(1))
    assert first is not None and messages.get(vote_event(1)) is first
    message, text = first
    assert json.loads(text) == json.loads(wire.dump(message))
    assert messages.get(RoomEvent("r", 2, CustomEvent(type="probe", data={}))) is None
    messages.get(vote_event(3))  # evicts the oldest
    again = messages.get(vote_event(1))
    assert again is not None and again is not first and again[1] == text


async def test_signaling_events_are_published_as_declared() -> None:
    store = MemoryStore()
    await store.create_room("r")
    said = events.MediaState(participant_id="a", audio=True, video=False)
    event = await events.publish(store, "r", said)
    assert event == RoomEvent("r", 1, said)
    with pytest.raises(ValueError):  # not what media_state declares
        await store.publish("r", "media_state", {"participant_id": "a", "audio": True})
    assert (await store.snapshot("r")).seq == 1
    await store.close()
