"""What an impaired link does to each packet (sans-IO): drop it, or when to deliver it.

Loss is independent per packet (Bernoulli); delay is one-way and fixed; jitter adds a
uniform 0..jitter extra queueing delay but never reorders (a FIFO link: a packet is
never delivered before the one sent ahead of it); a blackout drops everything until
it ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conditions:
    """One direction's impairment: loss ratio, one-way delay and jitter in seconds."""

    loss: float = 0.0
    delay: float = 0.0
    jitter: float = 0.0

    def label(self) -> str:
        parts = [f"{self.loss:.0%} loss", f"{self.delay * 1000:.0f} ms"]
        if self.jitter:
            parts.append(f"±{self.jitter * 1000:.0f} ms jitter")
        return " + ".join(parts)


class Link:
    """One direction of the router: decides each packet's fate."""

    def __init__(self, conditions: Conditions, *, seed: int = 0) -> None:
        self.conditions = conditions
        self.blackout_until = 0.0
        self.forwarded = 0
        self.dropped = 0
        self._rng = random.Random(seed)
        self._last_delivery = 0.0

    def blackout(self, now: float, seconds: float) -> None:
        """Drop every packet from ``now`` for ``seconds``."""
        self.blackout_until = max(self.blackout_until, now + seconds)

    def admit(self, now: float) -> float | None:
        """The delivery time of a packet arriving at ``now``, or None to drop it."""
        c = self.conditions
        if now < self.blackout_until or (c.loss and self._rng.random() < c.loss):
            self.dropped += 1
            return None
        at = now + c.delay + (self._rng.uniform(0.0, c.jitter) if c.jitter else 0.0)
        at = max(at, self._last_delivery)  # FIFO: jitter never reorders
        self._last_delivery = at
        self.forwarded += 1
        return at
