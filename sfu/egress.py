"""The fast way out: SRTP-protect and write straight to the selected ICE pair's socket.

aiortc sends each RTP packet through three coroutine layers (DTLS transport, ICE
transport, aioice connection) before the socket write. On the forwarding path, which
runs once per packet per subscriber, that plumbing costs more than the rewrite itself;
this does the same steps synchronously. Anything unusual (a TURN relay, a transport not
yet or no longer connected) falls back to aiortc's own path.

With the compiled egress (sfu.compiled_egress) the header writing, SRTP and socket write
are one C call; the checks of when the direct path applies stay here, shared by both.
"""

from __future__ import annotations

import logging
import socket

from aioice.ice import CandidatePair, StunProtocol
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import State
from pylibsrtp import Session

from sfu import compiled_egress
from sfu.rtp_writer import StreamLayout

logger = logging.getLogger(__name__)

_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class Egress:
    """Sends SRTP for one DTLS transport, synchronously when it can."""

    __slots__ = (
        "_bound_pair",
        "_bound_srtp",
        "_connection",
        "_dtls",
        "_layout",
        "_packet_sender",
        "compiled",
        "direct",
    )

    def __init__(
        self, dtls: RTCDtlsTransport, *, direct: bool, layout: StreamLayout | None = None
    ) -> None:
        self._dtls = dtls
        self._connection = dtls.transport._connection
        self.direct = direct
        #: Use the compiled egress for direct sends (needs the stream's layout).
        self.compiled = layout is not None and compiled_egress.AVAILABLE
        self._layout = layout
        self._packet_sender: compiled_egress.PacketSender | None = None
        self._bound_pair: CandidatePair | None = None
        self._bound_srtp: Session | None = None

    def _direct_pair(self) -> CandidatePair | None:
        """The nominated pair when a direct send applies to it now, else None."""
        pair = self._connection._nominated.get(1)
        # dtls.state builds a string on every call; the enum compare is cheap.
        if (
            pair is None
            or self._dtls._state is not State.CONNECTED
            or type(pair.protocol) is not StunProtocol
            or pair.protocol.transport is None
            # A closing transport closes its socket soon after: the compiled sender must not
            # write to that descriptor number, which a new socket may then have.
            or pair.protocol.transport.is_closing()
        ):
            return None
        return pair

    def try_send(self, packet: bytes) -> bool:
        """Send ``packet`` now if the direct path applies; False means: use ``send``."""
        if not self.direct:
            return False
        pair = self._direct_pair()
        if pair is None:
            return False
        pair.protocol.transport.sendto(self._dtls._tx_srtp.protect(packet), pair.remote_addr)
        return True

    def packet_sender(self) -> compiled_egress.PacketSender | None:
        """The compiled sender for the current pair and session, when a direct send applies
        and the extension is in use; None means: write with RtpWriter, then ``try_send``."""
        if not (self.compiled and self.direct):
            return None
        pair = self._direct_pair()
        if pair is None:
            return None
        sender = self._packet_sender
        if pair is self._bound_pair and self._dtls._tx_srtp is self._bound_srtp:
            return sender
        return self._bind(pair)

    def _bind(self, pair: CandidatePair) -> compiled_egress.PacketSender | None:
        """A compiled sender for a (new) pair; off for good where it cannot apply."""
        assert compiled_egress.PacketSender is not None and self._layout is not None
        transport = pair.protocol.transport
        sock = transport.get_extra_info("socket")
        session = self._dtls._tx_srtp
        family = getattr(sock, "family", None)
        if sock is None or family not in _FAMILIES:
            logger.warning("compiled egress off for %s: no UDP socket to write to", pair)
            self.compiled = False
            return None
        try:
            sender = compiled_egress.bind(self._layout, session, transport, pair.remote_addr)
        except ValueError as exc:  # e.g. an address the socket's family cannot reach
            logger.warning("compiled egress off for %s: %s", pair, exc)
            self.compiled = False
            return None
        self._packet_sender = sender
        self._bound_pair = pair
        self._bound_srtp = session
        return sender

    def bind_copy(self, copy: compiled_egress.ForwardCopy) -> None:
        """Hand the current compiled sender to ``copy`` (the compiled fan-out) together with
        what ``_direct_pair`` checks, so that it re-checks the same per packet in C: this
        pair still nominated, DTLS connected, this SRTP session, its transport not closing."""
        pair, sender = self._bound_pair, self._packet_sender
        assert pair is not None and sender is not None and self._bound_srtp is not None
        copy.bind(
            packet_sender=sender,
            nominated=self._connection._nominated,
            pair=pair,
            dtls=self._dtls,
            connected=State.CONNECTED,
            srtp=self._bound_srtp,
            transport=pair.protocol.transport,
        )

    async def send(self, packet: bytes) -> None:
        """aiortc's own path (raises ConnectionError once the transport is closed)."""
        await self._dtls._send_rtp(packet)


def egress_path(*, direct_send: bool, compiled: bool, fanout: bool = False) -> str:
    """Which way forwarded packets leave, in words (logged once at start-up)."""
    if not direct_send:
        return "aiortc's coroutine send path (direct_send off)"
    if not compiled:
        return "direct egress, Python (compiled_egress off)"
    if not compiled_egress.AVAILABLE:
        return (
            "direct egress, Python (compiled egress not built: "
            f"{compiled_egress.UNAVAILABLE_REASON})"
        )
    if fanout:
        return (
            "direct egress, compiled fan-out (sfu._compiled_egress: each packet's steady-state "
            "copies rewritten, protected, sent and accounted for in one C call)"
        )
    return "direct egress, compiled (sfu._compiled_egress: header, SRTP and sendto in C)"
