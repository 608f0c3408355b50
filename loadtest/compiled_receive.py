"""The compiled receive path of synthetic receivers: unprotect and account in one C call.

``loadtest._compiled_receive`` is an optional C extension (setup.py builds it when a
compiler is there). It takes the place of ``loadtest.lean_transport``'s Python handler in
front of each ICE socket: SRTP is decrypted with libsrtp (the function pointer pylibsrtp
holds, on aiortc's own receive session), and the packet is accounted exactly as
``Receiver.on_rtp`` would, writing the same route and reception objects; the repair model
(``Receiver.repair_packet``), stamps and anything unusual stay in Python. STUN, DTLS and
SRTCP keep aiortc's way, as on the lean path.

Scenario key ``compiled_receive`` (on by default, when built) says whether workers use it;
the worker logs which receive path it runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pylibsrtp import Session

from loadtest import lean_transport, srtp_binding
from loadtest.nack import MAX_AGE
from loadtest.pacing import SocketDrain
from loadtest.receiver import Receiver
from loadtest.reception_report import next_report_delay
from loadtest.stamp import Stamp

try:
    from loadtest._compiled_receive import PacketReader
except ImportError as exc:  # not built: no C compiler where it was installed
    PacketReader = None  # type: ignore[assignment,misc]
    UNAVAILABLE_REASON: str | None = str(exc)
    batched_socket: Any = None
else:
    from loadtest import batched_socket

    UNAVAILABLE_REASON = srtp_binding.mismatch("srtp_unprotect")
    if UNAVAILABLE_REASON is not None:
        PacketReader = None  # type: ignore[assignment,misc]

#: True when the extension was built and imports.
AVAILABLE = PacketReader is not None

__all__ = ["AVAILABLE", "UNAVAILABLE_REASON", "PacketReader", "install", "reader"]


def srtp_unprotect_handle(session: Session) -> tuple[int, int]:
    """(address of libsrtp's srtp_unprotect, the session's srtp_t) as integers."""
    return srtp_binding.handle(session, "srtp_unprotect")


def reader(
    session: Session,
    receiver: Receiver,
    handler: lean_transport.RtpHandler,
    original: Any = None,
) -> PacketReader:
    """A reader that unprotects with ``session`` and accounts into ``receiver``; what it
    leaves to Python goes to ``handler(data, now)`` (which must end in ``receiver.on_rtp``),
    what is not SRTP to ``original(data, addr)``."""
    assert PacketReader is not None, UNAVAILABLE_REASON
    unprotect, srtp = srtp_unprotect_handle(session)
    return PacketReader(
        unprotect=unprotect,
        srtp=srtp,
        session=session,
        original=original,
        handler=handler,
        rtx_of=receiver.rtx_of,
        ssrc_slots=receiver.ssrc_slots,
        streams=receiver._streams,
        repair_packet=receiver.repair_packet,
        on_stamp=receiver._on_stamp,
        stamp_type=Stamp,
        report_delay=next_report_delay,
        max_age=MAX_AGE,
    )


def install(dtls: Any, receiver: Receiver, handler: lean_transport.RtpHandler, *,
            batched: bool = False, drain: SocketDrain | None = None,
            rtcp: lean_transport.RtcpHandler | None = None) -> bool:
    """Put a compiled reader in front of each of ``dtls``'s ICE sockets; False if it cannot
    (yet: no keys; or not built). ``batched``: the reader reads the socket itself, in
    batches (``loadtest.batched_socket``), where the socket can be taken over: on
    readiness, or on the ticks of ``drain`` (``loadtest.pacing``). ``rtcp``: SRTCP goes the
    short way to it (``lean_transport.rtcp_shortcut``)."""
    if PacketReader is None or not lean_transport.available(dtls):
        return False
    loop = asyncio.get_running_loop() if batched else None
    for protocol in dtls.transport._connection._protocols:
        if getattr(protocol, "_coshop_lean", False):
            continue
        original = protocol.datagram_received
        if rtcp is not None:
            original = lean_transport.rtcp_shortcut(dtls, rtcp, original)
        packet_reader = reader(dtls._rx_srtp, receiver, handler, original)
        if loop is None or batched_socket.take_over(protocol, packet_reader, loop,
                                                    drain) is None:
            protocol.datagram_received = packet_reader.datagram_received
        protocol._coshop_lean = True
    return True
