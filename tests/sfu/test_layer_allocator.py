"""Choosing each shown video's temporal layer for one subscriber's downlink."""

from __future__ import annotations

from sfu.layer_allocator import PAUSED, TOP, LayerAllocator, Need

#: A 360p L1T3 video: 240, 360 and 600 kbit/s at layers 0, 1, 2.
RATES = (240_000.0, 360_000.0, 600_000.0)


def need(key: str, area: int = 640 * 360, rates: tuple[float, float, float] = RATES) -> Need:
    return Need(key=key, area=area, rates=rates)


def falling_to(a: LayerAllocator, estimate: float, needs: list[Need], now: float) -> dict[str, int]:
    """The allocation when the estimate falls to ``estimate`` (from far above)."""
    a.allocate(10_000_000, needs, now - 0.01)
    return a.allocate(estimate, needs, now)


def test_without_an_estimate_everything_goes_at_full_rate() -> None:
    a = LayerAllocator()
    assert a.allocate(None, [need("a"), need("b")], 0.0) == {"a": TOP, "b": TOP}


def test_a_short_downlink_drops_layers_biggest_tile_first_kept() -> None:
    a = LayerAllocator(keep_ratio=0.8)
    needs = [need("small", area=160 * 90), need("big", area=640 * 360)]
    # 480 kbit/s (enough to keep 600 being sent): both base layers (480), then the big
    # tile's layer 1 (+120) fits, not more.
    assert falling_to(a, 480_000, needs, 0.0) == {"big": 1, "small": 0}


def test_a_base_layer_that_does_not_fit_for_long_is_paused_but_never_the_biggest() -> None:
    a = LayerAllocator(pause_after=4.0)
    needs = [need("small", area=100), need("big", area=1000)]
    assert falling_to(a, 250_000, needs, 0.0) == {"big": 0, "small": 0}
    assert a.allocate(250_000, needs, 3.9) == {"big": 0, "small": 0}
    assert a.allocate(250_000, needs, 4.0) == {"big": 0, "small": PAUSED}
    assert a.allocate(50_000, needs, 5.0) == {"big": 0, "small": PAUSED}


def test_a_climbing_estimate_pauses_nothing() -> None:
    a = LayerAllocator(pause_after=4.0)
    needs = [need("b", area=1), need("a", area=2)]
    # A browser's first estimates are far below two small videos, and climb towards them.
    for t in range(10):
        assert a.allocate(50_000 + 10_000 * t, needs, t) == {"a": TOP, "b": TOP}


def test_a_dip_of_the_estimate_pauses_nothing() -> None:
    a = LayerAllocator(pause_after=4.0)
    needs = [need("b", area=1), need("a", area=2)]
    assert falling_to(a, 250_000, needs, 0.0) == {"a": 0, "b": 0}
    assert a.allocate(400_000, needs, 3.0) == {"a": 0, "b": 0}  # climbed back: both fit
    assert a.allocate(250_000, needs, 6.0) == {"a": 0, "b": 0}  # short again: from now
    assert a.allocate(250_000, needs, 10.0) == {"a": 0, "b": PAUSED}


def test_a_climbing_estimate_takes_nothing_away() -> None:
    a = LayerAllocator()
    n = [need("a")]
    # A receiver's estimator starts low and climbs, on a fast link too.
    for i, estimate in enumerate((150_000, 200_000, 260_000, 400_000, 600_000)):
        assert a.allocate(estimate, n, i) == {"a": TOP}
    assert a.allocate(400_000, n, 9.0) == {"a": 1}  # a fall: the link queues


def test_a_flat_estimate_below_the_cost_takes_a_layer_away() -> None:
    a = LayerAllocator(keep_ratio=0.8, probe_wait=100)
    n = [need("a")]
    # Chromium's estimate stays flat while a full drop-tail queue loses packets.
    assert a.allocate(250_000, n, 0.0) == {"a": TOP}  # the first report: a climb starts
    assert a.allocate(250_000, n, 0.5) == {"a": 0}  # not climbing, far below the cost


def test_going_up_needs_headroom_and_waits_after_a_step_down() -> None:
    a = LayerAllocator(up_margin=1.15, keep_ratio=0.8, hold=2.0, probe_wait=100)
    n = [need("a")]
    assert falling_to(a, 400_000, n, 0.0) == {"a": 1}  # down from TOP at once
    assert a.allocate(610_000, n, 1.0) == {"a": 1}  # would fit, not with 15 % headroom
    assert a.allocate(700_000, n, 1.5) == {"a": 1}  # headroom, but within the hold
    assert a.allocate(700_000, n, 2.0) == {"a": TOP}
    assert a.allocate(600_000, n, 3.0) == {"a": TOP}  # keeping needs no headroom
    assert a.allocate(490_000, n, 4.0) == {"a": TOP}  # nor the whole cost: REMB hovers
    assert a.allocate(470_000, n, 5.0) == {"a": 1}  # below 0.8 of it: the link queues


def test_streams_without_layers_are_all_or_nothing() -> None:
    a = LayerAllocator(pause_after=0.0)
    flat = (500_000.0, 500_000.0, 500_000.0)
    needs = [need("big", area=2, rates=flat), need("small", area=1, rates=flat)]
    assert falling_to(a, 600_000, needs, 0.0) == {"big": TOP, "small": PAUSED}


def test_the_biggest_tile_keeps_its_whole_stream_without_layers_on_any_downlink() -> None:
    flat = (500_000.0, 500_000.0, 500_000.0)
    assert falling_to(LayerAllocator(), 100_000, [need("a", rates=flat)], 0.0) == {"a": TOP}


def test_probing_raises_one_layer_and_backs_off_when_it_fails() -> None:
    a = LayerAllocator(probe_wait=4.0, max_probe_wait=32.0, settle=3.0, hold=0.0)
    n = [need("a")]
    # The estimate follows what is received (~1.1x): never 15 % above the next layer.
    assert falling_to(a, 170_000, n, 0.0) == {"a": 0}
    assert a.allocate(265_000, n, 3.9) == {"a": 0}
    assert a.allocate(265_000, n, 4.0) == {"a": 1}  # a probe
    assert a.allocate(250_000, n, 4.5) == {"a": 0}  # the link did not take it
    assert a.allocate(265_000, n, 12.4) == {"a": 0}  # now waiting 8 s
    assert a.allocate(265_000, n, 12.5) == {"a": 1}
    assert a.allocate(400_000, n, 15.5) == {"a": 1}  # held: the wait is back to 4 s
    assert a.allocate(400_000, n, 19.4) == {"a": 1}
    assert a.allocate(400_000, n, 19.5) == {"a": TOP}


def test_forgotten_videos_leave_no_state() -> None:
    a = LayerAllocator(pause_after=0.0)
    falling_to(a, 300_000, [need("a"), need("b")], 0.0)
    assert a.allocate(300_000, [need("a")], 1.0) == {"a": 1}
    assert set(a.layers) == {"a"}
