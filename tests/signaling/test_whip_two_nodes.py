"""WHIP across two nodes sharing Redis: a draining node ends its WHIP streams, and an encoder
that POSTs to a node not serving the room is redirected (307) to the one that does (RFC 9725
§4.5), where it publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from signaling import Settings, create_app
from signaling.keys import NODE
from signaling.whip import WHIP, IngestState
from tests.browser.server import free_port
from tests.helpers import wait_for
from tests.interop.stranger import ColourTrack, ToneTrack
from tests.interop.whip_client import WhipClient
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    redis = RedisServer(tmp_path, aof=False)
    await redis.start()
    clients = []
    for name in ("A", "B"):
        port = free_port()
        settings = Settings(
            port=port, public_url=f"http://127.0.0.1:{port}", node_id=name,
            redis_url=redis.url, ws_heartbeat=30.0, ws_timeout=60.0, drain_timeout=10.0,
        )
        client = TestClient(TestServer(create_app(settings), port=port))
        await client.start_server()
        clients.append(client)
    yield clients[0], clients[1]
    for client in clients:
        await client.close()
    await redis.stop()


async def _participants(node: Client, room: str) -> set[str]:
    body = await (await node.get(f"/api/rooms/{room}")).json()
    return {p["id"] for p in body["participants"]}


async def test_a_draining_node_ends_its_whip_stream_and_the_next_post_goes_elsewhere(
    nodes: tuple[Client, Client],
) -> None:
    a, b = nodes
    room = "handover"
    await a.post("/api/rooms", json={"id": room, "kind": "live"})
    minted = await a.post(f"/api/rooms/{room}/tokens",
                          json={"name": "Cam", "role": "host", "identity": "cam"})
    token = (await minted.json())["token"]
    first = WhipClient(str(a.make_url(f"/whip/{room}")), token, [ColourTrack(1), ToneTrack()])
    second = WhipClient(str(a.make_url(f"/whip/{room}")), token, [ColourTrack(1), ToneTrack()])
    try:
        await first.publish()
        ingest = next(iter(a.app[WHIP].by_id.values()))
        assert await _participants(a, room) == {"cam"}
        await a.app[NODE].drain()  # the room goes to B; its WHIP stream cannot follow
        assert ingest.state is IngestState.ENDED and not a.app[WHIP].by_id
        assert await _participants(a, room) == set()
        # The encoder comes back (OBS reconnects) to the node it knows: sent on to B.
        async with aiohttp.ClientSession() as http, http.post(
            a.make_url(f"/whip/{room}"), data=b"v=0\r\n", allow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            assert response.status == 307
            assert response.headers["Location"] == str(b.make_url(f"/whip/{room}"))
        await second.publish()  # follows the redirect, as an HTTP client does
        assert second.resource is not None
        assert second.resource.startswith(str(b.make_url("/whip/")))
        await wait_for(lambda: bool(b.app[WHIP].by_id), timeout=5, message="live on B")
        assert await _participants(b, room) == {"cam"}
        assert await second.stop() == 200
    finally:
        await first.close()
        await second.close()
