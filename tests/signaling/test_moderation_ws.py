"""Host controls through the real signaling WebSocket and the HTTP API (memory store, and a
real Redis), with several clients in a live room: each is seen by everyone, its target
included."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from signaling import Settings
from signaling import protocol as wire
from tests.signaling.conftest import Client
from tests.signaling.wsclient import WsClient

MakeClient = Callable[[Settings], Awaitable[Client]]
AUTH = {"Authorization": "Bearer k"}


class Show:
    """A production node with a live room: a host, a guest and two viewers."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.room = f"show-{uuid.uuid4().hex[:10]}"
        self.sockets: list[WsClient] = []

    async def token(self, identity: str, role: str) -> str:
        response = await self.client.post(
            f"/api/rooms/{self.room}/tokens",
            json={"identity": identity, "name": identity, "role": role}, headers=AUTH,
        )
        assert response.status == 201
        minted: str = (await response.json())["token"]
        return minted

    async def member(self, identity: str, role: str) -> tuple[WsClient, wire.Joined]:
        ws = WsClient(await self.client.ws_connect("/ws"))
        self.sockets.append(ws)
        joined = await ws.join(self.room, token=await self.token(identity, role))
        assert isinstance(joined, wire.Joined), joined
        return ws, joined

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.request(
            method, f"/api/rooms/{self.room}{path}", json=body, headers=AUTH
        )
        return response.status, await response.json()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def show(request: pytest.FixtureRequest, make_client: MakeClient) -> AsyncIterator[Show]:
    """The node's store: in memory, or a real Redis (the room under a fresh id each time)."""
    redis_url = None if request.param == "memory" else request.getfixturevalue("redis_url")
    client = await make_client(Settings(
        port=0, node_id="prod", secret="k", ws_heartbeat=30.0, ws_timeout=60.0,
        redis_url=redis_url,
    ))
    made = Show(client)
    response = await client.post(
        "/api/rooms",
        json={"id": made.room, "kind": "live", "capacity": 2, "audience_capacity": 10},
        headers=AUTH,
    )
    assert response.status == 201
    yield made
    for ws in made.sockets:
        await ws.close()
    if redis_url is not None:
        r = aioredis.Redis.from_url(redis_url)
        try:
            stale = [k async for k in r.scan_iter(match=f"*{made.room}*", count=1000)]
            if stale:
                await r.delete(*stale)
        finally:
            await r.aclose()


async def cast(show: Show) -> tuple[WsClient, WsClient, WsClient, WsClient]:
    host, _ = await show.member("hana", "host")
    guest, _ = await show.member("gus", "guest")
    v1, _ = await show.member("vi", "viewer")
    v2, _ = await show.member("vera", "viewer")
    return host, guest, v1, v2


async def test_only_hosts_use_host_controls(show: Show) -> None:
    host, guest, v1, v2 = await cast(show)
    requests: list[dict[str, Any]] = [
        {"type": "mute", "participant_id": "gus", "kind": "audio"},
        {"type": "remove", "participant_id": "vera"},
        {"type": "ban", "participant_id": "vera"},
        {"type": "set_role", "participant_id": "vera", "role": "guest"},
        {"type": "slow_mode", "seconds": 5},
        {"type": "chat_hide", "seq": 1},
    ]
    for sender in (guest, v1):
        for request in requests:
            await sender.send(request)
            await sender.next_error("forbidden", ref=request["type"])
    await host.send({"type": "raise_hand"})
    await host.next_error("forbidden", ref="raise_hand")
    await v2.send({"type": "mute", "participant_id": "gus", "kind": "smell"})
    await v2.next_error("bad_message", ref="mute")


async def test_a_muted_participant_is_told_and_its_media_state_follows(show: Show) -> None:
    host, guest, v1, _ = await cast(show)
    await host.send({"type": "mute", "participant_id": "gus", "kind": "audio"})
    for ws in (guest, v1, host):
        muted = await ws.until("participant_muted")
        assert (muted.participant_id, muted.kind, muted.by) == ("gus", "audio", "hana")
        state = await ws.until("media_state")
        assert (state.participant_id, state.audio, state.video) == ("gus", False, True)
    status, body = await show.api("POST", "/participants/gus/mute", {"kind": "video"})
    assert status == 200
    state = await v1.until("media_state")
    assert (state.audio, state.video) == (False, False) and state.seq == body["seq"] + 1
    status, body = await show.api("POST", "/participants/nobody/mute", {"kind": "video"})
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_a_removed_participant_is_disconnected_with_a_reason(show: Show) -> None:
    host, _, v1, v2 = await cast(show)
    await host.send({"type": "remove", "participant_id": "vi"})
    assert (await v1.until("left")).reason == "removed"
    gone = await host.until("participant_left")
    assert (gone.participant_id, gone.reason) == ("vi", "removed")
    # The rest of the audience is told the audience's size, not who left.
    assert (await v2.until("reaction_counts")).audience_count == 1
    await v1.send({"type": "chat", "text": "still here?"})
    await v1.next_error("not_joined")
    # Removed, not banned: back with the same identity.
    again = await v1.join(show.room, token=await show.token("vi", "viewer"))
    assert isinstance(again, wire.Joined)
    status, _ = await show.api("DELETE", "/participants/vera")
    assert status == 200
    assert (await v2.until("left")).reason == "removed"


