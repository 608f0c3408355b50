"""This node as an edge of live rooms: one relay of the stage per room with viewers here.

A viewer of a live room placed on this node while the room's media is pinned to another node
(its origin) is served from a relay: ``acquire`` starts one per room (the first local viewer),
``release`` stops it with the last. The relay connects to the origin's ``/relay/{room}/ws``
with a node credential and feeds the room's MediaRoom here (sfu.relay), whose viewers get the
stage by the SFU's own forwarding.

When the relay connection ends (the origin restarted, was killed, or drains) the relayed
tracks leave the viewers' slots (their m-lines stay) and the relay reconnects, with backoff,
to wherever the room is pinned then: the origin back, or the node the room moved to once the
old one is presumed dead (``COSHOP_NODE_TIMEOUT``). If the room is pinned to this node, this
node is its origin now and the stage joins here: the relay stops. Viewers stay connected
throughout and see the stage again from a keyframe.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp
from pydantic import ValidationError

from rooms.errors import NoNodeAvailable, StoreUnavailable
from sfu.errors import SFUError
from sfu.media_room import MediaRoom
from sfu.relay import RelayIngest
from sfu.slot import Slot
from sfu.tasks import cancel_and_wait
from signaling import protocol as wire
from signaling.http_models import RelayHealth

if TYPE_CHECKING:
    from signaling.node import Node

log = logging.getLogger(__name__)

RETRY_FIRST = 0.25
RETRY_MAX = 3.0
"""Seconds between two connection attempts to an origin: doubling from the first to the max."""


def _slots(wire_slots: list[wire.Slot]) -> list[Slot]:
    return [Slot(s.mid, s.kind, s.direction, s.source) for s in wire_slots]


class EdgeRelay:
    """The relay of one room to this node, reconnecting until closed."""

    def __init__(self, node: Node, room_id: str, media: MediaRoom) -> None:
        self._node = node
        self.room_id = room_id
        self.media = media
        self.viewers = 0
        self.ingest: RelayIngest | None = None
        #: Relay connections made so far (a reconnect adds one), and the current one's origin.
        self.connections = 0
        self.origin: str | None = None
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"edge-relay:{room_id}"
        )

    async def _run(self) -> None:
        delay = RETRY_FIRST
        placement = self._node.placement
        while True:
            try:
                pin = await placement.placement.pin(self.room_id)
            except (NoNodeAvailable, StoreUnavailable) as exc:
                log.warning("edge relay %s: origin unknown: %s", self.room_id, exc)
            else:
                if pin.node.owner == placement.owner:
                    log.info("edge relay %s: the room is served here now; relay stops",
                             self.room_id)
                    return
                loop = asyncio.get_running_loop()
                began = loop.time()
                try:
                    await self._link(pin.node.url, pin.node.node_id)
                except (aiohttp.ClientError, OSError, SFUError, ValidationError) as exc:
                    log.warning("edge relay %s: link to %s failed: %s", self.room_id,
                                pin.node.node_id, exc)
                except Exception:
                    # Whatever went wrong with one connection, the viewers still want the stage.
                    log.exception("edge relay %s: link to %s failed", self.room_id,
                                  pin.node.node_id)
                if loop.time() - began > RETRY_MAX:
                    delay = RETRY_FIRST  # it ran a while: the origin is fine, retry at once
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    async def _link(self, base_url: str, origin: str) -> None:
        node = self._node
        token = node.relay_credentials.mint(self.room_id, node.settings.node_id)
        url = f"{base_url.rstrip('/')}/relay/{self.room_id}/ws"
        async with aiohttp.ClientSession() as http, http.ws_connect(
            url, headers={"Authorization": f"Bearer {token}"},
            heartbeat=node.settings.ws_heartbeat,
        ) as ws:
            ingest = self.ingest = RelayIngest(self.media)
            self.origin = origin
            self.connections += 1
            log.info("edge relay %s: relaying from origin %s", self.room_id, origin)
            try:
                async for frame in ws:
                    if frame.type is not aiohttp.WSMsgType.TEXT:
                        break
                    message = wire.parse_server_message(frame.data)
                    if isinstance(message, wire.Offer):
                        sdp = await ingest.answer(message.sdp, _slots(message.slots))
                        await ws.send_str(wire.dump(wire.Answer(sdp=sdp)))
                    elif isinstance(message, wire.Slots):
                        ingest.set_slots(_slots(message.slots))
                    elif isinstance(message, wire.Redirect):
                        log.info("edge relay %s: the room is on %s now", self.room_id,
                                 message.node)
                        return
            finally:
                self.ingest, self.origin = None, None
                await ingest.close()
            log.info("edge relay %s: origin %s closed the relay (%s)", self.room_id, origin,
                     ws.close_code)

    async def close(self) -> None:
        """Stop relaying (idempotent)."""
        await cancel_and_wait(self._task)


class EdgeRelays:
    """This node's edge relays, one per live room with viewers here whose origin is elsewhere."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.relays: dict[str, EdgeRelay] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def health(self) -> list[RelayHealth]:
        """Each relay as /healthz shows it."""
        out: list[RelayHealth] = []
        for room_id, relay in sorted(self.relays.items()):
            transport = {"dtls": "new", "srtp": "off"}
            if relay.ingest is not None:
                transport = relay.ingest.transport()
            out.append(RelayHealth(
                room=room_id, origin=relay.origin, viewers=relay.viewers,
                connections=relay.connections, dtls=transport["dtls"],
                srtp="on" if transport["srtp"] == "on" else "off",
            ))
        return out

    def acquire(self, room_id: str, media: MediaRoom) -> None:
        """A viewer here watches ``room_id`` through ``media``: relay its stage."""
        relay = self.relays.get(room_id)
        if relay is not None and relay.media is not media:
            # The room's media here closed (its last viewer left) and opened again before
            # that viewer's release: the old relay feeds a closed room.
            self._stop(room_id)
            relay = None
        if relay is None:
            relay = self.relays[room_id] = EdgeRelay(self._node, room_id, media)
        relay.viewers += 1

    def release(self, room_id: str) -> None:
        """A viewer of ``acquire`` left: with the last one, the relay goes."""
        relay = self.relays.get(room_id)
        if relay is None:
            return
        relay.viewers -= 1
        if relay.viewers <= 0:
            self._stop(room_id)

    def _stop(self, room_id: str) -> None:
        relay = self.relays.pop(room_id)
        task = asyncio.get_running_loop().create_task(
            relay.close(), name=f"edge-relay-close:{room_id}"
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Stop every relay (idempotent)."""
        relays, self.relays = list(self.relays.values()), {}
        for relay in relays:
            await relay.close()
        if self._closing:
            await asyncio.wait(list(self._closing))
