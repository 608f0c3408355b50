"""How long a draining node stays: real ``coshop serve`` processes, a real redis-server, raw
WebSocket clients.

A client that ignores its ``redirect`` cannot hold a draining node: the node took it out of
the room when it sent the redirect, so the node is empty and exits at once, closing the
client's socket (1001). The drain timeout (``COSHOP_DRAIN_TIMEOUT``) is for rooms that cannot
be moved: with Redis out of reach nobody can say where they should go, so the node drains on
(it would move them if Redis came back) and exits when the timeout is over, not before."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode

from tests.interop.conftest import Server
from tests.interop.waiting import until
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

DRAIN_TIMEOUT = 6.0
"""Short, but long enough that the checks before it happen on a loaded machine."""


class StubbornClient:
    """A raw WebSocket client in a room that ignores ``redirect`` (an old or broken client)."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def join(self, url: str, room: str) -> None:
        """Join ``room`` at ``url`` (following a placement ``redirect``: it got no seat)."""
        for _ in range(3):
            self.ws = await self._http.ws_connect(url.replace("http", "ws", 1) + "/ws")
            await self.ws.send_json({"type": "join", "room": room, "name": "stubborn"})
            while True:
                msg = await self.ws.receive_json(timeout=10)
                if msg["type"] in ("joined", "redirect", "error"):
                    break
            if msg["type"] == "joined":
                self._reader = asyncio.get_running_loop().create_task(self._read(self.ws))
                return
            assert msg["type"] == "redirect", msg
            await self.ws.close()
            url = msg["url"].removesuffix("/ws").replace("ws", "http", 1)
        raise AssertionError("redirected in circles")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:  # never answers, never follows a redirect
            if raw.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(raw.data))

    @property
    def closed_by_server(self) -> int | None:
        """The close code the server sent (None: the socket is open)."""
        assert self.ws is not None
        return self.ws.close_code if self.ws.closed else None

    def got(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


async def health(server: Server, http: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
    async with http.get(server.url + "/healthz") as response:
        return response.status, await response.json()


async def wait_draining(server: Server, http: aiohttp.ClientSession) -> None:
    """Return once /healthz answers 503 "draining"; fail if the process exits first."""
    while True:
        assert server.process.poll() is None, "exited instead of draining"
        try:
            status, body = await health(server, http)
        except aiohttp.ClientError:
            continue  # exiting: the next poll() says so
        if status == 503 and body["status"] == "draining":
            return
        await asyncio.sleep(0.1)


def _two_nodes(redis: RedisServer, serve: Callable[..., Server]) -> list[Server]:
    return [serve(redis_url=redis.url, node_id=f"node-{n}", drain_timeout="120")
            for n in ("a", "b")]


async def _join_one(
    client: StubbornClient, nodes: list[Server], http: aiohttp.ClientSession, prefix: str
) -> Server:
    """Join a new room through the first node; the node that serves it (one of the two)."""
    await client.join(nodes[0].url, f"{prefix}-{uuid.uuid4().hex[:6]}")
    serving = [n for n in nodes if (await health(n, http))[1]["peers"] == 1]
    assert len(serving) == 1
    return serving[0]


async def test_a_client_that_ignores_its_redirect_cannot_hold_a_draining_node(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    nodes = _two_nodes(redis, serve)
    async with aiohttp.ClientSession() as http:
        client = StubbornClient(http)
        try:
            draining = await _join_one(client, nodes, http, "stubborn")
            termed_at = time.monotonic()
            draining.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(draining.process.wait, 60)
            exited = time.monotonic() - termed_at
            await until(lambda: client.closed_by_server is not None, 10, "socket closed")
        finally:
            await client.close()
    assert code == 0
    assert [r["reason"] for r in client.got("redirect")] == ["draining"]
    assert client.closed_by_server == WSCloseCode.GOING_AWAY
    assert "drained: no participant left here" in draining.log_text()
    # Empty at once: far from its 120 s timeout (a generous bound for a loaded machine).
    assert exited < 60, exited
    print(f"\nthe drained node exited {exited:.2f} s after SIGTERM")


async def test_a_drain_that_cannot_move_its_room_ends_at_the_timeout_and_not_before(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    node = serve(redis_url=redis.url, node_id="node-a", drain_timeout=str(DRAIN_TIMEOUT))
    async with aiohttp.ClientSession() as http:
        client = StubbornClient(http)
        try:
            await client.join(node.url, f"stuck-{uuid.uuid4().hex[:6]}")
            await redis.kill()  # nowhere to move the room, and no telling where it should go
            termed_at = time.monotonic()
            node.process.send_signal(signal.SIGTERM)
            await wait_draining(node, http)
            assert node.process.poll() is None, "exited before its drain timeout"
            assert client.closed_by_server is None
            assert client.got("redirect") == []
            code = await asyncio.to_thread(node.process.wait, DRAIN_TIMEOUT + 60)
            exited = time.monotonic() - termed_at
            await until(lambda: client.closed_by_server is not None, 10, "socket closed")
        finally:
            await client.close()
    assert code == 0
    assert exited >= DRAIN_TIMEOUT, exited  # the node counts from after the signal
    assert client.closed_by_server == WSCloseCode.GOING_AWAY
    log = node.log_text()
    assert "drain timeout: 1 participants still here" in log, log[-3000:]
    print(f"\nthe node exited {exited:.2f} s after SIGTERM (drain timeout {DRAIN_TIMEOUT:g} s)")


async def test_rooms_of_a_node_draining_through_a_redis_outage_move_once_redis_is_back(
    redis: RedisServer, serve: Callable[..., Server]
) -> None:
    nodes = _two_nodes(redis, serve)
    async with aiohttp.ClientSession() as http:
        client = StubbornClient(http)
        try:
            draining = await _join_one(client, nodes, http, "outage")
            other = next(n for n in nodes if n is not draining)
            await redis.kill()
            draining.process.send_signal(signal.SIGTERM)
            await wait_draining(draining, http)
            assert client.got("redirect") == []  # nowhere to send it while Redis is away
            await redis.start()  # empty (no persistence): the nodes register again
            await until(lambda: client.got("redirect"), 30, "a redirect once Redis is back")
            code = await asyncio.to_thread(draining.process.wait, 60)
        finally:
            await client.close()
    assert code == 0
    [redirect] = client.got("redirect")
    assert redirect["reason"] == "draining"
    assert redirect["url"] == other.url.replace("http", "ws", 1) + "/ws"
    assert "drained: no participant left here" in draining.log_text()
