"""One participant's peer connection: its published tracks and its subscriptions."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from sfu.announce import announce_address
from sfu.answer import SDP_ERRORS, parse_answer, parse_ingest_offer
from sfu.compat import check_transceiver
from sfu.config import SFUConfig
from sfu.downlink import DownlinkEstimate
from sfu.errors import InvalidSdp, NegotiationError
from sfu.forwarder import FirstForwardCallback, IdleTrack, TrackForwarder
from sfu.keyframe import KeyframePacer
from sfu.layer_allocator import PAUSED, TOP, LayerAllocator, Need
from sfu.listener import PeerListener
from sfu.negotiation import NegotiationState, Negotiator
from sfu.payload_types import PayloadTypePlan
from sfu.pc_close import close_peer_connection
from sfu.slot import Offer, Slot
from sfu.tasks import TaskSet
from sfu.track_source import TrackSource

logger = logging.getLogger(__name__)

KINDS = ("audio", "video")


class PeerState(Enum):
    """Lifecycle of a peer (mirrors RTCPeerConnection.connectionState, plus CLOSED)."""

    NEW = "new"
    CONNECTED = "connected"
    CLOSED = "closed"


class SubscriptionState(Enum):
    ACTIVE = "active"  # forwarding (or about to) the source's track
    FREE = "free"  # its source left: the m-line stays sendonly, ready for the next one


class SlotChange(Enum):
    """What telling the participant about a subscription change takes."""

    NONE = "none"  # nothing changed
    SLOTS = "slots"  # a `slots` message: an m-line the participant has was (re)assigned
    OFFER = "offer"  # a new m-line: only an offer can add it


@dataclass(slots=True)
class Subscription:
    """A sendonly m-line towards this participant carrying one source's track."""

    transceiver: RTCRtpTransceiver
    forwarder: TrackForwarder
    codec_key: str
    source: str | None
    state: SubscriptionState


def _codec_key(codec: RTCRtpCodecParameters) -> str:
    params = ";".join(f"{k}={v}" for k, v in sorted(codec.parameters.items()))
    return f"{codec.mimeType.lower()}/{codec.clockRate}/{params}"


def _capabilities_for(codec: RTCRtpCodecParameters, kind: str) -> list[RTCRtpCodecCapability]:
    """The sender capability matching ``codec`` exactly, plus RTX for video."""
    wanted = codec.mimeType.lower()
    prefs = [
        c
        for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() == wanted
        and all(c.parameters.get(k) == v for k, v in codec.parameters.items() if k != "apt")
    ]
    if kind == "video":
        prefs += [
            c
            for c in RTCRtpSender.getCapabilities(kind).codecs
            if c.mimeType.lower() == "video/rtx"
        ]
    return prefs


def _publish_capabilities(kind: str, allow_h264: bool) -> list[RTCRtpCodecCapability]:
    caps = RTCRtpSender.getCapabilities(kind).codecs
    if kind == "audio":
        return [c for c in caps if c.mimeType.lower() == "audio/opus"]
    allowed = {"video/vp8", "video/rtx"} | ({"video/h264"} if allow_h264 else set())
    return [c for c in caps if c.mimeType.lower() in allowed]


