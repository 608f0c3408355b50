"""Liveness: ping a silent client every interval, drop it only after the whole timeout."""

from __future__ import annotations

import pytest

from signaling.liveness import Due, Liveness


def test_a_silent_client_is_pinged_each_interval_and_dropped_at_the_timeout() -> None:
    live = Liveness(interval=1.0, timeout=4.5, now=0.0)
    assert live.due(0.5) is Due.NOTHING
    assert live.next_check(0.5) == pytest.approx(0.5)
    pings = []
    t = 0.0
    while (due := live.due(t)) is not Due.DROP:
        if due is Due.PING:
            pings.append(t)
            live.pinged(t)
        t = round(t + live.next_check(t), 6)
    assert pings == [1.0, 2.0, 3.0, 4.0]
    assert t == 4.5


def test_anything_heard_postpones_both_the_ping_and_the_drop() -> None:
    live = Liveness(interval=1.0, timeout=4.5, now=0.0)
    live.pinged(1.0)
    live.heard(3.9)  # the pong to a ping sent during a 2 s outage, late but in time
    assert live.due(4.8) is Due.NOTHING
    assert live.due(4.9) is Due.PING  # an interval after it was last heard from
    assert live.due(8.39) is not Due.DROP
    assert live.due(8.4) is Due.DROP  # the whole timeout after it was last heard from


def test_the_timeout_must_outlast_the_interval() -> None:
    with pytest.raises(ValueError):
        Liveness(interval=2.0, timeout=2.0, now=0.0)
