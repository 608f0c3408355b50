"""TrackSource keyframe requests with real aiortc peers over loopback (signaling bypassed).

A one-second throttle interval makes the windows wide enough to tell apart on a busy machine.
"""

from __future__ import annotations

import pytest
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    unpack_remb_fci,
)

from sfu import SFU, SFUConfig
from sfu.track_source import TrackSource
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import DirectParticipant

INTERVAL = 1.0


async def _room_of_two(sfu: SFU) -> tuple[DirectParticipant, DirectParticipant, TrackSource]:
    room = sfu.room("r1")
    a = DirectParticipant(ClientPeer("a", index=0))
    b = DirectParticipant(ClientPeer("b", index=1, publish=False))
    await a.join(room)
    await b.join(room, publish=False)
    await wait_for(lambda: b.client.video_from("a").frames >= 10, timeout=15)
    return a, b, room.peers["a"].sources["video"]


def _frames(b: DirectParticipant) -> int:
    return b.client.video_from("a").frames


async def test_request_after_the_interval_is_sent_at_once() -> None:
    """The throttle allows one PLI per interval: a request made after it goes out at once,
    not after twice the interval (a late joiner's first frame waited that long)."""
    sfu = SFU(SFUConfig(keyframe_request_interval=INTERVAL))
    a, b, source = await _room_of_two(sfu)
    try:
        source.request_keyframe()
        first = source.plis_sent + 1
        await wait_for(lambda: source.plis_sent >= first, timeout=2 * INTERVAL + 1)
        # 1.3 s of video later: past the interval, short of twice the interval.
        seen = _frames(b)
        await wait_for(lambda: _frames(b) >= seen + 39, timeout=10)
        source.request_keyframe()
        await wait_for(lambda: source.plis_sent > first, timeout=0.4)
    finally:
        await a.close()
        await b.close()
        await sfu.close()


async def test_request_answered_by_a_keyframe_sends_no_pli() -> None:
    """A request still waiting out the throttle is answered by the next keyframe that
    arrives; no PLI (and no second keyframe to every subscriber) follows it."""
    sfu = SFU(SFUConfig(keyframe_request_interval=INTERVAL))
    a, b, source = await _room_of_two(sfu)
    try:
        source.request_keyframe()
        first = source.plis_sent + 1
        await wait_for(lambda: source.plis_sent >= first, timeout=2 * INTERVAL + 1)
        seen = _frames(b)
        await wait_for(lambda: _frames(b) >= seen + 9, timeout=10)  # inside the interval
        source.request_keyframe()  # e.g. a subscriber's PLI: deferred by the throttle
        # The publisher's encoder makes a keyframe by itself (as encoders do periodically).
        sender = next(t.sender for t in a.client.pc.getTransceivers() if t.kind == "video")
        sender._send_keyframe()
        with pytest.raises(AssertionError):
            await wait_for(lambda: source.plis_sent > first, timeout=2 * INTERVAL + 0.6)
    finally:
        await a.close()
        await b.close()
        await sfu.close()


async def test_the_pacer_learns_a_sources_keyframe_size() -> None:
    """The room's keyframe pacer reserves what a keyframe costs to forward; the size it
    uses is counted off the source's real keyframes (a 160x120 one is a few packets, far
    from the guess made before any was seen)."""
    from sfu.keyframe import GUESSED_KEYFRAME_PACKETS

    sfu = SFU(SFUConfig(keyframe_request_interval=INTERVAL))
    a, b, source = await _room_of_two(sfu)
    try:
        await wait_for(lambda: source.keyframe_packets != GUESSED_KEYFRAME_PACKETS, timeout=5)
        assert 1 <= source.keyframe_packets <= 5
    finally:
        await a.close()
        await b.close()
        await sfu.close()


async def test_publisher_gets_remb_and_receiver_reports() -> None:
    """The SFU feeds aiortc's REMB estimator and receiver statistics itself (skipping the
    depayloading aiortc does for its decoder): the publisher still gets REMB estimates
    (PSFB FMT 15) and receiver reports about its video SSRC with the sequence advancing."""
    sfu = SFU(SFUConfig(keyframe_request_interval=INTERVAL))
    a, b, _ = await _room_of_two(sfu)
    seen: list[AnyRtcpPacket] = []
    try:
        sender = next(s for s in a.client.pc.getSenders() if s.track and s.track.kind == "video")
        original = sender._handle_rtcp_packet

        async def record(packet: AnyRtcpPacket) -> None:
            seen.append(packet)
            await original(packet)

        sender._handle_rtcp_packet = record  # type: ignore[method-assign]

        def rembs() -> list[tuple[int, list[int]]]:
            return [
                unpack_remb_fci(p.fci)
                for p in seen
                if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP
            ]

        def highest() -> list[int]:
            return [
                r.highest_sequence
                for p in seen
                if isinstance(p, RtcpRrPacket)
                for r in p.reports
                if r.ssrc == sender._ssrc
            ]

        await wait_for(lambda: len(rembs()) >= 1 and len(highest()) >= 2, timeout=15)
        bitrate, ssrcs = rembs()[-1]
        assert bitrate > 0 and sender._ssrc in ssrcs
        assert highest()[-1] > highest()[0]
    finally:
        await a.close()
        await b.close()
        await sfu.close()


class _Failing:
    """A value whose truth cannot be told: a copy reading it fails."""

    def __bool__(self) -> bool:
        raise RuntimeError("copy failed")


@pytest.mark.parametrize("compiled_fanout", [False, True])
async def test_a_failing_forwarder_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture, compiled_fanout: bool
) -> None:
    """One subscriber's copy failing (a bug, a socket error) costs that subscriber the packet,
    never the subscribers after it in the fan-out; the failure is logged once per forwarder,
    not once per packet. With the compiled fan-out, the copy fails in C (reading whether its
    sender is enabled raises)."""
    sfu = SFU(SFUConfig(keyframe_request_interval=INTERVAL, compiled_fanout=compiled_fanout))
    room = sfu.room("r1")
    a = DirectParticipant(ClientPeer("a", index=0))
    b = DirectParticipant(ClientPeer("b", index=1, publish=False))
    c = DirectParticipant(ClientPeer("c", index=2, publish=False))
    try:
        await a.join(room)
        await b.join(room, publish=False)
        await c.join(room, publish=False)
        source = room.peers["a"].sources["video"]
        await wait_for(lambda: len(source.forwarders) == 2, timeout=15)
        await wait_for(
            lambda: b.client.video_from("a").frames >= 5 and c.client.video_from("a").frames >= 5,
            timeout=15,
        )
        broken = source.forwarders[0]  # the first copy made: every later one depends on it
        calls = 0

        def fail(**_: object) -> bytes | None:
            nonlocal calls
            calls += 1
            raise RuntimeError("copy failed")

        if compiled_fanout:
            assert broken.fast_copies > 0  # steady-state copies went the compiled way
            broken._sender._enabled = _Failing()  # type: ignore[assignment]
        else:
            broken.forward = fail  # type: ignore[method-assign]
        in_c = any(s.forwarder is broken for s in room.peers["c"].subscriptions)
        healthy = b if in_c else c
        seen = healthy.client.video_from("a").frames
        await wait_for(lambda: healthy.client.video_from("a").frames >= seen + 20, timeout=10)
        failures = broken.attributed().copy_failures
        assert failures >= 20
        if not compiled_fanout:
            assert failures == calls
        logged = [r for r in caplog.records if "copy failed" in str(r.exc_info)]
        assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    finally:
        await a.close()
        await b.close()
        await c.close()
        await sfu.close()
