"""What one participant may do in a room's shopping now: the rules of rooms.shopping applied
to a role and the room's state, so that a client shows only what the server will accept.

The stores enforce the same functions (``can_move``, ``can_hand_remote``, ``can_lead``,
``can_buy``, ``vote_allowed``); nothing here is a second copy of a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rooms.models import Role
from rooms.shopping.carousel import RemoteMode, can_hand_remote, can_hold_remote, can_move
from rooms.shopping.votes import VoteRound, vote_allowed


def can_lead(role: Role) -> bool:
    """Set the remote mode, open and close vote rounds: hosts and admins."""
    return role in (Role.HOST, Role.ADMIN)


def can_buy(role: Role) -> bool:
    """Change the shared cart: everyone but viewers (they only watch)."""
    return role is not Role.VIEWER


@dataclass(frozen=True, slots=True)
class ShoppingPermissions:
    """One participant's shopping permissions as of one room state (the wire's ``may``)."""

    move: bool  # carousel_move
    hand_remote: bool  # remote_take, remote_pass
    hold_remote: bool  # may be handed the remote
    lead: bool  # remote_mode, vote_round_open, vote_round_close
    cart: bool  # cart_add, cart_remove
    vote_closed: tuple[str, ...]  # products whose votes (and retractions) are refused now

    def to_dict(self) -> dict[str, Any]:
        return {
            "move": self.move,
            "hand_remote": self.hand_remote,
            "hold_remote": self.hold_remote,
            "lead": self.lead,
            "cart": self.cart,
            "vote_closed": list(self.vote_closed),
        }


def permissions(
    role: Role,
    participant_id: str,
    *,
    mode: RemoteMode,
    holder: str | None,
    round: VoteRound | None,
    product_ids: Iterable[str],
    now: float,
) -> ShoppingPermissions:
    """What ``participant_id`` (of ``role``) may do with the carousel in ``mode`` held by
    ``holder``, and on which of ``product_ids`` votes are closed at ``now``."""
    holds = holder == participant_id
    return ShoppingPermissions(
        move=can_move(mode, role, holds),
        hand_remote=can_hand_remote(mode, role, holds),
        hold_remote=can_hold_remote(role),
        lead=can_lead(role),
        cart=can_buy(role),
        vote_closed=tuple(p for p in product_ids if not vote_allowed(round, now, p)),
    )
