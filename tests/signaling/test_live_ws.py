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
