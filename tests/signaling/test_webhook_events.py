"""Room events to webhook payloads (sans-IO)."""

from __future__ import annotations

import json

from rooms import events as room_events
from rooms.event_shapes import ParticipantInfo
from rooms.models import RoomEvent
from signaling.webhook_events import (
    DECLARED,
    ROOM_STARTED,
    declare,
    event_types,
    from_room_event,
    recap_ready,
)


def _joined(seq: int) -> RoomEvent:
    info = ParticipantInfo.model_validate(
        {"id": "p1", "name": "Ann", "role": "guest", "joined_at": 1.0}
    )
    return RoomEvent("r", seq, room_events.ParticipantJoined(participant=info))


def test_a_join_also_makes_the_rooms_one_room_started() -> None:
    started, joined = from_room_event(_joined(4))
    assert (started.id, started.type, started.data) == ("r:started", ROOM_STARTED, {})
    assert (joined.id, joined.type, joined.seq) == ("r:4", "participant_joined", 4)
    assert joined.data == _joined(4).data
    assert from_room_event(_joined(9))[0].id == "r:started"  # the same id: claimed once


def test_room_closed_is_room_finished_then_recap_ready() -> None:
    [finished] = from_room_event(RoomEvent("r", 7, room_events.RoomClosed()))
    assert (finished.id, finished.type, finished.data) == ("r:7", "room_finished", {})
    recap = recap_ready(finished, {"votes_cast": 2})
    assert (recap.id, recap.type) == ("r:7:recap", "recap_ready")
    assert recap.data == {"recap_path": "/api/rooms/r/recap", "recap": {"votes_cast": 2}}


def test_undeclared_kinds_make_nothing() -> None:
    chat = room_events.SlowModeChanged(seconds=1.0, by=None)
    assert from_room_event(RoomEvent("r", 3, chat)) == []
    assert "slow_mode_changed" not in event_types()


def test_body_is_the_compact_json_of_the_payload() -> None:
    [finished] = from_room_event(RoomEvent("r", 7, room_events.RoomClosed()))
    body = finished.body()
    assert json.loads(body) == {"id": "r:7", "type": "room_finished", "room_id": "r", "seq": 7,
                                "data": {}}
    assert b" " not in body and finished.body() == body


def test_declaring_a_kind_is_one_line() -> None:
    kind = room_events.HandRaised
    assert kind not in DECLARED
    try:
        declare(kind)
        event = RoomEvent("r", 5, kind(participant_id="p1", raised=True))
        [made] = from_room_event(event)
        assert (made.type, made.data) == ("hand_raised", {"participant_id": "p1", "raised": True})
        assert "hand_raised" in event_types()
    finally:
        del DECLARED[kind]


def test_checkout_and_reached_offers_are_announced() -> None:
    """Issue 15 names checkout_started and offer_reached among the webhooks."""
    assert {"checkout_started", "offer_reached"} <= set(event_types())
    body = room_events.CheckoutStarted(by="p1", participant_id="p1", lines=2, quantity=3)
    (hook,) = from_room_event(RoomEvent("r", 11, body))
    assert (hook.id, hook.type) == ("r:11", "checkout_started")
    assert hook.data == {"by": "p1", "participant_id": "p1", "lines": 2, "quantity": 3}
