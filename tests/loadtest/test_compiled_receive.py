"""The compiled receive path (loadtest._compiled_receive) against the Python one it replaces:
the same packets, ticks and windows leave the same routes, reception statistics, repair
state and feedback (Hypothesis), and the socket entry point unprotects real SRTP."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.codecs.vpx import Vp8Encoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest import compiled_receive, lean_transport
from loadtest.metrics import LiveTally, RouteStats
from loadtest.receiver import Receiver
from loadtest.stamp import Stamp, append_stamp

VIDEO, VIDEO_RTX, AUDIO, STRANGER = 1111, 2222, 3333, 4444
KEY = b"\x10\x02\x00\x9d\x01\x2a" + bytes(2500)  # a keyframe tag (P bit clear): 3 packets
DELTA = b"\x11" + bytes(1300)  # a delta frame: 2 packets


def test_the_extension_is_built_and_matches_pylibsrtp() -> None:
    assert compiled_receive.AVAILABLE, compiled_receive.UNAVAILABLE_REASON


def media_packets(frames: int, *, keyframe_every: int, seq0: int, ext: bool) -> list[bytes]:
    """A video stream's packets (aiortc's packetizer, stamped) and an audio stream's,
    interleaved as they would arrive."""
    out: list[bytes] = []
    seq = seq0
    aseq = (seq0 * 7) & 0xFFFF
    for n in range(frames):
        frame = KEY if n % keyframe_every == 0 else DELTA
        payloads = Vp8Encoder._packetize(append_stamp(frame, Stamp(3, n, 1_000_000 + n)), n)
        for i, payload in enumerate(payloads):
            p = aiortc_rtp.RtpPacket(
                payload_type=96,
                sequence_number=seq & 0xFFFF,
                timestamp=(n * 3000 + 0xFFFF0000) & 0xFFFFFFFF,
                ssrc=VIDEO,
                marker=int(i == len(payloads) - 1),
            )
            if ext:
                p.extensions.mid = "1"
            p.payload = payload
            out.append(p.serialize())
            seq += 1
        a = aiortc_rtp.RtpPacket(
            payload_type=111,
            sequence_number=aseq & 0xFFFF,
            timestamp=n * 960,
            ssrc=AUDIO,
            payload=bytes(60),
        )
        out.append(a.serialize())
        aseq += 1
    return out


def rtx_of(data: bytes, rtx_seq: int) -> bytes:
    p = aiortc_rtp.RtpPacket.parse(data)
    return aiortc_rtp.wrap_rtx(
        p, payload_type=97, sequence_number=rtx_seq, ssrc=VIDEO_RTX
    ).serialize()


@dataclass
class Side:
    """One receiver and what it did."""

    tally: LiveTally = field(default_factory=LiveTally)
    routes: dict[tuple[str, str], RouteStats] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)
    stamps: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    receiver: Receiver = field(init=False)

    def __post_init__(self) -> None:
        self.receiver = Receiver(
            self.routes,
            repair=True,
            keep_samples=True,
            tally=self.tally,
            on_stamp=lambda s, t: self.stamps.append((s, t)),
        )
        self.receiver.send_rtcp = self._send
        self.receiver.ssrc_slots[VIDEO] = {"kind": "video", "source": "pub"}
        self.receiver.ssrc_slots[AUDIO] = {"kind": "audio", "source": "pub"}
        self.receiver.ssrc_slots[STRANGER] = {"kind": "video"}  # a slot carrying nothing
        self.receiver.rtx_of[VIDEO_RTX] = VIDEO

    def _send(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    def state(self) -> dict[str, Any]:
        """Everything the two paths write, comparable."""
        r = self.receiver
        routes = {}
        for key, route in self.routes.items():
            fields = {k: v for k, v in vars(route).items() if k not in ("tally", "latency")}
            fields["_frame_gaps"] = list(route._frame_gaps)
            fields["latency"] = route.latency.summary()
            routes[key] = fields
        receptions = {
            ssrc: ({name: getattr(rec.stats, name) for name in rec.stats.__slots__}, rec.due)
            for ssrc, rec in r._receptions.items()
        }
        repairs = {}
        for ssrc, rep in r._repairs.items():
            nack, playout = rep.nack, rep.playout
            repairs[ssrc] = (
                rep.source,
                rep.unwrap.highest,
                nack.rtt,
                nack._newest,
                {s: (e.first_missed_at, e.sent_at, e.retries) for s, e in nack._missing.items()},
                nack.nacks_sent,
                nack.given_up,
                nack.overflowed,
                {
                    k: v
                    for k, v in vars(playout).items()
                    if k not in ("_on_shown", "_frames", "_by_first")
                },
                sorted(
                    (ts, f.first, f.last, sorted(f.got), f.keyframe, f.repaired, f.tag)
                    for ts, f in playout._frames.items()
                ),
            )
        return {
            "routes": routes,
            "receptions": receptions,
            "repairs": repairs,
            "sent": self.sent,
            "stamps": self.stamps,
            "errors": self.errors,
            "tally": (self.tally.bytes, self.tally.lost_frames),
            "reports_sent": r.reports_sent,
        }


# One step of a scenario: a packet arriving, a tick, a new window, the slot changing source.
Step = tuple[str, Any, float]


@st.composite
def scenarios(draw: st.DrawFn) -> list[Step]:
    frames = draw(st.integers(2, 14))
    base = media_packets(
        frames,
        keyframe_every=draw(st.integers(1, 6)),
        seq0=draw(st.sampled_from([0, 100, 0xFFFE, 0xFFF0])),
        ext=draw(st.booleans()),
    )
    steps: list[Step] = []
    now = 1_700_000_000.0
    rtx_seq = draw(st.integers(0, 0xFFFF))
    held: list[bytes] = []  # packets delayed (reordered) or lost and answered later by RTX
    for data in base:
        now += draw(st.sampled_from([0.0, 0.001, 0.004, 0.033, 0.25]))
        fate = draw(
            st.sampled_from(
                ["keep"] * 6 + ["drop", "hold", "dup", "rtx", "truncate", "junk", "pad", "tick"]
            )
        )
        if fate == "drop":
            continue
        if fate == "hold":
            held.append(data)
            continue
        if fate == "rtx":
            held.append(rtx_of(data, rtx_seq))
            rtx_seq = (rtx_seq + 1) & 0xFFFF
            continue
        if fate == "truncate":
            data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
        elif fate == "junk":
            data = draw(st.binary(min_size=0, max_size=40))
        elif fate == "pad":
            pad = draw(st.integers(1, 255))
            data = bytes([data[0] | 0x20]) + data[1:] + bytes([pad])
        elif fate == "tick":
            steps.append(("tick", None, now))
        steps.append(("rtp", data, now))
        if fate == "dup":
            steps.append(("rtp", data, now))
        release: bool = bool(held) and draw(st.booleans())
        if release:
            steps.append(("rtp", held.pop(draw(st.integers(0, len(held) - 1))), now))
        if draw(st.integers(0, 40)) == 0:
            steps.append(("window", None, now))
        if draw(st.integers(0, 60)) == 0:
            steps.append(("source", draw(st.sampled_from(["other", None, "pub"])), now))
        if draw(st.integers(0, 8)) == 0:
            steps.append(("tick", None, now + draw(st.sampled_from([0.02, 0.3, 1.5, 4.0]))))
    for data in held:
        now += 0.01
        steps.append(("rtp", data, now))
    steps.append(("tick", None, now + 5))
    return steps


def apply(side: Side, kind: str, value: Any, now: float) -> None:
    """One step that is not a packet: a tick, a new window, a slot's source changing."""
    if kind == "tick":
        side.receiver.tick(now)
    elif kind == "window":
        side.receiver.new_window()
    else:
        slot = side.receiver.ssrc_slots[VIDEO]
        if value is None:
            slot.pop("source", None)
        else:
            slot["source"] = value


