"""The fast way in: SRTP media handled as each datagram is read from the ICE socket.

aiortc hands every datagram to aioice's STUN parser first (a ValueError for each one that
is not STUN), then through an asyncio.Queue to the DTLS transport's reader coroutine, which
awaits three more coroutine layers per RTP packet. Once a transport is connected, this does
the same steps synchronously for RTP, demultiplexed by its first byte (RFC 7983 §7:
128-191): SRTP unprotect, parse, route to the receiver, and the track's synchronous handler
(TrackSource), whose rare awaits (a NACK, a slow send, REMB) run afterwards in one owned
task, in arrival order. Everything else keeps aiortc's own path, unchanged: STUN and DTLS
records, SRTCP (to aiortc's RTCP handlers, which the SFU hooks), a TURN relay, a transport
not or no longer connected. The counterpart of sfu/egress.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import pylibsrtp
from aioice.ice import Connection, StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpReceiver
from aiortc.rtcdtlstransport import State
from aiortc.rtp import HeaderExtensions, RtpPacket

from sfu import compiled_ingress
from sfu.ntp_clock import ntp_ms_now
from sfu.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

#: Handles one parsed RTP packet now; returns what is left to await (or None).
RtpHandler = Callable[[RtpPacket, int], Coroutine[Any, Any, None] | None]

#: The open Ingress of each DTLS transport (a publisher's audio and video share one); an
#: Ingress leaves when its last receiver detaches.
_ingresses: dict[RTCDtlsTransport, Ingress] = {}


def attach(
    dtls: RTCDtlsTransport, receiver: RTCRtpReceiver, handler: RtpHandler, *, compiled: bool = True
) -> Ingress:
    """Route ``receiver``'s RTP on ``dtls`` to ``handler`` (one Ingress per transport);
    ``compiled``: unprotect with sfu._compiled_ingress where it is built."""
    ingress = _ingresses.get(dtls)
    if ingress is None:
        ingress = _ingresses[dtls] = Ingress(dtls, compiled=compiled)
    ingress.register(receiver, handler)
    return ingress


class Ingress:
    """Receives SRTP for one DTLS transport, synchronously once it can."""

    def __init__(self, dtls: RTCDtlsTransport, *, compiled: bool = True) -> None:
        self._dtls = dtls
        self._compiled = compiled and compiled_ingress.AVAILABLE
        self._connection: Connection = dtls.transport._connection
        self._handlers: dict[object, RtpHandler] = {}
        #: Awaits left over by packets, run in order by ``_worker``; while any is pending,
        #: later packets queue behind them so none overtakes another.
        self._backlog: deque[Coroutine[Any, Any, None]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._protocol: StunProtocol | None = None
        self._component = 1
        self._original_recv: Callable[[], Coroutine[Any, Any, bytes]] | None = None
        self._stun_received: Callable[[bytes | str, tuple[Any, ...]], None] | None = None
        #: True once aiortc's reader has drained every datagram queued before: from then
        #: on, RTP is handled here and never queued there.
        self.direct = False
        self.closed = False
        #: RTP packets handled here (for tests and stats).
        self.packets = 0
        #: The compiled SRTP unprotect, bound to the session it was made for.
        self._unprotector: compiled_ingress.Unprotector | None = None
        #: The header extension ids the transport's map holds (aiortc sets them on it in
        #: place as receivers are configured): what the compiled parse reads.
        self._extension_ids: HeaderExtensions = compiled_ingress.extension_ids(
            dtls._rtp_header_extensions_map
        )

    def register(self, receiver: RTCRtpReceiver, handler: RtpHandler) -> None:
        """Hand ``receiver``'s packets to ``handler``; the first one hooks the socket."""
        self._handlers[receiver] = handler
        if self._protocol is None:
            self._hook()

    def _hook(self) -> None:
        dtls = self._dtls
        pair = self._connection._nominated.get(1)
        # A TURN relay (another protocol class) or a transport not connected: aiortc's path.
        if (
            pair is None
            or type(pair.protocol) is not StunProtocol
            or dtls._state is not State.CONNECTED
            or dtls._rx_srtp is None
        ):
            return
        protocol = self._protocol = pair.protocol
        self._component = protocol.local_candidate.component
        self._stun_received = protocol.datagram_received
        # An instance attribute: asyncio and uvloop look the method up per datagram.
        protocol.datagram_received = self._datagram_received  # type: ignore[method-assign,assignment]
        # Direct handling may only start once aiortc's reader has nothing queued and is not
        # inside a packet: the moment it asks for the next datagram with the queue empty.
        ice = dtls.transport
        self._original_recv = ice._recv
        ice._recv = self._aiortc_recv

    async def _aiortc_recv(self) -> bytes:
        original = self._original_recv
        assert original is not None
        if not self.direct and self._connection._queue.empty():
            self.direct = True
            self._restore_recv()
        return await original()

    def _restore_recv(self) -> None:
        if self._original_recv is not None:
            self._dtls.transport._recv = self._original_recv
            self._original_recv = None

    def _datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # RFC 7983 §7: 128-191 is RTP or RTCP; aioice's STUN parse is skipped for them.
        first = data[0] if data else 0  # bytes: aioice opens datagram sockets only
        if 127 < first < 192 and self.direct and self._dtls._state is State.CONNECTED:
            # aiortc's is_rtcp: packet types 192-208 are RTCP (RFC 5761 §4), and take
            # aiortc's path to its RTCP handlers, which the SFU hooks (a few a second).
            if len(data) > 1 and 191 < data[1] < 209:
                self._connection.data_received(data, self._component)
            else:
                self._rtp(data)
            return
        assert self._stun_received is not None
        self._stun_received(data, addr)

    def _rtp(self, data: bytes) -> None:
        dtls = self._dtls
        arrival_time_ms = ntp_ms_now()  # aiortc.clock.current_ms(), without a datetime
        unprotector = self._unprotector
        if unprotector is not None and unprotector.session is dtls._rx_srtp:
            # One C call: unprotected and parsed into aiortc's RtpPacket as aiortc does.
            packet = unprotector.receive(data, self._extension_ids)
            if packet is None:
                return  # replayed, forged or not RTP: aiortc drops it as well
        else:
            plain = self._unprotect(data)
            if plain is None:
                return  # replayed or forged: aiortc drops it as well
            try:
                packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
            except ValueError:
                return  # not RTP after all
        receiver = dtls._rtp_router.route_rtp(packet)
        if receiver is None:
            return
        self.packets += 1
        handler = self._handlers.get(receiver)
        if self._backlog or handler is None:
            self._defer(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))
            return
        try:
            rest = handler(packet, arrival_time_ms)
        except Exception:
            logger.exception("RTP handler failed")
            return
        if rest is not None:
            self._defer(rest)

    def _unprotect(self, data: bytes) -> bytes | None:
        """SRTP-unprotect with the transport's current session: bound to the compiled
        unprotector where it is built (again after a new session), else pylibsrtp's."""
        session = self._dtls._rx_srtp
        if session is None:
            return None
        if self._compiled:
            self._unprotector = compiled_ingress.bind(session)
            return self._unprotector.unprotect(data)
        try:
            plain: bytes = session.unprotect(data)
        except pylibsrtp.Error:
            return None
        return plain

    def _defer(self, coro: Coroutine[Any, Any, None]) -> None:
        if self.closed:
            coro.close()
            return
        self._backlog.append(coro)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), name="ingress-backlog"
            )

    async def _drain(self) -> None:
        backlog = self._backlog
        try:
            while backlog:
                try:
                    await backlog[0]
                except ConnectionError:
                    pass  # the transport is closing: what is left goes nowhere anyway
                except Exception:
                    logger.exception("deferred RTP handling failed")
                finally:
                    del backlog[0]  # awaited (or cancelled): done
        finally:
            self._worker = None

    async def detach(self, receiver: RTCRtpReceiver) -> None:
        """Stop routing ``receiver``'s packets; the last one closes the ingress."""
        self._handlers.pop(receiver, None)
        if not self._handlers:
            await self.close()

    async def close(self) -> None:
        """Give the socket back to aiortc and finish the backlog task (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.direct = False
        if _ingresses.get(self._dtls) is self:
            del _ingresses[self._dtls]
        if self._protocol is not None:
            del self._protocol.datagram_received
        self._restore_recv()
        await cancel_and_wait(self._worker)
        while self._backlog:
            self._backlog.popleft().close()
