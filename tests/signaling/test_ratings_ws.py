"""Ratings through the real WebSocket and HTTP API: ``rate`` in the room, the post-session rating
with the participant's resume credential, and "friends" (the people in a later room of the same
catalog) receiving each other's ratings in ``ratings_shared``."""

from __future__ import annotations

import secrets

import pytest

from signaling import Settings
from signaling import protocol as wire
from tests.catalogs import SHOP
from tests.signaling.test_checkout_ws import AUTH, Client, MakeClient, _load
from tests.signaling.wsclient import WsClient


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def client(request: pytest.FixtureRequest, make_client: MakeClient) -> Client:
    """A production-mode node on the memory store or a real Redis."""
    redis_url = None if request.param == "memory" else request.getfixturevalue("redis_url")
    return await make_client(Settings(port=0, node_id="rate", secret="k", redis_url=redis_url))


async def _person(client: Client, room: str, identity: str, role: str = "guest") -> tuple[
    WsClient, wire.Joined
]:
    response = await client.post(
        f"/api/rooms/{room}/tokens", json={"name": identity.title(), "identity": identity,
                                           "role": role}, headers=AUTH,
    )
    ws = WsClient(await client.ws_connect("/ws"))
    joined = await ws.join(room, token=(await response.json())["token"])
    assert isinstance(joined, wire.Joined), joined
    return ws, joined


async def test_rate_in_the_room_then_after_it_then_friends_see_them(client: Client) -> None:
    # Fresh ids: a Redis outlives the test.
    tag = secrets.token_hex(4)
    first, later, elsewhere = (f"{name}-{tag}" for name in ("first", "later", "elsewhere"))
    fall = SHOP.model_copy(update={"id": f"fall-{tag}"})
    await client.post("/api/rooms", json={"id": first}, headers=AUTH)
    await _load(client, first, fall)
    ann, _ = await _person(client, first, "ann", "host")
    bob, bob_joined = await _person(client, first, "bob")
    try:
        await ann.send({"type": "cart_add", "product_id": "tee", "variant_id": "tee-s"})
        await bob.until("cart_item_added")
        # Only what the cart held can be rated; stars are 1-5.
        await ann.send({"type": "rate", "product_id": "boots", "stars": 4})
        await ann.next_error("forbidden", ref="rate")
        await ann.send({"type": "rate", "product_id": "tee", "stars": 9})
        await ann.next_error("bad_message", ref="rate")
        await ann.send({"type": "rate", "product_id": "tee", "stars": 3})
        await ann.send({"type": "rate", "product_id": "tee", "stars": 4})  # replaces the 3
        rated = await bob.until("product_rated")
        assert (rated.rating.participant_id, rated.rating.stars) == ("ann", 3)
        rated = await bob.until("product_rated")
        assert (rated.rating.participant_id, rated.rating.name, rated.rating.stars) == (
            "ann", "Ann", 4)
    finally:
        await ann.close()
        await bob.close()
    assert (await client.delete(f"/api/rooms/{first}", headers=AUTH)).status == 200

    # After the session (the room is closed): Bob rates with his resume credential.
    path = f"/api/rooms/{first}/ratings"
    mine = {"Authorization": f"Bearer {bob_joined.resume}"}
    response = await client.post(path, json={"product_id": "tee", "stars": 5}, headers=mine)
    body = await response.json()
    assert response.status == 200, body
    assert (body["rating"]["participant_id"], body["rating"]["stars"], body["seq"]) == (
        "bob", 5, None)
    # Refusals: no key, a credential of another room, rating as somebody else, off the cart.
    refused = [
        (None, {"product_id": "tee", "stars": 5}, 401),
        ({"Authorization": "Bearer not-a-token"}, {"product_id": "tee", "stars": 5}, 401),
        (mine, {"product_id": "tee", "stars": 5, "participant_id": "ann"}, 403),
        (mine, {"product_id": "cap", "stars": 5}, 403),
        (mine, {"product_id": "tee", "stars": 0}, 400),
    ]
    for headers, json_body, status in refused:
        response = await client.post(path, json=json_body, headers=headers)
        assert response.status == status, (json_body, await response.text())
    other = await client.post("/api/rooms/other/ratings", json={"product_id": "tee", "stars": 5},
                              headers=mine)
    assert other.status == 401

    # A later room of the same catalog: whoever joins shares the ratings of everyone in it.
    await client.post("/api/rooms", json={"id": later}, headers=AUTH)
    await _load(client, later, fall)
    ann, _ = await _person(client, later, "ann", "host")
    try:
        shared = await ann.until("ratings_shared")
        assert [(r.participant_id, r.product_id, r.stars) for r in shared.ratings] == [
            ("ann", "tee", 4)]
        bob, _ = await _person(client, later, "bob")
        shared = await ann.until("ratings_shared")
        assert sorted((r.participant_id, r.stars) for r in shared.ratings) == [
            ("ann", 4), ("bob", 5)]
        assert (await bob.until("ratings_shared")).ratings == shared.ratings
        await bob.close()
    finally:
        await ann.close()

    # Another catalog: nothing to share.
    await client.post("/api/rooms", json={"id": elsewhere}, headers=AUTH)
    await _load(client, elsewhere, SHOP.model_copy(update={"id": f"spring-{tag}"}))
    ann, _ = await _person(client, elsewhere, "ann", "host")
    try:
        await ann.send({"type": "ping", "nonce": 1})
        assert (await ann.until("pong")).nonce == 1
        assert not [m for m in ann.received if m.type == "ratings_shared"]
    finally:
        await ann.close()


async def test_a_live_viewer_rates_what_its_own_cart_held(client: Client) -> None:
    """A live room's viewer shops in a cart of its own: that is what it may rate (after the
    show too, with its resume credential); nothing else."""
    room = f"show-{secrets.token_hex(4)}"
    await client.post("/api/rooms", json={"id": room, "kind": "live"}, headers=AUTH)
    await _load(client, room, SHOP.model_copy(update={"id": f"show-{room}"}))
    host, _ = await _person(client, room, "hana", "host")
    viewer, joined = await _person(client, room, "vic", "viewer")
    try:
        await viewer.send({"type": "cart_add", "product_id": "cap"})
        await viewer.until("own_cart")  # the empty cart of the join
        await viewer.until("own_cart")
    finally:
        await viewer.close()
        await host.close()
    mine = {"Authorization": f"Bearer {joined.resume}"}
    path = f"/api/rooms/{room}/ratings"
    response = await client.post(path, json={"product_id": "cap", "stars": 2}, headers=mine)
    assert response.status == 200, await response.text()
    assert (await response.json())["rating"]["participant_id"] == "vic"
    refused = await client.post(path, json={"product_id": "tee", "stars": 2}, headers=mine)
    assert refused.status == 403
