"""Per-route receive statistics computed from RTP as it arrives (sans-IO).

A route is one publisher's track as seen by one receiver. Nothing is decoded: video
frames are counted on marker-bit packets, and the frame stamp (see ``stamp``) gives the
frame number (for loss) and the send time (for one-way latency on one host clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from loadtest.stamp import Stamp

_FREEZE_FLOOR_S = 0.150  # W3C webrtc-stats freezeCount: max(3 x mean, mean + 150 ms)


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
class RouteStats:
    """What one receiver got from one publisher's track."""

    kind: str
    packets: int = 0
    bytes: int = 0
    lost_packets: int = 0
    frames: int = 0
    lost_frames: int = 0
    freezes: int = 0
    freeze_seconds: float = 0.0
    first_packet_at: float | None = None
    first_frame_at: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    jitter: float = 0.0  # RFC 3550 §6.4.1 interarrival jitter, in RTP clock units
    _max_seq: int | None = None
    _last_frame: int | None = None
    _last_frame_at: float | None = None
    _frame_gap_sum: float = 0.0
    _frame_gaps: int = 0
    _transit: float | None = None
    _clock_rate: int = 90000

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
        if self.first_packet_at is None:
            self.first_packet_at = now
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
            self._on_frame(stamp, now)

    def _on_frame(self, stamp: Stamp | None, now: float) -> None:
        if stamp is not None:
            if self._last_frame is not None:
                step = stamp.frame - self._last_frame
                if step <= 0:
                    return  # a duplicate or retransmitted last packet
                self.lost_frames += step - 1
            self._last_frame = stamp.frame
            self.latencies_ms.append(max(0.0, (now * 1e6 - stamp.sent_us) / 1000))
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        if self._last_frame_at is not None:
            gap = now - self._last_frame_at
            if self._frame_gaps >= 5:
                mean = self._frame_gap_sum / self._frame_gaps
                if gap >= max(3 * mean, mean + _FREEZE_FLOOR_S):
                    self.freezes += 1
                    self.freeze_seconds += gap
            self._frame_gap_sum += gap
            self._frame_gaps += 1
        self._last_frame_at = now

    def summary(self, duration: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "packets": self.packets,
            "lost_packets": self.lost_packets,
            "frames": self.frames,
            "lost_frames": self.lost_frames,
            "freezes": self.freezes,
            "bitrate_bps": 8 * self.bytes / duration if duration > 0 else None,
            "jitter_ms": 1000 * self.jitter / self._clock_rate,
            "latency_ms": summarize(self.latencies_ms),
        }
