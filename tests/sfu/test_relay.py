"""An edge's relay of the stage (sfu.relay) between two SFUs in one process, over loopback.

The origin's MediaRoom has the publishers and one hidden receive-only relay peer; the edge's
MediaRoom has the viewers and a RelayIngest answering that peer. Real aiortc everywhere: the
viewers decode, and whose frames they get is checked by each publisher's luma.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sfu import SFU, MediaRoom, Offer, Peer, SFUConfig, Slot
from sfu.relay import RelayIngest, assigned_sources
from tests.helpers import wait_for
from tests.media import ClientPeer, luma_for
from tests.sfu.harness import DirectParticipant

RELAY_ID = "~relay:edge"


class RelayWire:
    """The signaling between the origin's relay peer and the edge's ingest, in process."""

    def __init__(self, ingest: RelayIngest) -> None:
        self.ingest = ingest
        self.peer: Peer | None = None
        self.attached = asyncio.Event()
        self._offers: asyncio.Queue[Offer] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._answers())

    async def on_offer(self, offer: Offer) -> None:
        await self._offers.put(offer)

    async def on_slots(self, slots: list[Slot]) -> None:
        self.ingest.set_slots(slots)

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        return None

    async def on_closed(self, peer_id: str, reason: str) -> None:
        return None

    async def _answers(self) -> None:
        while True:
            offer = await self._offers.get()
            sdp = await self.ingest.answer(offer.sdp, offer.slots)
            await self.attached.wait()  # the first offer comes before add_peer returns
            assert self.peer is not None
            await self.peer.set_answer(sdp)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])
        await self.ingest.close()


@dataclass
class Cluster:
    origin: MediaRoom
    edge: MediaRoom
    wire: RelayWire


@asynccontextmanager
async def cluster(config: SFUConfig | None = None) -> AsyncIterator[Cluster]:
    origin_sfu, edge_sfu = SFU(config), SFU(config)
    origin, edge = origin_sfu.room("live"), edge_sfu.room("live")
    wire = RelayWire(RelayIngest(edge))
    try:
        wire.peer = await origin.add_peer(RELAY_ID, publish=False, listener=wire, max_bundle=True,
                                          adaptive=False)
        wire.attached.set()
        yield Cluster(origin, edge, wire)
    finally:
        await wire.close()
        await edge_sfu.close()
        await origin_sfu.close()


async def send_pli(client: ClientPeer) -> None:
    """The viewer's video receiver asks for a keyframe (RFC 4585 §6.3.1), as a decoder does."""
    for transceiver in client.pc.getTransceivers():
        if transceiver.kind != "video":
            continue
        for source in transceiver.receiver.getSynchronizationSources():
            await transceiver.receiver._send_rtcp_pli(source.source)  # type: ignore[attr-defined]


def looks_like(received: list[float], index: int) -> bool:
    return bool(received) and abs(sum(received[-5:]) / len(received[-5:]) - luma_for(index)) < 12


def test_assigned_sources_follow_the_slot_map() -> None:
    sources = {"0": object(), "1": object(), "2": object()}
    slots = [Slot("0", "audio", "sendonly", "a"), Slot("1", "video", "sendonly", "a"),
             Slot("2", "video", "sendonly", None)]
    got = assigned_sources(slots, sources)  # type: ignore[arg-type]
    assert got == [("a", sources["0"]), ("a", sources["1"])]


