"""Keyframe detection on RTP payloads and keyframe-request throttling (sans-IO)."""

from __future__ import annotations

import math
from collections.abc import Callable

# H264 NAL unit types (RFC 6184 §5.2 and ITU-T H.264 Table 7-1).
_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """True if this VP8 RTP payload opens a keyframe (RFC 7741 §4.2-4.3)."""
    n = len(payload)
    if n < 1:
        return False
    b0 = payload[0]
    # S bit (start of partition) set and partition index 0: the frame's first packet.
    if not b0 & 0x10 or b0 & 0x07:
        return False
    i = 1
    if b0 & 0x80:  # X: extension byte follows
        if n < 2:
            return False
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: PictureID, 7 or 15 bits (M flag)
            if n <= i:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX byte
            i += 1
    # VP8 payload header: P bit (bit 0) is 0 for a key frame (RFC 6386 §9.1).
    return n > i and not payload[i] & 0x01


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


class KeyframePacer:
    """Spaces a room's keyframe requests across its publishers, ``spacing`` seconds apart.

    A join asks every publisher for a keyframe at once; their keyframes, forwarded to every
    subscriber together, are a burst of several hundred packets that delays everyone's video
    (issue 18). Spread out, each publisher's keyframe is a small burst of its own.
    """

    def __init__(self, spacing: float) -> None:
        self.spacing = spacing
        self._next = -math.inf

    def reserve(self, now: float) -> float:
        """Seconds to wait before a request made at ``now`` may go (the slot is taken)."""
        start = max(now, self._next)
        self._next = start + self.spacing
        return start - now
