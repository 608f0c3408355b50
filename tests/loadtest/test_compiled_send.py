"""The compiled send path (loadtest.compiled_send, FrameSender in loadtest._compiled_send)
against what it replaces: the packets it builds are aiortc's ``RtpPacket.serialize`` byte for
byte (Hypothesis: payloads, timestamps, sequence wrap, extension maps), a real pylibsrtp
receive session unprotects what it protected and sent over a real UDP socket to those bytes,
aiortc's own ``_retransmit`` answers a NACK from its lazy history exactly as from the Python
loop's, and real aiortc peers against a real ``coshop serve`` get each publisher's frames.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import uvloop
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtcrtpsender import RTCEncodedFrame, RTCRtpSender
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtest import compiled_send, lean_sender
from loadtest.media import cached_video, encode_audio
from loadtest.peer import SyntheticPeer
from loadtest.presets import PRESETS
from loadtest.scenario import Scenario
from tests.loadtest.conftest import Server
from tests.loadtest.test_compiled_receive import srtp_pair

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
P = "_RTCRtpSender__"  # aiortc's sender's private attributes


def test_the_extension_is_built_and_matches_pylibsrtp() -> None:
    assert compiled_send.AVAILABLE, compiled_send.UNAVAILABLE_REASON


def extensions_map(ids: dict[str, int | None]) -> HeaderExtensionsMap:
    m = HeaderExtensionsMap()
    m.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=uri) for uri, i in ids.items()
        if i is not None]))
    return m


def aiortc_packets(payloads: list[bytes], *, payload_type: int, ssrc: int, seq: int,
                   timestamp: int, abs_send_time: int, mid: str | None,
                   level: int | None, ext_map: HeaderExtensionsMap) -> list[bytes]:
    """What lean_sender's Python loop serializes for one frame (its own code, quoted)."""
    out = []
    last = len(payloads) - 1
    for i, payload in enumerate(payloads):
        packet = RtpPacket(payload_type=payload_type, sequence_number=seq, timestamp=timestamp,
                           ssrc=ssrc, marker=int(i == last), payload=payload)
        packet.extensions.abs_send_time = abs_send_time
        packet.extensions.mid = mid
        if level is not None:
            packet.extensions.audio_level = (False, -level)
        out.append(packet.serialize(ext_map))
        seq = (seq + 1) & 0xFFFF
    return out


ids_ = st.one_of(st.none(), st.integers(1, 14), st.integers(15, 255))
frames_ = st.lists(st.lists(st.binary(max_size=1200), min_size=1, max_size=6), min_size=1,
                   max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    frames=frames_,
    payload_type=st.integers(0, 127),
    ssrc=st.integers(0, 2**32 - 1),
    seq=st.one_of(st.integers(0, 0xFFFF), st.integers(0xFFF8, 0xFFFF)),
    timestamp=st.integers(0, 2**32 - 1),
    abs_send_time=st.integers(0, 2**24 - 1),
    mid=st.one_of(st.none(), st.text(max_size=20)),
    level=st.one_of(st.none(), st.integers(-127, 0)),
    mid_id=ids_, abs_id=ids_, level_id=ids_,
)
def test_built_packets_are_aiortcs_serialize(
    frames: list[list[bytes]], payload_type: int, ssrc: int, seq: int, timestamp: int,
    abs_send_time: int, mid: str | None, level: int | None, mid_id: int | None,
    abs_id: int | None, level_id: int | None,
) -> None:
    ext_map = extensions_map({MID: mid_id, ABS: abs_id, LEVEL: level_id})
    sender = compiled_send.frame_sender(payload_type=payload_type, ssrc=ssrc,
                                        sequence_number=seq, mid=mid, extensions_map=ext_map)
    assert sender is not None
    for n, payloads in enumerate(frames):
        ts = (timestamp + 3000 * n) & 0xFFFFFFFF
        built = sender.build(payloads, ts, abs_send_time, level)
        assert built == aiortc_packets(payloads, payload_type=payload_type, ssrc=ssrc, seq=seq,
                                       timestamp=ts, abs_send_time=abs_send_time, mid=mid,
                                       level=level, ext_map=ext_map)
        seq = (seq + len(payloads)) & 0xFFFF
        assert sender.sequence_number == seq


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    yield rx, tx
    rx.close()
    tx.close()


@settings(max_examples=60, deadline=None)
@given(frames=frames_, level=st.one_of(st.none(), st.integers(-127, 0)),
       seq=st.integers(0, 0xFFFF), timestamp=st.integers(0, 2**32 - 1))
