"""The direct ingress with real aiortc peers over loopback (signaling bypassed): RTP is
handled as it is read once the transport is up, RTCP still goes through aiortc, and no
packet overtakes one still waiting on aiortc's path or in the ingress's own backlog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from typing import Any

import pytest
from aiortc import RTCDtlsTransport
from aiortc.rtp import AnyRtcpPacket, RtcpPsfbPacket, RtpPacket

from sfu import SFU, SFUConfig, ingress
from sfu.track_source import TrackSource
from tests.helpers import wait_for
from tests.sfu.harness import DirectParticipant, publisher_and_viewer, sfu_room

VP8 = 97  # the publish slot's payload type (aiortc's default)


class _Room:
    def __init__(self, sfu: SFU, a: DirectParticipant, b: DirectParticipant) -> None:
        self.sfu, self.a, self.b = sfu, a, b
        peer = sfu.room("r1").peers["a"]
        self.source: TrackSource = peer.sources["video"]
        self.dtls: RTCDtlsTransport = peer.pc.getTransceivers()[0].receiver.transport


@pytest.fixture
async def room_of_two(request: pytest.FixtureRequest) -> AsyncIterator[_Room]:
    """Publisher a and viewer b, video flowing; the SFUConfig comes from the test's param."""
    async with (
        sfu_room(config=getattr(request, "param", SFUConfig())) as (sfu, room),
        publisher_and_viewer(room) as (a, b),
    ):
        yield _Room(sfu, a, b)


def _count_calls(owner: Any, name: str) -> list[int]:
    """Count calls of an async method of ``owner`` (an instance attribute wrapping it)."""
    calls = [0]
    original = getattr(owner, name)

    async def counted(*args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        await original(*args, **kwargs)

    setattr(owner, name, counted)
    return calls


def _record_video_seqs(source: TrackSource) -> list[int]:
    """Sequence numbers of the publisher's VP8 packets, in the order the source handles them."""
    seqs: list[int] = []
    original = source._on_packet

    def record(packet: RtpPacket) -> Any:
        if packet.payload_type == VP8:
            seqs.append(packet.sequence_number)
        return original(packet)

    source._on_packet = record  # type: ignore[method-assign]
    return seqs


def _in_order(seqs: list[int]) -> bool:
    return all((b - a) & 0xFFFF < 0x8000 and a != b for a, b in pairwise(seqs))


async def test_media_takes_the_direct_path_once_connected(room_of_two: _Room) -> None:
    room = room_of_two
    direct = room.source._ingress
    assert direct is not None
    await wait_for(lambda: direct.direct, timeout=5)
    via_aiortc = _count_calls(room.dtls, "_handle_rtp_data")
    handled, frames = direct.packets, room.b.client.video_from("a").frames
    await wait_for(lambda: room.b.client.video_from("a").frames >= frames + 20, timeout=10)
    assert direct.packets >= handled + 20
    assert via_aiortc[0] == 0


async def test_rtcp_still_reaches_aiortc(room_of_two: _Room) -> None:
    """The viewer's receiver reports and PLIs and the publisher's sender reports go through
    aiortc's RTCP handling (which the forwarder hooks), not the direct path."""
    room = room_of_two
    peer_b = room.sfu.room("r1").peers["b"]
    forwarder = peer_b.subscriptions[0].forwarder
    sender = next(t.sender for t in peer_b.pc.getTransceivers() if t.sender is forwarder._sender)
    seen: list[AnyRtcpPacket] = []
    original = sender._handle_rtcp_packet

    async def record(packet: AnyRtcpPacket) -> None:
        seen.append(packet)
        await original(packet)

    sender._handle_rtcp_packet = record  # type: ignore[method-assign]
    publisher_rtcp = _count_calls(room.dtls, "_handle_rtcp_data")
    plis = forwarder.plis_received
    receiver = next(
        t.receiver for t in room.b.client.pc.getTransceivers() if t.receiver.track.kind == "video"
    )
    await receiver._send_rtcp_pli(forwarder._sender._ssrc)
    await wait_for(lambda: forwarder.plis_received > plis, timeout=5)
    assert any(isinstance(p, RtcpPsfbPacket) for p in seen)
    await wait_for(lambda: publisher_rtcp[0] > 0, timeout=10)  # the publisher's SR


async def test_no_packet_overtakes_one_queued_on_aiortcs_path(room_of_two: _Room) -> None:
    """While aiortc's reader is stuck inside a packet with more queued behind it, RTP keeps
    going to its queue; the ingress takes over only once the reader has drained it."""
    room = room_of_two
    source = room.source
    assert source._ingress is not None
    await source._ingress.close()  # this test attaches its own, at a moment of its choosing
    receiver = source._receiver
    release = asyncio.Event()
    handle = receiver._handle_rtp_packet

    async def stuck(packet: RtpPacket, arrival_time_ms: int) -> None:
        await release.wait()
        await handle(packet, arrival_time_ms)

    seqs = _record_video_seqs(source)
    receiver._handle_rtp_packet = stuck  # type: ignore[method-assign]
    queue: asyncio.Queue[Any] = room.dtls.transport._connection._queue
    await wait_for(lambda: queue.qsize() >= 20, timeout=5)
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    direct = ingress.attach(room.dtls, receiver, source.receive_rtp)
    try:
        await asyncio.sleep(0.3)
        assert not direct.direct and direct.packets == 0  # still queueing behind the stuck one
        release.set()
        await wait_for(lambda: direct.packets >= 20 and len(seqs) >= 40, timeout=10)
        assert _in_order(seqs), seqs
    finally:
        release.set()
        await direct.close()


@pytest.mark.parametrize("room_of_two", [SFUConfig(direct_send=False)], indirect=True)
async def test_awaited_sends_keep_the_packet_order(room_of_two: _Room) -> None:
    """Sent through aiortc's coroutine path, every packet's send is left to the ingress's
    backlog task; those run in arrival order, and later packets wait behind them."""
    room = room_of_two
    direct = room.source._ingress
    assert direct is not None
    await wait_for(lambda: direct.direct, timeout=5)
    forwarder = room.sfu.room("r1").peers["b"].subscriptions[0].forwarder
    if forwarder.kind != "video":
        forwarder = room.sfu.room("r1").peers["b"].subscriptions[1].forwarder
    sent: list[int] = []
    send_slow: Callable[[bytes], Any] = forwarder.send_slow

    async def record(data: bytes) -> None:
        sent.append(int.from_bytes(data[2:4], "big"))
        await asyncio.sleep(0)  # a send that really suspends, as a congested one would
        await send_slow(data)

    forwarder.send_slow = record  # type: ignore[method-assign]
    handled = direct.packets
    await wait_for(lambda: len(sent) >= 60, timeout=10)
    assert direct.packets > handled
    assert _in_order(sent), sent


async def test_closing_the_peer_gives_the_socket_back(room_of_two: _Room) -> None:
    room = room_of_two
    direct = room.source._ingress
    assert direct is not None
    protocol = room.dtls.transport._connection._nominated[1].protocol
    assert "datagram_received" in vars(protocol)  # hooked on the instance
    await room.sfu.room("r1").peers["a"].close()
    assert direct.closed and room.dtls not in ingress._ingresses
    assert "datagram_received" not in vars(protocol)
