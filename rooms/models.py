"""Plain data of a room: participants, events and snapshots (JSON-friendly, no I/O)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rooms.shopping_state import ShoppingSnapshot

DEFAULT_CAPACITY = 10


class Role(StrEnum):
    """What a participant may do; viewers receive media but never publish."""

    VIEWER = "viewer"
    GUEST = "guest"
    HOST = "host"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Participant:
    """One person (or synthetic peer) in a room."""

    id: str
    name: str
    role: Role = Role.GUEST
    joined_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": str(self.role),
            "joined_at": self.joined_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            role=Role(data.get("role", Role.GUEST)),
            joined_at=float(data.get("joined_at", 0.0)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Participant:
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """A change to a room, numbered by the room's own sequence (1, 2, 3, ...)."""

    room_id: str
    seq: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> RoomEvent:
        d = json.loads(raw)
        return cls(room_id=d["room_id"], seq=int(d["seq"]), type=d["type"], data=d.get("data", {}))


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room's settings and status."""

    id: str
    capacity: int = DEFAULT_CAPACITY
    closed: bool = False
    created_at: float = 0.0
    participant_count: int = 0


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """Everything a (re)joining client needs, consistent as of event ``seq``."""

    room: RoomInfo
    seq: int
    participants: tuple[Participant, ...]
    shopping: ShoppingSnapshot


@dataclass(frozen=True, slots=True)
class Reassertion:
    """What ``RoomStore.reassert`` found and did for one room (participant ids in each)."""

    created: bool = False
    """The room was gone (the store lost it) and was created again, empty but for the live."""
    rejoined: tuple[str, ...] = ()
    """Live participants the room had lost, admitted again (``participant_joined``)."""
    superseded: tuple[str, ...] = ()
    """Live participants whose place a newer session of theirs holds (elsewhere)."""
    refused: tuple[str, ...] = ()
    """Live participants the room had lost and had no room for any more."""
    removed: tuple[str, ...] = ()
    """Participants under this node's lease without a live session (``participant_left``)."""
