"""Sender reports: one RTCP compound per transport for all its senders, not one per sender.

aiortc's ``RTCRtpSender`` runs an RTCP task of its own: every 0.5-1.5 s it builds a sender
report (RFC 3550 §6.4.1) and an SDES CNAME packet, and sends them as a compound of their own,
through aiortc's Python send path (SRTCP protect, aioice, the socket). A subscriber in a full
10-person room has 18 senders (audio and video of 9 publishers), so 18 datagrams a second
each: ~3 % of the server's CPU in a full room (measured by switching the reports off).

A compound packet may carry the reports of several sources (RFC 3550 §6.1; RFC 8108 §5.3 for
a participant with many SSRCs), so here each DTLS transport sends, at aiortc's randomised
interval, one compound: every sender's SR, then an SDES CNAME packet for each, split into
datagrams of at most 1,200 bytes that each begin with an SR. What aiortc keeps per
report for round-trip times (the LSR and when it was sent) is set as its own loop sets it,
and a stopped sender still says BYE.

``build_reports`` is the sans-IO part (bytes from figures); ``attach`` puts a sender's
reports on its transport's schedule (one owned task per transport, ended with its last
sender).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.rtp import RtcpByePacket

from sfu.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

#: No datagram of reports grows past this (a safe payload on any path, SRTCP trailer aside).
MAX_COMPOUND_BYTES = 1200
_SR = struct.Struct("!BBHIQIII")  # V=2 RC=0, PT=200, length, SSRC, NTP, RTP ts, packets, octets
_SDES_HEADER = struct.Struct("!BBH")  # V=2 SC, PT=202, length
_RTCP_SR = 200
_RTCP_SDES = 202
_SDES_CNAME = 1


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """What one sender reports (RFC 3550 §6.4.1) and its CNAME (§6.5.1)."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    cname: bytes | None


def _sr(info: SenderInfo) -> bytes:
    return _SR.pack(
        0x80,
        _RTCP_SR,
        6,  # length in 32-bit words minus one: 28 bytes
        info.ssrc,
        info.ntp_timestamp & 0xFFFFFFFFFFFFFFFF,
        info.rtp_timestamp & 0xFFFFFFFF,
        info.packet_count & 0xFFFFFFFF,
        info.octet_count & 0xFFFFFFFF,
    )


def _sdes(ssrc: int, cname: bytes) -> bytes:
    """An SDES packet with one chunk: the SSRC, its CNAME item, then null bytes ending the
    item list and padding the chunk to 32 bits (RFC 3550 §6.5).

    One chunk per packet, not one packet with a chunk per sender: aiortc reads the chunks of
    a multi-chunk packet as its own writer lays them out (aligned as a whole, not each on 32
    bits as the RFC says and libwebrtc expects), so only the single chunk reads the same in
    both."""
    item = bytes((_SDES_CNAME, len(cname))) + cname
    body = struct.pack("!I", ssrc) + item + bytes(4 - len(item) % 4)
    return _SDES_HEADER.pack(0x81, _RTCP_SDES, len(body) // 4) + body


def build_reports(infos: list[SenderInfo], limit: int = MAX_COMPOUND_BYTES) -> list[bytes]:
    """RTCP compounds carrying each sender's SR, then an SDES CNAME packet for each, in order,
    each compound at most ``limit`` bytes (a CNAME that does not fit beside its SR is left
    out; one longer than 255 bytes is cut there)."""
    compounds: list[bytes] = []
    srs: list[bytes] = []
    sdes: list[bytes] = []
    size = 0
    for info in infos:
        sr = _sr(info)
        cname = _sdes(info.ssrc, info.cname[:255]) if info.cname is not None else b""
        if len(sr) + len(cname) > limit:
            cname = b""
        if srs and size + len(sr) + len(cname) > limit:
            compounds.append(b"".join(srs + sdes))
            srs, sdes, size = [], [], 0
        srs.append(sr)
        if cname:
            sdes.append(cname)
        size += len(sr) + len(cname)
    if srs:
        compounds.append(b"".join(srs + sdes))
    return compounds


def _info(sender: RTCRtpSender) -> SenderInfo:
    """A sender's figures as aiortc's own report loop reads them; notes the LSR as it does."""
    ntp: int = sender._RTCRtpSender__ntp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__lsr = (ntp >> 16) & 0xFFFFFFFF  # type: ignore[attr-defined]
    sender._RTCRtpSender__lsr_time = time.time()  # type: ignore[attr-defined]
    cname: str | None = sender._RTCRtpSender__cname  # type: ignore[attr-defined]
    return SenderInfo(
        ssrc=sender._ssrc,
        ntp_timestamp=ntp,
        rtp_timestamp=sender._RTCRtpSender__rtp_timestamp,  # type: ignore[attr-defined]
        packet_count=sender._RTCRtpSender__packet_count,  # type: ignore[attr-defined]
        octet_count=sender._RTCRtpSender__octet_count,  # type: ignore[attr-defined]
        cname=cname.encode("utf8") if cname is not None else None,
    )


class _TransportReports:
    """The senders of one DTLS transport and the task that reports for them."""

    def __init__(self, transport: object) -> None:
        self.transport = transport
        self.senders: list[RTCRtpSender] = []
        #: Called before a sender's figures are read, for senders that keep them elsewhere.
        self.refresh: dict[RTCRtpSender, Callable[[], object]] = {}
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            # RFC 3550 §6.3.5's spread, as aiortc's loop: 0.5-1.5 times the interval.
            await asyncio.sleep(0.5 + random.random())
            await self.send()

    async def send(self) -> None:
        senders = [s for s in self.senders if s.transport is self.transport]
        for sender in senders:
            refresh = self.refresh.get(sender)
            if refresh is not None:
                refresh()
        for compound in build_reports([_info(s) for s in senders]):
            try:
                await senders[0].transport._send_rtp(compound)
            except ConnectionError:
                return  # closing: the next tick (if any) tries again


_groups: dict[object, _TransportReports] = {}


def attach(sender: RTCRtpSender, refresh: Callable[[], object] | None = None) -> None:
    """Send ``sender``'s reports with its transport's others (call before ``send()``).
    ``refresh``, if given, is called before each report reads the sender's figures (the
    compiled fan-out keeps them in C and copies them in then)."""
    sender._run_rtcp = lambda: _reports(sender, refresh)  # type: ignore[method-assign]


async def _reports(sender: RTCRtpSender, refresh: Callable[[], object] | None = None) -> None:
    """Stands in for aiortc's ``_run_rtcp`` from ``send()`` until ``stop()`` cancels it."""
    sender._RTCRtpSender__rtcp_started.set()  # type: ignore[attr-defined]
    transport = sender.transport
    group = _groups.get(transport)
    if group is None:
        group = _groups[transport] = _TransportReports(transport)
    group.senders.append(sender)
    if refresh is not None:
        group.refresh[sender] = refresh
    if group.task is None:
        group.task = asyncio.get_running_loop().create_task(group.run(), name="sender-reports")
    try:
        await asyncio.get_running_loop().create_future()  # until stop() cancels
    except asyncio.CancelledError:
        pass
    finally:
        group.senders.remove(sender)
        group.refresh.pop(sender, None)
        if not group.senders:
            _groups.pop(transport, None)
            await cancel_and_wait(group.task)
    try:
        await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
    except Exception:
        logger.debug("BYE not sent", exc_info=True)
    sender._RTCRtpSender__rtcp_exited.set()  # type: ignore[attr-defined]
