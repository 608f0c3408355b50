"""Assembling a RoomSnapshot from raw room state, the same way in every store (sans-IO)."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.models import Participant, RoomInfo, RoomSnapshot
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
) -> RoomSnapshot:
    """A snapshot whose ``participant_count`` always matches its participants."""
    ordered = ordered_participants(participants)
    info = RoomInfo(
        id=room_id,
        capacity=capacity,
        closed=closed,
        created_at=created_at,
        participant_count=len(ordered),
    )
    return RoomSnapshot(room=info, seq=seq, participants=ordered, shopping=shopping)
