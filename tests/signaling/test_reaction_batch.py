"""Folding audience interactions into counts (sans-IO)."""

from __future__ import annotations

from rooms import events
from rooms.event_shapes import TallyInfo, VoteInfo
from rooms.models import RoomEvent
from signaling.reaction_batch import ReactionBatch, actor_of, is_folded

YES = TallyInfo(yes=1, no=0, score_count=0, score_total=0)


def reaction(seq: int, emoji: str, product_id: str | None = "tee", who: str = "a") -> RoomEvent:
    return RoomEvent("r", seq, events.Reaction(participant_id=who, emoji=emoji,
                                               product_id=product_id))


def vote(seq: int, who: str = "b") -> RoomEvent:
    cast = VoteInfo(participant_id=who, product_id="tee", variant_id=None, value="yes")
    return RoomEvent("r", seq, events.VoteCast(vote=cast, previous=None, tallies={"tee": YES}))


def test_reactions_are_counted_per_emoji_and_product_until_taken() -> None:
    batch = ReactionBatch()
    assert batch.take() is None
    for seq in range(1, 201):
        assert batch.fold(reaction(seq, "🔥" if seq % 4 else "❤️", "tee" if seq % 2 else None))
    message = batch.take()
    assert message is not None
    assert message.reactions == {"🔥": 150, "❤️": 50}
    assert message.by_product == {"tee": {"🔥": 100}}
    assert (message.up_to_seq, message.votes, message.tallies, message.shortlist) == (
        200, 0, None, None)
    assert batch.take() is None  # a new batch starts empty


def test_votes_leave_the_latest_tallies_and_their_shortlist() -> None:
    batch = ReactionBatch()
    batch.fold(vote(3))
    batch.fold(vote(4, who="c"))
    assert not batch.fold(RoomEvent("r", 5, events.RoomClosed()))
    message = batch.take()
    assert message is not None
    assert (message.votes, message.tallies, message.up_to_seq) == (2, {"tee": YES}, 4)
    assert message.shortlist is not None and message.shortlist[0].product_id == "tee"
    assert message.reactions == {}


def test_which_events_are_folded_and_whose_they_are() -> None:
    assert is_folded(reaction(1, "🔥")) and actor_of(reaction(1, "🔥", who="z")) == "z"
    assert is_folded(vote(2)) and actor_of(vote(2, who="y")) == "y"
    closed = RoomEvent("r", 3, events.RoomClosed())
    assert not is_folded(closed) and actor_of(closed) is None
