"""What a synthetic peer does with the RTP it receives: measure every route, and repair video
like a browser (NACK, RTX, PLI, a playout model) without decoding anything.

Packets come in as bytes (from aiortc's handler or the lean path, ``loadtest.lean_transport``)
and are read in place: no packet objects. RTX (RFC 4588) arrives on the SSRC the offer pairs
with the media SSRC (``a=ssrc-group:FID``; its payload type is the offer's ``rtx`` one, whose
``apt`` names the media's) and carries the original sequence number in its first two payload
bytes, which is restored before the packet counts. Audio is measured, never repaired (browsers
do not NACK Opus either).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc import rtp as aiortc_rtp

from loadtest.media import AUDIO_CLOCK, VIDEO_CLOCK
from loadtest.metrics import LiveTally, RouteStats
from loadtest.nack import NackRequester, SequenceUnwrapper
from loadtest.playout import VideoPlayout
from loadtest.receive_state import ReceptionCore, RepairCore, StreamCore
from loadtest.reception_report import (
    AUDIO_REPORT_INTERVAL_S,
    VIDEO_REPORT_INTERVAL_S,
    ReceptionStatistics,
    next_report_delay,
)
from loadtest.stamp import STAMP_SIZE, Stamp, read_stamp

_OUR_SSRC = 0x636F7368  # the SSRC our feedback is sent from ("cosh"); receive-only peers have none
_RTCP_SR = 200  # RFC 3550 §6.4.1
_RTP_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, SSRC


class _Reception(ReceptionCore):
    """A received media SSRC's reception statistics and when its next report is due (the
    fields are ``ReceptionCore``'s, ``loadtest.receive_state``)."""

    __slots__ = ()

    def __init__(self, kind: str) -> None:
        video = kind == "video"
        self.stats = ReceptionStatistics(VIDEO_CLOCK if video else AUDIO_CLOCK)
        self.interval = VIDEO_REPORT_INTERVAL_S if video else AUDIO_REPORT_INTERVAL_S
        self.due: float | None = None  # set by the first packet


def rtp_payload_offset(data: bytes) -> int:
    """Where an RTP packet's payload starts: after CSRCs and the header extension (RFC 3550
    §5.1, §5.3.1)."""
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    return offset


def vp8_frame_start(payload: bytes, offset: int) -> tuple[bool, bool]:
    """(the packet begins a frame, that frame is a keyframe) from the VP8 payload descriptor
    (RFC 7741 §4.2: S=1 and PID=0) and the frame tag after it (RFC 6386 §9.1: P bit clear)."""
    b0 = payload[offset]
    if b0 & 0x17 != 0x10:
        return False, False
    pos = offset + 1
    if b0 & 0x80:  # X: an extension byte says which optional fields follow
        x = payload[pos]
        pos += 1
        if x & 0x80:  # I: picture id, 7 or 15 bits
            pos += 2 if payload[pos] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            pos += 1
        if x & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return True, pos < len(payload) and not payload[pos] & 0x01


class _Repair(RepairCore):
    """The repair state of one received video stream (one SSRC, one source).

    It outlives the route it reports to: a new measurement window gives the stream a new
    ``RouteStats``, not a new decoder state. ``unwrap``, ``nack`` and ``playout`` are
    ``RepairCore``'s fields (``loadtest.receive_state``).
    """

    def __init__(self, ssrc: int, source: str, route: RouteStats, *, learn_rtt: bool) -> None:
        self.ssrc = ssrc
        self.source = source
        self.nack = NackRequester(learn_rtt=learn_rtt)
        self.unwrap = SequenceUnwrapper()
        self.playout: VideoPlayout[Stamp] = VideoPlayout(VIDEO_CLOCK, self._shown)
        self.route = route
        self._dropped_before = 0  # frames the playout dropped before ``route`` took over

    def _shown(self, stamp: Stamp | None, at: float) -> None:
        self.route.on_frame_shown(stamp, at)

    def report_to(self, route: RouteStats) -> None:
        self.route = route
        self._dropped_before = self.playout.frames_dropped

    def count_dropped(self) -> None:
        self.route.frames_dropped = self.playout.frames_dropped - self._dropped_before


class _Stream(StreamCore):
    """What one received media SSRC feeds, looked up once per packet (the fields are
    ``StreamCore``'s, ``loadtest.receive_state``)."""

    __slots__ = ()

    def __init__(self, source: str, kind: str, route: RouteStats, reception: _Reception,
                 repair: _Repair | None) -> None:
        self.source = source
        self.video = kind == "video"
        self.clock_rate = VIDEO_CLOCK if self.video else AUDIO_CLOCK
        self.route: RouteStats | None = route  # None: a new window, the route is made anew
        self.reception = reception
        self.repair = repair


