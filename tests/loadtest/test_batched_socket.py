"""The batched socket reader (loadtest.batched_socket, SocketReader in loadtest._compiled_receive)
against the per-datagram paths it replaces: over a real UDP socket, the same datagrams leave the
same receiver state as the lean Python path (Hypothesis), and whatever is not SRTP (STUN, SRTCP,
junk) reaches the protocol's own handler with its source address; and with real aiortc peers
against a real ``coshop serve``, on both event loops: the ICE sockets are taken over, STUN
transactions (consent) and SRTCP (sender reports) still work, and closing gives the socket back.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import select
import socket
import time
from collections import deque
from typing import Any
from unittest import mock

import aiohttp
import pytest
import uvloop
from aiortc import rtp as aiortc_rtp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest import batched_socket, compiled_receive, lean_transport
from loadtest._compiled_receive import SocketReader
from loadtest.media import cached_video, encode_audio
from loadtest.peer import SyntheticPeer
from loadtest.presets import PRESETS
from tests.loadtest.conftest import Server, until
from tests.loadtest.test_compiled_receive import (
    AUDIO,
    VIDEO,
    FakeProtocol,
    Side,
    Step,
    apply,
    media_packets,
    scenarios,
    srtp_pair,
)

STUN = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12)  # a binding request's header


class Protocol(FakeProtocol):
    """A socket protocol that keeps what it was handed, with the source address."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[bytes, tuple[Any, ...]]] = []
        self.errors: list[Exception] = []

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.got.append((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


class Clock:
    """Arrival times handed out in order: the two paths see the same ones."""

    def __init__(self, times: list[float]) -> None:
        self._times = deque(times)
        self._last = times[0] if times else 0.0

    def __call__(self) -> float:
        if self._times:
            self._last = self._times.popleft()
        return self._last


def wire_steps(steps: list[Step], extras: list[str]) -> list[Step]:
    """``steps`` as they arrive on the wire: SRTP-protected (what cannot be, as it is), with
    STUN, SRTCP and junk datagrams among them."""
    tx, _ = srtp_pair()
    out: list[Step] = []
    rtcp = bytes(aiortc_rtp.RtcpSrPacket(ssrc=VIDEO, sender_info=aiortc_rtp.RtcpSenderInfo(
        ntp_timestamp=1 << 40, rtp_timestamp=0, packet_count=1, octet_count=1)))
    for i, (kind, value, now) in enumerate(steps):
        if kind == "rtp":
            with contextlib.suppress(Exception):  # too short or not RTP: sent as it is
                value = tx.protect(value)
        out.append((kind, value, now))
        extra = extras[i % len(extras)] if extras else "none"
        if extra == "stun":
            out.append(("rtp", STUN, now))
        elif extra == "srtcp":
            out.append(("rtp", tx.protect_rtcp(rtcp), now))
        elif extra == "junk":
            out.append(("rtp", bytes([0x17, 0xFE, 0xFD]) + bytes(30), now))  # DTLS-looking
        elif extra == "replay" and kind == "rtp":
            out.append(("rtp", value, now))
    return out


def run_python(steps: list[Step],
               src: tuple[str, int]) -> tuple[dict[str, Any], Protocol, set[int]]:
    """The lean Python path: lean_transport's hook, each datagram handed to it."""
    side, proto = Side(), Protocol()
    _, rx = srtp_pair()
    times = [now for kind, _, now in steps if kind == "rtp"]

    class Connection:
        _protocols = [proto]
        _nominated: dict[int, Any] = {}

    class Dtls:
        _rx_srtp = rx
        _tx_srtp = rx
        transport = type("Ice", (), {"_connection": Connection()})()

    with mock.patch("loadtest.lean_transport.time.time", Clock(times)):
        assert lean_transport.install(Dtls(), side.receiver.on_rtp)
    hook = proto.datagram_received
    proto.datagram_received = Protocol.datagram_received.__get__(proto)  # type: ignore[method-assign]
    random.seed(7)
    raised: set[int] = set()
    for i, (kind, value, now) in enumerate(steps):
        try:
            if kind == "rtp":
                hook(value, src)
            else:
                apply(side, kind, value, now)
        except Exception as exc:
            side.errors.append(f"{kind} {type(exc).__name__}")
            raised.add(i)
    return side.state(), proto, raised


def run_batched(steps: list[Step], rx_sock: socket.socket, tx_sock: socket.socket,
                raises: set[int]) -> tuple[dict[str, Any], Protocol, SocketReader]:
    """The batched reader: runs of datagrams sent to a real socket, then drained in C (right
    after a datagram in ``raises``: a drain raises the first error of its batch)."""
    side, proto = Side(), Protocol()
    _, rx = srtp_pair()
    times = [now for kind, _, now in steps if kind == "rtp"]
    packet_reader = compiled_receive.reader(rx, side.receiver, side.receiver.on_rtp,
                                            proto.datagram_received)
    reader = SocketReader(fd=rx_sock.fileno(), reader=packet_reader,
                          error_received=proto.error_received, clock=Clock(times))
    dest = rx_sock.getsockname()
    random.seed(7)
    pending = 0

    def drain() -> None:
        nonlocal pending
        while pending:
            # Loopback delivers within sendto, almost always: wait for readiness all the same.
            assert select.select([reader.fd], [], [], 2.0)[0], "sent datagrams did not arrive"
            before = reader.datagrams
            try:
                reader.read_ready()
            except Exception as exc:  # the batch is read all the same
                side.errors.append(f"rtp {type(exc).__name__}")
            pending -= reader.datagrams - before

    try:
        for i, (kind, value, now) in enumerate(steps):
            if kind == "rtp":
                tx_sock.sendto(value, dest)
                pending += 1
                if pending >= 45 or i in raises:  # 45: well within the receive buffer
                    drain()
                continue
            drain()
            try:
                apply(side, kind, value, now)
            except Exception as exc:
                side.errors.append(f"{kind} {type(exc).__name__}")
        drain()
    finally:
        rx_sock.detach()  # the reader owns the descriptor now
        reader.close()
    return side.state(), proto, reader


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(scenarios(), st.lists(st.sampled_from(["none"] * 4 + ["stun", "srtcp", "junk", "replay"]),
                             max_size=12))
def test_the_batched_reader_leaves_what_the_lean_python_path_leaves(
    steps: list[Step], extras: list[str]
) -> None:
    # A socket per example: the reader takes its descriptor over.
    rx_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx_sock.bind(("127.0.0.1", 0))
        tx_sock.bind(("127.0.0.1", 0))
        wire = [s for s in wire_steps(steps, extras) if s[0] != "rtp" or s[1]]  # no empty ones
        expected, python_proto, raises = run_python(wire, tx_sock.getsockname())
        got, batched_proto, reader = run_batched(wire, rx_sock, tx_sock, raises)
    finally:
        rx_sock.close()
        tx_sock.close()
    assert got == expected
    # STUN, SRTCP, DTLS and junk reach the protocol, in order, with the sender's address.
    assert batched_proto.got == python_proto.got
    assert reader.datagrams == sum(1 for kind, _, _ in wire if kind == "rtp")
    assert reader.truncated == 0 and not batched_proto.errors


def test_a_batch_reads_many_datagrams_in_one_call(
    udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    rx_sock, tx_sock = udp_pair
    tx, rx = srtp_pair()
    side, proto = Side(), Protocol()
    packets = media_packets(20, keyframe_every=20, seq0=9, ext=True)
    packet_reader = compiled_receive.reader(rx, side.receiver, side.receiver.on_rtp,
                                            proto.datagram_received)
    dest = rx_sock.getsockname()
    reader = SocketReader(fd=rx_sock.detach(), reader=packet_reader,
                          error_received=proto.error_received)
    try:
        for p in packets:
            tx_sock.sendto(tx.protect(p), dest)
        tx_sock.sendto(STUN, dest)
        tx_sock.sendto(b"\x80" + bytes(1700), dest)  # too long for pylibsrtp: ValueError
        tx_sock.sendto(bytes(3000), dest)  # longer than a slot: truncated, dropped
        tx_sock.sendto(STUN, dest)
        time.sleep(0.05)
        with pytest.raises(ValueError, match="too long"):
            reader.read_ready()  # the first error is raised once the batch is done
        assert reader.datagrams == len(packets) + 4
        assert reader.batches <= (len(packets) + 4) // 32 + 1
        assert reader.truncated == 1
        assert reader.read_ready() == 0  # drained
        assert [d for d, _ in proto.got] == [STUN, STUN]
        assert proto.got[0][1] == tx_sock.getsockname()
        route = side.routes[("pub", "video")]
        assert route.frames == 20 and route.lost_packets == 0
        assert side.routes[("pub", "audio")].packets == 20
        assert side.receiver._receptions[AUDIO].stats._received == 20
        # sendto: the same socket, to an address given as the event loop's transports take it.
        reader.sendto(b"hello", tx_sock.getsockname())
        tx_sock.settimeout(2)
        assert tx_sock.recvfrom(100) == (b"hello", dest)
    finally:
        reader.close()
    assert reader.fd == -1
    reader.sendto(b"dropped", tx_sock.getsockname())  # closed: dropped, as a closed transport


# Real peers against a real coshop serve, on asyncio's loop and on uvloop (the workers' loop).
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_real_peers_read_in_batches_keep_stun_and_srtcp_and_give_the_socket_back(
    server: Server, loop: str
) -> None:
    (uvloop.run if loop == "uvloop" else asyncio.run)(_real_peers(server))


async def _real_peers(server: Server) -> None:
    room = f"batched-{random.getrandbits(32):08x}"
    async with aiohttp.ClientSession() as http:
        publisher = SyntheticPeer(url=server.url, room=room, name="pub", index=1,
                                  video=cached_video(PRESETS["180p"]), audio=encode_audio(),
                                  session=http, batched=True)
        viewer = SyntheticPeer(url=server.url, room=room, name="viewer", index=2, video=None,
                               audio=None, session=http, batched=True)
        transports: list[batched_socket.BatchedTransport] = []
        try:
            for peer in (publisher, viewer):
                await peer.start()
                await asyncio.wait_for(peer.joined.wait(), 20)

            def frames() -> int:
                return sum(r.frames for r in viewer.result.routes.values())

            assert await until(lambda: frames() > 60, 20), viewer.result.routes
            assert viewer._pc is not None
            dtls = viewer._pc.getTransceivers()[0].receiver.transport
            connection = dtls.transport._connection
            for protocol in connection._protocols:
                assert isinstance(protocol.transport, batched_socket.BatchedTransport)
                transports.append(protocol.transport)
            assert transports
            assert sum(t.reader.datagrams for t in transports) > 100
            # STUN transactions as aioice's consent checks make them: request out through the
            # batched transport, response in through the batched reader to aioice's protocol.
            assert connection.remote_password is not None
            for pair in connection._nominated.values():
                for _ in range(3):
                    await pair.protocol.request(
                        connection.build_request(pair, nominate=False), pair.remote_addr,
                        integrity_key=connection.remote_password.encode("utf8"),
                        retransmissions=2)
            # SRTCP: the node's sender reports reach the receiver (LSR of its reports).
            receptions = viewer._receiver._receptions

            def sender_reports() -> bool:
                return bool(receptions) and all(
                    r.stats._last_sr is not None for r in receptions.values())

            assert await until(sender_reports, 15), "no sender report reached the viewer"
            assert viewer._receiver.reports_sent > 0
            (route,) = [r for (_, kind), r in viewer.result.routes.items() if kind == "video"]
            assert route.lost_packets == 0 and route.packets > 100
        finally:
            for peer in (viewer, publisher):
                await peer.close()
        # aioice's close ended the batched transports: reader off the loop, descriptor closed.
        assert all(t.is_closing() and t.reader.fd == -1 for t in transports)
