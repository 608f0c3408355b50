"""Two signaling nodes sharing one real Redis: a room's media lives on one of them (a join that
reaches the other is redirected there before anything is set up); its state, events and HTTP
API are the same through either."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from rooms.redis_keys import PlacementKeys
from signaling import Settings, create_app
from signaling import protocol as wire
from signaling.keys import NODE
from tests.browser.server import free_port
from tests.helpers import wait_for
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


def _node_settings(node_id: str, redis_url: str) -> Settings:
    port = free_port()
    return Settings(port=port, public_url=f"http://127.0.0.1:{port}", node_id=node_id,
                    redis_url=redis_url)


@pytest.fixture
async def nodes(
    aiohttp_client: Callable[..., Awaitable[Client]], redis_url: str
) -> AsyncIterator[tuple[Client, Client]]:
    clients = []
    for node_id in ("A", "B"):
        settings = _node_settings(node_id, redis_url)
        clients.append(await aiohttp_client(
            create_app(settings), server_kwargs={"port": settings.port}
        ))
    yield clients[0], clients[1]


async def _sockets(client: Client, n: int) -> list[WsClient]:
    return [WsClient(await client.ws_connect("/ws")) for _ in range(n)]


class Sockets:
    """Sockets that follow ``redirect`` to the node it names (one of ``nodes``)."""

    def __init__(self, nodes: tuple[Client, ...]) -> None:
        self.by_url = {f"ws://127.0.0.1:{c.port}/ws": c for c in nodes}
        self.open: list[WsClient] = []
        self.redirects: list[wire.Redirect] = []

    async def join(self, via: Client, room: str, name: str) -> tuple[WsClient, Any]:
        ws = WsClient(await via.ws_connect("/ws"))
        self.open.append(ws)
        reply = await ws.join(room, name)
        if isinstance(reply, wire.Redirect):
            self.redirects.append(reply)
            assert not ws.offers, "media was set up before the redirect"
            await ws.close()
            ws = WsClient(await self.by_url[reply.url].ws_connect("/ws"))
            self.open.append(ws)
            reply = await ws.join(room, name)
        assert not isinstance(reply, wire.Redirect), "redirected twice"
        return ws, reply

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.open))


async def test_a_join_on_the_other_node_is_redirected_before_any_media(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    follow = Sockets(nodes)
    try:
        _, ja = await follow.join(nodes[0], room_id, "ann")
        assert isinstance(ja, wire.Joined)
        # The room's node is the less loaded one (by CPU too): maybe not the one ann reached.
        owner, other = (nodes[1], nodes[0]) if follow.redirects else nodes
        on_other = WsClient(await other.ws_connect("/ws"))
        follow.open.append(on_other)
        reply = await on_other.join(room_id, "bob")
        assert isinstance(reply, wire.Redirect), reply
        owner_id = owner.app[NODE].settings.node_id
        assert (reply.url, reply.room, reply.node, reply.reason) == (
            f"ws://127.0.0.1:{owner.port}/ws", room_id, owner_id, "placement")
        # Nothing was set up on the other node: no seat, no offer; the socket still answers.
        await on_other.ping()
        assert not on_other.offers
        info = await (await other.get(f"/api/rooms/{room_id}")).json()
        assert [p["name"] for p in info["participants"]] == ["ann"]
        health = await (await other.get("/healthz")).json()
        assert (health["rooms"], health["peers"]) == (0, 0)
        metrics = await (await other.get("/metrics")).text()
        sent = 1 + len(follow.redirects)  # bob's, and ann's if she too reached it first
        assert f'coshop_redirects_total{{reason="placement"}} {sent:.1f}' in metrics
        # A socket opened for the room itself is sent to the same form of endpoint.
        fixed = WsClient(await other.ws_connect(f"/rooms/{room_id}/ws"))
        follow.open.append(fixed)
        to_fixed = await fixed.join(None, "cat")
        assert isinstance(to_fixed, wire.Redirect)
        assert to_fixed.url == f"ws://127.0.0.1:{owner.port}/rooms/{room_id}/ws"
    finally:
        await follow.close()


async def test_capacity_holds_across_nodes(nodes: tuple[Client, Client], room_id: str) -> None:
    a, b = nodes
    follow = Sockets(nodes)
    try:
        pairs = await asyncio.gather(
            *(follow.join(a if i % 2 else b, room_id, f"p{i}") for i in range(12))
        )
        sockets = [ws for ws, _ in pairs]
        replies = [reply for _, reply in pairs]
        assert len(follow.redirects) == 6  # every join through the other node
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
        await follow.close()


async def test_events_reach_sockets_entering_through_either_node(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    a, b = nodes
    follow = Sockets(nodes)
    try:
        on_b, jb = await follow.join(b, room_id, "bob")
        on_a, ja = await follow.join(a, room_id, "ann")
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
        await follow.close()


async def test_disconnect_on_one_node_reaches_the_other(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    a, b = nodes
    follow = Sockets(nodes)
    try:
        on_b, _ = await follow.join(b, room_id, "bob")
        on_a, ja = await follow.join(a, room_id, "ann")
        await on_b.until("participant_joined")
        await on_a.close()
        gone = await on_b.until("participant_left")
        assert (gone.participant_id, gone.reason) == (ja.you.id, "disconnected")
    finally:
        await follow.close()


async def test_shopping_crosses_nodes(nodes: tuple[Client, Client], room_id: str) -> None:
    a, b = nodes
    follow = Sockets(nodes)
    try:
        on_b, jb = await follow.join(b, room_id, "bob")
        on_a, ja = await follow.join(a, room_id, "ann")
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
        await follow.close()


async def test_shopping_state_survives_a_node_restart(redis_url: str, room_id: str) -> None:
    async def start(node_id: str) -> Client:
        settings = _node_settings(node_id, redis_url)
        client = TestClient(TestServer(create_app(settings), port=settings.port))
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


async def test_a_join_no_node_can_serve_is_told_so(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    # Both nodes drain: nobody takes a new room. The join is refused with `unavailable`
    # and a retry_after, never left without an answer or half set up.
    a = nodes[0]
    for client in nodes:
        placement = client.app[NODE].placement
        placement.draining = True
        placement.set_url(placement.url)  # beat now, as draining
    registry = a.app[NODE].placement.placement
    ours = {c.app[NODE].placement.owner for c in nodes}

    async def all_draining() -> bool:
        entries = [e for e in await registry.nodes() if e.owner in ours]
        return len(entries) == 2 and all(e.draining for e in entries)

    await wait_for(all_draining, timeout=5, message="both nodes registered as draining")
    ws = WsClient(await a.ws_connect("/ws"))
    try:
        reply = await ws.join(room_id, "ann")
        assert isinstance(reply, wire.Error), reply
        assert reply.code == "unavailable" and reply.retry_after is not None
        assert not ws.offers
        health = await a.get("/healthz")
        body = await health.json()
        assert health.status == 503 and body["status"] == "draining" and body["peers"] == 0
    finally:
        await ws.close()


async def test_a_room_is_let_go_when_its_last_participant_leaves_its_node(
    nodes: tuple[Client, Client], room_id: str
) -> None:
    follow = Sockets(nodes)
    try:
        ws, joined = await follow.join(nodes[0], room_id, "ann")
        assert isinstance(joined, wire.Joined)
        registry = nodes[0].app[NODE].placement.placement
        owners = {c.app[NODE].placement.owner for c in nodes}
        assert (await registry.pinned_to([room_id]))[room_id] in owners
        await ws.send({"type": "leave"})
        await ws.until("left")

        async def unpinned() -> bool:
            return (await registry.pinned_to([room_id]))[room_id] is None

        await wait_for(unpinned, timeout=5, message="the empty room unpinned")
        # The next join (through either node) pins it again; the room and its state remain.
        _, again = await follow.join(nodes[1], room_id, "bob")
        assert isinstance(again, wire.Joined) and again.room.id == room_id
        assert (await registry.pinned_to([room_id]))[room_id] in owners
    finally:
        await follow.close()


async def test_participants_of_a_room_pinned_elsewhere_are_sent_there(
    nodes: tuple[Client, Client], room_id: str, redis_url: str
) -> None:
    # The room's node stalled past COSHOP_NODE_TIMEOUT and the room was pinned to the other
    # node meanwhile (written here straight into Redis, as pin_room.lua would have): at its
    # next heartbeat the stalled node sends its participants there, never leaves them silent.
    follow = Sockets(nodes)
    r = aioredis.Redis.from_url(redis_url)
    try:
        ws, joined = await follow.join(nodes[0], room_id, "ann")
        assert isinstance(joined, wire.Joined)
        owner = next(c for c in nodes if c.app[NODE].placement.rooms())
        other = nodes[1] if owner is nodes[0] else nodes[0]
        keys = PlacementKeys.of("coshop")
        await r.hset(keys.pins, room_id, other.app[NODE].placement.owner)
        moved = await ws.until("redirect", seconds=5)
        assert (moved.url, moved.reason, moved.room) == (
            f"ws://127.0.0.1:{other.port}/ws", "moved", room_id)
        assert owner.app[NODE].placement.rooms() == {}
        # Joining there as the same person works, with the resume credential.
        back = WsClient(await other.ws_connect("/ws"))
        follow.open.append(back)
        again = await back.join(room_id, "ann", resume=joined.resume)
        assert isinstance(again, wire.Joined) and again.you.id == joined.you.id
    finally:
        await r.aclose()
        await follow.close()
