"""Plain data of a room: participants, events and snapshots (JSON-friendly, no I/O)."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic

from pydantic import BaseModel, ConfigDict, ValidationError
from typing_extensions import TypeVar

from rooms import events
from rooms.errors import MalformedEvent
from rooms.events import EventBody

if TYPE_CHECKING:
    from rooms.shopping_state import ShoppingSnapshot

DEFAULT_CAPACITY = 10

DEFAULT_AUDIENCE_CAPACITY = 1000
"""Viewers a live room admits (across every node) unless the store is given another figure."""

K = TypeVar("K", bound=EventBody)


class Role(StrEnum):
    """What a participant may do; viewers receive media but never publish."""

    VIEWER = "viewer"
    GUEST = "guest"
    HOST = "host"
    ADMIN = "admin"


class RoomKind(StrEnum):
    """A friends' ``group`` room (everyone takes a seat), or a ``live`` room: a stage of
    publishers (the room's capacity) and a receive-only audience of viewers (rooms.live)."""

    GROUP = "group"
    LIVE = "live"


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


B = TypeVar("B", bound=EventBody, default=EventBody, covariant=True)


@dataclass(frozen=True, slots=True)
class RoomEvent(Generic[B]):
    """A change to a room, numbered by the room's own sequence (1, 2, 3, ...); ``body`` says
    what changed, typed by its kind's declaration (rooms.events)."""

    room_id: str
    seq: int
    body: B

    @property
    def type(self) -> str:
        return self.body.type

    @property
    def data(self) -> dict[str, Any]:
        """The body as JSON ``data`` (what to_json carries)."""
        return self.body.to_data()

    def of_kind(self, kind: builtins.type[K]) -> RoomEvent[K]:
        """This event, checked to be of ``kind``; TypeError otherwise."""
        body = self.body
        if not isinstance(body, kind):
            raise TypeError(f"expected a {kind.KIND} event, got {self.type!r}")
        return RoomEvent(self.room_id, self.seq, body)

    def to_json(self) -> str:
        return json.dumps(envelope(self.room_id, self.seq, self.type, self.data),
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> RoomEvent:
        """Decode an event the way the stores publish it, its data validated against its
        kind's declaration: how events from outside this process (Redis) get in. Raises
        MalformedEvent."""
        try:
            decoded = _Envelope.model_validate_json(raw)
        except ValidationError as exc:
            raise MalformedEvent(f"not a room event: {_problems(exc)}") from None
        try:
            body = events.parse(decoded.type, decoded.data)
        except ValidationError as exc:
            raise MalformedEvent(
                f"{decoded.type} event (room {decoded.room_id}, seq {decoded.seq}) is not as "
                f"declared: {_problems(exc)}"
            ) from None
        return RoomEvent(decoded.room_id, decoded.seq, body)


def envelope(room_id: str, seq: object, type: str, data: object) -> dict[str, object]:
    """An event's JSON object (RoomEvent.to_json), also the layout of the scripts' templates."""
    return {"room_id": room_id, "seq": seq, "type": type, "data": data}


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    )


class _Envelope(BaseModel):
    """The JSON of a RoomEvent before its data is checked against its kind."""

    model_config = ConfigDict(extra="forbid", strict=True)

    room_id: str
    seq: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room's settings and status."""

    id: str
    capacity: int = DEFAULT_CAPACITY
    """Seats: everyone in a group room, the stage of a live room."""
    closed: bool = False
    created_at: float = 0.0
    participant_count: int = 0
    """Everyone in the room, the audience of a live room included."""
    kind: RoomKind = RoomKind.GROUP
    audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY
    """Viewers a live room admits besides its stage (unused in a group room)."""
    audience_count: int = 0
    """Viewers in the audience of a live room (always 0 in a group room)."""
    slow_mode: float = 0.0
    """Seconds between two chat messages of one participant (0: off; rooms.moderation)."""
    raised_hands: tuple[str, ...] = ()
    """Viewers with a raised hand (to come up to a live room's stage), sorted; filled in
    snapshots only (empty from get_room / list_rooms)."""


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
