"""The benchmarks read the server's own histograms over a window: only what was observed
between the two scrapes counts, and a quantile is the upper bound of its bucket."""

from __future__ import annotations

from bench._common import histogram_quantile

INF = float("inf")


def test_quantiles_of_the_window_only() -> None:
    before = [(1e-4, 100.0), (1e-3, 100.0), (INF, 100.0)]  # 100 fast ones before the window
    after = [(1e-4, 190.0), (1e-3, 199.0), (INF, 200.0)]  # then 90 fast, 9 slower, 1 slowest
    assert histogram_quantile(before, after, 0.5) == 1e-4
    assert histogram_quantile(before, after, 0.95) == 1e-3
    assert histogram_quantile(before, after, 0.995) == INF


def test_nothing_observed_gives_no_figure() -> None:
    same = [(1e-4, 5.0), (INF, 5.0)]
    assert histogram_quantile(same, same, 0.5) is None
    assert histogram_quantile([], [], 0.5) is None
    assert histogram_quantile([], same, 0.5) == 1e-4  # a first scrape counts from zero
