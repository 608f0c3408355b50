"""Votes: one per participant per product, tallies, the ranked shortlist, timed rounds."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rooms.shopping import (
    BallotBox,
    InvalidVote,
    RoundState,
    ShortlistEntry,
    Tally,
    Verdict,
    Vote,
    VoteRound,
    accepts,
    shortlist,
    tally,
)

YES, NO = Verdict.YES, Verdict.NO


@pytest.mark.parametrize("value", [YES, NO, 1, 3, 5])
def test_valid_values(value: Verdict | int) -> None:
    assert Vote("ann", "tee", value).value == value


@pytest.mark.parametrize("value", [0, 6, -1, True, False, 2.5, "yes", None])
def test_invalid_values(value: object) -> None:
    with pytest.raises(InvalidVote) as info:
        Vote("ann", "tee", value)  # type: ignore[arg-type]
    assert str(info.value) == f"a vote is 'yes', 'no' or a score 1..5, not {value!r}"


@pytest.mark.parametrize(
    ("participant", "product", "variant"),
    [("", "tee", None), ("ann", "", None), ("ann", "tee", "")],
)
def test_ids_must_not_be_empty(participant: str, product: str, variant: str | None) -> None:
    with pytest.raises(InvalidVote, match="needs a participant and a product"):
        Vote(participant, product, YES, variant)


def test_dict_round_trip_and_parsing() -> None:
    vote = Vote("ann", "tee", YES, "tee-m")
    assert vote.to_dict() == {
        "participant_id": "ann",
        "product_id": "tee",
        "variant_id": "tee-m",
        "value": "yes",
    }
    assert Vote.from_dict(vote.to_dict()) == vote
    scored = Vote("bob", "tee", 4)
    assert Vote.from_dict(scored.to_dict()) == scored
    for bad in ("maybe", 9, 1.5, None):
        with pytest.raises(InvalidVote):
            Vote.from_dict({"participant_id": "a", "product_id": "p", "value": bad})
    with pytest.raises(InvalidVote):
        Vote.from_dict({"product_id": "p", "value": "yes"})


def test_ballot_box_one_vote_per_participant_per_product() -> None:
    box = BallotBox()
    assert box.cast(Vote("ann", "tee", YES)) is None
    assert box.cast(Vote("ann", "boots", NO)) is None
    assert box.cast(Vote("bob", "tee", NO)) is None
    assert len(box) == 3
    # Changing a vote replaces it and returns the old one.
    assert box.cast(Vote("ann", "tee", NO, "tee-m")) == Vote("ann", "tee", YES)
    assert len(box) == 3
    assert box.get("ann", "tee") == Vote("ann", "tee", NO, "tee-m")
    # Retracting removes it; retracting again is harmless.
    assert box.retract("ann", "boots") == Vote("ann", "boots", NO)
    assert box.retract("ann", "boots") is None
    assert box.get("ann", "boots") is None
    assert list(box) == [Vote("bob", "tee", NO), Vote("ann", "tee", NO, "tee-m")]
    assert box.tally() == {"tee": Tally(no=2, by_variant={"tee-m": Tally(no=1)})}


def test_tally_counts_by_product_and_variant() -> None:
    votes = [
        Vote("ann", "tee", YES, "tee-m"),
        Vote("bob", "tee", YES, "tee-s"),
        Vote("cid", "tee", NO),
        Vote("dee", "tee", YES, "tee-m"),
        Vote("ann", "boots", 4),
        Vote("bob", "boots", 5, "boots-42"),
        Vote("cid", "boots", NO),
    ]
    tallies = tally(votes)
    assert list(tallies) == ["boots", "tee"]  # Product id order, whatever the input order.
    assert tallies["tee"] == Tally(
        yes=3, no=1, by_variant={"tee-m": Tally(yes=2), "tee-s": Tally(yes=1)}
    )
    assert tallies["boots"] == Tally(
        no=1,
        score_count=2,
        score_total=9,
        by_variant={"boots-42": Tally(score_count=1, score_total=5)},
    )
    tee, boots = tallies["tee"], tallies["boots"]
    assert (tee.net, tee.votes, tee.mean_score) == (2, 4, None)
    assert (boots.net, boots.votes, boots.mean_score) == (-1, 3, Fraction(9, 2))
    assert tally(reversed(votes)) == tallies


def test_tally_last_vote_of_a_participant_counts() -> None:
    log = [Vote("ann", "tee", YES), Vote("bob", "tee", YES), Vote("ann", "tee", NO)]
    assert tally(log) == {"tee": Tally(yes=1, no=1)}
    assert tally([]) == {}


def test_tally_dict() -> None:
    t = tally([Vote("ann", "tee", YES, "m"), Vote("bob", "tee", 3)])["tee"]
    assert t.to_dict() == {
        "yes": 1,
        "no": 0,
        "score_count": 1,
        "score_total": 3,
        "by_variant": {"m": {"yes": 1, "no": 0, "score_count": 0, "score_total": 0}},
    }


def test_liked() -> None:
    assert Tally(yes=2, no=1).liked
    assert not Tally(yes=1, no=1).liked
    assert not Tally().liked
    assert Tally(score_count=2, score_total=8).liked  # Mean 4.
    assert not Tally(score_count=2, score_total=7).liked  # Mean 3.5.
    assert Tally(yes=0, no=3, score_count=1, score_total=5).liked


def ids(entries: list[ShortlistEntry]) -> list[str]:
    return [e.product_id for e in entries]


def test_shortlist_keeps_liked_products_ranked() -> None:
    tallies = {
        "a": Tally(yes=3, no=2),  # net 1
        "b": Tally(yes=2),  # net 2
        "c": Tally(yes=1, no=1),  # net 0: not liked
        "d": Tally(no=2),  # not liked
        "e": Tally(score_count=1, score_total=5),  # liked by score, net 0
    }
    entries = shortlist(tallies)
    assert ids(entries) == ["b", "a", "e"]
    assert [e.rank for e in entries] == [1, 2, 3]
    assert entries[0].tally is tallies["b"]


def test_shortlist_tie_breaks_in_documented_order() -> None:
    # 1. net approval beats yes count.
    assert ids(shortlist({"x": Tally(yes=5, no=4), "y": Tally(yes=2)})) == ["y", "x"]
    # 2. equal net: more yes first.
    assert ids(shortlist({"x": Tally(yes=2, no=1), "y": Tally(yes=3, no=2)})) == ["y", "x"]
    # 3. equal yes/no: higher mean score first, compared exactly (9/2 > 13/3).
    assert ids(
        shortlist(
            {
                "x": Tally(yes=1, score_count=3, score_total=13),
                "y": Tally(yes=1, score_count=2, score_total=9),
                "z": Tally(yes=1),  # No scores: after any mean.
            }
        )
    ) == ["y", "x", "z"]
    # 4. equal mean: more scores first.
    assert ids(
        shortlist(
            {
                "x": Tally(score_count=1, score_total=4),
                "y": Tally(score_count=2, score_total=8),
            }
        )
    ) == ["y", "x"]
    # 5. all equal: carousel order, unlisted products after listed ones.
    same = {"x": Tally(yes=1), "y": Tally(yes=1), "z": Tally(yes=1), "w": Tally(yes=1)}
    assert ids(shortlist(same, order=["z", "x"])) == ["z", "x", "w", "y"]
    # 6. then product id.
    assert ids(shortlist(same)) == ["w", "x", "y", "z"]


def test_shortlist_does_not_depend_on_input_order() -> None:
    items = [(str(i), Tally(yes=i % 3 + 1, no=i % 2)) for i in range(12)]
    forward = shortlist(dict(items), order=["7", "3"])
    backward = shortlist(dict(reversed(items)), order=["7", "3"])
    assert forward == backward
    assert len(forward) == 12 - 2  # "0"..: yes=1,no=1 for i=3 and 9 are not liked.


def test_shortlist_limit() -> None:
    tallies = {"a": Tally(yes=1), "b": Tally(yes=2), "c": Tally(yes=3)}
    assert ids(shortlist(tallies, limit=2)) == ["c", "b"]
    assert shortlist(tallies, limit=0) == []


def test_shortlist_picks_the_best_liked_variant() -> None:
    votes = [
        Vote("ann", "tee", YES, "tee-m"),
        Vote("bob", "tee", YES, "tee-l"),
        Vote("cid", "tee", YES, "tee-l"),
        Vote("dee", "tee", NO, "tee-s"),
        Vote("ann", "cap", YES, "cap-b"),
        Vote("bob", "cap", YES, "cap-a"),  # Tie: lower id.
        Vote("ann", "mug", YES),
        Vote("bob", "mug", NO, "mug-x"),  # Only a disliked variant: none picked.
        Vote("cid", "mug", YES),
    ]
    entries = {e.product_id: e.variant_id for e in shortlist(tally(votes))}
    assert entries == {"tee": "tee-l", "cap": "cap-a", "mug": None}


def test_round_moves_forward_with_the_clock() -> None:
    r = VoteRound(opens_at=100.0, closes_at=160.0)
    assert r.at(99.9).state is RoundState.SCHEDULED
    assert r.at(100.0).state is RoundState.OPEN  # opens_at included
    assert r.at(159.9).state is RoundState.OPEN
    assert r.at(160.0).state is RoundState.CLOSED  # closes_at excluded
    closed = r.at(200.0)
    assert closed.at(120.0) is closed  # Never back: a clock that steps back reopens nothing.
    opened = r.at(120.0)
    assert opened.at(50.0).state is RoundState.OPEN


def test_accepts() -> None:
    r = VoteRound(100.0, 160.0, ("tee", "boots"))
    assert not accepts(r, 99.0)
    assert accepts(r, 100.0)
    assert accepts(r, 130.0, "tee")
    assert not accepts(r, 130.0, "cap")
    assert not accepts(r, 160.0, "tee")
    everything = VoteRound.open_now(10.0, 30.0)
    assert everything.state is RoundState.OPEN and everything.closes_at == 40.0
    assert accepts(everything, 39.0, "anything")
    assert not accepts(everything, 40.0, "anything")


def test_close_early_is_idempotent() -> None:
    r = VoteRound.open_now(0.0, 60.0, ["tee"])
    closed = r.close(20.0)
    assert (closed.state, closed.closes_at) == (RoundState.CLOSED, 20.0)
    assert not accepts(closed, 20.0)
    assert not accepts(closed, 10.0)  # Closed is final, whatever the clock says.
    assert closed.close(30.0) == closed
    late = r.close(90.0)  # Already past its deadline: closed at the deadline.
    assert (late.state, late.closes_at) == (RoundState.CLOSED, 60.0)
    scheduled = VoteRound(100.0, 200.0).close(50.0)
    assert (scheduled.state, scheduled.opens_at, scheduled.closes_at) == (
        RoundState.CLOSED,
        100.0,
        100.0,
    )
    assert not accepts(scheduled, 150.0)


def test_remaining() -> None:
    r = VoteRound.open_now(0.0, 60.0)
    assert r.remaining(15.0) == 45.0
    assert r.remaining(60.0) == 0.0
    assert r.close(10.0).remaining(5.0) == 0.0


def test_round_invariants_and_dict() -> None:
    with pytest.raises(ValueError, match="cannot close before it opens"):
        VoteRound(10.0, 5.0)
    with pytest.raises(ValueError, match="needs products"):
        VoteRound(0.0, 5.0, ())
    with pytest.raises(ValueError, match="positive duration"):
        VoteRound.open_now(0.0, 0.0)
    r = VoteRound(1.0, 2.0, ("a", "b"), RoundState.OPEN)
    assert r.to_dict() == {
        "opens_at": 1.0,
        "closes_at": 2.0,
        "product_ids": ["a", "b"],
        "state": "open",
    }
    assert VoteRound.from_dict(r.to_dict()) == r
    everything = VoteRound(1.0, 2.0)
    assert VoteRound.from_dict(everything.to_dict()) == everything
