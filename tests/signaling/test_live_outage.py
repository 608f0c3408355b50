"""A live room that Redis lost (restarted without persistence) is rebuilt as a live room: its
audience is re-joined under the audience capacity, not refused by a stage-sized room."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from signaling import Settings, create_app
from signaling import protocol as wire
from signaling.keys import NODE
from signaling.presence import PresenceState
from tests.browser.server import free_port
from tests.helpers import wait_for
from tests.redis_server import RedisServer
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path, aof=False)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[Client]:
    port = free_port()
    settings = Settings(
        port=port, public_url=f"http://127.0.0.1:{port}", node_id="A", room_capacity=2,
        redis_url=redis_server.url, ws_heartbeat=30.0, ws_timeout=60.0, answer_timeout=300.0,
    )
    client = TestClient(TestServer(create_app(settings), port=port))
    await client.start_server()
    yield client
    await client.close()


async def next_snapshot(ws: WsClient) -> wire.Snapshot:
    """The next snapshot, past the ``unavailable`` the outage brought."""
    while not isinstance(message := await ws.recv(15), wire.Snapshot):
        if isinstance(message, wire.Error):
            assert message.code == "unavailable", message
    return message


async def test_a_lost_live_room_comes_back_live(redis_server: RedisServer, node: Client) -> None:
    room = f"show-{uuid.uuid4().hex[:8]}"
    created = await node.post(
        "/api/rooms", json={"id": room, "kind": "live", "capacity": 1, "audience_capacity": 5}
    )
    assert created.status == 201
    sockets = [WsClient(await node.ws_connect("/ws")) for _ in range(4)]
    try:
        assert isinstance(await sockets[0].join(room, "host"), wire.Joined)
        for i, ws in enumerate(sockets[1:]):
            assert isinstance(await ws.join(room, f"v{i}", role="viewer"), wire.Joined)
        await redis_server.kill()
        # As tests/signaling/test_redis_outage.py: the node notices the outage first.
        await wait_for(lambda: node.app[NODE].presence.state is PresenceState.DOWN,
                       timeout=10, message="the node noticed the outage")
        await redis_server.start()  # empty: no persistence
        snapshot = await next_snapshot(sockets[0])
        assert snapshot.room.kind == "live" and snapshot.room.capacity == 1
        assert snapshot.room.audience_count == 3
        assert {p.name for p in snapshot.participants} == {"host", "v0", "v1", "v2"}
        for ws in sockets[1:]:
            shown = await next_snapshot(ws)
            assert shown.room.audience_count == 3
        await wait_for(lambda: node.app[NODE].presence.state is PresenceState.UP, timeout=10)
        await sockets[1].send({"type": "resync"})  # the room answers as usual again
        assert (await sockets[1].until("snapshot")).room.kind == "live"
    finally:
        for ws in sockets:
            await ws.close()
