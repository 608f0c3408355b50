"""The HTTP API, health, metrics, OpenAPI and the static client."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema
import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import dump_coshop_json
from signaling import Settings
from signaling import protocol as wire
from signaling.auth import TokenAuthority
from signaling.node import Node
from tests.catalogs import SHOP
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]
Connect = Callable[..., Awaitable[WsClient]]
MakeClient = Callable[[Settings], Awaitable[Client]]


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def test_create_list_get(client: Client) -> None:
    room = await _json(await client.post("/api/rooms", json={"id": "shop", "capacity": 4}), 201)
    assert room["id"] == "shop" and room["capacity"] == 4 and room["closed"] is False
    assert room["participant_count"] == 0 and room["created_at"] > 0
    # Idempotent: an existing room keeps its capacity.
    again = await _json(await client.post("/api/rooms", json={"id": "shop", "capacity": 9}), 201)
    assert again["capacity"] == 4
    generated = await _json(await client.post("/api/rooms"), 201)
    assert generated["capacity"] == 10 and generated["id"] != "shop"

    listing = await _json(await client.get("/api/rooms"), 200)
    assert sorted(r["id"] for r in listing["rooms"]) == sorted(["shop", generated["id"]])

    detail = await _json(await client.get("/api/rooms/shop"), 200)
    assert detail["participants"] == [] and detail["seq"] == 0


async def test_get_shows_participants(client: Client, connect: Connect) -> None:
    a = await connect()
    joined = await a.join("live", "ann")
    detail = await _json(await client.get("/api/rooms/live"), 200)
    assert detail["participant_count"] == 1 and detail["seq"] == joined.seq
    assert detail["participants"] == [joined.you.model_dump()]


async def test_bad_requests(client: Client) -> None:
    for body in ({"id": "no spaces"}, {"capacity": 0}, {"capacity": 1000}, {"colour": "red"}, [1]):
        error = await _json(await client.post("/api/rooms", json=body), 400)
        assert error["error"]["code"] == "bad_message"
    error = await _json(await client.post("/api/rooms", data=b"{nope",
                                           headers={"Content-Type": "application/json"}), 400)
    assert error["error"]["code"] == "bad_message"
    assert (await _json(await client.get("/api/rooms/nope"), 404))["error"]["code"] == "not_found"
    assert (await client.get("/api/rooms/bad%20id")).status == 404
    assert (await client.get("/api/rooms/bad%20id/status")).status == 404


async def test_room_status(client: Client, connect: Connect) -> None:
    """Asking creates nothing; a room made by a join or by POST exists."""
    assert await _json(await client.get("/api/rooms/ghost/status"), 200) == {
        "id": "ghost", "exists": False, "closed": False,
    }
    assert await _json(await client.get("/api/rooms/ghost/status"), 200) == {
        "id": "ghost", "exists": False, "closed": False,
    }
    await (await connect()).join("ghost", "ann")
    status = await _json(await client.get("/api/rooms/ghost/status"), 200)
    assert (status["exists"], status["closed"]) == (True, False)


async def test_close_room_kicks_participants(
    client: Client, connect: Connect, node: Node
) -> None:
    a, b = await connect(), await connect()
    await a.join("doomed", "ann")
    await b.join("doomed", "bob")
    closed = await _json(await client.delete("/api/rooms/doomed"), 200)
    assert closed["id"] == "doomed" and closed["closed"] is True
    for ws in (a, b):
        assert (await ws.until("room_closed")).seq == closed["seq"]
        assert (await ws.expect("left")).reason == "room_closed"
    assert node.sfu.get_room("doomed") is None
    detail = await _json(await client.get("/api/rooms/doomed"), 200)
    assert detail["closed"] is True and detail["participants"] == []
    # Closed for good.
    assert (await _json(await client.delete("/api/rooms/doomed"), 410))["error"]["code"] == (
        "room_closed"
    )
    assert (await client.post("/api/rooms", json={"id": "doomed"})).status == 410
    assert (await client.post("/api/rooms/doomed/tokens", json={"name": "x"})).status == 410
    assert (await _json(await client.delete("/api/rooms/never"), 404))["error"]["code"] == (
        "not_found"
    )


async def test_demo_tokens_work_for_join(client: Client, connect: Connect) -> None:
    minted = await _json(
        await client.post("/api/rooms/t1/tokens", json={"name": "Host", "role": "host",
                                                        "identity": "brand"}),
        201,
    )
    assert minted["room"] == "t1" and minted["identity"] == "brand" and minted["role"] == "host"
    assert minted["ws_url"].startswith("ws://") and minted["ws_url"].endswith("/rooms/t1/ws")
    assert minted["expires_at"] > time.time() + 3600
    ws = await connect("/rooms/t1/ws")
    joined = await ws.join(None, name="ignored", token=minted["token"])
    assert (joined.you.id, joined.you.name, joined.you.role) == ("brand", "Host", "host")


async def test_healthz_and_metrics(client: Client, connect: Connect) -> None:
    a = await connect()
    await a.join("m1", "ann")
    await a.send("garbage")
    await a.expect_error("bad_message")
    health = await _json(await client.get("/healthz"), 200)
    assert health == {"status": "ok", "node_id": "test-node", "store": "memory",
                      "store_state": "up", "rooms": 1, "peers": 1, "connections": 1,
                      "relays": [], "relayed_to": 0}
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    values = {
        name: float(number)
        for name, number in (
            line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
        )
    }
    assert values['coshop_node_info{node_id="test-node",store="memory"}'] == 1
    assert values["coshop_rooms"] == 1
    assert values["coshop_participants"] == 1
    assert values["coshop_ws_connections"] == 1
    assert values["coshop_ws_connections_total"] == 1
    assert values['coshop_ws_errors_total{code="bad_message"}'] == 1
    assert values["coshop_ws_messages_received_total"] == 2
    assert values["coshop_ws_messages_sent_total"] >= 2
    assert values["coshop_sfu_peers"] == 1
    assert "coshop_sfu_packets_in_total" in values
    assert values["process_cpu_seconds_total"] > 0
    assert values["process_resident_memory_bytes"] > 0
    assert values["process_open_fds"] > 0
    assert values["coshop_asyncio_tasks"] > 0
    assert values["coshop_join_seconds_count"] == 1
    assert values['coshop_room_peers{room="m1"}'] == 1
    assert "coshop_event_loop_lag_seconds" in values


async def test_openapi_describes_every_api_route(client: Client) -> None:
    spec = await _json(await client.get("/api/openapi.json"), 200)
    assert spec["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and (route.resource.canonical.startswith("/api/")
             or route.resource.canonical in ("/healthz", "/metrics"))
        and route.method != "HEAD"
    }
    assert served == documented
    # Every $ref resolves.
    for ref in _refs(spec):
        _, _, section, name = ref.split("/")
        assert name in spec["components"][section], ref


async def test_every_documented_response_shape_validates_real_responses(
    client: Client, connect: Connect
) -> None:
    spec = await _json(await client.get("/api/openapi.json"), 200)
    checked: set[tuple[str, str, str]] = set()
    shapes: set[str] = set()

    async def call(
        method: str, template: str, status: int, body: Any = None, query: str = "", **ids: str
    ) -> Any:
        path = template.format(**ids) + query
        response = await client.request(method, path, json=body)
        data = await _json(response, status)
        operation = spec["paths"][template][method.lower()]
        documented = operation["responses"][str(status)]
        if "$ref" in documented:  # a shared response (BadRequest, NotFound, ...)
            documented = spec["components"]["responses"][documented["$ref"].split("/")[-1]]
        schema = documented["content"]["application/json"]["schema"]
        # The document is the root, so "#/components/schemas/..." refs resolve.
        jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(
            data
        )
        checked.add((method, template, str(status)))
        shapes.add(schema["$ref"])
        return data

    room, rid = "/api/rooms/{room_id}", {"room_id": "shape"}
    await call("POST", "/api/rooms", 201, {"id": "shape"})
    await call("GET", "/api/rooms", 200)
    a = await connect()
    await a.join("shape", "ann")
    detail = await call("GET", room, 200, **rid)
    assert detail["participants"][0]["name"] == "ann"
    quiet = await call("POST", room + "/tokens", 201, {"name": "Bo", "can_publish": False}, **rid)
    claims = jwt.decode(quiet["token"], options={"verify_signature": False})
    assert (claims["role"], claims["canPublish"], claims["canModerate"]) == ("guest", False, False)
    await call("POST", room + "/tokens", 400, {"name": ""}, **rid)
    await call("PUT", room + "/catalog", 200, **rid, query="?sample=1")
    catalog = await call("GET", room + "/catalog", 200, **rid)
    first = catalog["products"][0]["id"]
    await call("POST", room + "/carousel", 200, {"action": "goto", "product_id": first}, **rid)
    await call("POST", room + "/carousel", 409, {"action": "next", "version": 0}, **rid)
    await a.send({"type": "vote", "product_id": first, "value": "yes"})
    await a.until("vote_cast")
    await call("POST", room + "/vote-round", 201, {"duration": 60}, **rid)
    await call("GET", room + "/tallies", 200, **rid)
    await call("DELETE", room + "/vote-round", 200, **rid)
    await call("DELETE", room + "/vote-round", 409, **rid)
    # Checkout (issue 15): a Shopify catalog's link for ann's lines; none for nobody's.
    shopify = SHOP.model_copy(update={"shopify_shop": "friends.myshopify.com"})
    await call("PUT", room + "/catalog", 200, json.loads(dump_coshop_json(shopify)), **rid)
    await a.send({"type": "cart_add", "product_id": "cap", "quantity": 2})
    await a.until("cart_item_added")
    link = await call("POST", room + "/checkout", 200, {}, **rid)
    assert link["url"] == "https://friends.myshopify.com/cart/cap-one:2"
    offer = {"product_id": "cap", "threshold": 1, "percent": 5, "code": "CAP5", "duration": 60}
    offered = await call("PUT", room + "/offer", 200, offer, **rid)
    assert (offered["backers"], offered["reached"]) == (1, True)
    link = await call("POST", room + "/checkout", 200, {}, **rid)
    assert link["url"] == "https://friends.myshopify.com/cart/cap-one:2?discount=CAP5"
    await call("PUT", room + "/offer", 404, {**offer, "product_id": "nope"}, **rid)
    await call("POST", room + "/checkout", 409, {"participant_id": "nobody"}, **rid)
    # Ratings (issue 15): the API rates for a participant what the cart held, nothing else.
    rater = {"participant_id": detail["participants"][0]["id"], "name": "Ann"}
    rated = await call("POST", room + "/ratings", 200, {**rater, "product_id": "cap", "stars": 4},
                       **rid)
    assert (rated["rating"]["stars"], rated["rating"]["name"]) == (4, "Ann")
    await call("POST", room + "/ratings", 403, {**rater, "product_id": "tee", "stars": 4}, **rid)
    await call("GET", room + "/recap", 200, **rid)
    # Recording (issue 15): of the media room ann's join made here.
    started = await call("POST", room + "/recording", 201, **rid)
    await call("POST", room + "/recording", 409, **rid)
    assert (await call("GET", room + "/recording", 200, **rid))["id"] == started["id"]
    manifest = await call("DELETE", room + "/recording", 200, **rid)
    assert manifest["id"] == started["id"] and manifest["files"] == []
    await call("GET", room + "/recording", 409, **rid)
    await call("POST", "/api/rooms/{room_id}/recording", 404, room_id="nobody-here")
    # Host controls (issue 14): the API acts as an admin.
    ann = detail["participants"][0]["id"]
    who = {**rid, "participant_id": ann}
    await call("POST", room + "/participants/{participant_id}/mute", 200, {"kind": "audio"}, **who)
    await call("PUT", room + "/slow-mode", 200, {"seconds": 1}, **rid)
    await a.send({"type": "chat", "text": "hi"})
    said = await a.until("chat_message")
    await call("DELETE", room + "/chat/{seq}", 200, **rid, seq=str(said.message.seq))
    await call("POST", room + "/bans", 201, {"participant_id": "troll"}, **rid)
    await call("PUT", room + "/participants/{participant_id}/role", 403, {"role": "guest"}, **who)
    await call("DELETE", room + "/participants/{participant_id}", 200, **who)
    await call("GET", "/healthz", 200)
    await call("GET", "/api/webhooks/deliveries", 200)
    await call("POST", "/api/node/drain", 202)  # only asks `coshop serve` to drain
    await call("DELETE", room, 200, **rid)
    closed = await call("GET", room, 200, **rid)
    assert closed["seq"] is None
    await call("POST", room + "/tokens", 410, {"name": "Late"}, **rid)
    await call("GET", room, 404, room_id="nowhere")
    status = await call("GET", room + "/status", 200, room_id="nowhere")
    assert (status["exists"], status["closed"]) == (False, False)
    status = await call("GET", room + "/status", 200, **rid)
    assert (status["exists"], status["closed"]) == (True, True)
    assert len(checked) == 39
    # Every response shape the document names was met by a real response.
    operations = [op for item in spec["paths"].values() for op in item.values()]
    responses = [op["responses"] for op in operations if isinstance(op, dict)]
    documented = {
        ref
        for ref in _refs([*responses, spec["components"]["responses"]])
        if ref.startswith("#/components/schemas/")
    }
    assert documented == shapes


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_static_client_is_served(client: Client) -> None:
    index = await client.get("/")
    assert index.status == 200 and "<html" in (await index.text()).lower()
    script = await client.get("/static/app.js")
    assert script.status == 200
    assert (await client.get("/static/../signaling/app.py")).status in (403, 404)


async def test_production_mode_requires_keys(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="prod", secret="s3cret"))
    assert (await client.get("/api/rooms")).status == 401
    wrong = await client.get("/api/rooms", headers={"Authorization": "Bearer nope"})
    assert (await _json(wrong, 401))["error"]["code"] == "unauthorized"
    assert (await client.get("/api/openapi.json")).status == 200
    assert (await client.get("/healthz")).status == 200
    auth = {"Authorization": "Bearer s3cret"}
    minted = await _json(
        await client.post("/api/rooms/vip/tokens", json={"name": "Ann"}, headers=auth), 201
    )

    ws = WsClient(await client.ws_connect("/ws"))
    try:
        reply = await ws.join("vip", "ann")  # no token
        assert reply == wire.Error(code=wire.ErrorCode.UNAUTHORIZED,
                                   message="a join token is required", ref="join")
        demo_token = TokenAuthority(None).mint(
            TokenAuthority("s3cret").verify(minted["token"], room="vip")
        )  # the same grant under the public demo key
        assert (await ws.join("vip", "ann", token=demo_token)).code == "unauthorized"
        assert (await ws.join("other", "ann", token=minted["token"])).code == "unauthorized"
        await ws.ping()
        joined = await ws.join("vip", token=minted["token"], role="viewer")
        assert isinstance(joined, wire.Joined)
        assert joined.you.id == minted["identity"] and joined.you.role == "viewer"

        # The same identity is never in the room twice: a new connection replaces the old.
        twin = WsClient(await client.ws_connect("/ws"))
        again = await twin.join("vip", token=minted["token"])
        assert isinstance(again, wire.Joined) and again.you.id == minted["identity"]
        assert [p.id for p in again.participants] == [minted["identity"]]
        gone = await ws.expect("participant_left")
        assert (gone.participant_id, gone.reason) == (minted["identity"], "replaced")
        assert (await ws.expect("left")).reason == "replaced"
        await twin.close()
    finally:
        await ws.close()
