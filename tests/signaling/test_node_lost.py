"""Two real ``coshop serve`` processes on one Redis; one is killed with SIGKILL while a
participant of each is in the same room. Its participant must not stay a ghost: the survivor
hears ``participant_left`` (``node_lost``) within the lease and the seat is free again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from signaling import protocol as wire
from signaling.settings import Settings
from tests.browser.server import CoshopServer
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

REAP_DEADLINE = 15.0
"""The promise: a dead node's participants are gone within 15 s (default lease + reap)."""

NODE_SETTINGS = {
    "COSHOP_LOG_LEVEL": "INFO",
    # The test clients never answer the SDP offer nor need WebSocket pings checked.
    "COSHOP_ANSWER_TIMEOUT": "300",
    "COSHOP_WS_HEARTBEAT": "30",
    "COSHOP_WS_TIMEOUT": "60",
}


@pytest.fixture
async def nodes(redis_url: str, tmp_path: Path) -> AsyncIterator[tuple[CoshopServer, ...]]:
    servers = tuple(
        CoshopServer(tmp_path, redis_url=redis_url,
                     settings={**NODE_SETTINGS, "COSHOP_NODE_ID": name})
        for name in ("doomed", "survivor")
    )
    try:
        await asyncio.gather(*(s.start() for s in servers))
        yield servers
    finally:
        await asyncio.gather(*(s.stop() for s in servers))


def test_the_default_timings_keep_the_promise() -> None:
    settings = Settings()
    assert settings.presence_lease + settings.reap_interval < REAP_DEADLINE


async def test_a_killed_nodes_room_moves_and_its_participants_are_reaped(
    nodes: tuple[CoshopServer, CoshopServer],
) -> None:
    room = f"node-lost-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{nodes[1].url}/api/rooms", json={"id": room, "capacity": 3})
        assert created.status == 201
        ann = WsClient(await http.ws_connect(f"{nodes[0].url}/ws"))
        joined_ann = await ann.join(room, "ann")
        doomed, survivor = nodes  # the room's node (the less loaded one) is killed
        if isinstance(joined_ann, wire.Redirect):
            survivor, doomed = nodes
            await ann.close()
            ann = WsClient(await http.ws_connect(joined_ann.url))
            joined_ann = await ann.join(room, "ann")
        assert isinstance(joined_ann, wire.Joined)
        # Bob enters through the other node: sent to the room's node before any media.
        bob = WsClient(await http.ws_connect(f"{survivor.url}/ws"))
        redirect = await bob.join(room, "bob")
        assert isinstance(redirect, wire.Redirect), redirect
        assert redirect.url == doomed.url.replace("http", "ws", 1) + "/ws"
        await bob.close()
        bob = WsClient(await http.ws_connect(redirect.url))
        joined_bob = await bob.join(room, "bob")
        assert isinstance(joined_bob, wire.Joined) and len(joined_bob.participants) == 2

        await doomed.kill()
        killed_at = loop.time()
        # Cat comes in through the survivor: redirected to the dead node until its heartbeat
        # is older than COSHOP_NODE_TIMEOUT, then the room is pinned to the survivor.
        while True:
            cat = WsClient(await http.ws_connect(f"{survivor.url}/ws"))
            reply = await cat.join(room, "cat")
            if isinstance(reply, wire.Joined):
                break
            assert isinstance(reply, wire.Redirect) and reply.url == redirect.url, reply
            await cat.close()
            assert loop.time() - killed_at < 6, "the room stayed pinned to the dead node"
            await asyncio.sleep(0.1)
        repinned = loop.time() - killed_at
        ghosts = {joined_ann.you.id, joined_bob.you.id}
        assert {p.id for p in reply.participants} == ghosts | {reply.you.id}
        gone = [await cat.until("participant_left", seconds=REAP_DEADLINE) for _ in ghosts]
        reap_time = loop.time() - killed_at
        assert {(g.participant_id, g.reason) for g in gone} == {(p, "node_lost") for p in ghosts}
        assert reap_time < REAP_DEADLINE

        info = await (await http.get(f"{survivor.url}/api/rooms/{room}")).json()
        assert [p["id"] for p in info["participants"]] == [reply.you.id]
        await asyncio.gather(bob.close(), cat.close(), ann.close())
    print(f"\nre-pinned {repinned:.2f} s and reaped {reap_time:.2f} s after SIGKILL")
    assert "Traceback" not in survivor.log(tail=100_000)
