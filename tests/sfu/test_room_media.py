"""Joins, late joins, leaves, retransmissions and codecs through the SFU, over loopback."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport

from sfu.config import SFUConfig
from sfu.errors import InvalidSdp, NegotiationError
from sfu.peer import SubscriptionState
from tests.helpers import wait_for
from tests.media import ClientPeer, codec_caps, luma_for
from tests.sfu.harness import DirectParticipant, sfu_room


async def _join_all(room, *participants: DirectParticipant) -> None:
    for p in participants:
        await p.join(room)


async def test_late_joiner_gets_a_keyframe_fast() -> None:
    """Publishers only key-frame on PLI (REMB ignored), so this measures PLI forwarding."""
    async with sfu_room() as (_, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1))
        late = DirectParticipant(ClientPeer("late", index=2, publish=False))
        try:
            await _join_all(room, a, b)
            await wait_for(lambda: a.client.video_from("b").frames >= 10, timeout=15)
            await asyncio.sleep(3)  # long after both publishers' first keyframe
            joined_at = time.monotonic()
            await late.join(room, publish=False)
            await wait_for(
                lambda: (
                    late.client.video_from("a").frames > 0
                    and late.client.video_from("b").frames > 0
                ),
                timeout=5,
            )
            for source in ("a", "b"):
                first = late.client.video_from(source).first_frame_at
                assert first is not None and first - joined_at < 1.0, (source, first - joined_at)
            await wait_for(lambda: late.client.video_from("a").frames >= 10, timeout=5)
            assert abs(sum(late.client.video_from("a").lumas[-5:]) / 5 - luma_for(0)) < 12
        finally:
            for p in (a, b, late):
                await p.close()


async def test_leaving_stops_media_and_frees_everything() -> None:
    async with sfu_room() as (sfu, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1))
        c = DirectParticipant(ClientPeer("c", index=2))
        try:
            await _join_all(room, a, b, c)
            await wait_for(lambda: a.client.video_from("c").frames >= 10, timeout=15)
            await wait_for(lambda: b.client.video_from("c").frames >= 10, timeout=15)
            c_peer = room.peers["c"]
            c_sources = list(c_peer.sources.values())
            await room.remove_peer("c", reason="left")
            assert "c" not in room.peers
            assert c_peer.pc.connectionState == "closed"
            assert all(not s.forwarders for s in c_sources)
            for other in (room.peers["a"], room.peers["b"]):
                assert all(
                    s.source != "c" or s.state is not SubscriptionState.ACTIVE
                    for s in other.subscriptions
                )
                assert all(
                    sub.forwarder.source is None or sub.forwarder.source.owner != "c"
                    for sub in other.subscriptions
                )
            # Media from c stops at a; media between a and b carries on.
            await wait_for(
                lambda: all(
                    s.state is SubscriptionState.FREE
                    for s in room.peers["a"].subscriptions
                    if s.source is None
                ),
                timeout=5,
            )
            before = sum(a.client.packets.values())
            frames_c = a.client.video_from("c").frames
            frames_b = a.client.video_from("b").frames
            await asyncio.sleep(1.0)
            assert a.client.video_from("c").frames <= frames_c + 2  # in-flight frames only
            assert a.client.video_from("b").frames >= frames_b + 15
            assert sum(a.client.packets.values()) > before
            # Last one out closes the media room.
            await room.remove_peer("a", reason="left")
            await room.remove_peer("b", reason="left")
            assert sfu.get_room(room.room_id) is None
        finally:
            for p in (a, b, c):
                await p.close()


async def test_freed_slot_is_reused_for_the_next_publisher() -> None:
    async with sfu_room() as (_, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1))
        c = DirectParticipant(ClientPeer("c", index=2))
        try:
            await _join_all(room, a, b)
            await wait_for(lambda: a.client.video_from("b").frames >= 5, timeout=15)
            mids_before = {t.mid for t in room.peers["a"].pc.getTransceivers()}
            await room.remove_peer("b", reason="left")
            await wait_for(
                lambda: all(
                    s.state is SubscriptionState.FREE for s in room.peers["a"].subscriptions
                ),
                timeout=5,
            )
            await c.join(room)
            await wait_for(lambda: a.client.video_from("c").frames >= 10, timeout=15)
            mids_after = {t.mid for t in room.peers["a"].pc.getTransceivers()}
            assert mids_after == mids_before  # same m-lines, new source
            assert abs(sum(a.client.video_from("c").lumas[-5:]) / 5 - luma_for(2)) < 12
        finally:
            for p in (a, b, c):
                await p.close()


@pytest.mark.parametrize(
    "config",
    [SFUConfig(compiled_egress=True), SFUConfig(compiled_egress=False)],
    ids=["compiled-egress", "python-egress"],
)
async def test_subscriber_nacks_are_answered_with_rtx(config: SFUConfig) -> None:
    async with sfu_room(config=config) as (_, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1, publish=False))
        try:
            await a.join(room)
            await b.join(room, publish=False)
            await wait_for(lambda: b.client.video_from("a").frames >= 5, timeout=15)
            # Drop every 10th first transmission arriving at b (its downlink).
            transport: RTCDtlsTransport = b.client.pc.getTransceivers()[0].receiver.transport
            original = transport._handle_rtp_data
            seen = {"n": 0, "dropped": 0}

            async def lossy(data: bytes, arrival_time_ms: int) -> None:
                pt = data[1] & 0x7F
                if pt == 97:  # VP8 (not RTX)
                    seen["n"] += 1
                    if seen["n"] % 10 == 0:
                        seen["dropped"] += 1
                        return
                await original(data, arrival_time_ms)

            transport._handle_rtp_data = lossy  # type: ignore[method-assign]
            frames = b.client.video_from("a").frames
            await asyncio.sleep(3)
            sub = next(s for s in room.peers["b"].subscriptions if s.forwarder.kind == "video")
            assert seen["dropped"] > 5
            assert sub.forwarder.retransmissions >= seen["dropped"] * 0.8
            # Repaired by RTX, the stream keeps decoding at full rate.
            assert b.client.video_from("a").frames - frames >= 75
        finally:
            await a.close()
            await b.close()


async def test_sender_reports_are_truthful() -> None:
    async with sfu_room() as (_, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1, publish=False))
        try:
            await a.join(room)
            await b.join(room, publish=False)

            async def remote_sent() -> int:
                total = 0
                for t in b.client.pc.getTransceivers():
                    for s in (await t.receiver.getStats()).values():
                        if s.type == "remote-outbound-rtp":
                            total += s.packetsSent
                return total

            await wait_for(lambda: remote_sent(), timeout=10)
            reported = await remote_sent()
            forwarded = sum(s.forwarder.packets_sent for s in room.peers["b"].subscriptions)
            assert 0 < reported <= forwarded
        finally:
            await a.close()
            await b.close()


async def test_h264_publisher_is_forwarded_as_h264() -> None:
    async with sfu_room() as (_, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1, publish=False))
        original_answer = a.client.answer

        async def h264_only(sdp: str, slots: list[dict[str, object]]) -> str:
            await a.client.pc.setRemoteDescription(
                __import__("aiortc").RTCSessionDescription(sdp=sdp, type="offer")
            )
            for t in a.client.pc.getTransceivers():
                if t.kind == "video":
                    t.setCodecPreferences(codec_caps("video", "video/h264")[:1])
            return await original_answer(sdp, slots)

        a.client.answer = h264_only  # type: ignore[method-assign]
        try:
            await a.join(room)
            await b.join(room, publish=False)
            await wait_for(lambda: b.client.video_from("a").frames >= 10, timeout=15)
            video = room.peers["a"].sources["video"]
            assert video.codec is not None and video.codec.mimeType.lower() == "video/h264"
            sub = next(t for t in b.client.pc.getTransceivers() if t.kind == "video")
            assert sub.receiver._RTCRtpReceiver__codecs  # negotiated
            assert all(
                c.mimeType.lower() in ("video/h264", "video/rtx")
                for c in sub.receiver._RTCRtpReceiver__codecs.values()
            )
            assert abs(sum(b.client.video_from("a").lumas[-5:]) / 5 - luma_for(0)) < 12
        finally:
            await a.close()
            await b.close()


async def test_bad_answers_are_refused_and_the_peer_carries_on() -> None:
    async with sfu_room() as (_, room):
        client = ClientPeer("a", index=0)
        offers: list = []

        class Listener:
            async def on_offer(self, offer):  # type: ignore[no-untyped-def]
                offers.append(offer)

            async def on_slots(self, slots):  # type: ignore[no-untyped-def]
                pass

            async def on_track_published(self, peer_id, kind):  # type: ignore[no-untyped-def]
                pass

            async def on_closed(self, peer_id, reason):  # type: ignore[no-untyped-def]
                pass

        try:
            peer = await room.add_peer("a", publish=True, listener=Listener())
            assert len(offers) == 1
            with pytest.raises(InvalidSdp):
                await peer.set_answer("this is not sdp")
            with pytest.raises(InvalidSdp):
                await peer.set_answer("v=0\r\n")
            sdp = await client.answer(offers[0].sdp, [])
            await peer.set_answer(sdp)
            with pytest.raises(NegotiationError):
                await peer.set_answer(sdp)  # no offer pending any more
            await wait_for(lambda: room.peers["a"].sources["video"].ready, timeout=10)
        finally:
            await client.close()


async def test_ten_peer_room_everyone_receives_nine_and_nine() -> None:
    async with sfu_room() as (sfu, room):
        people = [DirectParticipant(ClientPeer(f"p{i}", index=i, decode=False)) for i in range(10)]
        try:
            for p in people:
                await p.join(room)

            def everyone_receives() -> bool:
                for p in people:
                    for other in people:
                        if other is p:
                            continue
                        if p.client.packets_from(other.client.name, "video") < 20:
                            return False
                        if p.client.packets_from(other.client.name, "audio") < 20:
                            return False
                return True

            await wait_for(everyone_receives, timeout=45)
            for p in people:
                kinds = [s["kind"] for s in p.client.slots.values() if s.get("source")]
                assert sorted(kinds) == ["audio"] * 9 + ["video"] * 9
            assert sfu.stats()["subscriptions"] == 180
        finally:
            for p in people:
                await p.close()


@pytest.mark.parametrize("max_bundle", [False, True])
async def test_a_max_bundle_joiner_gets_every_slot_in_the_first_offer(max_bundle: bool) -> None:
    """A client bundling everything (the browser client) is offered every subscription at
    once, a round trip sooner; any other publisher's first offer has only its publish slots
    (one m-line per kind), its subscriptions follow in the second.
    Either way it decodes everyone, each publisher's own picture in its own slot."""
    async with sfu_room() as (_, room):
        pubs = [DirectParticipant(ClientPeer(f"p{i}", index=i)) for i in range(3)]
        late = DirectParticipant(ClientPeer("late", index=3))
        try:
            await _join_all(room, *pubs)
            await wait_for(
                lambda: all(pubs[0].client.video_from(p.client.name).frames >= 5 for p in pubs[1:]),
                timeout=15,
            )
            first_offers: list[int] = []
            original = late.on_offer

            async def count_slots(offer):  # type: ignore[no-untyped-def]
                if not first_offers:
                    first_offers.append(sum(1 for s in offer.slots if s.source is not None))
                await original(offer)

            late.on_offer = count_slots  # type: ignore[method-assign]
            await late.join(room, max_bundle=max_bundle)
            await wait_for(
                lambda: all(late.client.video_from(p.client.name).frames >= 10 for p in pubs),
                timeout=10,
            )
            # Three publishers' audio and video: six subscriptions, or none yet.
            assert first_offers == [6 if max_bundle else 0]
            for i, p in enumerate(pubs):
                lumas = late.client.video_from(p.client.name).lumas[-5:]
                assert abs(sum(lumas) / len(lumas) - luma_for(i)) < 12, (p.client.name, lumas)
        finally:
            for p in (*pubs, late):
                await p.close()
