"""How long the SFU's loop takes to forward each incoming packet to its subscribers (sans-IO).

Every fan-out (one incoming packet written to all of its subscribers) is timed by the caller
with one clock read before and one after. Two figures come of it:

- ``send_cost``: the loop time one forwarded copy takes on this machine, a slow moving average.
  The keyframe pacer (sfu.keyframe.KeyframePacer) reserves a keyframe's packets times its
  subscribers times this, so its spacing follows the machine instead of a constant measured
  elsewhere (25 us on a loaded 2-core machine, 10-11 us on a quiet one).
- a histogram of fan-out durations: the server-side part of the latency the SFU adds to a
  packet, from its hand-over by the receive path to its last copy written to a socket
  (``coshop_sfu_fanout_seconds`` in /metrics). The time a packet waits in the socket and the
  loop before that is the loop lag (``coshop_event_loop_lag_seconds``).
"""

from __future__ import annotations

from bisect import bisect_left

#: Upper bounds (seconds) of the fan-out histogram's buckets; the last bucket is +Inf.
BUCKETS = (25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3)

#: What a copy is assumed to cost before any fan-out was timed.
INITIAL_SEND_COST = 25e-6
#: Estimates are kept within these bounds: one copy cannot cost less than a system call,
#: and a fan-out suspended by a slow send says nothing about the loop's cost of a copy.
MIN_SEND_COST = 2e-6
MAX_SEND_COST = 200e-6
#: Weight of one fan-out in the moving average: it follows the machine within a few seconds
#: of traffic (hundreds of fan-outs a second) and shrugs off one preempted fan-out.
SMOOTHING = 1 / 256


class FanoutTiming:
    """Fan-out durations of one node: a per-copy cost estimate and a latency histogram."""

    __slots__ = ("count", "counts", "send_cost", "total")

    def __init__(self, send_cost: float = INITIAL_SEND_COST) -> None:
        self.send_cost = send_cost
        #: Fan-outs per bucket of BUCKETS, the last one above them all.
        self.counts = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float, copies: int) -> None:
        """One fan-out of ``copies`` copies took ``seconds`` of the loop."""
        if copies <= 0 or seconds < 0:
            return
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.count += 1
        self.total += seconds
        per_copy = min(MAX_SEND_COST, max(MIN_SEND_COST, seconds / copies))
        self.send_cost += (per_copy - self.send_cost) * SMOOTHING

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, fan-outs at or below it) per bucket, +Inf last: Prometheus's form."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out
