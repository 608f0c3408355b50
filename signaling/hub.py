"""One subscription per room per node, fanned out to the node's local sockets in that room.

A ``RoomHub`` owns the task that reads the room's events from the RoomStore; ``RoomHubs`` creates
it for the first local member and closes it when the last one leaves (reference counting).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from rooms.errors import StoreUnavailable, SubscriptionLagged
from rooms.event_shapes import RoundInfo
from rooms.events import RoomClosed, VoteRoundClosed, VoteRoundOpened
from rooms.models import RoomEvent, RoomSnapshot
from rooms.store import RoomStore
from signaling.audience_feed import DEFAULT_INTERVAL, AudienceFeed, AudienceMember
from signaling.reaction_batch import actor_of
from signaling.rounds import RoundCloser

log = logging.getLogger(__name__)

RETRY_MIN = 0.1
RETRY_MAX = 1.0
"""Seconds between resubscription attempts at most: members must see a snapshot soon after
Redis returns (an attempt against a Redis that is down costs one refused connection)."""


class RoomMember(AudienceMember, Protocol):
    """A local receiver of room events (a signaling session). Its calls must not block."""

    def deliver(self, event: RoomEvent) -> None: ...

    def resync_needed(self) -> None:
        """The subscription was re-established: events may have been missed."""
        ...


class RoomHub:
    """This node's subscription to one room, delivering each event to every local member."""

    def __init__(
        self,
        store: RoomStore,
        room_id: str,
        *,
        feed_lost: Callable[[], None] = lambda: None,
        reaction_interval: float = DEFAULT_INTERVAL,
        observe: Callable[[RoomEvent], None] = lambda event: None,
    ) -> None:
        """``observe``: sees every event first (webhooks); it must not block."""
        self.room_id = room_id
        self.members: set[RoomMember] = set()
        self.rounds = RoundCloser(store, room_id)
        self.audience = AudienceFeed(room_id, self.members, interval=reaction_interval)
        self._store = store
        self._feed_lost = feed_lost
        self._observe = observe
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"room-hub:{room_id}")

    async def wait_ready(self) -> None:
        """Return once the subscription is live (events published from now on arrive)."""
        await asyncio.shield(self._ready)

    async def close(self) -> None:
        """Stop the subscription task and the round closer (idempotent)."""
        self._task.cancel()
        await asyncio.wait([self._task])
        await self.rounds.close()
        await self.audience.close()
        if not self._ready.done():
            self._ready.cancel()

    async def _run(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                async with self._store.subscribe(self.room_id) as subscription:
                    if self._ready.done():
                        log.info("room %s: resubscribed; members resync", self.room_id)
                        for member in tuple(self.members):
                            member.resync_needed()
                        self._feed_lost()  # the store may have lost state meanwhile
                    else:
                        self._ready.set_result(None)
                    delay = RETRY_MIN
                    async for event in subscription:
                        self._observe(event)
                        if isinstance(event.body, VoteRoundOpened | VoteRoundClosed):
                            self.rounds.watch(event.body.round)
                        folded = self.audience.fold(event)
                        actor = actor_of(event) if folded else None
                        for member in tuple(self.members):
                            if folded and member.in_audience and member.member_id != actor:
                                continue  # it comes in reaction_counts (audience_feed)
                            member.deliver(event)
                        if isinstance(event.body, RoomClosed):
                            return  # The room's last event; members leave on their own.
                log.warning("room %s: event feed ended; resubscribing", self.room_id)
            except SubscriptionLagged as exc:
                log.warning("room %s: %s; resubscribing", self.room_id, exc)
                self._feed_lost()
            except StoreUnavailable as exc:
                if not self._ready.done():
                    self._ready.set_exception(exc)
                    return
                log.debug("room %s: %s; retrying", self.room_id, exc)
            except Exception as exc:
                if not self._ready.done():
                    # Nobody is in the room yet: report to the joiners instead of retrying.
                    self._ready.set_exception(exc)
                    return
                log.exception("room %s: event subscription failed; retrying", self.room_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


class RoomHubs:
    """The node's hubs by room id, reference-counted by their members."""

    def __init__(
        self,
        store: RoomStore,
        *,
        feed_lost: Callable[[], None] = lambda: None,
        reaction_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        """``feed_lost``: called when a room's event feed broke or came back (check the store);
        ``reaction_interval``: seconds between two ``reaction_counts`` to a live room's
        audience at most."""
        self._store = store
        self.feed_lost = feed_lost
        self.observe: Callable[[RoomEvent], None] = lambda event: None
        """Sees every event of every room with a member here (webhooks); must not block."""
        self._reaction_interval = reaction_interval
        self._hubs: dict[str, RoomHub] = {}

    async def add(self, room_id: str, member: RoomMember) -> None:
        """Make ``member`` receive the room's events; returns once the subscription is live."""
        hub = self._hubs.get(room_id)
        if hub is None:
            hub = self._hubs[room_id] = RoomHub(
                self._store, room_id, feed_lost=lambda: self.feed_lost(),
                reaction_interval=self._reaction_interval,
                observe=lambda event: self.observe(event),
            )
        hub.members.add(member)
        try:
            await hub.wait_ready()
        except BaseException:
            await self.remove(room_id, member)
            raise

    async def remove(self, room_id: str, member: RoomMember) -> None:
        """Stop delivering to ``member``; the last member out closes the subscription."""
        hub = self._hubs.get(room_id)
        if hub is None or member not in hub.members:
            return
        hub.members.discard(member)
        if not hub.members:
            del self._hubs[room_id]
            await hub.close()

    def watch_round(self, room_id: str, round: RoundInfo | None) -> None:
        """A member saw the room's round in a snapshot: close it at its deadline."""
        hub = self._hubs.get(room_id)
        if hub is not None:
            hub.rounds.watch(round)

    def watch_audience(self, room_id: str, snapshot: RoomSnapshot) -> None:
        """A member saw the room in a snapshot: the audience roster starts from it (if newer)."""
        hub = self._hubs.get(room_id)
        if hub is not None:
            hub.audience.seed(snapshot)

    def members(self, room_id: str) -> frozenset[RoomMember]:
        """This node's members of ``room_id`` now."""
        hub = self._hubs.get(room_id)
        return frozenset() if hub is None else frozenset(hub.members)

    def room_ids(self) -> list[str]:
        """Rooms with at least one member on this node."""
        return list(self._hubs)

    async def close(self) -> None:
        """Close every subscription (idempotent)."""
        hubs, self._hubs = list(self._hubs.values()), {}
        for hub in hubs:
            hub.members.clear()
            await hub.close()