class Peer:
    """The SFU side of one participant's RTCPeerConnection (server always offers)."""

    def __init__(
        self,
        peer_id: str,
        *,
        publish: bool,
        listener: PeerListener,
        config: SFUConfig,
        max_bundle: bool = False,
        on_source_ready: Callable[[TrackSource], None],
        on_failed: Callable[[Peer, str], None],
        on_first_forward: FirstForwardCallback | None = None,
        lane: asyncio.Lock | None = None,
        pacer: KeyframePacer | None = None,
        adaptive: bool = True,
        ingest: bool = False,
    ) -> None:
        self.id = peer_id
        #: Whether ``adapt`` fits its videos to its downlink (not for an edge's relay).
        self.adaptive = adaptive
        #: An ingest client's peer (``accept_offer``): it publishes, and is sent nothing.
        self.ingest = ingest
        #: Held for each SDP step (createOffer, setLocalDescription, parsing and applying an
        #: answer). A room shares one, so a join or a leave that renegotiates everyone runs
        #: those ~10 ms steps one at a time, with forwarding in between, instead of piling
        #: them into one long stall of every stream (issue 18).
        self._lane = lane or asyncio.Lock()
        self.listener = listener
        self.state = PeerState.NEW
        self.sources: dict[str, TrackSource] = {}
        self.subscriptions: list[Subscription] = []
        self._config = config
        self._on_source_ready = on_source_ready
        self._on_failed = on_failed
        self._on_first_forward = on_first_forward
        self._negotiator = Negotiator()
        self._payload_types = PayloadTypePlan()
        self._tasks = TaskSet(f"peer:{peer_id}")
        # No ICE servers: a node knows its addresses (announced_address behind 1:1 NAT).
        # aiortc's default would ask Google's STUN server on every join: a round trip to the
        # internet, and aioice's 5 s gathering timeout where outbound UDP is dropped.
        # An ingest client offers, and its BUNDLE group decides (RFC 8843 §7.3). aiortc's
        # answerer, given transceivers that already share one max-bundle transport, would
        # stop that very transport as a bundled-away one: so no max-bundle there.
        policy = RTCBundlePolicy.BALANCED if ingest else RTCBundlePolicy.MAX_BUNDLE
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=policy))
        self.pc.on("connectionstatechange", self._on_connection_state)
        self._publish: dict[str, RTCRtpTransceiver] = {}
        self._answered_once = False
        #: The client bundles every m-line on one transport whatever the offer (its
        #: bundlePolicy is "max-bundle"): no need to hold subscriptions back (see subscribe).
        self._max_bundle = max_bundle
        #: Whose video the participant does not show now: paused.
        self._hidden: frozenset[str] = frozenset()
        #: Tile sizes the participant shows (pixels per publisher id), for priorities.
        self._sizes: dict[str, int] = {}
        #: Whose video the downlink cannot take now: paused until it can (see adapt).
        self._starved: set[str] = set()
        #: The participant's downlink, from its REMB feedback.
        self.downlink = DownlinkEstimate()
        self._allocator = LayerAllocator()
        self._deferred: list[TrackSource] = []  # subscriptions held back until the first answer
        self._deferred_since: dict[TrackSource, float] = {}  # when each was asked for
        if publish:
            for kind in KINDS:
                transceiver = self.pc.addTransceiver(kind, direction="recvonly")
                check_transceiver(transceiver)
                transceiver.setCodecPreferences(_publish_capabilities(kind, config.allow_h264))
                self._publish[kind] = transceiver
                self.sources[kind] = TrackSource(
                    owner=peer_id,
                    kind=kind,
                    receiver=transceiver.receiver,
                    keyframe_interval=config.keyframe_request_interval,
                    pacer=pacer,
                    on_first_packet=self._source_started,
                    direct_receive=config.direct_receive,
                    compiled_fanout=config.compiled_egress and config.compiled_fanout,
                    compiled_ingress=config.compiled_ingress,
                )

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, source: TrackSource) -> SlotChange:
        """Give ``source`` an m-line towards this participant: a free one of the same codec
        when there is one (no renegotiation: say ``slots``), else a new one (``negotiate``).

        Reusing m-lines is what keeps a join or a leave from renegotiating everyone else
        (issue 18): the m-line of a participant who left stays sendonly and carries the next
        publisher, under the same SSRC with continuous numbering, from a keyframe.
        """
        assert source.codec is not None
        if source in self._deferred or any(
            s.forwarder.source is source for s in self.subscriptions
        ):
            return SlotChange.NONE
        if (
            not self._answered_once
            and not self._max_bundle
            and any(t.kind == source.kind for t in self.pc.getTransceivers())
        ):
            # The first offer carries at most one m-line per kind. An answerer with the
            # default "balanced" bundle policy (aiortc's) gives every same-kind m-line
            # of one offer the first one's transport, then bundles only that first one
            # (RFC 8843 §7.3.2 is not followed), so the others would never get media.
            # Once the first answer is applied, later m-lines join the bundle properly.
            # A client that said it uses "max-bundle" gets everything in the first offer.
            self._deferred.append(source)
            self._deferred_since[source] = time.monotonic()
            return SlotChange.OFFER
        key = _codec_key(source.codec)
        sub = next(
            (
                s
                for s in self.subscriptions
                if s.state is SubscriptionState.FREE
                and s.codec_key == key
                and s.forwarder.kind == source.kind
            ),
            None,
        )
        change = SlotChange.SLOTS
        if sub is None:
            change = SlotChange.OFFER
            transceiver = self.pc.addTransceiver(IdleTrack(source.kind), direction="sendonly")
            check_transceiver(transceiver)  # a viewer has no publish transceiver checked yet
            transceiver.setCodecPreferences(_capabilities_for(source.codec, source.kind))
            forwarder = TrackForwarder(
                transceiver.sender,
                source.kind,
                history_size=self._config.retransmission_history,
                retransmission_share=self._config.retransmission_share,
                direct_send=self._config.direct_send,
                compiled_egress=self._config.compiled_egress,
                compiled_fanout=self._config.compiled_fanout,
                on_first_forward=self._on_first_forward,
                on_remb=self._on_remb,
            )
            sub = Subscription(transceiver, forwarder, key, None, SubscriptionState.ACTIVE)
            self.subscriptions.append(sub)
        sub.transceiver.direction = "sendonly"
        # msid "<stream> <track>": one stream per publisher lets browsers lip-sync its
        # audio and video (RFC 8830 §2).
        sub.transceiver.sender._stream_id = source.owner
        sub.source = source.owner
        sub.state = SubscriptionState.ACTIVE
        sub.forwarder.attach(source, since=self._deferred_since.pop(source, None))
        self._apply_pause(sub)
        return change  # attach() asked for a keyframe if the m-line is already negotiated

    def set_muted(self, kind: str, muted: bool) -> None:
        """A host muted (or the participant turned back on) its ``kind`` track: forward
        it to nobody, or again to everyone subscribed (TrackSource.set_muted)."""
        source = self.sources.get(kind)
        if source is not None:
            source.set_muted(muted)

    def set_hidden(self, hidden: frozenset[str], sizes: dict[str, int] | None = None) -> None:
        """The participant does not show the video of ``hidden``: pause it, so no downlink
        is spent on a tile nobody sees (it resumes at a keyframe once shown again).
        ``sizes``: the pixels of each shown tile, when the participant says (priorities)."""
        self._hidden = hidden
        if sizes is not None:
            self._sizes = sizes
        for sub in self.subscriptions:
            self._apply_pause(sub)

    def _apply_pause(self, sub: Subscription) -> None:
        if sub.state is SubscriptionState.ACTIVE and sub.source is not None:
            owner = sub.source
            sub.forwarder.set_paused(owner in self._hidden or owner in self._starved)

    def _on_remb(self, bitrate: int, ssrcs: list[int]) -> None:
        now = time.monotonic()
        if self.downlink.bitrate(now) is None:  # the first report (or the first in a while)
            logger.info("peer %s: downlink %d kbit/s (REMB)", self.id, bitrate // 1000)
        self.downlink.on_remb(bitrate, ssrcs, now)

    def adapt(self, now: float) -> None:
        """Fit the shown videos to the downlink: each one's temporal layer, or a pause
        (sfu/layer_allocator.py). ``now``: time.monotonic()."""
        if not self.adaptive:
            return
        needs: list[Need] = []
        shown: dict[str, Subscription] = {}
        for sub in self.subscriptions:
            source = sub.forwarder.source
            owner = sub.source
            if (
                sub.state is not SubscriptionState.ACTIVE
                or sub.forwarder.kind != "video"
                or source is None
                or owner is None
                or owner in self._hidden
            ):
                continue
            needs.append(Need(owner, self._sizes.get(owner, 0), source.layer_rates.cumulative()))
            shown[owner] = sub
        before = self._allocator.layers
        estimate = self.downlink.bitrate(now)
        chosen = self._allocator.allocate(estimate, needs, now)
        self._starved &= set(shown)
        for owner, layer in chosen.items():
            sub = shown[owner]
            if layer != before.get(owner, TOP):
                logger.info(
                    "peer %s: video of %s at layer %s (downlink %s kbit/s)",
                    self.id,
                    owner,
                    "paused" if layer == PAUSED else layer,
                    None if estimate is None else estimate // 1000,
                )
            starved = layer == PAUSED
            if starved != (owner in self._starved):
                if starved:
                    self._starved.add(owner)
                else:
                    self._starved.discard(owner)
                self._apply_pause(sub)
            if not starved:
                sub.forwarder.set_layer(layer)

    def unsubscribe(self, owner: str) -> bool:
        """Stop receiving every track of ``owner``; True if the participant's slots changed
        (tell it with ``announce_slots``: the m-lines stay, no renegotiation)."""
        changed = False
        self._deferred = [s for s in self._deferred if s.owner != owner]
        self._deferred_since = {s: t for s, t in self._deferred_since.items() if s.owner != owner}
        for sub in self.subscriptions:
            if sub.source == owner and sub.state is SubscriptionState.ACTIVE:
                sub.forwarder.detach()
                self._starved.discard(owner)
                sub.state = SubscriptionState.FREE
                sub.source = None
                changed = True
        return changed

    async def announce_slots(self) -> None:
        """Tell the participant what each of its m-lines carries now, without an offer."""
        if self.closed:
            return
        await self.listener.on_slots(self.slots())

    async def apply(self, change: SlotChange) -> None:
        """Tell the participant about a ``subscribe``: an offer, or just the new slots."""
        if change is SlotChange.OFFER:
            await self.negotiate()
        elif change is SlotChange.SLOTS:
            await self.announce_slots()

    # -- offer / answer ----------------------------------------------------------------

    async def negotiate(self) -> None:
        """Send an offer now, or right after the answer to the one in flight."""
        if not self.pc.getTransceivers():
            return  # a viewer in an empty room: nothing to offer yet
        if self._negotiator.request():
            await self._send_offer()

    async def _send_offer(self) -> None:
        if self.closed:
            return  # the peer was closed while this offer was being prepared
        if self.pc.signalingState == "closed":
            # aiortc closed the connection itself (every DTLS transport closed, see
            # _on_connection_state): no offer; the room drops this peer.
            return
        try:
            async with self._lane:
                offer = await self.pc.createOffer()
                sdp = self._own_payload_types(offer.sdp)
            async with self._lane:
                await self.pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except SDP_ERRORS:
            if self.closed:
                return
            self._negotiator.offer_failed()
            raise
        sdp = self.pc.localDescription.sdp
        if self._config.announced_address is not None:
            sdp = announce_address(sdp, self._config.announced_address)
        await self.listener.on_offer(Offer(sdp=sdp, slots=self.slots()))

    def _own_payload_types(self, sdp: str) -> str:
        """Give each subscription video m-line payload types of its own in ``sdp``.

        Its RTX is then routable by payload type (RFC 8843 §9.2, RFC 4588 §4). createOffer
        resets every transceiver's codecs to aiortc's numbers, and a sender that starts
        later takes them from there, so they are renumbered to match the offer too.
        """
        videos = [s.transceiver for s in self.subscriptions if s.forwarder.kind == "video"]
        sdp = self._payload_types.apply(sdp, {t.sender._ssrc for t in videos})
        for t in videos:
            t._codecs = self._payload_types.renumber(t.sender._ssrc, t._codecs)
        return sdp

    def slots(self) -> list[Slot]:
        """The meaning of each negotiated m-line, in m-line order."""
        out: list[Slot] = []
        for transceiver in self.pc.getTransceivers():
            if transceiver.mid is None:
                continue
            source = next(
                (s.source for s in self.subscriptions if s.transceiver is transceiver), None
            )
            out.append(Slot(transceiver.mid, transceiver.kind, transceiver.direction, source))
        return out

    async def set_answer(self, sdp: str) -> None:
        """Apply the participant's answer to the latest offer."""
        self._negotiator.check_answer()
        async with self._lane:
            parse_answer(sdp)
        try:
            async with self._lane:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except SDP_ERRORS as exc:
            if self.closed:
                raise NegotiationError("peer connection is closed") from exc
            raise InvalidSdp(f"answer SDP cannot be applied: {exc}") from exc
        if self.closed:
            return
        for sub in self.subscriptions:
            if (
                sub.state is SubscriptionState.ACTIVE
                and sub.forwarder.negotiated
                and sub.forwarder.source is not None
                and sub.forwarder.rewriter.waiting_for_keyframe()
            ):
                # A reused slot was disabled until this answer. (A new slot asks once its
                # sender starts: a keyframe before that would be dropped, and the next
                # request throttled.)
                sub.forwarder.source.request_keyframe()
        if not self._answered_once:
            self._answered_once = True
            deferred, self._deferred = self._deferred, []
            for source in deferred:
                if source.ready and self.subscribe(source) is not SlotChange.NONE:
                    self._negotiator.request()  # folded into the follow-up offer
            self._deferred_since.clear()
        if self._negotiator.answered():
            await self._send_offer()

    # -- ingest (the client offers) ----------------------------------------------------

    async def accept_offer(self, sdp: str) -> str:
        """Answer an ingest client's offer (WHIP, RFC 9725 §4.2): the client is the offerer,
        so this peer only receives, and never subscribes to anything (``ingest``).

        The publish transceivers made in ``__init__`` take the offer's m-lines (aiortc
        matches a transceiver of the same kind without a mid), so their TrackSources are
        hooked before any packet, and their codec preferences decide what the answer
        accepts. Returns the answer with every candidate in it (no trickle ICE).
        """
        if not self.ingest or not self._publish:
            raise NegotiationError("only a publishing ingest peer answers offers")
        async with self._lane:
            parse_ingest_offer(sdp)
        try:
            async with self._lane:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                answer = await self.pc.createAnswer()
            async with self._lane:
                await self.pc.setLocalDescription(answer)
        except SDP_ERRORS as exc:
            if self.closed:
                raise NegotiationError("peer connection is closed") from exc
            raise InvalidSdp(f"offer SDP cannot be answered: {exc}") from exc
        self._negotiator.close()  # nothing is ever offered to an ingest client
        out: str = self.pc.localDescription.sdp
        if self._config.announced_address is not None:
            out = announce_address(out, self._config.announced_address)
        return out

    # -- events ------------------------------------------------------------------------

    def _source_started(self, source: TrackSource) -> None:
        self._on_source_ready(source)
        self._tasks.spawn(self.listener.on_track_published(self.id, source.kind), name="published")

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self.state = PeerState.CONNECTED
        elif state in ("failed", "closed") and self.state is not PeerState.CLOSED:
            # "closed" without our close(): aiortc shuts a connection down by itself once all
            # its DTLS transports are closed (the client closed, or consent was lost). The
            # peer is as gone as a failed one, and must leave the room the same way.
            self._on_failed(self, f"connection_{state}")

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Closed by us, or by aiortc itself (e.g. its transport failed before we heard)."""
        return self.state is PeerState.CLOSED or self.pc.signalingState == "closed"

    async def close(self) -> None:
        """Close the peer connection and everything hanging off it (idempotent)."""
        if self.state is PeerState.CLOSED:
            return
        self.state = PeerState.CLOSED
        self._negotiator.close()
        for sub in self.subscriptions:
            sub.forwarder.detach()
        for source in self.sources.values():
            await source.close()
        await self._tasks.close()
        await close_peer_connection(self.pc)

    @property
    def negotiation_state(self) -> NegotiationState:
        return self._negotiator.state

    @property
    def active_subscriptions(self) -> int:
        """m-lines forwarding (or about to forward) a source to this participant."""
        return sum(1 for s in self.subscriptions if s.state is SubscriptionState.ACTIVE)