def test_sent_packets_unprotect_to_aiortcs_bytes(
    frames: list[list[bytes]], level: int | None, seq: int, timestamp: int
) -> None:
    ext_map = extensions_map({MID: 1, ABS: 2, LEVEL: 3})
    tx_session, rx_session = srtp_pair()
    sender = compiled_send.frame_sender(payload_type=96, ssrc=0x1234, sequence_number=seq,
                                        mid="0", extensions_map=ext_map)
    assert sender is not None
    compiled_send.set_session(sender, tx_session)
    errors: list[Exception] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        tx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        addr = rx.getsockname()
        sent = 0
        for n, payloads in enumerate(frames):
            ts = (timestamp + 90 * n) & 0xFFFFFFFF
            octets = sender.send(payloads, ts, 77, level, tx.fileno(), addr, errors.append)
            assert octets == sum(map(len, payloads))
            expected = aiortc_packets(payloads, payload_type=96, ssrc=0x1234, seq=seq,
                                      timestamp=ts, abs_send_time=77, mid="0", level=level,
                                      ext_map=ext_map)
            for want in expected:
                wire, source = rx.recvfrom(2048)
                assert source == tx.getsockname()
                assert wire != want
                assert rx_session.unprotect(wire) == want
            seq = (seq + len(payloads)) & 0xFFFF
            sent += len(payloads)
    assert errors == [] and sender.sent == sent and sender.dropped == 0


def test_a_send_error_goes_to_error_received_and_a_closed_socket_drops(
    udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    _, tx = udp_pair
    tx_session, _ = srtp_pair()
    sender = compiled_send.frame_sender(payload_type=96, ssrc=1, sequence_number=0, mid="0",
                                        extensions_map=extensions_map({MID: 1}))
    assert sender is not None
    compiled_send.set_session(sender, tx_session)
    errors: list[Exception] = []
    # An IPv6 destination on an IPv4 socket: the kernel refuses each datagram.
    sender.send([b"a", b"b"], 0, 0, None, tx.fileno(), ("::1", 9), errors.append)
    assert len(errors) == 2 and all(isinstance(e, OSError) for e in errors)
    assert sender.sent == 0 and sender.dropped == 2
    sender.send([b"c"], 0, 0, None, -1, ("127.0.0.1", 9), errors.append)
    assert sender.dropped == 3 and len(errors) == 2 and sender.sequence_number == 3
    with pytest.raises(ValueError, match="too long"):
        sender.send([bytes(1400)], 0, 0, None, tx.fileno(), ("127.0.0.1", 9), errors.append)


# --- the loops themselves, under a real aiortc RTCRtpSender --------------------------------

class Frames:
    """``sender._next_encoded_frame``: a fixed list of frames, then the track's end."""

    def __init__(self, frames: list[RTCEncodedFrame]) -> None:
        self._frames = list(frames)

    async def __call__(self, codec: Any) -> RTCEncodedFrame | None:
        from aiortc.mediastreams import MediaStreamError

        if not self._frames:
            raise MediaStreamError
        return self._frames.pop(0)


async def _run_loop(frames: list[RTCEncodedFrame], *, compiled: bool, rtx: bool,
                    monkeypatch: pytest.MonkeyPatch, nacks: list[int]) -> dict[str, Any]:
    """Send ``frames`` through lean_sender's loop of a real aiortc sender (keys not up: the
    fallback, aiortc's ``_send_rtp``), then NACK ``nacks`` through aiortc's ``_retransmit``."""
    monkeypatch.setattr(lean_sender, "random_sequence_number", lambda: 65530)
    monkeypatch.setattr(lean_sender, "random32", lambda: 4_000_000_000)
    ntp = iter(range(1 << 40, (1 << 40) + 10**6, 12345))
    monkeypatch.setattr(lean_sender, "ntp_now", lambda: next(ntp))
    dtls = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()),
                            [RTCCertificate.generateCertificate()])
    wire: list[bytes] = []

    async def send_rtp(data: bytes) -> None:
        wire.append(data)

    dtls._send_rtp = send_rtp  # type: ignore[method-assign]
    sender = RTCRtpSender("video", dtls)
    sender._ssrc, sender._rtx_ssrc = 0xABCDEF01, 0x10FEDCBA
    p = P
    getattr(sender, p + "rtp_header_extensions_map").configure(RTCRtpParameters(
        headerExtensions=[RTCRtpHeaderExtensionParameters(id=4, uri=MID),
                          RTCRtpHeaderExtensionParameters(id=2, uri=ABS),
                          RTCRtpHeaderExtensionParameters(id=13, uri=LEVEL)]))
    setattr(sender, p + "mid", "v1")
    if rtx:
        setattr(sender, p + "rtx_payload_type", 97)
        setattr(sender, p + "rtx_sequence_number", 300)
    sender._next_encoded_frame = Frames(frames)  # type: ignore[method-assign]
    assert lean_sender.install(sender, compiled=compiled)
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    await sender._run_rtp(codec)
    history = getattr(sender, p + "rtp_history")
    assert isinstance(history, compiled_send.LazyHistory) == compiled
    sent = list(wire)
    wire.clear()
    for seq in nacks:
        await sender._retransmit(seq)
    return {"sent": sent, "retransmitted": list(wire),
            "counters": [getattr(sender, p + k) for k in
                         ("ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count")],
            "exited": getattr(sender, p + "rtp_exited").is_set()}


