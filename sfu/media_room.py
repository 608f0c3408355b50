"""The media side of one room: who publishes what, and who receives it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfu.config import SFUConfig
from sfu.errors import RecordingConflict, SFUError
from sfu.fanout_timing import FanoutTiming
from sfu.forwarder import FirstForwardCallback
from sfu.keyframe import KeyframePacer
from sfu.listener import PeerListener
from sfu.peer import Peer
from sfu.recording import Recording
from sfu.speaker import SpeakerDetector
from sfu.tasks import TaskSet
from sfu.track_source import TrackSource
from sfu.traffic import TrackKey, Traffic, TrafficLedger

if TYPE_CHECKING:
    from aiortc import RTCRtpReceiver

logger = logging.getLogger(__name__)

#: Told (room id, participant id or None) when the room's active speaker changes.
SpeakerCallback = Callable[[str, str | None], Awaitable[None]]
#: How often the speaker is re-decided, and how old an audio level may be to still count.
SPEAKER_INTERVAL = 0.25
LEVEL_MAX_AGE = 0.5
#: How often each participant's video layers are re-fitted to its downlink.
ADAPT_INTERVAL = 0.5


class MediaRoom:
    """Routes every participant's published tracks to every other participant."""

    def __init__(
        self,
        room_id: str,
        config: SFUConfig,
        on_empty: Callable[[MediaRoom], None],
        on_active_speaker: SpeakerCallback | None = None,
        *,
        node_traffic: TrafficLedger | None = None,
        on_first_forward: FirstForwardCallback | None = None,
        fanout_timing: FanoutTiming | None = None,
    ) -> None:
        self.room_id = room_id
        self.peers: dict[str, Peer] = {}
        self._config = config
        self._on_empty = on_empty
        self._tasks = TaskSet(f"room:{room_id}")
        self._closed = False
        self._sdp_lane = asyncio.Lock()  # one SDP step at a time in this room (Peer._lane)
        self._pacer = KeyframePacer(config.keyframe_spacing, timing=fanout_timing)
        self._on_active_speaker = on_active_speaker
        self.speakers = SpeakerDetector()
        self._speaker_loop_started = False
        self._adapt_loop_started = False
        #: This room's totals per track; the node's ledger sees the same sources.
        self.traffic = TrafficLedger(per_track=True)
        self._ledgers = [self.traffic] + ([node_traffic] if node_traffic is not None else [])
        self._on_first_forward = on_first_forward
        #: Stage tracks an edge receives from the room's origin (sfu.relay), by (owner, kind).
        self._relayed: dict[tuple[str, str], TrackSource] = {}
        self._relay_metered: set[TrackSource] = set()
        #: The recording running now, if any (start_recording).
        self.recording: Recording | None = None

    def _ready_sources(self) -> list[TrackSource]:
        local = [s for p in self.peers.values() for s in p.sources.values() if s.ready]
        return local + [s for s in self._relayed.values() if s.ready]

    # -- relayed stage tracks (an edge node; sfu.relay) ------------------------------------

    def relay_source(
        self, receiver: RTCRtpReceiver, kind: str, *, on_first_packet: Callable[[TrackSource], None]
    ) -> TrackSource:
        """A TrackSource for an m-line of the origin's relay, paced like this room's own."""
        return TrackSource(
            owner="",
            kind=kind,
            receiver=receiver,
            keyframe_interval=self._config.keyframe_request_interval,
            pacer=self._pacer,
            on_first_packet=on_first_packet,
            direct_receive=self._config.direct_receive,
            compiled_fanout=self._config.compiled_egress and self._config.compiled_fanout,
            compiled_ingress=self._config.compiled_ingress,
        )

    def set_relayed(self, assigned: list[tuple[str, TrackSource]]) -> None:
        """The relayed stage tracks now: (stage member, source) of each relay m-line that
        carries someone. A member who left, or whose m-line now carries somebody else, is
        unsubscribed from every viewer first; then each ready track is subscribed."""
        new: dict[tuple[str, str], TrackSource] = {}
        for owner, source in assigned:
            if source.ready:
                new[(owner, source.kind)] = source
        old = self._relayed
        # A member whose track left, or moved to another m-line (or whose m-line now
        # carries somebody else), is unsubscribed from all of it; what remains comes back.
        gone = {owner for (owner, kind), s in old.items() if new.get((owner, kind)) is not s}
        changed: list[Peer] = []
        for peer in list(self.peers.values()):
            if not peer.closed and any([peer.unsubscribe(owner) for owner in gone]):
                changed.append(peer)
        for (owner, _), source in new.items():
            source.owner = owner
            if source not in self._relay_metered:
                self._relay_metered.add(source)
                for ledger in self._ledgers:
                    ledger.open(source)
        self._relayed = new
        added = [s for key, s in new.items() if old.get(key) is not s or s.owner in gone]
        if changed or added:
            self._tasks.spawn(self._relay_update(changed, added), name="relay")

    async def _relay_update(self, changed: list[Peer], added: list[TrackSource]) -> None:
        for peer in changed:
            if not peer.closed:
                await peer.announce_slots()  # their m-lines stay for the next stage member
        for source in added:
            await self._subscribe_all(source)

    def relay_closed(self, sources: list[TrackSource]) -> None:
        """The relay connection ended: its tracks' traffic is folded into the ledgers."""
        for source in sources:
            if source in self._relay_metered:
                self._relay_metered.discard(source)
                for ledger in self._ledgers:
                    ledger.close(source)

    async def add_peer(
        self,
        peer_id: str,
        *,
        publish: bool,
        listener: PeerListener,
        max_bundle: bool = False,
        adaptive: bool = True,
    ) -> Peer:
        """Create the participant's peer connection and send its first offer (with every
        subscription in it when the client bundles everything, ``max_bundle``). Not
        ``adaptive``: every layer whatever its downlink says (an edge's relay: its viewers
        are fitted to their own downlinks at the edge)."""
        peer = await self._seat_peer(
            peer_id, publish=publish, listener=listener, max_bundle=max_bundle,
            on_first_forward=self._on_first_forward, adaptive=adaptive,
        )
        for source in self._ready_sources():
            if source.owner != peer_id:
                peer.subscribe(source)
        await peer.negotiate()
        return peer

    async def add_ingest(
        self, peer_id: str, offer_sdp: str, *, listener: PeerListener
    ) -> tuple[Peer, str]:
        """Add an ingest client (WHIP) that offered ``offer_sdp``; returns it and the answer.

        It publishes on this room's stage like any participant, and subscribes to nothing.
        Raises InvalidSdp (the peer is gone again then).
        """
        peer = await self._seat_peer(peer_id, publish=True, listener=listener, ingest=True)
        try:
            return peer, await peer.accept_offer(offer_sdp)
        except BaseException:
            await self.remove_peer(peer_id, reason="bad_offer", peer=peer)
            raise

    async def _seat_peer(
        self,
        peer_id: str,
        *,
        publish: bool,
        listener: PeerListener,
        max_bundle: bool = False,
        on_first_forward: FirstForwardCallback | None = None,
        adaptive: bool = True,
        ingest: bool = False,
    ) -> Peer:
        """A new Peer of this room, counted and registered (replacing an older connection
        of the same participant), with the room's loops running; not negotiated yet."""
        if self._closed:
            raise SFUError(f"media room {self.room_id} is closed")
        if peer_id in self.peers:
            # The same participant is back (a reload, a resumed connection, an encoder that
            # reconnected) before its old connection was torn down: the new one replaces it.
            await self.remove_peer(peer_id, reason="replaced", keep_room=True)
        peer = Peer(
            peer_id,
            publish=publish,
            listener=listener,
            max_bundle=max_bundle,
            config=self._config,
            on_source_ready=self._source_ready,
            on_failed=self._peer_failed,
            on_first_forward=on_first_forward,
            lane=self._sdp_lane,
            pacer=self._pacer,
            adaptive=adaptive,
            ingest=ingest,
        )
        for source in peer.sources.values():
            for ledger in self._ledgers:
                ledger.open(source)
        self.peers[peer_id] = peer
        self._start_loops()
        return peer

    def _start_loops(self) -> None:
        if self._on_active_speaker is not None and not self._speaker_loop_started:
            self._speaker_loop_started = True
            self._tasks.spawn(self._speaker_loop(self._on_active_speaker), name="speaker")
        if not self._adapt_loop_started:
            self._adapt_loop_started = True
            self._tasks.spawn(self._adapt_loop(), name="adapt")

    async def remove_peer(
        self, peer_id: str, *, reason: str, peer: Peer | None = None, keep_room: bool = False
    ) -> None:
        """Close the participant's peer connection and free its slots at the others' (idempotent).

        With ``peer``, only that connection goes: a newer one of the same participant stays.
        The room closes once empty, unless ``keep_room`` (a replacement is about to join).
        """
        current = self.peers.get(peer_id)
        if current is None or (peer is not None and current is not peer):
            if peer is not None:
                await self._close_peer(peer)
            return
        del self.peers[peer_id]
        peer = current
        self.speakers.forget(peer_id)
        logger.info("peer %s leaves media room %s: %s", peer_id, self.room_id, reason)
        await self._close_peer(peer)
        for other in list(self.peers.values()):
            if not other.closed and not other.ingest and other.unsubscribe(peer_id):
                await other.announce_slots()  # its m-lines stay for the next publisher
        if not self.peers and not keep_room:
            # Out of the registry, then closed, so its tasks (the speaker loop) end with it.
            self._on_empty(self)
            await self.close()

    async def _close_peer(self, peer: Peer) -> None:
        await peer.close()
        # Only now: until the connection is closed its sources still count packets.
        for source in peer.sources.values():
            for ledger in self._ledgers:
                ledger.close(source)

    # -- recording -------------------------------------------------------------------

    def start_recording(self, recording_id: str, directory: Path) -> Recording:
        """Record every publisher, present and future, until ``stop_recording`` (or the
        room closes). Raises RecordingConflict if one is running."""
        if self._closed:
            raise SFUError(f"media room {self.room_id} is closed")
        if self.recording is not None:
            raise RecordingConflict(f"room {self.room_id} is being recorded already")
        self.recording = Recording(self.room_id, recording_id, directory)
        for source in self._ready_sources():
            self.recording.add_source(source)
        logger.info("room %s: recording %s started", self.room_id, recording_id)
        return self.recording

    async def stop_recording(self) -> dict[str, Any]:
        """Stop the recording; its manifest. Raises RecordingConflict if none runs."""
        recording, self.recording = self.recording, None
        if recording is None:
            raise RecordingConflict(f"room {self.room_id} is not being recorded")
        return await recording.stop()

    def _source_ready(self, source: TrackSource) -> None:
        if self.recording is not None:
            self.recording.add_source(source)
        self._tasks.spawn(
            self._subscribe_all(source), name=f"subscribe:{source.owner}:{source.kind}"
        )

    async def _subscribe_all(self, source: TrackSource) -> None:
        for peer in list(self.peers.values()):
            eligible = (
                peer.id != source.owner and not peer.closed and not peer.ingest and source.ready
            )
            if eligible:
                await peer.apply(peer.subscribe(source))

    async def _speaker_loop(self, tell: SpeakerCallback) -> None:
        """Re-decide the active speaker from the latest RFC 6464 levels; tell on a change."""
        loop = asyncio.get_running_loop()
        told: str | None = None
        while True:
            await asyncio.sleep(SPEAKER_INTERVAL)
            now = loop.time()
            wall = time.monotonic()
            for peer in list(self.peers.values()):
                audio = peer.sources.get("audio")
                if audio is None:
                    continue
                said = audio.audio_level
                fresh = said is not None and wall - audio.audio_level_at < LEVEL_MAX_AGE
                level = said[1] if fresh and said is not None else None
                self.speakers.sample(peer.id, level, now)
            speaker = self.speakers.decide(now)
            if speaker != told:
                told = speaker
                try:
                    await tell(self.room_id, speaker)
                except Exception:
                    logger.exception("room %s: telling the active speaker failed", self.room_id)

    async def _adapt_loop(self) -> None:
        """Measure each video's layers, then fit every participant's videos to its downlink."""
        while True:
            await asyncio.sleep(ADAPT_INTERVAL)
            now = time.monotonic()
            for source in self._ready_sources():
                if source.kind == "video":
                    source.layer_rates.update(source.layer_bytes, now)
            for peer in list(self.peers.values()):
                if not peer.closed:
                    peer.adapt(now)

    def _peer_failed(self, peer: Peer, reason: str) -> None:
        self._tasks.spawn(self._drop_failed(peer, reason), name=f"failed:{peer.id}")

    async def _drop_failed(self, peer: Peer, reason: str) -> None:
        if self.peers.get(peer.id) is not peer:
            return
        await self.remove_peer(peer.id, reason=reason, peer=peer)
        await peer.listener.on_closed(peer.id, reason)

    def stats(self) -> dict[str, Any]:
        """Peers and active subscriptions now, and this room's traffic so far."""
        return {
            "peers": len(self.peers),
            "subscriptions": sum(p.active_subscriptions for p in self.peers.values()),
            **asdict(self.traffic.total()),
        }

    def traffic_by_track(self) -> dict[TrackKey, Traffic]:
        """This room's traffic per published track (tracks of departed peers too)."""
        return self.traffic.by_track()

    async def close(self) -> None:
        """Close every peer and background task (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.recording is not None:
            try:
                await self.stop_recording()
            except Exception:
                # The peers must close all the same; what was written so far stays.
                logger.exception("room %s: stopping its recording failed", self.room_id)
        await self._tasks.close()
        peers, self.peers = list(self.peers.values()), {}
        for peer in peers:
            await self._close_peer(peer)
