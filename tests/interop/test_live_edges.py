"""A live room's audience across nodes: an origin holds the stage, two edges relay it.

Real redis-server, three real ``coshop serve`` processes, and clients written from
docs/PROTOCOL.md alone (stranger.py): each stage member paints its own colour, and the viewers
on the edges must decode exactly whose frames their slots say, before and after the stage
starts, through a guest leaving and another coming up; a host's remove and ban reach viewers
on the edges; the relay is DTLS-SRTP and hidden from the room.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.waiting import health, until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path, aof=False)
    await server.start()
    yield server
    await server.stop()


async def create_live_room(server: Server, room: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + "/api/rooms", json={"id": room, "kind": "live"}
    ) as response:
        assert response.status in (200, 201), await response.text()


async def room_info(server: Server, room: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/api/rooms/{room}"
    ) as response:
        body: dict[str, Any] = await response.json()
        return body


async def host_token(server: Server, room: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/api/rooms/{room}/tokens", json={"name": "host", "role": "host"}
    ) as response:
        assert response.status in (200, 201), await response.text()
        token: str = (await response.json())["token"]
        return token


def ws_of(server: Server) -> str:
    return server.url.replace("http", "ws", 1) + "/ws"


async def live_nodes(
    redis: RedisServer, serve: Callable[..., Server], **settings: str
) -> tuple[list[Server], str]:
    """An origin and two edges on one Redis, and a new live room on the origin.
    Placement by rooms and participants only: which node a first join pins the room to
    (ties go to the node asked) must not hang on a start-up's CPU."""
    nodes = [serve(redis_url=redis.url, node_id=name, placement_cpu_weight="0", **settings)
             for name in ("origin", "edge-1", "edge-2")]
    room = f"live-{uuid.uuid4().hex[:8]}"
    await create_live_room(nodes[0], room)
    return nodes, room


