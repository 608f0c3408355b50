"""The RoomStore protocol: where room state lives (memory or Redis), chosen once at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Protocol

from rooms.models import Participant, RoomEvent, RoomInfo, RoomSnapshot


class EventSubscription(Protocol):
    """A live feed of one room's events, in ``seq`` order. Use as ``async with``.

    Iteration ends after ``room_closed`` or when the store closes; it raises
    SubscriptionLagged if events were lost (resync from a snapshot, subscribe again).
    """

    async def __aenter__(self) -> EventSubscription: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[RoomEvent]: ...


class RoomStore(Protocol):
    """Room state shared by every node. Every read-check-write is one atomic operation.

    Rooms are created on first join (or explicitly) with the store's default capacity.
    Each state change publishes exactly one RoomEvent carrying the room's next ``seq``.
    """

    async def create_room(self, room_id: str, *, capacity: int | None = None) -> RoomInfo:
        """Create the room if absent (idempotent); return its info. Raises RoomClosed."""
        ...

    async def get_room(self, room_id: str) -> RoomInfo | None: ...

    async def list_rooms(self) -> list[RoomInfo]: ...

    async def close_room(self, room_id: str) -> RoomEvent:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        ...

    async def join(self, room_id: str, participant: Participant) -> tuple[RoomSnapshot, RoomEvent]:
        """Admit under capacity atomically; publish ``participant_joined``.

        Raises RoomFull, RoomClosed or AlreadyJoined. Returns the snapshot just after the
        join and the event that announced it.
        """
        ...

    async def leave(self, room_id: str, participant_id: str, *, reason: str) -> RoomEvent | None:
        """Remove the participant and publish ``participant_left``; None if they were not in."""
        ...

    async def snapshot(self, room_id: str) -> RoomSnapshot:
        """The room's state now. Raises NotInRoom for an unknown room."""
        ...

    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish a free-form event (e.g. ``track_published``)."""
        ...

    def subscribe(self, room_id: str) -> EventSubscription:
        """Every event of the room published after the subscription is entered."""
        ...

    async def close(self) -> None:
        """Release connections and background tasks (idempotent)."""
        ...
