"""Everything one running signaling node owns: store, SFU, event hubs, sockets, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode

from rooms.catalog import Catalog, sample_catalog
from rooms.errors import NotInRoom, RoomClosed, StoreUnavailable
from rooms.factory import open_store
from rooms.models import RoomInfo, RoomKind
from rooms.placement import LocalPlacement, NodeEntry, Placement
from rooms.redis_placement import RedisPlacement
from rooms.redis_store import RedisStore
from rooms.shopping import RemoteMode
from rooms.store import RoomStore
from sfu import SFU, SFUConfig
from signaling.auth import DEMO_SECRET, TokenAuthority
from signaling.edge_relay import EdgeRelays
from signaling.events import ActiveSpeaker, EventMessages, publish
from signaling.hub import RoomHubs
from signaling.ice import IceServer
from signaling.metrics import Counters, NodeMetrics
from signaling.placement import RoomPlacement
from signaling.presence import Presence, SeatHolder
from signaling.relay_credential import RelayCredentials
from signaling.relay_origin import OriginLinks
from signaling.settings import Settings
from signaling.shopping import ShoppingLimits
from signaling.webhook_backoff import Backoff
from signaling.webhook_claims import EventClaims, MemoryClaims, RedisClaims
from signaling.webhooks import WebhookCollector, Webhooks

if TYPE_CHECKING:
    from signaling.session import Session

log = logging.getLogger(__name__)

SAMPLE_IMAGE_BASE = "/catalog/sample"
"""URL path of the sample catalog's directory: app.py serves its ``images/`` below it."""


