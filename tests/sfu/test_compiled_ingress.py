"""The compiled SRTP unprotect against pylibsrtp's, which it stands in for on the ingress:
the same plain packets from the same protected ones, the same refusals (replays, forgeries),
on the very session pylibsrtp uses (one replay window); its parse against aiortc's
``RtpPacket.parse`` (the same packet, field for field, or None where aiortc raises); and a
real room's publisher is received through it."""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from sfu import SFU, SFUConfig, compiled_ingress
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.sfu.harness import DirectParticipant


def test_the_extension_is_built() -> None:
    """pip install builds it here; a run without it must fail, not skip."""
    assert compiled_ingress.AVAILABLE, compiled_ingress.UNAVAILABLE_REASON

_KEY_LENGTHS = {
    Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
    Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
    Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44,
}

#: One packet: sequence step (0: a replay of the last one), payload, whether a byte is flipped.
_packets = st.lists(
    st.tuples(st.integers(0, 40), st.binary(min_size=0, max_size=1200), st.booleans()),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(_KEY_LENGTHS)), _packets)
def test_same_packets_and_refusals_as_pylibsrtp(
    profile: int, packets: list[tuple[int, bytes, bool]]
) -> None:
    key = os.urandom(_KEY_LENGTHS[profile])

    def session(direction: int) -> Session:
        return Session(policy=Policy(key=key, ssrc_type=direction, srtp_profile=profile))

    sender = session(Policy.SSRC_ANY_OUTBOUND)
    theirs, ours = session(Policy.SSRC_ANY_INBOUND), session(Policy.SSRC_ANY_INBOUND)
    unprotector = compiled_ingress.bind(ours)
    assert unprotector.session is ours
    seq = 1000
    last: bytes | None = None
    for step, payload, tamper in packets:
        if step or last is None:
            seq = (seq + max(step, 1)) % 65536
            header = struct.pack("!BBHII", 0x80, 96, seq, seq * 3000, 0x1234)
            last = sender.protect(header + payload)
        wire = last
        if tamper:
            flip = len(wire) - 1 - (len(payload) % 7)
            wire = wire[:flip] + bytes([wire[flip] ^ 0x40]) + wire[flip + 1 :]
        try:
            expected: bytes | None = theirs.unprotect(wire)
        except pylibsrtp.Error:
            expected = None
        assert unprotector.unprotect(wire) == expected


_FIELDS = [
    "mid",
    "repaired_rtp_stream_id",
    "rtp_stream_id",
    "abs_send_time",
    "transmission_offset",
    "audio_level",
    "transport_sequence_number",
]


@st.composite
def _ids(draw: st.DrawFn) -> HeaderExtensions:
    """The ids a transport's map holds: distinct (as SDP negotiates them), some not
    negotiated, now and then two fields on one id (aiortc decodes by the first)."""
    chosen = draw(st.permutations(range(1, 15)))
    ids = {name: chosen[k] for k, name in enumerate(_FIELDS) if draw(st.integers(0, 3))}
    if ids and draw(st.integers(0, 9)) == 0:
        a, b = draw(st.sampled_from(_FIELDS)), draw(st.sampled_from(sorted(ids)))
        ids[a] = ids[b]
    return HeaderExtensions(**ids)


_SIZES = {"abs_send_time": 3, "transmission_offset": 3, "audio_level": 1}


@st.composite
def _rtp_packets(draw: st.DrawFn, ids: HeaderExtensions | None = None) -> bytes:
    """RTP packets as senders make them and as they are broken: CSRCs, one- and two-byte
    extension blocks (ids the map knows, mostly with values of their size, or not; values of
    wrong sizes, text that is not UTF-8), padding right and wrong, truncation anywhere."""
    known: dict[str, int] = {}
    if ids is not None:
        known = {k: v for k, v in vars(ids).items() if v is not None}
    cc = draw(st.integers(0, 3))
    version = draw(st.sampled_from([2] * 9 + [1]))
    extension = int(draw(st.integers(0, 3)) > 0)
    padding = draw(st.booleans())
    first = (version << 6) | (padding << 5) | (extension << 4) | cc
    data = bytes([first, draw(st.integers(0, 255))]) + draw(st.binary(min_size=10, max_size=10))
    data += draw(st.binary(min_size=4 * cc, max_size=4 * cc))
    if extension:
        profile = draw(st.sampled_from([0xBEDE, 0xBEDE, 0x1000, 0x1234]))
        body = b""
        unknown = [i for i in range(1, 15) if i not in known.values()]
        for _ in range(draw(st.integers(1, 4))):
            name: str | None = None
            if known and draw(st.integers(0, 3)):
                name = draw(st.sampled_from(sorted(known)))
            size = _SIZES.get(name or "", 2 if name == "transport_sequence_number" else None)
            if draw(st.integers(0, 7)) == 0:  # any value: of a wrong size, text not UTF-8
                value = draw(
                    st.one_of(
                        st.binary(min_size=1, max_size=4),
                        st.sampled_from([b"0", "é".encode(), b"\xff\xfe", b"\x85", b"a1"]),
                    )
                )
            elif size is not None:
                value = draw(st.binary(min_size=size, max_size=size))
            else:
                value = draw(st.sampled_from([b"0", b"a1", "é".encode(), b"xyz9"]))
            if name is not None:
                x_id = known[name]
            else:
                x_id = draw(st.sampled_from(unknown)) if unknown else draw(st.integers(1, 14))
            if draw(st.integers(0, 5)) == 0:
                body += b"\x00"  # a padding byte between elements
            if profile == 0x1000:
                body += bytes([x_id, len(value)]) + value
            else:
                body += bytes([((x_id & 15) << 4) | (len(value) - 1)]) + value
        body += b"\x00" * (-len(body) % 4)
        words = len(body) // 4 + draw(st.sampled_from([0, 0, 0, 1]))  # a length that lies
        data += profile.to_bytes(2, "big") + words.to_bytes(2, "big") + body
    data += draw(st.binary(max_size=40))
    if padding:
        pad = draw(st.integers(0, 12))
        data += b"\x00" * max(pad - 1, 0) + bytes([pad])
    cut = draw(st.sampled_from([None] * 12 + [0, 5, 11, 13, 17]))
    return data if cut is None else data[:cut]