async def test_a_banned_identity_cannot_come_back(show: Show) -> None:
    host, guest, v1, _ = await cast(show)
    joined_v1 = v1.received[0]
    assert isinstance(joined_v1, wire.Joined)
    await host.send({"type": "ban", "participant_id": "vi"})
    assert (await v1.until("left")).reason == "banned"
    banned = await guest.until("participant_banned")
    assert (banned.participant_id, banned.by) == ("vi", "hana")
    refused = await v1.join(show.room, token=await show.token("vi", "viewer"))
    assert isinstance(refused, wire.Error) and refused.code == "banned"
    again = await v1.join(show.room, resume=joined_v1.resume)
    assert isinstance(again, wire.Error) and again.code == "banned"
    status, body = await show.api("POST", "/bans", {"participant_id": "vera"})
    assert status == 201 and body["seq"] > banned.seq
    room = (await show.api("GET", ""))[1]
    assert [p["id"] for p in room["participants"]] == ["hana", "gus"]


async def test_raise_hand_invite_to_the_stage_and_back(show: Show) -> None:
    host, guest, v1, v2 = await cast(show)
    await v1.send({"type": "raise_hand"})
    hand = await host.until("hand_raised")
    assert (hand.participant_id, hand.raised) == ("vi", True)
    assert (await v1.until("hand_raised")).participant_id == "vi"  # its own comes back
    # Kept: a host who reloads sees the raised hands; the other viewers are not told.
    await host.send({"type": "resync"})
    assert (await host.until("snapshot")).room.raised_hands == ["vi"]
    await v2.send({"type": "resync"})
    assert (await v2.until("snapshot")).room.raised_hands == []
    assert not [m for m in v2.received if isinstance(m, wire.HandRaised)]
    # The stage (host + guest) is full: the guest goes back first.
    await host.send({"type": "set_role", "participant_id": "vi", "role": "guest"})
    await host.next_error("room_full", ref="set_role")
    await guest.send({"type": "set_role", "participant_id": "gus", "role": "viewer"})
    down = await host.until("role_changed")
    assert (down.participant_id, down.role, down.by) == ("gus", "viewer", "gus")
    await v1.until("role_changed")  # gus's
    await host.send({"type": "set_role", "participant_id": "vi", "role": "guest"})
    up = await v1.until("role_changed")
    assert (up.participant_id, up.role, up.by) == ("vi", "guest", "hana")
    # A fresh offer with publish slots follows for the new guest.
    offer = await v1.until("offer")
    assert [s.kind for s in offer.slots if s.direction == "recvonly"] == ["audio", "video"]
    snapshot = await show.api("GET", "")
    roles = {p["id"]: p["role"] for p in snapshot[1]["participants"]}
    assert roles == {"hana": "host", "gus": "viewer", "vi": "guest", "vera": "viewer"}
    assert snapshot[1]["audience_count"] == 2
    status, _ = await show.api("PUT", "/participants/vi/role", {"role": "viewer"})
    assert status == 200
    back = await v1.until("role_changed")
    assert (back.role, back.by) == ("viewer", None)
    # Its media restarts as a viewer's: no publish slots (and, with nobody publishing here,
    # no offer until there is something to receive).
    await v1.ping()
    assert not [m for m in v1.received[-2:] if isinstance(m, wire.Offer)]


async def test_slow_mode_and_hidden_chat(show: Show) -> None:
    host, guest, v1, v2 = await cast(show)
    await host.send({"type": "slow_mode", "seconds": 30})
    changed = await v1.until("slow_mode_changed")
    assert (changed.seconds, changed.by) == (30, "hana")
    await v1.send({"type": "chat", "text": "first"})
    first = await v2.until("chat_message")
    await v1.send({"type": "chat", "text": "second"})
    error = await v1.next_error("slow_mode", ref="chat")
    assert error.retry_after is not None and 25 < error.retry_after <= 30
    await host.send({"type": "chat", "text": "hosts are not slowed"})
    await host.send({"type": "chat", "text": "at all"})
    await host.send({"type": "resync"})
    snapshot = await host.until("snapshot")
    assert snapshot.room.slow_mode == 30
    assert [m.text for m in snapshot.shopping.chat] == ["first", "hosts are not slowed", "at all"]
    await host.send({"type": "chat_hide", "seq": first.message.seq})
    hidden = await guest.until("chat_hidden")
    assert hidden.message_seq == first.message.seq
    status, body = await show.api("DELETE", f"/chat/{first.message.seq}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _ = await show.api("PUT", "/slow-mode", {"seconds": 0})
    assert status == 200
    await v1.until("slow_mode_changed")
    await v1.send({"type": "chat", "text": "free again"})
    while (message := await v1.until("chat_message")).message.participant_id != "vi":
        pass
    assert message.message.text == "free again"