def run(steps: list[Step], *, compiled: bool) -> dict[str, Any]:
    side = Side()
    random.seed(7)  # next_report_delay draws: the same ones in the same order
    if compiled:
        reader = compiled_receive.reader(pylibsrtp.Session(), side.receiver, side.receiver.on_rtp)
        on_rtp = reader.on_rtp
    else:
        on_rtp = side.receiver.on_rtp
    for kind, value, now in steps:
        try:
            if kind == "rtp":
                on_rtp(value, now)
            else:
                apply(side, kind, value, now)
        except Exception as exc:  # the same packet must fail the same way on both paths
            side.errors.append(f"{kind} {type(exc).__name__}")
    state = side.state()
    if compiled:
        state["counts"] = (reader.fast, reader.slow)
    return state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_compiled_path_leaves_what_the_python_path_leaves(steps: list[Step]) -> None:
    expected = run(steps, compiled=False)
    got = run(steps, compiled=True)
    counts = got.pop("counts")
    assert got == expected
    assert counts[0] + counts[1] >= 1


def test_most_packets_of_a_clean_stream_take_the_compiled_path() -> None:
    steps: list[Step] = [
        ("rtp", d, 1_700_000_000 + 0.01 * i)
        for i, d in enumerate(media_packets(30, keyframe_every=30, seq0=5, ext=True))
    ]
    steps.append(("tick", None, 1_700_000_001.0))
    got = run(steps, compiled=True)
    fast, slow = got.pop("counts")
    assert got == run(steps, compiled=False)
    # The first packet of each stream (a stream object is made) goes the Python way.
    assert slow <= 3 and fast == len(steps) - 1 - slow
    assert got["routes"][("pub", "video")]["frames"] == 30


