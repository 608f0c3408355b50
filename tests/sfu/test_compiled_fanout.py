"""The compiled fan-out (sfu._compiled_egress.fan_out): its StreamRewriter behaves exactly as
the Python reference, and in a real room it takes the steady-state copies while the sender
reports stay truthful."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc.rtp import RtcpPacket, RtcpSrPacket
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from sfu import compiled_egress
from sfu.config import SFUConfig
from sfu.forwarder import TrackForwarder
from sfu.rtp_writer import ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI, RtpWriter
from sfu.stream_rewriter import StreamRewriter
from tests.helpers import wait_for
from tests.sfu.harness import publisher_and_viewer, sfu_room
from tests.sfu.test_compiled_egress import PROFILES, Link

pytestmark = pytest.mark.skipif(
    not compiled_egress.AVAILABLE, reason=f"not built: {compiled_egress.UNAVAILABLE_REASON}"
)

_SLOTS = StreamRewriter.__slots__

_ops = st.one_of(
    st.tuples(
        st.just("rewrite"),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.booleans(),
    ),
    # Mostly small steps (a stream), sometimes jumps: the offsets, wrap and "too old" cases.
    st.tuples(st.just("next"), st.integers(-40, 40), st.integers(-9000, 9000), st.booleans()),
    st.tuples(st.just("switch_source"), st.booleans()),
    st.tuples(st.just("restart_at_keyframe")),
    st.tuples(st.just("forwarded_since"), st.integers(0, 0xFFFF)),
    st.tuples(st.just("needs_keyframe"), st.booleans()),
)


def _state(rw: StreamRewriter) -> dict[str, Any]:
    return {name: getattr(rw, name) for name in _SLOTS}


@settings(max_examples=400, deadline=None)
@given(
    first_seq=st.integers(-(1 << 20), 1 << 20),
    first_ts=st.integers(-(1 << 40), 1 << 40),
    ts_step=st.sampled_from([960, 3000, 1, 0xFFFFFFFF]),
    video=st.booleans(),
    ops=st.lists(_ops, max_size=60),
)
def test_the_c_rewriter_matches_the_python_one(
    first_seq: int, first_ts: int, ts_step: int, video: bool, ops: list[tuple[Any, ...]]
) -> None:
    assert compiled_egress.StreamRewriter is not None
    ref = StreamRewriter(first_seq=first_seq, first_ts=first_ts, ts_step=ts_step, video=video)
    c = compiled_egress.StreamRewriter(
        first_seq=first_seq, first_ts=first_ts, ts_step=ts_step, video=video
    )
    assert c._state() == _state(ref)
    seq, ts = 1000, 5000
    for op in ops:
        name = op[0]
        if name == "rewrite":
            seq, ts = op[1], op[2]
            assert c.rewrite(seq, ts, op[3]) == ref.rewrite(seq, ts, op[3])
        elif name == "next":
            seq, ts = (seq + op[1]) % (1 << 16), (ts + op[2]) % (1 << 32)
            assert c.rewrite(seq, ts, op[3]) == ref.rewrite(seq, ts, op[3])
        elif name == "switch_source":
            c.switch_source(video=op[1])
            ref.switch_source(video=op[1])
        elif name == "restart_at_keyframe":
            c.restart_at_keyframe()
            ref.restart_at_keyframe()
        elif name == "forwarded_since":
            assert c.forwarded_since(op[1]) == ref.forwarded_since(op[1])
        else:
            c.needs_keyframe = op[1]
            ref.needs_keyframe = op[1]
        assert c._state() == _state(ref)
        assert c.started == ref.started
        assert c.waiting_for_keyframe() == ref.waiting_for_keyframe()
        assert (c.last_seq, c.last_ts) == (ref.last_seq, ref.last_ts)


def _sessions(profile: int) -> tuple[Session, Session]:
    """A transmit and a receive session as aiortc makes them (a packet may be sent again)."""
    key = os.urandom(PROFILES[profile])
    tx, rx = (
        Policy(key=key, ssrc_type=direction, srtp_profile=profile)
        for direction in (Policy.SSRC_ANY_OUTBOUND, Policy.SSRC_ANY_INBOUND)
    )
    tx.allow_repeat_tx = rx.allow_repeat_tx = True
    return Session(policy=tx), Session(policy=rx)


class _Attrs:
    """Stands in for the aiortc objects whose attributes the fan-out checks."""

    def __init__(self, **attrs: object) -> None:
        self.__dict__.update(attrs)


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    link = Link()
    yield link
    link.close()


@settings(max_examples=60, deadline=None)
@given(
    profile=st.sampled_from(sorted(PROFILES)),
    video=st.booleans(),
    packets=st.lists(
        st.tuples(
            st.integers(1, 3),  # seq step (a gap or none)
            st.booleans(),  # marker
            st.binary(min_size=1, max_size=1200),
            st.integers(0, 0xFFFFFF),
            st.tuples(st.booleans(), st.integers(0, 127)),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_fan_out_sends_and_keeps_what_forward_would(
    link: Link, profile: int, video: bool, packets: list[tuple[Any, ...]]
) -> None:
    """fan_out's copies on the wire are RtpWriter's bytes for the StreamRewriter's numbering,
    protected with the bound session; the RTX history gives back what writes each again."""
    assert compiled_egress.ForwardCopy is not None and compiled_egress.fan_out is not None
    tx, rx = _sessions(profile)
    ids = {MID_URI: 1, ABS_SEND_TIME_URI: 3} if video else {MID_URI: 1, AUDIO_LEVEL_URI: 2}
    writer = RtpWriter(ssrc=4242, payload_type=96, mid="v", ext_ids=ids)
    reference = StreamRewriter(first_seq=65530, first_ts=7, ts_step=3000, video=False)
    rewriter = compiled_egress.StreamRewriter(
        first_seq=65530, first_ts=7, ts_step=3000, video=False
    )
    copy = compiled_egress.ForwardCopy(
        rewriter=rewriter,
        sender=_Attrs(_enabled=True),
        history_size=8 if video else 0,
        layered=video,
    )
    pair = _Attrs()
    dtls = _Attrs(_state="connected", _tx_srtp=tx)
    copy.bind(
        packet_sender=link.sender(writer, tx),
        nominated={1: pair},
        pair=pair,
        dtls=dtls,
        connected="connected",
        srtp=tx,
        transport=link.transport,
    )
    copy.ready = True
    forwarder = _Attrs(_copy=copy)
    seq, ts, sent = 1000, 90000, 0
    for step, marker, payload, abs_send_time, level in packets:
        seq, ts = (seq + step) % (1 << 16), (ts + 3000 * step) % (1 << 32)
        abs_arg, level_arg = (abs_send_time, None) if video else (None, level)
        mapped = reference.rewrite(seq, ts, False)
        rest = compiled_egress.fan_out(
            [forwarder], seq, ts, marker, payload, False, abs_arg, level_arg, 5 << 32, False
        )
        assert rest is None
        if mapped is None:
            continue
        out_seq, out_ts = mapped
        expected, _ = writer.write(
            marker=marker,
            seq=out_seq,
            ts=out_ts,
            payload=payload,
            abs_send_time=abs_arg,
            audio_level=level_arg,
        )
        sent += 1
        assert rx.unprotect(link.receiver.recv(4096)) == expected
        assert copy.report == (5 << 32, out_ts, sent, copy.report[3])
        kept = copy.kept(out_seq)
        if video:
            assert kept == (out_seq, out_ts, marker, payload, abs_arg, None)
        else:
            assert kept is None
    assert copy.packets_sent == copy.fast == sent
    dtls.__dict__["_tx_srtp"] = (
        object()
    )  # a new session (DTLS restarted): no longer the compiled way
    rest = compiled_egress.fan_out([forwarder], seq, ts, False, b"x", False, None, None, 0, False)
    assert rest == [(forwarder, None)]


def _forwarders(room: Any, viewer: str) -> list[TrackForwarder]:
    return [s.forwarder for s in room.peers[viewer].subscriptions]


async def test_steady_copies_go_the_compiled_way_and_reports_stay_true() -> None:
    """In a real room, after each subscription's first packet, its copies are sent by the
    C fan-out (forward() is not entered again); every sender report the server sends names
    exactly the packets and payload octets forwarded until then, and the viewer decodes."""
    async with sfu_room() as (_, room), publisher_and_viewer(room) as (_a, b):
        forwarders = _forwarders(room, "b")
        assert {f.kind for f in forwarders} == {"audio", "video"}
        entered = dict.fromkeys(forwarders, 0)
        for fwd in forwarders:
            original = fwd.forward

            def counting(
                *, _fwd: TrackForwarder = fwd, _original: Any = original, **kw: Any
            ) -> bytes | None:
                entered[_fwd] += 1
                result: bytes | None = _original(**kw)
                return result

            fwd.forward = counting  # type: ignore[method-assign]
        reports: list[tuple[TrackForwarder, RtcpSrPacket, tuple[int, int, int, int]]] = []
        dtls = forwarders[0]._sender.transport
        original_send = dtls._send_rtp

        async def capture(data: bytes) -> None:
            if 192 <= data[1] <= 223:  # RTCP (RFC 5761 §4)
                for packet in RtcpPacket.parse(data):
                    if isinstance(packet, RtcpSrPacket):
                        for fwd in forwarders:
                            if fwd._sender._ssrc == packet.ssrc and fwd._copy is not None:
                                reports.append((fwd, packet, fwd._copy.report))
            await original_send(data)

        dtls._send_rtp = capture  # type: ignore[method-assign]
        before = {f: f.packets_sent for f in forwarders}
        seen = b.client.video_from("a").frames
        await wait_for(
            lambda: (
                {f for f, p, _ in reports if p.sender_info.packet_count} >= set(forwarders)
                and all(f.packets_sent - before[f] > 20 for f in forwarders)
            ),
            timeout=10,
        )
        assert b.client.video_from("a").frames > seen
        for fwd in forwarders:
            assert fwd.fast_copies >= fwd.packets_sent - 3, fwd.kind
            assert entered[fwd] <= 2, (fwd.kind, entered[fwd])
        for fwd, packet, figures in reports:
            info = packet.sender_info
            ntp, rtp_ts, packets, octets = figures
            assert (info.ntp_timestamp, info.rtp_timestamp) == (ntp, rtp_ts)
            assert (info.packet_count, info.octet_count) == (packets, octets)
            assert packets <= fwd.packets_sent
        # aiortc's own figures (getStats) are the C ones too
        for fwd in forwarders:
            stats = await fwd._sender.getStats()
            out = [s for s in stats.values() if s.type == "outbound-rtp"]
            assert out[0].packetsSent == fwd._copy.report[2]  # type: ignore[union-attr]
            assert fwd.packets_sent == fwd._copy.report[2]  # type: ignore[union-attr]
        await asyncio.sleep(0)


async def test_off_keeps_the_python_path() -> None:
    """COSHOP_COMPILED_FANOUT=false: no forwarder gets a C copy; every copy goes through
    forward() as before, and the viewer still decodes."""
    config = SFUConfig(compiled_fanout=False)
    async with sfu_room(config=config) as (_, room), publisher_and_viewer(room) as (_a, b):
        forwarders = _forwarders(room, "b")
        assert all(f._copy is None and f.fast_copies == 0 for f in forwarders)
        assert all(isinstance(f.rewriter, StreamRewriter) for f in forwarders)
        seen = b.client.video_from("a").frames
        await wait_for(lambda: b.client.video_from("a").frames >= seen + 10, timeout=10)
        assert all(f.packets_sent > 0 for f in forwarders)


async def test_what_the_forwarder_state_forbids_the_fan_out_does_not_send() -> None:
    """A disabled sender (direction changed) and a paused subscription get nothing from the
    C fan-out either; both pick up again afterwards, the compiled way."""
    async with sfu_room() as (_, room), publisher_and_viewer(room) as (_a, _b):
        video = next(f for f in _forwarders(room, "b") if f.kind == "video")
        await wait_for(lambda: video.fast_copies > 20, timeout=10)

        async def stays_still() -> None:
            sent = video.packets_sent
            await asyncio.sleep(0.5)
            assert video.packets_sent == sent

        video._sender._enabled = False
        await stays_still()
        video._sender._enabled = True
        fast = video.fast_copies
        await wait_for(lambda: video.fast_copies > fast + 20, timeout=10)

        video.set_paused(True)
        await stays_still()
        video.set_paused(False)  # waits for a keyframe (requested), then the compiled way
        fast = video.fast_copies
        await wait_for(lambda: video.fast_copies > fast + 20, timeout=10)


def test_without_the_extension_a_room_forwards_the_python_way() -> None:
    """Where the C extension was not built, the default settings still forward: every
    forwarder has the Python rewriter and no C copy, and a real viewer decodes."""
    code = """
import sys; sys.modules['sfu._compiled_egress'] = None
import asyncio
from sfu.stream_rewriter import StreamRewriter
from tests.helpers import wait_for
from tests.sfu.harness import publisher_and_viewer, sfu_room

async def main() -> None:
    async with sfu_room() as (_, room), publisher_and_viewer(room) as (_a, b):
        forwarders = [s.forwarder for s in room.peers['b'].subscriptions]
        assert forwarders and all(f._copy is None for f in forwarders)
        assert all(isinstance(f.rewriter, StreamRewriter) for f in forwarders)
        assert room.peers['a'].sources['video']._fan_out is None
        seen = b.client.video_from('a').frames
        await wait_for(lambda: b.client.video_from('a').frames >= seen + 10, timeout=10)
    print('forwarded')

asyncio.run(main())
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("forwarded")
