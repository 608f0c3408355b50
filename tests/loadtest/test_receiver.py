"""A synthetic receiver on real RTP bytes (aiortc's packetizer and serializer): NACKs for a
gap, the RTX answer restored to its original sequence number, frames shown, a PLI when a
frame is beyond repair."""

from __future__ import annotations

from typing import Any

from aiortc import rtp as aiortc_rtp
from aiortc.codecs.vpx import Vp8Encoder

from loadtest.metrics import RouteStats
from loadtest.nack import MAX_RETRIES
from loadtest.receiver import Receiver, rtp_payload_offset, vp8_frame_start
from loadtest.stamp import Stamp, append_stamp

MEDIA, RTX = 1111, 2222


def packets(frames: list[bytes]) -> list[aiortc_rtp.RtpPacket]:
    """``frames`` as RTP packets the way aiortc sends them (with a header extension)."""
    out = []
    seq = 100
    for n, frame in enumerate(frames):
        payloads = Vp8Encoder._packetize(append_stamp(frame, Stamp(1, n, 0)), n)
        for i, payload in enumerate(payloads):
            p = aiortc_rtp.RtpPacket(payload_type=96, sequence_number=seq, timestamp=n * 3000,
                                     ssrc=MEDIA, marker=i == len(payloads) - 1)
            p.extensions.mid = "1"
            p.payload = payload
            out.append(p)
            seq += 1
    return out


def rtx(p: aiortc_rtp.RtpPacket, rtx_seq: int) -> bytes:
    return aiortc_rtp.wrap_rtx(p, payload_type=97, sequence_number=rtx_seq, ssrc=RTX).serialize()


class Peer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], RouteStats] = {}
        self.receiver = Receiver(self.routes, repair=True, keep_samples=False, tally=None,
                                 on_stamp=lambda _s, _t: None)
        self.receiver.ssrc_slots[MEDIA] = {"kind": "video", "source": "pub"}
        self.receiver.rtx_of[RTX] = MEDIA
        self.sent: list[Any] = []
        self.compounds: list[list[Any]] = []
        self.receiver.send_rtcp = self._send

    def _send(self, data: bytes) -> bool:
        self.compounds.append(aiortc_rtp.RtcpPacket.parse(data))
        # The feedback itself; every compound packet starts with its receiver report.
        self.sent.extend(
            p for p in self.compounds[-1] if not isinstance(p, aiortc_rtp.RtcpRrPacket))
        return True

    @property
    def route(self) -> RouteStats:
        return self.routes[("pub", "video")]


HEADER = b"\x10\x02\x00\x9d\x01\x2a"  # a VP8 keyframe tag and start code (P bit clear)
KEY = HEADER + bytes(3000)
DELTA = b"\x11" + bytes(1500)  # P bit set: a delta frame, two packets


def test_the_vp8_descriptor_and_frame_tag_are_read_past_the_header_extension() -> None:
    ps = packets([KEY, DELTA])
    raw = [p.serialize() for p in ps]
    starts = [vp8_frame_start(d, rtp_payload_offset(d)) for d in raw]
    assert starts[0] == (True, True)
    assert starts[1] == (False, False)
    assert (True, False) in starts[2:]


def test_a_lost_packet_is_nacked_and_its_rtx_restores_the_frame() -> None:
    peer = Peer()
    ps = packets([KEY, DELTA, DELTA, DELTA])
    lost = next(i for i, p in enumerate(ps) if p.timestamp == 3000)  # frame 1's first packet
    for i, p in enumerate(ps):
        if i != lost:
            peer.receiver.on_rtp(p.serialize(), 10 + i * 0.01)
    nack = peer.sent[0]
    assert isinstance(nack, aiortc_rtp.RtcpRtpfbPacket)
    assert (nack.media_ssrc, nack.lost) == (MEDIA, [ps[lost].sequence_number])
    assert peer.route.frames == 1  # the keyframe; frames 2 and 3 wait for frame 1
    peer.receiver.on_rtp(rtx(ps[lost], 5000), 11.0)
    assert peer.route.frames == 4 and peer.route.lost_frames == 0
    assert (peer.route.nacks, peer.route.retransmissions, peer.route.lost_packets) == (1, 1, 0)


def test_a_frame_beyond_repair_asks_for_a_keyframe() -> None:
    peer = Peer()
    ps = packets([KEY, DELTA, DELTA])
    lost = next(i for i, p in enumerate(ps) if p.timestamp == 3000)
    for i, p in enumerate(ps):
        if i != lost:
            peer.receiver.on_rtp(p.serialize(), 10 + i * 0.01)
    t = 10.1
    while not peer.route.plis and t < 20:
        t += 0.2
        peer.receiver.tick(t)
    nacks = [p for p in peer.sent if isinstance(p, aiortc_rtp.RtcpRtpfbPacket)]
    plis = [p for p in peer.sent if isinstance(p, aiortc_rtp.RtcpPsfbPacket)]
    assert len(nacks) == MAX_RETRIES  # then NACK gives up ...
    assert len(plis) == 1 and plis[0].media_ssrc == MEDIA  # ... and a keyframe is asked for
    assert peer.route.plis == 1


