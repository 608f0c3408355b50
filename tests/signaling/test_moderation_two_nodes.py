"""Host controls across two signaling nodes sharing one real Redis: an action taken through
either node reaches the room's sockets on whichever node holds them (a live room's viewer may
sit on an edge, not the stage's node), and a ban holds everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from signaling import protocol as wire
from signaling.keys import NODE
from tests.signaling.test_two_nodes import Client, nodes, room_id  # noqa: F401 (fixtures)
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis


async def token(via: Client, room: str, identity: str, role: str) -> str:
    response = await via.post(
        f"/api/rooms/{room}/tokens", json={"identity": identity, "name": identity, "role": role}
    )
    assert response.status == 201
    minted: str = (await response.json())["token"]
    return minted


async def join(
    pair: tuple[Client, Client], opened: list[WsClient], room: str, **fields: Any
) -> tuple[WsClient, Any, Client]:
    """Join through the first node, following a ``redirect``; also the node joined on."""
    by_url = {f"ws://127.0.0.1:{c.port}/ws": c for c in pair}
    node = pair[0]
    ws = WsClient(await node.ws_connect("/ws"))
    opened.append(ws)
    reply = await ws.join(room, **fields)
    if isinstance(reply, wire.Redirect):
        node = by_url[reply.url]
        ws = WsClient(await node.ws_connect("/ws"))
        opened.append(ws)
        reply = await ws.join(room, **fields)
    return ws, reply, node


async def test_a_ban_through_one_node_holds_on_the_other(
    nodes: tuple[Client, Client], room_id: str  # noqa: F811
) -> None:
    created = await nodes[0].post(
        "/api/rooms", json={"id": room_id, "kind": "live", "audience_capacity": 5}
    )
    assert created.status == 201
    opened: list[WsClient] = []
    try:
        host, joined, _ = await join(nodes, opened, room_id,
                                     token=await token(nodes[0], room_id, "hana", "host"))
        assert isinstance(joined, wire.Joined) and joined.room.kind == "live"
        viewer, joined_v, viewers_node = await join(
            nodes, opened, room_id, token=await token(nodes[0], room_id, "vi", "viewer")
        )
        assert isinstance(joined_v, wire.Joined)
        assert room_id in viewers_node.app[NODE].hubs.room_ids()
        [other] = [c for c in nodes if c is not viewers_node]
        # The ban goes through the node that does not hold the viewer's socket.
        response = await other.post(f"/api/rooms/{room_id}/bans", json={"participant_id": "vi"})
        assert response.status == 201
        assert (await viewer.until("left")).reason == "banned"
        banned = await host.until("participant_banned")
        assert banned.participant_id == "vi"
        _, refused, _ = await join(nodes, opened, room_id,
                                   token=await token(other, room_id, "vi", "viewer"))
        assert isinstance(refused, wire.Error) and refused.code == "banned"
        # Slow mode set through the other node reaches the host's node too.
        response = await other.put(f"/api/rooms/{room_id}/slow-mode", json={"seconds": 2})
        assert response.status == 200
        assert (await host.until("slow_mode_changed")).seconds == 2
    finally:
        for ws in opened:
            await ws.close()
