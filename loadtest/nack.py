"""Which lost video packets to ask for again, and when: a browser's NACK policy (sans-IO).

Modelled on libwebrtc's NackRequester (what Chromium runs): a packet missing from a sequence
gap is NACKed at once (RFC 4585 §6.2.1, Generic NACK), then again every round-trip time until
it arrives or has been asked for ``MAX_RETRIES`` times; the list never holds packets more than
``MAX_AGE`` sequence numbers old, and a keyframe clears what came before it.

Which round-trip time: libwebrtc learns it from the receiver reports about what the endpoint
itself sends (RFC 3550 §6.4.1, LSR/DLSR), so a browser that publishes re-asks after the real
RTT, while a receive-only one (a viewer: it sends no RTP, so no report measures anything) keeps
``DEFAULT_RTT_S`` for good. ``learn_rtt`` says which: a publishing peer measures it from the
answers to its NACKs instead (Karn's rule), which comes to the same round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.receive_state import NackCore, UnwrapCore

MAX_RETRIES = 10  # libwebrtc kMaxNackRetries
MAX_AGE = 10_000  # libwebrtc kMaxPacketAge: older packets are dropped from the list
MAX_PACKETS = 1_000  # libwebrtc kMaxNackPackets: a longer list asks for a keyframe instead
DEFAULT_RTT_S = 0.1  # libwebrtc kDefaultRttMs, until repairs give a measure
PROCESS_INTERVAL_S = 0.02  # libwebrtc kProcessIntervalMs: how often due re-asks go out


@dataclass(slots=True)
class _Missing:
    first_missed_at: float
    sent_at: float | None = None
    retries: int = 0


class SequenceUnwrapper(UnwrapCore):
    """RTP sequence numbers (16 bits) as an ever-growing integer (RFC 3550 §A.1).

    ``_last`` is ``UnwrapCore``'s, a C field when built (``loadtest.receive_state``)."""

    __slots__ = ()

    def __init__(self) -> None:
        self._last: int | None = None

    def unwrap(self, seq: int) -> int:
        if self._last is None:
            self._last = seq
            return seq
        delta = (seq - self._last) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        value = self._last + delta
        if delta > 0:
            self._last = value
        return value

    @property
    def highest(self) -> int | None:
        """The highest sequence number seen, unwrapped (None before the first)."""
        return self._last


class NackRequester(NackCore):
    """The NACK list of one received video stream, on unwrapped sequence numbers.

    ``_newest`` is ``NackCore``'s, a C field when built (``loadtest.receive_state``)."""

    def __init__(self, *, learn_rtt: bool = True) -> None:
        self.rtt = DEFAULT_RTT_S
        self._learn_rtt = learn_rtt
        self._newest: int | None = None
        self._missing: dict[int, _Missing] = {}
        self.nacks_sent = 0  # sequence numbers asked for, re-asks included
        self.given_up = 0  # packets asked for MAX_RETRIES times that never came
        self.newest_given_up: int | None = None
        self.overflowed = False  # the list outgrew MAX_PACKETS: only a keyframe helps

    def on_packet(self, seq: int, now: float, *, retransmitted: bool = False) -> list[int]:
        """Account a packet; the sequence numbers to NACK at once (a new gap's)."""
        if self._newest is None:
            self._newest = seq
            return []
        if seq <= self._newest:
            entry = self._missing.pop(seq, None)
            if (entry is not None and retransmitted and entry.retries == 1
                    and entry.sent_at is not None and self._learn_rtt):
                # The NACK's answer: a round trip (and the sender's turnaround) since it went.
                # Only when asked once, or which ask it answers is unknown (Karn's rule).
                sample = now - entry.sent_at
                self.rtt = min(max(0.005, 0.8 * self.rtt + 0.2 * sample), 1.0)
            return []
        new = list(range(self._newest + 1, seq))
        self._newest = seq
        for s in new:
            self._missing[s] = _Missing(now)
        self._trim(seq)
        if len(self._missing) > MAX_PACKETS:
            self._missing.clear()
            self.overflowed = True
            return []
        for s in new:
            self._missing[s].sent_at = now
            self._missing[s].retries = 1
        self.nacks_sent += len(new)
        return new

    def due(self, now: float) -> list[int]:
        """The sequence numbers to ask for again now: asked an RTT ago and still missing."""
        out = []
        dropped = []
        for seq, entry in self._missing.items():
            if entry.sent_at is not None and now - entry.sent_at < self.rtt:
                continue
            if entry.retries >= MAX_RETRIES:
                dropped.append(seq)
                continue
            entry.sent_at = now
            entry.retries += 1
            out.append(seq)
        for seq in dropped:
            del self._missing[seq]
            self.given_up += 1
            if self.newest_given_up is None or seq > self.newest_given_up:
                self.newest_given_up = seq
        self.nacks_sent += len(out)
        return out

    def clear_up_to(self, seq: int) -> None:
        """A keyframe starting at ``seq`` arrived: nothing before it is needed any more."""
        self._drop_below(seq)

    def _trim(self, newest: int) -> None:
        self._drop_below(newest - MAX_AGE)

    def _drop_below(self, seq: int) -> None:
        # Gaps are entered oldest first, so the list is in sequence order: drop from its head
        # (one look per packet, not a walk of the whole list).
        missing = self._missing
        while missing:
            oldest = next(iter(missing))
            if oldest >= seq:
                break
            del missing[oldest]

    @property
    def missing(self) -> int:
        return len(self._missing)
