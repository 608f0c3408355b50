"""Which NACKed packets the SFU re-sends to one subscriber (sans-IO).

A receiver asks again about once per round trip while a packet is missing, and some ask for
the same packet several times within one: a sequence number is re-sent at most once per
``repeat_after`` seconds. And retransmissions stay within ``share`` of the media bytes the
subscriber was sent over the last ``window`` (plus a small ``burst`` that is always allowed):
a subscriber whose link is failing gets no RTX storm on top of its media, which would only
deepen the congestion; what is refused, it recovers from with a keyframe request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Sequence numbers whose last re-send time is remembered (about the retransmission history).
_REMEMBERED = 512


@dataclass(slots=True)
class RetransmitBudget:
    share: float  # of the media bytes (SFUConfig.retransmission_share)
    window: float = 1.0
    burst: int = 6_000  # bytes: a handful of packets is always repairable
    repeat_after: float = 0.05
    refused_duplicate: int = 0
    refused_budget: int = 0
    _window_start: float | None = None
    _media_at_start: int = 0
    _previous_media: int = 0
    _spent: int = 0
    _last_sent: dict[int, float] = field(default_factory=dict)

    def allow(self, seq: int, size: int, media_bytes: int, now: float) -> bool:
        """Re-send ``seq`` (``size`` bytes) now? ``media_bytes``: the subscriber's running
        total of media bytes sent, ``now``: a monotonic clock."""
        last = self._last_sent.get(seq)
        if last is not None and now - last < self.repeat_after:
            self.refused_duplicate += 1
            return False
        if self._window_start is None or now - self._window_start >= self.window:
            elapsed = self.window if self._window_start is None else now - self._window_start
            # The window that just ended, scaled to one window (an idle gap counts as idle).
            sent = media_bytes - self._media_at_start
            self._previous_media = int(sent * self.window / elapsed) if elapsed > 0 else 0
            self._window_start = now
            self._media_at_start = media_bytes
            self._spent = 0
        media = max(self._previous_media, media_bytes - self._media_at_start)
        if self._spent + size > self.burst + self.share * media:
            self.refused_budget += 1
            return False
        self._spent += size
        self._last_sent[seq] = now
        if len(self._last_sent) > _REMEMBERED:
            del self._last_sent[next(iter(self._last_sent))]  # the oldest
        return True

    @property
    def refused(self) -> int:
        return self.refused_duplicate + self.refused_budget
