"""WHIP ingest (RFC 9725): an encoder such as OBS publishes onto a room's stage over HTTP.

``POST /whip/{room_id}`` carries the encoder's SDP offer and a join token (the same JWT the
WebSocket join takes, as ``Authorization: Bearer``); the node answers 201 with the SDP
answer and the session's URL in ``Location``; ``DELETE`` on that URL ends the stream. The
encoder becomes a participant of the room (its name from the token, or ``?name=``), so
everyone sees it join and is offered its tracks like any other publisher's.

Unlike the room protocol, the client is the offerer here (sfu.Peer.accept_offer). The
answer carries every candidate (the SFU gathers fully before answering), so no trickle
ICE is needed; ``PATCH`` (trickle ICE and ICE restarts, RFC 9725 §4.3.1) is not supported
and answers 405, as the RFC asks of a session that supports neither.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from aiohttp import web

from rooms.errors import (
    AlreadyJoined,
    Forbidden,
    NotInRoom,
    RoomClosed,
    RoomFull,
    StoreUnavailable,
)
from rooms.events import ParticipantLeft, RoleChanged
from rooms.events import RoomClosed as RoomClosedEvent
from rooms.models import Participant, Role, RoomEvent, RoomInfo
from rooms.placement import NodeEntry
from sfu import Offer, Peer, Slot
from sfu.tasks import TaskSet
from signaling import events
from signaling import protocol as wire
from signaling.api import api_error
from signaling.auth import Grant, InvalidToken
from signaling.ice import ice_servers_for
from signaling.keys import NODE
from signaling.protocol import ErrorCode, is_room_id

if TYPE_CHECKING:
    from signaling.node import Node

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

SDP_TYPE = "application/sdp"
#: What a browser's preflight may ask for, and what a WHIP client reads (RFC 9725 §4.2).
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Location, Link, Accept-Post"
ENDPOINT_METHODS = "POST, OPTIONS"
SESSION_METHODS = "DELETE, OPTIONS"
#: Seconds a client is asked to wait before retrying when the stage is full (RFC 9725 §4.5:
#: an endpoint that cannot take the session now answers 503).
FULL_RETRY_AFTER = 10


class IngestState(Enum):
    """LIVE -> ENDED (by DELETE, the connection failing, a moderator or the room closing)."""

    LIVE = "live"
    ENDED = "ended"


@dataclass(eq=False)
class Ingest:
    """One WHIP session: an encoder publishing as ``participant`` in ``room_id``."""

    id: str
    room_id: str
    participant: Participant
    registry: Ingests
    state: IngestState = IngestState.LIVE
    #: The room seq at the join: older events (the leave of a replaced self) are not ours.
    seq: int = 0
    peer: Peer | None = None
    #: The room's settings as the join saw them (a room the store lost is rebuilt so).
    room_info: RoomInfo | None = None
    started_at: float = field(default_factory=time.time)

    # -- RoomMember (signaling.hub): the room's events, to notice being taken off ------

    @property
    def member_id(self) -> str:
        return self.participant.id

    @property
    def in_audience(self) -> bool:
        return False

    def deliver_counts(self, message: wire.ReactionCounts, text: str) -> None:
        pass  # an encoder is shown nothing

    def deliver(self, event: RoomEvent) -> None:
        if event.seq <= self.seq:
            return
        self.seq = event.seq
        body = event.body
        me = self.participant.id
        if isinstance(body, RoomClosedEvent):
            self.registry.end_soon(self, "room_closed", in_store=False)
        elif isinstance(body, ParticipantLeft) and body.participant_id == me:
            # A moderator removed or banned it, or the same identity came back elsewhere.
            self.registry.end_soon(self, body.reason, in_store=False)
        elif isinstance(body, RoleChanged) and body.participant_id == me and body.role == "viewer":
            # Sent back to the audience: an encoder cannot watch, so its stream ends.
            self.registry.end_soon(self, "left")

    def resync_needed(self) -> None:
        pass

    # -- SeatHolder (signaling.presence): put back in the room after a store outage ---

    def move_to(self, node: NodeEntry, reason: str) -> None:
        """The room moves to another node (this one drains): the stream cannot follow, so
        it ends; the encoder's next POST here is redirected there (RFC 9725 §4.5)."""
        self.registry.end_soon(self, "moved")

    def lost_seat(self, reason: str) -> None:
        """The store no longer holds the seat (replaced elsewhere, room closed or full)."""
        self.registry.end_soon(self, reason, in_store=False)

    # -- PeerListener (sfu): the media side of the session ---------------------------

    async def on_offer(self, offer: Offer) -> None:
        log.warning("ingest %s: the SFU made an offer; an ingest peer never renegotiates",
                    self.id)

    async def on_slots(self, slots: list[Slot]) -> None:
        pass

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        body = events.TrackPublished.model_validate({"participant_id": peer_id, "kind": kind})
        with contextlib.suppress(StoreUnavailable, NotInRoom, RoomClosed):
            await events.publish(self.registry.node.store, self.room_id, body)

    async def on_closed(self, peer_id: str, reason: str) -> None:
        self.registry.end_soon(self, "disconnected", in_store=True, media=False)


