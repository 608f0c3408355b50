"""One participant's socket: an actor that handles client messages, room events and SFU callbacks.

Every input (a client frame, a room event, an SFU offer) becomes a job in the session's inbox and
one task runs the jobs in order, so state changes never interleave and sends stay ordered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import Enum
from functools import partial
from typing import Any, Protocol

from aiohttp import WSCloseCode

from rooms.errors import AlreadyJoined, NoNodeAvailable, NotInRoom, StoreUnavailable
from rooms.event_shapes import RoundInfo
from rooms.events import (
    CatalogLoaded,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMuted,
    RoleChanged,
    RoomClosed,
)
from rooms.models import Participant, Role, RoomEvent, RoomInfo, RoomKind, RoomSnapshot
from rooms.placement import NodeEntry
from sfu import MediaRoom, Offer, Peer, Slot
from signaling import events, moderation, own_cart, ratings, shopping
from signaling import protocol as wire
from signaling.auth import Grant, Permissions
from signaling.errors import SignalingError, error_code, error_details, error_message
from signaling.ice import ice_servers_for
from signaling.may import MayTracker, may_info
from signaling.node import Node

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SessionState(Enum):
    """Where one socket stands: CONNECTED -> JOINED -> LEFT (may join again) / CLOSED."""

    CONNECTED = "connected"
    JOINED = "joined"
    LEFT = "left"
    CLOSED = "closed"


class Transport(Protocol):
    """The socket as the session uses it (aiohttp's WebSocketResponse fits)."""

    async def send_str(self, data: str, compress: int | None = None) -> None: ...

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"") -> bool: ...


