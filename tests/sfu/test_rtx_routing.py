"""RTX reaches the right receiver when one subscriber gets several videos over one bundle.

aiortc's RTP router registers only each m-line's primary SSRC and routes unknown SSRCs by
payload type, so RTX is routable only if its payload type is unique in the bundle
(RFC 8843 §9.2). The subscriber here is a real aiortc peer; its downlink drops every
tenth first transmission, so every repair must come back as RTX (RFC 4588).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiortc import sdp as aiortc_sdp
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket

from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import DirectParticipant, sfu_room


@dataclass(frozen=True)
class VideoLine:
    mid: str
    pt: int
    rtx_pt: int
    ssrc: int
    rtx_ssrc: int


def video_lines(sdp: str) -> dict[str, VideoLine]:
    """Each sending video m-line of an offer: its codec and RTX payload types and SSRCs."""
    out: dict[str, VideoLine] = {}
    for media in aiortc_sdp.SessionDescription.parse(sdp).media:
        if media.kind != "video" or media.direction != "sendonly" or not media.ssrc_group:
            continue
        codec = next(c for c in media.rtp.codecs if not is_rtx(c))
        rtx = next(c for c in media.rtp.codecs if is_rtx(c))
        ssrc, rtx_ssrc = media.ssrc_group[0].items
        assert media.rtp.muxId is not None and codec.payloadType and rtx.payloadType
        out[media.rtp.muxId] = VideoLine(
            media.rtp.muxId, codec.payloadType, rtx.payloadType, int(ssrc), int(rtx_ssrc)
        )
    return out


async def test_rtx_is_routed_to_its_receiver_with_three_videos_in_one_bundle() -> None:
    async with sfu_room() as (_, room):
        publishers = [DirectParticipant(ClientPeer(f"p{i}", index=i)) for i in range(3)]
        viewer = DirectParticipant(ClientPeer("viewer", index=3, publish=False))
        try:
            for p in publishers:
                await p.join(room)
            await viewer.join(room, publish=False)
            await wait_for(
                lambda: all(viewer.client.video_from(f"p{i}").frames >= 5 for i in range(3)),
                timeout=20,
            )
            pc = viewer.client.pc
            lines = video_lines(pc.remoteDescription.sdp)
            assert len(lines) == 3
            # Every m-line's payload types are its own within the bundle (RFC 8843 §9.1).
            pts = [pt for line in lines.values() for pt in (line.pt, line.rtx_pt)]
            assert len(pts) == len(set(pts)), lines

            routed: Counter[str] = Counter()
            misrouted: list[tuple[str, int, int]] = []
            for transceiver in pc.getTransceivers():
                line = lines.get(transceiver.mid or "")
                if line is None:
                    continue
                receiver = transceiver.receiver
                original = receiver._handle_rtp_packet

                async def count(
                    packet: RtpPacket,
                    arrival_time_ms: int,
                    line: VideoLine = line,
                    original: Any = original,
                ) -> None:
                    if packet.ssrc == line.rtx_ssrc and packet.payload_type == line.rtx_pt:
                        routed[line.mid] += 1
                    elif packet.ssrc != line.ssrc:
                        misrouted.append((line.mid, packet.ssrc, packet.payload_type))
                    await original(packet, arrival_time_ms)

                receiver._handle_rtp_packet = count  # type: ignore[method-assign]

            # Drop every tenth first transmission of each video on the viewer's downlink.
            transport: RTCDtlsTransport = pc.getTransceivers()[0].receiver.transport
            original_data = transport._handle_rtp_data
            media_pts = {line.pt for line in lines.values()}
            seen: Counter[int] = Counter()
            dropped: Counter[int] = Counter()

            async def lossy(data: bytes, arrival_time_ms: int) -> None:
                pt = data[1] & 0x7F
                if pt in media_pts:
                    seen[pt] += 1
                    if seen[pt] % 10 == 0:
                        dropped[pt] += 1
                        return
                await original_data(data, arrival_time_ms)

            transport._handle_rtp_data = lossy  # type: ignore[method-assign]
            before = {i: viewer.client.video_from(f"p{i}").frames for i in range(3)}
            await asyncio.sleep(4)
            assert not misrouted, misrouted[:5]
            for line in lines.values():
                assert dropped[line.pt] >= 5, (line, dropped)
                # Nearly every dropped packet came back on this m-line's own RTX stream.
                assert routed[line.mid] >= 0.8 * dropped[line.pt], (line, routed, dropped)
            for i in range(3):
                # Repaired by RTX, each video keeps decoding at close to 30 fps.
                assert viewer.client.video_from(f"p{i}").frames - before[i] >= 90, i
        finally:
            for p in (*publishers, viewer):
                await p.close()
