"""The mergeable latency histogram: percentiles within a bucket's width, exact n/min/max."""

from __future__ import annotations

import random

import pytest

from loadtest.histogram import Histogram
from loadtest.metrics import percentile


def test_percentiles_are_within_one_percent_of_the_exact_ones() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(1.0, 0.8) for _ in range(5000)]
    h = Histogram()
    for v in values:
        h.add(v)
    for p in (50, 95, 99):
        exact = percentile(values, p)
        assert exact is not None
        assert h.percentile(p) == pytest.approx(exact, rel=0.02)
    assert (h.n, h.min, h.max) == (5000, min(values), max(values))
    assert h.mean == pytest.approx(sum(values) / len(values))


def test_merge_and_round_trip_equal_one_histogram_of_everything() -> None:
    a, b, both = Histogram(), Histogram(), Histogram()
    for i in range(1, 200):
        (a if i % 2 else b).add(i / 10)
        both.add(i / 10)
    merged = Histogram.from_dict(a.to_dict())
    merged.merge(Histogram.from_dict(b.to_dict()))
    assert merged.counts == both.counts
    assert merged.summary() == pytest.approx(both.summary())


def test_empty_and_single_value() -> None:
    assert Histogram().summary() == {"n": 0, "mean": None, "p50": None, "p95": None,
                                     "p99": None, "max": None}
    h = Histogram()
    h.add(0.0)
    h.add(0.0)
    assert h.percentile(99) == 0.0  # clamped to the exact max, not the bucket's middle
    one = Histogram()
    one.add(42.0)
    assert one.percentile(50) == 42.0
