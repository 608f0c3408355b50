"""Several real ``coshop serve`` nodes on one real Redis: a room's media lives on one node,
and friends who enter through different nodes decode each other's video (stranger clients
follow ``redirect`` as docs/PROTOCOL.md describes it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.waiting import until
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.media, pytest.mark.redis]


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A Redis of this test's own: no other test's nodes in its registry."""
    server = RedisServer(tmp_path, aof=False)
    await server.start()
    yield server
    await server.stop()


def sees_everyone(people: list[Stranger], frames: int) -> Callable[[], bool]:
    def check() -> bool:
        return all(
            p.right_frames(q.me or "") >= frames for p in people for q in people if q is not p
        )

    return check


def decoded_table(people: list[Stranger]) -> str:
    return "; ".join(
        f"{p.name}: " + ", ".join(f"{q.name}={p.right_frames(q.me or '')}"
                                   for q in people if q is not p)
        for p in people
    )


async def test_friends_entering_through_different_nodes_decode_each_other(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    a = serve(redis_url=redis.url, node_id="node-a")
    b = serve(redis_url=redis.url, node_id="node-b")
    room = f"split-{uuid.uuid4().hex[:8]}"
    people = [Stranger(node.url, f"p{i}", i) for i, node in enumerate((a, b, a, b))]
    try:
        for person in people:
            await person.join(room)
        colours = {p.me: i for i, p in enumerate(people)}
        for person in people:
            person.colour_of = colours.get  # type: ignore[assignment]
        await until(sees_everyone(people, 10), 30,
                    "each of four decodes the three others' colours")
        # Two entered through the node that does not serve the room: sent there before media.
        redirected = [p for p in people if p.redirects]
        assert len(redirected) == 2, [p.redirects for p in people]
        owner_url = redirected[0].redirects[0]["url"]
        assert {p.redirects[0]["url"] for p in redirected} == {owner_url}
        assert all(p.connections[-1][1] == owner_url for p in people)
        assert all(p.errors == [] for p in people)
    finally:
        print("\ndecoded right frames:", decoded_table(people))
        await asyncio.gather(*(p.close() for p in people))


async def test_a_node_announces_its_public_address_in_every_offer(
    serve: Callable[..., Server],
) -> None:
    # A VM behind 1:1 NAT: browsers must be told the public address (here a loopback address
    # the node does not bind: tests send nothing off the machine; the node's own candidates
    # still carry the call).
    server = serve(public_ip="127.0.0.2")
    ann, bob = Stranger(server.url, "ann", 0), Stranger(server.url, "bob", 1)
    try:
        await ann.join("nat")
        await bob.join("nat")
        colours = {ann.me: 0, bob.me: 1}
        for p in (ann, bob):
            p.colour_of = colours.get  # type: ignore[assignment]
        await until(sees_everyone([ann, bob], 10), 20, "ann and bob decode each other")
        offers = [m["sdp"] for p in (ann, bob) for m in p.messages if m["type"] == "offer"]
        assert offers
        for sdp in offers:
            hosts = [line.split()[4] for line in sdp.split("\r\n")
                     if line.startswith("a=candidate:") and " typ host" in line]
            assert "127.0.0.2" in hosts and len(set(hosts)) >= 2, hosts
    finally:
        await asyncio.gather(ann.close(), bob.close())
