"""An ICE socket read in batches by the compiled receive path, past the event loop's transport.

uvloop (libuv) calls the socket protocol once per datagram, and formats each source address
into a tuple for it. Once DTLS is up, ``take_over`` moves an ICE socket from the event
loop's datagram transport to a ``SocketReader`` (``loadtest._compiled_receive``): the
socket is ``dup``-ed, the loop's transport is detached from the protocol and closed (so it
no longer reads; its descriptor closes, the socket stays open through ours), and
``loop.add_reader`` calls the reader on readiness (or, with a pacing period, a
``loadtest.pacing.SocketDrain`` on every tick), which drains the socket with
``recvmmsg``, each datagram's arrival time being the kernel's (``SO_TIMESTAMPNS``):
SRTP packets are unprotected and accounted in C (the PacketReader's path); STUN (consent
freshness), DTLS, SRTCP and anything unusual reach the protocol's own
``datagram_received`` with the source address, as before.

The protocol gets a ``BatchedTransport`` in place of the loop's: aioice, aiortc and the
lean paths send through it (one ``sendto`` in C, no Python frame), and aioice's
``close()`` ends it: the reader is removed from the loop, the descriptor closed, and the
protocol's ``connection_lost`` called, as the loop's transport would.

Scenario key ``batched_receive`` (on by default; docs/LOADTEST.md has the figures) says
whether workers do this, on the compiled path; off, the compiled reader takes datagrams
from the loop one call each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from loadtest._compiled_receive import PacketReader, SocketReader
from loadtest.pacing import SocketDrain

logger = logging.getLogger(__name__)

__all__ = ["RECEIVE_BUFFER", "BatchedTransport", "take_over"]

#: SO_RCVBUF asked for a taken-over ICE socket: about 0.4 s of a full room's media (20 peers:
#: 1,300 datagrams of ~1.1 kB a second per socket); the default (net.core.rmem_default,
#: 208 KiB, half of it for data) held about 70 ms.
RECEIVE_BUFFER = 1 << 20


class BatchedTransport(asyncio.DatagramTransport):
    """What an ICE socket protocol sends through once ``take_over`` moved its socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: Any, reader: SocketReader,
                 extra: dict[str, Any], drain: SocketDrain | None = None) -> None:
        super().__init__(extra)
        self._loop = loop
        self._protocol = protocol
        self._reader = reader
        self._fd = reader.fd
        self._drain = drain
        self._closing = False
        # The reader's own method: a send costs no Python frame.
        self.sendto = reader.sendto  # type: ignore[method-assign,assignment]
        if drain is not None:
            drain.add(reader)
        else:
            loop.add_reader(self._fd, reader.read_ready)

    @property
    def reader(self) -> SocketReader:
        return self._reader

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._drain is not None:
            self._drain.discard(self._reader)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.remove_reader(self._fd)
        self._reader.close()
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self._closing

    def get_protocol(self) -> Any:
        return self._protocol

    def set_protocol(self, protocol: Any) -> None:
        self._protocol = protocol


def take_over(protocol: Any, packet_reader: PacketReader, loop: asyncio.AbstractEventLoop,
              drain: SocketDrain | None = None) -> BatchedTransport | None:
    """Read ``protocol``'s socket (an aioice StunProtocol's) in batches from now on, through
    ``packet_reader``, whose ``original`` must be the protocol's own ``datagram_received``:
    on readiness, or on ``drain``'s ticks; None (nothing changed) if its transport has no
    socket or is closing."""
    old = getattr(protocol, "transport", None)
    if old is None or old.is_closing():
        return None
    sock = old.get_extra_info("socket")
    if sock is None:
        return None
    # A receive buffer for a stall of the worker's loop, not only for one tick: what a
    # tester's own hiccup drops would count as the node's loss. The kernel caps it at
    # net.core.rmem_max (the figure it took is in the socket's SO_RCVBUF, doubled).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    fd = os.dup(sock.fileno())
    try:
        reader = SocketReader(fd=fd, reader=packet_reader,
                              error_received=protocol.error_received)
    except BaseException:
        os.close(fd)
        raise
    extra = {"sockname": old.get_extra_info("sockname")}
    # The loop's transport stops reading by being closed, away from the protocol (its
    # connection_lost would end aioice's protocol); its descriptor is its own, ours stays.
    old.set_protocol(asyncio.DatagramProtocol())
    old.close()
    transport = BatchedTransport(loop, protocol, reader, extra, drain)
    protocol.transport = transport
    return transport
