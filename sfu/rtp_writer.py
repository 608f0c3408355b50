"""Serialising forwarded RTP packets for one negotiated stream (sans-IO).

The fixed part of every packet (SSRC, payload type, header-extension layout, MID) is
known once the stream is negotiated, so each packet costs one ``struct.pack`` plus the
payload concatenation instead of building and serialising an ``RtpPacket``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

_RTP_VERSION_BYTE = 0x80  # V=2, no padding, no extension, no CSRC
_EXTENSION_BIT = 0x10
_ONE_BYTE_PROFILE = 0xBEDE  # RFC 8285 §4.2
_FIXED_HEADER = struct.Struct("!BBHII")


class StreamLayout(NamedTuple):
    """What this stream's headers carry, for sfu._compiled_egress to write the same bytes."""

    ssrc: int
    payload_type: int
    #: The whole MID element (one-byte header, then the value), or b"" without one.
    mid_element: bytes
    #: Extension ids, -1 when not negotiated.
    abs_send_time_id: int
    audio_level_id: int


def _element_header(ext_id: int, length: int) -> int:
    """One-byte-form element header: 4-bit id, 4-bit (length - 1) (RFC 8285 §4.2)."""
    return (ext_id << 4) | (length - 1)


class RtpWriter:
    """Writes RTP packets with this stream's SSRC, payload type and extensions."""

    __slots__ = ("_abs_id", "_level_id", "_mid", "_plain", "_with_abs", "_with_level", "pt", "ssrc")

    def __init__(
        self, *, ssrc: int, payload_type: int, mid: str | None, ext_ids: dict[str, int]
    ) -> None:
        self.ssrc = ssrc
        self.pt = payload_type
        mid_id = ext_ids.get(MID_URI)
        self._mid = b""
        if mid_id is not None and mid:
            raw = mid.encode()
            self._mid = bytes((_element_header(mid_id, len(raw)),)) + raw
        self._abs_id = ext_ids.get(ABS_SEND_TIME_URI)
        self._level_id = ext_ids.get(AUDIO_LEVEL_URI)
        self._plain = self._layout(b"", 0)
        self._with_abs = self._layout(b"I", 4) if self._abs_id is not None else None
        self._with_level = self._layout(b"H", 2) if self._level_id is not None else None

    def layout(self) -> StreamLayout:
        """The stream's header fields, as a compiled writer needs them."""
        return StreamLayout(
            ssrc=self.ssrc,
            payload_type=self.pt,
            mid_element=self._mid,
            abs_send_time_id=-1 if self._abs_id is None else self._abs_id,
            audio_level_id=-1 if self._level_id is None else self._level_id,
        )

    def _layout(self, extra_fmt: bytes, extra_len: int) -> tuple[struct.Struct, int, int]:
        """(struct, first byte, header length) for the MID plus one optional element."""
        body = len(self._mid) + extra_len
        if not body:
            return _FIXED_HEADER, _RTP_VERSION_BYTE, 12
        pad = -body % 4
        fmt = f"!BBHIIHH{len(self._mid)}s{extra_fmt.decode()}{pad}x"
        return struct.Struct(fmt), _RTP_VERSION_BYTE | _EXTENSION_BIT, 16 + body + pad

    def write(
        self,
        *,
        marker: bool,
        seq: int,
        ts: int,
        payload: bytes,
        abs_send_time: int | None = None,
        audio_level: tuple[bool, int] | None = None,
    ) -> tuple[bytes, int]:
        """The packet's bytes and its header length (RTX needs to find the payload)."""
        b1 = (0x80 if marker else 0) | self.pt
        if abs_send_time is not None and self._with_abs is not None:
            st, b0, hlen = self._with_abs
            element = (_element_header(self._abs_id or 0, 3) << 24) | (abs_send_time & 0xFFFFFF)
        elif audio_level is not None and self._with_level is not None:
            st, b0, hlen = self._with_level
            vad, level = audio_level
            # RFC 6464 §3: V flag, then the level in -dBov (0..127).
            element = (
                (_element_header(self._level_id or 0, 1) << 8)
                | (0x80 if vad else 0)
                | (level & 0x7F)
            )
        else:
            st, b0, hlen = self._plain
            if hlen == 12:
                return st.pack(b0, b1, seq, ts, self.ssrc) + payload, 12
            words = (hlen - 16) // 4
            return st.pack(
                b0, b1, seq, ts, self.ssrc, _ONE_BYTE_PROFILE, words, self._mid
            ) + payload, hlen
        words = (hlen - 16) // 4
        header = st.pack(b0, b1, seq, ts, self.ssrc, _ONE_BYTE_PROFILE, words, self._mid, element)
        return header + payload, hlen


def wrap_rtx(packet: bytes, header_len: int, *, payload_type: int, seq: int, ssrc: int) -> bytes:
    """The RTX form of a sent packet: RTX PT/seq/SSRC, original seq first (RFC 4588 §4).

    The header extensions are kept, so the MID routes it too (RFC 8843 §9.2).
    """
    b1 = (packet[1] & 0x80) | payload_type
    ts = int.from_bytes(packet[4:8], "big")
    return (
        _FIXED_HEADER.pack(packet[0], b1, seq, ts, ssrc)
        + packet[12:header_len]
        + packet[2:4]
        + packet[header_len:]
    )
