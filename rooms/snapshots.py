"""Assembling a RoomSnapshot from raw room state, the same way in every store (sans-IO)."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.live import Seat, seat_of
from rooms.models import (
    DEFAULT_AUDIENCE_CAPACITY,
    Participant,
    Role,
    RoomInfo,
    RoomKind,
    RoomSnapshot,
)
from rooms.shopping_state import ShoppingSnapshot


def ordered_participants(participants: Iterable[Participant]) -> tuple[Participant, ...]:
    """Participants in join order (ties broken by id), so snapshots compare equal across stores."""
    return tuple(sorted(participants, key=lambda p: (p.joined_at, p.id)))


def make_snapshot(
    room_id: str,
    *,
    capacity: int,
    closed: bool,
    created_at: float,
    seq: int,
    participants: Iterable[Participant],
    shopping: ShoppingSnapshot,
    kind: RoomKind = RoomKind.GROUP,
    audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY,
    slow_mode: float = 0.0,
    raised_hands: Iterable[str] = (),
    unlisted_audience: int = 0,
) -> RoomSnapshot:
    """A snapshot whose ``participant_count`` (and ``audience_count``) always match its
    participants, plus ``unlisted_audience`` viewers of a live room left out of them (a
    viewer's join lists the stage and itself only)."""
    ordered = ordered_participants(participants)
    info = RoomInfo(
        id=room_id,
        capacity=capacity,
        closed=closed,
        created_at=created_at,
        participant_count=len(ordered) + unlisted_audience,
        kind=kind,
        audience_capacity=audience_capacity,
        audience_count=audience_count(kind, ordered) + unlisted_audience,
        slow_mode=slow_mode,
        raised_hands=tuple(sorted(
            set(raised_hands) & {p.id for p in ordered if p.role is Role.VIEWER}
        )),
    )
    return RoomSnapshot(room=info, seq=seq, participants=ordered, shopping=shopping)


def audience_count(kind: RoomKind, participants: Iterable[Participant]) -> int:
    """How many of ``participants`` sit in the audience (viewers of a live room)."""
    return sum(1 for p in participants if seat_of(kind, p.role) is Seat.AUDIENCE)
