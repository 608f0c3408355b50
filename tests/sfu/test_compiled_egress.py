"""The compiled egress writes RtpWriter's bytes, protects them with aiortc's own SRTP
session and sends them; anything the socket refuses goes through the transport."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from sfu import compiled_egress
from sfu.config import SFUConfig
from sfu.egress import egress_path
from sfu.rtp_writer import ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI, RtpWriter
from tests.media import luma_for
from tests.sfu.harness import publisher_and_viewer, sfu_room

needs_extension = pytest.mark.skipif(
    not compiled_egress.AVAILABLE, reason=f"not built: {compiled_egress.UNAVAILABLE_REASON}"
)

#: The profiles aiortc offers (rtcdtlstransport.SRTP_PROFILES): master key + salt bytes.
PROFILES = {
    Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
    Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
    Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44,
}


def _sessions(profile: int) -> tuple[Session, Session, Session]:
    """Two transmit sessions and a receive session sharing one fresh key."""
    key = os.urandom(PROFILES[profile])

    def session(direction: int) -> Session:
        return Session(policy=Policy(key=key, ssrc_type=direction, srtp_profile=profile))

    return (
        session(Policy.SSRC_ANY_OUTBOUND),
        session(Policy.SSRC_ANY_OUTBOUND),
        session(Policy.SSRC_ANY_INBOUND),
    )


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.errors: list[Exception] = []

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


class Link:
    """A real UDP socket (owned by an asyncio transport) and a receiver on loopback."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.loop = asyncio.new_event_loop()
        self.transport, self.protocol = self.loop.run_until_complete(
            self.loop.create_datagram_endpoint(_Sink, local_addr=(host, 0))
        )
        self.receiver = socket.socket(family, socket.SOCK_DGRAM)
        self.receiver.bind((host, 0))
        self.receiver.settimeout(2)
        self.remote = self.receiver.getsockname()

    def sender(
        self, writer: RtpWriter, session: Session, remote: tuple[object, ...] | None = None
    ) -> compiled_egress.PacketSender:
        return compiled_egress.bind(
            writer.layout(), session, self.transport, remote or self.remote)

    def close(self) -> None:
        self.transport.close()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()
        self.receiver.close()


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    link = Link()
    yield link
    link.close()


ext_id = st.integers(min_value=1, max_value=14)


@needs_extension
@settings(max_examples=300, deadline=None)
@given(
    profile=st.sampled_from(sorted(PROFILES)),
    ssrc=st.integers(0, 2**32 - 1),
    pt=st.integers(0, 127),
    mid=st.one_of(st.none(), st.text("0123456789abc", min_size=0, max_size=16)),
    ids=st.dictionaries(st.sampled_from([MID_URI, AUDIO_LEVEL_URI, ABS_SEND_TIME_URI]), ext_id),
    marker=st.booleans(),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 2**32 - 1),
    payload=st.binary(min_size=0, max_size=1300),
    abs_send_time=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    audio_level=st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 255))),
)
def test_sends_exactly_what_rtp_writer_writes(
    link: Link,
    profile: int,
    ssrc: int,
    pt: int,
    mid: str | None,
    ids: dict[str, int],
    marker: bool,
    seq: int,
    ts: int,
    payload: bytes,
    abs_send_time: int | None,
    audio_level: tuple[bool, int] | None,
) -> None:
    writer = RtpWriter(ssrc=ssrc, payload_type=pt, mid=mid, ext_ids=ids)
    expected = writer.write(
        marker=marker,
        seq=seq,
        ts=ts,
        payload=payload,
        abs_send_time=abs_send_time,
        audio_level=audio_level,
    )
    tx, twin, rx = _sessions(profile)
    sender = link.sender(writer, tx)
    assert sender.send(marker, seq, ts, payload, abs_send_time, audio_level) == expected
    wire = link.receiver.recv(4096)
    assert sender.direct == 1
    assert rx.unprotect(wire) == expected[0]
    # Same key, same index: the very bytes aiortc's path (pylibsrtp's protect) sends.
    assert wire == twin.protect(expected[0])


