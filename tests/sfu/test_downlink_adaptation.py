"""The SFU reads each subscriber's REMB and fits its videos to it (real aiortc peers)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from sfu.layer_allocator import PAUSED
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import DirectParticipant, publisher_and_viewer, sfu_room


async def test_subscribers_report_their_downlink_with_remb() -> None:
    async with sfu_room() as (_, room), publisher_and_viewer(room, frames=5) as (_, b):
        assert b.peer is not None
        sdp = b.peer.pc.localDescription.sdp
        video = sdp[sdp.index("m=video") :]
        # What makes a receiver estimate and report (goog-remb over abs-send-time).
        assert "goog-remb" in video and "abs-send-time" in video
        # aiortc's receiver sends REMB about once a second.
        await wait_for(lambda: b.peer.downlink.bitrate(time.monotonic()), timeout=10)


async def test_a_short_downlink_pauses_the_smaller_tile_until_it_grows() -> None:
    async with sfu_room() as (_, room):
        big = DirectParticipant(ClientPeer("big", index=0))
        small = DirectParticipant(ClientPeer("small", index=1))
        viewer = DirectParticipant(ClientPeer("viewer", index=2, publish=False))
        remb = 0
        try:
            for p in (big, small):
                await p.join(room)
            await viewer.join(room, publish=False)
            v = viewer.client
            await wait_for(
                lambda: v.video_from("big").frames >= 5 and v.video_from("small").frames >= 5,
                timeout=15,
            )
            peer = viewer.peer
            assert peer is not None
            peer.set_hidden(frozenset(), {"big": 640 * 360, "small": 160 * 90})
            sources = {p.client.name: p.peer.sources["video"] for p in (big, small) if p.peer}
            # Measured at ingress (the synthetic video is flat colour: ~10 kbit/s).
            await wait_for(lambda: all(s.layer_rates.rates[0] > 2000 for s in sources.values()))

            async def report() -> None:
                # A receiver whose estimator says: one video fits, not two.
                while True:
                    for t in v.pc.getTransceivers():
                        t.receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
                    ssrcs = [s.transceiver.sender._ssrc for s in peer.subscriptions]
                    receiver = v.pc.getTransceivers()[0].receiver
                    fci = pack_remb_fci(remb, ssrcs)
                    packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=fci)
                    await receiver._send_rtcp(packet)
                    await asyncio.sleep(0.2)

            one_video = max(s.layer_rates.cumulative()[2] for s in sources.values())
            remb = 10_000_000
            task = asyncio.ensure_future(report())
            try:
                await asyncio.sleep(1.0)
                remb = int(1.6 * one_video)  # the estimate falls: the link queues
                # A video is paused once its base layer has not fitted for 4 s.
                await wait_for(lambda: peer._allocator.layers.get("small") == PAUSED, timeout=10)
                assert peer._allocator.layers["big"] == 2
                await asyncio.sleep(0.5)
                frames = v.video_from("small").frames, v.video_from("big").frames
                await asyncio.sleep(2)
                assert v.video_from("small").frames - frames[0] <= 2  # paused
                assert v.video_from("big").frames - frames[1] >= 20  # still flowing
                remb = 10_000_000
                await wait_for(lambda: v.video_from("small").frames > frames[0] + 10, timeout=10)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            for p in (big, small, viewer):
                await p.close()
