"""RedisStore: the RoomStore shared by every node, one Lua script per read-check-write.

Key layout in rooms.redis_keys, script contracts in rooms/lua/*.lua. Events are published by
the same script that INCRs the seq, so channel order is seq order.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from redis.asyncio import Redis

from rooms import redis_scripts as scripts
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
from rooms.redis_events import RedisEventHub
from rooms.redis_keys import DEFAULT_NAMESPACE, RoomKeys, rooms_index_key, validate_namespace
from rooms.redis_scripts import RoomScripts, event_json_parts
from rooms.snapshots import make_snapshot
from rooms.subscription import DEFAULT_SUBSCRIPTION_BUFFER, EventQueue, QueueSubscription
from rooms.validation import validate_capacity, validate_room_id


class RedisStore:
    """RoomStore in Redis (redis.asyncio); connects lazily.

    One pub/sub connection serves all subscriptions. The store stamps ``joined_at`` and
    ``created_at`` with this node's clock.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        default_capacity: int = DEFAULT_CAPACITY,
        namespace: str = DEFAULT_NAMESPACE,
        subscription_buffer: int = DEFAULT_SUBSCRIPTION_BUFFER,
    ) -> None:
        self.default_capacity = validate_capacity(default_capacity)
        self.namespace = validate_namespace(namespace)
        self._subscription_buffer = subscription_buffer
        self._redis = Redis.from_url(redis_url, decode_responses=True)
        self._scripts = RoomScripts.register(self._redis)
        self._events = RedisEventHub(redis_url)
        self._closed = False

    async def create_room(self, room_id: str, *, capacity: int | None = None) -> RoomInfo:
        """Create the room if absent (an existing room keeps its capacity). Raises RoomClosed."""
        keys = self._keys(room_id)
        wanted = self.default_capacity if capacity is None else validate_capacity(capacity)
        await self._index(room_id)
        reply = await self._scripts.create_room(
            keys=[keys.meta, keys.participants], args=[wanted, repr(time.time())]
        )
        if reply[0] == scripts.CLOSED:
            raise RoomClosed(room_id)
        _, capacity_s, created_s, count = reply
        return RoomInfo(
            id=room_id,
            capacity=int(capacity_s),
            created_at=float(created_s),
            participant_count=int(count),
        )

    async def get_room(self, room_id: str) -> RoomInfo | None:
        """The room's info, or None if it does not exist."""
        keys = self._keys(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.hlen(keys.participants)
            meta, count = await pipe.execute()
        return _info(room_id, meta, count) if meta else None

    async def list_rooms(self) -> list[RoomInfo]:
        """Every room, closed ones included, ordered by id."""
        self._check_open()
        members = await self._redis.smembers(rooms_index_key(self.namespace))
        room_ids = sorted(str(member) for member in members)
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                keys = RoomKeys.of(self.namespace, room_id)
                pipe.hgetall(keys.meta)
                pipe.hlen(keys.participants)
            replies = await pipe.execute()
        metas, counts = replies[0::2], replies[1::2]
        return [
            _info(room_id, meta, count)
            for room_id, meta, count in zip(room_ids, metas, counts, strict=True)
            if meta  # indexed, but its creator never got to create it
        ]

    async def close_room(self, room_id: str) -> RoomEvent:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        keys = self._keys(room_id)
        head, tail = event_json_parts(room_id, ROOM_CLOSED, {})
        reply = await self._scripts.close_room(
            keys=[keys.meta, keys.participants, keys.seq], args=[keys.events, head, tail]
        )
        return RoomEvent(room_id=room_id, seq=_ok_seq(room_id, reply), type=ROOM_CLOSED, data={})

    async def join(self, room_id: str, participant: Participant) -> tuple[RoomSnapshot, RoomEvent]:
        """Admit under capacity, creating the room if absent; publish ``participant_joined``."""
        keys = self._keys(room_id)
        joined = dataclasses.replace(participant, joined_at=time.time())
        data = participant_joined_data(joined)
        head, tail = event_json_parts(room_id, PARTICIPANT_JOINED, data)
        await self._index(room_id)
        reply = await self._scripts.join(
            keys=[keys.meta, keys.participants, keys.seq],
            args=[
                joined.id,
                joined.to_json(),
                self.default_capacity,
                repr(time.time()),
                keys.events,
                head,
                tail,
            ],
        )
        status = reply[0]
        if status == scripts.CLOSED:
            raise RoomClosed(room_id)
        if status == scripts.ALREADY_JOINED:
            raise AlreadyJoined(f"{participant.id} in {room_id}")
        if status == scripts.FULL:
            raise RoomFull(room_id)
        _, seq, capacity_s, created_s, *participants = reply
        snapshot = make_snapshot(
            room_id,
            capacity=int(capacity_s),
            closed=False,
            created_at=float(created_s),
            seq=int(seq),
            participants=(Participant.from_json(raw) for raw in participants),
        )
        event = RoomEvent(room_id, int(seq), PARTICIPANT_JOINED, json_data(data))
        return snapshot, event

    async def leave(self, room_id: str, participant_id: str, *, reason: str) -> RoomEvent | None:
        """Remove the participant and publish ``participant_left``; None if they were not in."""
        keys = self._keys(room_id)
        data = participant_left_data(participant_id, reason)
        head, tail = event_json_parts(room_id, PARTICIPANT_LEFT, data)
        seq = await self._scripts.leave(
            keys=[keys.participants, keys.seq], args=[participant_id, keys.events, head, tail]
        )
        if seq is None:
            return None
        return RoomEvent(room_id=room_id, seq=int(seq), type=PARTICIPANT_LEFT, data=data)

    async def snapshot(self, room_id: str) -> RoomSnapshot:
        """The room's state now, read in one transaction. Raises NotInRoom for an unknown room."""
        keys = self._keys(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.get(keys.seq)
            pipe.hvals(keys.participants)
            meta, seq, participants = await pipe.execute()
        if not meta:
            raise NotInRoom(room_id)
        info = _info(room_id, meta, len(participants))
        return make_snapshot(
            room_id,
            capacity=info.capacity,
            closed=info.closed,
            created_at=info.created_at,
            seq=int(seq or 0),
            participants=(Participant.from_json(raw) for raw in participants),
        )

    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish a free-form event. Raises NotInRoom, RoomClosed, ValueError."""
        keys = self._keys(room_id)
        validate_custom_type(type)
        data = json_data(data)
        head, tail = event_json_parts(room_id, type, data)
        reply = await self._scripts.publish(
            keys=[keys.meta, keys.seq], args=[keys.events, head, tail]
        )
        return RoomEvent(room_id=room_id, seq=_ok_seq(room_id, reply), type=type, data=data)

    def subscribe(self, room_id: str) -> QueueSubscription:
        """Every event of the room published after the subscription is entered."""
        keys = self._keys(room_id)
        queue = EventQueue(room_id, self._subscription_buffer)

        async def attach(queue: EventQueue) -> None:
            self._check_open()
            await self._events.attach(keys.events, queue)

        async def detach(queue: EventQueue) -> None:
            await self._events.detach(keys.events, queue)

        return QueueSubscription(queue, attach=attach, detach=detach)

    async def close(self) -> None:
        """End every subscription, stop the listener, close both connection pools (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._events.close()
        finally:
            await self._redis.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("RedisStore is closed")

    def _keys(self, room_id: str) -> RoomKeys:
        self._check_open()
        return RoomKeys.of(self.namespace, validate_room_id(room_id))

    async def _index(self, room_id: str) -> None:
        # Before the creating script, so the index is always a superset of the rooms; outside
        # it, so every script touches one hash slot.
        await self._redis.sadd(rooms_index_key(self.namespace), room_id)


def _info(room_id: str, meta: dict[str, str], count: int) -> RoomInfo:
    return RoomInfo(
        id=room_id,
        capacity=int(meta["capacity"]),
        closed=meta["closed"] == "1",
        created_at=float(meta["created_at"]),
        participant_count=int(count),
    )


def _ok_seq(room_id: str, reply: list[Any]) -> int:
    """The seq of a close_room/publish reply, or the error its status names."""
    if reply[0] == scripts.UNKNOWN:
        raise NotInRoom(room_id)
    if reply[0] == scripts.CLOSED:
        raise RoomClosed(room_id)
    return int(reply[1])

