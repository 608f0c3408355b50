"""The compiled forwarding step: header, SRTP and socket write in one C call.

``sfu._compiled_egress`` is an optional C extension (setup.py builds it when a compiler
is there). Per forwarded copy the Python path pays for several call boundaries (struct
packing, pylibsrtp's cffi call and buffer copies, the event loop's ``sendto``); the
extension does the same in one. It calls libsrtp through the function pointer pylibsrtp
already holds, on the very ``srtp_t`` of aiortc's transmit session, so aiortc's own sends
(RTX, RTCP-less slow path) and these share one rollover counter (RFC 3711 §3.3.1).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pylibsrtp import Session

from sfu import srtp_binding
from sfu.rtp_writer import StreamLayout

try:
    from sfu._compiled_egress import (
        ForwardCopy,
        PacketSender,
        SrtpError,
        StreamRewriter,
        fan_out,
    )
except ImportError as exc:  # not built: no C compiler where it was installed
    PacketSender = None  # type: ignore[assignment,misc]
    SrtpError = None  # type: ignore[assignment,misc]
    ForwardCopy = None  # type: ignore[assignment,misc]
    StreamRewriter = None  # type: ignore[assignment,misc]
    fan_out = None  # type: ignore[assignment]
    UNAVAILABLE_REASON: str | None = str(exc)
else:
    UNAVAILABLE_REASON = srtp_binding.mismatch("srtp_protect")
    if UNAVAILABLE_REASON is not None:
        PacketSender = None  # type: ignore[assignment,misc]
        ForwardCopy = None  # type: ignore[assignment,misc]
        StreamRewriter = None  # type: ignore[assignment,misc]
        fan_out = None  # type: ignore[assignment]

#: True when the extension was built and imports.
AVAILABLE = PacketSender is not None

__all__ = [
    "AVAILABLE",
    "UNAVAILABLE_REASON",
    "ForwardCopy",
    "PacketSender",
    "SrtpError",
    "StreamRewriter",
    "bind",
    "fan_out",
    "srtp_protect_handle",
]


def srtp_protect_handle(session: Session) -> tuple[int, int]:
    """(address of libsrtp's srtp_protect, the session's srtp_t) as integers."""
    return srtp_binding.handle("srtp_protect", session)


def bind(
    layout: StreamLayout,
    session: Session,
    transport: asyncio.DatagramTransport,
    remote_addr: tuple[Any, ...],
) -> PacketSender:
    """A sender of ``layout``'s packets, protected with ``session`` and written to the socket
    of ``transport`` (a UDP socket of family AF_INET or AF_INET6) for ``remote_addr``.
    Raises ValueError for an address that socket cannot send to."""
    assert PacketSender is not None, UNAVAILABLE_REASON
    sock = transport.get_extra_info("socket")
    protect, srtp = srtp_protect_handle(session)
    return PacketSender(
        ssrc=layout.ssrc,
        payload_type=layout.payload_type,
        mid_element=layout.mid_element,
        abs_send_time_id=layout.abs_send_time_id,
        audio_level_id=layout.audio_level_id,
        protect=protect,
        srtp=srtp,
        session=session,
        fd=sock.fileno(),
        family=int(sock.family),
        remote_addr=remote_addr,
        transport=transport,
    )
