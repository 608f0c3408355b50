"""A publisher's lost packet is asked for again until repaired, or given up cleanly.

Real aiortc peers over loopback; the publisher's own transport drops chosen packets
(first transmission and, for the unrepairable case, every retransmission too).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket

from sfu.keyframe import is_vp8_keyframe_start
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import publisher_and_viewer, sfu_room

VP8, RTX = 97, 98  # the publish slot's payload types (aiortc's defaults)


def _drop_on_uplink(client: ClientPeer, *, retransmissions_lost: int) -> dict[str, Any]:
    """Drop the next VP8 packet the client sends, and its first N retransmissions."""
    transport: RTCDtlsTransport = client.pc.getTransceivers()[1].sender.transport
    original = transport._send_rtp
    state: dict[str, Any] = {"seq": None, "rtx_dropped": 0, "rtx_sent": 0}

    async def send(data: bytes) -> None:
        pt = data[1] & 0x7F
        if pt == VP8 and state["seq"] is None:
            state["seq"] = int.from_bytes(data[2:4], "big")
            return
        if pt == RTX and state["seq"] is not None:
            packet = RtpPacket.parse(data)
            if int.from_bytes(packet.payload[:2], "big") == state["seq"]:
                if state["rtx_dropped"] < retransmissions_lost:
                    state["rtx_dropped"] += 1
                    return
                state["rtx_sent"] += 1
        await original(data)

    transport._send_rtp = send  # type: ignore[method-assign]
    return state


async def test_a_lost_retransmission_is_asked_for_again() -> None:
    async with sfu_room() as (_, room), publisher_and_viewer(room) as (a, b):
        source = room.peers["a"].sources["video"]
        state = _drop_on_uplink(a.client, retransmissions_lost=2)
        frames = b.client.video_from("a").frames
        # aiortc alone asked once: the second and third asks bring the packet.
        await wait_for(lambda: state["rtx_sent"] >= 1, timeout=5)
        assert state["rtx_dropped"] == 2
        assert source.unrepaired == 0
        await asyncio.sleep(1)
        assert b.client.video_from("a").frames - frames >= 25  # never froze for long


async def test_an_unrepairable_hole_restarts_subscribers_at_a_fresh_keyframe() -> None:
    async with sfu_room() as (_, room), publisher_and_viewer(room) as (a, b):
        source = room.peers["a"].sources["video"]
        plis = source.plis_sent
        received: list[tuple[float, int, bool]] = []
        transport: RTCDtlsTransport = b.client.pc.getTransceivers()[0].receiver.transport
        original = transport._handle_rtp_data

        async def record(data: bytes, arrival_time_ms: int) -> None:
            if data[1] & 0x7F == VP8:  # the viewer's only video m-line keeps 97
                packet = RtpPacket.parse(data)
                start = is_vp8_keyframe_start(packet.payload)
                received.append((time.monotonic(), packet.sequence_number, start))
            await original(data, arrival_time_ms)

        transport._handle_rtp_data = record  # type: ignore[method-assign]
        state = _drop_on_uplink(a.client, retransmissions_lost=100)
        await wait_for(lambda: source.unrepaired >= 1, timeout=5)
        gave_up_at = time.monotonic()
        # Asked four times (RFC 4585 NACK), then a keyframe was requested (PLI).
        assert state["rtx_dropped"] >= 3
        await wait_for(lambda: source.plis_sent > plis, timeout=3)
        await wait_for(
            lambda: any(t > gave_up_at and start for t, _, start in received), timeout=5
        )
        k = next(i for i, (t, _, start) in enumerate(received) if t > gave_up_at and start)
        before = [seq for _, seq, _ in received[:k]]
        # The keyframe follows the last packet sent: nothing skipped shows as loss.
        assert (
            received[k][1] == (max(before, key=lambda s: (s - before[0]) % 65536) + 1) % 65536
        )
        # Nothing but packets already in flight came between giving up and the keyframe.
        assert sum(1 for t, _, _ in received[:k] if t > gave_up_at + 0.05) == 0
