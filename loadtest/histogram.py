"""A mergeable log-bucketed histogram (sans-IO): percentiles of millions of samples in
a few hundred counters, shipped between processes as a small dict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

_FLOOR = 0.01  # values at or below this share bucket 0 (0.01 ms is far below loopback latency)
_GROWTH = 1.02  # bucket width: a percentile is off by at most about 1%
_LOG_GROWTH = math.log(_GROWTH)


def bucket_of(value: float) -> int:
    """The bucket index of ``value``."""
    if value <= _FLOOR:
        return 0
    return 1 + int(math.log(value / _FLOOR) / _LOG_GROWTH)


def bucket_value(index: int) -> float:
    """The value a bucket stands for: the geometric middle of its bounds."""
    if index <= 0:
        return _FLOOR
    return float(_FLOOR * _GROWTH ** (index - 0.5))


class Histogram:
    """Counts of non-negative values in log buckets, plus exact n, sum, min and max."""

    __slots__ = ("counts", "max", "min", "n", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.n = 0
        self.total = 0.0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, value: float) -> None:
        """Count one value."""
        index = bucket_of(value)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.n += 1
        self.total += value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    def merge(self, other: Histogram) -> None:
        """Add every count of ``other`` to this histogram."""
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + count
        self.n += other.n
        self.total += other.total
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max

    def percentile(self, p: float) -> float | None:
        """The nearest-rank p-th percentile (0-100), within a bucket's width; None if empty."""
        if not self.n or self.min is None or self.max is None:
            return None
        rank = max(1, math.ceil(p / 100 * self.n))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(max(bucket_value(index), self.min), self.max)
        return self.max

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def summary(self) -> dict[str, float | int | None]:
        """n, mean, p50, p95, p99 and max, like ``metrics.summarize``."""
        return {
            "n": self.n,
            "mean": self.mean,
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": self.max,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``from_dict`` reads it back)."""
        return {
            "buckets": {str(k): v for k, v in self.counts.items()},
            "n": self.n,
            "sum": self.total,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        h = cls()
        h.counts = {int(k): int(v) for k, v in data.get("buckets", {}).items()}
        h.n = int(data.get("n", 0))
        h.total = float(data.get("sum", 0.0))
        h.min = data.get("min")
        h.max = data.get("max")
        return h
