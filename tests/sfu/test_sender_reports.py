"""Sender reports: every sender's SR and CNAME in one compound per transport.

The bytes are read back with aiortc's own RTCP parser; in a real room an aiortc subscriber
gets truthful reports for every track it receives, its receiver reports give the server a
round-trip time, and the reports arrive in one datagram per interval instead of one per
sender.
"""

from __future__ import annotations

import asyncio

from aiortc.rtp import RtcpPacket, RtcpSdesPacket, RtcpSrPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu import SFU, SFUConfig
from sfu.sender_reports import MAX_COMPOUND_BYTES, SenderInfo, build_reports
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import DirectParticipant

_infos = st.lists(
    st.builds(
        SenderInfo,
        ssrc=st.integers(0, 2**32 - 1),
        ntp_timestamp=st.integers(0, 2**64 - 1),
        rtp_timestamp=st.integers(0, 2**32 - 1),
        packet_count=st.integers(0, 2**40),
        octet_count=st.integers(0, 2**40),
        cname=st.one_of(st.none(), st.binary(min_size=1, max_size=300)),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(_infos, st.sampled_from([200, 600, MAX_COMPOUND_BYTES]))
def test_every_sender_reported_once_in_compounds_that_fit(
    infos: list[SenderInfo], limit: int
) -> None:
    compounds = build_reports(infos, limit)
    reports: list[RtcpSrPacket] = []
    cnames: dict[int, bytes] = {}
    for compound in compounds:
        assert len(compound) <= limit
        packets = RtcpPacket.parse(compound)
        assert isinstance(packets[0], RtcpSrPacket)  # RFC 3550 §6.1: a compound starts so
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                reports.append(packet)
            else:
                assert isinstance(packet, RtcpSdesPacket)
                (chunk,) = packet.chunks
                cnames[chunk.ssrc] = chunk.items[0][1]
    assert [r.ssrc for r in reports] == [i.ssrc for i in infos]
    for report, info in zip(reports, infos, strict=True):
        assert report.sender_info.ntp_timestamp == info.ntp_timestamp
        assert report.sender_info.rtp_timestamp == info.rtp_timestamp
        assert report.sender_info.packet_count == info.packet_count & 0xFFFFFFFF
        assert report.sender_info.octet_count == info.octet_count & 0xFFFFFFFF
    # Where SSRCs repeat, the last CNAME given for one is the one read last.
    last = {i.ssrc: i.cname[:255] for i in infos if i.cname is not None and _fits(i, limit)}
    for ssrc, cname in last.items():
        assert cnames[ssrc] == cname


def _fits(info: SenderInfo, limit: int) -> bool:
    assert info.cname is not None
    return 28 + 4 + 4 + 2 + min(len(info.cname), 255) + 1 <= limit


def test_a_full_rooms_reports_fit_two_datagrams() -> None:
    """18 senders (9 publishers' audio and video) with aiortc-style CNAMEs: two datagrams
    instead of eighteen."""
    cname = b"{1c4bd3f2-5f9e-4d0a-8c1e-3b1f2a9c7d6e}"
    infos = [SenderInfo(i, 1 << 40, i, i, i, cname) for i in range(18)]
    assert len(build_reports(infos)) == 2


async def test_subscriber_gets_truthful_reports_in_one_datagram_per_interval() -> None:
    """Two publishers, one viewer: the viewer's aiortc receivers get SRs whose packet counts
    follow what was forwarded, the server learns the round-trip time from the viewer's
    receiver reports (LSR bookkeeping), and the four senders' reports share datagrams."""
    sfu = SFU(SFUConfig())
    room = sfu.room("r1")
    a = DirectParticipant(ClientPeer("a", index=0))
    b = DirectParticipant(ClientPeer("b", index=1))
    c = DirectParticipant(ClientPeer("c", index=2, publish=False))
    try:
        await a.join(room)
        await b.join(room)
        await c.join(room, publish=False)
        await wait_for(
            lambda: c.client.video_from("a").frames >= 5 and c.client.video_from("b").frames >= 5,
            timeout=20,
        )
        dtls = next(t.receiver.transport for t in c.client.pc.getTransceivers())
        datagrams: list[list[object]] = []
        original = dtls._handle_rtcp_data

        async def record(data: bytes) -> None:
            datagrams.append(RtcpPacket.parse(data))
            await original(data)

        dtls._handle_rtcp_data = record
        await asyncio.sleep(4.5)
        with_reports = [d for d in datagrams if any(isinstance(p, RtcpSrPacket) for p in d)]
        ssrcs = {p.ssrc for d in with_reports for p in d if isinstance(p, RtcpSrPacket)}
        peer_c = room.peers["c"]
        senders = [s.forwarder._sender for s in peer_c.subscriptions]
        assert {s._ssrc for s in senders} <= ssrcs
        # aiortc's own loops would have sent one datagram per sender per ~1 s: 4 senders.
        assert len(with_reports) <= 8, len(with_reports)
        assert all(
            sum(isinstance(p, RtcpSrPacket) for p in d) >= len(senders) for d in with_reports
        )
        last = {p.ssrc: p for d in with_reports for p in d if isinstance(p, RtcpSrPacket)}
        for sub in peer_c.subscriptions:
            fwd = sub.forwarder
            report = last[fwd._sender._ssrc]
            assert 0 < report.sender_info.packet_count <= fwd.packets_sent
        await wait_for(lambda: all(s._RTCRtpSender__rtt is not None for s in senders), timeout=10)
    finally:
        await a.close()
        await b.close()
        await c.close()
        await sfu.close()
