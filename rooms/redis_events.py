"""RedisEventHub: one pub/sub connection per store, fanning room channels out to subscriber queues.

Each subscriber sends its own SUBSCRIBE (a no-op for Redis if the channel is already
subscribed) and starts receiving at that command's confirmation, so it gets exactly the events
published after it was entered. Channels are refcounted: UNSUBSCRIBE goes out when the last
subscriber leaves. Redis confirms (UN)SUBSCRIBEs in the order they were sent, which is how a
confirmation is matched to its subscriber.

Each message is decoded once and validated against its kind's declaration (RoomEvent.from_json):
a malformed one is dropped there, with a warning, and the subscriptions carry on.

If the connection fails, every subscriber gets SubscriptionLagged (events may be lost) and
the next subscription opens a new connection; the connection's client never retries,
since a silent reconnect would hide the gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from rooms.errors import MalformedEvent, SubscriptionLagged
from rooms.models import RoomEvent
from rooms.subscription import EventQueue

logger = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class _Pending:
    """A SUBSCRIBE (for ``queue``) or an UNSUBSCRIBE (``queue`` None) awaiting its confirmation."""

    queue: EventQueue | None
    confirmed: asyncio.Future[None] | None = None
    abandoned: bool = False  # its subscriber left before the confirmation came


@dataclass(eq=False, slots=True)
class _Channel:
    active: set[EventQueue] = field(default_factory=set)
    unconfirmed: deque[_Pending] = field(default_factory=deque)
    subscribe_sent: bool = False  # the last command sent for the channel was SUBSCRIBE

    def wanted(self) -> bool:
        """Some subscriber is active or still waiting for its confirmation."""
        return bool(self.active) or any(
            p.queue is not None and not p.abandoned for p in self.unconfirmed
        )

    def idle(self) -> bool:
        return not self.active and not self.unconfirmed and not self.subscribe_sent


class RedisEventHub:
    """Shared pub/sub of one RedisStore: attaches queues to channels; owns its listener task."""

    def __init__(self, redis_url: str) -> None:
        self._client = Redis.from_url(
            redis_url, decode_responses=True, retry=Retry(NoBackoff(), 0)
        )
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._channels: dict[str, _Channel] = {}
        # Held while a (UN)SUBSCRIBE is queued and written, so send order == confirmation order.
        # Any failure or cancellation of such a write resets the connection: the order is lost.
        self._lock = asyncio.Lock()
        self._closed = False

    async def attach(self, channel: str, queue: EventQueue) -> None:
        """Deliver ``channel``'s events to ``queue`` from the moment Redis confirms it."""
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        async with self._lock:
            if self._closed:
                raise RuntimeError("RedisStore is closed")
            if self._pubsub is None:
                self._pubsub = self._client.pubsub()
            pubsub = self._pubsub
            state = self._channels.setdefault(channel, _Channel())
            state.unconfirmed.append(_Pending(queue, confirmed))
            state.subscribe_sent = True
            try:
                await pubsub.subscribe(channel)
            except BaseException as exc:
                confirmed.cancel()  # nobody will await it: this call raises exc instead
                await self._reset(exc)
                raise
            if self._listener is None:
                # Only now: the listener reads from the connection the first SUBSCRIBE opened.
                self._listener = asyncio.create_task(
                    self._listen(pubsub), name="coshop-redis-room-events"
                )
        try:
            await confirmed
        except asyncio.CancelledError:
            await self.detach(channel, queue)
            raise

    async def detach(self, channel: str, queue: EventQueue) -> None:
        """Stop delivering to ``queue``; UNSUBSCRIBE once no subscriber wants the channel."""
        async with self._lock:
            state = self._channels.get(channel)
            if state is None or self._pubsub is None:
                return
            state.active.discard(queue)
            for pending in state.unconfirmed:
                if pending.queue is queue:
                    pending.abandoned = True
            if state.subscribe_sent and not state.wanted():
                state.unconfirmed.append(_Pending(None))
                state.subscribe_sent = False
                try:
                    await self._pubsub.unsubscribe(channel)
                except BaseException as exc:
                    await self._reset(exc)
                    if not isinstance(exc, Exception):
                        raise
                    # Leaving must not fail: the reset already told the other subscribers.
                    logger.warning("UNSUBSCRIBE %s failed: %r", channel, exc)
                    return
            # While UNSUBSCRIBE was written, its confirmation may have come and the listener
            # dropped the channel already (or a reset replaced every channel).
            if state.idle() and self._channels.get(channel) is state:
                del self._channels[channel]

    async def close(self) -> None:
        """End every subscription, stop the listener, close the connection (idempotent)."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            await self._reset(None)
        await self._client.aclose()

    async def _listen(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
        except Exception as exc:
            logger.warning("Redis pub/sub connection failed, subscribers must resync: %r", exc)
            async with self._lock:
                if self._pubsub is pubsub:
                    await self._reset(exc)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        state = self._channels.get(channel)
        if kind == "message":
            if state is None or not state.active:
                return  # its subscribers left while the message was in flight
            try:
                event = RoomEvent.from_json(message["data"])
            except MalformedEvent as exc:
                # Not what its declaration says (another version's, or forged): nobody gets it.
                logger.warning("dropping an event on %s: %s", channel, exc)
                return
            for queue in state.active:
                queue.put(event)
        elif kind in ("subscribe", "unsubscribe"):
            if state is None or not state.unconfirmed:
                raise RuntimeError(f"unexpected {kind} confirmation for {channel}")
            pending = state.unconfirmed.popleft()
            if (pending.queue is None) != (kind == "unsubscribe"):
                raise RuntimeError(f"{kind} confirmation out of order for {channel}")
            fut = pending.confirmed
            if pending.queue is not None and not pending.abandoned and fut and not fut.done():
                state.active.add(pending.queue)
                fut.set_result(None)
            if state.idle():
                del self._channels[channel]

    async def _reset(self, reason: BaseException | None) -> None:
        """Drop the connection and its listener (lock held); subscribers lag, or end if closing."""
        pubsub, listener, channels = self._pubsub, self._listener, self._channels
        self._pubsub, self._listener, self._channels = None, None, {}
        for state in channels.values():
            for queue in state.active:
                if reason is None:
                    queue.end()
                else:
                    lagged = SubscriptionLagged(f"{queue.room_id}: Redis pub/sub connection lost")
                    lagged.__cause__ = reason
                    queue.fail(lagged)
            for pending in state.unconfirmed:
                if pending.confirmed is not None and not pending.confirmed.done():
                    pending.confirmed.set_exception(
                        RuntimeError("RedisStore is closed")
                        if reason is None
                        else RedisConnectionError("Redis pub/sub connection was reset")
                    )
        if listener is not None and listener is not asyncio.current_task():
            listener.cancel()
            await asyncio.wait([listener])
        if pubsub is not None:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # untyped before redis-py 8.2
