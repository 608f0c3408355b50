"""When a receiver would show each video frame, without decoding it (sans-IO).

A model of a browser's receive pipeline for one VP8 stream, as Chromium runs it when the
stream carries no frame-dependency information (coshop's publishers send none): a frame is
ready when every packet from its first (VP8 payload descriptor S=1, PID=0; RFC 7741 §4.2) to
its marker packet has arrived; frames go to the decoder in sequence-number order, each delta
frame needing the one before it; a keyframe (RFC 6386 §9.1) needs nothing, and when the
stream is stuck on a frame that cannot come, a newer complete keyframe lets it jump ahead,
dropping what lay between (``frames_dropped``). A frame is shown when it is ready and its
time has come: its RTP timestamp mapped to this host's clock by the smallest transit seen
(the frame that came fastest sets the pace) plus ``PLAYOUT_DELAY_S``, and a late frame as soon
as it is ready. The delay stands for libwebrtc's smallest target delay (10 ms OS jitter, 10 ms
render delay, decode time, a small jitter estimate); an RTT on top, as libwebrtc adds once it
knows one and NACKs a lot, made the model freeze far less than Chromium viewers of coshop under
2 % loss (tests/impair/test_loadtest_repair.py), whose RTT is unknown (they send no RTP).

Keyframe requests (``keyframe_due``), as Chromium asks: while waiting for a keyframe, again
every ``KEYFRAME_REPEAT_S``; and when the stream is stuck on a frame whose repair is over
(NACK gave up on a packet of it, or the NACK list overflowed) or that has not come for
``MAX_WAIT_FOR_FRAME_S``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from loadtest.nack import NackRequester

PLAYOUT_DELAY_S = 0.04  # see the module's docstring
KEYFRAME_REPEAT_S = 0.2  # libwebrtc max_wait_for_keyframe: re-ask while none comes
MAX_WAIT_FOR_FRAME_S = 3.0  # libwebrtc max_wait_for_frame: stuck this long, ask for a keyframe
_TIMESTAMP_WRAP = 1 << 32

T = TypeVar("T")


@dataclass(slots=True)
class _Frame(Generic[T]):
    timestamp: int  # unwrapped RTP timestamp
    first: int | None = None  # unwrapped sequence number of its first packet, once seen
    last: int | None = None  # ... of its marker packet
    got: set[int] = field(default_factory=set)
    keyframe: bool = False
    repaired: bool = False  # a retransmission completed it
    tag: T | None = None  # what the marker packet carried (the loadtest stamp)

    @property
    def complete(self) -> bool:
        return (
            self.first is not None
            and self.last is not None
            and len(self.got) == self.last - self.first + 1
        )


class VideoPlayout(Generic[T]):
    """Frames of one video stream, shown (``on_shown(tag, at)``) in a browser's order and time.

    ``on_packet`` takes unwrapped sequence numbers; ``tag`` is whatever the marker packet
    carries that ``on_shown`` should get back.
    """

    def __init__(self, clock_rate: int, on_shown: Callable[[T | None, float], None]) -> None:
        self._clock_rate = clock_rate
        self._on_shown = on_shown
        self._frames: dict[int, _Frame[T]] = {}  # by unwrapped timestamp
        self._by_first: dict[int, _Frame[T]] = {}
        self._next: int | None = None  # first sequence number of the next frame to show
        self._last_shown_ts: int | None = None
        self._last_shown_seq = -1
        self._waiting_for_keyframe = True
        self._offset: float | None = None  # smallest (arrival - media time) seen
        self._last_ts: int | None = None
        self._last_shown_at = 0.0
        self._keyframe_ready = False  # a complete keyframe may wait in _frames
        self.stuck_since: float | None = None
        self.keyframe_requested_at: float | None = None
        self.frames_shown = 0
        self.frames_dropped = 0
        self.keyframes_shown = 0
        self.keyframe_requests = 0

    def _unwrap_ts(self, ts: int) -> int:
        if self._last_ts is None:
            self._last_ts = ts
            return ts
        delta = (ts - self._last_ts) % _TIMESTAMP_WRAP
        if delta >= _TIMESTAMP_WRAP // 2:
            delta -= _TIMESTAMP_WRAP
        value = self._last_ts + delta
        if delta > 0:
            self._last_ts = value
        return value

    def on_packet(
        self,
        seq: int,
        timestamp: int,
        *,
        marker: bool,
        start: bool,
        keyframe: bool,
        tag: T | None,
        now: float,
        retransmitted: bool = False,
    ) -> None:
        """Account one packet (``start``: it begins a frame; ``keyframe``: that frame is one)."""
        if seq <= self._last_shown_seq:
            return  # a late copy of what was shown or passed over
        ts = self._unwrap_ts(timestamp)
        if self._last_shown_ts is not None and ts <= self._last_shown_ts:
            return
        frame = self._frames.get(ts)
        if frame is None:
            frame = self._frames[ts] = _Frame(ts)
        frame.got.add(seq)
        frame.repaired |= retransmitted
        if start:
            frame.first = seq
            frame.keyframe = keyframe
            self._by_first[seq] = frame
        if marker:
            frame.last = seq
            frame.tag = tag
        if not frame.complete:
            # Nothing can be shown before some frame completes (the packet-per-packet common
            # case, kept to a flag test): the stream waits, since now if not before.
            if self.stuck_since is None:
                self.stuck_since = now
            return
        if not frame.repaired:
            transit = now - ts / self._clock_rate
            if self._offset is None or transit < self._offset:
                self._offset = transit
        if frame.keyframe:
            self._keyframe_ready = True
        self._advance(now)

    def _advance(self, now: float) -> None:
        while True:
            frame = self._by_first.get(self._next) if self._next is not None else None
            if frame is not None and frame.complete and not self._waiting_for_keyframe:
                self._show(frame, now)
                continue
            if not self._keyframe_ready:
                break
            key = self._complete_keyframe()
            if key is None:
                self._keyframe_ready = False
                break
            self._show(key, now)
        if self._frames:
            if self.stuck_since is None:
                self.stuck_since = now
        else:
            self.stuck_since = None

    def _complete_keyframe(self) -> _Frame[T] | None:
        """The oldest complete keyframe newer than what was shown, if there is one."""
        best: _Frame[T] | None = None
        for frame in self._frames.values():
            if not (frame.keyframe and frame.complete):
                continue
            if best is None or frame.timestamp < best.timestamp:
                best = frame
        return best

    def _show(self, frame: _Frame[T], now: float) -> None:
        assert frame.first is not None and frame.last is not None
        for ts in [ts for ts in self._frames if ts < frame.timestamp]:
            self.frames_dropped += 1  # passed over: stuck behind a frame that never came
            old = self._frames.pop(ts)
            if old.first is not None:
                self._by_first.pop(old.first, None)
        del self._frames[frame.timestamp]
        del self._by_first[frame.first]
        due = frame.timestamp / self._clock_rate + (self._offset or 0.0) + PLAYOUT_DELAY_S
        at = max(now, due, self._last_shown_at)
        self._last_shown_at = at
        self._last_shown_ts = frame.timestamp
        self._last_shown_seq = frame.last
        self._next = frame.last + 1
        if frame.keyframe:
            self._waiting_for_keyframe = False
            self.keyframes_shown += 1
        self.frames_shown += 1
        self.stuck_since = None
        self._on_shown(frame.tag, at)

    def keyframe_due(self, now: float, nack: NackRequester) -> bool:
        """Whether to send a PLI now (RFC 4585 §6.3.1); counts it if so."""
        if self.stuck_since is None:
            return False
        if self._waiting_for_keyframe:
            last = self.keyframe_requested_at
            if last is not None and now - last < KEYFRAME_REPEAT_S:
                return False
            if last is None and now - self.stuck_since < KEYFRAME_REPEAT_S:
                return False  # a stream's first keyframe is on its way: give it a moment
        else:
            hopeless = nack.overflowed or (
                nack.newest_given_up is not None and nack.newest_given_up >= (self._next or 0)
            )
            if not hopeless and now - self.stuck_since < MAX_WAIT_FOR_FRAME_S:
                return False
            self._waiting_for_keyframe = True
            nack.overflowed = False
        self.keyframe_requested_at = now
        self.keyframe_requests += 1
        return True