class Ingests:
    """Every WHIP session of this node, by id; ended together on shutdown."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.by_id: dict[str, Ingest] = {}
        self._tasks = TaskSet("whip")

    def seat_holders(self) -> list[Ingest]:
        """The live sessions (each holds a seat in its room: signaling.presence)."""
        return list(self.by_id.values())

    def find(self, room_id: str, participant_id: str) -> Ingest | None:
        return next(
            (i for i in self.by_id.values()
             if i.room_id == room_id and i.participant.id == participant_id),
            None,
        )

    async def start(self, room_id: str, participant: Participant, offer: str) -> tuple[Ingest, str]:
        """Seat ``participant`` in the room and answer its offer. Takes over the caller's
        placement claim on the room (released when the session ends, or fails to start).
        Raises RoomFull, Banned, RoomClosed, InvalidSdp (nothing is left behind then)."""
        node = self.node
        ingest = Ingest(secrets.token_urlsafe(16), room_id, participant, self)
        try:
            await node.hubs.add(room_id, ingest)
        except BaseException:
            node.placement.release(room_id)
            raise
        try:
            try:
                snapshot, _ = await node.store.join(room_id, participant)
            except AlreadyJoined:
                # The same identity again (an encoder restarting its stream, or the host's
                # browser): the newest connection wins, as a rejoin with a token does.
                old = self.find(room_id, participant.id)
                if old is not None:
                    await self.end(old, "replaced", in_store=False)
                await node.store.leave(room_id, participant.id, reason="replaced")
                snapshot, _ = await node.store.join(room_id, participant)
        except BaseException:
            await node.hubs.remove(room_id, ingest)
            node.placement.release(room_id)
            raise
        ingest.seq = snapshot.seq
        ingest.room_info = snapshot.room
        # The store stamps joined_at: keep its copy (the leave names this seat only).
        ingest.participant = next(
            (p for p in snapshot.participants if p.id == participant.id), participant
        )
        self.by_id[ingest.id] = ingest
        try:
            ingest.peer, answer = await node.sfu.room(room_id).add_ingest(
                participant.id, offer, listener=ingest
            )
        except BaseException:
            await self.end(ingest, "media_failed")
            raise
        log.info("ingest %s: %s publishes into %s over WHIP", ingest.id, participant.id, room_id)
        return ingest, answer

    def end_soon(
        self, ingest: Ingest, reason: str, *, in_store: bool = True, media: bool = True
    ) -> None:
        """``end`` in an owned task (for callbacks that must not block)."""
        if ingest.state is IngestState.LIVE:
            self._tasks.spawn(self.end(ingest, reason, in_store=in_store, media=media),
                              name=f"end:{ingest.id}")

    async def end(
        self, ingest: Ingest, reason: str, *, in_store: bool = True, media: bool = True
    ) -> None:
        """Take the encoder out of the room and close its connection (idempotent)."""
        if ingest.state is IngestState.ENDED:
            return
        ingest.state = IngestState.ENDED
        self.by_id.pop(ingest.id, None)
        node = self.node
        await node.hubs.remove(ingest.room_id, ingest)
        if in_store:
            try:
                await node.store.leave(
                    ingest.room_id, ingest.participant.id, reason=reason,
                    joined_at=ingest.participant.joined_at,
                )
            except StoreUnavailable as exc:
                log.warning("ingest %s: leaving %s: %s", ingest.id, ingest.room_id, exc)
                node.presence.mark_dirty()
            except (NotInRoom, RoomClosed):
                pass
        room = node.sfu.get_room(ingest.room_id)
        if room is not None and media and ingest.peer is not None:
            await room.remove_peer(ingest.participant.id, reason=reason, peer=ingest.peer)
        node.placement.release(ingest.room_id)
        log.info("ingest %s: %s left %s (%s)", ingest.id, ingest.participant.id,
                 ingest.room_id, reason)

    async def close(self) -> None:
        """End every session (the node shuts down), then every task (idempotent)."""
        for ingest in list(self.by_id.values()):
            await self.end(ingest, "disconnected")
        await self._tasks.close()


WHIP = web.AppKey("whip", Ingests)


# --- HTTP ---------------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Authorization: Bearer <join token> required")
    return token.strip()


def _room_id(request: web.Request) -> str:
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise NotInRoom(f"no room {room_id!r}")
    return room_id


def _publisher(grant: Grant) -> None:
    """Who may publish over WHIP: whoever may publish in the room (host, guest, admin: a
    stage role), never a viewer or a token without canPublish."""
    if grant.role is Role.VIEWER or not grant.permissions.can_publish:
        raise Forbidden("this token may not publish")


def _ice_links(node: Node, participant_id: str) -> list[str]:
    """The node's STUN/TURN servers as Link headers (RFC 9725 §4.6, RFC 8288)."""
    out = []
    servers = ice_servers_for(
        node.ice_servers, participant_id, secret=node.settings.turn_secret,
        now=time.time(), ttl=node.settings.turn_ttl,
    )
    for server in servers:
        for url in server["urls"]:
            link = f'<{url}>; rel="ice-server"'
            if server.get("username") is not None:
                link += (f'; username="{server["username"]}"; '
                         f'credential="{server.get("credential", "")}"; '
                         'credential-type="password"')
            out.append(link)
    return out


