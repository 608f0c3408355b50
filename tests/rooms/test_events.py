"""Event declarations: one per kind, and the decoding that holds every event to its own."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest

from rooms import events
from rooms.errors import MalformedEvent
from rooms.event_shapes import TallyInfo, VoteInfo
from rooms.events import CustomEvent, EventBody
from rooms.models import RoomEvent
from rooms.shopping import Tally, Verdict, Vote

VOTE = {"participant_id": "a", "product_id": "tee", "variant_id": None, "value": "yes"}


def encoded(type: str, data: Any) -> str:
    return json.dumps({"room_id": "r", "seq": 3, "type": type, "data": data})


def test_an_event_decodes_to_its_declared_kind() -> None:
    text = encoded("vote_cast", {"vote": VOTE, "previous": None,
                                 "tallies": {"tee": {"yes": 1, "no": 0, "score_count": 0,
                                                     "score_total": 0}}})
    event = RoomEvent.from_json(text)
    assert isinstance(event.body, events.VoteCast)
    assert event.body.vote == VoteInfo.of(Vote("a", "tee", Verdict.YES))
    assert event.body.tallies == {"tee": TallyInfo.of(Tally(yes=1))}
    assert RoomEvent.from_json(event.to_json()) == event
    assert event.of_kind(events.VoteCast) is not None
    with pytest.raises(TypeError, match="expected a vote_retracted event"):
        event.of_kind(events.VoteRetracted)


def test_an_undeclared_type_decodes_to_a_custom_event() -> None:
    event = RoomEvent.from_json(encoded("tick", {"n": [1, 2.5, None]}))
    assert event.body == CustomEvent(type="tick", data={"n": [1, 2.5, None]})
    assert event.data == {"n": [1, 2.5, None]}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"room_id": "r", "seq": 1, "type": "tick"}',
        '{"room_id": "r", "seq": 1.5, "type": "tick", "data": {}}',
        '{"room_id": "r", "seq": 1, "type": "", "data": {}}',
        '{"room_id": "r", "seq": 1, "type": "tick", "data": [], "more": 1}',
        encoded("room_closed", {"extra": 1}),
        encoded("participant_joined", {"participant": {"id": "p", "name": "P"}}),
        encoded("reaction", {"participant_id": "a", "emoji": "🔥"}),
        encoded("vote_round_closed", {"round": {"id": 1, "state": "closed", "opens_at": 0,
                                                "closes_at": 1, "product_ids": None},
                                      "reason": "bored"}),
        encoded("vote_cast", {"vote": dict(VOTE, value=9), "previous": None, "tallies": {}}),
    ],
)
def test_a_malformed_event_is_refused_at_decode(text: str) -> None:
    with pytest.raises(MalformedEvent):
        RoomEvent.from_json(text)


def test_default_fields_left_out_stay_out_of_the_data() -> None:
    # The scripts write a tally without by_variant when it has none; both stores agree.
    tally = TallyInfo.of(Tally(yes=1))
    body = events.VoteRetracted(vote=VoteInfo.of(Vote("a", "tee", 2)), tallies={"tee": tally})
    assert body.to_data()["tallies"] == {"tee": {"yes": 1, "no": 0, "score_count": 0,
                                                 "score_total": 0}}
    assert "type" not in body.to_data()


def test_a_kind_is_declared_once() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class AnotherRoomClosed(EventBody):
            type: Literal["room_closed"] = "room_closed"

    with pytest.raises(TypeError, match="must be Literal"):

        class Loose(EventBody):
            type: str = "loose"

    assert "loose" not in {k.KIND for k in events.declared_kinds()}
    with pytest.raises(ValueError, match="declared"):
        CustomEvent(type="room_closed", data={})


def test_publish_refuses_the_store_kinds() -> None:
    for reserved in sorted(events.RESERVED_TYPES):
        with pytest.raises(ValueError, match="reserved"):
            events.publishable(reserved, {})
    assert events.SHOPPING_TYPES < events.RESERVED_TYPES
    assert events.publishable("tick", {"ids": ("a",)}) == CustomEvent(
        type="tick", data={"ids": ["a"]}
    )
    with pytest.raises(TypeError):
        events.publishable("tick", {"x": object()})
