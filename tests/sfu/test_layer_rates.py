"""Per-layer bit rates from byte counters."""

from __future__ import annotations

import pytest

from sfu.layer_rates import LayerRates


def test_rates_converge_on_what_each_layer_carries() -> None:
    r = LayerRates()
    counts = [0, 0, 0, 0]
    for step in range(120):
        r.update(counts, step * 0.5)
        # 200, 100 and 100 kbit/s: 12,500, 6,250 and 6,250 bytes per half second.
        counts = [counts[0] + 12_500, counts[1] + 6_250, counts[2] + 6_250, counts[3]]
    assert r.cumulative() == pytest.approx((200_000, 300_000, 400_000), rel=1e-3)


def test_first_sample_only_sets_the_origin_and_time_must_move() -> None:
    r = LayerRates()
    r.update([10_000, 0, 0, 0], 1.0)
    assert r.cumulative() == (0, 0, 0)
    r.update([20_000, 0, 0, 0], 1.0)  # no time passed: ignored
    assert r.cumulative() == (0, 0, 0)
    r.update([20_000, 0, 0, 0], 2.0)
    assert r.cumulative()[0] == pytest.approx(40_000)  # half of 80 kbit/s: smoothed
    r.update([20_000, 0, 0, 0], 3.0)  # nothing for a second: the rate falls slowly
    assert r.cumulative()[0] == pytest.approx(36_000)