@routes.post("/whip/{room_id}")
async def publish(request: web.Request) -> web.Response:
    """Start a WHIP session: the offer in, the answer and the session URL out (201)."""
    node = request.app[NODE]
    room_id = _room_id(request)
    grant = node.auth.verify(_bearer(request), room=room_id)
    _publisher(grant)
    if request.content_type != SDP_TYPE:
        raise web.HTTPUnsupportedMediaType(reason=f"Content-Type must be {SDP_TYPE}")
    offer = (await request.read()).decode("utf-8", "replace")
    info = await node.store.get_room(room_id)
    if info is None:
        raise NotInRoom(f"no room {room_id}")
    if info.closed:
        raise RoomClosed(f"room {room_id} is closed")
    owner = await node.placement.claim(room_id)
    if owner is not None:
        # The room's media lives on another node: the encoder goes there (RFC 9725 §4.5).
        location = f"{owner.url.rstrip('/')}/whip/{room_id}"
        if request.query_string:
            location += f"?{request.query_string}"
        raise web.HTTPTemporaryRedirect(location)
    name = request.query.get("name") or grant.name
    participant = Participant(
        id=grant.identity, name=name[:64], role=grant.role, joined_at=time.time()
    )
    registry = request.app[WHIP]
    try:
        ingest, answer = await registry.start(room_id, participant, offer)
    except RoomFull as exc:
        response = api_error(ErrorCode.ROOM_FULL, str(exc), status=503)
        response.headers["Retry-After"] = str(FULL_RETRY_AFTER)
        return response
    response = web.Response(status=201, text=answer, content_type=SDP_TYPE)
    response.headers["Location"] = f"/whip/{room_id}/{ingest.id}"
    for link in _ice_links(node, participant.id):
        response.headers.add("Link", link)
    return response


@routes.delete("/whip/{room_id}/{ingest_id}")
async def stop(request: web.Request) -> web.Response:
    """End a WHIP session (RFC 9725 §4.2): the encoder leaves the room."""
    node = request.app[NODE]
    room_id = _room_id(request)
    grant = node.auth.verify(_bearer(request), room=room_id)
    ingest = request.app[WHIP].by_id.get(request.match_info["ingest_id"])
    if ingest is None or ingest.room_id != room_id:
        raise NotInRoom("no such WHIP session")
    if grant.identity != ingest.participant.id and not grant.permissions.can_moderate:
        raise Forbidden("this token did not start that session")
    await request.app[WHIP].end(ingest, "left")
    return web.Response(status=200)


@routes.options("/whip/{room_id}")
async def endpoint_options(request: web.Request) -> web.Response:
    """A browser's CORS preflight of the POST (RFC 9725 §4.2)."""
    return _preflight(ENDPOINT_METHODS, accept_post=True)


@routes.options("/whip/{room_id}/{ingest_id}")
async def session_options(request: web.Request) -> web.Response:
    """A browser's CORS preflight of the DELETE."""
    return _preflight(SESSION_METHODS, accept_post=False)


def _preflight(methods: str, *, accept_post: bool) -> web.Response:
    response = web.Response(status=204)
    response.headers["Allow"] = methods
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "86400"
    if accept_post:
        response.headers["Accept-Post"] = SDP_TYPE
    return response


async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every WHIP response, errors too, may be read by a page of any origin: the bearer
    token, not the origin, is what authorises (no cookies are used)."""
    if request.path.startswith("/whip/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