@settings(max_examples=40, deadline=None)
@given(
    frames=st.lists(st.tuples(st.lists(st.binary(min_size=1, max_size=300), min_size=1,
                                       max_size=5),
                              st.integers(0, 2**32 - 1),
                              st.one_of(st.none(), st.integers(-127, 0))),
                    min_size=1, max_size=60),
    rtx=st.booleans(),
    data=st.data(),
)
def test_a_nack_is_answered_from_the_lazy_history_as_from_the_python_loops(
    frames: list[tuple[list[bytes], int, int | None]], rtx: bool, data: st.DataObject,
) -> None:
    encoded = [RTCEncodedFrame(p, t, level) for p, t, level in frames]
    total = sum(len(p) for p, _, _ in frames)
    # Sequence numbers of the last RTP_HISTORY_SIZE packets and older ones (gone), wrapped.
    sent = [(65530 + i) & 0xFFFF for i in range(total)]
    nacks = data.draw(st.lists(st.sampled_from([*sent, (65530 + total + 5) & 0xFFFF]),
                               max_size=8))
    with pytest.MonkeyPatch.context() as mp:
        python = asyncio.run(_run_loop(
            [RTCEncodedFrame(f.payloads, f.timestamp, f.audio_level) for f in encoded],
            compiled=False, rtx=rtx, monkeypatch=mp, nacks=nacks))
    with pytest.MonkeyPatch.context() as mp:
        fast = asyncio.run(_run_loop(encoded, compiled=True, rtx=rtx, monkeypatch=mp,
                                     nacks=nacks))
    assert fast == python
    assert python["exited"]
    recent = set(sent[-RTP_HISTORY_SIZE:])
    assert len(python["retransmitted"]) == sum(1 for s in nacks if s in recent)


# --- real peers against a real coshop serve ------------------------------------------------

# Batched: the ICE socket is the batched reader's (its descriptor); not: the event loop's.
@pytest.mark.parametrize(("loop", "batched"),
                         [("asyncio", True), ("uvloop", True), ("uvloop", False)])
def test_real_publishers_on_the_compiled_path_reach_the_viewer(server: Server, loop: str,
                                                               batched: bool) -> None:
    (uvloop.run if loop == "uvloop" else asyncio.run)(_real_peers(server, batched))


async def _until(predicate: Any, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def _real_peers(server: Server, batched: bool) -> None:
    room = f"csend-{random.getrandbits(32):08x}"
    video, audio = cached_video(PRESETS["180p"]), encode_audio()
    async with aiohttp.ClientSession() as http:
        publishers = [SyntheticPeer(url=server.url, room=room, name=f"pub{i}", index=i,
                                    video=video, audio=audio, session=http, batched=batched)
                      for i in (1, 2)]
        viewer = SyntheticPeer(url=server.url, room=room, name="viewer", index=3, video=None,
                               audio=None, session=http)
        try:
            for peer in (*publishers, viewer):
                await peer.start()
                await asyncio.wait_for(peer.joined.wait(), 20)
            routes = viewer.result.routes
            ids = {i: pub.participant_id for i, pub in zip((1, 2), publishers, strict=True)}

            def flowing() -> bool:
                return all(routes.get((ids[i], kind)) is not None
                           and routes[(ids[i], kind)].packets > 50
                           for i in (1, 2) for kind in ("video", "audio")) and all(
                    routes[(ids[i], "video")].frames > 60 for i in (1, 2))

            assert await _until(flowing, 25), {k: (r.packets, r.frames)
                                               for k, r in routes.items()}
            # Each publisher's senders run the compiled path, past the fallback.
            for pub in publishers:
                assert pub._pc is not None
                senders = [s for s in pub._pc.getSenders() if s.track is not None]
                assert len(senders) == 2  # audio, video
                for s in senders:
                    history = getattr(s, P + "rtp_history")
                    assert isinstance(history, compiled_send.LazyHistory)
                    fast = history._sender
                    transport = s.transport.transport._connection._nominated[1].protocol.transport
                    assert (type(transport).__name__ == "BatchedTransport") == batched
                    assert fast.sent > 50 and fast.frames > 50
                    assert fast.sent <= fast.packets
            for i in (1, 2):
                video_route = routes[(ids[i], "video")]
                # Whole frames, each stamped by this publisher (its index), none lost.
                assert video_route._publisher == i
                assert video_route.lost_packets == 0 and video_route.lost_frames == 0
                assert video_route.latency.n > 30
        finally:
            for peer in (viewer, *publishers):
                await peer.close()


def test_send_paths_are_named_and_an_unbuilt_extension_leaves_the_python_loop(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lean_sender.send_path(True, True) == "compiled (loadtest._compiled_send, sendmmsg)"
    assert lean_sender.send_path(True, False) == "lean (Python)"
    assert lean_sender.send_path(False, True).startswith("aiortc")
    assert Scenario.model_validate({"url": "http://127.0.0.1:1"}).compiled_send is True
    assert Scenario.model_validate({"url": "http://127.0.0.1:1",
                                    "compiled_send": False}).compiled_send is False
    monkeypatch.setattr(compiled_send, "FrameSender", None)
    assert compiled_send.frame_sender(payload_type=96, ssrc=1, sequence_number=0, mid=None,
                                      extensions_map=HeaderExtensionsMap()) is None