def srtp_pair() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    key = bytes(range(30))
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    return tx, rx


class FakeProtocol:
    """An ICE socket protocol as lean_transport hooks it: datagram_received(data, addr)."""

    def __init__(self) -> None:
        self.others: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.others.append(data)


def test_the_socket_entry_unprotects_like_the_lean_python_path() -> None:
    packets = media_packets(12, keyframe_every=4, seq0=40000, ext=True)
    tx, _ = srtp_pair()
    wire = [tx.protect(p) for p in packets]
    rtcp = tx.protect_rtcp(bytes(aiortc_rtp.RtcpRrPacket(ssrc=1)))
    stun = b"\x00\x01\x00\x00" + bytes(16)

    # The Python lean path: lean_transport's closure around the same kind of protocol.
    python, python_proto = Side(), FakeProtocol()
    _, rx = srtp_pair()
    arrivals: list[float] = []

    def handler(data: bytes, now: float) -> None:
        arrivals.append(now)
        python.receiver.on_rtp(data, now)

    python_hook = _python_hook(rx, handler, python_proto)
    compiled, compiled_proto = Side(), FakeProtocol()
    _, rx2 = srtp_pair()
    reader = compiled_receive.reader(
        rx2, compiled.receiver, compiled.receiver.on_rtp, compiled_proto.datagram_received
    )
    random.seed(3)
    for data in [stun, *wire, wire[3], rtcp, b"\x01"]:  # a replay: libsrtp drops it
        python_hook(data, ("127.0.0.1", 9))
    random.seed(3)
    for data in [stun, *wire, wire[3], rtcp, b"\x01"]:
        reader.datagram_received(data, ("127.0.0.1", 9))
    assert compiled_proto.others == python_proto.others == [stun, rtcp, b"\x01"]
    for data in [b"", b"\x80"]:  # too short to tell: both paths raise
        with pytest.raises(IndexError):
            python_hook(data, ("127.0.0.1", 9))
        with pytest.raises(IndexError):
            reader.datagram_received(data, ("127.0.0.1", 9))
    assert reader.fast + reader.slow == len(packets)
    assert reader.fast >= len(packets) - 2
    py_state, c_state = python.state(), compiled.state()
    # Arrival times are each path's own clock: compare everything else.
    assert c_state["routes"].keys() == py_state["routes"].keys()
    for key in py_state["routes"]:
        for name in (
            "packets",
            "bytes",
            "lost_packets",
            "frames",
            "lost_frames",
            "last_frame",
            "_max_seq",
        ):
            assert c_state["routes"][key][name] == py_state["routes"][key][name], name
    assert c_state["routes"][("pub", "video")]["frames"] == 12
    with pytest.raises(ValueError, match="too long"):
        reader.datagram_received(b"\x80" + bytes(1600), ("127.0.0.1", 9))


def _python_hook(
    rx: pylibsrtp.Session, handler: lean_transport.RtpHandler, protocol: FakeProtocol
) -> Any:
    """lean_transport.install's hook, installed on a stand-in DTLS transport."""

    class Connection:
        _protocols = [protocol]
        _nominated: dict[int, Any] = {}

    class Ice:
        _connection = Connection()

    class Dtls:
        _rx_srtp = rx
        _tx_srtp = rx
        transport = Ice()

    assert lean_transport.install(Dtls(), handler)
    return protocol.datagram_received
