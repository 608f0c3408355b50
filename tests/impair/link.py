"""What an impaired link does to each packet (sans-IO): drop it, or when to deliver it.

Loss is independent per packet (Bernoulli); delay is one-way and fixed; jitter adds a
uniform 0..jitter extra queueing delay but never reorders (a FIFO link: a packet is
never delivered before the one sent ahead of it); a blackout drops everything until
it ends. A rate limit makes the link a bottleneck: a token bucket (``burst`` bytes deep,
filled at ``rate`` bit/s) in front of a FIFO queue of at most ``queue`` bytes; a packet that
finds the queue full is dropped (drop-tail), as at a real router's slow port.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

#: Default bottleneck token bucket depth and queue, bytes.
BURST = 3000
QUEUE = 15000


@dataclass(frozen=True, slots=True)
class Conditions:
    """One direction's impairment: loss ratio, one-way delay and jitter in seconds."""

    loss: float = 0.0
    delay: float = 0.0
    jitter: float = 0.0
    #: Bottleneck rate in bit/s (0: none), its token bucket depth and queue in bytes.
    rate: float = 0.0
    burst: int = BURST
    queue: int = QUEUE

    def label(self) -> str:
        parts = [f"{self.loss:.0%} loss", f"{self.delay * 1000:.0f} ms"]
        if self.jitter:
            parts.append(f"±{self.jitter * 1000:.0f} ms jitter")
        if self.rate:
            parts.append(f"{self.rate / 1000:.0f} kbit/s")
        return " + ".join(parts)


class Link:
    """One direction of the router: decides each packet's fate."""

    def __init__(self, conditions: Conditions, *, seed: int = 0) -> None:
        self.conditions = conditions
        self.blackout_until = 0.0
        self.forwarded = 0
        self.dropped = 0
        self.overflowed = 0  # of dropped: the bottleneck's queue was full
        self._rng = random.Random(seed)
        self._last_delivery = 0.0
        self._tokens = float(conditions.burst)
        self._tokens_at = 0.0
        self._free_at = 0.0  # when the queue's last packet leaves the bottleneck
        self._queued: deque[tuple[float, int]] = deque()  # (leaves at, bytes)
        self._backlog = 0

    def blackout(self, now: float, seconds: float) -> None:
        """Drop every packet from ``now`` for ``seconds``."""
        self.blackout_until = max(self.blackout_until, now + seconds)

    def admit(self, now: float, size: int = 1200) -> float | None:
        """The delivery time of a ``size``-byte packet arriving at ``now``, or None to drop it."""
        c = self.conditions
        if now < self.blackout_until or (c.loss and self._rng.random() < c.loss):
            self.dropped += 1
            return None
        leaves = self._bottleneck(now, size) if c.rate else now
        if leaves is None:
            self.dropped += 1
            self.overflowed += 1
            return None
        at = leaves + c.delay + (self._rng.uniform(0.0, c.jitter) if c.jitter else 0.0)
        at = max(at, self._last_delivery)  # FIFO: jitter never reorders
        self._last_delivery = at
        self.forwarded += 1
        return at

    def _bottleneck(self, now: float, size: int) -> float | None:
        """When the packet leaves the rate limit, or None if the queue is full (drop-tail)."""
        c = self.conditions
        queued = self._queued
        while queued and queued[0][0] <= now:
            self._backlog -= queued.popleft()[1]
        if self._backlog + size > c.queue:
            return None
        # Tokens accrue until the packet reaches the head of the queue.
        start = max(now, self._free_at)
        self._tokens = min(float(c.burst), self._tokens + (start - self._tokens_at) * c.rate / 8)
        self._tokens_at = start
        if self._tokens >= size:
            self._tokens -= size
            leaves = start
        else:
            leaves = start + (size - self._tokens) * 8 / c.rate
            self._tokens = 0.0
            self._tokens_at = leaves
        self._free_at = leaves
        queued.append((leaves, size))
        self._backlog += size
        return leaves
