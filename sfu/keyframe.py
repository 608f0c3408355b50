"""Keyframe detection on RTP payloads and keyframe-request throttling (sans-IO)."""

from __future__ import annotations

import math
from collections.abc import Callable

from sfu.fanout_timing import FanoutTiming
from sfu.vp8_layers import parse_vp8_descriptor

# H264 NAL unit types (RFC 6184 §5.2 and ITU-T H.264 Table 7-1).
_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """True if this VP8 RTP payload opens a keyframe (RFC 7741 §4.2-4.3)."""
    descriptor = parse_vp8_descriptor(payload)
    return descriptor is not None and descriptor.keyframe


def is_h264_keyframe_start(payload: bytes) -> bool:
    """True if this H264 RTP payload carries the start of an IDR picture or its SPS."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (_H264_IDR, _H264_SPS):
        return True
    if nal_type == _H264_STAP_A:  # RFC 6184 §5.7.1: 16-bit size, then the NAL unit
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            if payload[pos + 2] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            pos += 2 + size
        return False
    if nal_type == _H264_FU_A and len(payload) > 1:  # RFC 6184 §5.8: S bit + type
        fu_header = payload[1]
        return bool(fu_header & 0x80) and (fu_header & 0x1F) in (_H264_IDR, _H264_SPS)
    return False


KeyframeDetector = Callable[[bytes], bool]

_DETECTORS: dict[str, KeyframeDetector] = {
    "VP8": is_vp8_keyframe_start,
    "H264": is_h264_keyframe_start,
}


def keyframe_detector(codec_name: str) -> KeyframeDetector | None:
    """The keyframe-start test for a video codec name (e.g. "VP8"); None if unknown."""
    return _DETECTORS.get(codec_name.upper())


class KeyframeThrottle:
    """At most one keyframe request per ``interval`` seconds; later ones wait, never vanish."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last_sent = -math.inf

    def delay(self, now: float) -> float:
        """Seconds to wait before a request made at ``now`` may be sent."""
        return max(0.0, self._last_sent + self.interval - now)

    def sent(self, now: float) -> None:
        """Record that a request went out at ``now``."""
        self._last_sent = now


#: Packets in a keyframe not yet seen (about a 360p VP8 keyframe).
GUESSED_KEYFRAME_PACKETS = 25


class KeyframePacer:
    """Spaces a room's keyframe requests across its publishers by what each one costs.

    A join asks every publisher for a keyframe at once; their keyframes, forwarded to every
    subscriber together, are one burst of several hundred packets that delays everyone's
    video (issue 18). Each request reserves the loop time its keyframe will take to
    forward (its packets times its subscribers times what one copy costs this node's loop,
    measured by ``timing``; at least ``spacing``), so the next one arrives after it: small
    keyframes follow each other closely (a late joiner sees every publisher sooner, issue 8),
    large ones are spread out.
    """

    def __init__(self, spacing: float, *, timing: FanoutTiming | None = None) -> None:
        self.spacing = spacing
        #: The node's fan-out timing: sources feed it, the pacer reads its send cost.
        self.timing = timing if timing is not None else FanoutTiming()
        self._next = -math.inf

    def reserve(self, now: float, sends: int = 0) -> float:
        """Seconds to wait before a request made at ``now`` may go; its keyframe will be
        ``sends`` packet sends (packets times subscribers). The slot is taken."""
        start = max(now, self._next)
        self._next = start + max(self.spacing, sends * self.timing.send_cost)
        return start - now


class KeyframeSize:
    """Counts the packets of the keyframes a source sends (sans-IO; fed only while a
    keyframe is in flight, so the hot path pays one attribute test per packet)."""

    __slots__ = ("_count", "_timestamp", "packets")

    def __init__(self) -> None:
        #: Packets of the latest complete keyframe (a guess until one was seen).
        self.packets = GUESSED_KEYFRAME_PACKETS
        self._timestamp: int | None = None
        self._count = 0

    @property
    def counting(self) -> bool:
        return self._timestamp is not None

    def started(self, timestamp: int, marker: bool) -> None:
        """A keyframe's first packet (RTP timestamp ``timestamp``) arrived."""
        self._timestamp = timestamp
        self._count = 0
        self.packet(timestamp, marker)

    def packet(self, timestamp: int, marker: bool) -> None:
        """A later packet while counting: same frame until the marker (RFC 3550 §5.1)."""
        if timestamp != self._timestamp:
            self._timestamp = None  # the frame's end was lost: keep the last size
            return
        self._count += 1
        if marker:
            self.packets = self._count
            self._timestamp = None
