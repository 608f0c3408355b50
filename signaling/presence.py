"""This node's presence in the shared store: it renews its lease, reaps the participants of
nodes whose lease lapsed, and after a store outage puts its live participants back.

Redis keeps each participant under its node's lease (rooms.redis_keys.NODE_LEASE). A node
renews every ``presence_heartbeat`` seconds; one that stops (SIGKILL, a partition) is presumed
dead ``presence_lease`` seconds later, and any other node removes its participants within
``reap_interval`` more (``participant_left``, reason ``node_lost``).

When Redis is unreachable every operation answers ``unavailable`` and the sockets are told
once. When it answers again, and found the lease lapsed (Redis lost its data, or this node
was cut off long enough to be reaped) or the node went through an outage, every room with a
local socket is reasserted: created again if Redis lost it (logged: its shopping state is
gone), its lost participants re-joined, the seq continued, then every socket gets a snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from rooms.errors import RoomClosed, StoreUnavailable
from rooms.models import Participant, RoomInfo
from rooms.placement import NodeEntry
from signaling.cancelling import raise_if_cancelling

if TYPE_CHECKING:
    from signaling.node import Node

log = logging.getLogger(__name__)


class SeatHolder(Protocol):
    """Whoever holds a seat in a room from this node: a socket's session, or a WHIP ingest
    (signaling.whip). Recovery puts each back in its room."""

    @property
    def room_id(self) -> str | None: ...

    @property
    def participant(self) -> Participant | None: ...

    @property
    def seq(self) -> int: ...

    @property
    def room_info(self) -> RoomInfo | None: ...

    def lost_seat(self, reason: str) -> None: ...

    def resync_needed(self) -> None: ...

    def move_to(self, node: NodeEntry, reason: str) -> None:
        """The room is served by ``node`` now (this node drains, or it was re-pinned)."""
        ...


class PresenceState(Enum):
    """STARTING -> UP <-> DOWN (the store is unreachable) -> CLOSED."""

    STARTING = "starting"
    UP = "up"
    DOWN = "down"
    CLOSED = "closed"


class Presence:
    """The node's lease keeper and reaper: two loops, started with the node, closed with it."""

    def __init__(self, node: Node) -> None:
        self.state = PresenceState.STARTING
        self._node = node
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._dirty = False  # some leave failed: reassert even if the lease held
        self._up_since = 0.0
        self._down_since = 0.0

    def start(self) -> None:
        """Start the heartbeat and reaper loops (owned: ``close`` cancels and awaits them)."""
        if self._tasks:
            return
        node_id = self._node.settings.node_id
        self._tasks = [
            asyncio.create_task(self._heartbeats(), name=f"presence-heartbeat:{node_id}"),
            asyncio.create_task(self._reaps(), name=f"presence-reaper:{node_id}"),
        ]

    def check_soon(self) -> None:
        """Something suggests the store went away or came back: renew now, not at the next beat."""
        self._wake.set()

    def mark_dirty(self) -> None:
        """A participant's leave could not reach the store: reassert its room at the next
        successful renewal, so it does not stay behind as a ghost."""
        self._dirty = True
        self._wake.set()

    async def close(self) -> None:
        """Stop both loops and give up the lease (idempotent; after the sockets left)."""
        if self.state is PresenceState.CLOSED:
            return
        self.state = PresenceState.CLOSED
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        try:
            await self._node.store.release_presence()
        except StoreUnavailable as exc:
            log.warning("could not release the presence lease (it lapses by itself): %s", exc)

    # --- loops -----------------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        interval = self._node.settings.presence_heartbeat
        while True:
            self._wake.clear()
            try:
                await self._beat()
            except Exception:
                log.exception("presence heartbeat failed")
            raise_if_cancelling()  # one redis-py swallowed (signaling.cancelling)
            try:
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _beat(self) -> None:
        store, loop = self._node.store, asyncio.get_running_loop()
        try:
            held = await store.renew_presence()
        except StoreUnavailable as exc:
            self._went_down(exc)
            return
        previous = self.state
        if previous is PresenceState.STARTING:
            self.state, self._up_since = PresenceState.UP, loop.time()
            return
        if previous is PresenceState.DOWN or not held or self._dirty:
            why = (
                f"store back after {loop.time() - self._down_since:.1f} s"
                if previous is PresenceState.DOWN
                else "presence lease had lapsed" if not held else "a leave had failed"
            )
            try:
                await self.recover(why)
            except StoreUnavailable as exc:
                self._went_down(exc)
                return
        if self.state is not PresenceState.UP:
            self.state, self._up_since = PresenceState.UP, loop.time()

    def _went_down(self, exc: StoreUnavailable) -> None:
        if self.state is PresenceState.DOWN:
            return
        self.state = PresenceState.DOWN
        self._down_since = asyncio.get_running_loop().time()
        sessions = self._node.joined_sessions()
        log.warning("room state unavailable (%s); telling %d sockets, retrying every %.1f s",
                    exc, len(sessions), self._node.settings.presence_heartbeat)
        for session in sessions:
            session.store_unavailable(exc.retry_after)

    async def _reaps(self) -> None:
        settings = self._node.settings
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.reap_interval)
            # Only after a whole lease connected: after an outage every lease looks lapsed,
            # and the other nodes need one renewal to show they are alive.
            if self.state is not PresenceState.UP:
                continue
            if loop.time() - self._up_since < settings.presence_lease:
                continue
            try:
                reaped = await self._node.store.reap_lost_nodes()
            except StoreUnavailable:
                continue  # the heartbeat notices and reports it
            except Exception:
                log.exception("reaping lost nodes failed")
                continue
            for event in reaped:
                log.warning("room %s: %s reaped (its node's presence lease lapsed)",
                            event.room_id, event.body.participant_id)

    # --- recovery --------------------------------------------------------------------------------

    async def recover(self, why: str) -> None:
        """Reassert every local participant in its room, then push each socket a snapshot."""
        self._dirty = False
        by_room: dict[str, list[SeatHolder]] = defaultdict(list)
        holders: list[SeatHolder] = [*self._node.joined_sessions(), *self._node.other_seats()]
        for session in holders:
            if session.room_id is not None and session.participant is not None:
                by_room[session.room_id].append(session)
        log.info("recovering presence (%s): %d sockets in %d rooms", why,
                 sum(map(len, by_room.values())), len(by_room))
        for room_id, sessions in by_room.items():
            await self._reassert_room(room_id, sessions)

    async def _reassert_room(self, room_id: str, sessions: list[SeatHolder]) -> None:
        node = self._node
        existed = await node.store.get_room(room_id) is not None
        if not existed:
            # With the default catalog and mode, as a first join would (node.prepare_room),
            # and the kind and capacities the sockets saw (a live room's audience must not
            # be refused by a rebuilt group room's capacity).
            info = next((s.room_info for s in sessions if s.room_info is not None), None)
            if info is None:
                await node.create_room(room_id)
            else:
                await node.create_room(
                    room_id, capacity=info.capacity, kind=info.kind,
                    audience_capacity=info.audience_capacity,
                )
        live = [s for s in sessions if s.participant is not None]
        try:
            result = await node.store.reassert(
                room_id,
                [s.participant for s in live if s.participant is not None],
                min_seq=max(s.seq for s in live) if live else 0,
            )
        except RoomClosed:
            for session in live:
                session.lost_seat("room_closed")
            return
        if not existed or result.created:
            log.warning(
                "room %s: the store had lost it (Redis restarted without persistence?); rebuilt "
                "from its %d live participants here; its carousel, votes, cart, chat and "
                "reactions are lost", room_id, len(live))
        elif result.rejoined:
            log.warning("room %s: the store had lost %d participants of this node; re-joined %s",
                        room_id, len(result.rejoined), ", ".join(result.rejoined))
        if result.removed:
            log.info("room %s: removed %s (left while the store was unreachable)", room_id,
                     ", ".join(result.removed))
        for session in live:
            assert session.participant is not None
            pid = session.participant.id
            if pid in result.superseded:
                session.lost_seat("replaced")
            elif pid in result.refused:
                log.warning("room %s: no seat left for %s after the store lost it", room_id, pid)
                session.lost_seat("room_full")
            else:
                session.resync_needed()
