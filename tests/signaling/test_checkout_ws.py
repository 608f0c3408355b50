"""Checkout through the real WebSocket: each participant's link for its own lines, the host's
for the whole cart, ``checkout_started`` for everyone, the recap's count, and refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import dump_coshop_json
from rooms.catalog.models import Catalog
from rooms.shopping import CHECKOUT_POLICY
from signaling import Settings
from signaling import protocol as wire
from tests.catalogs import SHOP
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[Settings], Awaitable[Client]]
AUTH = {"Authorization": "Bearer k"}


async def _member(client: Client, room: str, name: str, role: str) -> tuple[WsClient, str]:
    response = await client.post(f"/api/rooms/{room}/tokens", json={"name": name, "role": role},
                                 headers=AUTH)
    ws = WsClient(await client.ws_connect("/ws"))
    joined = await ws.join(room, token=(await response.json())["token"])
    assert isinstance(joined, wire.Joined), joined
    return ws, joined.you.id


async def _load(client: Client, room: str, catalog: Catalog) -> None:
    response = await client.put(f"/api/rooms/{room}/catalog", headers=AUTH,
                                json=json.loads(dump_coshop_json(catalog)))
    assert response.status == 200, await response.text()


async def test_each_gets_its_own_lines_and_the_host_the_whole_cart(
    make_client: MakeClient,
) -> None:
    client = await make_client(Settings(port=0, node_id="shop", secret="k"))
    await client.post("/api/rooms", json={"id": "c"}, headers=AUTH)
    await _load(client, "c", SHOP.model_copy(update={"shopify_shop": "friends.myshopify.com"}))
    host, host_id = await _member(client, "c", "Hana", "host")
    ann, ann_id = await _member(client, "c", "Ann", "guest")
    vic, _ = await _member(client, "c", "Vic", "viewer")
    try:
        # Lines are in cart order (oldest first): each add lands before the next is sent.
        for ws, item in ((ann, {"product_id": "tee", "variant_id": "tee-m", "quantity": 2}),
                         (ann, {"product_id": "cap"}),
                         (host, {"product_id": "boots", "variant_id": "boots-41"})):
            await ws.send({"type": "cart_add", **item})
            await host.until("cart_item_added")
            await asyncio.sleep(0.002)  # a later added_at (milliseconds), not a timed check

        await ann.send({"type": "checkout"})
        link = await ann.until("checkout_link")
        assert link.url == "https://friends.myshopify.com/cart/tee-m:2,cap-one:1"
        assert (link.participant_id, link.quantity, len(link.lines)) == (ann_id, 3, 2)
        started = await host.until("checkout_started")  # everyone sees it
        assert (started.by, started.participant_id, started.lines, started.quantity) == (
            ann_id, ann_id, 2, 3)

        await host.send({"type": "checkout", "scope": "cart"})
        whole = await host.until("checkout_link")
        assert whole.url == (
            "https://friends.myshopify.com/cart/tee-m:2,cap-one:1,boots-41:1"
        )
        assert whole.participant_id is None
        # Ann's feed holds her own checkout_started (before or after her link), then the host's.
        while (seen := await ann.until("checkout_started")).by != host_id:
            assert seen.by == ann_id
        assert seen.participant_id is None and seen.quantity == 4

        await ann.send({"type": "checkout", "scope": "cart"})
        await ann.next_error("forbidden", ref="checkout")
        await vic.send({"type": "checkout"})
        await vic.next_error("no_checkout", ref="checkout")  # a viewer has no lines

        recap = await (await client.get("/api/rooms/c/recap", headers=AUTH)).json()
        assert recap["checkouts_started"] == 2
    finally:
        for ws in (host, ann, vic):
            await ws.close()


async def test_a_template_catalog_and_a_catalog_without_a_shop(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="shop", secret="k"))
    await client.post("/api/rooms", json={"id": "t"}, headers=AUTH)
    await _load(client, "t", SHOP)  # names no shop
    ann, _ = await _member(client, "t", "Ann", "guest")
    try:
        await ann.send({"type": "cart_add", "product_id": "tote"})
        await ann.until("cart_item_added")
        await ann.send({"type": "checkout"})
        error = await ann.next_error("no_checkout", ref="checkout")
        assert "names no shop" in error.message
        await _load(client, "t", Catalog(
            products=SHOP.products, currency="USD",
            checkout_url_template="https://shop.example/buy?items={items}&room={room}",
        ))
        await ann.until("snapshot")
        await ann.send({"type": "cart_add", "product_id": "tote"})
        await ann.until("cart_item_added")
        await ann.send({"type": "checkout"})
        link = await ann.until("checkout_link")
        assert link.url == "https://shop.example/buy?items=tote-one:1&room=t"
    finally:
        await ann.close()


async def test_checkout_floods_are_rate_limited(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="shop", secret="k"))
    await client.post("/api/rooms", json={"id": "f"}, headers=AUTH)
    await _load(client, "f", SHOP.model_copy(update={"shopify_shop": "friends.myshopify.com"}))
    ann, _ = await _member(client, "f", "Ann", "guest")
    try:
        await ann.send({"type": "cart_add", "product_id": "tote"})
        await ann.until("cart_item_added")
        for _ in range(int(CHECKOUT_POLICY.burst) + 1):
            await ann.send({"type": "checkout"})
        for _ in range(int(CHECKOUT_POLICY.burst)):
            await ann.until("checkout_link")
        error = await ann.next_error("rate_limited", ref="checkout")
        assert error.retry_after is not None and error.retry_after <= 1 / CHECKOUT_POLICY.rate
        recap = await (await client.get("/api/rooms/f/recap", headers=AUTH)).json()
        assert recap["checkouts_started"] == CHECKOUT_POLICY.burst
    finally:
        await ann.close()
