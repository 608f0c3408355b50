"""A WHIP encoder keeps its seat through a Redis restart (with and without persistence).

After an outage the node puts back everyone it holds a seat for (signaling.presence): its
sockets and its WHIP ingests. An ingest left out would be removed from the room as one who
"left while the store was unreachable", and its stream ended, although it never stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from signaling import Settings, create_app
from signaling import protocol as wire
from signaling.keys import NODE
from signaling.presence import PresenceState
from signaling.whip import WHIP, IngestState
from tests.browser.server import free_port
from tests.helpers import wait_for
from tests.interop.stranger import ColourTrack, ToneTrack
from tests.interop.whip_client import WhipClient
from tests.redis_server import RedisServer
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

Client = TestClient[web.Request, web.Application]


@pytest.fixture(params=["aof", "no-persistence"])
async def redis_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path, aof=request.param == "aof")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[Client]:
    port = free_port()
    settings = Settings(
        port=port, public_url=f"http://127.0.0.1:{port}", node_id="A",
        redis_url=redis_server.url, ws_heartbeat=30.0, ws_timeout=60.0, answer_timeout=300.0,
    )
    client = TestClient(TestServer(create_app(settings), port=port))
    await client.start_server()
    yield client
    await client.close()


async def _participants(node: Client, room: str) -> set[str]:
    response = await node.get(f"/api/rooms/{room}")
    if response.status != 200:
        return set()
    return {p["id"] for p in (await response.json())["participants"]}


async def test_a_whip_seat_survives_a_redis_restart(
    redis_server: RedisServer, node: Client
) -> None:
    room = "onair"
    ws = WsClient(await node.ws_connect("/ws"))
    joined = await ws.join(room, "ann")
    assert isinstance(joined, wire.Joined)
    ann = joined.you.id
    minted = await node.post(f"/api/rooms/{room}/tokens", json={"name": "Cam", "role": "host",
                                                                "identity": "cam"})
    token = (await minted.json())["token"]
    encoder = WhipClient(str(node.make_url(f"/whip/{room}")), token,
                         [ColourTrack(1), ToneTrack()])
    try:
        await encoder.publish()
        assert await _participants(node, room) == {"cam", ann}
        ingest = next(iter(node.app[WHIP].by_id.values()))
        await redis_server.kill()
        await wait_for(lambda: node.app[NODE].presence.state is PresenceState.DOWN,
                       timeout=15, message="the node noticed the outage")
        await ws.next_error("unavailable")  # the socket is told of it
        await redis_server.start()
        await wait_for(lambda: node.app[NODE].presence.state is PresenceState.UP,
                       timeout=15, message="the node recovered")
        # The room is reasserted, then its sockets are shown a snapshot: by then a seat the
        # node forgot would have been taken away (and the stream ended with it).
        snapshot = await ws.until("snapshot")
        assert {p.id for p in snapshot.participants} == {"cam", ann}
        assert await _participants(node, room) == {"cam", ann}
        assert ingest.state is IngestState.LIVE
        assert await encoder.stop() == 200
        await wait_for(lambda: not node.app[WHIP].by_id, timeout=5, message="ended")
    finally:
        await encoder.close()
        await ws.close()
