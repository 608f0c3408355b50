"""sfu.remb_estimator against aiortc's RemoteBitrateEstimator, which it stands in for: the same
packets give the same REMB estimates at the same packets, and the same inner state."""

from __future__ import annotations

import pytest
from aiortc.rate import BandwidthUsage, RemoteBitrateEstimator
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu import remb_estimator
from sfu.rate_counter import install
from sfu.remb_estimator import CompiledRembEstimator, RembEstimator

install()  # aiortc's estimator counts with the same compact counter the SFU installs

#: One packet: ms since the last one, abs-send-time step (6.18 fixed point, 24 bits, may go
#: back: reordering), payload size, which of two SSRCs.
_packets = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 8), st.integers(0, 1200)),  # bursts are a few ms apart
        st.one_of(
            st.integers(0, 8).map(lambda ms: ms * 262),  # whole milliseconds
            st.integers(0, 1 << 14),
            st.integers(-(1 << 12), 0),
            st.integers(0, 1 << 24),
        ),
        st.integers(0, 1300),
        st.sampled_from([1111, 2222]),
    ),
    max_size=400,
)


def test_the_extension_is_built() -> None:
    """pip install builds it here; a run without it must fail, not skip."""
    assert remb_estimator.AVAILABLE, remb_estimator.UNAVAILABLE_REASON
    assert type(remb_estimator.estimator()) is CompiledRembEstimator


_KINDS = {"python": RembEstimator, "compiled": CompiledRembEstimator}


def _run(
    packets: list[tuple[int, int, int, int]], start_ms: int, start_abs: int, kind: str = "python"
) -> tuple[set[BandwidthUsage], int]:
    """Feeds both; returns the detector states seen and how many REMBs were due."""
    ours, theirs = _KINDS[kind](), RemoteBitrateEstimator()
    states: set[BandwidthUsage] = set()
    rembs = 0
    now, abs_time = start_ms, start_abs
    for gap, step, size, ssrc in packets:
        now += gap
        abs_time = (abs_time + step) % (1 << 24)
        expected = theirs.add(
            arrival_time_ms=now, abs_send_time=abs_time, payload_size=size, ssrc=ssrc
        )
        got = ours.add(arrival_time_ms=now, abs_send_time=abs_time, payload_size=size, ssrc=ssrc)
        assert got == expected
        assert ours.detector.state() == theirs.detector.state()
        assert ours.estimator.offset() == theirs.estimator.offset()
        assert ours.detector.threshold == theirs.detector.threshold
        assert ours.rate_control.current_bitrate == theirs.rate_control.current_bitrate
        assert ours.incoming_bitrate.rate(now) == theirs.incoming_bitrate.rate(now)
        states.add(ours.detector.state())
        rembs += got is not None
    return states, rembs


@pytest.mark.parametrize("kind", sorted(_KINDS))
@settings(max_examples=300, deadline=None)
@given(packets=_packets, start_ms=st.integers(0, 10**12), start_abs=st.integers(0, (1 << 24) - 1))
def test_same_estimates_as_aiortc(
    kind: str, packets: list[tuple[int, int, int, int]], start_ms: int, start_abs: int
) -> None:
    _run(packets, start_ms, start_abs, kind)


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_same_estimates_for_a_steady_video_stream_that_then_congests(kind: str) -> None:
    """30 fps of 5 packets a frame, paced 1 ms apart, then arrivals spreading out (queueing):
    the detector must reach over-use in both, at the same packet."""
    packets: list[tuple[int, int, int, int]] = []
    for frame in range(600):
        queueing = 0 if frame < 300 else (frame - 300) // 10
        for i in range(5):
            # abs-send-time counts 2^18 per second: 262 is 1 ms, a frame 33.3 ms in all.
            packets.append((1 if i else 29 + queueing, 262 if i else 7690, 1100, 1111))
    states, rembs = _run(packets, 5_000, 0, kind)
    assert BandwidthUsage.OVERUSING in states
    assert rembs >= 40  # one per 500 ms at least, over 20 s
