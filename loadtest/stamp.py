"""The stamp every synthetic video frame carries: who sent it, which frame, when (sans-IO).

It is appended to the encoded VP8 frame, so it travels in the last RTP packet of the
frame (the one with the marker bit) and can be read without decoding; ``stamp_padding``
keeps the packetizer from splitting it. VP8 decoders ignore bytes after the frame's last
partition, so the video still decodes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = b"CSt1"
_FORMAT = struct.Struct("!4sHIQ")  # magic, publisher, frame number, send time (us, epoch)
STAMP_SIZE = _FORMAT.size


@dataclass(frozen=True, slots=True)
class Stamp:
    publisher: int
    frame: int
    sent_us: int


def append_stamp(frame: bytes, stamp: Stamp) -> bytes:
    """``frame`` with ``stamp`` appended."""
    return frame + _FORMAT.pack(
        MAGIC, stamp.publisher & 0xFFFF, stamp.frame & 0xFFFFFFFF, stamp.sent_us
    )


def stamp_padding(frame_size: int, chunk_sizes: tuple[int, ...]) -> int:
    """Zero bytes to put between a frame and its stamp so that a packetizer cutting the frame
    into ``chunk_sizes``-byte pieces leaves the whole stamp in the last packet."""
    for pad in range(2 * STAMP_SIZE):
        total = frame_size + pad + STAMP_SIZE
        if all(total % c == 0 or total % c >= STAMP_SIZE for c in chunk_sizes):
            return pad
    raise ValueError(f"no padding keeps a stamp whole for chunks of {chunk_sizes}")


def read_stamp(payload: bytes) -> Stamp | None:
    """The stamp at the end of an RTP payload, if there is one."""
    if len(payload) < STAMP_SIZE or payload[-STAMP_SIZE : -STAMP_SIZE + 4] != MAGIC:
        return None
    _, publisher, frame, sent_us = _FORMAT.unpack_from(payload, len(payload) - STAMP_SIZE)
    return Stamp(publisher, frame, sent_us)