@settings(max_examples=1000, deadline=None)
@given(st.data(), _ids())
def test_the_parse_is_aiortcs(draw: st.DataObject, ids: HeaderExtensions) -> None:
    data = draw.draw(_rtp_packets(ids))
    extensions_map = HeaderExtensionsMap()
    extensions_map._HeaderExtensionsMap__ids = ids  # type: ignore[attr-defined]
    assert compiled_ingress.extension_ids(extensions_map) is ids
    try:
        expected: RtpPacket | None = RtpPacket.parse(data, extensions_map)
    except Exception:  # ValueError, and struct.error for a value of the wrong size
        expected = None
    assert compiled_ingress.parse_rtp is not None
    packet = compiled_ingress.parse_rtp(data, ids)
    if expected is None:
        assert packet is None
        return
    assert type(packet) is RtpPacket
    assert vars(packet) == vars(expected)
    assert type(packet.extensions) is HeaderExtensions


@settings(max_examples=100, deadline=None)
@given(_rtp_packets(), _ids())
def test_receive_is_unprotect_then_parse(data: bytes, ids: HeaderExtensions) -> None:
    key = os.urandom(30)
    sender = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    receiver = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
    try:
        wire = sender.protect(data)
    except pylibsrtp.Error:
        return  # libsrtp will not protect it (too short to be RTP): nothing to receive
    unprotector = compiled_ingress.bind(receiver)
    assert compiled_ingress.parse_rtp is not None
    packet = unprotector.receive(wire, ids)
    expected = compiled_ingress.parse_rtp(data, ids)
    assert (packet is None) == (expected is None)
    if packet is not None:
        assert vars(packet) == vars(expected)
    assert unprotector.receive(wire, ids) is None  # a replay: refused, as by unprotect


def test_a_datagram_too_long_for_srtp_is_dropped() -> None:
    """pylibsrtp refuses packets over 1,500 bytes; the compiled receive drops them too."""
    key = os.urandom(30)
    receiver = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
    unprotector = compiled_ingress.bind(receiver)
    for size in (2049, 9000):
        data = struct.pack("!BBHII", 0x80, 96, 1, 0, 7) + os.urandom(size - 12)
        assert unprotector.receive(data, HeaderExtensions()) is None


def test_a_bad_call_is_a_type_error() -> None:
    unprotector = compiled_ingress.bind(
        Session(policy=Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_INBOUND))
    )
    with pytest.raises(TypeError):
        unprotector.unprotect("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unprotector.receive("not bytes", HeaderExtensions())  # type: ignore[arg-type]
    assert unprotector.unprotect(b"") is None  # too short to be SRTP: refused, not a crash
    assert unprotector.receive(b"", HeaderExtensions()) is None


@pytest.mark.parametrize("compiled", [True, False])
async def test_a_rooms_publisher_is_received_through_it(compiled: bool) -> None:
    """A real aiortc publisher's packets are unprotected by the compiled path (by pylibsrtp's
    with the setting off), and the viewer gets its video either way."""
    sfu = SFU(SFUConfig(compiled_ingress=compiled))
    room = sfu.room("r1")
    a = DirectParticipant(ClientPeer("a", index=0))
    b = DirectParticipant(ClientPeer("b", index=1, publish=False))
    try:
        await a.join(room)
        await b.join(room, publish=False)
        await wait_for(lambda: b.client.video_from("a").frames >= 20, timeout=20)
        source = room.peers["a"].sources["video"]
        ingress = source._ingress
        assert ingress is not None and ingress.packets > 0
        if compiled:
            assert ingress._unprotector is not None
            assert ingress._unprotector.session is source._receiver.transport._rx_srtp
        else:
            assert ingress._unprotector is None
    finally:
        await a.close()
        await b.close()
        await sfu.close()