@dataclass(eq=False)
class Node:
    """The node's shared services; created at start-up, closed (children first) on shutdown."""

    settings: Settings
    store: RoomStore
    sfu: SFU
    auth: TokenAuthority
    hubs: RoomHubs
    sessions: set[Session] = field(default_factory=set)
    counters: Counters = field(default_factory=Counters)
    limits: ShoppingLimits = field(default_factory=ShoppingLimits)
    messages: EventMessages = field(default_factory=EventMessages)
    shared_placement: Placement | None = None
    ice_servers: list[IceServer] = field(default_factory=list)
    webhooks: Webhooks = field(default_factory=lambda: Webhooks([], MemoryClaims()))
    #: Seats held here by something other than a socket (WHIP ingests): presence recovery
    #: puts them back in their rooms too.
    other_seats: Callable[[], Sequence[SeatHolder]] = lambda: ()
    presence: Presence = field(init=False)
    placement: RoomPlacement = field(init=False)
    metrics: NodeMetrics = field(init=False)
    #: Live rooms across nodes: relays this node serves as origin, and takes as an edge.
    origin_links: OriginLinks = field(default_factory=OriginLinks)
    edge_relays: EdgeRelays = field(init=False)
    relay_credentials: RelayCredentials = field(init=False)
    _closed: bool = False
    _drain_requested: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.presence = Presence(self)
        self.placement = RoomPlacement(
            self, self.shared_placement or LocalPlacement(self.settings.node_id)
        )
        self.metrics = NodeMetrics(self)
        self.edge_relays = EdgeRelays(self)
        self.relay_credentials = RelayCredentials(
            self.settings.relay_secret or self.settings.secret or DEMO_SECRET
        )
        self.hubs.feed_lost = self.presence.check_soon
        self.hubs.observe = self.webhooks.observe
        self.metrics.registry.register(WebhookCollector(self.webhooks))

    @classmethod
    async def open(cls, settings: Settings) -> Node:
        """Build the SFU and the store from ``settings`` (raises IncompatibleAiortc)."""
        sfu = SFU(
            SFUConfig(
                keyframe_request_interval=settings.pli_interval,
                keyframe_spacing=settings.pli_spacing,
                retransmission_share=settings.rtx_share,
                allow_h264=settings.allow_h264,
                direct_send=settings.direct_send,
                compiled_egress=settings.compiled_egress,
                compiled_fanout=settings.compiled_fanout,
                compiled_ingress=settings.compiled_ingress,
                announced_address=settings.public_ip,
            )
        )
        try:
            store = open_store(
                settings.redis_url,
                default_capacity=settings.room_capacity,
                audience_capacity=settings.audience_capacity,
                node_id=settings.node_id,
                presence_lease=settings.presence_lease,
                retry_after=settings.presence_heartbeat,
            )
        except BaseException:
            await sfu.close()
            raise
        shared: Placement | None = None
        if settings.redis_url is not None and isinstance(store, RedisStore):
            shared = RedisPlacement(
                settings.redis_url,
                owner=store.owner,
                node_id=settings.node_id,
                node_timeout=settings.node_timeout,
                cpu_weight=settings.placement_cpu_weight,
                retry_after=settings.presence_heartbeat,
            )
        node = cls(
            settings=settings,
            store=store,
            sfu=sfu,
            auth=TokenAuthority(settings.secret, public_key=settings.jwt_key()),
            hubs=RoomHubs(store, reaction_interval=settings.reaction_interval),
            limits=ShoppingLimits(enabled=settings.rate_limits),
            shared_placement=shared,
            ice_servers=settings.ice_server_list(),
            webhooks=_webhooks(settings, store),
        )
        sfu.on_active_speaker = node.publish_speaker
        sfu.on_first_forward = node.metrics.observe_first_forward
        node.presence.start()
        node.placement.start()
        node.metrics.start()
        node.webhooks.start()
        return node

    async def publish_speaker(self, room_id: str, participant_id: str | None) -> None:
        """The SFU heard a new active speaker in ``room_id``: tell the room (an event)."""
        # An outage, or the room is gone: the next change is told again.
        with contextlib.suppress(StoreUnavailable, NotInRoom, RoomClosed):
            await publish(self.store, room_id, ActiveSpeaker(participant_id=participant_id))

    def default_catalog(self) -> tuple[Catalog | None, str | None]:
        """The catalog (and its image base) a room is created with: the sample in demo."""
        if self.settings.demo_catalog:
            return sample_catalog(), SAMPLE_IMAGE_BASE
        return None, None

    async def create_room(
        self,
        room_id: str,
        *,
        capacity: int | None = None,
        kind: RoomKind = RoomKind.GROUP,
        audience_capacity: int | None = None,
    ) -> RoomInfo:
        """Create the room if absent, with the default catalog (RoomStore.create_room)."""
        catalog, image_base = self.default_catalog()
        # A demo room is a group of friends passing the remote (nobody is host without a
        # token); a production room is led by its host until they say otherwise.
        mode = RemoteMode.EVERYONE if self.settings.demo_mode else RemoteMode.HOST_LED
        return await self.store.create_room(
            room_id, capacity=capacity, catalog=catalog, image_base=image_base, remote_mode=mode,
            kind=kind, audience_capacity=audience_capacity,
        )

    async def prepare_room(self, room_id: str) -> None:
        """Before a join (which would create a bare room): create an absent room with the
        default catalog and mode, so its first participant already sees them."""
        if await self.store.get_room(room_id) is None:
            await self.create_room(room_id)

    @property
    def shared(self) -> bool:
        """Whether other nodes share this node's rooms (Redis): placement, redirect, drain."""
        return self.shared_placement is not None

    def move_room(self, room_id: str, to: NodeEntry, reason: str) -> None:
        """Send every participant of ``room_id`` here to node ``to`` (a ``redirect``; a WHIP
        stream ends, and its encoder's next POST is redirected there)."""
        for holder in [*self.joined_sessions(), *self.other_seats()]:
            if holder.room_id == room_id:
                holder.move_to(to, reason)
        self.origin_links.move_room(room_id, to)  # edges relaying it from here

    def request_drain(self) -> None:
        """Ask ``coshop serve`` to drain and exit (the admin call; SIGTERM does the same)."""
        self._drain_requested.set()

    async def drain_requested(self) -> None:
        """Return once a drain was requested (``request_drain``)."""
        await self._drain_requested.wait()

    async def drain(self) -> None:
        """Send every participant here to other nodes and wait until they are gone (at most
        ``drain_timeout``). Nothing to do without a shared store, or with no other live node
        to take the rooms. With Redis out of reach that is not known: drain, so the rooms
        move if it comes back in time."""
        if not self.shared:
            return
        try:
            others = await self.placement.has_other_nodes()
        except StoreUnavailable as exc:
            log.warning("drain: %s; draining anyway, for at most %g s", exc,
                        self.settings.drain_timeout)
            others = True
        if not others:
            log.info("drain: no other live node takes rooms; shutting down at once")
            return
        await self.placement.drain(self.settings.drain_timeout)

    def joined_sessions(self) -> list[Session]:
        """Sockets currently in a room."""
        return [s for s in self.sessions if s.room_id is not None]

    async def close_sessions(self, reason: str) -> None:
        """Take every socket out of its room and close it with ``reason`` (going away)."""
        sessions = list(self.sessions)
        if sessions:
            log.info("closing %d sockets: %s", len(sessions), reason)
        await asyncio.gather(
            *(s.close(reason, code=WSCloseCode.GOING_AWAY) for s in sessions)
        )

    async def close(self) -> None:
        """Close sockets, subscriptions, presence, the SFU, the store and the metrics' probe,
        in that order (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.close_sessions("server shutting down")
        await self.origin_links.close()
        await self.edge_relays.close()
        await self.hubs.close()
        await self.webhooks.close()
        await self.placement.close()
        await self.presence.close()
        await self.sfu.close()
        await self.store.close()
        await self.metrics.close()


def _webhooks(settings: Settings, store: RoomStore) -> Webhooks:
    """The node's webhook deliveries; on Redis the nodes share their claims (one delivers)."""
    claims: EventClaims = MemoryClaims()
    if settings.redis_url is not None and isinstance(store, RedisStore):
        claims = RedisClaims(settings.redis_url, namespace=store.namespace,
                             node_id=settings.node_id)

    async def recap(room_id: str) -> dict[str, Any]:
        return (await store.recap(room_id)).to_dict()

    return Webhooks(
        settings.webhook_endpoints(),
        claims,
        backoff=Backoff(attempts=settings.webhook_attempts, base=settings.webhook_retry_base),
        queue_size=settings.webhook_queue,
        recap=recap,
    )
