"""Two nodes on one real Redis, both following a room: each webhook event reaches the
receiver exactly once (the node that claims it delivers it), with the same id from either."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import sample_catalog
from rooms.models import RoomEvent
from signaling import Settings, create_app
from signaling import protocol as wire
from signaling.keys import NODE
from signaling.webhook_claims import CLAIM_KEY
from tests.browser.server import free_port
from tests.helpers import wait_for
from tests.signaling.webhook_receiver import Receiver
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

Client = TestClient[web.Request, web.Application]
SECRET = "whsec_two_nodes_0123"
PRODUCT = sample_catalog().product_ids[0]


class Follower:
    """A room member that only listens: it makes a node follow the room's events, as the
    node of a participant being moved does."""

    in_audience = False
    member_id = None

    def __init__(self) -> None:
        self.events: list[RoomEvent] = []

    def deliver(self, event: RoomEvent) -> None:
        self.events.append(event)

    def resync_needed(self) -> None:
        pass

    def deliver_counts(self, message: wire.ReactionCounts, text: str) -> None:
        pass


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(SECRET) as r:
        yield r


@pytest.fixture
async def room_id(redis_url: str) -> AsyncIterator[str]:
    """A room id of this test's own; its Redis keys (webhook claims too) are deleted after."""
    room = f"hooks-{uuid.uuid4().hex[:10]}"
    yield room
    r = aioredis.Redis.from_url(redis_url)
    try:
        stale = [k async for k in r.scan_iter(match=f"*{room}*", count=1000)]
        if stale:
            await r.delete(*stale)
    finally:
        await r.aclose()


@pytest.fixture
async def nodes(
    aiohttp_client: Callable[..., Awaitable[Client]], redis_url: str, receiver: Receiver
) -> tuple[Client, Client]:
    clients = []
    hooks = json.dumps([{"url": receiver.url, "secret": SECRET}])
    for node_id in ("A", "B"):
        port = free_port()
        settings = Settings(port=port, public_url=f"http://127.0.0.1:{port}", node_id=node_id,
                            redis_url=redis_url, webhooks=hooks, webhook_retry_base=0.05)
        clients.append(await aiohttp_client(create_app(settings), server_kwargs={"port": port}))
    return clients[0], clients[1]


async def test_each_event_is_delivered_once_by_one_of_two_nodes(
    nodes: tuple[Client, Client], receiver: Receiver, room_id: str, redis_url: str
) -> None:
    assert (await nodes[0].post("/api/rooms", json={"id": room_id})).status == 201
    ann = WsClient(await nodes[0].ws_connect("/ws"))
    reply = await ann.join(room_id, "ann")
    if reply.type == "redirect":  # placement chose the other node: the sockets live there
        await ann.close()
        nodes = (nodes[1], nodes[0])
        ann = WsClient(await nodes[0].ws_connect("/ws"))
        reply = await ann.join(room_id, "ann")
    assert reply.type == "joined"
    a, b = nodes  # a: the room's node; b follows the room and serves the HTTP calls
    follower = Follower()
    await b.app[NODE].hubs.add(room_id, follower)
    bob = WsClient(await a.ws_connect("/ws"))
    assert (await bob.join(room_id, "bob")).type == "joined"
    await bob.send({"type": "cart_add", "product_id": PRODUCT})
    await bob.close()
    assert (await b.post(f"/api/rooms/{room_id}/vote-round", json={"duration": 60})).status == 201
    assert (await b.delete(f"/api/rooms/{room_id}/vote-round")).status == 200
    assert (await b.delete(f"/api/rooms/{room_id}")).status == 200  # B's API sees it too
    await ann.close()

    expected = {"room_started": 1, "participant_joined": 2, "cart_item_added": 1,
                "participant_left": 1, "vote_round_closed": 1, "room_finished": 1,
                "recap_ready": 1}
    await wait_for(lambda: receiver.types() == expected, timeout=10,
                   message="every event delivered")
    await wait_for(lambda: any(e.type == "room_closed" for e in follower.events),
                   message="B saw the whole room")
    # Both nodes saw every event; the receiver got each once.
    assert set(receiver.ids.values()) == {1}, receiver.ids
    logs = [a.app[NODE].webhooks.deliveries(500), b.app[NODE].webhooks.deliveries(500)]
    by_a, by_b = ({d.event_id for d in log} for log in logs)
    assert not by_a & by_b
    assert by_a | by_b == set(receiver.ids)

    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for event_id in receiver.ids:
            if event_id.endswith(":recap"):
                continue  # made by whoever delivered room_finished, under its claim
            owner = await r.get(CLAIM_KEY.format(ns="coshop", event_id=event_id))
            deliverer = a if event_id in by_a else b
            assert owner == deliverer.app[NODE].settings.node_id
    finally:
        await r.aclose()
    await b.app[NODE].hubs.remove(room_id, follower)
