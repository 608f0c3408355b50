"""The subscriber side of room events: a bounded queue per subscriber, and the subscription over it.

A store's fan-out never waits for a subscriber. When a subscriber falls ``maxsize`` events
behind, its buffered events are dropped and its iterator raises SubscriptionLagged: the
reader must resync from a snapshot and subscribe again (a silent gap could lose
``room_closed``). The iterator ends after delivering ``room_closed`` or when the store closes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from enum import Enum
from types import TracebackType
from typing import Self

from rooms.errors import SubscriptionLagged
from rooms.events import RoomClosed
from rooms.models import RoomEvent

DEFAULT_SUBSCRIPTION_BUFFER = 1024
"""Events a subscriber may fall behind before it is told it lagged."""


class EventQueue:
    """Bounded, never-blocking buffer between a store's fan-out and one subscriber."""

    def __init__(self, room_id: str, maxsize: int = DEFAULT_SUBSCRIPTION_BUFFER) -> None:
        if maxsize < 1:
            raise ValueError(f"invalid subscription buffer {maxsize!r}: expected >= 1")
        self.room_id = room_id
        self._maxsize = maxsize
        self._items: deque[RoomEvent] = deque()
        self._wakeup = asyncio.Event()
        # Set once the feed is over: StopAsyncIteration (normal end) or the error to raise.
        self._outcome: BaseException | None = None

    @property
    def finished(self) -> bool:
        """True once no further event will be accepted."""
        return self._outcome is not None

    def put(self, event: RoomEvent) -> None:
        """Buffer ``event``; on overflow drop the backlog and mark the subscriber lagged."""
        if self._outcome is not None:
            return
        if len(self._items) >= self._maxsize:
            behind = f"room {self.room_id}: subscriber fell {self._maxsize} events behind"
            self.fail(SubscriptionLagged(behind))
            return
        self._items.append(event)
        if isinstance(event.body, RoomClosed):
            self._outcome = StopAsyncIteration()
        self._wakeup.set()

    def fail(self, error: BaseException) -> None:
        """End the feed with ``error``, dropping whatever is still buffered."""
        if self._outcome is None:
            self._items.clear()
            self._outcome = error
            self._wakeup.set()

    def end(self) -> None:
        """End the feed normally once the buffered events are read (the store closed)."""
        if self._outcome is None:
            self._outcome = StopAsyncIteration()
            self._wakeup.set()

    async def get(self) -> RoomEvent:
        """The next event; raises StopAsyncIteration at the end, or the error it failed with."""
        while True:
            if self._items:
                return self._items.popleft()
            if self._outcome is not None:
                raise self._outcome
            self._wakeup.clear()
            await self._wakeup.wait()


class SubscriptionState(Enum):
    """Life of a subscription: entered at most once, then closed for good."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


QueueHook = Callable[[EventQueue], Awaitable[None]]


class QueueSubscription:
    """An EventSubscription reading one EventQueue; the store says how to attach and detach it."""

    def __init__(self, queue: EventQueue, *, attach: QueueHook, detach: QueueHook) -> None:
        self._queue = queue
        self._attach = attach
        self._detach = detach
        self.state = SubscriptionState.NEW

    @property
    def room_id(self) -> str:
        """The room whose events this subscription carries."""
        return self._queue.room_id

    async def __aenter__(self) -> Self:
        if self.state is not SubscriptionState.NEW:
            raise RuntimeError("a subscription can be entered only once")
        # CLOSED first: a failed attach must not leave something __aexit__ would detach twice.
        self.state = SubscriptionState.CLOSED
        await self._attach(self._queue)
        self.state = SubscriptionState.OPEN
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state is SubscriptionState.OPEN:
            self.state = SubscriptionState.CLOSED
            self._queue.end()
            await self._detach(self._queue)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RoomEvent:
        if self.state is SubscriptionState.NEW:
            raise RuntimeError("enter the subscription (async with) before iterating it")
        if self.state is SubscriptionState.CLOSED:
            raise StopAsyncIteration
        return await self._queue.get()
