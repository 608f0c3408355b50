"""Sequence/timestamp rewriting: continuity, wrap-around, keyframe gating, switching."""

from __future__ import annotations

from sfu.stream_rewriter import StreamRewriter


def test_video_waits_for_keyframe_then_maps_with_fixed_offsets() -> None:
    rw = StreamRewriter(first_seq=100, first_ts=5000, ts_step=3000, video=True)
    assert rw.waiting_for_keyframe()
    assert rw.rewrite(7, 90, keyframe_start=False) is None
    assert rw.rewrite(8, 90, keyframe_start=True) == (100, 5000)
    assert not rw.waiting_for_keyframe()
    assert rw.rewrite(9, 90, keyframe_start=False) == (101, 5000)
    # A gap upstream stays a gap downstream, so NACKs name the right packets.
    assert rw.rewrite(12, 3090, keyframe_start=False) == (104, 8000)
    # A late (reordered or retransmitted) packet keeps its own place.
    assert rw.rewrite(10, 90, keyframe_start=False) == (102, 5000)


def test_packets_before_the_start_are_dropped() -> None:
    rw = StreamRewriter(first_seq=0, first_ts=0, ts_step=960, video=False)
    assert rw.rewrite(500, 1000, keyframe_start=False) == (0, 0)
    assert rw.rewrite(499, 40, keyframe_start=False) is None
    assert rw.rewrite(501, 1960, keyframe_start=False) == (1, 960)


def test_wraparound_of_both_counters() -> None:
    rw = StreamRewriter(first_seq=65534, first_ts=2**32 - 10, ts_step=960, video=False)
    assert rw.rewrite(10, 0, keyframe_start=False) == (65534, 2**32 - 10)
    assert rw.rewrite(11, 960, keyframe_start=False) == (65535, 950)
    assert rw.rewrite(12, 1920, keyframe_start=False) == (0, 1910)
    # Far beyond half the sequence space, in steps, still forwarded.
    seq = 12
    for _ in range(5):
        seq = (seq + 20000) % 65536
        assert rw.rewrite(seq, 0, keyframe_start=False) is not None


def test_switching_source_continues_numbering() -> None:
    rw = StreamRewriter(first_seq=10, first_ts=1000, ts_step=3000, video=True)
    rw.rewrite(400, 7777, keyframe_start=True)
    rw.rewrite(401, 10777, keyframe_start=False)
    assert (rw.last_seq, rw.last_ts) == (11, 4000)
    rw.switch_source(video=True)
    assert rw.waiting_for_keyframe()
    assert rw.rewrite(9000, 123, keyframe_start=False) is None
    assert rw.rewrite(9001, 456, keyframe_start=True) == (12, 7000)


def test_restart_at_keyframe_skips_to_the_keyframe_without_a_gap() -> None:
    r = StreamRewriter(first_seq=1000, first_ts=0, ts_step=3000, video=True)
    assert r.rewrite(50, 9000, True) == (1000, 0)
    assert r.rewrite(51, 12000, False) == (1001, 3000)
    r.restart_at_keyframe()
    assert r.waiting_for_keyframe()
    assert r.rewrite(53, 15000, False) is None  # depends on the lost packet 52
    assert r.rewrite(52, 15000, False) is None  # a late repair of the old stream too
    # The keyframe follows the last packet sent; timestamps keep the source's offset.
    assert r.rewrite(60, 24000, True) == (1002, 15000)
    assert r.rewrite(61, 27000, False) == (1003, 18000)


def test_restart_before_start_changes_nothing() -> None:
    r = StreamRewriter(first_seq=10, first_ts=0, ts_step=3000, video=True)
    r.restart_at_keyframe()
    assert r.rewrite(5, 100, True) == (10, 0)


def test_forwarded_since_tells_whether_a_source_packet_belongs_to_this_run() -> None:
    r = StreamRewriter(first_seq=0, first_ts=0, ts_step=3000, video=True)
    assert not r.forwarded_since(10)
    r.rewrite(10, 0, True)
    r.rewrite(12, 3000, False)
    assert r.forwarded_since(11)  # a hole after the start: this subscriber has it
    assert r.forwarded_since(20)  # not seen yet
    assert not r.forwarded_since(9)  # before this subscriber started
