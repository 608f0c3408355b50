"""Replay tracks: paced, pausable without a catch-up burst, and a blocked video keeps numbering
its frames so receivers see the gap as loss."""

from __future__ import annotations

import asyncio
import time
from unittest import mock

import pytest
from aiortc import clock
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from loadtest.lean_sender import ntp_now
from loadtest.media import EncodedLoop
from loadtest.metrics import LiveTally, RouteStats
from loadtest.peer import ReplayAudioTrack, ReplayVideoTrack
from loadtest.stamp import Stamp, append_stamp, read_stamp, stamp_padding

LOOP = EncodedLoop(keyframe=b"K" * 20, deltas=tuple(bytes([i]) * 20 for i in range(10)), fps=100)


async def frame_numbers(track: ReplayVideoTrack, count: int) -> list[int]:
    out = []
    for _ in range(count):
        stamp = read_stamp(bytes(await track.recv()))
        assert stamp is not None and stamp.publisher == 7
        out.append(stamp.frame)
    return out


async def test_frames_are_stamped_and_paced() -> None:
    track = ReplayVideoTrack(LOOP, publisher=7)
    started = time.monotonic()
    assert await frame_numbers(track, 10) == list(range(10))
    assert time.monotonic() - started >= 0.085  # 9 frame periods of 10 ms
    assert track.frames_sent == 10


async def test_a_blocked_video_skips_frame_numbers() -> None:
    track = ReplayVideoTrack(LOOP, publisher=7)
    await frame_numbers(track, 2)
    track.block(0.05)
    numbers = await frame_numbers(track, 2)
    assert numbers[0] >= 5  # about five 10 ms frames went nowhere
    assert numbers[1] == numbers[0] + 1


async def test_pause_resumes_without_a_burst() -> None:
    track = ReplayAudioTrack(tuple(b"x" for _ in range(5)))
    await track.recv()
    track.pause()
    paused = time.monotonic()
    track.resume()
    await track.recv()  # due one period after the previous packet: no backlog to catch up
    start = time.monotonic()
    for _ in range(3):
        await track.recv()
    assert time.monotonic() - start >= 0.055
    assert time.monotonic() - paused < 1


def test_route_stats_feed_the_live_tally() -> None:
    tally = LiveTally()
    r = RouteStats("video", keep_samples=False, tally=tally)
    for i, n in enumerate((0, 1, 4)):
        now = 10.0 + n / 30
        r.on_packet(seq=i, timestamp=n * 3000, clock_rate=90000, size=500, marker=True,
                    stamp=Stamp(1, n, int((now - 0.003) * 1e6)), now=now)
    assert (r.lost_frames, tally.lost_frames, tally.bytes, r.latencies_ms) == (2, 2, 1500, [])
    assert r.last_frame == 4
    taken = tally.take_latency()
    assert taken.n == 3 and taken.percentile(50) == pytest.approx(3.0, rel=0.02)
    assert tally.latency.n == 0


async def test_the_loop_goes_round_its_deltas_and_keyframes_only_on_request() -> None:
    loop = EncodedLoop(keyframe=b"K" * 9, deltas=(b"p" * 9, b"q" * 9, b"w" * 9), fps=200)
    track = ReplayVideoTrack(loop, publisher=1)
    payloads = [bytes(await track.recv())[:1] for _ in range(7)]
    assert payloads == [b"K", b"p", b"q", b"w", b"p", b"q", b"w"]
    track.request_keyframe()
    # The keyframe comes in place of the next frame; the loop goes on where it was.
    assert [bytes(await track.recv())[:1] for _ in range(3)] == [b"K", b"p", b"q"]
    assert (track.keyframe_requests, track.keyframes_sent) == (1, 2)


