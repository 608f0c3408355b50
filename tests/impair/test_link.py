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
