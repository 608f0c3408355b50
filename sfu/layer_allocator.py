"""Which temporal layer of each video one subscriber gets, for its downlink (sans-IO).

Given the subscriber's downlink estimate (REMB, sfu/downlink.py), the tiles it shows and
how big, and what each layer of each source costs (sfu/layer_rates.py), give every shown
video its base layer, biggest tile first, then the higher layers in the same order, as
far as the estimate goes.

A receiver-side estimate starts low and climbs (about 8 % a second) even on a fast link,
hovers around what it receives, drops (to about 0.85 of it) when the link starts queueing,
and stays flat once a drop-tail queue is full (Chromium's does, while the queue drops).
So a layer is taken away when the estimate is below ``keep_ratio`` of its cost and not
climbing (not above every estimate of the last ``RISING_WINDOW`` seconds); a video whose
base layer has not fitted for ``pause_after`` seconds of an estimate that did not climb
is paused (never the biggest tile: a pause is drastic). Going up takes ``up_margin`` of
headroom and waits ``hold`` seconds after a step down.

An estimate that follows what the receiver gets can rarely show room for the next layer
by itself, so the allocator probes: while nothing is being lowered and what is sent fits
the estimate, every ``probe_wait`` seconds it raises one video by one layer anyway; if a
step down follows within ``settle`` seconds, the probe failed and the next one waits twice
as long (up to ``max_probe_wait``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

#: A video not sent for lack of downlink (its tile is shown).
PAUSED = -1
#: The highest temporal layer (L1T3: 0, 1, 2); also what a stream without layers gets.
TOP = 2
#: Seconds an estimate is compared over to tell that it is climbing.
RISING_WINDOW = 2.0


@dataclass(frozen=True, slots=True)
class Need:
    """One shown video: its source, its tile size (pixels, 0 if unknown) and its costs."""

    key: str
    area: int
    #: bit/s at target layer 0, 1 and 2.
    rates: tuple[float, float, float]


class LayerAllocator:
    """Chooses each shown video's layer (or PAUSED) for one subscriber, over time."""

    def __init__(
        self,
        *,
        up_margin: float = 1.15,
        keep_ratio: float = 0.8,
        pause_after: float = 4.0,
        hold: float = 2.0,
        probe_wait: float = 4.0,
        max_probe_wait: float = 32.0,
        settle: float = 3.0,
    ) -> None:
        self.up_margin = up_margin
        self.keep_ratio = keep_ratio
        self.pause_after = pause_after
        self._short_since: dict[str, float] = {}
        self.hold = hold
        self.settle = settle
        self._base_wait = probe_wait
        self._max_wait = max_probe_wait
        self._probe_wait = probe_wait
        self._next_probe: float | None = None
        self._probe_at: float | None = None
        #: The latest choice per source key.
        self.layers: dict[str, int] = {}
        self._down_at: dict[str, float] = {}
        self._recent: deque[tuple[float, float]] = deque()  # (when, estimate)

    def allocate(self, estimate: float | None, needs: list[Need], now: float) -> dict[str, int]:
        """The layer (or PAUSED) for each need; no estimate means no limit known: TOP."""
        if estimate is None:
            self.layers = {n.key: TOP for n in needs}
            self._next_probe = self._probe_at = None
            self._recent.clear()
            return dict(self.layers)
        rising = self._rising(estimate, now)
        if self._next_probe is None:
            self._next_probe = now + self._probe_wait
        current = {n.key: self.layers.get(n.key, TOP) for n in needs}
        order = sorted(needs, key=lambda n: (-n.area, n.key))
        starved = self._starved(estimate, order, current, now, rising)
        chosen = {n.key: PAUSED for n in needs}
        total = 0.0
        raised = False
        for level in range(TOP + 1):
            for i, n in enumerate(order):
                if chosen[n.key] != level - 1:
                    continue
                step = n.rates[level] - (n.rates[level - 1] if level else 0.0)
                if level == 0 and current[n.key] != PAUSED:
                    fits = n.key not in starved  # sent now: paused only when long short
                elif step <= 0:
                    fits = True  # nothing more to send (a stream without layers)
                elif level <= current[n.key]:
                    fits = rising or (total + step) * self.keep_ratio <= estimate
                else:
                    fits = self._held(n.key, now) and (total + step) * self.up_margin <= estimate
                    raised = raised or fits
                if fits or (level == 0 and i == 0):
                    chosen[n.key] = level
                    total += step
        lowered = [k for k, layer in chosen.items() if layer < current[k]]
        for key in lowered:
            self._down_at[key] = now
        self._judge_probe(bool(lowered), now)
        within = total * self.keep_ratio <= estimate  # not overrunning it already
        if not lowered and not raised and within and now >= self._next_probe:
            below = next((n for n in order if chosen[n.key] < TOP), None)
            if below is not None:
                chosen[below.key] += 1
                self._probe_at = now
                self._next_probe = now + self._probe_wait
        self._down_at = {k: t for k, t in self._down_at.items() if k in chosen}
        self.layers = chosen
        return dict(chosen)

    def _rising(self, estimate: float, now: float) -> bool:
        """True if ``estimate`` is above every one of the last RISING_WINDOW seconds (or is
        the first: a receiver's first estimate is where its climb starts)."""
        recent = self._recent
        first = not recent
        while recent and now - recent[0][0] > RISING_WINDOW:
            recent.popleft()
        rising = first or (bool(recent) and estimate > max(e for _, e in recent))
        recent.append((now, estimate))
        return rising

    def _starved(
        self, estimate: float, order: list[Need], current: dict[str, int], now: float, rising: bool
    ) -> set[str]:
        """Videos sent now whose base layer has not fitted for ``pause_after`` seconds (an
        estimate still climbing towards what is sent starves nothing)."""
        if rising:
            self._short_since = {}
            return set()
        base = 0.0
        short: set[str] = set()
        for i, n in enumerate(order):
            if current[n.key] == PAUSED:
                continue
            base += n.rates[0]
            if i and base * self.keep_ratio > estimate:
                short.add(n.key)
        self._short_since = {k: self._short_since.get(k, now) for k in short}
        return {k for k, since in self._short_since.items() if now - since >= self.pause_after}

    def _held(self, key: str, now: float) -> bool:
        return now - self._down_at.get(key, -math.inf) >= self.hold

    def _judge_probe(self, lowered: bool, now: float) -> None:
        assert self._next_probe is not None
        if self._probe_at is None:
            return
        if lowered:  # the probe overran the link
            self._probe_wait = min(2 * self._probe_wait, self._max_wait)
            self._probe_at = None
            self._next_probe = now + self._probe_wait
        elif now - self._probe_at >= self.settle:  # it held
            self._probe_wait = self._base_wait
            self._probe_at = None
            self._next_probe = now + self._probe_wait
