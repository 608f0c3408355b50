"""Two signaling nodes sharing one real Redis: capacity holds across nodes, events cross them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from signaling import Settings, create_app
from signaling import protocol as wire
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def room_id(redis_url: str) -> AsyncIterator[str]:
    """A room id of this test's own; its Redis keys are deleted afterwards."""
    room = f"two-nodes-{uuid.uuid4().hex[:10]}"
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
    aiohttp_client: Callable[..., Awaitable[Client]], redis_url: str
) -> AsyncIterator[tuple[Client, Client]]:
    a = await aiohttp_client(create_app(Settings(port=0, node_id="A", redis_url=redis_url)))
    b = await aiohttp_client(create_app(Settings(port=0, node_id="B", redis_url=redis_url)))
    yield a, b


async def _sockets(client: Client, n: int) -> list[WsClient]:
    return [WsClient(await client.ws_connect("/ws")) for _ in range(n)]


async def test_capacity_holds_across_nodes(nodes: tuple[Client, Client], room_id: str) -> None:
    a, b = nodes
    sockets = await _sockets(a, 6) + await _sockets(b, 6)
    try:
        replies = await asyncio.gather(
            *(ws.join(room_id, f"p{i}") for i, ws in enumerate(sockets))
        )
        joined = [r for r in replies if isinstance(r, wire.Joined)]
        refused = [r for r in replies if isinstance(r, wire.Error)]
        assert len(joined) == 10
        assert [r.code for r in refused] == ["room_full", "room_full"]
        assert sorted(r.seq for r in joined) == list(range(1, 11))
        # Each member, whichever node it is on, sees every later join once, in seq order.
        for ws, reply in zip(sockets, replies, strict=True):
            if isinstance(reply, wire.Joined):
                later = [await ws.expect("participant_joined") for _ in range(10 - reply.seq)]
                assert [m.seq for m in later] == list(range(reply.seq + 1, 11))
        # Every socket still works, refused ones included.
        await asyncio.gather(*(ws.ping() for ws in sockets))
        info = await (await a.get(f"/api/rooms/{room_id}")).json()
        assert info["participant_count"] == 10 and len(info["participants"]) == 10
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


async def test_events_cross_nodes(nodes: tuple[Client, Client], room_id: str) -> None:
    a, b = nodes
    (on_a,), (on_b,) = await _sockets(a, 1), await _sockets(b, 1)
    try:
        jb = await on_b.join(room_id, "bob")
        ja = await on_a.join(room_id, "ann")
        seen = await on_b.until("participant_joined")
        assert seen.seq == jb.seq + 1 and seen.participant == ja.you
        assert {p.name for p in ja.participants} == {"ann", "bob"}

        await on_a.send({"type": "leave"})
        gone = await on_b.until("participant_left")
        assert (gone.seq, gone.participant_id, gone.reason) == (ja.seq + 1, ja.you.id, "left")

        # Closing the room through node A's API kicks the participant on node B.
        assert (await a.delete(f"/api/rooms/{room_id}")).status == 200
        assert (await on_b.until("room_closed")).room == room_id
        assert (await on_b.expect("left")).reason == "room_closed"
        await on_b.ping()
    finally:
        await on_a.close()
        await on_b.close()


async def test_disconnect_on_one_node_reaches_the_other(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    a, b = nodes
    (on_a,), (on_b,) = await _sockets(a, 1), await _sockets(b, 1)
    try:
        await on_b.join(room_id, "bob")
        ja = await on_a.join(room_id, "ann")
        await on_b.until("participant_joined")
        await on_a.close()
        gone = await on_b.until("participant_left")
        assert (gone.participant_id, gone.reason) == (ja.you.id, "disconnected")
    finally:
        await on_b.close()


async def test_shopping_crosses_nodes(nodes: tuple[Client, Client], room_id: str) -> None:
    a, b = nodes
    (on_a,), (on_b,) = await _sockets(a, 1), await _sockets(b, 1)
    try:
        jb = await on_b.join(room_id, "bob")
        ja = await on_a.join(room_id, "ann")
        assert ja.shopping == jb.shopping  # one state, whichever node
        first, second = (p["id"] for p in ja.shopping.catalog.products[:2])

        await on_a.send({"type": "vote", "product_id": first, "value": "yes"})
        cast = await on_b.until("vote_cast")
        assert cast == await on_a.until("vote_cast")
        assert cast.vote.participant_id == ja.you.id and cast.tallies[first].yes == 1

        await on_b.send({"type": "carousel_move", "action": "next", "version": 0})
        moved = await on_a.until("carousel_changed")
        assert (moved.by, moved.carousel.current) == (jb.you.id, second)

        # The HTTP API of either node acts on the same room, live on both.
        api_move = await (await b.post(f"/api/rooms/{room_id}/carousel",
                                       json={"action": "goto", "product_id": first})).json()
        assert (await on_a.until("carousel_changed")).seq == api_move["seq"]
        tallies = await (await a.get(f"/api/rooms/{room_id}/tallies")).json()
        assert tallies["tallies"][first]["yes"] == 1
        round_ = await (await a.post(f"/api/rooms/{room_id}/vote-round",
                                     json={"duration": 60})).json()
        assert (await on_b.until("vote_round_opened")).round.id == round_["round"]["id"]

        # A stale move on B loses to the move A made from the same version.
        version = api_move["carousel"]["version"]
        await on_a.send({"type": "carousel_move", "action": "next", "version": version})
        await on_b.until("carousel_changed")
        await on_b.send({"type": "carousel_move", "action": "prev", "version": version})
        error = await on_b.next_error("stale_version")
        assert error.carousel is not None and error.carousel.version == version + 1
    finally:
        await on_a.close()
        await on_b.close()


async def test_shopping_state_survives_a_node_restart(redis_url: str, room_id: str) -> None:
    async def start(node_id: str) -> Client:
        client = TestClient(TestServer(create_app(
            Settings(port=0, node_id=node_id, redis_url=redis_url)
        )))
        await client.start_server()
        return client

    first = await start("A")
    try:
        (ws,) = await _sockets(first, 1)
        joined = await ws.join(room_id, "ann")
        product = joined.shopping.catalog.products[2]["id"]
        for request in (
            {"type": "vote", "product_id": product, "value": 4},
            {"type": "carousel_move", "action": "goto", "product_id": product, "version": 0},
            {"type": "cart_add", "product_id": product, "quantity": 2},
            {"type": "chat", "text": "back soon"},
        ):
            await ws.send(request)
        await ws.until("chat_message")
        await ws.close()
    finally:
        await first.close()  # the node goes away (its participant with it)

    second = await start("A2")
    try:
        (ws,) = await _sockets(second, 1)
        rejoined = await ws.join(room_id, "ann")
        shopping = rejoined.shopping
        assert shopping.carousel.current == product and shopping.carousel.version == 1
        assert [(v.product_id, v.value) for v in shopping.votes] == [(product, 4)]
        assert [(i.product_id, i.quantity) for i in shopping.cart] == [(product, 2)]
        assert [m.text for m in shopping.chat] == ["back soon"]
        recap = await (await second.get(f"/api/rooms/{room_id}/recap")).json()
        assert recap["votes_cast"] == 1 and recap["chat_messages"] == 1
        await ws.close()
    finally:
        await second.close()
