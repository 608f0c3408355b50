"""CompactRateCounter gives exactly what aiortc's RateCounter gives, with far fewer objects."""

from __future__ import annotations

import gc

from aiortc.rate import RateCounter
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.rate_counter import CompactRateCounter

# (gap since the previous event in ms, bytes added; None = ask for the rate instead)
events = st.lists(
    st.tuples(st.integers(0, 1_500), st.one_of(st.none(), st.integers(0, 1_500))),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(window=st.sampled_from([1, 5, 100, 1000]), scale=st.sampled_from([1, 8000]), steps=events)
def test_same_rates_as_aiortc(window: int, scale: int, steps: list[tuple[int, int | None]]) -> None:
    theirs, ours = RateCounter(window, scale), CompactRateCounter(window, scale)
    now = 10_000
    for gap, value in steps:
        now += gap
        if value is None:
            assert ours.rate(now) == theirs.rate(now)
        else:
            theirs.add(value, now)
            ours.add(value, now)
    assert ours.rate(now) == theirs.rate(now)
    theirs.reset()
    ours.reset()
    assert ours.rate(now) == theirs.rate(now)


def test_a_counter_is_a_handful_of_objects_for_the_collector() -> None:
    before = len(gc.get_objects())
    counters = [CompactRateCounter(1000, 8000) for _ in range(10)]
    assert len(gc.get_objects()) - before < 10 * 5  # aiortc's: 1,001 per counter
    assert counters