async def test_edge_viewers_get_the_stage_through_one_relay() -> None:
    async with cluster() as c:
        host = DirectParticipant(ClientPeer("host", index=0))
        viewers = [DirectParticipant(ClientPeer(f"v{i}", publish=False)) for i in range(3)]
        try:
            await viewers[0].join(c.edge, publish=False)  # before the stage starts
            await host.join(c.origin)
            for v in viewers[1:]:
                await v.join(c.edge, publish=False)
            for v in viewers:
                await wait_for(lambda v=v: v.client.video_from("host").frames >= 10, timeout=20)
                assert looks_like(v.client.video_from("host").lumas, 0)
                await wait_for(lambda v=v: v.client.audio_from("host").frames >= 10, timeout=10)
            # One relay subscription per track at the origin, whatever the edge's audience.
            video = c.origin.peers["host"].sources["video"]
            assert len(video.forwarders) == 1
            relay = c.origin.peers[RELAY_ID]
            assert relay.active_subscriptions == 2
            # The relay is hidden from the edge's room: only its viewers are peers there.
            assert set(c.edge.peers) == {"v0", "v1", "v2"}
            assert c.wire.ingest.transport() == {"dtls": "connected", "srtp": "on"}
        finally:
            for p in (host, *viewers):
                await p.close()


async def test_keyframe_requests_reach_the_publisher_throttled() -> None:
    async with cluster(SFUConfig(keyframe_request_interval=0.5)) as c:
        host = DirectParticipant(ClientPeer("host", index=0))
        try:
            await host.join(c.origin)
            viewers = []
            for i in range(4):
                v = DirectParticipant(ClientPeer(f"v{i}", publish=False))
                await v.join(c.edge, publish=False)
                viewers.append(v)
            for v in viewers:
                await wait_for(lambda v=v: v.client.video_from("host").frames >= 5, timeout=20)
            origin_video = c.origin.peers["host"].sources["video"]
            edge_video = next(s for s in c.wire.ingest.sources.values() if s.kind == "video")
            # A storm of viewer PLIs at the edge: each asks the edge's source for a keyframe.
            plis_before, began = origin_video.plis_sent, time.monotonic()
            asked_before = edge_video.keyframe_requests
            for _ in range(20):
                for v in viewers:
                    await send_pli(v.client)
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - began
            await wait_for(lambda: edge_video.keyframe_requests > asked_before, timeout=5)
            sent = origin_video.plis_sent - plis_before
            # At most one PLI per throttle interval reaches the publisher (plus the one
            # that may be due right away), however many viewers ask.
            assert 1 <= sent <= elapsed / 0.5 + 2, (sent, elapsed)
        finally:
            for p in (host, *viewers):
                await p.close()


async def test_a_new_stage_member_takes_the_relayed_slots() -> None:
    async with cluster() as c:
        guest = DirectParticipant(ClientPeer("g1", index=1))
        viewer = DirectParticipant(ClientPeer("v", publish=False))
        nxt = DirectParticipant(ClientPeer("g2", index=2))
        try:
            await guest.join(c.origin)
            await viewer.join(c.edge, publish=False)
            await wait_for(lambda: viewer.client.video_from("g1").frames >= 10, timeout=20)
            assert looks_like(viewer.client.video_from("g1").lumas, 1)
            await c.origin.remove_peer("g1", reason="left")
            await guest.close()
            # The edge viewer's slot is freed (told by `slots`), then carries the next guest.
            await wait_for(lambda: all(
                s.get("source") != "g1" for s in viewer.client.slots.values()
            ), timeout=10)
            await nxt.join(c.origin)
            await wait_for(lambda: viewer.client.video_from("g2").frames >= 10, timeout=20)
            assert looks_like(viewer.client.video_from("g2").lumas, 2)
            relay = c.origin.peers[RELAY_ID]
            assert len(relay.subscriptions) == 2  # the relay's m-lines were reused
        finally:
            for p in (viewer, nxt):
                await p.close()


async def test_a_closed_relay_frees_the_viewers_slots() -> None:
    async with cluster() as c:
        host = DirectParticipant(ClientPeer("host", index=0))
        viewer = DirectParticipant(ClientPeer("v", publish=False))
        try:
            await host.join(c.origin)
            await viewer.join(c.edge, publish=False)
            await wait_for(lambda: viewer.client.video_from("host").frames >= 5, timeout=20)
            await c.wire.close()
            await wait_for(lambda: all(
                s.get("source") is None for s in viewer.client.slots.values()
            ), timeout=10)
            assert c.edge.peers["v"].active_subscriptions == 0
        finally:
            for p in (host, viewer):
                await p.close()
