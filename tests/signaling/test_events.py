"""Room events as wire messages: shopping events, and one build per event for a node's sockets."""

from __future__ import annotations

import json

from rooms.models import RoomEvent
from signaling import protocol as wire
from signaling.events import EventMessages, event_message

TALLY = {"yes": 2, "no": 0, "score_count": 1, "score_total": 3}


def vote_event(seq: int) -> RoomEvent:
    vote = {"participant_id": "a", "product_id": "tee", "variant_id": None, "value": "yes"}
    return RoomEvent("r", seq, "vote_cast", {
        "vote": vote, "previous": None, "tallies": {"tee": TALLY, "cap": {
            "yes": 0, "no": 1, "score_count": 0, "score_total": 0}}})


def test_vote_events_carry_the_shortlist_of_their_tallies() -> None:
    message = event_message(vote_event(5))
    assert isinstance(message, wire.VoteCast) and message.seq == 5
    assert [(e.rank, e.product_id) for e in message.shortlist] == [(1, "tee")]
    assert message.tallies["tee"].by_variant == {}


def test_malformed_or_unknown_events_have_no_message() -> None:
    assert event_message(RoomEvent("r", 1, "vote_cast", {"vote": {}})) is None
    assert event_message(RoomEvent("r", 2, "catalog_loaded", {})) is None  # a snapshot instead
    assert event_message(RoomEvent("r", 3, "probe", {})) is None


def test_each_event_is_built_once() -> None:
    messages = EventMessages(size=2)
    first = messages.get(vote_event(1))
    assert first is not None and messages.get(vote_event(1)) is first
    message, text = first
    assert json.loads(text) == json.loads(wire.dump(message))
    assert messages.get(RoomEvent("r", 2, "probe", {})) is None
    messages.get(vote_event(3))  # evicts the oldest
    again = messages.get(vote_event(1))
    assert again is not None and again is not first and again[1] == text
