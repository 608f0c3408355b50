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
    second: WhipClient | None = None
    try:
        await first.publish()  # placed on A or on B (redirected there)
        serving, other = (a, b) if a.app[WHIP].by_id else (b, a)
        assert first.resource is not None
        assert first.resource.startswith(str(serving.make_url("/whip/")))
        ingest = next(iter(serving.app[WHIP].by_id.values()))
        assert await _participants(serving, room) == {"cam"}
        await serving.app[NODE].drain()  # the room goes to the other; the stream cannot follow
        assert ingest.state is IngestState.ENDED and not serving.app[WHIP].by_id
        assert await _participants(serving, room) == set()
        # The encoder comes back (OBS reconnects) to the node it knows: sent on.
        async with aiohttp.ClientSession() as http, http.post(
            serving.make_url(f"/whip/{room}"), data=b"v=0\r\n", allow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            assert response.status == 307
            assert response.headers["Location"] == str(other.make_url(f"/whip/{room}"))
        second = WhipClient(str(serving.make_url(f"/whip/{room}")), token,
                            [ColourTrack(1), ToneTrack()])
        await second.publish()  # follows the redirect with its token (RFC 9725 §4.5)
        assert second.resource is not None
        assert second.resource.startswith(str(other.make_url("/whip/")))
        await wait_for(lambda: bool(other.app[WHIP].by_id), timeout=5, message="live there")
        assert await _participants(other, room) == {"cam"}
        assert await second.stop() == 200
    finally:
        await first.close()
        if second is not None:
            await second.close()
