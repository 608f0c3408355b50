"""The impairment decisions of the user-space router, without sockets."""

from __future__ import annotations

import pytest

from tests.impair.link import Conditions, Link


def test_clean_link_delays_every_packet_by_the_delay() -> None:
    link = Link(Conditions(delay=0.04))
    assert [link.admit(t) for t in (0.0, 0.01, 0.02)] == [
        pytest.approx(0.04),
        pytest.approx(0.05),
        pytest.approx(0.06),
    ]


def test_loss_ratio_is_close_to_the_setting() -> None:
    link = Link(Conditions(loss=0.02), seed=7)
    dropped = sum(link.admit(i * 0.001) is None for i in range(50_000))
    assert 0.017 < dropped / 50_000 < 0.023
    assert link.dropped == dropped


def test_jitter_never_reorders() -> None:
    link = Link(Conditions(delay=0.02, jitter=0.03), seed=1)
    times = [link.admit(i * 0.001) for i in range(2000)]
    delivered = [t for t in times if t is not None]
    assert delivered == sorted(delivered)
    assert all(0.02 <= t - i * 0.001 <= 0.05 + 0.03 for i, t in enumerate(delivered))


def test_blackout_drops_everything_until_it_ends() -> None:
    link = Link(Conditions())
    assert link.admit(0.99) is not None
    link.blackout(1.0, 0.5)
    assert link.admit(1.0) is None and link.admit(1.49) is None
    assert link.admit(1.5) is not None


def test_a_rate_limit_spaces_packets_at_the_rate_after_the_burst() -> None:
    link = Link(Conditions(rate=80_000, burst=2000, queue=100_000))  # 10 kB/s
    times = [link.admit(0.0, 1000) for _ in range(5)]
    # Two packets fit the bucket; the others leave one per 0.1 s.
    assert times == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])
    assert link.admit(1.0, 1000) == pytest.approx(1.0)  # the bucket refilled meanwhile


def test_a_full_queue_drops_the_newcomer() -> None:
    link = Link(Conditions(rate=80_000, burst=0, queue=3000))
    fates = [link.admit(0.0, 1000) for _ in range(5)]
    assert [f is not None for f in fates] == [True, True, True, False, False]
    assert link.overflowed == link.dropped == 2
    assert link.admit(0.1, 1000) is not None  # one packet left the queue meanwhile


def test_a_rate_limit_delivers_at_most_the_rate_over_time() -> None:
    link = Link(Conditions(rate=300_000, burst=3000, queue=15000))
    sent = [link.admit(i / 100, 1200) for i in range(1000)]  # 960 kbit/s offered, 10 s
    delivered = [t for t in sent if t is not None]
    # What the bucket held at the start went at once; the rest at the rate.
    rate = (len(delivered) * 1200 - 3000) * 8 / (delivered[-1] - delivered[0])
    assert 295_000 < rate <= 301_000
    assert delivered == sorted(delivered)
    # No packet waits longer than a full queue takes to drain.
    waits = [t - i / 100 for i, t in enumerate(sent) if t is not None]
    assert max(waits) < 15000 * 8 / 300_000 + 0.01


def test_control_requests_set_conditions_with_or_without_a_bottleneck() -> None:
    from tests.impair.router import conditions_from

    assert conditions_from({}) is None and conditions_from({"blackout": 1.0}) is None
    assert conditions_from({"loss": 0.02, "delay": 0.04}) == Conditions(loss=0.02, delay=0.04)
    assert conditions_from({"rate": 4e5, "queue": 60_000, "only": "a"}) == Conditions(
        rate=400_000, queue=60_000
    )
