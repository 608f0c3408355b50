"""VP8 frames put back together from RTP packets for recording: order, loss, keyframes."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.publisher_recording import Timeline
from sfu.vp8_depacketizer import REORDER_FRAMES, Vp8Depacketizer, Vp8Frame, keyframe_size
from sfu.vp8_layers import parse_vp8_descriptor

Packet = tuple[int, int, bool, bytes]  # seq, timestamp, marker, payload


def keyframe(width: int = 320, height: int = 180, size: int = 40) -> bytes:
    """A VP8 keyframe's first bytes (RFC 6386 §9.1): tag with P=0, start code, size."""
    tag = bytes((0x10, 0x02, 0x00))  # P bit (bit 0) clear: a key frame
    dims = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return tag + b"\x9d\x01\x2a" + dims + bytes(range(size))


def delta(n: int, size: int = 30) -> bytes:
    return bytes((0x11, 0x02, 0x00)) + bytes((n + i) % 256 for i in range(size))


def packetize(frame: bytes, *, seq: int, ts: int, pid: int, mtu: int = 12) -> list[Packet]:
    """RFC 7741 §4: descriptor X=1 (15-bit PictureID), S=1 on the first packet."""
    chunks = [frame[i : i + mtu] for i in range(0, len(frame), mtu)]
    out = []
    for i, chunk in enumerate(chunks):
        head = bytes((0x90 if i == 0 else 0x80, 0x80, 0x80 | (pid >> 8) & 0x7F, pid & 0xFF))
        out.append(((seq + i) & 0xFFFF, ts, i == len(chunks) - 1, head + chunk))
    return out


def stream(frames: list[bytes], *, seq: int = 100, ts: int = 5000) -> list[list[Packet]]:
    out = []
    for n, frame in enumerate(frames):
        packets = packetize(frame, seq=seq, ts=(ts + 3000 * n) & 0xFFFFFFFF, pid=n)
        seq += len(packets)
        out.append(packets)
    return out


def feed(depacketizer: Vp8Depacketizer, packets: list[Packet]) -> list[Vp8Frame]:
    out: list[Vp8Frame] = []
    for seq, ts, marker, payload in packets:
        desc = parse_vp8_descriptor(payload)
        assert desc is not None
        out += depacketizer.push(seq, ts, marker, payload, desc)
    return out


#: A keyframe, nine delta frames, a keyframe (index 10), three more.
FRAMES = [keyframe(), *(delta(n) for n in range(1, 10)), keyframe(), *(delta(n) for n in range(3))]


def test_frames_come_out_whole_and_in_order() -> None:
    d = Vp8Depacketizer()
    got = feed(d, [p for f in stream(FRAMES) for p in f])
    assert [f.data for f in got] == FRAMES
    assert [f.keyframe for f in got] == [f is FRAMES[0] or f is FRAMES[10] for f in FRAMES]
    assert [f.timestamp for f in got] == [5000 + 3000 * n for n in range(len(FRAMES))]
    assert not d.broken and d.dropped == 0


def test_nothing_comes_out_before_the_first_keyframe() -> None:
    d = Vp8Depacketizer()
    got = feed(d, [p for f in stream(FRAMES)[1:] for p in f])
    assert [f.data for f in got] == FRAMES[10:]
    assert d.dropped == 9


def test_a_lost_packet_drops_its_frame_and_the_rest_until_a_keyframe() -> None:
    d = Vp8Depacketizer()
    frames = stream(FRAMES)
    del frames[4][1]  # frame 4 loses its second packet for good
    got = feed(d, [p for f in frames for p in f])
    assert [f.data for f in got] == FRAMES[:4] + FRAMES[10:]
    assert not d.broken and d.dropped == 6


def test_broken_says_a_keyframe_is_needed_until_one_comes() -> None:
    d = Vp8Depacketizer()
    frames = stream(FRAMES[:10])
    del frames[2][0]
    feed(d, [p for f in frames for p in f])
    assert d.broken


def test_a_whole_lost_frame_breaks_the_stream_too() -> None:
    d = Vp8Depacketizer()
    frames = stream(FRAMES)
    del frames[3]
    got = feed(d, [p for f in frames for p in f])
    assert [f.data for f in got] == FRAMES[:3] + FRAMES[10:]


def test_a_late_retransmission_within_the_window_completes_its_frame() -> None:
    d = Vp8Depacketizer()
    frames = stream(FRAMES)
    late = frames[2].pop(1)
    packets = [p for f in frames[: 2 + REORDER_FRAMES - 1] for p in f]
    packets.append(late)  # the retransmission, a few frames later
    packets += [p for f in frames[2 + REORDER_FRAMES - 1 :] for p in f]
    got = feed(d, packets)
    assert [f.data for f in got] == FRAMES
    # Duplicates (a retransmission of a packet that did arrive) change nothing.
    assert feed(d, [late]) == []


@settings(max_examples=200)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.randoms(use_true_random=False))
def test_reordering_inside_frames_and_wrapping_numbers_lose_nothing(
    seq: int, ts: int, rnd: random.Random
) -> None:
    d = Vp8Depacketizer()
    packets = []
    for frame in stream(FRAMES, seq=seq, ts=ts):
        rnd.shuffle(frame)
        packets += frame
    assert [f.data for f in feed(d, packets)] == FRAMES


def test_keyframe_size_reads_the_frame_header() -> None:
    assert keyframe_size(keyframe(640, 360)) == (640, 360)
    assert keyframe_size(delta(1)) is None
    assert keyframe_size(b"\x10\x02") is None


def test_timeline_places_the_first_frame_at_its_arrival_and_follows_rtp_through_a_wrap() -> None:
    t = Timeline(90_000)
    assert t.pts(0xFFFFFF00, 0.5) == 45_000
    assert t.pts(0x00000100, 0.9) == 45_000 + 0x200  # wrapped; arrival jitter ignored
    assert t.pts(0xFFFFFF80, 1.0) == 45_000 + 0x80  # an older frame (reordered) goes back
