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


async def test_a_killed_nodes_participants_are_reaped(
    nodes: tuple[CoshopServer, CoshopServer],
) -> None:
    doomed, survivor = nodes
    room = f"node-lost-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{survivor.url}/api/rooms", json={"id": room, "capacity": 2})
        assert created.status == 201
        ann = WsClient(await http.ws_connect(f"{doomed.url}/ws"))
        bob = WsClient(await http.ws_connect(f"{survivor.url}/ws"))
        joined_ann = await ann.join(room, "ann")
        assert isinstance(joined_ann, wire.Joined)
        joined_bob = await bob.join(room, "bob")
        assert isinstance(joined_bob, wire.Joined) and len(joined_bob.participants) == 2

        # The room is full: nobody else gets in while ann holds her seat.
        cat = WsClient(await http.ws_connect(f"{survivor.url}/ws"))
        refused = await cat.join(room, "cat")
        assert isinstance(refused, wire.Error) and refused.code == "room_full"

        await doomed.kill()
        killed_at = loop.time()
        gone = await bob.until("participant_left", seconds=REAP_DEADLINE)
        reap_time = loop.time() - killed_at
        assert (gone.participant_id, gone.reason) == (joined_ann.you.id, "node_lost")
        assert reap_time < REAP_DEADLINE

        info = await (await http.get(f"{survivor.url}/api/rooms/{room}")).json()
        assert info["participant_count"] == 1
        assert [p["id"] for p in info["participants"]] == [joined_bob.you.id]

        # The seat is free: a new friend takes it, and bob sees them arrive.
        taken = await cat.join(room, "cat")
        assert isinstance(taken, wire.Joined), taken
        arrived = await bob.until("participant_joined")
        assert arrived.participant.id == taken.you.id
        await asyncio.gather(bob.close(), cat.close(), ann.close())
    print(f"\nreap time after SIGKILL: {reap_time:.2f} s")
    assert "Traceback" not in survivor.log(tail=100_000)
