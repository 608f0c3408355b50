"""Presence leases in Redis (rooms/lua: renew_lease, reap, forget_node, reassert), two stores
standing for two nodes on one real Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from rooms import Participant, RedisStore
from rooms.errors import RoomClosed, StoreUnavailable
from rooms.events import NODE_LOST, ParticipantJoined, ParticipantLeft
from tests.browser.server import free_port
from tests.helpers import take, wait_for

pytestmark = pytest.mark.redis

LEASE = 0.3


@pytest.fixture
async def stores(redis_url: str, redis_namespace: str) -> AsyncIterator[tuple[RedisStore, ...]]:
    made = tuple(
        RedisStore(redis_url, namespace=redis_namespace, default_capacity=2, node_id=name,
                   presence_lease=LEASE)
        for name in ("a", "b")
    )
    yield made
    for store in made:
        await store.close()


def person(pid: str) -> Participant:
    return Participant(id=pid, name=pid.upper())


async def test_a_lapsed_lease_is_reaped_once_and_frees_the_seat(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    a, b = stores
    assert await a.renew_presence() is False  # never held before
    assert await a.renew_presence() is True
    await b.renew_presence()
    await a.join("r", person("ann"))
    await b.join("r", person("bob"))
    async with b.subscribe("r") as events:
        # a stops renewing (as if killed); b keeps its lease.
        assert await b.reap_lost_nodes() == []  # a's lease still holds
        async def a_lapsed() -> bool:
            await b.renew_presence()
            return bool(await b.reap_lost_nodes())
        await wait_for(a_lapsed, timeout=5, interval=0.05, message="a's lease to lapse")
        (left,) = await take(events, 1)
        assert left.body == ParticipantLeft(participant_id="ann", reason=NODE_LOST)
    assert await b.reap_lost_nodes() == []  # forgotten: nothing twice
    info = await b.get_room("r")
    assert info is not None and info.participant_count == 1
    await b.join("r", person("cat"))  # capacity 2: the ghost's seat is free
    # a comes back (a partition healed): its lease had lapsed, so it knows to reassert.
    assert await a.renew_presence() is False


async def test_reassert_rebuilds_a_room_redis_lost(
    stores: tuple[RedisStore, RedisStore], redis_url: str
) -> None:
    a, _ = stores
    await a.renew_presence()
    await a.join("r", person("ann"))
    snapshot, _ = await a.join("r", person("bob"))
    live = list(snapshot.participants)
    raw = aioredis.Redis.from_url(redis_url)
    try:  # Redis restarted empty: every key of this namespace is gone
        await raw.delete(*[k async for k in raw.scan_iter(match=f"{a.namespace}:*")])
    finally:
        await raw.aclose()
    assert await a.renew_presence() is False
    async with a.subscribe("r") as events:
        result = await a.reassert("r", live, min_seq=snapshot.seq)
        joined = await take(events, 2)
    assert result.created and set(result.rejoined) == {"ann", "bob"}
    assert [type(e.body) for e in joined] == [ParticipantJoined] * 2
    assert [e.seq for e in joined] == [snapshot.seq + 1, snapshot.seq + 2]  # numbering goes on
    rebuilt = await a.snapshot("r")
    assert set(rebuilt.participants) == set(live)  # same joined_at: guarded leaves still work
    assert await a.leave("r", "ann", reason="left", joined_at=live[0].joined_at) is not None
    # Reasserting again changes nothing.
    again = await a.reassert("r", [p for p in live if p.id != "ann"], min_seq=0)
    assert not (again.created or again.rejoined or again.removed or again.superseded)


async def test_reassert_removes_ghosts_and_reports_superseded_sessions(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    a, b = stores
    snapshot, _ = await a.join("r", person("ann"))
    snapshot, _ = await a.join("r", person("bob"))
    ann = min(snapshot.participants, key=lambda p: p.id)
    # bob's leave failed during an outage: a still has him, but no session for him. And ann
    # came back on b (a resume) while a's old session did not hear of it.
    await b.leave("r", "ann", reason="replaced")
    await b.join("r", person("ann"))
    async with a.subscribe("r") as events:
        result = await a.reassert("r", [ann], min_seq=0)
        (left,) = await take(events, 1)
    assert result.superseded == ("ann",) and result.removed == ("bob",)
    assert left.data == {"participant_id": "bob", "reason": "disconnected"}
    assert [p.id for p in (await a.snapshot("r")).participants] == ["ann"]


async def test_reassert_respects_capacity_and_closed_rooms(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    a, b = stores
    await b.join("r", person("x"))
    await b.join("r", person("y"))
    result = await a.reassert("r", [person("ann")], min_seq=0)
    assert result.refused == ("ann",)
    await a.close_room("r")
    with pytest.raises(RoomClosed):
        await a.reassert("r", [person("x")])


async def test_an_unreachable_redis_is_unavailable_not_a_crash() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", retry_after=0.7)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            await store.join("r", person("ann"))
        assert caught.value.retry_after == 0.7
        assert time.monotonic() - started < 3  # fails fast, no long retry loop
        with pytest.raises(StoreUnavailable):
            await store.renew_presence()
        with pytest.raises(StoreUnavailable):
            async with store.subscribe("r"):
                pass
    finally:
        await store.close()
