"""Per-route receive statistics computed from RTP as it arrives (sans-IO).

A route is one publisher's track as seen by one receiver. Nothing is decoded: video
frames are counted on marker-bit packets, and the frame stamp (see ``stamp``) gives the
frame number (for loss) and the send time (for one-way latency on one host clock).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from loadtest.histogram import Histogram
from loadtest.receive_state import RouteCore, uncover
from loadtest.stamp import Stamp

FREEZE_LOG = 50  # freezes whose time is kept per route (a run's JSON tells when they were)
_FREEZE_FLOOR_S = 0.150  # W3C webrtc-stats freezeCount: max(3 x mean, mean + 150 ms)
FREEZE_WINDOW = 30  # ... where the mean is of the last 30 frame intervals (Chromium's too)
_FREEZE_MIN_SAMPLES = 5  # Chromium's VideoQualityObserver needs this many before it judges


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return ordered[int(k)]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(values: list[float]) -> dict[str, float | int | None]:
    """n, mean, p50, p95, p99 and max of ``values``."""
    return {
        "n": len(values),
        "mean": sum(values) / len(values) if values else None,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


@dataclass
class LiveTally:
    """Running totals over all routes of one process, for the live progress line."""

    bytes: int = 0
    lost_frames: int = 0
    latency: Histogram = field(default_factory=Histogram)

    def take_latency(self) -> Histogram:
        """The latencies counted since the last call (and start a new interval)."""
        taken, self.latency = self.latency, Histogram()
        return taken


@uncover
@dataclass
class RouteStats(RouteCore):
    """What one receiver got from one publisher's track.

    ``keep_samples=False`` keeps latencies in the histogram only (bounded memory for long runs).
    ``repairing``: video frames are counted when the receiver model shows them
    (``on_frame_shown``, see ``loadtest.playout``), not when their marker packet arrives.

    The fields every packet writes (``packets``, ``bytes``, ``lost_packets``,
    ``first_packet_at``, ``last_packet_at``, ``jitter``, ``_max_seq``, ``repairing``,
    ``_transit``, ``_clock_rate``) are ``RouteCore``'s, C fields when built
    (``loadtest.receive_state``); they stay dataclass fields like the others.
    """

    kind: str
    keep_samples: bool = True
    tally: LiveTally | None = field(default=None, repr=False)
    packets: int = 0
    bytes: int = 0
    lost_packets: int = 0
    frames: int = 0
    lost_frames: int = 0
    freezes: int = 0
    freeze_seconds: float = 0.0
    #: When each freeze ended (epoch seconds) and how long it was: the first ``FREEZE_LOG``.
    freeze_log: list[tuple[float, float]] = field(default_factory=list)
    first_packet_at: float | None = None
    first_frame_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    latency: Histogram = field(default_factory=Histogram, repr=False)
    last_packet_at: float | None = None
    last_frame_at: float | None = None
    last_frame: int | None = None  # the stamp's frame number of the newest frame
    jitter: float = 0.0  # RFC 3550 §6.4.1 interarrival jitter, in RTP clock units
    _max_seq: int | None = None
    repairing: bool = False
    frames_dropped: int = 0  # frames partly received but never shown (webrtc-stats framesDropped)
    nacks: int = 0  # sequence numbers NACKed (re-asks included)
    plis: int = 0
    retransmissions: int = 0  # RTX packets received
    _frame_gaps: deque[float] = field(default_factory=lambda: deque(maxlen=FREEZE_WINDOW))
    _transit: float | None = None
    _clock_rate: int = 90000
    _publisher: int | None = None  # the stamp's publisher index of the frames so far

    def on_packet(
        self,
        *,
        seq: int,
        timestamp: int,
        clock_rate: int,
        size: int,
        marker: bool,
        stamp: Stamp | None,
        now: float,
    ) -> None:
        """Account one RTP packet that arrived at ``now`` (seconds, epoch clock)."""
        self.packets += 1
        self.bytes += size
        if self.tally is not None:
            self.tally.bytes += size
        if self.first_packet_at is None:
            self.first_packet_at = now
        self.last_packet_at = now
        if self._max_seq is None:
            self._max_seq = seq
        else:
            ahead = (seq - self._max_seq) & 0xFFFF
            if 0 < ahead < 0x8000:
                self.lost_packets += ahead - 1
                self._max_seq = seq
            elif ahead and self.lost_packets:
                self.lost_packets -= 1  # a late (reordered or retransmitted) packet
        self._clock_rate = clock_rate
        transit = now * clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            self.jitter += (d - self.jitter) / 16
        self._transit = transit
        if self.kind == "video" and marker:
            if not self.repairing:
                self._on_frame(stamp, now)
            elif stamp is not None:
                # Latency stays the network's (stamp to arrival), not the playout's.
                self._add_latency(stamp, now)

    def on_frame_shown(self, stamp: Stamp | None, at: float) -> None:
        """The receiver model showed a frame at ``at`` (``repairing`` routes)."""
        self._on_frame(stamp, at, latency=False)

    def _add_latency(self, stamp: Stamp, now: float) -> None:
        latency = max(0.0, (now * 1e6 - stamp.sent_us) / 1000)
        if self.keep_samples:
            self.latencies_ms.append(latency)
        self.latency.add(latency)
        if self.tally is not None:
            self.tally.latency.add(latency)

    def _on_frame(self, stamp: Stamp | None, now: float, *, latency: bool = True) -> None:
        if stamp is not None:
            if stamp.publisher != self._publisher:
                # A reused slot carries another publisher before its offer names it: its
                # frame numbers are not this stream's, so continuity restarts.
                self._publisher = stamp.publisher
                self.last_frame = None
            if self.last_frame is not None:
                step = stamp.frame - self.last_frame
                if step <= 0:
                    return  # a duplicate or retransmitted last packet
                self.lost_frames += step - 1
                if self.tally is not None:
                    self.tally.lost_frames += step - 1
            self.last_frame = stamp.frame
            if latency:
                self._add_latency(stamp, now)
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        if self.last_frame_at is not None:
            gap = now - self.last_frame_at
            mean = self.mean_frame_gap
            if mean is not None and gap >= max(3 * mean, mean + _FREEZE_FLOOR_S):
                self.freezes += 1
                self.freeze_seconds += gap
                if len(self.freeze_log) < FREEZE_LOG:
                    self.freeze_log.append((now, gap))
            self._frame_gaps.append(gap)
        self.last_frame_at = now

    def new_stream(self) -> None:
        """The route arrives on a new connection (the room moved to another node): RTP
        sequence numbers and timestamps start afresh; frame numbers (stamps) go on."""
        self._max_seq = None
        self._transit = None

    @property
    def mean_frame_gap(self) -> float | None:
        """Mean of the last ``FREEZE_WINDOW`` frame intervals (None before the freeze rule has
        a baseline)."""
        gaps = self._frame_gaps
        return sum(gaps) / len(gaps) if len(gaps) >= _FREEZE_MIN_SAMPLES else None

    def summary(self, duration: float) -> dict[str, Any]:
        """Every figure of this route; ``duration`` is the window its bitrate is taken over."""
        return {
            "kind": self.kind,
            "packets": self.packets,
            "bytes": self.bytes,
            "lost_packets": self.lost_packets,
            "frames": self.frames,
            "lost_frames": self.lost_frames,
            "freezes": self.freezes,
            "freeze_seconds": self.freeze_seconds,
            "freeze_log": [[round(t, 3), round(g, 3)] for t, g in self.freeze_log],
            "frames_dropped": self.frames_dropped,
            "nacks": self.nacks,
            "plis": self.plis,
            "retransmissions": self.retransmissions,
            "bitrate_bps": 8 * self.bytes / duration if duration > 0 else None,
            "jitter_ms": 1000 * self.jitter / self._clock_rate,
            "latency_ms": self.latency.summary(),
            "first_packet_at": self.first_packet_at,
            "last_packet_at": self.last_packet_at,
            "first_frame_at": self.first_frame_at,
            "last_frame_at": self.last_frame_at,
            "last_frame": self.last_frame,
            "mean_frame_gap": self.mean_frame_gap,
        }
