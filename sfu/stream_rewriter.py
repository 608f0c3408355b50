"""Sequence-number and timestamp rewriting for one forwarded stream (sans-IO).

A subscriber sees one continuous RTP stream per slot even though the packets come from
a publisher with its own numbering, and even when the slot switches to another
publisher. Offsets are fixed per source, so gaps (losses) upstream stay visible as gaps
downstream and the subscriber's NACKs still name the right packets (RFC 3550 §5.1).
"""

from __future__ import annotations

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_HALF_SEQ = 1 << 15


class StreamRewriter:
    """Maps a source's (seq, ts) onto a slot's outgoing numbering.

    Video waits for a keyframe start before forwarding anything, so a new subscriber
    (or a slot that switched source) never receives undecodable frames.
    """

    __slots__ = (
        "_ext_max",
        "_ext_start",
        "_keep_ts",
        "_max_in_seq",
        "_next_seq",
        "_next_ts",
        "_seq_offset",
        "_started",
        "_ts_offset",
        "_ts_step",
        "last_seq",
        "last_ts",
        "needs_keyframe",
    )

    def __init__(self, *, first_seq: int, first_ts: int, ts_step: int, video: bool) -> None:
        self.needs_keyframe = video
        self._ts_step = ts_step
        self._next_seq = first_seq % _SEQ_MOD
        self._next_ts = first_ts % _TS_MOD
        self._started = False
        self._keep_ts = False
        self._seq_offset = 0
        self._ts_offset = 0
        self._max_in_seq = 0
        self._ext_max = 0
        self._ext_start = 0
        self.last_seq = (self._next_seq - 1) % _SEQ_MOD
        self.last_ts = self._next_ts

    @property
    def started(self) -> bool:
        """True once the current source's first packet has been mapped."""
        return self._started

    def waiting_for_keyframe(self) -> bool:
        """True while the stream may only (re)start on a keyframe."""
        return self.needs_keyframe and not self._started

    def switch_source(self, *, video: bool) -> None:
        """Re-base on the next packet (a new publisher, or its stream restarted)."""
        if self._started:
            self._next_seq = (self.last_seq + 1) % _SEQ_MOD
            self._next_ts = (self.last_ts + self._ts_step) % _TS_MOD
        self._started = False
        self._keep_ts = False
        self.needs_keyframe = video

    def forwarded_since(self, seq: int) -> bool:
        """True if this stream (re)started at or before the source's packet ``seq``."""
        if not self._started:
            return False
        behind = (self._max_in_seq - seq) % _SEQ_MOD
        if behind >= _HALF_SEQ:
            return True  # newer than anything seen yet
        return self._ext_max - behind >= self._ext_start

    def restart_at_keyframe(self) -> None:
        """Drop the current source's packets until its next keyframe, then carry on.

        For a hole upstream that cannot be repaired: the frames that follow it are not
        decodable, so none is sent; the keyframe continues the numbering right after the
        last packet sent (what was skipped leaves no gap for the subscriber to NACK) and
        keeps the source's timestamp offset (its timing stays true, RFC 3550 §5.1).
        """
        if not self._started:
            return
        self._next_seq = (self.last_seq + 1) % _SEQ_MOD
        self._keep_ts = True
        self._started = False
        self.needs_keyframe = True

    def rewrite(self, seq: int, ts: int, keyframe_start: bool) -> tuple[int, int] | None:
        """The outgoing (seq, ts) for an incoming packet, or None to drop it."""
        if not self._started:
            if self.needs_keyframe and not keyframe_start:
                return None
            self._started = True
            self._seq_offset = (self._next_seq - seq) % _SEQ_MOD
            if not self._keep_ts:
                self._ts_offset = (self._next_ts - ts) % _TS_MOD
            self._keep_ts = False
            self._max_in_seq = seq
            self._ext_max = self._ext_start = 0
        else:
            ahead = (seq - self._max_in_seq) % _SEQ_MOD
            if ahead and ahead < _HALF_SEQ:
                self._max_in_seq = seq
                self._ext_max += ahead
            else:
                behind = (self._max_in_seq - seq) % _SEQ_MOD
                # Older than the first packet forwarded from this source: the
                # subscriber never had its predecessors, so it cannot use it.
                if self._ext_max - behind < self._ext_start:
                    return None
                out = ((seq + self._seq_offset) % _SEQ_MOD, (ts + self._ts_offset) % _TS_MOD)
                return out
        out_seq = (seq + self._seq_offset) % _SEQ_MOD
        out_ts = (ts + self._ts_offset) % _TS_MOD
        self.last_seq = out_seq
        self.last_ts = out_ts
        return out_seq, out_ts
