"""The bit rate of each temporal layer of one published video, measured at ingress (sans-IO).

What a subscriber is sent at target layer L is the sum of layers 0..L; the allocator
(sfu/layer_allocator.py) weighs those sums against the subscriber's downlink. The hot path
only adds payload sizes to a per-layer counter (TrackSource.layer_bytes); this turns the
counters into smoothed rates when the allocator runs.
"""

from __future__ import annotations

from collections.abc import Sequence

LAYERS = 3


class LayerRates:
    """Smoothed bit/s per temporal layer from periodic samples of byte counters.

    Quick to rise and slow to fall: an encoder's output dips and recovers (a still scene, a
    bandwidth probe), and a layer allocated on a dip would overrun the subscriber's link the
    moment the rate comes back.
    """

    __slots__ = ("_at", "_fall", "_last", "_rise", "rates")

    def __init__(self, rise: float = 0.5, fall: float = 0.1) -> None:
        #: Weight of the newest sample when above the average, and when below.
        self._rise = rise
        self._fall = fall
        self._last: list[int] | None = None
        self._at = 0.0
        self.rates = [0.0] * LAYERS

    def update(self, layer_bytes: Sequence[int], now: float) -> None:
        """Sample the counters (bytes received so far per layer) at ``now`` (seconds)."""
        counts = list(layer_bytes[:LAYERS])
        if self._last is None:
            self._last, self._at = counts, now
            return
        elapsed = now - self._at
        if elapsed <= 0:
            return
        for i, (new, old) in enumerate(zip(counts, self._last, strict=True)):
            sample = 8 * (new - old) / elapsed
            a = self._rise if sample > self.rates[i] else self._fall
            self.rates[i] += a * (sample - self.rates[i])
        self._last, self._at = counts, now

    def cumulative(self) -> tuple[float, float, float]:
        """bit/s sent to a subscriber at target layer 0, 1 and 2."""
        r0, r1, r2 = self.rates
        return r0, r0 + r1, r0 + r1 + r2