async def test_edges_relay_the_stage_to_their_viewers(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    nodes, room = await live_nodes(redis, serve)
    origin, edge1, edge2 = nodes
    colours: dict[str, int] = {}
    people: list[Stranger] = []

    def person(server: Server, name: str, colour: int | None, role: str) -> Stranger:
        p = Stranger(server.url, name, colour, role=role, check_every=3)
        p.colour_of = colours.get  # type: ignore[assignment]
        people.append(p)
        return p

    nodes = [origin, edge1, edge2]
    try:
        # A viewer on the origin pins the room there (ties go to the node asked).
        v0 = person(origin, "v0", None, "viewer")
        await v0.join(room)
        # Before the stage starts: a viewer on edge 1.
        v1 = person(edge1, "v1", None, "viewer")
        await v1.join(room)
        # The token says host; joining at edge 2 sends the host to the origin (the stage).
        host = person(edge2, "host", 0, "guest")
        await host.join(room, extra={"token": await host_token(origin, room)})
        assert host.me is not None
        colours[host.me] = 0
        assert host.connections[-1][1] == ws_of(origin), host.redirects
        await until(lambda: v1.right_frames(host.me or "") >= 10, 30,
                    "the edge-1 viewer decodes the host, relayed")
        # After the stage started: a viewer on edge 2.
        v2 = person(edge2, "v2", None, "viewer")
        await v2.join(room)
        await until(lambda: v2.right_frames(host.me or "") >= 10, 30,
                    "the edge-2 viewer decodes the host, relayed")
        for viewer, node in ((v1, edge1), (v2, edge2)):
            assert viewer.redirects == [] and viewer.connections[-1][1] == ws_of(node)

        # The relay: one per edge, encrypted, hidden from the room.
        for node in (edge1, edge2):
            relays = (await health(node))["relays"]
            assert [(r["room"], r["origin"], r["viewers"]) for r in relays] == [
                (room, "origin", 1)
            ], relays
            assert relays[0]["dtls"] == "connected" and relays[0]["srtp"] == "on", relays
        assert (await health(origin))["relayed_to"] == 2
        info = await room_info(origin, room)
        assert info["audience_count"] == 3, info  # v0, v1, v2: no relay counted
        # The stage sees everyone in the room, and no relay among them.
        assert set(host.participants) == {host.me, v0.me, v1.me, v2.me}, host.participants

        # A guest comes up on the stage (through edge 1: sent to the origin).
        g1 = person(edge1, "g1", 1, "guest")
        await g1.join(room)
        assert g1.me is not None
        colours[g1.me] = 1
        for viewer in (v0, v1, v2):
            await until(lambda v=viewer: v.right_frames(g1.me or "") >= 10, 30,
                        f"{viewer.name} decodes guest 1")
        # The guest leaves; a new one comes up and takes its slots at the edges.
        await g1.close()
        g2 = person(origin, "g2", 2, "guest")
        await g2.join(room)
        assert g2.me is not None
        colours[g2.me] = 2
        for viewer in (v1, v2):
            before = viewer.right_frames(g2.me)
            await until(lambda v=viewer, b=before: v.right_frames(g2.me or "") >= b + 10, 30,
                        f"{viewer.name} decodes guest 2")
        # Whose frames: every relayed slot carried the colour its slot map named (a frame or
        # two in flight while a slot changes hands may count against it).
        for viewer in (v1, v2):
            for source, got in viewer.received.items():
                assert got.wrong_colour <= max(6, got.frames // 10), (viewer.name, source, got)

        # Host controls reach viewers on the edges.
        await host.send({"type": "remove", "participant_id": v1.me})
        await until(lambda: v1.left is not None, 15, "v1 removed on edge 1")
        assert v1.left == "removed", v1.left
        await host.send({"type": "ban", "participant_id": v2.me})
        await until(lambda: v2.left is not None, 15, "v2 banned on edge 2")
        assert v2.left == "banned", v2.left
        # Their edges let the relay go with their last viewer.
        for node in (edge1, edge2):
            await until_relays(node, 0)
        await until(lambda: (asyncio.get_running_loop() is not None), 1)
        info = await room_info(origin, room)
        assert info["audience_count"] == 1, info
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        await all_left(nodes)


async def all_left(nodes: list[Server], within: float = 10) -> None:
    """Wait until the running nodes have let everyone go, so that stopping them does not race
    the clients' own leaving (a shutdown cancels a leave half-way)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for node in nodes:
        while node.process.poll() is None and loop.time() < deadline:
            try:
                if (await health(node))["peers"] == 0:
                    break
            except aiohttp.ClientError:
                break
            await asyncio.sleep(0.1)


async def until_relays(node: Server, count: int, within: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        relays = (await health(node))["relays"]
        if len(relays) == count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{node.url}: relays {relays}, wanted {count}")
        await asyncio.sleep(0.1)


async def test_the_edges_viewers_see_the_stage_again_after_the_origin_is_killed(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    nodes, room = await live_nodes(redis, serve)
    origin, edge1, edge2 = nodes
    colours: dict[str, int] = {}
    # The host comes back through edge 2 (as a browser would through a balancer).
    host = Stranger(edge2.url, "host", 3, role="guest", check_every=3, auto_reconnect=True)
    viewers = [Stranger(node.url, f"v{i}", None, role="viewer", check_every=3)
               for i, node in enumerate((edge1, edge2), start=1)]
    people = [host, *viewers]
    for p in people:
        p.colour_of = colours.get  # type: ignore[assignment]
    try:
        # The host's join through edge 2 is sent to the origin: the origin takes the room
        # first (ties go to the node asked).
        host.base_url = origin.url
        await host.join(room, extra={"token": await host_token(origin, room)})
        host.base_url = edge2.url
        assert host.me is not None
        colours[host.me] = 3
        for v in viewers:
            await v.join(room)
            await until(lambda v=v: v.right_frames(host.me or "") >= 10, 30,
                        f"{v.name} decodes the host through its edge")
            assert v.redirects == []
        origin.process.kill()
        origin.process.wait()
        before = {v.name: v.right_frames(host.me) for v in viewers}
        # The edges keep their viewers; the room is re-pinned once the origin is presumed
        # dead, the host rejoins there, and the relays reconnect to it (or the new origin is
        # the edge itself).
        for v in viewers:
            await until(lambda v=v: v.right_frames(host.me or "") >= before[v.name] + 10, 45,
                        f"{v.name} decodes the host again after the origin's kill")
            assert v.left is None and len(v.connections) == 1  # never reconnected
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        await all_left(nodes)


async def test_draining_the_origin_or_an_edge_keeps_the_audience_watching(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    # drain_timeout 60: the origin must leave because its relays moved, not by the timeout.
    nodes, room = await live_nodes(redis, serve, drain_timeout="60")
    origin, edge1, edge2 = nodes
    colours: dict[str, int] = {}
    host = Stranger(origin.url, "host", 4, role="guest", check_every=3)
    viewers = [Stranger(node.url, f"v{i}", None, role="viewer", check_every=3)
               for i, node in enumerate((edge1, edge2), start=1)]
    people = [host, *viewers]
    for p in people:
        p.colour_of = colours.get  # type: ignore[assignment]
    try:
        await host.join(room, extra={"token": await host_token(origin, room)})
        assert host.me is not None
        colours[host.me] = 4
        for v in viewers:
            await v.join(room)
            await until(lambda v=v: v.right_frames(host.me or "") >= 10, 30,
                        f"{v.name} decodes the host through its edge")
        # Only nodes get in: no credential, or a client's join token, is refused.
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": f"Bearer {await host_token(origin, room)}"}):
                async with http.get(f"{origin.url}/relay/{room}/ws", headers=headers) as r:
                    assert r.status == 401, (headers, r.status)

        # The origin drains: the host moves to an edge, the other edge's relay follows it.
        began = asyncio.get_running_loop().time()
        async with aiohttp.ClientSession() as http, http.post(
            origin.url + "/api/node/drain"
        ) as response:
            assert response.status == 202
        assert await asyncio.to_thread(origin.process.wait, 30) == 0
        assert asyncio.get_running_loop().time() - began < 20  # not held by its relays
        assert host.redirects and host.redirects[-1]["reason"] == "draining"
        for v in viewers:
            mark = v.right_frames(host.me)
            await until(lambda v=v, m=mark: v.right_frames(host.me or "") >= m + 10, 30,
                        f"{v.name} decodes the host again on its new node")
        # An edge drains: its viewer is sent to the room's node and watches on there.
        host_node = host.redirects[-1]["node"]
        edge, viewer = (edge1, viewers[0]) if host_node != "edge-1" else (edge2, viewers[1])
        async with aiohttp.ClientSession() as http, http.post(
            edge.url + "/api/node/drain"
        ) as response:
            assert response.status == 202
        assert await asyncio.to_thread(edge.process.wait, 30) == 0
        assert viewer.redirects and viewer.redirects[-1]["reason"] == "draining"
        assert viewer.redirects[-1]["node"] == host_node
        mark = viewer.right_frames(host.me)
        await until(lambda: viewer.right_frames(host.me or "") >= mark + 10, 30,
                    f"{viewer.name} decodes the host on the room's node")
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        await all_left(nodes)


async def test_an_edge_viewer_invited_to_the_stage_publishes_from_the_origin(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    nodes, room = await live_nodes(redis, serve)
    origin, edge1, edge2 = nodes
    colours: dict[str, int] = {}
    host = Stranger(origin.url, "host", 0, role="guest", check_every=3)
    # v1 has a camera, but as a viewer it publishes nothing until it is on the stage.
    v1 = Stranger(edge1.url, "v1", 5, role="viewer", check_every=3)
    v2 = Stranger(edge2.url, "v2", None, role="viewer", check_every=3)
    people = [host, v1, v2]
    for p in people:
        p.colour_of = colours.get  # type: ignore[assignment]
    try:
        await host.join(room, extra={"token": await host_token(origin, room)})
        assert host.me is not None
        colours[host.me] = 0
        for v in (v1, v2):
            await v.join(room)
            assert v.me is not None and v.redirects == []
            await until(lambda v=v: v.right_frames(host.me or "") >= 10, 30,
                        f"{v.name} decodes the host through its edge")
        colours[v1.me or ""] = 5
        await host.send({"type": "set_role", "participant_id": v1.me, "role": "guest"})
        # Sent to the origin, with a credential for its new role; back as itself, on stage.
        await until(lambda: bool(v1.redirects), 15, "v1 sent to the origin")
        move = v1.redirects[-1]
        assert (move["reason"], move["node"]) == ("moved", "origin"), move
        assert move.get("resume")
        await until(lambda: v1.connections[-1][1] == ws_of(origin) and v1.me is not None
                    and v1.participants.get(v1.me or "", {}).get("role") == "guest", 20,
                    "v1 back on the stage at the origin")
        # Its camera reaches the host at the origin and v2 through edge 2's relay.
        for watcher in (host, v2):
            await until(lambda w=watcher: w.right_frames(v1.me or "") >= 10, 30,
                        f"{watcher.name} decodes v1 on the stage")
        assert v1.right_frames(host.me) > 0
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        await all_left(nodes)
