"""Live rooms through the HTTP API and the real signaling WebSocket: stage and audience."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from signaling import protocol as wire
from tests.signaling.conftest import Client
from tests.signaling.wsclient import WsClient

Connect = Callable[..., Awaitable[WsClient]]


async def test_a_live_room_is_created_through_the_api(client: Client) -> None:
    response = await client.post(
        "/api/rooms", json={"id": "show", "kind": "live", "capacity": 2, "audience_capacity": 3}
    )
    assert response.status == 201, await response.text()
    room = await response.json()
    assert (room["kind"], room["capacity"], room["audience_capacity"]) == ("live", 2, 3)
    assert room["audience_count"] == 0
    group = await (await client.post("/api/rooms", json={"id": "friends"})).json()
    assert group["kind"] == "group"
    bad = await client.post("/api/rooms", json={"id": "x", "kind": "stadium"})
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "bad_message"
    spec = await (await client.get("/api/openapi.json")).json()
    create = spec["components"]["schemas"]["CreateRoom"]["properties"]
    assert {"kind", "audience_capacity"} <= set(create)


async def test_a_live_rooms_viewers_sit_in_its_audience(client: Client, connect: Connect) -> None:
    await client.post(
        "/api/rooms", json={"id": "show", "kind": "live", "capacity": 2, "audience_capacity": 2}
    )
    for name in ("host", "guest"):
        joined = await (await connect()).join("show", name)
        assert isinstance(joined, wire.Joined), joined
    stage_full = await (await connect()).join("show", "late-guest")
    assert isinstance(stage_full, wire.Error) and stage_full.code == "room_full"
    for i in range(2):
        joined = await (await connect()).join("show", f"viewer{i}", role="viewer")
        assert isinstance(joined, wire.Joined), joined
        assert joined.room.kind == "live"
        assert (joined.room.audience_capacity, joined.room.audience_count) == (2, i + 1)
    audience_full = await (await connect()).join("show", "viewer2", role="viewer")
    assert isinstance(audience_full, wire.Error) and audience_full.code == "audience_full"
    room = await (await client.get("/api/rooms/show")).json()
    assert (room["participant_count"], room["audience_count"]) == (4, 2)


async def test_a_group_room_still_seats_its_viewers(client: Client, connect: Connect) -> None:
    await client.post("/api/rooms", json={"id": "friends", "capacity": 1})
    joined = await (await connect()).join("friends", "v1", role="viewer")
    assert isinstance(joined, wire.Joined) and joined.room.kind == "group"
    assert "audience_count" not in joined.room.model_dump(mode="json")
    full = await (await connect()).join("friends", "v2", role="viewer")
    assert isinstance(full, wire.Error) and full.code == "room_full"


async def _own_cart(ws: WsClient) -> wire.OwnCart:
    """The next own_cart (a viewer's folded counts may come before it)."""
    while True:
        message = await ws.recv()
        if isinstance(message, wire.OwnCart):
            return message
        assert isinstance(message, wire.ReactionCounts | wire.Offer | wire.Slots), message


async def test_a_viewers_cart_is_its_own(client: Client, connect: Connect) -> None:
    """A live room's viewer adds to a cart of its own: answered to it alone (own_cart), not
    in the room's shared cart, kept across a reload, counted in the recap."""
    await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    host = await connect()
    await host.join("show", "host")
    viewer = await connect()
    joined = await viewer.join("show", "vic", role="viewer")
    assert isinstance(joined, wire.Joined)
    assert (await _own_cart(viewer)).items == []
    product = joined.shopping.catalog.products[0]["id"]
    await viewer.send({"type": "cart_add", "product_id": product, "quantity": 2})
    cart = await _own_cart(viewer)
    assert [(i.product_id, i.quantity, i.added_by) for i in cart.items] == [
        (product, 2, joined.you.id)
    ]
    await viewer.send({"type": "cart_add", "product_id": "no-such-product"})
    while not isinstance(message := await viewer.recv(), wire.Error):
        assert isinstance(message, wire.ReactionCounts), message
    assert (message.code, message.ref) == ("unknown_product", "cart_add")
    snapshot = await (await client.get("/api/rooms/show/recap")).json()
    assert snapshot["cart"] == [] and snapshot["cart_adds"] == {product: 1}
    # A reload (resume) finds the cart as it was; taking the line out empties it.
    back = await connect()
    assert isinstance(await back.join("show", resume=joined.resume), wire.Joined)
    assert [i.product_id for i in (await _own_cart(back)).items] == [product]
    await back.send({"type": "cart_remove", "product_id": product})
    assert (await _own_cart(back)).items == []
