"""The node registry and room pins in Redis (rooms/lua/node_beat.lua, pin_room.lua,
unpin_room.lua; keys in rooms.redis_keys: NODE_REGISTRY, ROOM_PINS, PINNED_COUNTS)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from rooms.errors import NoNodeAvailable
from rooms.placement import NodeEntry, NodeLoad, Pin, PinStatus
from rooms.redis_keys import DEFAULT_NAMESPACE, PlacementKeys, validate_namespace
from rooms.redis_outage import unavailable_on_outage
from rooms.redis_scripts import lua_source
from rooms.redis_store import COMMAND_TIMEOUT, CONNECT_TIMEOUT
from rooms.validation import validate_room_id

PLACEMENT_SCRIPTS = ("node_beat", "pin_room", "unpin_room")
"""rooms/lua scripts of the placement (standalone: they do not use the shop library)."""

FORGET_AFTER_TIMEOUTS = 20
"""A registry entry silent for this many node timeouts is deleted (the node is long gone)."""

_unavailable_on_outage = unavailable_on_outage("node registry")


class RedisPlacement:
    """Placement shared by every node on one Redis (rooms.placement.Placement)."""

    def __init__(
        self,
        redis_url: str,
        *,
        owner: str,
        node_id: str,
        node_timeout: float = 3.0,
        cpu_weight: float = 10.0,
        namespace: str = DEFAULT_NAMESPACE,
        retry_after: float = 1.0,
    ) -> None:
        self._owner = owner
        self.node_id = node_id
        self.node_timeout = node_timeout
        self.cpu_weight = cpu_weight
        self.retry_after = retry_after
        self._keys = PlacementKeys.of(validate_namespace(namespace))
        self._redis = Redis.from_url(
            redis_url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
        )
        self._beat = self._redis.register_script(lua_source("node_beat"))
        self._pin = self._redis.register_script(lua_source("pin_room"))
        self._unpin = self._redis.register_script(lua_source("unpin_room"))

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def _timeout_ms(self) -> int:
        return max(1, round(self.node_timeout * 1000))

    @_unavailable_on_outage
    async def beat(self, url: str, load: NodeLoad, *, draining: bool = False) -> bool:
        entry = NodeEntry(
            owner=self._owner, node_id=self.node_id, url=url, rooms=load.rooms,
            peers=load.peers, cpu=round(load.cpu, 3), draining=draining,
        )
        _, held = await self._beat(
            keys=[self._keys.registry, self._keys.pinned],
            args=[self._owner, entry.to_json(), self._timeout_ms * FORGET_AFTER_TIMEOUTS],
        )
        return bool(held)

    @_unavailable_on_outage
    async def pin(self, room_id: str, *, serving: bool = False) -> Pin:
        validate_room_id(room_id)
        owner, raw, status = await self._pin(
            keys=[self._keys.registry, self._keys.pins, self._keys.pinned],
            args=[room_id, self._owner, self._timeout_ms, repr(float(self.cpu_weight)),
                  "1" if serving else "0"],
        )
        if status == "none":
            raise NoNodeAvailable(
                "no live node takes new rooms (all draining or silent)",
                retry_after=self.retry_after,
            )
        return Pin(room_id, NodeEntry.from_json(str(owner), str(raw)), PinStatus(status))

    @_unavailable_on_outage
    async def unpin(self, room_id: str) -> bool:
        removed = await self._unpin(
            keys=[self._keys.pins, self._keys.pinned], args=[room_id, self._owner]
        )
        return bool(removed)

    @_unavailable_on_outage
    async def pinned_to(self, room_ids: Sequence[str]) -> dict[str, str | None]:
        if not room_ids:
            return {}
        owners = await self._redis.hmget(self._keys.pins, list(room_ids))
        return {room: (None if o is None else str(o)) for room, o in zip(room_ids, owners,
                                                                          strict=True)}

    @_unavailable_on_outage
    async def nodes(self) -> list[NodeEntry]:
        raw = await self._redis.hgetall(self._keys.registry)
        return sorted(
            (NodeEntry.from_json(str(o), str(v)) for o, v in raw.items()), key=lambda e: e.owner
        )

    @_unavailable_on_outage
    async def deregister(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.registry, self._owner)
            pipe.hdel(self._keys.pinned, self._owner)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()
