"""rooms.shopping.permissions: the rules applied to one participant (the wire's ``may``)."""

from __future__ import annotations

import pytest

from rooms.models import Role
from rooms.shopping import RemoteMode, VoteRound, permissions

PRODUCTS = ("tee", "cap", "bag")


def may(role: Role, *, mode: RemoteMode = RemoteMode.HOST_LED, holder: str | None = None,
        round: VoteRound | None = None, now: float = 100.0) -> dict[str, object]:
    return permissions(role, "me", mode=mode, holder=holder, round=round, product_ids=PRODUCTS,
                       now=now).to_dict()


@pytest.mark.parametrize(
    ("role", "mode", "holder", "move"),
    [
        (Role.HOST, RemoteMode.HOST_LED, None, True),
        (Role.ADMIN, RemoteMode.HOST_LED, "other", True),
        (Role.GUEST, RemoteMode.HOST_LED, None, False),
        (Role.GUEST, RemoteMode.HOST_LED, "other", False),
        (Role.GUEST, RemoteMode.HOST_LED, "me", True),
        (Role.GUEST, RemoteMode.EVERYONE, None, True),
        (Role.VIEWER, RemoteMode.EVERYONE, None, False),
    ],
)
def test_who_may_move_and_hand_the_remote(
    role: Role, mode: RemoteMode, holder: str | None, move: bool
) -> None:
    got = may(role, mode=mode, holder=holder)
    assert (got["move"], got["hand_remote"]) == (move, move)


def test_roles() -> None:
    assert may(Role.HOST)["lead"] and may(Role.HOST)["cart"]
    assert not may(Role.GUEST)["lead"] and may(Role.GUEST)["cart"]
    viewer = may(Role.VIEWER)
    assert (viewer["lead"], viewer["cart"], viewer["hold_remote"]) == (False, False, False)


def test_vote_closed_follows_the_round() -> None:
    assert may(Role.GUEST)["vote_closed"] == []
    round = VoteRound.open_now(now=100.0, duration=60.0, product_ids=("cap",))
    assert may(Role.GUEST, round=round, now=120.0)["vote_closed"] == ["tee", "bag"]
    # Past its deadline the round's results stand: its products are closed, the others free.
    assert may(Role.GUEST, round=round, now=200.0)["vote_closed"] == ["cap"]
