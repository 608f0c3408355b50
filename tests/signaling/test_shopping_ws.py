"""Shopping through the WebSocket: state in joined, changes fanned out with their seq, the remote,
rate limits and bad input (a clear error code, nothing else changes, the socket carries on)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import sample_catalog
from rooms.shopping import CHAT_POLICY, REACTION_POLICY, VOTE_POLICY
from signaling import Settings
from signaling import protocol as wire
from signaling.node import Node
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[WsClient]]
MakeClient = Callable[[Settings], Awaitable[Client]]

SAMPLE = sample_catalog()
FIRST, SECOND = SAMPLE.product_ids[0], SAMPLE.product_ids[1]


async def join(connect: Connect, room: str, name: str, **fields: Any) -> tuple[WsClient, Any]:
    ws = await connect()
    joined = await ws.join(room, name, **fields)
    assert isinstance(joined, wire.Joined), joined
    return ws, joined


async def token(client: Client, room: str, name: str, role: str) -> str:
    response = await client.post(f"/api/rooms/{room}/tokens", json={"name": name, "role": role})
    assert response.status == 201
    minted: str = (await response.json())["token"]
    return minted


async def state(ws: WsClient) -> wire.Snapshot:
    """A fresh snapshot (resync), skipping whatever came before it."""
    await ws.send({"type": "resync"})
    snapshot: wire.Snapshot = await ws.until("snapshot")
    return snapshot


async def test_joined_carries_the_shopping_state(client: Client, connect: Connect) -> None:
    _, joined = await join(connect, "demo", "Ann")
    shopping = joined.shopping
    assert [p["id"] for p in shopping.catalog.products] == list(SAMPLE.product_ids)
    assert shopping.catalog.revision == 0 and shopping.catalog.currency == "USD"
    assert shopping.carousel == wire.CarouselInfo(
        index=0, current=FIRST, version=0, mode="everyone", holder=None  # demo: no host
    )
    assert (shopping.round, shopping.votes, shopping.cart, shopping.chat) == (None, [], [], [])
    image = shopping.catalog.products[0]["images"][0]
    assert image.startswith("/catalog/sample/images/")
    response = await client.get(image)
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert (await client.get("/catalog/sample/images/../catalog.json")).status in (403, 404)


async def test_changes_reach_everyone_with_their_seq(connect: Connect) -> None:
    a, ja = await join(connect, "r", "Ann")
    b, _ = await join(connect, "r", "Bob")
    await a.until("participant_joined")

    await a.send({"type": "vote", "product_id": FIRST, "value": "yes", "variant_id":
                  SAMPLE.products[0].variants[1].id})
    cast_a, cast_b = await a.until("vote_cast"), await b.until("vote_cast")
    assert cast_a == cast_b and cast_a.seq == ja.seq + 2
    assert cast_a.vote.participant_id == ja.you.id and cast_a.previous is None
    assert cast_a.tallies[FIRST].yes == 1
    assert [e.product_id for e in cast_a.shortlist] == [FIRST]

    await b.send({"type": "carousel_move", "action": "next", "version": 0})
    moved = await a.until("carousel_changed")
    assert moved == await b.until("carousel_changed")
    assert (moved.seq, moved.change, moved.carousel.current, moved.carousel.version) == (
        cast_a.seq + 1, "move", SECOND, 1
    )
    await a.send({"type": "chat", "text": " hi  "})
    said = await b.until("chat_message")
    assert (said.message.text, said.message.name, said.message.seq) == ("hi", "Ann", said.seq)
    await b.send({"type": "react", "emoji": "🔥"})
    reaction = await a.until("reaction")
    assert (reaction.emoji, reaction.product_id) == ("🔥", SECOND)
    await b.send({"type": "cart_add", "product_id": SECOND, "quantity": 2})
    added = await a.until("cart_item_added")
    assert (added.item.added_by_name, added.item.quantity) == ("Bob", 2)
    await a.send({"type": "cart_remove", "product_id": SECOND})
    removed = await b.until("cart_item_removed")
    assert removed.by == ja.you.id and removed.seq == added.seq + 1
    await a.send({"type": "vote_retract", "product_id": FIRST})
    retracted = await b.until("vote_retracted")
    assert retracted.tallies == {} and retracted.shortlist == []

    snapshot = await state(b)
    assert snapshot.seq == retracted.seq
    assert snapshot.shopping.carousel == moved.carousel
    assert [m.text for m in snapshot.shopping.chat] == ["hi"]


async def test_a_stale_move_gets_the_winning_carousel(connect: Connect) -> None:
    a, _ = await join(connect, "r", "Ann")
    b, _ = await join(connect, "r", "Bob")
    await a.send({"type": "carousel_move", "action": "goto", "product_id": SECOND,
                  "version": 0})
    won = await b.until("carousel_changed")
    await b.send({"type": "carousel_move", "action": "prev", "version": 0})
    error = await b.next_error("stale_version", ref="carousel_move")
    assert error.carousel == won.carousel and "version 1" in error.message
    await b.ping()
    assert (await state(b)).seq == won.seq  # nothing else changed


async def test_who_may_move_in_a_host_led_room(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="prod", secret="k"))
    auth = {"Authorization": "Bearer k"}

    async def member(name: str, role: str) -> tuple[WsClient, wire.Joined]:
        response = await client.post("/api/rooms/live/tokens", json={"name": name, "role": role},
                                     headers=auth)
        ws = WsClient(await client.ws_connect("/ws"))
        joined = await ws.join("live", token=(await response.json())["token"])
        assert isinstance(joined, wire.Joined)
        return ws, joined

    host, jh = await member("Hana", "host")
    guest, jg = await member("Gus", "guest")
    viewer, _ = await member("Vi", "viewer")
    try:
        assert jh.shopping.carousel.mode == "host_led"  # production rooms start host-led
        await guest.send({"type": "carousel_move", "action": "next", "version": 0})
        await guest.next_error("forbidden", ref="carousel_move")
        for request in ({"type": "remote_take"}, {"type": "remote_mode", "mode": "everyone"},
                        {"type": "vote_round_open", "duration": 30}):
            await guest.send(request)
            await guest.next_error("forbidden", ref=request["type"])
        await host.send({"type": "remote_pass", "to": viewer_id(viewer)})
        await host.next_error("forbidden", ref="remote_pass")
        await host.send({"type": "remote_pass", "to": "nobody"})
        await host.next_error("not_found", ref="remote_pass")

        await host.send({"type": "remote_pass", "to": jg.you.id})
        passed = await guest.until("carousel_changed")
        assert (passed.change, passed.carousel.holder, passed.by) == ("remote", jg.you.id,
                                                                      jh.you.id)
        assert await host.until("carousel_changed") == passed
        await guest.send({"type": "carousel_move", "action": "next", "version": 0})
        moved = await host.until("carousel_changed")
        assert (moved.change, moved.by, moved.carousel.version) == ("move", jg.you.id, 1)
        await host.send({"type": "remote_take"})
        await guest.until("carousel_changed")  # its own move
        assert (await guest.until("carousel_changed")).carousel.holder == jh.you.id

        await viewer.send({"type": "vote", "product_id": FIRST, "value": 5})
        assert (await viewer.until("vote_cast")).vote.value == 5  # viewers vote
        await viewer.send({"type": "cart_add", "product_id": FIRST})
        await viewer.next_error("forbidden", ref="cart_add")
        await host.send({"type": "remote_mode", "mode": "everyone"})
        assert (await viewer.until("carousel_changed")).carousel.mode == "everyone"
    finally:
        for ws in (host, guest, viewer):
            await ws.close()


async def test_may_follows_the_remote_and_rounds(make_client: MakeClient) -> None:
    """``may`` in joined, then a ``may`` message each time the remote, the mode or a round
    changes what this participant may do (and none when it does not)."""
    client = await make_client(Settings(port=0, node_id="prod", secret="k"))
    auth = {"Authorization": "Bearer k"}

    async def member(name: str, role: str) -> tuple[WsClient, wire.Joined]:
        response = await client.post("/api/rooms/may/tokens", json={"name": name, "role": role},
                                     headers=auth)
        ws = WsClient(await client.ws_connect("/ws"))
        joined = await ws.join("may", token=(await response.json())["token"])
        assert isinstance(joined, wire.Joined)
        return ws, joined

    host, jh = await member("Hana", "host")
    guest, jg = await member("Gus", "guest")
    viewer, jv = await member("Vi", "viewer")
    try:
        assert jh.may.model_dump() == {"move": True, "hand_remote": True, "hold_remote": True,
                                       "lead": True, "cart": True, "vote_closed": []}
        assert jg.may.model_dump() == {"move": False, "hand_remote": False, "hold_remote": True,
                                       "lead": False, "cart": True, "vote_closed": []}
        assert (jv.may.move, jv.may.hold_remote, jv.may.cart) == (False, False, False)

        await host.send({"type": "remote_pass", "to": jg.you.id})
        await guest.until("carousel_changed")
        may = await guest.expect("may")
        assert (may.may.move, may.may.hand_remote) == (True, True)
        await host.send({"type": "remote_take"})
        await guest.until("carousel_changed")
        assert (await guest.expect("may")).may.move is False

        await host.send({"type": "vote_round_open", "duration": 60, "product_ids": [SECOND]})
        await guest.until("vote_round_opened")
        closed = set(SAMPLE.product_ids) - {SECOND}
        assert set((await guest.expect("may")).may.vote_closed) == closed
        # The host's own may changed the same way; the viewer's remote rights did not.
        await host.send({"type": "remote_mode", "mode": "everyone"})
        while (await viewer.until("carousel_changed")).change != "mode":
            pass
        await viewer.send({"type": "ping", "nonce": "after"})
        assert isinstance(await viewer.expect("pong"), wire.Pong)  # no may: nothing changed
        await guest.until("carousel_changed")
        assert (await guest.expect("may")).may.move is True

        # A fresh snapshot carries the same permissions.
        assert (await state(guest)).may.model_dump()["move"] is True
    finally:
        for ws in (host, guest, viewer):
            await ws.close()


def viewer_id(ws: WsClient) -> str:
    joined = next(m for m in ws.received if isinstance(m, wire.Joined))
    return joined.you.id


@pytest.mark.parametrize(
    ("request_", "policy", "what"),
    [
        ({"type": "vote", "product_id": FIRST, "value": "yes"}, VOTE_POLICY, "vote_cast"),
        ({"type": "react", "emoji": "🔥"}, REACTION_POLICY, "reaction"),
        ({"type": "chat", "text": "buy!"}, CHAT_POLICY, "chat_message"),
    ],
)
async def test_floods_are_rate_limited(
    connect: Connect, request_: dict[str, Any], policy: Any, what: str
) -> None:
    ws, joined = await join(connect, "r", "Ann")
    other, _ = await join(connect, "r", "Bob")
    burst = int(policy.burst)
    for _ in range(burst + 3):
        await ws.send(request_)
    errors = [await ws.next_error("rate_limited", ref=request_["type"]) for _ in range(3)]
    assert all(e.retry_after is not None and 0 < e.retry_after <= 1 / policy.rate
               for e in errors)
    # Only the allowed ones happened; the other participant is not limited by them.
    await other.send(request_)
    seen = [await other.until(what) for _ in range(burst + 1)]
    assert [m.seq for m in seen] == list(range(joined.seq + 2, joined.seq + burst + 3))
    await ws.ping()


async def test_bad_input_gets_a_code_and_changes_nothing(connect: Connect) -> None:
    ws, _ = await join(connect, "r", "Ann")
    before = await state(ws)
    cases = [
        ({"type": "vote", "product_id": "no-such", "value": "yes"}, "unknown_product"),
        ({"type": "vote", "product_id": FIRST, "value": "yes", "variant_id": "nope"},
         "unknown_product"),
        ({"type": "vote", "product_id": FIRST, "value": 9}, "bad_message"),
        ({"type": "vote", "product_id": FIRST}, "bad_message"),
        ({"type": "carousel_move", "action": "goto", "product_id": "nope", "version": 0},
         "unknown_product"),
        ({"type": "carousel_move", "action": "goto", "version": 0}, "bad_message"),
        ({"type": "chat", "text": "   "}, "bad_chat"),
        ({"type": "chat", "text": "x" * 501}, "bad_chat"),
        ({"type": "chat", "text": "x" * 100_000}, "bad_chat"),
        ({"type": "react", "emoji": "hello"}, "bad_message"),
        ({"type": "react", "emoji": "🔥", "product_id": "nope"}, "unknown_product"),
        ({"type": "cart_add", "product_id": FIRST, "variant_id": "nope"}, "unknown_product"),
        ({"type": "cart_add", "product_id": FIRST, "quantity": 0}, "bad_message"),
        ({"type": "vote_round_close"}, "forbidden"),
        ({"type": "remote_mode", "mode": "host_led"}, "forbidden"),
    ]
    for request, code in cases:
        await ws.send(request)
        await ws.next_error(code, ref=request["type"])
    # Retracting or removing what is not there: nothing to say, nothing changes.
    await ws.send({"type": "vote_retract", "product_id": FIRST})
    await ws.send({"type": "cart_remove", "product_id": FIRST})
    after = await state(ws)
    assert after.seq == before.seq and after.shopping == before.shopping


async def test_vote_rounds_reach_everyone_and_close_at_the_deadline(
    client: Client, connect: Connect, node: Node
) -> None:
    ws, _ = await join(connect, "r", "Ann")
    opened = await (await client.post("/api/rooms/r/vote-round",
                                      json={"duration": 60, "product_ids": [SECOND]})).json()
    message = await ws.until("vote_round_opened")
    assert message.round.model_dump() == opened["round"] and message.seq == opened["seq"]
    await ws.send({"type": "vote", "product_id": FIRST, "value": "yes"})
    await ws.next_error("vote_closed", ref="vote")
    await ws.send({"type": "vote", "product_id": SECOND, "value": "no"})
    await ws.until("vote_cast")

    # A short round (the store allows any length): the node announces its end.
    short = await node.store.open_vote_round("r", by=None, duration=0.3)
    await ws.until("vote_round_opened")
    closed = await ws.until("vote_round_closed", seconds=5)
    assert (closed.reason, closed.round.id, closed.round.state) == ("deadline", short.seq,
                                                                    "closed")
    await ws.send({"type": "vote", "product_id": FIRST, "value": "yes"})
    await ws.next_error("vote_closed", ref="vote")


async def test_a_loaded_catalog_reaches_everyone_as_a_snapshot(
    client: Client, connect: Connect
) -> None:
    ws, _ = await join(connect, "r", "Ann")
    await ws.send({"type": "vote", "product_id": FIRST, "value": "yes"})
    await ws.until("vote_cast")
    body = {"currency": "EUR", "products": [{"id": "mug", "title": "Mug", "variants": [
        {"id": "mug-1", "price": {"amount_minor": 900, "currency": "EUR"}}]}]}
    loaded = await (await client.put("/api/rooms/r/catalog", json=body)).json()
    snapshot = await ws.until("snapshot")
    assert snapshot.seq >= loaded["seq"]
    assert [p["id"] for p in snapshot.shopping.catalog.products] == ["mug"]
    assert snapshot.shopping.catalog.revision == loaded["seq"]
    assert snapshot.shopping.votes == [] and snapshot.shopping.carousel.current == "mug"


async def test_fifty_simultaneous_voters_give_exact_tallies(
    make_client: MakeClient,
) -> None:
    client = await make_client(Settings(port=0, node_id="crowd", room_capacity=50))
    sockets = [WsClient(await client.ws_connect("/ws")) for _ in range(50)]
    try:
        await asyncio.gather(*(ws.join("crowd", f"p{i}") for i, ws in enumerate(sockets)))
        values = ["yes", "no", 3, 5, "yes"]
        await asyncio.gather(
            *(ws.send({"type": "vote", "product_id": FIRST, "value": values[i % 5]})
              for i, ws in enumerate(sockets))
        )
        # Every socket sees all fifty votes, in one order, the last with exact tallies.
        seen = await asyncio.gather(*(_votes_seen(ws, 50) for ws in sockets))
        orders = {tuple(m.seq for m in votes) for votes in seen}
        assert len(orders) == 1
        last = seen[0][-1].tallies[FIRST]
        assert (last.yes, last.no, last.score_count, last.score_total) == (20, 10, 20, 80)
        tallies = await (await client.get("/api/rooms/crowd/tallies")).json()
        assert tallies["tallies"][FIRST] == {"yes": 20, "no": 10, "score_count": 20,
                                             "score_total": 80}
    finally:
        for ws in sockets:
            await ws.close()


async def _votes_seen(ws: WsClient, count: int) -> list[Any]:
    seen = []
    while len(seen) < count:
        message = await ws.recv(10)
        assert not isinstance(message, wire.Error), message
        if isinstance(message, wire.VoteCast):
            seen.append(message)
    return seen
