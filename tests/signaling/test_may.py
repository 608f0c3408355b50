"""signaling.may: permissions follow the room's events; a change is reported once."""

from __future__ import annotations

from typing import Literal

from rooms import events as room_events
from rooms.catalog import sample_catalog
from rooms.event_shapes import CarouselInfo, RoundInfo
from rooms.models import Participant, Role
from rooms.shopping import Carousel, CarouselState, RemoteMode
from rooms.shopping_state import RoomCatalog, ShoppingSnapshot
from signaling.may import MayTracker

CATALOG = sample_catalog()
IDS = CATALOG.product_ids


def tracker(role: Role = Role.GUEST, mode: RemoteMode = RemoteMode.HOST_LED) -> MayTracker:
    shopping = ShoppingSnapshot(
        catalog=RoomCatalog(catalog=CATALOG),
        carousel=Carousel(CarouselState.start(IDS), mode=mode),
    )
    return MayTracker(Participant(id="me", name="Me", role=role), shopping, clock=lambda: 100.0)


def carousel(
    holder: str | None, mode: Literal["host_led", "everyone"] = "host_led"
) -> room_events.CarouselChanged:
    info = CarouselInfo(index=0, current=IDS[0], version=0, mode=mode, holder=holder)
    return room_events.CarouselChanged(carousel=info, change="remote", by="host")


def test_the_remote_changes_what_a_guest_may_do() -> None:
    may = tracker()
    assert (may.current.move, may.current.hand_remote) == (False, False)
    passed = may.apply(carousel("me"))
    assert passed is not None and passed.move and passed.hand_remote
    assert may.apply(carousel("me")) is None  # nothing new: nothing to send
    assert may.apply(carousel("other")) == may.current and not may.current.move
    assert may.apply(carousel(None, "everyone")) is not None and may.current.move


def test_a_host_is_not_told_about_the_remote() -> None:
    may = tracker(Role.HOST)
    assert may.apply(carousel("someone")) is None  # hosts may always


def test_rounds_close_votes_and_unrelated_events_change_nothing() -> None:
    may = tracker()
    round = RoundInfo(id=5, state="open", opens_at=90.0, closes_at=160.0, product_ids=[IDS[1]])
    opened = may.apply(room_events.VoteRoundOpened(round=round))
    assert opened is not None and set(opened.vote_closed) == set(IDS) - {IDS[1]}
    closed = round.model_copy(update={"state": "closed"})
    after = may.apply(room_events.VoteRoundClosed(round=closed, reason="host"))
    assert after is not None and after.vote_closed == (IDS[1],)
    assert may.apply(room_events.ParticipantLeft(participant_id="x", reason="left")) is None
