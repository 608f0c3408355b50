"""The shopping HTTP API: catalogs, carousel, vote rounds, tallies and the recap."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import SAMPLE_CATALOG_FILE, sample_catalog
from signaling import Settings
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[WsClient]]
MakeClient = Callable[[Settings], Awaitable[Client]]

SAMPLE = sample_catalog()
MUGS = {
    "currency": "EUR",
    "products": [
        {"id": "mug", "title": "Mug", "images": ["https://cdn.example/mug.png"],
         "variants": [{"id": "mug-red", "price": {"amount_minor": 900, "currency": "EUR"}},
                      {"id": "mug-blue", "price": {"amount_minor": 900, "currency": "EUR"}}]},
        {"id": "cup", "title": "Cup",
         "variants": [{"id": "cup-1", "price": {"amount_minor": 500, "currency": "EUR"}}]},
    ],
}


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    body: dict[str, Any] = await _json(response, status)
    assert body["error"]["code"] == code, body
    return body


async def test_a_new_room_shows_the_sample_catalog(client: Client) -> None:
    await _json(await client.post("/api/rooms", json={"id": "shop"}), 201)
    catalog = await _json(await client.get("/api/rooms/shop/catalog"), 200)
    assert catalog["revision"] == 0 and catalog["currency"] == "USD"
    assert [p["id"] for p in catalog["products"]] == list(SAMPLE.product_ids)
    assert (await client.get("/api/rooms/shop")).status == 200
    await _error(await client.get("/api/rooms/nope/catalog"), 404, "not_found")


async def test_without_the_demo_catalog_rooms_start_empty(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="plain", demo_catalog=False))
    await _json(await client.post("/api/rooms", json={"id": "shop"}), 201)
    assert (await _json(await client.get("/api/rooms/shop/catalog"), 200))["products"] == []
    loaded = await _json(await client.put("/api/rooms/shop/catalog?sample=1"), 200)
    assert loaded["catalog"]["product_count"] == len(SAMPLE.products)
    catalog = await _json(await client.get("/api/rooms/shop/catalog"), 200)
    assert catalog["products"][0]["images"][0].startswith("/catalog/sample/images/")


async def test_load_a_catalog(client: Client) -> None:
    await client.post("/api/rooms", json={"id": "shop"})
    loaded = await _json(await client.put("/api/rooms/shop/catalog", json=MUGS), 200)
    assert loaded == {
        "catalog": {"revision": loaded["seq"], "currency": "EUR", "product_count": 2},
        "carousel": {"index": 0, "current": "mug", "version": 1, "mode": "everyone",
                     "holder": None},
        "seq": loaded["seq"],
    }
    catalog = await _json(await client.get("/api/rooms/shop/catalog"), 200)
    assert [p["id"] for p in catalog["products"]] == ["mug", "cup"]
    assert catalog["products"][0]["images"] == ["https://cdn.example/mug.png"]
    # The bundled sample file is a coshop catalog too.
    sample = SAMPLE_CATALOG_FILE.read_text()
    assert (await client.put("/api/rooms/shop/catalog", data=sample)).status == 200


async def test_bad_catalogs_change_nothing(client: Client) -> None:
    await client.post("/api/rooms", json={"id": "shop"})
    broken = json.loads(json.dumps(MUGS))
    broken["products"][1]["variants"][0]["price"]["amount_minor"] = -5
    body = await _error(await client.put("/api/rooms/shop/catalog", json=broken), 400,
                        "bad_message")
    assert "item 2" in body["error"]["message"]
    for bad in ("{", "[]", json.dumps({"products": []})):
        await _error(await client.put("/api/rooms/shop/catalog", data=bad), 400, "bad_message")
    await _error(await client.put("/api/rooms/nope/catalog", json=MUGS), 404, "not_found")
    await _error(await client.put("/api/rooms/bad%20id/catalog", json=MUGS), 404, "not_found")
    detail = await _json(await client.get("/api/rooms/shop"), 200)
    assert detail["seq"] == 0
    catalog = await _json(await client.get("/api/rooms/shop/catalog"), 200)
    assert catalog["revision"] == 0


async def test_move_the_carousel(client: Client, connect: Connect) -> None:
    ws = await connect()
    joined = await ws.join("shop", "Ann")
    moved = await _json(
        await client.post("/api/rooms/shop/carousel", json={"action": "next"}), 200
    )
    assert moved["carousel"]["current"] == SAMPLE.product_ids[1]
    seen = await ws.until("carousel_changed")  # API actions reach participants live
    assert (seen.seq, seen.by, seen.carousel.model_dump()) == (moved["seq"], None,
                                                               moved["carousel"])
    assert seen.seq == joined.seq + 1
    target = SAMPLE.product_ids[4]
    moved = await _json(await client.post(
        "/api/rooms/shop/carousel", json={"action": "goto", "product_id": target, "version": 1}
    ), 200)
    assert moved["carousel"]["version"] == 2
    stale = await _error(await client.post(
        "/api/rooms/shop/carousel", json={"action": "prev", "version": 1}
    ), 409, "stale_version")
    assert stale["carousel"] == moved["carousel"]
    await _error(await client.post(
        "/api/rooms/shop/carousel", json={"action": "goto", "product_id": "nope"}
    ), 404, "unknown_product")
    for bad in ({"action": "goto"}, {"action": "next", "product_id": target},
                {"action": "sideways"}, {"action": "next", "version": -1}, {}):
        await _error(await client.post("/api/rooms/shop/carousel", json=bad), 400,
                     "bad_message")
    await _error(await client.post("/api/rooms/nope/carousel", json={"action": "next"}), 404,
                 "not_found")


async def test_vote_rounds_tallies_and_recap(client: Client, connect: Connect) -> None:
    ws = await connect()
    await ws.join("shop", "Ann")
    first, second = SAMPLE.product_ids[:2]
    await _error(await client.delete("/api/rooms/shop/vote-round"), 409, "vote_closed")
    opened = await _json(await client.post(
        "/api/rooms/shop/vote-round", json={"duration": 120, "product_ids": [first]}
    ), 201)
    assert opened["round"]["state"] == "open" and opened["round"]["id"] == opened["seq"]
    await ws.send({"type": "vote", "product_id": first, "value": "yes"})
    await ws.until("vote_cast")
    await ws.send({"type": "vote", "product_id": second, "value": "yes"})
    await ws.next_error("vote_closed", ref="vote")
    await ws.send({"type": "react", "emoji": "😍"})
    await ws.until("reaction")

    tallies = await _json(await client.get("/api/rooms/shop/tallies"), 200)
    assert tallies["tallies"] == {first: {"yes": 1, "no": 0, "score_count": 0,
                                          "score_total": 0}}
    assert [e["product_id"] for e in tallies["shortlist"]] == [first]
    assert tallies["round"] == opened["round"] and len(tallies["votes"]) == 1

    closed = await _json(await client.delete("/api/rooms/shop/vote-round"), 200)
    assert closed["round"]["state"] == "closed"
    assert (await ws.until("vote_round_closed")).reason == "host"
    for bad in ({"duration": 1}, {"duration": 60, "product_ids": []}, {"seconds": 60}):
        await _error(await client.post("/api/rooms/shop/vote-round", json=bad), 400,
                     "bad_message")
    await _error(await client.post(
        "/api/rooms/shop/vote-round", json={"duration": 60, "product_ids": ["nope"]}
    ), 404, "unknown_product")

    recap = await _json(await client.get("/api/rooms/shop/recap"), 200)
    assert recap["room"] == "shop" and recap["votes_cast"] == 1
    assert recap["products_shown"] == [
        {"product_id": first, "title": SAMPLE.products[0].title, "times": 1}
    ]
    assert recap["reactions"] == {"total": 1, "by_emoji": {"😍": 1},
                                  "by_product": {first: {"😍": 1}}}
    await client.delete("/api/rooms/shop")
    assert (await _json(await client.get("/api/rooms/shop/recap"), 200))["votes_cast"] == 1
    await _error(await client.get("/api/rooms/nope/recap"), 404, "not_found")
    await _error(await client.get("/api/rooms/nope/tallies"), 404, "not_found")


async def test_shopping_api_needs_the_key_in_production(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="prod", secret="k"))
    for method, path in (("PUT", "/api/rooms/r/catalog?sample=1"), ("GET", "/api/rooms/r/recap"),
                         ("POST", "/api/rooms/r/carousel")):
        await _error(await client.request(method, path), 401, "unauthorized")
    # Sample images are public (browsers fetch them without the key).
    image = SAMPLE.products[0].images[0]
    assert (await client.get(f"/catalog/sample/{image}")).status == 200