def test_a_new_measurement_window_keeps_the_decoder_state() -> None:
    peer = Peer()
    ps = packets([KEY, DELTA, DELTA, DELTA])
    half = len(ps) // 2
    for i, p in enumerate(ps[:half]):
        peer.receiver.on_rtp(p.serialize(), 10 + i * 0.01)
    peer.receiver.new_window()  # the worker's ``reset``: routes restart at their next packet
    for i, p in enumerate(ps[half:]):
        peer.receiver.on_rtp(p.serialize(), 11 + i * 0.01)
    peer.receiver.tick(12.0)
    # The stream goes on where it was: no keyframe wait, nothing dropped, no PLI.
    assert peer.route.frames >= 1 and peer.route.frames_dropped == 0 and peer.route.plis == 0


def test_a_frame_repaired_late_is_shown_late_a_freeze() -> None:
    peer = Peer()
    ps = packets([KEY, *[DELTA] * 20])
    lost = next(i for i, p in enumerate(ps) if p.timestamp == 10 * 3000)
    for i, p in enumerate(ps):
        if i != lost:
            peer.receiver.on_rtp(p.serialize(), 10 + p.timestamp / 90000)
    # The retransmission comes 200 ms late: frames 10-20 wait for it, then show at once.
    peer.receiver.on_rtp(rtx(ps[lost], 1), 10 + ps[lost].timestamp / 90000 + 0.2)
    assert peer.route.frames == 21 and peer.route.freezes == 1


def test_feedback_is_compound_rtcp_led_by_a_report_on_the_stream() -> None:
    # RFC 4585 §3.1: without reduced-size RTCP (RFC 5506; neither coshop nor Janus offers
    # a=rtcp-rsize) feedback goes in a compound packet that starts with a receiver report, as
    # browsers send it. Janus before 1.3 finds the stream a PLI is about by that report: a bare
    # PLI from a receive-only peer went to the subscription's first stream instead.
    peer = Peer()
    ps = packets([DELTA, DELTA])  # no keyframe: the receiver waits for one and asks
    for i, p in enumerate(ps):
        peer.receiver.on_rtp(p.serialize(), 10 + i * 0.01)
    peer.receiver.tick(10.5)
    assert peer.route.plis == 1
    (report, pli), = peer.compounds
    assert isinstance(report, aiortc_rtp.RtcpRrPacket)
    assert [r.ssrc for r in report.reports] == [MEDIA]
    assert report.reports[0].highest_sequence == ps[-1].sequence_number
    assert isinstance(pli, aiortc_rtp.RtcpPsfbPacket) and pli.media_ssrc == MEDIA


def test_each_stream_is_reported_about_every_second_answering_its_sender_report() -> None:
    peer = Peer()
    ps = packets([KEY, DELTA])
    ntp = (0x0000E000 << 32) | 0x12340000
    sr = aiortc_rtp.RtcpSrPacket(ssrc=MEDIA, sender_info=aiortc_rtp.RtcpSenderInfo(
        ntp_timestamp=ntp, rtp_timestamp=0, packet_count=0, octet_count=0))
    other = aiortc_rtp.RtcpSrPacket(ssrc=999, sender_info=sr.sender_info)  # not received
    peer.receiver.on_rtcp(bytes(other) + bytes(sr), 10.0)
    for i, p in enumerate(ps):
        peer.receiver.on_rtp(p.serialize(), 10 + i * 0.01)
    peer.receiver.tick(10.4)  # the first report is due 0.5-1.5 s after the first packet
    assert peer.compounds == []
    t = 10.4
    while t < 20:
        t += 0.02
        peer.receiver.tick(t)
    reports = [c[0] for c in peer.compounds]
    assert all(isinstance(r, aiortc_rtp.RtcpRrPacket) for r in reports)
    assert 7 <= len(reports) <= 19  # one every 0.5-1.5 s over ~9.5 s
    block = reports[0].reports[0]
    assert (block.ssrc, block.lsr) == (MEDIA, 0xE0001234)
    assert 0.5 * 65536 <= block.dlsr <= 1.55 * 65536  # the SR came 0.5-1.5 s before it
    assert block.highest_sequence == ps[-1].sequence_number and block.packets_lost == 0
    assert peer.receiver.reports_sent == len(reports)