class Session:
    """The signaling state machine of one WebSocket."""

    def __init__(
        self,
        node: Node,
        transport: Transport,
        *,
        abort: Callable[[], None] = lambda: None,
        fixed_room: str | None = None,
        remote: str = "",
    ) -> None:
        self.id = secrets.token_hex(4)
        self.state = SessionState.CONNECTED
        self.room_id: str | None = None
        self.participant: Participant | None = None
        self.remote = remote
        self._node = node
        self._transport = transport
        self._abort = abort
        self._fixed_room = fixed_room
        self._seq = 0
        self._media: MediaRoom | None = None
        self._peer: Peer | None = None
        self._inbox: asyncio.Queue[Job | None] = asyncio.Queue()
        self._close_reason: str | None = None
        self._close_code: int = WSCloseCode.OK
        self._task: asyncio.Task[None] | None = None
        self._answer_timer: asyncio.TimerHandle | None = None
        self._offer_sent_at: float | None = None  # time.monotonic() of the unanswered offer
        #: What the participant said of its microphone and camera (None: never said).
        self._media_state: tuple[bool, bool] | None = None
        self._hidden: frozenset[str] = frozenset()  # whose video the client does not show
        #: Our tracks a host muted (until we say they are on again): forwarded to nobody.
        self._muted: set[str] = set()
        self._tile_sizes: dict[str, int] = {}  # pixels of each tile it shows, when it says
        #: The grants of the token (or resume credential) this session joined with.
        self._permissions = Permissions()
        self._may: MayTracker | None = None  # while joined
        #: The room whose placement claim this session holds (signaling.placement).
        self._claim: str | None = None
        #: The live room this session watches as a viewer of this node as an edge (its stage
        #: relayed from the room's origin; signaling.edge_relay), and whether it holds the relay.
        self._edge: str | None = None
        self._edge_media = False
        #: Whether the room joined is a live room (its viewers get folded counts).
        self._live = False
        #: The joined room's settings as last seen (a room the store lost is rebuilt with them).
        self.room_info: RoomInfo | None = None

    @property
    def seq(self) -> int:
        """The room seq this socket's view of the room is up to date with."""
        return self._seq

    def __repr__(self) -> str:
        who = self.participant.id if self.participant else "-"
        return f"<Session {self.id} {self.state.name} room={self.room_id} participant={who}>"

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the task that runs this session's jobs; the node tracks it until it ends."""
        self._node.sessions.add(self)
        self._task = asyncio.create_task(self._run(), name=f"session:{self.id}")

    async def close(self, reason: str, *, code: int = WSCloseCode.OK) -> None:
        """Leave the room, close the socket and stop (idempotent; the first reason wins)."""
        self._close_soon(reason, code)
        if self._task is not None:
            # Shielded: a cancelled caller must not abort the leave half way.
            await asyncio.shield(self._task)

    def _close_soon(self, reason: str, code: int = WSCloseCode.OK) -> None:
        if self._close_reason is None:
            self._close_reason = reason
            self._close_code = code
            self._inbox.put_nowait(None)

    async def _run(self) -> None:
        try:
            while (job := await self._inbox.get()) is not None:
                try:
                    await job()
                except StoreUnavailable as exc:
                    log.warning("session %s: a room job could not reach the store: %s",
                                self.id, exc)
                except Exception:
                    # Client messages report their own errors; this is a bug in a room job.
                    log.exception("session %s: job failed", self.id)
            reason = self._close_reason or "closed"
            self._stop_answer_timer()
            await self._exit_room("disconnected")
            self.state = SessionState.CLOSED
            await self._transport.close(code=self._close_code, message=reason.encode()[:120])
            log.info("session %s (%s) closed: %s", self.id, self.remote, reason)
        finally:
            self.state = SessionState.CLOSED
            self._node.sessions.discard(self)

    def _enqueue(self, job: Job) -> None:
        if self._close_reason is not None:
            return
        if self._inbox.qsize() >= self._node.settings.max_pending:
            # The client does not keep up: drop its backlog rather than grow without bound, and
            # abort the connection so a send stuck on a full socket buffer fails at once.
            while not self._inbox.empty():
                self._inbox.get_nowait()
            log.warning("session %s: %d jobs pending", self.id, self._node.settings.max_pending)
            self._close_soon("slow consumer", WSCloseCode.TRY_AGAIN_LATER)
            self._abort()
            return
        self._inbox.put_nowait(job)

    # --- inputs (never block) --------------------------------------------------------------------

    def receive(self, text: str) -> None:
        """A text frame from the client."""
        self._node.counters.messages_received += 1
        received_at = time.monotonic()
        try:
            message = wire.parse_client_message(text)
        except wire.ProtocolError as exc:
            self._enqueue(partial(self._send_error, exc.code, exc.message, exc.ref))
            return
        except Exception:
            # A bug in the parser: answer it like any other, rather than let it end the socket.
            log.exception("session %s: parsing a frame failed", self.id)
            internal = wire.ErrorCode.INTERNAL
            self._enqueue(partial(self._send_error, internal, "internal error", None))
            return
        self._enqueue(partial(self._handle, message, received_at))

    def receive_invalid(self, why: str) -> None:
        """A frame that cannot be a message (binary)."""
        self._node.counters.messages_received += 1
        self._enqueue(partial(self._send_error, wire.ErrorCode.BAD_MESSAGE, why, None))

    def deliver(self, event: RoomEvent) -> None:
        """A room event from this node's hub (RoomMember)."""
        self._enqueue(partial(self._on_room_event, event))

    @property
    def member_id(self) -> str | None:
        """This socket's participant id while joined (AudienceMember)."""
        return None if self.participant is None else self.participant.id

    @property
    def in_audience(self) -> bool:
        """Whether this socket is a viewer in a live room's audience (AudienceMember)."""
        return (
            self._live
            and self.state is SessionState.JOINED
            and self.participant is not None
            and self.participant.role is Role.VIEWER
        )

    def deliver_counts(self, message: wire.ReactionCounts, text: str) -> None:
        """The audience's folded reactions and votes of the last interval (AudienceMember)."""
        self._enqueue(partial(self._send_counts, message, text))

    async def _send_counts(self, message: wire.ReactionCounts, text: str) -> None:
        if self.in_audience:
            await self._send(message, text)

    def resync_needed(self) -> None:
        """The hub resubscribed; events may be lost, so push a fresh snapshot (RoomMember)."""
        self._enqueue(self._resync)

    def store_unavailable(self, retry_after: float) -> None:
        """The room state went out of reach: tell the client (an ``error`` with no ``ref``);
        a ``snapshot`` follows when it is back."""
        self._enqueue(partial(
            self._send_error,
            wire.ErrorCode.UNAVAILABLE,
            "room state unavailable; a snapshot follows when it is back",
            None,
            retry_after=retry_after,
        ))

    def lost_seat(self, reason: str) -> None:
        """The store no longer holds this session's seat (replaced elsewhere, room closed or
        full when it was rebuilt): leave without touching the store, tell the client."""
        self._enqueue(partial(self._seat_lost, reason))

    def move_to(self, node: NodeEntry, reason: str) -> None:
        """This session's room is served by ``node`` now (this node drains, or the room was
        re-pinned there): leave it here and send the client a ``redirect``."""
        self._enqueue(partial(self._move, self.room_id, node, reason))

    async def _move(
        self, room_id: str | None, node: NodeEntry, reason: str, resume: str | None = None
    ) -> None:
        if self.state is not SessionState.JOINED or room_id is None or self.room_id != room_id:
            return
        await self._exit_room("moved")
        await self._send(wire.Redirect(
            url=self._endpoint(node, room_id), room=room_id, node=node.node_id,
            reason="draining" if reason == "draining" else "moved", resume=resume,
        ))

    async def _seat_lost(self, reason: str) -> None:
        if self.state is SessionState.JOINED:
            await self._exit_room(reason, in_store=False)
            await self._send(wire.Left(reason=reason))

    # --- client messages -------------------------------------------------------------------------

    async def _handle(self, message: wire.ClientMessage, received_at: float) -> None:
        try:
            if isinstance(message, wire.Ping):
                await self._send(wire.Pong(nonce=message.nonce))
            elif isinstance(message, wire.Join):
                await self._join(message, received_at)
            elif self.state is not SessionState.JOINED:
                raise SignalingError(
                    wire.ErrorCode.NOT_JOINED, f"join a room before sending {message.type}"
                )
            elif isinstance(message, wire.Answer):
                await self._answer(message.sdp)
            elif isinstance(message, wire.Leave):
                await self._exit_room("left")
                await self._send(wire.Left(reason="left"))
            elif isinstance(message, wire.Resync):
                await self._resync()
            elif isinstance(message, wire.SetView):
                self._hidden = frozenset(message.hidden)
                if message.sizes is not None:
                    self._tile_sizes = {p: w * h for p, (w, h) in message.sizes.items()}
                self._apply_hidden()
            elif isinstance(message, wire.SetMediaState):
                await self._set_media_state(message.audio, message.video)
            else:
                assert self.room_id is not None and self.participant is not None
                try:
                    if isinstance(message, moderation.ModerationRequest):
                        await moderation.perform(
                            self._node.store, self.room_id, self.participant, message
                        )
                    elif self.in_audience and isinstance(message, own_cart.OwnCartRequest):
                        await self._send(await own_cart.perform(
                            self._node.store, self.room_id, self.participant.id, message
                        ))
                    else:
                        answer = await shopping.perform(
                            self._node.store, self._node.limits, self.room_id,
                            self.participant, message,
                        )
                        if answer is not None:
                            await self._send(answer)
                except NotInRoom:
                    if await self._holds_seat():
                        raise  # a real not_found (e.g. remote_pass.to is not in the room)
                    # The store lost our room or seat (Redis came back empty, or a reaper
                    # took us for dead): the room is about to be reasserted, not gone.
                    self._node.presence.mark_dirty()
                    raise StoreUnavailable(
                        "the room is being restored after a store outage",
                        retry_after=self._node.settings.presence_heartbeat,
                    ) from None
        except Exception as exc:
            code = error_code(exc)
            if code is None:
                log.exception("session %s: %s failed", self.id, message.type)
                await self._send_error(wire.ErrorCode.INTERNAL, "internal error", message.type)
            else:
                await self._send_error(
                    code, error_message(exc), message.type, **error_details(exc)
                )

    async def _join(self, message: wire.Join, received_at: float) -> None:
        if self.state is SessionState.JOINED:
            raise SignalingError(wire.ErrorCode.ALREADY_JOINED, f"already in room {self.room_id}")
        room_id = self._room_of(message)
        participant, permissions = self._admit(message, room_id)
        # A token or a resume credential names a person; the same person on a new
        # connection (a reload, a drop not noticed yet, another tab) replaces the old one.
        returning = message.resume is not None or message.token is not None
        node = self._node
        # Media lives on one node per room: before anything is set up, make sure it is this one
        # (a live room's viewer: this one, the room's origin, or an edge, by load).
        owner, edge_of = await self._place(room_id, participant)
        if owner is not None:
            log.info("session %s: room %s is served by node %s; redirecting", self.id, room_id,
                     owner.node_id)
            await self._send(wire.Redirect(
                url=self._endpoint(owner, room_id), room=room_id, node=owner.node_id,
                reason="placement",
            ))
            return
        if edge_of is None:
            self._claim = room_id
        else:
            self._edge = room_id
        try:
            await node.prepare_room(room_id)
            await node.hubs.add(room_id, self)
        except BaseException:
            self._release_claim()
            raise
        try:
            try:
                room_snapshot, _ = await node.store.join(room_id, participant)
            except AlreadyJoined:
                if not returning:
                    raise
                log.info("session %s: %s is back; replacing its old connection", self.id,
                         participant.id)
                await node.store.leave(room_id, participant.id, reason="replaced")
                room_snapshot, _ = await node.store.join(room_id, participant)
        except BaseException:
            await node.hubs.remove(room_id, self)
            self._release_claim()
            raise
        # The store stamps joined_at: keep its copy of us.
        participant = next(
            (p for p in room_snapshot.participants if p.id == participant.id), participant
        )
        self.state = SessionState.JOINED
        self.room_id, self.participant, self._seq = room_id, participant, room_snapshot.seq
        self._permissions = permissions
        self._live = room_snapshot.room.kind is RoomKind.LIVE
        self.room_info = room_snapshot.room
        log.info("session %s: %s joined %s as %s (seq %d)", self.id, participant.id, room_id,
                 participant.role, room_snapshot.seq)
        self._watch_round(room_snapshot)
        node.hubs.watch_audience(room_id, room_snapshot)
        self._media_state = None
        self._muted = set()
        self._may = MayTracker(participant, room_snapshot.shopping)
        joined = events.joined(
            self._visible(room_snapshot), participant, self._resume_for(participant),
            may_info(self._may.current),
            ice_servers_for(
                node.ice_servers, participant.id, secret=node.settings.turn_secret,
                now=time.time(), ttl=node.settings.turn_ttl,
            ),
            self._media_states(room_id),
        )
        # The peer connection and its first offer are made before `joined` goes out: the
        # offer is queued as this session's next job (SFU callbacks and room events run
        # after this one), so it leaves right behind `joined` and a client can start on
        # its media while it is still drawing the room (issue 8).
        self._media = media = node.sfu.room(room_id)
        if self._edge is not None:
            node.edge_relays.acquire(room_id, media)  # the stage, relayed from its origin
            self._edge_media = True
        try:
            self._peer = await media.add_peer(
                participant.id,
                # A viewer, or a token without canPublish: an offer with no publish slots.
                publish=participant.role is not Role.VIEWER and permissions.can_publish,
                listener=_PeerListener(self, participant.id),
                max_bundle=message.bundle_policy == "max-bundle",
            )
            self._apply_hidden()
        except Exception:
            await self._send(joined)
            await self._exit_room("disconnected")
            await self._send(wire.Left(reason="media_failed"))
            raise
        await self._send(joined)
        node.metrics.join_seconds.observe(time.monotonic() - received_at)
        if self.in_audience:
            # A viewer back after a reload finds its own cart as it left it.
            await self._send(own_cart.own_cart_message(
                await node.store.own_cart(room_id, participant.id)
            ))
        # After the offer (queued above): the people's ratings for "friends rated".
        self._enqueue(partial(ratings.share, node.store, room_id, room_snapshot))

    def _endpoint(self, node: NodeEntry, room_id: str) -> str:
        """Where to send this client on ``node``: the same kind of endpoint it came to."""
        return node.ws_url if self._fixed_room is None else node.room_ws_url(room_id)

    async def _to_stage(self, room_id: str) -> bool:
        """A viewer here as an edge was invited to the stage: the stage is on the room's
        origin, so send it there (True), with a credential carrying its new role (the one of
        ``joined`` says viewer). False if this node is the origin now (publish here)."""
        try:
            pin = await self._node.placement.placement.pin(room_id)
        except (NoNodeAvailable, StoreUnavailable) as exc:
            log.warning("session %s: no origin to send the new guest to: %s", self.id, exc)
            return False
        if pin.node.owner == self._node.placement.owner:
            return False
        assert self.participant is not None
        resume = self._resume_for(self.participant)
        log.info("session %s: %s invited to the stage; sending it to the origin %s", self.id,
                 self.participant.id, pin.node.node_id)
        await self._move(room_id, pin.node, "moved", resume=resume)
        return True

    def _release_claim(self) -> None:
        room_id, self._claim = self._claim, None
        if room_id is not None:
            self._node.placement.release(room_id)
        edge, self._edge = self._edge, None
        if edge is not None:
            self._node.placement.release_viewer(edge)
            if self._edge_media:
                self._node.edge_relays.release(edge)
            self._edge_media = False

    async def _place(
        self, room_id: str, participant: Participant
    ) -> tuple[NodeEntry | None, NodeEntry | None]:
        """(node to redirect to, None) or (None, the origin if this node serves the
        participant as an edge of a live room): RoomPlacement.claim / claim_viewer."""
        node = self._node
        if participant.role is Role.VIEWER and node.shared:
            info = await node.store.get_room(room_id)
            if info is not None and info.kind is RoomKind.LIVE:
                return await node.placement.claim_viewer(room_id)
        return await node.placement.claim(room_id), None

    async def _holds_seat(self) -> bool:
        """Whether the store still has this session in its room (same ``joined_at``)."""
        if self.room_id is None or self.participant is None:
            return False
        try:
            room_snapshot = await self._node.store.snapshot(self.room_id)
        except NotInRoom:
            return False
        return self.participant in room_snapshot.participants

    def _room_of(self, message: wire.Join) -> str:
        if self._fixed_room is not None and message.room not in (None, self._fixed_room):
            raise SignalingError(
                wire.ErrorCode.BAD_MESSAGE, f"this socket is for room {self._fixed_room}"
            )
        room_id = self._fixed_room or message.room
        if room_id is None:
            raise SignalingError(wire.ErrorCode.BAD_MESSAGE, "room: field required")
        return room_id

    def _resume_for(self, participant: Participant) -> str:
        """A credential that brings ``participant`` back (same id, name, role and grants):
        a join token of this node, valid COSHOP_RESUME_TTL seconds."""
        assert self.room_id is not None
        return self._node.auth.mint(
            Grant(
                room=self.room_id,
                identity=participant.id,
                name=participant.name,
                role=participant.role,
                exp=time.time() + self._node.settings.resume_ttl,
                permissions=self._permissions,
            )
        )

    def _admit(self, message: wire.Join, room_id: str) -> tuple[Participant, Permissions]:
        auth = self._node.auth
        if message.resume is not None:
            grant = auth.verify(message.resume, room=room_id)
            participant = Participant(
                id=grant.identity, name=grant.name, role=grant.role, joined_at=time.time()
            )
            return participant, grant.permissions
        if message.token is None:
            if auth.required:
                raise SignalingError(wire.ErrorCode.UNAUTHORIZED, "a join token is required")
            if message.name is None:
                raise SignalingError(wire.ErrorCode.BAD_MESSAGE, "name: field required")
            role = Role(message.role)
            participant = Participant(
                id=secrets.token_hex(6), name=message.name, role=role, joined_at=time.time()
            )
            return participant, Permissions.of_role(role)
        grant = auth.verify(message.token, room=room_id)
        # The token decides identity, name and role; a client may only step down to viewer.
        role = Role.VIEWER if message.role == "viewer" else grant.role
        participant = Participant(
            id=grant.identity, name=grant.name, role=role, joined_at=time.time()
        )
        return participant, grant.permissions

    async def _answer(self, sdp: str) -> None:
        if self._peer is None:
            raise SignalingError(wire.ErrorCode.NEGOTIATION_FAILED, "no offer is pending")
        await self._peer.set_answer(sdp)
        self._stop_answer_timer()
        sent_at, self._offer_sent_at = self._offer_sent_at, None
        if sent_at is not None:
            self._node.metrics.offer_answer_seconds.observe(time.monotonic() - sent_at)

    def _stop_answer_timer(self) -> None:
        if self._answer_timer is not None:
            self._answer_timer.cancel()
            self._answer_timer = None

    async def _answer_overdue(self, peer: Peer) -> None:
        if self._peer is not peer or self._answer_timer is None:
            return  # answered meanwhile, or already out of the room
        self._answer_timer = None
        log.warning("session %s: no answer to the offer within %.0f s", self.id,
                    self._node.settings.answer_timeout)
        await self._exit_room("disconnected")
        await self._send(wire.Left(reason="media_failed"))

    async def _set_media_state(self, audio: bool, video: bool) -> None:
        for kind, on in (("audio", audio), ("video", video)):
            if on and kind in self._muted:
                # We turned back on what a host muted: the SFU forwards it again.
                self._muted.discard(kind)
                if self._peer is not None:
                    self._peer.set_muted(kind, False)
        if self._media_state == (audio, video):
            return
        self._media_state = (audio, video)
        await self._announce_media_state()

    async def _muted_by_host(self, kind: str) -> None:
        """A host muted our microphone or camera: the SFU stops forwarding that track to
        everyone, later joiners included (whatever our client does), and our media_state
        follows for everyone."""
        self._muted.add(kind)
        if self._peer is not None:
            self._peer.set_muted(kind, True)
        audio, video = self._media_state or (True, True)
        await self._set_media_state(
            False if kind == "audio" else audio, False if kind == "video" else video
        )

    async def _announce_media_state(self) -> None:
        if self.room_id is None or self.participant is None or self._media_state is None:
            return
        audio, video = self._media_state
        body = events.MediaState(participant_id=self.participant.id, audio=audio, video=video)
        await events.publish(self._node.store, self.room_id, body)

    async def _resync(self, *, resume: bool = False) -> None:
        if self.state is not SessionState.JOINED or self.room_id is None:
            return
        assert self.participant is not None
        try:
            # A live room's viewer is shown the stage and itself: read no more than that.
            viewer = self.participant.id if self.in_audience else None
            room_snapshot = await self._node.store.snapshot(self.room_id, viewer=viewer)
        except NotInRoom:
            # The store lost the room (Redis restarted empty): presence rebuilds it and
            # pushes a snapshot then.
            log.info("session %s: room %s is gone from the store; awaiting its rebuild",
                     self.id, self.room_id)
            self._node.presence.check_soon()
            return
        self._seq = room_snapshot.seq
        self._watch_round(room_snapshot)
        self._node.hubs.watch_audience(self.room_id, room_snapshot)
        self._may = MayTracker(self.participant, room_snapshot.shopping)
        await self._send(events.snapshot(
            self._visible(room_snapshot), self.participant, may_info(self._may.current),
            self._resume_for(self.participant) if resume else None,
            self._media_states(self.room_id),
        ))

    def _media_states(self, room_id: str) -> list[wire.MediaStateInfo]:
        """The microphones and cameras said to be off by this node's participants of the
        room: its media, so its whole stage, lives on this node."""
        return [
            wire.MediaStateInfo(participant_id=m.member_id, audio=m.stated[0], video=m.stated[1])
            for m in self._node.hubs.members(room_id)
            if isinstance(m, Session) and m.member_id is not None
            and m.stated is not None and m.stated != (True, True)
        ]

    def _is_local(self, room_id: str, participant_id: str) -> bool:
        """Whether ``participant_id`` sits in the room on this node."""
        return any(m.member_id == participant_id for m in self._node.hubs.members(room_id))

    @property
    def stated(self) -> tuple[bool, bool] | None:
        """What the participant said of its microphone and camera (None: nothing yet)."""
        return self._media_state

    def _visible(self, room_snapshot: RoomSnapshot) -> RoomSnapshot:
        """The room as this socket is shown it: a live room's viewer sees the stage and
        itself, not the rest of the audience (``room.audience_count`` counts it)."""
        if not self.in_audience or self.participant is None:
            return room_snapshot
        me = self.participant.id
        return replace(
            room_snapshot,
            room=replace(room_snapshot.room, raised_hands=tuple(
                h for h in room_snapshot.room.raised_hands if h == me
            )),
            participants=tuple(
                p for p in room_snapshot.participants if p.role is not Role.VIEWER or p.id == me
            ),
        )

    def _watch_round(self, room_snapshot: RoomSnapshot) -> None:
        round = room_snapshot.shopping.round
        self._node.hubs.watch_round(
            room_snapshot.room.id, None if round is None else RoundInfo.of(round)
        )

    async def _exit_room(self, reason: str, *, in_store: bool = True) -> None:
        """Leave the store's room, then the SFU; each step runs even if the other fails.

        ``in_store=False``: the store already let this participant go (replaced, removed).
        """
        room_id, participant, media = self.room_id, self.participant, self._media
        peer = self._peer
        if room_id is None or participant is None:
            self._release_claim()
            return
        self.state = SessionState.LEFT
        self.room_id, self.participant, self._media, self._peer = None, None, None, None
        self._may = None
        self._stop_answer_timer()
        self._offer_sent_at = None
        node = self._node
        await node.hubs.remove(room_id, self)
        # The seat first, so it is free the moment its holder leaves (a rejoin never meets
        # room_full because of its own old session). Only this session's entry goes: the
        # same participant may already be back on a newer connection.
        if in_store:
            try:
                await node.store.leave(
                    room_id, participant.id, reason=reason, joined_at=participant.joined_at
                )
            except StoreUnavailable as exc:
                # The seat stays under this node's lease: reasserting removes it later.
                log.warning("session %s: leaving %s: %s", self.id, room_id, exc)
                node.presence.mark_dirty()
            except Exception:
                log.exception("session %s: leaving %s failed", self.id, room_id)
        if media is not None:
            try:
                await media.remove_peer(participant.id, reason=reason, peer=peer)
            except Exception:
                log.exception("session %s: remove_peer(%s) failed", self.id, participant.id)
        self._release_claim()
        log.info("session %s: %s left %s (%s)", self.id, participant.id, room_id, reason)

    # --- room events -----------------------------------------------------------------------------

    async def _on_room_event(self, event: RoomEvent) -> None:
        if self.room_id != event.room_id or event.seq <= self._seq or self.participant is None:
            return  # Not our room any more, or already covered by joined/snapshot.
        self._seq = event.seq
        body = event.body
        if isinstance(body, CatalogLoaded):
            # A new catalog changes much of the shopping state: send all of it.
            await self._resync()
            return
        built = self._node.messages.get(event)
        if built is not None:
            await self._send(*built)
        may = None if self._may is None else self._may.apply(body)
        if may is not None:
            await self._send(wire.May(may=may_info(may)))
        if (
            isinstance(body, ParticipantJoined)
            and self._media_state not in (None, (True, True))
            and not self._is_local(event.room_id, body.participant.id)
        ):
            # A newcomer on another node was not told in its joined (media_states) that our
            # microphone or camera is off: tell it (events are not replayed).
            await self._announce_media_state()
        if isinstance(body, RoomClosed):
            await self._exit_room("room_closed")
            await self._send(wire.Left(reason="room_closed"))
        elif isinstance(body, ParticipantLeft) and body.participant_id == self.participant.id:
            # Someone else took us out of the room (a host removed or banned us, or we came
            # back on a newer connection): the store already let us go.
            await self._exit_room(body.reason, in_store=False)
            await self._send(wire.Left(reason=body.reason))
        elif isinstance(body, ParticipantMuted) and body.participant_id == self.participant.id:
            await self._muted_by_host(body.kind)
        elif isinstance(body, RoleChanged) and body.participant_id == self.participant.id:
            await self._change_role(Role(body.role))

    def _apply_hidden(self) -> None:
        """Pause the video the client does not show."""
        if self._peer is not None:
            self._peer.set_hidden(self._hidden, self._tile_sizes)

    async def _change_role(self, role: Role) -> None:
        """A host brought us up to the stage or sent us back to the audience: publish or
        stop publishing. The SFU fixes a peer's publish slots when it makes it, so this
        participant's media restarts on a new connection (a fresh ``offer`` follows)."""
        if self.participant is None or self._media is None:
            return
        self.participant = replace(self.participant, role=role)
        self._permissions = replace(self._permissions, can_publish=role is not Role.VIEWER)
        if (
            self._edge is not None
            and role is not Role.VIEWER
            and self.room_id is not None
            and await self._to_stage(self.room_id)
        ):
            return
        self._stop_answer_timer()
        self._offer_sent_at = None
        self._media_state = None
        self._muted = set()
        participant_id = self.participant.id
        try:
            self._peer = await self._media.add_peer(
                participant_id,
                publish=self._permissions.can_publish,
                listener=_PeerListener(self, participant_id),
            )
            self._apply_hidden()
        except Exception:
            await self._exit_room("disconnected")
            await self._send(wire.Left(reason="media_failed"))
            raise
        # In or out of the audience, the room looks different now (the whole audience, or
        # the stage only): a fresh snapshot, with a resume credential for the new role (a
        # reload brings a promoted guest back on the stage).
        await self._resync(resume=True)

    # --- SFU callbacks (via _PeerListener) -------------------------------------------------------

    def _is_current(self, peer_id: str) -> bool:
        return self.participant is not None and self.participant.id == peer_id

    async def _send_offer(self, peer_id: str, offer: Offer) -> None:
        if self._is_current(peer_id):
            await self._send(events.offer(offer))
            self._offer_sent_at = time.monotonic()
            peer = self._peer
            if self._answer_timer is None and peer is not None:
                self._answer_timer = asyncio.get_running_loop().call_later(
                    self._node.settings.answer_timeout,
                    self._enqueue,
                    partial(self._answer_overdue, peer),
                )

    async def _send_slots(self, peer_id: str, slots: list[Slot]) -> None:
        if self._is_current(peer_id):
            await self._send(events.slots(slots))

    async def _publish_track(self, peer_id: str, kind: str) -> None:
        if self._is_current(peer_id) and self.room_id is not None:
            body = events.TrackPublished.model_validate({"participant_id": peer_id, "kind": kind})
            await events.publish(self._node.store, self.room_id, body)

    async def _peer_closed(self, peer_id: str, reason: str) -> None:
        if not self._is_current(peer_id):
            return  # We removed it ourselves.
        log.warning("session %s: media of %s closed by the SFU: %s", self.id, peer_id, reason)
        await self._exit_room("disconnected")  # remove_peer is idempotent
        await self._send(wire.Left(reason="media_failed"))

    # --- output ----------------------------------------------------------------------------------

    async def _send_error(
        self, code: wire.ErrorCode, message: str, ref: str | None, **details: Any
    ) -> None:
        self._node.counters.errors[code] += 1
        await self._send(wire.Error.model_validate(
            {"code": code, "message": message, "ref": ref, **details}
        ))

    async def _send(self, message: wire.ServerMessage, text: str | None = None) -> None:
        if isinstance(message, wire.Redirect):
            self._node.counters.redirects[message.reason] += 1
        try:
            await self._transport.send_str(wire.dump(message) if text is None else text)
        except ConnectionError as exc:
            self._close_soon(f"send failed: {exc}")
            return
        self._node.counters.messages_sent += 1


class _PeerListener:
    """The SFU's callbacks for one peer, queued as jobs of the owning session."""

    def __init__(self, session: Session, peer_id: str) -> None:
        self._session = session
        self._peer_id = peer_id

    async def on_offer(self, offer: Offer) -> None:
        self._session._enqueue(partial(self._session._send_offer, self._peer_id, offer))

    async def on_slots(self, slots: list[Slot]) -> None:
        self._session._enqueue(partial(self._session._send_slots, self._peer_id, slots))

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        self._session._enqueue(partial(self._session._publish_track, peer_id, kind))

    async def on_closed(self, peer_id: str, reason: str) -> None:
        self._session._enqueue(partial(self._session._peer_closed, peer_id, reason))
