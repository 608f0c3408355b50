"""The origin's end of the edge relays: ``GET /relay/{room_id}/ws``, for other nodes only.

An edge node with viewers of a live room connects here with a node credential
(``Authorization: Bearer``, signaling.relay_credential) and is added to the room's media as a
hidden, receive-only peer (every m-line bundled): the SFU offers it every stage track as it
would a viewer, and tells it ``slots`` as the stage changes. It never enters the room's
store, so no roster, tally or audience count sees it. The relay holds a placement claim, so
the room stays pinned here while an edge relays it. If the room is pinned to another node the
edge is told with a ``redirect`` (its ``url`` is that node's base URL) and the socket closes.

Messages are those of the participant protocol: ``offer`` / ``slots`` from here, ``answer``
from the edge (docs/PROTOCOL.md, "Live rooms across nodes").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ValidationError

from rooms.errors import NoNodeAvailable, StoreUnavailable
from rooms.placement import NodeEntry
from sfu.errors import SFUError
from sfu.slot import Offer, Slot
from signaling import events
from signaling import protocol as wire
from signaling.auth import InvalidToken
from signaling.protocol import is_room_id

if TYPE_CHECKING:
    from signaling.node import Node

log = logging.getLogger(__name__)

RELAY_PEER_PREFIX = "~relay:"
"""Media peer ids of relays: ``~`` is outside participant ids, so none can collide."""


class _RelayListener:
    """The SFU's callbacks for a relay peer: straight onto the edge's socket."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self.closed = asyncio.Event()

    async def _send(self, message: wire.ServerMessage) -> None:
        try:
            await self._ws.send_str(wire.dump(message))
        except ConnectionError:
            self.closed.set()

    async def on_offer(self, offer: Offer) -> None:
        await self._send(events.offer(offer))

    async def on_slots(self, slots: list[Slot]) -> None:
        await self._send(events.slots(slots))

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        return None  # a relay publishes nothing

    async def on_closed(self, peer_id: str, reason: str) -> None:
        log.info("relay %s closed by the SFU: %s", peer_id, reason)
        self.closed.set()


class OriginLinks:
    """The relay sockets this node serves as a room's origin; closed on shutdown."""

    def __init__(self) -> None:
        self._sockets: dict[web.WebSocketResponse, str] = {}  # socket -> room id
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._sockets)

    def move_room(self, room_id: str, to: NodeEntry) -> None:
        """``room_id`` is served by ``to`` now (this node drains, or the room moved): send
        its relays there (a ``redirect``), which ends them here and releases their claims."""
        for ws, room in list(self._sockets.items()):
            if room == room_id:
                task = asyncio.get_running_loop().create_task(
                    _redirect(ws, room_id, to), name=f"relay-move:{room_id}"
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Close every relay socket (their handlers then remove the relay peers)."""
        sockets, self._sockets = list(self._sockets), {}
        for ws in sockets:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"origin shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def serve(self, node: Node, request: web.Request) -> web.StreamResponse:
        """The ``/relay/{room_id}/ws`` handler of ``node``."""
        room_id = request.match_info["room_id"]
        if not is_room_id(room_id):
            raise web.HTTPNotFound(text="invalid room id")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise InvalidToken("a node credential is required")
            edge = node.relay_credentials.verify(token, room_id=room_id)
        except InvalidToken as exc:
            raise web.HTTPUnauthorized(text=str(exc)) from None
        ws = web.WebSocketResponse(heartbeat=node.settings.ws_heartbeat)
        await ws.prepare(request)
        try:
            owner = await node.placement.claim(room_id)
        except (NoNodeAvailable, StoreUnavailable) as exc:
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=str(exc).encode()[:100])
            return ws
        if owner is not None:
            await _redirect(ws, room_id, owner)
            return ws
        self._sockets[ws] = room_id
        try:
            await _relay(node, room_id, edge, ws)
        finally:
            self._sockets.pop(ws, None)
            node.placement.release(room_id)
        return ws


async def _redirect(ws: web.WebSocketResponse, room_id: str, to: NodeEntry) -> None:
    """Tell an edge that ``to`` serves ``room_id`` (its base URL), and close."""
    with contextlib.suppress(ConnectionError):  # gone already: its relay ends anyway
        await ws.send_str(wire.dump(wire.Redirect(
            url=to.url, room=room_id, node=to.node_id, reason="placement"
        )))
    await ws.close()


async def _relay(node: Node, room_id: str, edge: str, ws: web.WebSocketResponse) -> None:
    peer_id = f"{RELAY_PEER_PREFIX}{edge}"
    listener = _RelayListener(ws)
    media = node.sfu.room(room_id)
    log.info("relaying room %s to edge node %s", room_id, edge)
    try:
        # Not adaptive: a relay carries every layer; each edge viewer is fitted at its edge.
        peer = await media.add_peer(
            peer_id, publish=False, listener=listener, max_bundle=True, adaptive=False
        )
    except SFUError as exc:
        log.warning("room %s: relay to %s refused: %s", room_id, edge, exc)
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
        return
    reason = "edge closed the relay"
    closed = asyncio.ensure_future(listener.closed.wait())
    try:
        while True:
            receive = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait([receive, closed], return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                await asyncio.wait([receive])
                reason = "relay media closed"
                break
            frame = receive.result()
            if frame.type is not WSMsgType.TEXT:
                break
            try:
                answer = wire.Answer.model_validate_json(frame.data)
            except ValidationError:
                reason = "bad message from the edge"
                break
            await peer.set_answer(answer.sdp)
    except SFUError as exc:
        reason = f"relay negotiation failed: {exc}"
    finally:
        closed.cancel()
        await asyncio.wait([closed])
        log.info("relay of room %s to %s ends: %s", room_id, edge, reason)
        await media.remove_peer(peer_id, reason=reason, peer=peer)
        await ws.close()
