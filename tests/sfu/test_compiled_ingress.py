"""The compiled SRTP unprotect against pylibsrtp's, which it stands in for on the ingress:
the same plain packets from the same protected ones, the same refusals (replays, forgeries),
on the very session pylibsrtp uses (one replay window); and a real room's publisher is
received through it."""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest
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


def test_a_bad_call_is_a_type_error() -> None:
    unprotector = compiled_ingress.bind(
        Session(policy=Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_INBOUND))
    )
    with pytest.raises(TypeError):
        unprotector.unprotect("not bytes")  # type: ignore[arg-type]
    assert unprotector.unprotect(b"") is None  # too short to be SRTP: refused, not a crash


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
