"""VP8 temporal-layer selection for one subscription (sans-IO).

A publisher encoding L1T3 tags every packet with its temporal layer (TID 0-2) in the VP8
payload descriptor (RFC 7741 §4.2). A subscriber whose downlink cannot take the full rate
gets only the frames of layers up to its target: a third or two thirds of the frame rate,
still decodable, because a frame never references a higher layer than its own.

Dropping frames must not look like loss to the receiver: the packets it is sent are
renumbered to be contiguous, and so are the PictureIDs (which VP8 receivers also use to
detect missing frames); TL0PICIDX is left alone, since base-layer frames are never
dropped. Streams without temporal layers (no T bit, e.g. aiortc publishers) pass through
untouched.
"""

from __future__ import annotations

import bisect

_SEQ_MOD = 1 << 16
_HALF_SEQ = 1 << 15
#: Decision runs kept for late packets (retransmissions, reordering): about 2 s of
#: alternating forwarded and dropped frames at 30 fps.
_MAX_RUNS = 128


class Vp8Descriptor:
    """The fields of a VP8 payload descriptor the SFU acts on (RFC 7741 §4.2)."""

    __slots__ = (
        "header_size",
        "keyframe",
        "picture_id",
        "pid_at",
        "pid_bits",
        "start",
        "sync",
        "tid",
        "tl0picidx",
    )

    def __init__(
        self,
        *,
        start: bool,
        keyframe: bool,
        picture_id: int | None,
        pid_bits: int,
        pid_at: int,
        tl0picidx: int | None,
        tid: int | None,
        sync: bool,
        header_size: int = 1,
    ) -> None:
        #: S=1 and PartID=0: the first packet of a frame.
        self.start = start
        #: First packet of a key frame (the VP8 payload header's P bit is 0, RFC 6386 §9.1).
        self.keyframe = keyframe
        self.picture_id = picture_id
        #: 7 or 15 (M bit), 0 without a PictureID; the field starts at byte ``pid_at``.
        self.pid_bits = pid_bits
        self.pid_at = pid_at
        self.tl0picidx = tl0picidx
        #: Temporal layer (T bit set), else None: the stream has no temporal layers.
        self.tid = tid
        #: Y bit: the frame references only base-layer frames, so a receiver can start
        #: taking this layer here (layer sync).
        self.sync = sync
        #: Bytes of the descriptor: the VP8 payload (RFC 7741 §4.3) starts after them.
        self.header_size = header_size


def parse_vp8_descriptor(payload: bytes) -> Vp8Descriptor | None:
    """Parse the payload descriptor of a VP8 RTP payload; None if it is truncated."""
    n = len(payload)
    if n < 1:
        return None
    b0 = payload[0]
    start = bool(b0 & 0x10) and not b0 & 0x07
    picture_id = tl0 = tid = None
    pid_bits = pid_at = 0
    sync = False
    i = 1
    if b0 & 0x80:  # X: the extension byte I|L|T|K follows
        if n < 2:
            return None
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: PictureID, M bit chooses 7 or 15 bits
            if n <= i:
                return None
            pid_at = i
            if payload[i] & 0x80:
                if n <= i + 1:
                    return None
                picture_id = ((payload[i] & 0x7F) << 8) | payload[i + 1]
                pid_bits = 15
                i += 2
            else:
                picture_id = payload[i]
                pid_bits = 7
                i += 1
        if ext & 0x40:  # L: TL0PICIDX
            if n <= i:
                return None
            tl0 = payload[i]
            i += 1
        if ext & 0x30:  # T or K: one byte TID(2) | Y(1) | KEYIDX(5)
            if n <= i:
                return None
            if ext & 0x20:
                tid = payload[i] >> 6
                sync = bool(payload[i] & 0x20)
            i += 1
    keyframe = start and n > i and not payload[i] & 0x01
    return Vp8Descriptor(
        start=start,
        keyframe=keyframe,
        picture_id=picture_id,
        pid_bits=pid_bits,
        pid_at=pid_at,
        tl0picidx=tl0,
        tid=tid,
        sync=sync,
        header_size=i,
    )


