"""The lean media path of synthetic receivers, under aiortc's own ICE and DTLS.

aiortc hands every received datagram through aioice's queue to the DTLS transport's receive
loop and on to an awaited handler: several coroutine steps and an attempted STUN parse per
packet, the tester's largest per-packet cost. Once DTLS is up (the SRTP keys exist), this
puts a plain function in front of each ICE socket instead: SRTP packets are decrypted
(libsrtp, as aiortc does) and handed on synchronously; STUN (consent freshness), DTLS and
SRTCP still go aiortc's way, so the peer keeps doing ICE and DTLS properly. RTCP feedback
(NACK, PLI) goes out the same short way: SRTCP-protected and written to the nominated pair.

The private attributes used are those of the pinned aiortc/aioice (checked by ``available``).
"""

from __future__ import annotations

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
    aiortc as before (its senders need the feedback). SRTCP keeps aiortc's path, lean or not."""
    original = dtls._handle_rtcp_data
    if getattr(original, "_coshop_reads", False):
        return

    async def handle_rtcp_data(data: bytes) -> None:
        handler(data, time.time())
        await original(data)

    handle_rtcp_data._coshop_reads = True  # type: ignore[attr-defined]
    dtls._handle_rtcp_data = handle_rtcp_data


def available(dtls: Any) -> bool:
    """Whether ``dtls`` (an RTCDtlsTransport) has what the lean path hooks, keys included."""
    connection = getattr(getattr(dtls, "transport", None), "_connection", None)
    return (
        getattr(dtls, "_rx_srtp", None) is not None
        and getattr(dtls, "_tx_srtp", None) is not None
        and isinstance(getattr(connection, "_protocols", None), list)
        and isinstance(getattr(connection, "_nominated", None), dict)
    )


def install(dtls: Any, handler: RtpHandler) -> bool:
    """Send ``dtls``'s incoming SRTP to ``handler`` directly; False if it cannot (yet)."""
    if not available(dtls):
        return False
    unprotect = dtls._rx_srtp.unprotect
    clock = time.time
    for protocol in dtls.transport._connection._protocols:
        if getattr(protocol, "_coshop_lean", False):
            continue
        original = protocol.datagram_received

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
