"""The node registry and room pins on a real Redis (rooms/lua/node_beat.lua, pin_room.lua,
unpin_room.lua): least-loaded placement, ties, dead and draining nodes, unpinning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from rooms.errors import NoNodeAvailable
from rooms.placement import NodeLoad, PinStatus
from rooms.redis_placement import RedisPlacement

pytestmark = pytest.mark.redis

TIMEOUT = 0.5  # node timeout of these tests, seconds


@pytest.fixture
async def make(
    redis_url: str, redis_namespace: str
) -> AsyncIterator[Callable[[str], RedisPlacement]]:
    made: list[RedisPlacement] = []

    def make(name: str) -> RedisPlacement:
        placement = RedisPlacement(
            redis_url, owner=f"{name}/1", node_id=name, node_timeout=TIMEOUT,
            namespace=redis_namespace,
        )
        made.append(placement)
        return placement

    yield make
    for placement in made:
        await placement.close()


async def test_a_room_is_pinned_to_the_least_loaded_live_node_and_stays(
    make: Callable[[str], RedisPlacement],
) -> None:
    a, b, c = make("a"), make("b"), make("c")
    assert not await a.beat("http://a:1", NodeLoad(rooms=1, peers=5))
    assert not await b.beat("http://b:1", NodeLoad(rooms=1, peers=2))
    assert not await c.beat("http://c:1", NodeLoad(rooms=1, peers=3, cpu=0.5))  # 3 + 10 x 0.5
    pin = await a.pin("r1")
    assert (pin.node.node_id, pin.node.url, pin.status) == ("b", "http://b:1", PinStatus.PINNED)
    assert pin.node.ws_url == "ws://b:1/ws"
    # Everyone, whoever asks, gets the same node; it is not pinned twice.
    for asker in (a, b, c):
        again = await asker.pin("r1")
        assert (again.node.owner, again.status) == ("b/1", PinStatus.KEPT)
    assert await a.pinned_to(["r1", "r2"]) == {"r1": "b/1", "r2": None}
    assert await a.beat("http://a:1", NodeLoad(rooms=1, peers=5))  # held: second beat


async def test_pinned_rooms_count_at_once_so_a_burst_spreads(
    make: Callable[[str], RedisPlacement],
) -> None:
    nodes = [make(n) for n in "abc"]
    for n in nodes:
        await n.beat(f"http://{n.node_id}:1", NodeLoad())
    pins = await asyncio.gather(*(nodes[i % 3].pin(f"room{i}") for i in range(30)))
    per_node = {n.owner: 0 for n in nodes}
    for pin in pins:
        per_node[pin.node.owner] += 1
    assert sorted(per_node.values()) == [10, 10, 10]


async def test_ties_go_to_the_asking_node(make: Callable[[str], RedisPlacement]) -> None:
    a, b = make("a"), make("b")
    await a.beat("http://a:1", NodeLoad())
    await b.beat("http://b:1", NodeLoad())
    assert (await b.pin("tie")).node.owner == "b/1"


async def test_a_silent_node_loses_its_rooms_at_the_next_join(
    make: Callable[[str], RedisPlacement],
) -> None:
    a, b = make("a"), make("b")
    await a.beat("http://a:1", NodeLoad())
    await b.beat("http://b:1", NodeLoad(peers=50))
    assert (await b.pin("r")).node.owner == "a/1"
    await asyncio.sleep(TIMEOUT * 1.5)  # a stops beating (killed); b goes on
    await b.beat("http://b:1", NodeLoad(peers=50))
    moved = await b.pin("r")
    assert (moved.node.owner, moved.status) == ("b/1", PinStatus.MOVED)
    # a comes back: it does not get the room back by itself, and its own pin says b.
    await a.beat("http://a:1", NodeLoad())
    assert (await a.pin("r")).node.owner == "b/1"
    assert await a.pinned_to(["r"]) == {"r": "b/1"}


async def test_a_draining_node_gets_no_rooms_and_its_rooms_move(
    make: Callable[[str], RedisPlacement],
) -> None:
    a, b = make("a"), make("b")
    await a.beat("http://a:1", NodeLoad())
    await b.beat("http://b:1", NodeLoad(peers=9))
    assert (await a.pin("r")).node.owner == "a/1"
    await a.beat("http://a:1", NodeLoad(), draining=True)
    moved = await a.pin("r")
    assert (moved.node.owner, moved.status) == ("b/1", PinStatus.MOVED)
    assert (await a.pin("new")).node.owner == "b/1"
    await b.beat("http://b:1", NodeLoad(), draining=True)
    with pytest.raises(NoNodeAvailable):
        await a.pin("another")


async def test_unpin_only_by_the_rooms_node_and_serving_reclaims_a_lost_pin(
    make: Callable[[str], RedisPlacement],
) -> None:
    a, b = make("a"), make("b")
    await a.beat("http://a:1", NodeLoad())
    await b.beat("http://b:1", NodeLoad(peers=3))
    assert (await a.pin("r")).node.owner == "a/1"
    assert not await b.unpin("r")
    assert await a.unpin("r")
    assert await a.pinned_to(["r"]) == {"r": None}
    # b has the room's media already (e.g. Redis lost the pin): it keeps it, though busier.
    assert (await b.pin("r", serving=True)).node.owner == "b/1"
    nodes = await a.nodes()
    assert [(n.node_id, n.peers) for n in nodes] == [("a", 0), ("b", 3)]
    await b.deregister()
    assert [n.node_id for n in await a.nodes()] == ["a"]
    assert (await a.pin("r")).status is PinStatus.MOVED
