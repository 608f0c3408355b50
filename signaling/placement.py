"""This node's part in room placement: it registers with its public URL and load, pins the
rooms it is asked to join (or says which node has them), lets rooms go when their last
participant here leaves, moves its participants when one of its rooms went elsewhere, and
drains.

Every room's media lives on one node (rooms.placement). A session asks ``claim`` before any
media is set up: None means this node serves the room (the claim holds until ``release``),
otherwise the node to send the client to. Claims and unpins of one room are serialized by a
per-room lock, so a room is never let go while a join here is about to set up its media.
Each heartbeat (``presence_heartbeat`` s) also checks that the rooms with participants here
are still pinned here; those that are not (this node was silent too long and presumed dead)
have their sessions sent to the room's node with a ``redirect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rooms.errors import NoNodeAvailable, StoreUnavailable
from rooms.placement import NodeEntry, NodeLoad, PinStatus, Placement, viewer_node
from signaling.cancelling import raise_if_cancelling

if TYPE_CHECKING:
    from signaling.node import Node

log = logging.getLogger(__name__)

MIN_BEAT_SPACING = 0.1
"""Seconds between two beats at least: a join or leave here triggers one (so the others place
new rooms by this node's current load), a burst of them one per this."""


@dataclass(eq=False)
class _RoomLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class RoomPlacement:
    """Heartbeat loop, claims and drain of one node (started and closed with the Node)."""

    def __init__(self, node: Node, placement: Placement) -> None:
        self._node = node
        self.placement = placement
        # With port 0 the URL is known only once bound (set_url): until then this node stays
        # out of the registry, or another could send clients to port 0.
        settings = node.settings
        self.url = settings.base_url if settings.port or settings.public_url else ""
        self.draining = False
        self._claims: Counter[str] = Counter()
        #: Viewers of live rooms served here by an edge relay (the rooms' origins are elsewhere).
        self._viewers: Counter[str] = Counter()
        self._locks: dict[str, _RoomLock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._cpu_at = (time.monotonic(), time.process_time())
        self._registered = asyncio.Event()

    @property
    def owner(self) -> str:
        return self.placement.owner

    def start(self) -> None:
        """Start the heartbeat loop (owned: ``close`` cancels it)."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(
                self._beats(), name=f"placement:{self._node.settings.node_id}"
            )

    def set_url(self, url: str) -> None:
        """The URL clients reach this node at, once known (``coshop serve`` after binding)."""
        self.url = url.rstrip("/")
        self._wake.set()

    async def beat_now(self) -> None:
        """Register (or renew) at once, e.g. right after ``set_url``, so that a node announced
        as serving can be found at its URL; an unreachable registry is retried by the loop."""
        with contextlib.suppress(StoreUnavailable):
            await self._beat()

    def rooms(self) -> dict[str, int]:
        """Rooms with claims here, and how many."""
        return {room: n for room, n in self._claims.items() if n > 0}

    # --- claims ----------------------------------------------------------------------------------

    async def claim(self, room_id: str) -> NodeEntry | None:
        """None if this node serves ``room_id`` (a claim is held until ``release``), else the
        node that does. Raises NoNodeAvailable, StoreUnavailable."""
        if not self._registered.is_set():
            await self._beat()  # the first beat, so that this node can be chosen
        async with self._room_lock(room_id):
            pin = await self.placement.pin(room_id)
            if pin.node.owner != self.owner:
                return pin.node
            self._claims[room_id] += 1
            self._wake.set()  # report the new load soon: placement elsewhere counts it
            if pin.status is not PinStatus.KEPT:
                log.info("room %s pinned to this node (%s)", room_id, pin.status.value)
            return None

    async def claim_viewer(self, room_id: str) -> tuple[NodeEntry | None, NodeEntry | None]:
        """Where a new viewer of live room ``room_id`` is served, by load (rooms.placement.
        viewer_node): (None, None) on this node, the room's origin (a claim held until
        ``release``); (None, origin) on this node as an edge of ``origin`` (held until
        ``release_viewer``); (node, None) on another node: send the viewer there.
        Raises NoNodeAvailable, StoreUnavailable."""
        if not self._registered.is_set():
            await self._beat()
        async with self._room_lock(room_id):
            pin = await self.placement.pin(room_id)
            if pin.node.owner == self.owner:
                self._claims[room_id] += 1
                self._wake.set()
                return None, None
        target = viewer_node(
            await self.placement.nodes(), origin=pin.node.owner, asking=self.owner,
            timeout_ms=int(self._node.settings.node_timeout * 1000),
            cpu_weight=self._node.settings.placement_cpu_weight,
        )
        if target is None or target.owner == pin.node.owner:
            return pin.node, None
        if target.owner != self.owner:
            return target, None
        self._viewers[room_id] += 1
        self._wake.set()
        return None, pin.node

    def release_viewer(self, room_id: str) -> None:
        """A viewer of ``claim_viewer`` served here as an edge left."""
        self._viewers[room_id] -= 1
        if self._viewers[room_id] <= 0:
            del self._viewers[room_id]
        self._wake.set()

    def release(self, room_id: str) -> None:
        """A claim of ``claim`` ends (its session left the room or never got in)."""
        self._claims[room_id] -= 1
        self._wake.set()
        if self._claims[room_id] > 0:
            return
        del self._claims[room_id]
        task = asyncio.create_task(self._unpin(room_id), name=f"unpin:{room_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unpin(self, room_id: str) -> None:
        async with self._room_lock(room_id):
            if self._claims[room_id] > 0:
                return  # somebody joined here meanwhile
            self._claims.pop(room_id, None)
            try:
                await self.placement.unpin(room_id)
            except StoreUnavailable as exc:
                log.warning("room %s: could not unpin: %s", room_id, exc)

    @contextlib.asynccontextmanager
    async def _room_lock(self, room_id: str) -> AsyncIterator[None]:
        """Serializes this node's pins and unpins of one room; dropped when nobody uses it."""
        entry = self._locks.get(room_id)
        if entry is None:
            entry = self._locks[room_id] = _RoomLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[room_id]

    # --- heartbeat -------------------------------------------------------------------------------

    def load(self) -> NodeLoad:
        """Rooms and participants here, and the cores of CPU used since the last call."""
        now, cpu = time.monotonic(), time.process_time()
        then, cpu_then = self._cpu_at
        self._cpu_at = (now, cpu)
        cores = (cpu - cpu_then) / (now - then) if now > then else 0.0
        claims = self.rooms()
        # An edge's viewers are participants it serves (and its relay a room it carries).
        peers = sum(claims.values()) + sum(self._viewers.values())
        rooms = len(claims.keys() | self._viewers.keys())
        return NodeLoad(rooms=rooms, peers=peers, cpu=max(0.0, cores))

    async def _beat(self) -> None:
        if not self.url:
            return
        await self.placement.beat(self.url, self.load(), draining=self.draining)
        self._registered.set()

    async def _beats(self) -> None:
        interval = self._node.settings.presence_heartbeat
        while True:
            self._wake.clear()
            try:
                await self._beat()
                await self._check_pins()
            except StoreUnavailable:
                pass  # presence reports the outage; the next beat retries
            except Exception:
                log.exception("placement heartbeat failed")
            raise_if_cancelling()  # one redis-py swallowed (signaling.cancelling)
            # A change of load is reported at once, but at most every MIN_BEAT_SPACING.
            await asyncio.sleep(MIN_BEAT_SPACING)
            try:
                async with asyncio.timeout(max(0.0, interval - MIN_BEAT_SPACING)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _check_pins(self) -> None:
        """Move the participants of rooms no longer pinned here (or all of them, draining)."""
        if self.draining:
            for room_id in list(self._viewers):
                # An edge's viewers go to the room's origin (which then places nobody here).
                try:
                    pin = await self.placement.pin(room_id)
                except NoNodeAvailable:
                    continue
                if pin.node.owner != self.owner:
                    self._node.move_room(room_id, pin.node, "draining")
        rooms = list(self.rooms())
        if not rooms:
            return
        owners = await self.placement.pinned_to(rooms)
        for room_id in rooms:
            if owners.get(room_id) == self.owner and not self.draining:
                continue
            try:
                pin = await self.placement.pin(room_id, serving=True)
            except NoNodeAvailable:
                continue  # nowhere to go: stay
            if pin.node.owner == self.owner:
                continue
            reason = "draining" if self.draining else "moved"
            log.warning("room %s is served by node %s now: moving its %d participants here "
                        "(%s)", room_id, pin.node.node_id, self._claims.get(room_id, 0), reason)
            self._node.move_room(room_id, pin.node, reason)

    async def has_other_nodes(self) -> bool:
        """Whether another live node takes rooms (by the registry's clock); StoreUnavailable
        when the registry cannot be read (not known)."""
        await self._beat()
        return await self._others_take_rooms()

    async def _others_take_rooms(self) -> bool:
        nodes = await self.placement.nodes()
        mine = next((n for n in nodes if n.owner == self.owner), None)
        if mine is None:
            return False
        timeout_ms = self._node.settings.node_timeout * 1000
        return any(
            n.owner != self.owner and not n.draining and mine.beat_ms - n.beat_ms <= timeout_ms
            for n in nodes
        )

    # --- drain -----------------------------------------------------------------------------------

    async def drain(self, within: float) -> None:
        """Take no new rooms, send every participant here to another node, and return once
        none is left or after ``within`` seconds."""
        if not self.draining:
            log.info("draining: %d participants in %d rooms", sum(self._claims.values()),
                     len(self.rooms()))
        self.draining = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Since when the registry has held this node without a break: once that is a node
        # timeout, every live node has beaten into it since (they beat at least twice per
        # timeout), so "no other node takes rooms" is known, not a registry just back empty.
        registry_since = loop.time()
        while (self.rooms() or self._viewers) and loop.time() < deadline:
            try:
                if not await self.placement.beat(self.url, self.load(), draining=True):
                    registry_since = loop.time()
                # Every other node may be draining too (all workers of a machine on SIGTERM):
                # then the rooms have nowhere to go, and waiting would only delay the exit.
                settled = loop.time() - registry_since >= self._node.settings.node_timeout
                if settled and not await self._others_take_rooms():
                    log.info("draining: no other live node takes rooms; stopping now")
                    return
                await self._check_pins()
            except StoreUnavailable as exc:
                log.warning("draining: %s", exc)
            await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))
        left = sum(self._claims.values()) + sum(self._viewers.values())
        if left:
            log.warning("drain timeout: %d participants still here", left)
        else:
            log.info("drained: no participant left here")

    async def close(self) -> None:
        """Stop the heartbeat, leave the registry, release the connection (idempotent)."""
        task, self._loop_task = self._loop_task, None
        pending = list(self._tasks)
        if task is not None:
            pending.append(task)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending)
        if task is not None:
            try:
                await self.placement.deregister()
            except StoreUnavailable as exc:
                log.warning("could not leave the node registry (the entry times out): %s", exc)
        await self.placement.close()
