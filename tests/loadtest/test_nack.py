"""The browser-like NACK list (sans-IO): ask at once, again every RTT, ten times at most."""

from __future__ import annotations

import pytest

from loadtest.nack import MAX_RETRIES, NackRequester, SequenceUnwrapper


def test_a_gap_is_asked_for_at_once_and_again_every_rtt_until_it_comes() -> None:
    nack = NackRequester()
    nack.rtt = 0.05
    assert nack.on_packet(10, 0.0) == []
    assert nack.on_packet(13, 0.01) == [11, 12]
    assert nack.due(0.03) == []  # asked 20 ms ago, the RTT is 50 ms
    assert nack.due(0.07) == [11, 12]
    nack.on_packet(11, 0.09, retransmitted=True)
    assert nack.due(0.2) == [12]
    assert nack.missing == 1


def test_a_packet_asked_for_ten_times_is_given_up() -> None:
    nack = NackRequester()
    nack.rtt = 0.01
    nack.on_packet(1, 0.0)
    nack.on_packet(3, 0.0)
    asks = 1 + sum(len(nack.due(0.02 * i)) for i in range(1, 30))
    assert asks == MAX_RETRIES
    assert (nack.given_up, nack.newest_given_up, nack.missing) == (1, 2, 0)


def test_repairs_measure_the_round_trip() -> None:
    nack = NackRequester()
    nack.on_packet(1, 0.0)
    nack.on_packet(3, 0.0)
    nack.on_packet(2, 0.04, retransmitted=True)
    assert nack.rtt == pytest.approx(0.8 * 0.1 + 0.2 * 0.04)


def test_an_answer_to_a_re_ask_does_not_measure_the_round_trip() -> None:
    nack = NackRequester()
    nack.on_packet(1, 0.0)
    nack.on_packet(3, 0.0)
    nack.due(0.1)
    nack.on_packet(2, 0.11, retransmitted=True)  # the first ask's answer, or the second's?
    assert nack.rtt == 0.1


def test_a_keyframe_clears_what_came_before_it() -> None:
    nack = NackRequester()
    nack.on_packet(1, 0.0)
    nack.on_packet(5, 0.0)
    nack.clear_up_to(5)  # the keyframe's first packet
    assert nack.missing == 0


def test_sequence_numbers_unwrap_across_zero_and_keep_late_ones_behind() -> None:
    u = SequenceUnwrapper()
    assert [u.unwrap(s) for s in (65534, 65535, 0, 1, 65535, 2)] == [
        65534, 65535, 65536, 65537, 65535, 65538
    ]


def test_a_receive_only_peer_keeps_the_default_round_trip() -> None:
    # A viewer sends no RTP, so no receiver report measures its RTT: libwebrtc re-asks on
    # kDefaultRttMs for good, however fast the repairs come.
    nack = NackRequester(learn_rtt=False)
    nack.on_packet(1, 0.0)
    nack.on_packet(3, 0.0)
    nack.on_packet(2, 0.04, retransmitted=True)
    assert nack.rtt == 0.1
    nack.on_packet(5, 0.05)
    assert nack.due(0.14) == []  # 90 ms after the ask: not yet, at the default 100 ms
    assert nack.due(0.16) == [4]