class Receiver:
    """Every route one peer receives (``routes``), repairing video when ``repair`` is on.

    ``send_rtcp`` writes a feedback packet (False: the connection cannot send yet);
    ``on_stamp(source, now)`` hears of every stamped frame that arrives; ``learn_rtt``: the
    peer publishes, so a browser in its place would know the round trip (``loadtest.nack``).
    """

    def __init__(
        self,
        routes: dict[tuple[str, str], RouteStats],
        *,
        repair: bool,
        keep_samples: bool,
        tally: LiveTally | None,
        on_stamp: Callable[[str, float], None],
        learn_rtt: bool = True,
    ) -> None:
        self.routes = routes
        self.repair = repair
        self._learn_rtt = learn_rtt
        self.send_rtcp: Callable[[bytes], bool] = lambda _packet: False
        self._keep_samples = keep_samples
        self._tally = tally
        self._on_stamp = on_stamp
        self.ssrc_slots: dict[int, dict[str, Any]] = {}
        self.rtx_of: dict[int, int] = {}  # RTX SSRC -> media SSRC
        self._repairs: dict[int, _Repair] = {}
        self._receptions: dict[int, _Reception] = {}
        self._streams: dict[int, _Stream] = {}
        self.reports_sent = 0  # report blocks sent in periodic receiver reports

    def reset(self) -> None:
        """A new connection: SSRCs and sequence numbers start afresh."""
        self.ssrc_slots.clear()
        self.rtx_of.clear()
        self._repairs.clear()
        self._receptions.clear()
        self._streams.clear()

    def _reception(self, ssrc: int, kind: str) -> _Reception:
        reception = self._receptions.get(ssrc)
        if reception is None:
            reception = self._receptions[ssrc] = _Reception(kind)
        return reception

    def on_rtcp(self, data: bytes, now: float) -> None:
        """Read the sender reports of a decrypted (compound) RTCP packet arrived at ``now``,
        for the LSR/DLSR of our reports (RFC 3550 §6.4.1)."""
        pos = 0
        while pos + 16 <= len(data):
            length = 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
            if data[pos + 1] == _RTCP_SR and pos + 28 <= len(data):
                ssrc = int.from_bytes(data[pos + 4 : pos + 8], "big")
                slot = self.ssrc_slots.get(ssrc)
                if slot is not None:
                    ntp = int.from_bytes(data[pos + 8 : pos + 16], "big")
                    self._reception(ssrc, slot["kind"]).stats.on_sender_report(ntp, now)
            pos += length

    def on_rtp(self, data: bytes, now: float) -> None:
        """Account one decrypted RTP packet that arrived at ``now`` (epoch seconds)."""
        if len(data) < 12:
            return
        b0, b1, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(data)
        media = self.rtx_of.get(ssrc)
        offset = rtp_payload_offset(data)
        end = len(data) - (data[-1] if b0 & 0x20 else 0)  # RTP padding (RFC 3550 §5.1)
        if media is not None:
            if end - offset < 2:
                return  # padding only (bandwidth probing): nothing to restore
            # RFC 4588 §4: the RTX payload starts with the original sequence number (OSN).
            seq = int.from_bytes(data[offset : offset + 2], "big")
            offset += 2
            ssrc = media
        slot = self.ssrc_slots.get(ssrc)
        if slot is None:
            return
        source = slot.get("source")
        if source is None:
            return  # a slot that carries nothing (any more)
        stream = self._streams.get(ssrc)
        if stream is None or stream.source != source or stream.route is None:
            stream = self._stream(ssrc, slot["kind"], source)
        route = stream.route
        assert route is not None
        video = stream.video
        marker = b1 > 0x7F
        stamp = read_stamp(data[end - STAMP_SIZE : end]) if marker and video else None
        route.on_packet(seq=seq, timestamp=timestamp, clock_rate=stream.clock_rate,
                        size=len(data), marker=marker, stamp=stamp, now=now)
        retransmitted = media is not None
        if retransmitted:
            route.retransmissions += 1
        reception = stream.reception
        reception.stats.on_packet(seq, timestamp, now, retransmitted=retransmitted)
        if reception.due is None:
            reception.due = now + next_report_delay(reception.interval)
        if stamp is not None:
            self._on_stamp(source, now)
        repair = stream.repair
        if repair is None or offset >= end:
            return
        start, keyframe = vp8_frame_start(data, offset)
        self.repair_packet(repair, seq, timestamp, marker, start, keyframe, stamp, now,
                           retransmitted)

    def repair_packet(self, repair: _Repair, seq: int, timestamp: int, marker: bool,
                      start: bool, keyframe: bool, stamp: Stamp | None, now: float,
                      retransmitted: bool) -> None:
        """The repair model's part of a video packet (``on_rtp``'s, and the compiled path's,
        ``loadtest.compiled_receive``): NACK what a gap left out, then the playout model."""
        useq = repair.unwrap.unwrap(seq)
        lost = repair.nack.on_packet(useq, now, retransmitted=retransmitted)
        if lost:
            self._nack(repair, lost, now)
        if keyframe:
            repair.nack.clear_up_to(useq)
        playout = repair.playout
        dropped = playout.frames_dropped
        playout.on_packet(
            useq, timestamp, marker=marker, start=start, keyframe=keyframe, tag=stamp, now=now,
            retransmitted=retransmitted,
        )
        if playout.frames_dropped != dropped:
            repair.count_dropped()

    def _stream(self, ssrc: int, kind: str, source: str) -> _Stream:
        """The state of media SSRC ``ssrc`` now carrying ``source``: its route in the current
        window (made on its first packet), reception statistics (the connection's) and repair
        state (the stream's, across windows; anew when the SSRC carries another source)."""
        key = (source, kind)
        route = self.routes.get(key)
        if route is None:
            route = self.routes[key] = RouteStats(
                kind, self._keep_samples, self._tally, repairing=self.repair and kind == "video"
            )
        repair: _Repair | None = None
        if kind == "video" and self.repair:
            repair = self._repairs.get(ssrc)
            if repair is None or repair.source != source:
                repair = self._repairs[ssrc] = _Repair(
                    ssrc, source, route, learn_rtt=self._learn_rtt)
            elif repair.route is not route:
                repair.report_to(route)
        stream = self._streams[ssrc] = _Stream(
            source, kind, route, self._reception(ssrc, kind), repair)
        return stream

    def new_window(self) -> None:
        """Start a new measurement window: routes restart at their next packet (clear
        ``routes`` only this way: each stream holds on to its route between windows)."""
        self.routes.clear()
        for stream in self._streams.values():
            stream.route = None

    def tick(self, now: float | None = None) -> None:
        """Send the receiver reports that are due; with ``repair``, re-ask for what is still
        missing and ask for keyframes that are due (every ``loadtest.nack.PROCESS_INTERVAL_S``)."""
        now = time.time() if now is None else now
        self._report(now)
        for repair in self._repairs.values():
            due = repair.nack.due(now) if repair.nack.missing else None  # nothing to re-ask
            if due:
                self._nack(repair, due, now)
            if repair.playout.keyframe_due(now, repair.nack):
                # RFC 4585 §6.3.1: Picture Loss Indication.
                pli = aiortc_rtp.RtcpPsfbPacket(
                    fmt=aiortc_rtp.RTCP_PSFB_PLI, ssrc=_OUR_SSRC, media_ssrc=repair.ssrc
                )
                if self._send_feedback(repair, bytes(pli), now):
                    repair.route.plis += 1

    def _report(self, now: float) -> None:
        """Send the receiver reports that are due: every 1 s (video) or 5 s (audio) per media
        SSRC, each in its own RR as libwebrtc's per-stream RTCP senders do (and as Janus
        reads them: before 1.3 it takes only an RR's first block)."""
        for ssrc, reception in self._receptions.items():
            if reception.due is not None and now >= reception.due:
                reception.due = now + next_report_delay(reception.interval)
                report = aiortc_rtp.RtcpRrPacket(
                    ssrc=_OUR_SSRC, reports=[reception.stats.report_block(ssrc, now)])
                if self.send_rtcp(bytes(report)):
                    self.reports_sent += 1

    def _nack(self, repair: _Repair, seqs: list[int], now: float) -> None:
        # RFC 4585 §6.2.1: Generic NACK, one FCI per 17 sequence numbers (aiortc packs them).
        nack = aiortc_rtp.RtcpRtpfbPacket(
            fmt=aiortc_rtp.RTCP_RTPFB_NACK, ssrc=_OUR_SSRC, media_ssrc=repair.ssrc
        )
        nack.lost = [s & 0xFFFF for s in seqs]
        if self._send_feedback(repair, bytes(nack), now):
            repair.route.nacks += len(seqs)

    def _send_feedback(self, repair: _Repair, feedback: bytes, now: float) -> bool:
        """Send ``feedback`` as browsers do: RFC 4585 §3.1 puts it in a compound RTCP packet
        led by a receiver report (RFC 3550 §6.4.2), reduced-size RTCP (RFC 5506) being
        negotiated by neither coshop nor Janus. Janus before 1.3 finds the stream a PLI is
        about by that report's SSRC; a bare PLI went to the first stream of the connection."""
        block = self._reception(repair.ssrc, "video").stats.report_block(repair.ssrc, now)
        report = aiortc_rtp.RtcpRrPacket(ssrc=_OUR_SSRC, reports=[block])
        return self.send_rtcp(bytes(report) + feedback)
