"""The rules the stores apply to shopping in a room: move targets, the remote, when votes count,
what a reaction is, and the carousel's wire form."""

from __future__ import annotations

import itertools

import pytest

from rooms.models import Role
from rooms.shopping import (
    Carousel,
    CarouselState,
    InvalidReaction,
    Move,
    RemoteMode,
    Tally,
    UnknownProduct,
    Verdict,
    Vote,
    VoteRound,
    can_hand_remote,
    can_hold_remote,
    can_move,
    clean_emoji,
    move_target,
    tally,
    vote_allowed,
)
from rooms.shopping.votes import RoundState

STATE = CarouselState(("tee", "cap", "boots"), index=2, version=7)


def test_move_targets_wrap_and_goto_names_a_product() -> None:
    assert move_target(STATE, Move.NEXT) == "tee"
    assert move_target(STATE, Move.PREV) == "cap"
    assert move_target(STATE, Move.GOTO, "cap") == "cap"
    for move, product in ((Move.GOTO, None), (Move.GOTO, "nope")):
        with pytest.raises(UnknownProduct):
            move_target(STATE, move, product)
    with pytest.raises(UnknownProduct):
        move_target(CarouselState(), Move.NEXT)


def test_handing_the_remote_follows_who_may_move() -> None:
    for mode, role, holds in itertools.product(RemoteMode, Role, (False, True)):
        assert can_hand_remote(mode, role, holds) is can_move(mode, role, holds)
    assert [r for r in Role if can_hold_remote(r)] == [Role.GUEST, Role.HOST, Role.ADMIN]


def test_carousel_wire_form_round_trips() -> None:
    carousel = Carousel(STATE, RemoteMode.EVERYONE, "g1")
    data = carousel.to_dict()
    assert data == {"index": 2, "current": "boots", "version": 7, "mode": "everyone",
                    "holder": "g1"}
    assert Carousel.from_dict(data, STATE.product_ids) == carousel
    assert Carousel().to_dict()["current"] is None


@pytest.mark.parametrize(
    ("now", "product", "allowed"),
    [
        (50.0, "tee", True),  # before a scheduled round: free
        (100.0, "tee", True),  # open, covered
        (100.0, "boots", False),  # open, not covered
        (160.0, "tee", False),  # past the deadline: covered products are closed
        (160.0, "boots", True),  # ... the others are free again
    ],
)
def test_vote_allowed_around_a_round(now: float, product: str, allowed: bool) -> None:
    round = VoteRound(100.0, 160.0, ("tee", "cap"))
    assert vote_allowed(round, now, product) is allowed


def test_vote_allowed_without_or_after_a_closed_round() -> None:
    assert vote_allowed(None, 0.0, "tee")
    closed = VoteRound(0.0, 1e12, None, RoundState.CLOSED)  # closed early, every product
    assert not vote_allowed(closed, 5.0, "anything")
    opened = VoteRound.open_now(10.0, 30.0)
    assert vote_allowed(opened, 5.0, "tee")  # a clock behind the opener's: still open


@pytest.mark.parametrize("emoji", ["🔥", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "©"])
def test_emoji_accepted(emoji: str) -> None:
    assert clean_emoji(emoji) == emoji


@pytest.mark.parametrize("text", ["", "a", "lol", "🔥a", "1️⃣", "🔥" * 17, " 🔥", "\u202e🔥"])
def test_not_an_emoji(text: str) -> None:
    with pytest.raises(InvalidReaction):
        clean_emoji(text)


def test_tally_dict_round_trip() -> None:
    tallies = tally(
        [Vote("a", "tee", Verdict.YES, "tee-m"), Vote("b", "tee", 4), Vote("c", "cap", Verdict.NO)]
    )
    for t in tallies.values():
        assert Tally.from_dict(t.to_dict()) == t
