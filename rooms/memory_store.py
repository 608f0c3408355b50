"""MemoryStore: the embedded single-node RoomStore (no Redis), with in-process event fan-out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from rooms.errors import AlreadyJoined, NotInRoom, RoomClosed, RoomFull
from rooms.events import (
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    ROOM_CLOSED,
    json_data,
    participant_joined_data,
    participant_left_data,
    validate_custom_type,
)
from rooms.models import DEFAULT_CAPACITY, Participant, RoomEvent, RoomInfo, RoomSnapshot
from rooms.snapshots import make_snapshot
from rooms.subscription import DEFAULT_SUBSCRIPTION_BUFFER, EventQueue, QueueSubscription
from rooms.validation import validate_capacity, validate_room_id


@dataclasses.dataclass(slots=True)
class _Room:
    capacity: int
    created_at: float
    closed: bool = False
    seq: int = 0
    participants: dict[str, Participant] = dataclasses.field(default_factory=dict)


class MemoryStore:
    """RoomStore held in this process; atomic because no method awaits between read and write.

    Subscribers get events through bounded queues (see rooms.subscription for overflow).
    The store stamps ``joined_at`` and ``created_at`` with ``clock()``.
    """

    def __init__(
        self,
        *,
        default_capacity: int = DEFAULT_CAPACITY,
        subscription_buffer: int = DEFAULT_SUBSCRIPTION_BUFFER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.default_capacity = validate_capacity(default_capacity)
        self._subscription_buffer = subscription_buffer
        self._clock = clock
        self._rooms: dict[str, _Room] = {}
        self._subscribers: dict[str, set[EventQueue]] = {}
        self._closed = False

    async def create_room(self, room_id: str, *, capacity: int | None = None) -> RoomInfo:
        """Create the room if absent (an existing room keeps its capacity). Raises RoomClosed."""
        room = self._create_if_absent(room_id, capacity)
        if room.closed:
            raise RoomClosed(room_id)
        return self._info(room_id, room)

    async def get_room(self, room_id: str) -> RoomInfo | None:
        """The room's info, or None if it does not exist."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        return None if room is None else self._info(room_id, room)

    async def list_rooms(self) -> list[RoomInfo]:
        """Every room, closed ones included, ordered by id."""
        self._check_open()
        return [self._info(room_id, self._rooms[room_id]) for room_id in sorted(self._rooms)]

    async def close_room(self, room_id: str) -> RoomEvent:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        room = self._existing_open(room_id)
        room.closed = True
        room.participants.clear()
        return self._emit(room_id, room, ROOM_CLOSED, {})

    async def join(self, room_id: str, participant: Participant) -> tuple[RoomSnapshot, RoomEvent]:
        """Admit under capacity, creating the room if absent; publish ``participant_joined``."""
        room = self._create_if_absent(room_id, None)
        if room.closed:
            raise RoomClosed(room_id)
        if participant.id in room.participants:
            raise AlreadyJoined(f"{participant.id} in {room_id}")
        if len(room.participants) >= room.capacity:
            raise RoomFull(room_id)
        joined = dataclasses.replace(participant, joined_at=self._clock())
        room.participants[joined.id] = joined
        event = self._emit(room_id, room, PARTICIPANT_JOINED, participant_joined_data(joined))
        return self._snapshot(room_id, room), event

    async def leave(self, room_id: str, participant_id: str, *, reason: str) -> RoomEvent | None:
        """Remove the participant and publish ``participant_left``; None if they were not in."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        if room is None or room.participants.pop(participant_id, None) is None:
            return None
        data = participant_left_data(participant_id, reason)
        return self._emit(room_id, room, PARTICIPANT_LEFT, data)

    async def snapshot(self, room_id: str) -> RoomSnapshot:
        """The room's state now. Raises NotInRoom for an unknown room."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        if room is None:
            raise NotInRoom(room_id)
        return self._snapshot(room_id, room)

    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish a free-form event. Raises NotInRoom, RoomClosed, ValueError."""
        validate_custom_type(type)
        data = json_data(data)  # before any change: data that cannot be JSON changes nothing
        room = self._existing_open(room_id)
        return self._emit(room_id, room, type, data)

    def subscribe(self, room_id: str) -> QueueSubscription:
        """Every event of the room published after the subscription is entered."""
        self._check_open()
        queue = EventQueue(validate_room_id(room_id), self._subscription_buffer)
        return QueueSubscription(queue, attach=self._attach, detach=self._detach)

    async def close(self) -> None:
        """End every subscription; later calls on the store raise RuntimeError (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for queues in self._subscribers.values():
            for queue in queues:
                queue.end()
        self._subscribers.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("MemoryStore is closed")

    def _create_if_absent(self, room_id: str, capacity: int | None) -> _Room:
        self._check_open()
        validate_room_id(room_id)
        wanted = self.default_capacity if capacity is None else validate_capacity(capacity)
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(capacity=wanted, created_at=self._clock())
        return room

    def _existing_open(self, room_id: str) -> _Room:
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        if room is None:
            raise NotInRoom(room_id)
        if room.closed:
            raise RoomClosed(room_id)
        return room

    def _emit(self, room_id: str, room: _Room, type: str, data: dict[str, Any]) -> RoomEvent:
        room.seq += 1
        event = RoomEvent(room_id=room_id, seq=room.seq, type=type, data=data)
        for queue in self._subscribers.get(room_id, ()):
            queue.put(event)
        return event

    async def _attach(self, queue: EventQueue) -> None:
        self._check_open()
        self._subscribers.setdefault(queue.room_id, set()).add(queue)

    async def _detach(self, queue: EventQueue) -> None:
        queues = self._subscribers.get(queue.room_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[queue.room_id]

    @staticmethod
    def _info(room_id: str, room: _Room) -> RoomInfo:
        return RoomInfo(
            id=room_id,
            capacity=room.capacity,
            closed=room.closed,
            created_at=room.created_at,
            participant_count=len(room.participants),
        )

    @staticmethod
    def _snapshot(room_id: str, room: _Room) -> RoomSnapshot:
        return make_snapshot(
            room_id,
            capacity=room.capacity,
            closed=room.closed,
            created_at=room.created_at,
            seq=room.seq,
            participants=room.participants.values(),
        )