@pytest.mark.parametrize("size", [1, 1277, 1278, 1290, 1296, 2592 - 18, 2592 - 5, 200_000])
def test_the_stamp_always_travels_whole_in_the_last_packet(size: int) -> None:
    chunk = 1296
    pad = stamp_padding(size, (chunk,))
    framed = append_stamp(bytes(size + pad), Stamp(3, 9, 1))
    last = framed[(len(framed) - 1) // chunk * chunk:]  # what the packetizer puts last
    assert read_stamp(last) == Stamp(3, 9, 1)


async def test_packetized_frames_carry_their_stamp_in_the_marker_packet() -> None:
    from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

    loop = EncodedLoop(keyframe=bytes(1296 - 10),
                       deltas=(bytes(2 * 1296 - 10), bytes(3 * 1296 - 10)), fps=200)
    track = ReplayVideoTrack(loop, publisher=2)
    encoder = Vp8Encoder()
    for n in range(3):
        payloads, _ = encoder.pack(await track.recv())
        stamp = read_stamp(vp8_depayload(payloads[-1]))  # 8 bytes short of whole, unpadded
        assert stamp is not None and (stamp.publisher, stamp.frame) == (2, n)


def test_frames_of_another_publisher_on_a_reused_slot_are_not_loss() -> None:
    r = RouteStats("video", keep_samples=False)
    for i, (publisher, n) in enumerate(((1, 10), (1, 11), (2, 5000), (2, 5001), (2, 5003))):
        r.on_packet(seq=i, timestamp=i * 3000, clock_rate=90000, size=500, marker=True,
                    stamp=Stamp(publisher, n, int(10e6)), now=10.0 + i / 30)
    assert (r.frames, r.lost_frames, r.last_frame) == (5, 1, 5003)


async def test_a_new_connection_takes_a_track_without_a_catch_up_burst() -> None:
    track = ReplayVideoTrack(LOOP, publisher=7)
    await frame_numbers(track, 2)
    await asyncio.sleep(0.1)  # ten frame periods with no sender (the room moved elsewhere)
    track.restart_clock()
    start = time.monotonic()
    assert await frame_numbers(track, 4) == [2, 3, 4, 5]  # numbering goes on
    assert time.monotonic() - start >= 0.025  # paced from now: not four frames at once


def test_a_route_on_a_new_connection_restarts_its_sequence_numbers_not_its_frames() -> None:
    r = RouteStats("video", keep_samples=False)
    for i in range(3):
        r.on_packet(seq=40000 + i, timestamp=i * 3000, clock_rate=90000, size=500, marker=True,
                    stamp=Stamp(1, i, int(10e6)), now=10.0 + i / 30)
    r.new_stream()  # the node we were on drained: the same track arrives from another one
    for i, n in enumerate((5, 6)):
        r.on_packet(seq=100 + i, timestamp=777 + i * 3000, clock_rate=90000, size=500,
                    marker=True, stamp=Stamp(1, n, int(11e6)), now=11.0 + i / 30)
    assert (r.lost_packets, r.frames, r.lost_frames) == (0, 5, 2)


BIG_LOOP = EncodedLoop(keyframe=b"\x10" * 2500, deltas=tuple(bytes([i]) * 1300 for i in range(4)),
                       fps=100)


async def test_next_encoded_is_what_aiortc_packs_from_recv() -> None:
    """The lean send loop's frames (``next_encoded``, no PyAV packet) are those aiortc's
    encoders make of ``recv``'s packets: payloads, VP8 picture ids, RTP timestamps."""
    vp8, opus = Vp8Encoder(), OpusEncoder()
    video_a, video_b = ReplayVideoTrack(BIG_LOOP, 3), ReplayVideoTrack(BIG_LOOP, 3)
    video_b._picture_id = vp8.picture_id
    audio_a = ReplayAudioTrack(tuple(bytes([i]) * (40 + i) for i in range(3)))
    audio_b = ReplayAudioTrack(audio_a._packets)
    # The stamps' send times, alike on both (time.monotonic, the pacing, is left alone).
    with mock.patch("loadtest.peer.time.time", lambda: 1_700_000_000.25):
        for n in range(9):
            if n == 4:
                video_a.request_keyframe()
                video_b.request_keyframe()
            expected = vp8.pack(await video_a.recv())
            got = await video_b.next_encoded()
            assert (got.payloads, got.timestamp, got.audio_level) == (*expected, None), n
            expected = opus.pack(await audio_a.recv())
            got = await audio_b.next_encoded()
            assert (got.payloads, got.timestamp, got.audio_level) == (*expected, None), n
    assert video_b.keyframes_sent == 2 and len(got.payloads) == 1


def test_ntp_now_is_aiortcs_clock() -> None:
    before = clock.current_ntp_time()
    now = ntp_now()
    after = clock.current_ntp_time()
    ms = (1 << 32) // 1000
    assert before - ms <= now <= after + ms


async def test_take_due_hands_out_what_next_encoded_would_at_each_tick() -> None:
    """The worker clock's way (``take_due`` at ticks) and the per-frame way (``next_encoded``)
    give the same frames in the same order; a late tick catches up, a pause hands out nothing
    and resumes without a burst, a blocked video uses up frame numbers."""
    a, b = ReplayVideoTrack(BIG_LOOP, 3), ReplayVideoTrack(BIG_LOOP, 3)
    b._picture_id = a._picture_id
    with mock.patch("loadtest.peer.time.time", lambda: 1_700_000_000.25):
        expected = [await a.next_encoded() for _ in range(6)]
        start = time.monotonic()
        got = b.take_due(start)  # the first frame is due at once
        got += b.take_due(start + 0.004)  # nothing new before the next 10 ms
        got += b.take_due(start + 0.0501)  # a late tick: the 5 frames it missed
        assert [(f.payloads, f.timestamp) for f in got] == [
            (f.payloads, f.timestamp) for f in expected]
        b.pause()
        assert b.take_due(start + 1.0) == []
        b.resume()
        (resumed,) = b.take_due(start + 2.0)  # one frame: no catch-up for the pause
        assert resumed.timestamp == 6 * b._step
        b.block(0.05)
        assert b.take_due(start + 2.0101) == []  # due, blocked: the number goes, no frame
        assert b.frames_sent == 8
    audio = ReplayAudioTrack(tuple(bytes([i]) * 30 for i in range(3)))
    now = time.monotonic()
    frames = audio.take_due(now) + audio.take_due(now + 0.0401)
    assert [(f.payloads, f.timestamp) for f in frames] == [
        ([bytes([i]) * 30], i * 960) for i in range(3)]
