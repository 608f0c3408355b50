"""Keyframe detection on real encoder output and hand-built payloads, and throttling."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder

from sfu.keyframe import (
    KeyframeThrottle,
    is_h264_keyframe_start,
    is_vp8_keyframe_start,
    keyframe_detector,
)


def _frames(n: int) -> list[av.VideoFrame]:
    out = []
    for i in range(n):
        buf = np.random.default_rng(i).integers(0, 255, (240 * 3 // 2, 320), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        out.append(frame)
    return out


def test_vp8_encoder_output_is_classified() -> None:
    encoder = Vp8Encoder()
    frames = _frames(3)
    key, _ = encoder.encode(frames[0], force_keyframe=True)
    delta, _ = encoder.encode(frames[1])
    assert is_vp8_keyframe_start(key[0])
    assert not any(is_vp8_keyframe_start(p) for p in key[1:])  # continuation packets
    assert not any(is_vp8_keyframe_start(p) for p in delta)


def test_vp8_descriptor_variants() -> None:
    # X=0, S=1, PID=0, VP8 header P=0 -> key frame start.
    assert is_vp8_keyframe_start(bytes([0x10, 0x00]))
    # P=1 -> inter frame.
    assert not is_vp8_keyframe_start(bytes([0x10, 0x01]))
    # S=0 -> not the first packet of the partition.
    assert not is_vp8_keyframe_start(bytes([0x00, 0x00]))
    # X=1, I=1 with a 15-bit picture id (M=1), L=1, T=1 -> header after 5 bytes.
    assert is_vp8_keyframe_start(bytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x20, 0x00]))
    assert not is_vp8_keyframe_start(bytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x20, 0x01]))
    # 7-bit picture id.
    assert is_vp8_keyframe_start(bytes([0x90, 0x80, 0x05, 0x00]))
    # Truncated payloads are never keyframes.
    assert not is_vp8_keyframe_start(b"")
    assert not is_vp8_keyframe_start(bytes([0x90]))
    assert not is_vp8_keyframe_start(bytes([0x90, 0x80, 0x85]))


def test_h264_encoder_output_is_classified() -> None:
    encoder = H264Encoder()
    frames = _frames(3)
    key, _ = encoder.encode(frames[0], force_keyframe=True)
    delta, _ = encoder.encode(frames[1])
    assert is_h264_keyframe_start(key[0])
    assert not any(is_h264_keyframe_start(p) for p in delta)


def test_h264_packetizations() -> None:
    assert is_h264_keyframe_start(bytes([0x65, 0x88]))  # IDR slice
    assert is_h264_keyframe_start(bytes([0x67, 0x42]))  # SPS
    assert not is_h264_keyframe_start(bytes([0x41, 0x9A]))  # non-IDR slice
    stap = bytes([0x78]) + (2).to_bytes(2, "big") + bytes([0x67, 0x42])
    assert is_h264_keyframe_start(stap)
    stap_p = bytes([0x78]) + (2).to_bytes(2, "big") + bytes([0x41, 0x9A])
    assert not is_h264_keyframe_start(stap_p)
    assert is_h264_keyframe_start(bytes([0x7C, 0x85, 0x00]))  # FU-A start of IDR
    assert not is_h264_keyframe_start(bytes([0x7C, 0x05, 0x00]))  # FU-A continuation
    assert not is_h264_keyframe_start(b"")


def test_detector_lookup() -> None:
    assert keyframe_detector("vp8") is is_vp8_keyframe_start
    assert keyframe_detector("H264") is is_h264_keyframe_start
    assert keyframe_detector("opus") is None


def test_throttle_defers_but_never_drops() -> None:
    throttle = KeyframeThrottle(0.3)
    assert throttle.delay(10.0) == 0.0
    throttle.sent(10.0)
    assert abs(throttle.delay(10.1) - 0.2) < 1e-9
    assert throttle.delay(10.3) == 0.0


def test_pacer_spaces_requests_across_publishers() -> None:
    from sfu.keyframe import KeyframePacer

    pacer = KeyframePacer(0.04)
    waits = [pacer.reserve(10.0) for _ in range(4)]  # four publishers asked at once
    assert waits == pytest.approx([0.0, 0.04, 0.08, 0.12])
    assert pacer.reserve(11.0) == 0.0  # long after: no wait


def test_pacer_reserves_what_each_keyframe_costs_to_forward() -> None:
    from sfu.fanout_timing import FanoutTiming
    from sfu.keyframe import KeyframePacer

    pacer = KeyframePacer(0.002, timing=FanoutTiming(send_cost=25e-6))
    # A 360p keyframe of 20 packets to 9 subscribers: 180 sends, 4.5 ms of forwarding.
    assert pacer.reserve(10.0, 180) == 0.0
    assert pacer.reserve(10.0, 180) == pytest.approx(0.0045)
    # Tiny keyframes (3 packets): the floor spacing, not the big one's cost.
    assert pacer.reserve(10.0, 27) == pytest.approx(0.009)
    assert pacer.reserve(10.0, 27) == pytest.approx(0.011)


def test_keyframe_size_counts_the_packets_up_to_the_marker() -> None:
    from sfu.keyframe import GUESSED_KEYFRAME_PACKETS, KeyframeSize

    size = KeyframeSize()
    assert size.packets == GUESSED_KEYFRAME_PACKETS
    size.started(1000, marker=False)
    for _ in range(5):
        size.packet(1000, marker=False)
    size.packet(1000, marker=True)
    assert size.packets == 7 and not size.counting
    size.started(4000, marker=True)  # a one-packet keyframe
    assert size.packets == 1 and not size.counting
    # A keyframe whose last packet was lost: the next frame ends the count, size kept.
    size.started(7000, marker=False)
    size.packet(7000, marker=False)
    size.packet(10000, marker=True)
    assert size.packets == 1 and not size.counting


def test_fanout_timing_learns_the_cost_of_a_copy() -> None:
    from sfu.fanout_timing import BUCKETS, INITIAL_SEND_COST, FanoutTiming

    timing = FanoutTiming()
    assert timing.send_cost == INITIAL_SEND_COST
    for _ in range(3000):  # 9 copies in 90 us: 10 us a copy
        timing.observe(90e-6, 9)
    assert timing.send_cost == pytest.approx(10e-6, rel=0.01)
    timing.observe(0.5, 9)  # one preempted fan-out barely moves it
    assert timing.send_cost < 11e-6
    timing.observe(1e-6, 0)  # nothing sent: no figure
    assert timing.count == 3001
    cumulative = timing.cumulative()
    assert cumulative[-1] == (float("inf"), 3001)
    assert dict(cumulative)[100e-6] == 3000  # 90 us falls in the 100 us bucket
    assert dict(cumulative)[50e-6] == 0
    assert len(cumulative) == len(BUCKETS) + 1
    assert timing.total == pytest.approx(3000 * 90e-6 + 0.5)


def test_pacer_spacing_follows_the_measured_send_cost() -> None:
    from sfu.fanout_timing import FanoutTiming
    from sfu.keyframe import KeyframePacer

    timing = FanoutTiming()
    pacer = KeyframePacer(0.002, timing=timing)
    # An 80-packet keyframe to 10 subscribers at the starting guess of 25 us: 20 ms.
    assert pacer.reserve(10.0, 800) == 0.0
    assert pacer.reserve(10.0, 800) == pytest.approx(0.020)
    for _ in range(3000):
        timing.observe(100e-6, 10)  # this machine forwards a copy in 10 us
    assert pacer.reserve(20.0, 800) == 0.0
    assert pacer.reserve(20.0, 800) == pytest.approx(0.008, rel=0.02)
