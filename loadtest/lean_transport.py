"""The lean media path of synthetic receivers, under aiortc's own ICE and DTLS.

aiortc hands every received datagram through aioice's queue to the DTLS transport's receive
loop and on to an awaited handler: several coroutine steps and an attempted STUN parse per
packet, the tester's largest per-packet cost. Once DTLS is up (the SRTP keys exist), this
puts a plain function in front of each ICE socket instead: SRTP packets are decrypted
(libsrtp, as aiortc does) and handed on synchronously; STUN (consent freshness), DTLS and
SRTCP still go aiortc's way, so the peer keeps doing ICE and DTLS properly. RTCP feedback
(NACK, PLI) goes out the same short way: SRTCP-protected and written to the nominated pair.

Received SRTCP takes a short way too (``rtcp_shortcut``): decrypted at once and shown to the
peer's own RTCP reader; only what aiortc's senders and receivers act on (feedback: NACK,
PLI, FIR; BYE) goes on to aiortc, where sender reports, receiver reports, REMB and SDES,
nearly all of a node's RTCP, only fed statistics nothing reads on this path.

The private attributes used are those of the pinned aiortc/aioice (checked by ``available``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pylibsrtp

logger = logging.getLogger(__name__)

RtpHandler = Callable[[bytes, float], None]
"""Takes a decrypted RTP packet and its arrival time (epoch seconds)."""
RtcpHandler = Callable[[bytes, float], None]
"""Takes a decrypted (compound) RTCP packet and its arrival time (epoch seconds)."""


def read_rtcp(dtls: Any, handler: RtcpHandler) -> None:
    """Show ``dtls``'s incoming RTCP (after SRTCP) to ``handler`` first, then hand it on to
    aiortc as before (its senders need the feedback): until the lean path is up, and on
    aiortc's own receive path."""
    original = dtls._handle_rtcp_data
    if getattr(original, "_coshop_reads", False):
        return

    async def handle_rtcp_data(data: bytes) -> None:
        handler(data, time.time())
        await original(data)

    handle_rtcp_data._coshop_reads = True  # type: ignore[attr-defined]
    handle_rtcp_data._coshop_original = original  # type: ignore[attr-defined]
    dtls._handle_rtcp_data = handle_rtcp_data


_RTCP_BYE, _RTCP_RTPFB, _RTCP_PSFB = 203, 205, 206  # RFC 3550 §6.6, RFC 4585 §6.1
_PSFB_REMB = 15  # draft-alvestrand-rmcat-remb: an application-layer PSFB, FMT 15


def acted_on_by_aiortc(data: bytes) -> bool:
    """Whether a decrypted compound RTCP packet holds anything aiortc's senders or receivers
    act on: transport or payload feedback (NACK, PLI, FIR; not REMB, which only sets an
    encoder's target bitrate, and the tester's encoders replay a loop) or a BYE."""
    pos = 0
    while pos + 4 <= len(data):
        packet_type = data[pos + 1]
        if packet_type in (_RTCP_BYE, _RTCP_RTPFB) or (
                packet_type == _RTCP_PSFB and data[pos] & 0x1F != _PSFB_REMB):
            return True
        pos += 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
    return False


DatagramHandler = Callable[[bytes, tuple[Any, ...]], None]


def rtcp_shortcut(dtls: Any, handler: RtcpHandler,
                  original: DatagramHandler) -> DatagramHandler:
    """A socket protocol's ``datagram_received`` in front of ``original``: SRTCP is decrypted
    here and shown to ``handler`` (the peer's ``read_rtcp`` reader), and only what
    ``acted_on_by_aiortc`` goes on to aiortc's RTCP handler (a task, as aiortc's receive loop
    awaits it); anything else goes to ``original`` (aioice: STUN, DTLS, ...). Call once the
    lean path is up (``available``)."""
    aiortc_handler = getattr(dtls._handle_rtcp_data, "_coshop_original",
                             dtls._handle_rtcp_data)
    unprotect_rtcp = dtls._rx_srtp.unprotect_rtcp
    tasks: set[asyncio.Task[None]] = set()

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) > 1 and 127 < data[0] < 192 and 191 < data[1] < 224:
            try:
                plain = unprotect_rtcp(data)
            except pylibsrtp.Error:
                return  # a replay, a stale key: as aiortc, dropped
            handler(plain, time.time())
            if acted_on_by_aiortc(plain):
                # Held until done (the loop keeps only a weak reference to a task).
                task = asyncio.get_running_loop().create_task(aiortc_handler(plain))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            return
        original(data, addr)

    return datagram_received


def available(dtls: Any) -> bool:
    """Whether ``dtls`` (an RTCDtlsTransport) has what the lean path hooks, keys included."""
    connection = getattr(getattr(dtls, "transport", None), "_connection", None)
    return (
        getattr(dtls, "_rx_srtp", None) is not None
        and getattr(dtls, "_tx_srtp", None) is not None
        and isinstance(getattr(connection, "_protocols", None), list)
        and isinstance(getattr(connection, "_nominated", None), dict)
    )


def install(dtls: Any, handler: RtpHandler, rtcp: RtcpHandler | None = None) -> bool:
    """Send ``dtls``'s incoming SRTP to ``handler`` directly, and with ``rtcp``, its SRTCP
    the short way (``rtcp_shortcut``); False if it cannot (yet)."""
    if not available(dtls):
        return False
    unprotect = dtls._rx_srtp.unprotect
    clock = time.time
    for protocol in dtls.transport._connection._protocols:
        if getattr(protocol, "_coshop_lean", False):
            continue
        original = protocol.datagram_received
        if rtcp is not None:
            original = rtcp_shortcut(dtls, rtcp, original)

        def datagram_received(
            data: bytes, addr: tuple[Any, ...], original: Callable[..., None] = original
        ) -> None:
            # RFC 7983 §7: 128-191 is RTP or RTCP; RTCP's packet types are 192-223 (RFC 5761 §4).
            if 127 < data[0] < 192 and not 191 < data[1] < 224:
                try:
                    plain = unprotect(data)
                except pylibsrtp.Error:
                    return  # a replay or a packet of a stale key: libsrtp says no
                handler(plain, clock())
            else:
                original(data, addr)

        protocol.datagram_received = datagram_received
        protocol._coshop_lean = True
    return True


class RtcpWriter:
    """Sends RTCP packets at once, without a coroutine: SRTCP-protect and write to the pair."""

    def __init__(self, dtls: Any) -> None:
        self._dtls = dtls

    def send(self, packet: bytes) -> bool:
        """Protect and send ``packet``; False if the connection is not (or no longer) up."""
        dtls = self._dtls
        if not available(dtls):
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return False
        pair.protocol.transport.sendto(dtls._tx_srtp.protect_rtcp(packet), pair.remote_addr)
        return True
