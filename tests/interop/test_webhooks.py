"""Webhooks from two real ``coshop serve`` processes on one real redis-server to a real
receiver here: the room's node and the node whose API closes the room both see
``room_closed``; the receiver gets each event once, signed, and through its own outage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.helpers import wait_for
from tests.interop.conftest import Server
from tests.redis_server import RedisServer
from tests.signaling.webhook_receiver import Receiver

pytestmark = pytest.mark.redis

SECRET = "whsec_interop_0123456789"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(SECRET) as r:
        yield r


async def _join(session: aiohttp.ClientSession, base: str, room: str) -> tuple[
    aiohttp.ClientWebSocketResponse, str
]:
    """Join ``room`` through ``base``, following a redirect; the socket and its node's URL."""
    for _ in range(2):
        ws = await session.ws_connect(base.replace("http", "ws", 1) + "/ws")
        await ws.send_json({"type": "join", "room": room, "name": "ann"})
        while True:
            msg: dict[str, Any] = await ws.receive_json(timeout=10)
            if msg["type"] in ("joined", "redirect", "error"):
                break
        if msg["type"] == "joined":
            return ws, base
        assert msg["type"] == "redirect", msg
        await ws.close()
        base = msg["url"].replace("ws", "http", 1).removesuffix("/ws")
    raise AssertionError("redirected twice")


async def test_two_processes_deliver_each_event_once_through_an_outage(
    redis: RedisServer, serve: Callable[..., Server], receiver: Receiver
) -> None:
    hooks = json.dumps([{"url": receiver.url, "secret": SECRET}])
    nodes = [serve(redis_url=redis.url, node_id=f"hook-{i}", webhooks=hooks,
                   webhook_retry_base="0.1", webhook_attempts="20") for i in (1, 2)]
    async with aiohttp.ClientSession() as session:
        room = "interop-hooks"
        async with session.post(nodes[0].url + "/api/rooms", json={"id": room}) as r:
            assert r.status == 201
        ws, home = await _join(session, nodes[0].url, room)
        other = next(n.url for n in nodes if n.url != home)
        await wait_for(lambda: receiver.types()["participant_joined"] == 1,
                       message="the join delivered")

        await receiver.stop()
        async with session.delete(f"{other}/api/rooms/{room}") as r:  # not the room's node
            assert r.status == 200

        async def retrying() -> bool:
            for base in (home, other):
                async with session.get(base + "/api/webhooks/deliveries") as r:
                    log = (await r.json())["deliveries"]
                if any(d["type"] == "room_finished" and d["attempts"] >= 2 for d in log):
                    return True
            return False
        await wait_for(retrying, timeout=10, message="room_finished retried in the outage")
        await receiver.start()
        await ws.close()

        await wait_for(lambda: {"room_finished", "recap_ready"} <= set(receiver.types()),
                       timeout=15, message="the close delivered after the outage")
        assert receiver.types()["room_started"] == 1
        assert set(receiver.ids.values()) == {1}, receiver.ids
        assert receiver.rejected == 0
        delivered = []
        for base in (home, other):
            async with session.get(base + "/api/webhooks/deliveries") as r:
                delivered += [d["event_id"] for d in (await r.json())["deliveries"]]
        assert sorted(delivered) == sorted(receiver.ids)  # one node delivered each
