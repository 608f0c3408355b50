"""Repairing a publisher's lost packets: when to NACK, NACK again, or give up (sans-IO).

aiortc's receiver asks once per gap (RFC 4585 §6.2.1 Generic NACK) and never again, so
one lost retransmission used to leave a hole that froze every subscriber. This tracker
asks as soon as a gap shows, asks again about once per round trip while the packet is
still missing, and after ``max_asks`` unanswered asks gives the packet up: the caller
then requests a keyframe (RFC 4585 §6.3.1 PLI) so subscribers restart cleanly.

A hole that opens after the stream fell silent for longer than ``stale_after`` (the
publisher's link went dark, then came back) is given up at once instead: what it held
is seconds old, and repairing it would only hand subscribers a burst of stale frames
before the fresh ones. The caller restarts them at a keyframe requested now. A stream
whose packets are that far apart anyway (a still picture at 1 fps) is exempt: a silence
counts only when it is also many times the stream's usual spacing.

The round trip is measured from the asks themselves: a packet repaired after a single
ask gives one sample (Karn's rule: never from a packet asked twice), smoothed as in
RFC 6298 §2.
"""

from __future__ import annotations

from dataclasses import dataclass

_SEQ_MOD = 1 << 16
_HALF = 1 << 15
#: A jump larger than this is a restarted stream, not loss (RFC 3550 §A.1 MAX_DROPOUT).
MAX_DROPOUT = 3000
#: A silence is a dark link, not the stream's pace, only past this many usual spacings.
_SILENT_SPACINGS = 8


@dataclass(slots=True)
class Gaps:
    """What one received packet revealed: sequence numbers to NACK, and ones given up."""

    nack: list[int]
    stale: list[int]


_NONE = Gaps(nack=[], stale=[])


@dataclass(slots=True)
class _Missing:
    asks: int
    last_ask: float


class UpstreamRepair:
    """Tracks one RTP stream's missing sequence numbers and the NACKs sent for them."""

    def __init__(
        self,
        *,
        max_asks: int = 4,
        initial_rtt: float = 0.1,
        min_interval: float = 0.02,
        max_interval: float = 0.5,
        max_missing: int = 256,
        stale_after: float = 0.4,
    ) -> None:
        self.max_asks = max_asks
        self.stale_after = stale_after
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.max_missing = max_missing
        self.srtt = initial_rtt
        self.asked = 0  # NACKed sequence numbers, first asks and re-asks
        self.repaired = 0
        self.repaired_late = 0  # repaired only after asking more than once
        self.given_up = 0
        self._rttvar = initial_rtt / 4
        self._ext_max: int | None = None  # highest extended sequence number seen
        self._last_at: float | None = None  # when the last packet arrived
        self._spacing = 0.0  # smoothed time between packets (EWMA, 1/16)
        self._missing: dict[int, _Missing] = {}

    # -- packets in -------------------------------------------------------------------

    def _extend(self, seq: int) -> int:
        assert self._ext_max is not None
        delta = (seq - self._ext_max) % _SEQ_MOD
        if delta >= _HALF:
            delta -= _SEQ_MOD
        return self._ext_max + delta

    def received(self, seq: int, now: float) -> Gaps:
        """Record a packet (first transmission or repair): the new gaps it shows."""
        last_at, self._last_at = self._last_at, now
        silence = 0.0 if last_at is None else now - last_at
        stale = silence > self.stale_after and silence > _SILENT_SPACINGS * self._spacing
        self._spacing += (silence - self._spacing) / 16
        if self._ext_max is None:
            self._ext_max = seq
            return _NONE
        ext = self._extend(seq)
        if ext <= self._ext_max:
            gap = self._missing.pop(ext, None)
            if gap is not None:
                self.repaired += 1
                if gap.asks == 1:
                    self._sample_rtt(now - gap.last_ask)
                else:
                    self.repaired_late += 1
            return _NONE
        jump = ext - self._ext_max
        self._ext_max = ext
        if jump == 1:
            return _NONE  # the next packet in order: the common case, nothing to look at
        if jump > MAX_DROPOUT:
            self._missing.clear()  # a restarted stream: nothing before it is wanted
            return _NONE
        new = list(range(ext - jump + 1, ext))
        if stale:
            self.given_up += len(new)  # a silence, then a hole: too old to be worth repairing
            return Gaps(nack=[], stale=[m % _SEQ_MOD for m in new])
        for missing in new:
            self._missing[missing] = _Missing(asks=1, last_ask=now)
        self.asked += len(new)
        while len(self._missing) > self.max_missing:
            del self._missing[next(iter(self._missing))]  # oldest first (insertion order)
            self.given_up += 1
        return Gaps(nack=[m % _SEQ_MOD for m in new], stale=[])

    def _sample_rtt(self, sample: float) -> None:
        # RFC 6298 §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'.
        self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self.srtt - sample)
        self.srtt = 0.875 * self.srtt + 0.125 * sample

    # -- timer ------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        """How long an ask may go unanswered before the next one (about one RTT).

        SRTT plus one RTTVAR: a retransmission usually arrives within that, and an ask
        repeated too early only costs one duplicate RTX.
        """
        return min(self.max_interval, max(self.min_interval, self.srtt + self._rttvar))

    def next_deadline(self) -> float | None:
        """When ``poll`` next has something to do (None: nothing is missing)."""
        if not self._missing:
            return None
        return min(m.last_ask for m in self._missing.values()) + self.interval

    def poll(self, now: float) -> tuple[list[int], list[int]]:
        """(sequence numbers to NACK again now, sequence numbers given up)."""
        interval = self.interval
        again: list[int] = []
        lost: list[int] = []
        for ext, gap in list(self._missing.items()):
            if now - gap.last_ask < interval:
                continue
            if gap.asks >= self.max_asks:
                del self._missing[ext]
                lost.append(ext % _SEQ_MOD)
                continue
            gap.asks += 1
            gap.last_ask = now
            again.append(ext % _SEQ_MOD)
        self.asked += len(again)
        self.given_up += len(lost)
        return again, lost

    def forget(self) -> None:
        """Stop asking for anything missing so far (nobody wants it any more)."""
        self._missing.clear()

    @property
    def missing(self) -> int:
        return len(self._missing)