@needs_extension
def test_shares_the_session_state_with_aiortcs_own_protect(link: Link) -> None:
    """Packets protected in C and by pylibsrtp (aiortc's path) interleave on one session
    across a sequence-number wrap: the rollover counter (RFC 3711 §3.3.1) is one."""
    tx, _, rx = _sessions(Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
    writer = RtpWriter(ssrc=7, payload_type=97, mid="0", ext_ids={MID_URI: 1})
    sender = link.sender(writer, tx)
    for i, seq in enumerate((65533, 65534, 65535, 0, 1, 2)):
        payload = bytes([i]) * 50
        if i % 2:
            data, _ = sender.send(False, seq, 1000, payload, None, None)
        else:
            data, _ = writer.write(marker=False, seq=seq, ts=1000, payload=payload)
            link.transport.sendto(tx.protect(data), link.remote)
            link.loop.run_until_complete(asyncio.sleep(0))
        assert rx.unprotect(link.receiver.recv(4096)) == data
    assert sender.direct == 3


@needs_extension
@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
@pytest.mark.parametrize("scoped", [False, True], ids=["host-port", "with-scope"])
def test_ipv6_addresses_as_aioice_and_asyncio_give_them(scoped: bool) -> None:
    link = Link("::1")
    try:
        tx, _, rx = _sessions(Policy.SRTP_PROFILE_AEAD_AES_256_GCM)
        writer = RtpWriter(ssrc=3, payload_type=96, mid="0", ext_ids={MID_URI: 1})
        host, port = link.remote[:2]
        sender = link.sender(writer, tx, remote=(host, port, 0, 0) if scoped else (host, port))
        data, _ = sender.send(True, 1, 2, b"ipv6", None, None)
        assert rx.unprotect(link.receiver.recv(4096)) == data
        assert sender.direct == 1
    finally:
        link.close()


@needs_extension
def test_a_send_the_socket_refuses_goes_through_the_transport(link: Link) -> None:
    """sendto(2) to the broadcast address without SO_BROADCAST fails (EACCES): the packet
    goes to transport.sendto, which reports the error to the protocol as it would for any
    packet of the Python path."""
    tx, _, _ = _sessions(Policy.SRTP_PROFILE_AEAD_AES_128_GCM)
    writer = RtpWriter(ssrc=9, payload_type=111, mid="1", ext_ids={MID_URI: 1})
    refused = link.sender(writer, tx, remote=("255.255.255.255", link.remote[1]))
    link.protocol.errors.clear()
    data, header_len = refused.send(True, 10, 20, b"opus", None, None)
    assert (refused.direct, refused.through_transport) == (0, 1)
    assert data[header_len:] == b"opus"
    link.loop.run_until_complete(asyncio.sleep(0.05))
    assert any(isinstance(e, PermissionError) for e in link.protocol.errors)


def test_the_start_up_line_names_the_path() -> None:
    assert "compiled" in egress_path(direct_send=True, compiled=True)
    assert "Python" in egress_path(direct_send=True, compiled=False)
    assert "aiortc" in egress_path(direct_send=False, compiled=True)


@needs_extension
async def test_a_real_viewer_decodes_what_the_compiled_egress_sends() -> None:
    """aiortc publisher -> SFU (compiled egress) -> aiortc viewer: every forwarded copy
    went through the C sender, and the viewer decodes the publisher's frames."""
    async with (
        sfu_room(config=SFUConfig(compiled_egress=True)) as (_, room),
        publisher_and_viewer(room, frames=30) as (_, b),
    ):
        lumas = b.client.video_from("a").lumas[-5:]
        assert abs(sum(lumas) / len(lumas) - luma_for(0)) < 12
        forwarders = [s.forwarder for s in room.peers["b"].subscriptions]
        senders = [f._egress.packet_sender() for f in forwarders if f._egress is not None]
        assert len(senders) == 2 and all(s is not None for s in senders)
        direct = sum(s.direct for s in senders if s is not None)
        # The first few may precede the nominated pair: the rest is all compiled.
        assert direct >= sum(f.packets_sent for f in forwarders) - 10 > 50


def test_without_the_extension_the_python_path_is_named() -> None:
    """Where the C extension was not built, importing works and the log line says why."""
    code = (
        "import sys; sys.modules['sfu._compiled_egress'] = None\n"
        "from sfu import compiled_egress\n"
        "from sfu.egress import egress_path\n"
        "assert not compiled_egress.AVAILABLE\n"
        "print(egress_path(direct_send=True, compiled=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("direct egress, Python (compiled egress not built")


@needs_extension
async def test_no_direct_write_once_the_transport_is_closing() -> None:
    """A closing transport's socket is closed a moment later, and its descriptor number may
    then be a new socket's (a websocket's, Redis's): nothing may be written to it directly."""
    async with (
        sfu_room(config=SFUConfig(compiled_egress=True)) as (_, room),
        publisher_and_viewer(room, frames=10),
    ):
        forwarder = room.peers["b"].subscriptions[0].forwarder
        egress = forwarder._egress
        assert egress is not None and egress.packet_sender() is not None
        pair = egress._connection._nominated[1]
        pair.protocol.transport.close()
        assert egress.packet_sender() is None
        assert not egress.try_send(b"\x80" + bytes(20))
