"""Placement is fair: 200 rooms of different sizes (pairs and groups of five) created through
haproxy (round-robin) over three real nodes end up spread within 20 % of even by load (rooms +
participants), not by count alone. Participants are viewers over plain WebSockets
(docs/PROTOCOL.md): no media."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.haproxy import Haproxy
from tests.interop.conftest import Server
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

ROOMS = 200
PARALLEL = 8  # rooms being filled at once


def size(i: int) -> int:
    """Every third room is a group of five, the others pairs: placing by room count alone
    in turn would put every group on one node."""
    return 5 if i % 3 == 0 else 2


async def join(http: aiohttp.ClientSession, url: str, room: str, name: str
               ) -> aiohttp.ClientWebSocketResponse:
    """A viewer in ``room``, through ``url``, following redirects (at most 5)."""
    for _ in range(6):
        ws = await http.ws_connect(url.replace("http", "ws", 1) + "/ws")
        await ws.send_json({"type": "join", "room": room, "name": name, "role": "viewer"})
        while True:
            msg: dict[str, Any] = json.loads((await ws.receive(timeout=10)).data)
            if msg["type"] in ("joined", "redirect", "error"):
                break
        if msg["type"] == "joined":
            return ws
        await ws.close()
        assert msg["type"] == "redirect", msg
        url = msg["url"].replace("ws", "http", 1).removesuffix("/ws")
    raise AssertionError(f"{name}: redirected in circles")


async def test_two_hundred_rooms_spread_within_20_percent_by_load(
    redis: RedisServer, serve: Callable[..., Server], tmp_path: Path
) -> None:
    nodes = [serve(redis_url=redis.url, node_id=f"node-{i}", ws_heartbeat="30",
                   ws_timeout="60")
             for i in (1, 2, 3)]
    balancer = Haproxy(tmp_path, [urlsplit(n.url).netloc for n in nodes])
    await balancer.start()
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    prefix = uuid.uuid4().hex[:6]
    gate = asyncio.Semaphore(PARALLEL)
    try:
        # No connection limit: every participant keeps its socket open.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def fill(i: int) -> None:
                async with gate:
                    room = f"fair-{prefix}-{i}"
                    for k in range(size(i)):
                        sockets.append(await join(http, balancer.url, room, f"v{k}"))

            await asyncio.gather(*(fill(i) for i in range(ROOMS)))
            health = []
            for node in nodes:
                async with http.get(node.url + "/healthz") as response:
                    health.append(await response.json())
            loads = [h["rooms"] + h["peers"] for h in health]
            mean = sum(loads) / len(loads)
            print(f"\nrooms {[h['rooms'] for h in health]}, participants "
                  f"{[h['peers'] for h in health]}, load (rooms + participants) {loads}; "
                  f"largest deviation from even {max(abs(x - mean) for x in loads) / mean:.1%}")
            assert sum(h["rooms"] for h in health) == ROOMS
            assert sum(h["peers"] for h in health) == sum(size(i) for i in range(ROOMS))
            assert all(abs(x - mean) <= 0.2 * mean for x in loads), loads
            await asyncio.gather(*(ws.close() for ws in sockets))
    finally:
        await balancer.stop()
