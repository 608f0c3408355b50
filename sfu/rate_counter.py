"""aiortc's receive-rate counter, with its buckets in two int lists instead of 1,000 objects.

aiortc's remote bitrate estimator (REMB, one per received video track) counts bytes in 1 ms
buckets over a one-second window: 1,000 ``RateBucket`` objects per counter, each tracked by
Python's cyclic garbage collector. On a node with churn they were most of the heap the
collector walks: 69,000-101,000 of 85,000-140,000 tracked objects, and full collections of
50-100 ms that stopped forwarding on every room at once (issue 18). The same arithmetic on two
lists of ints keeps one tracked object per counter; a long idle gap is cleared in one step.
"""

from __future__ import annotations

import aiortc.rate


class CompactRateCounter:
    """Same interface and results as ``aiortc.rate.RateCounter`` (window in ms)."""

    __slots__ = (
        "_counts",
        "_origin_index",
        "_origin_ms",
        "_scale",
        "_total_count",
        "_total_value",
        "_values",
        "_window_size",
    )
    _counts: list[int]
    _values: list[int]
    _origin_index: int
    _origin_ms: int | None
    _total_count: int
    _total_value: int

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        self._window_size = window_size
        self._scale = scale
        self.reset()

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total_count += 1
        self._total_value += value

    def add_now(self, value: int, now_ms: int) -> None:
        """``add`` right after ``rate(now_ms)``, whose window slide already happened."""
        if self._origin_ms is None:
            self._origin_ms = now_ms
        index = (self._origin_index + now_ms - self._origin_ms) % self._window_size
        self._counts[index] += 1
        self._values[index] += value
        self._total_count += 1
        self._total_value += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is not None:
            self._erase_old(now_ms)
            active_window = now_ms - self._origin_ms + 1
            if self._total_count > 0 and active_window > 1:
                return round(self._scale * self._total_value / active_window)
        return None

    def reset(self) -> None:
        self._counts = [0] * self._window_size
        self._values = [0] * self._window_size
        self._origin_index = 0
        self._origin_ms = None
        self._total_count = 0
        self._total_value = 0

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        size = self._window_size
        steps = now_ms - size + 1 - self._origin_ms
        if steps <= 0:
            return
        if steps >= size:  # everything in the window is old: clear it at once
            self._counts = [0] * size
            self._values = [0] * size
            self._total_count = 0
            self._total_value = 0
        else:  # the oldest ``steps`` buckets, which may wrap around: slices, not a loop
            counts, values, start = self._counts, self._values, self._origin_index
            end = start + steps
            if end <= size:
                self._total_count -= sum(counts[start:end])
                self._total_value -= sum(values[start:end])
                counts[start:end] = values[start:end] = [0] * steps
            else:
                wrapped = end - size
                self._total_count -= sum(counts[start:]) + sum(counts[:wrapped])
                self._total_value -= sum(values[start:]) + sum(values[:wrapped])
                counts[start:] = values[start:] = [0] * (size - start)
                counts[:wrapped] = values[:wrapped] = [0] * wrapped
        self._origin_index = (self._origin_index + steps) % size
        self._origin_ms += steps


def install() -> None:
    """Make aiortc build this counter from now on (idempotent; the SFU calls it)."""
    aiortc.rate.RateCounter = CompactRateCounter  # type: ignore[misc,assignment]
