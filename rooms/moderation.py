"""Host controls of a room (sans-IO): who may moderate, stage moves, slow mode for chat.

Both stores apply these rules (rooms/lua/mod_*.lua mirror them); the store contract suite
holds the two to the same results.
"""

from __future__ import annotations

import math

from rooms.errors import Forbidden, RoomFull
from rooms.models import Participant, Role, RoomKind

MAX_SLOW_MODE = 3600.0
"""Longest slow mode, in seconds between two chat messages of one participant."""


def is_moderator(role: Role) -> bool:
    """Hosts and admins moderate (and the HTTP API, which acts as an admin)."""
    return Role(role) in (Role.HOST, Role.ADMIN)


def check_moderator(actor: Participant | None, what: str) -> None:
    """Raise Forbidden unless ``actor`` (None: the HTTP API) may moderate."""
    if actor is not None and not is_moderator(actor.role):
        raise Forbidden(f"only hosts may {what}")


def check_target(actor: Participant | None, target: Participant, what: str) -> None:
    """A host acts on others, never on a host or admin nor on itself (Forbidden)."""
    if actor is not None and actor.id == target.id:
        raise Forbidden(f"you may not {what} yourself")
    if is_moderator(target.role):
        raise Forbidden(f"hosts may not {what} a host")


def check_stage_move(
    room_id: str,
    kind: RoomKind,
    actor: Participant | None,
    target: Participant,
    role: Role,
    *,
    stage_count: int,
    capacity: int,
) -> None:
    """Whether ``target`` may go to ``role``: a live room's viewer up to the stage (a guest,
    within its capacity: RoomFull) by a host, or a guest back to the audience by a host or by
    themselves. Anything else is Forbidden."""
    role = Role(role)
    if RoomKind(kind) is not RoomKind.LIVE:
        raise Forbidden("only a live room has a stage and an audience")
    stepping_down = actor is not None and actor.id == target.id and role is Role.VIEWER
    if not stepping_down:
        check_moderator(actor, "move people between the stage and the audience")
    moves = {(Role.VIEWER, Role.GUEST), (Role.GUEST, Role.VIEWER)}
    if (target.role, role) not in moves:
        raise Forbidden(f"a {target.role} cannot become a {role}")
    if role is Role.GUEST and stage_count >= capacity:
        raise RoomFull(room_id)


def check_hand(actor: Participant) -> None:
    """Only viewers raise (or lower) a hand to come up to the stage (Forbidden)."""
    if actor.role is not Role.VIEWER:
        raise Forbidden("only viewers raise their hand to come up to the stage")


def check_slow_mode(seconds: float) -> float:
    """``seconds`` if a valid slow mode (0 = off, up to MAX_SLOW_MODE); ValueError otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"invalid slow mode {seconds!r}: expected seconds")
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_SLOW_MODE:
        raise ValueError(f"slow mode must be 0-{MAX_SLOW_MODE:.0f} seconds, got {seconds!r}")
    return round(float(seconds), 3)


def slow_mode_wait(
    slow_mode: float, role: Role, last: float | None, now: float
) -> float | None:
    """Seconds a participant must still wait before chatting again under ``slow_mode``
    (``last``: when their latest message was accepted), or None if they may now. Hosts and
    admins are never slowed."""
    if slow_mode <= 0 or is_moderator(role) or last is None:
        return None
    wait = last + slow_mode - now
    return round(wait, 3) if wait > 0 else None
