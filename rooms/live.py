"""Who sits where in a room (sans-IO): the stage or the audience of a live room.

A group room has one kind of seat: everyone counts against its capacity. A live room's
capacity is its stage (the host and guests who publish); its viewers sit in the audience,
which has a capacity of its own (counted across every node by the shared store).
"""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import AudienceFull, RoomFull
from rooms.models import Role, RoomKind


class Seat(StrEnum):
    """Where a participant counts."""

    STAGE = "stage"
    AUDIENCE = "audience"


def seat_of(kind: RoomKind, role: Role) -> Seat:
    """The audience for viewers of a live room; the stage for everyone else."""
    if RoomKind(kind) is RoomKind.LIVE and Role(role) is Role.VIEWER:
        return Seat.AUDIENCE
    return Seat.STAGE


def check_seat(
    room_id: str,
    seat: Seat,
    *,
    stage_count: int,
    audience_count: int,
    capacity: int,
    audience_capacity: int,
) -> None:
    """Raise AudienceFull / RoomFull if ``seat`` has no room left; the counts exclude the
    participant being admitted."""
    if seat is Seat.AUDIENCE:
        if audience_count >= audience_capacity:
            raise AudienceFull(room_id)
    elif stage_count >= capacity:
        raise RoomFull(room_id)
