"""Received SRTCP the short way (loadtest.lean_transport.rtcp_shortcut): what goes on to aiortc
is what aiortc acts on, judged the way aiortc's own parser sees the compound packet
(Hypothesis); and with real peers against a real ``coshop serve``, sender reports still reach
the receiver's reports and a viewer's keyframe request still reaches the publisher's track.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import aiohttp
from aiortc import rtp as aiortc_rtp
from hypothesis import given
from hypothesis import strategies as st

from loadtest.lean_transport import acted_on_by_aiortc
from loadtest.media import cached_video, encode_audio
from loadtest.peer import SyntheticPeer
from loadtest.presets import PRESETS
from tests.loadtest.conftest import Server, until

_SSRC = st.integers(0, 2**32 - 1)


def _sr(ssrc: int) -> bytes:
    info = aiortc_rtp.RtcpSenderInfo(ntp_timestamp=1 << 40, rtp_timestamp=9,
                                     packet_count=3, octet_count=300)
    return bytes(aiortc_rtp.RtcpSrPacket(ssrc=ssrc, sender_info=info))


def _rr(ssrc: int) -> bytes:
    block = aiortc_rtp.RtcpReceiverInfo(ssrc=ssrc ^ 1, fraction_lost=0, packets_lost=0,
                                        highest_sequence=5, jitter=0, lsr=0, dlsr=0)
    return bytes(aiortc_rtp.RtcpRrPacket(ssrc=ssrc, reports=[block]))


def _psfb(fmt: int) -> Callable[[int], bytes]:
    def make(ssrc: int) -> bytes:
        fci = aiortc_rtp.pack_remb_fci(300_000, [ssrc]) if fmt == 15 else b""
        return bytes(aiortc_rtp.RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=ssrc, fci=fci))
    return make


def _nack(ssrc: int) -> bytes:
    packet = aiortc_rtp.RtcpRtpfbPacket(fmt=aiortc_rtp.RTCP_RTPFB_NACK, ssrc=1, media_ssrc=ssrc)
    packet.lost = [7, 9]
    return bytes(packet)


def _bye(ssrc: int) -> bytes:
    return bytes(aiortc_rtp.RtcpByePacket(sources=[ssrc]))


def _sdes(ssrc: int) -> bytes:
    item = aiortc_rtp.RtcpSourceInfo(ssrc=ssrc, items=[(1, b"cname")])
    return bytes(aiortc_rtp.RtcpSdesPacket(chunks=[item]))


_KINDS = {"sr": _sr, "rr": _rr, "pli": _psfb(aiortc_rtp.RTCP_PSFB_PLI),
          "fir": _psfb(4), "remb": _psfb(aiortc_rtp.RTCP_PSFB_APP), "nack": _nack,
          "bye": _bye, "sdes": _sdes}


def _aiortc_acts_on(data: bytes) -> bool:
    """The reference: what aiortc's parser makes of it, and its router hands on."""
    return any(
        isinstance(p, aiortc_rtp.RtcpRtpfbPacket | aiortc_rtp.RtcpByePacket)
        or (isinstance(p, aiortc_rtp.RtcpPsfbPacket) and p.fmt != aiortc_rtp.RTCP_PSFB_APP)
        for p in aiortc_rtp.RtcpPacket.parse(data))


@given(st.lists(st.tuples(st.sampled_from(sorted(_KINDS)), _SSRC), min_size=1, max_size=6))
def test_only_what_aiortc_acts_on_goes_on_to_it(parts: list[tuple[str, int]]) -> None:
    data = b"".join(_KINDS[kind](ssrc) for kind, ssrc in parts)
    assert acted_on_by_aiortc(data) == _aiortc_acts_on(data)


def test_a_node_s_usual_rtcp_stays_out_of_aiortc() -> None:
    assert not acted_on_by_aiortc(_sr(5) + _sdes(5))
    assert not acted_on_by_aiortc(_rr(5) + _psfb(aiortc_rtp.RTCP_PSFB_APP)(5))
    assert acted_on_by_aiortc(_rr(5) + _psfb(aiortc_rtp.RTCP_PSFB_PLI)(5))
    assert acted_on_by_aiortc(_rr(5) + _nack(5))


async def test_feedback_still_reaches_the_publisher_and_reports_the_receiver(
    server: Server
) -> None:
    room = f"rtcp-{random.getrandbits(32):08x}"
    async with aiohttp.ClientSession() as http:
        publisher = SyntheticPeer(url=server.url, room=room, name="pub", index=1,
                                  video=cached_video(PRESETS["180p"]), audio=encode_audio(),
                                  session=http)
        viewer = SyntheticPeer(url=server.url, room=room, name="viewer", index=2, video=None,
                               audio=None, session=http)
        try:
            for peer in (publisher, viewer):
                await peer.start()
                await asyncio.wait_for(peer.joined.wait(), 20)
            routes = viewer.result.routes

            def video() -> list[tuple[str, int]]:  # (source, frames) of each video route
                return [(source, r.frames) for (source, kind), r in routes.items()
                        if kind == "video"]

            assert await until(lambda: any(frames > 30 for _, frames in video()), 20), routes
            ((source, _),) = video()
            # Sender reports, on the short way, reach the reception statistics (LSR).
            receptions = viewer._receiver._receptions
            assert await until(lambda: bool(receptions) and all(
                r.stats._last_sr is not None for r in receptions.values()), 15)
            # A keyframe request from the viewer, relayed by the node, reaches aiortc's sender
            # of the publisher and so its track (which sends a keyframe next).
            track = publisher._video_track
            assert track is not None
            video_ssrc = next(ssrc for ssrc, slot in viewer._receiver.ssrc_slots.items()
                              if slot.get("kind") == "video" and slot.get("source") == source)
            asked = track.keyframe_requests
            pli = aiortc_rtp.RtcpPsfbPacket(fmt=aiortc_rtp.RTCP_PSFB_PLI, ssrc=0x636F7368,
                                            media_ssrc=video_ssrc)
            assert viewer._receiver.send_rtcp(_rr(0x636F7368) + bytes(pli))
            assert await until(lambda: track.keyframe_requests > asked, 10)
        finally:
            for peer in (viewer, publisher):
                await peer.close()
