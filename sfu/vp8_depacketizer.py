"""Whole VP8 frames from RTP packets, for recording (sans-IO).

A VP8 frame spans the packets of one RTP timestamp: the first has S=1 and PartID 0 in its
payload descriptor, the last carries the RTP marker (RFC 7741 §4.1, §4.2); the frame is
the packets' payloads, descriptors stripped, in sequence order (RFC 7741 §4.3). A frame
with a packet missing cannot be decoded, nor can the frames after it until the next
keyframe (each references the one before), so those are dropped and ``broken`` says a
keyframe is needed. A few frames of reordering (and retransmissions arriving late) are
waited for before a frame is given up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sfu.vp8_layers import Vp8Descriptor

_SEQ_MOD = 1 << 16
_HALF_SEQ = 1 << 15
#: Incomplete frames kept waiting for their missing packets while newer frames arrive
#: (about 200 ms at 30 fps: a retransmission's round trip).
REORDER_FRAMES = 6


@dataclass(frozen=True, slots=True)
class Vp8Frame:
    """One whole VP8 frame (the decoder's input) and its RTP timestamp."""

    timestamp: int
    data: bytes
    keyframe: bool


@dataclass(slots=True)
class _Pending:
    timestamp: int
    parts: dict[int, bytes] = field(default_factory=dict)  # extended seq -> VP8 payload
    first: int | None = None  # extended seq of the S=1, PartID 0 packet
    last: int | None = None  # extended seq of the marker packet
    keyframe: bool = False

    @property
    def lowest(self) -> int:
        return min(self.parts)

    def complete(self) -> bool:
        if self.first is None or self.last is None or self.last < self.first:
            return False
        return all(s in self.parts for s in range(self.first, self.last + 1))


class Vp8Depacketizer:
    """Feeds RTP packets of one VP8 stream in; takes whole decodable frames out."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self._highest: int | None = None  # extended seq of the newest packet
        self._expected: int | None = None  # extended seq the next frame should start at
        #: True until a keyframe arrives: from the start, and after any loss.
        self.broken = True
        self.frames = 0
        self.dropped = 0

    def _extend(self, seq: int) -> int:
        if self._highest is None:
            self._highest = seq
            return seq
        delta = (seq - self._highest) % _SEQ_MOD
        if delta >= _HALF_SEQ:
            delta -= _SEQ_MOD  # older than the newest (reordered, or a retransmission)
        ext = self._highest + delta
        self._highest = max(self._highest, ext)
        return ext

    def push(
        self, seq: int, timestamp: int, marker: bool, payload: bytes, desc: Vp8Descriptor
    ) -> list[Vp8Frame]:
        """One packet in; the frames it completes (in order) out."""
        ext = self._extend(seq)
        if self._expected is not None and ext < self._expected:
            return []  # a late copy of a frame already given or given up
        frame = next((f for f in self._pending if f.timestamp == timestamp), None)
        if frame is None:
            frame = _Pending(timestamp)
            self._pending.append(frame)
        if ext in frame.parts:
            return []  # a duplicate (RTX of a packet that did arrive)
        frame.parts[ext] = payload[desc.header_size:]
        if desc.start:
            frame.first = ext
            frame.keyframe = desc.keyframe
        if marker:
            frame.last = ext
        return self._drain()

    def _drain(self) -> list[Vp8Frame]:
        out: list[Vp8Frame] = []
        while self._pending:
            self._pending.sort(key=lambda f: f.lowest)
            head = self._pending[0]
            if head.complete():
                assert head.first is not None and head.last is not None
                self._pending.pop(0)
                if self._expected is not None and head.first != self._expected:
                    self.broken = True  # whole frames went missing before this one
                self._expected = head.last + 1
                if self.broken and not head.keyframe:
                    self.dropped += 1
                    continue
                self.broken = False
                self.frames += 1
                data = b"".join(head.parts[s] for s in range(head.first, head.last + 1))
                out.append(Vp8Frame(head.timestamp, data, head.keyframe))
            elif len(self._pending) > REORDER_FRAMES:
                self._pending.pop(0)  # its missing packets are not coming any more
                self.dropped += 1
                self.broken = True
                # Its own late packets are ignored from now on (where the next frame
                # starts is not known, so the next frame is taken as it comes).
                self._expected = (head.last if head.last is not None else max(head.parts)) + 1
            else:
                break
        return out


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe's header (RFC 6386 §9.1), None if it is not one."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height
