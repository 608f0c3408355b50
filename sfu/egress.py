"""The fast way out: SRTP-protect and write straight to the selected ICE pair's socket.

aiortc sends each RTP packet through three coroutine layers (DTLS transport, ICE
transport, aioice connection) before the socket write. On the forwarding path, which
runs once per packet per subscriber, that plumbing costs more than the rewrite itself;
this does the same steps synchronously. Anything unusual (a TURN relay, a transport not
yet or no longer connected) falls back to aiortc's own path.
"""

from __future__ import annotations

from aioice.ice import StunProtocol
from aiortc import RTCDtlsTransport
from aiortc.rtcdtlstransport import State


class Egress:
    """Sends SRTP for one DTLS transport, synchronously when it can."""

    __slots__ = ("_connection", "_dtls", "direct")

    def __init__(self, dtls: RTCDtlsTransport, *, direct: bool) -> None:
        self._dtls = dtls
        self._connection = dtls.transport._connection
        self.direct = direct

    def try_send(self, packet: bytes) -> bool:
        """Send ``packet`` now if the direct path applies; False means: use ``send``."""
        if not self.direct:
            return False
        dtls = self._dtls
        pair = self._connection._nominated.get(1)
        # dtls.state builds a string on every call; the enum compare is cheap.
        if (
            pair is None
            or dtls._state is not State.CONNECTED
            or type(pair.protocol) is not StunProtocol
        ):
            return False
        transport = pair.protocol.transport
        if transport is None:
            return False
        transport.sendto(dtls._tx_srtp.protect(packet), pair.remote_addr)
        return True

    async def send(self, packet: bytes) -> None:
        """aiortc's own path (raises ConnectionError once the transport is closed)."""
        await self._dtls._send_rtp(packet)
