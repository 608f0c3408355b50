"""UpstreamRepair: NACK at once, NACK again about once per RTT, then give up; a hole after a
silence is given up at once."""

from __future__ import annotations

import pytest

from sfu.upstream_repair import Gaps, UpstreamRepair


def test_a_gap_is_asked_at_once_and_a_repair_ends_it() -> None:
    r = UpstreamRepair()
    assert r.received(10, 0.0).nack == []
    assert r.received(13, 0.01).nack == [11, 12]
    assert r.missing == 2
    assert r.received(12, 0.05).nack == []  # repaired by RTX
    assert r.missing == 1 and r.repaired == 1


def test_asks_again_once_per_interval_then_gives_up() -> None:
    r = UpstreamRepair(max_asks=4, initial_rtt=0.1)
    r.received(1, 0.0)
    assert r.received(3, 0.0).nack == [2]
    interval = r.interval + 1e-6
    assert r.poll(interval / 2) == ([], [])  # an RTT has not passed yet
    t = 0.0
    for _ in range(3):  # three re-asks, each after another interval
        t += interval
        assert r.poll(t) == ([2], [])
    t += interval
    assert r.poll(t) == ([], [2])
    assert r.missing == 0 and r.given_up == 1 and r.asked == 4
    assert r.next_deadline() is None


def test_next_deadline_is_the_oldest_ask_plus_the_interval() -> None:
    r = UpstreamRepair()
    r.received(1, 0.0)
    r.received(3, 0.1)
    r.received(5, 0.3)
    assert r.next_deadline() == pytest.approx(0.1 + r.interval)


def test_rtt_is_learnt_from_packets_asked_once() -> None:
    r = UpstreamRepair(initial_rtt=0.3)
    r.received(0, 0.0)
    for i in range(40):
        base = 1 + 2 * i
        r.received(base + 1, i / 10)  # base missing
        r.received(base, i / 10 + 0.05)  # repaired 50 ms after the ask
    assert r.srtt == pytest.approx(0.05, abs=0.01)
    assert r.interval < 0.1


def test_wraparound_and_reordering() -> None:
    r = UpstreamRepair()
    r.received(65534, 0.0)
    assert r.received(1, 0.0).nack == [65535, 0]
    assert r.received(0, 0.01).nack == []
    assert r.missing == 1


def test_a_restarted_stream_is_not_loss() -> None:
    r = UpstreamRepair()
    r.received(100, 0.0)
    assert r.received(100 + 20000, 0.0).nack == []
    assert r.missing == 0


def test_missing_set_is_bounded() -> None:
    r = UpstreamRepair(max_missing=10)
    r.received(0, 0.0)
    assert len(r.received(50, 0.0).nack) == 49
    assert r.missing == 10 and r.given_up == 39


def test_forget_drops_everything_missing() -> None:
    r = UpstreamRepair()
    r.received(0, 0.0)
    r.received(5, 0.0)
    r.forget()
    assert r.poll(10.0) == ([], [])


def test_a_repair_after_a_second_ask_is_counted_and_not_an_rtt_sample() -> None:
    r = UpstreamRepair(initial_rtt=0.1)
    r.received(0, 0.0)
    r.received(2, 0.0)
    t = r.interval + 1e-6
    assert r.poll(t) == ([1], [])
    srtt = r.srtt
    r.received(1, t + 0.01)
    assert (r.repaired, r.repaired_late, r.srtt) == (1, 1, srtt)  # Karn: no sample


def test_a_hole_after_a_silence_is_given_up_at_once_not_nacked() -> None:
    # The publisher's link went dark for 2 s: what it sent meanwhile is stale.
    r = UpstreamRepair(stale_after=0.4)
    r.received(100, 0.0)
    assert r.received(160, 2.0) == Gaps(nack=[], stale=list(range(101, 160)))
    assert r.missing == 0 and r.asked == 0 and r.given_up == 59
    assert r.next_deadline() is None


def test_a_silence_without_a_hole_and_a_hole_after_a_short_pause_are_not_stale() -> None:
    r = UpstreamRepair(stale_after=0.4)
    r.received(1, 0.0)
    assert r.received(2, 3.0) == Gaps(nack=[], stale=[])  # paused, nothing lost
    assert r.received(4, 3.3) == Gaps(nack=[3], stale=[])  # 0.3 s: still worth repairing


def test_a_slow_stream_is_repaired_not_given_up() -> None:
    # A still picture at 1 packet a second: its pauses are its pace, not a dark link.
    r = UpstreamRepair(stale_after=0.4)
    t = 0.0
    for seq in range(20):
        r.received(seq, t)
        t += 1.0
    assert r.received(21, t) == Gaps(nack=[20], stale=[])