def with_picture_id(payload: bytes, desc: Vp8Descriptor, picture_id: int) -> bytes:
    """``payload`` with its PictureID replaced, in the same 7- or 15-bit form."""
    at = desc.pid_at
    if desc.pid_bits == 15:
        picture_id &= 0x7FFF
        field = bytes((0x80 | (picture_id >> 8), picture_id & 0xFF))
        return payload[:at] + field + payload[at + 2 :]
    return payload[:at] + bytes((picture_id & 0x7F,)) + payload[at + 1 :]


class _Run:
    """From extended input seq ``start`` on: forwarded (with these offsets) or dropped."""

    __slots__ = ("forward", "layer", "pid_offset", "seq_offset", "start")

    def __init__(
        self, start: int, forward: bool, layer: int, seq_offset: int, pid_offset: int
    ) -> None:
        self.start = start
        self.forward = forward
        self.layer = layer
        self.seq_offset = seq_offset
        self.pid_offset = pid_offset


class TemporalLayerFilter:
    """Chooses which packets of a VP8 stream one subscriber gets, and renumbers them.

    ``target`` is the highest temporal layer wanted. Going down takes effect at the next
    frame; going up waits for a frame that a receiver can start the higher layer at: a
    keyframe, or a layer-sync frame (Y=1) of that layer. The sequence numbers handed on
    are contiguous over what is forwarded (they feed ``StreamRewriter``, which keeps
    upstream gaps as gaps); a hole left by a loss upstream stays a hole, and its
    retransmission, arriving later, is mapped into it.
    """

    __slots__ = (
        "_ext_max",
        "_last_forward",
        "_last_marker",
        "_last_pid",
        "_last_ts",
        "_max_seq",
        "_pid_offset",
        "_run_starts",
        "_runs",
        "_seq_offset",
        "_started",
        "current",
        "dropped",
        "target",
    )

    def __init__(self, target: int = 2) -> None:
        self.target = target
        #: The layer being forwarded now (catches up with ``target`` at a switch point).
        self.current = target
        #: Packets dropped so far (for metrics).
        self.dropped = 0
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new source, or a restart at a keyframe): numbering restarts."""
        self._started = False
        self._max_seq = 0
        self._ext_max = 0
        self._last_ts = -1
        self._last_forward = True
        self._last_marker = True
        self._last_pid: int | None = None
        self._seq_offset = 0
        self._pid_offset = 0
        self._runs: list[_Run] = [_Run(-(1 << 62), True, self.current, 0, 0)]
        self._run_starts: list[int] = [self._runs[0].start]

    @property
    def passes_through(self) -> bool:
        """True while a packet without temporal layers goes on as it came (select returns
        it at once): nothing was ever dropped or renumbered since the last reset."""
        return not self._seq_offset and not self._pid_offset

    @property
    def dropping(self) -> bool:
        """True while some layer of the stream is held back from this subscriber."""
        return self.current < 2

    def select(
        self, seq: int, ts: int, marker: bool, desc: Vp8Descriptor
    ) -> tuple[int, int | None] | None:
        """(seq to hand on, PictureID to write or None to keep it) or None to drop."""
        if desc.tid is None and not self._seq_offset and not self._pid_offset:
            return seq, None  # no temporal layers, nothing ever dropped: as it came
        if not self._started:
            self._started = True
            self._max_seq = (seq - 1) % _SEQ_MOD
            self._runs[0].layer = self.current
        ahead = (seq - self._max_seq) % _SEQ_MOD
        if ahead == 0 or ahead >= _HALF_SEQ:
            return self._late(seq, desc)
        ext = self._ext_max + ahead
        if ts != self._last_ts:
            forward = self._new_frame(ext, ahead - 1, desc)
        else:
            forward = self._last_forward
            if not forward:
                self._seq_offset += ahead - 1  # the same dropped frame's missing packets
        self._max_seq = seq
        self._ext_max = ext
        self._last_ts = ts
        self._last_marker = marker
        if desc.picture_id is not None:
            self._last_pid = desc.picture_id
        if not forward:
            self._seq_offset += 1
            self.dropped += 1
            return None
        return self._mapped(seq, desc, self._seq_offset, self._pid_offset)

    def _new_frame(self, ext: int, missing: int, desc: Vp8Descriptor) -> bool:
        """Decide for the first packet seen of a new frame (``missing`` lost just before)."""
        tid = desc.tid
        if desc.keyframe or self.target < self.current:
            self.current = self.target
        elif tid is not None and desc.sync and self.current < tid <= self.target:
            self.current = tid
        forward = tid is None or tid <= self.current
        pid = desc.picture_id
        # Whose packets went missing? With consecutive PictureIDs (no whole frame lost),
        # the tail of the last frame if it had not ended, else the head of this one.
        consecutive = (
            missing > 0
            and pid is not None
            and self._last_pid is not None
            and (pid - self._last_pid) % (1 << desc.pid_bits) == 1
        )
        head = consecutive and self._last_marker and not desc.start
        start = ext - missing if head else ext
        if consecutive and not self._last_marker and desc.start:
            if not self._last_forward:
                self._seq_offset += missing  # the dropped frame's lost tail
        elif missing and not head and not self._last_forward:
            # Unknown frames went missing: keep them as holes (to be repaired).
            self._open_run(ext - missing, True)
        if not forward and pid is not None:
            self._pid_offset += 1
        run = self._runs[-1]
        if run.forward != forward or (forward and run.layer != self.current):
            self._open_run(start, forward)
        if head and not forward:
            self._seq_offset += missing  # this dropped frame's lost head
        self._last_forward = forward
        return forward

    def _open_run(self, start: int, forward: bool) -> None:
        self._runs.append(_Run(start, forward, self.current, self._seq_offset, self._pid_offset))
        self._run_starts.append(start)
        if len(self._runs) > _MAX_RUNS:
            del self._runs[: _MAX_RUNS // 2]
            del self._run_starts[: _MAX_RUNS // 2]

    def position(self, seq: int) -> int:
        """Where the source's packet ``seq`` sits in the numbering handed on (forwarded or not)."""
        if not self._seq_offset and not self._pid_offset:
            return seq
        behind = (self._max_seq - seq) % _SEQ_MOD
        if behind >= _HALF_SEQ:
            return (seq - self._seq_offset) % _SEQ_MOD  # newer than anything seen
        index = bisect.bisect_right(self._run_starts, self._ext_max - behind) - 1
        offset = self._runs[max(index, 0)].seq_offset
        return (seq - offset) % _SEQ_MOD

    def _late(self, seq: int, desc: Vp8Descriptor) -> tuple[int, int | None] | None:
        """A packet older than the newest: decided as its place in the stream was."""
        ext = self._ext_max - ((self._max_seq - seq) % _SEQ_MOD)
        index = bisect.bisect_right(self._run_starts, ext) - 1
        if index < 0:
            return None  # older than anything remembered
        run = self._runs[index]
        if not run.forward or (desc.tid is not None and desc.tid > run.layer):
            return None
        return self._mapped(seq, desc, run.seq_offset, run.pid_offset)

    @staticmethod
    def _mapped(
        seq: int, desc: Vp8Descriptor, seq_offset: int, pid_offset: int
    ) -> tuple[int, int | None]:
        pid = desc.picture_id
        if pid is None or not pid_offset:
            return (seq - seq_offset) % _SEQ_MOD, None
        return (seq - seq_offset) % _SEQ_MOD, (pid - pid_offset) % (1 << desc.pid_bits)
