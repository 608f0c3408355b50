"""VP8 temporal-layer selection: descriptor parsing, layer switching, renumbering."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.stream_rewriter import StreamRewriter
from sfu.vp8_layers import (
    TemporalLayerFilter,
    Vp8Descriptor,
    parse_vp8_descriptor,
    with_picture_id,
)

#: L1T3 as libwebrtc sends it: T0 T2 T1 T2, repeating.
L1T3 = (0, 2, 1, 2)


def vp8_payload(
    *,
    start: bool = True,
    keyframe: bool = False,
    pid: int | None = 5,
    pid_bits: int = 15,
    tl0: int | None = 9,
    tid: int | None = 0,
    sync: bool = False,
    body: bytes = b"\x00\x11\x22",
) -> bytes:
    """A VP8 RTP payload: descriptor (RFC 7741 §4.2) and a payload-header byte."""
    ext = (0x80 if pid is not None else 0) | (0x40 if tl0 is not None else 0)
    ext |= 0x20 if tid is not None else 0
    out = bytearray([(0x80 if ext else 0) | (0x10 if start else 0)])
    if ext:
        out.append(ext)
    if pid is not None:
        if pid_bits == 15:
            out += bytes((0x80 | (pid >> 8), pid & 0xFF))
        else:
            out.append(pid & 0x7F)
    if tl0 is not None:
        out.append(tl0)
    if tid is not None:
        out.append((tid << 6) | (0x20 if sync else 0) | 3)
    # VP8 payload header: P bit 0 on a key frame (RFC 6386 §9.1).
    out.append(0x00 if keyframe else 0x01)
    return bytes(out) + body


def desc(**kwargs: object) -> Vp8Descriptor:
    parsed = parse_vp8_descriptor(vp8_payload(**kwargs))  # type: ignore[arg-type]
    assert parsed is not None
    return parsed


# -- parsing ---------------------------------------------------------------------------


def test_parses_every_field_of_a_15_bit_descriptor() -> None:
    d = desc(pid=0x1234, tl0=200, tid=2, sync=True, keyframe=False)
    assert (d.start, d.keyframe, d.picture_id, d.pid_bits, d.pid_at) == (True, False, 0x1234, 15, 2)
    assert (d.tl0picidx, d.tid, d.sync) == (200, 2, True)


def test_parses_a_7_bit_keyframe_descriptor() -> None:
    d = desc(pid=0x55, pid_bits=7, tl0=None, tid=0, keyframe=True)
    assert (d.picture_id, d.pid_bits, d.tl0picidx, d.tid, d.keyframe) == (0x55, 7, None, 0, True)


def test_no_extension_means_no_layers() -> None:
    d = desc(pid=None, tl0=None, tid=None, keyframe=True)
    assert (d.picture_id, d.tid, d.keyframe, d.start) == (None, None, True, True)


def test_continuation_packets_are_not_frame_starts() -> None:
    d = desc(start=False, keyframe=True)
    assert not d.start and not d.keyframe  # the P bit is only meaningful in the first packet


def test_k_bit_without_t_bit_carries_no_tid() -> None:
    payload = bytes((0x90, 0x90, 0x85, 0x01, 0x1F, 0x00))  # X, I (15-bit) and K, KEYIDX 31
    d = parse_vp8_descriptor(payload)
    assert d is not None and d.tid is None and d.picture_id == 0x0501 and d.keyframe


def test_truncated_descriptors_are_rejected() -> None:
    full = vp8_payload(pid=300, tl0=1, tid=1)
    assert parse_vp8_descriptor(b"") is None
    for n in range(1, 6):  # X, ext, PictureID (2), TL0PICIDX, TID
        assert parse_vp8_descriptor(full[:n]) is None, n
    assert parse_vp8_descriptor(full[:6]) is not None


@given(pid=st.integers(0, 0x7FFF), new=st.integers(0, 0xFFFF), bits=st.sampled_from([7, 15]))
def test_rewriting_the_picture_id_changes_nothing_else(pid: int, new: int, bits: int) -> None:
    pid &= (1 << bits) - 1
    payload = vp8_payload(pid=pid, pid_bits=bits, tid=1, sync=True, tl0=77)
    d = parse_vp8_descriptor(payload)
    assert d is not None
    out = with_picture_id(payload, d, new)
    o = parse_vp8_descriptor(out)
    assert o is not None and len(out) == len(payload)
    assert o.picture_id == new % (1 << bits) and o.pid_bits == bits
    assert (o.tl0picidx, o.tid, o.sync) == (77, 1, True)
    assert out[d.pid_at + bits // 8 + 1 :] == payload[d.pid_at + bits // 8 + 1 :]


# -- a model stream ----------------------------------------------------------------------


@dataclass
class Packet:
    seq: int
    ts: int
    marker: bool
    frame: int  # index of the frame in the stream
    desc: Vp8Descriptor


def stream(
    sizes: list[int],
    *,
    first_seq: int = 1000,
    first_pid: int = 100,
    pid_bits: int = 15,
    tids: tuple[int, ...] = L1T3,
    keyframe_every: int = 0,
) -> list[Packet]:
    """Frames of ``sizes[i]`` packets in the L1T3 pattern; frame 0 is a keyframe.

    Sync (Y) as libwebrtc sets it: T1 frames and the T2 frame right after T0 reference
    only the base layer.
    """
    out: list[Packet] = []
    seq = first_seq
    tl0 = 0
    for i, size in enumerate(sizes):
        tid = tids[i % len(tids)]
        key = i == 0 or (keyframe_every and i % keyframe_every == 0)
        tid = 0 if key else tid
        if tid == 0 and i:
            tl0 = (tl0 + 1) % 256
        sync = tid == 1 or (tid == 2 and tids[(i - 1) % len(tids)] == 0)
        for k in range(size):
            d = desc(
                start=k == 0,
                keyframe=bool(key) and k == 0,
                pid=(first_pid + i) % (1 << pid_bits),
                pid_bits=pid_bits,
                tl0=tl0,
                tid=tid,
                sync=sync,
            )
            out.append(Packet(seq % 65536, (i * 3000) % 2**32, k == size - 1, i, d))
            seq += 1
    return out


def run(
    f: TemporalLayerFilter, packets: list[Packet], targets: dict[int, int] | None = None
) -> list[tuple[Packet, int, int | None]]:
    """Feed ``packets``; ``targets`` sets the target before the packet at that index."""
    out = []
    for n, p in enumerate(packets):
        if targets and n in targets:
            f.target = targets[n]
        r = f.select(p.seq, p.ts, p.marker, p.desc)
        if r is not None:
            pid = p.desc.picture_id if r[1] is None else r[1]
            out.append((p, r[0], pid))
    return out


def assert_contiguous(out: list[tuple[Packet, int, int | None]], pid_bits: int = 15) -> None:
    for (_, a, _), (_, b, _) in itertools.pairwise(out):
        assert b == (a + 1) % 65536, (a, b)
    frames = [(p.frame, pid) for p, _, pid in out if p.desc.start]
    for (_, a), (_, b) in itertools.pairwise(frames):
        assert a is not None and b is not None and b == (a + 1) % (1 << pid_bits), (a, b)


# -- selection -------------------------------------------------------------------------


def test_streams_without_temporal_layers_pass_untouched() -> None:
    f = TemporalLayerFilter(target=0)
    for seq in (10, 11, 14, 12, 13, 15):  # a gap, then reordering: all as they came
        d = desc(pid=seq, tid=None, tl0=None)
        assert f.select(seq, seq * 3000, True, d) == (seq, None)
    assert f.dropped == 0


def test_full_target_forwards_everything_as_it_came() -> None:
    packets = stream([2, 1, 1, 1] * 5)
    out = run(TemporalLayerFilter(target=2), packets)
    assert [(p.seq, pid) for p, _, pid in out] == [(p.seq, p.desc.picture_id) for p in packets]
    assert all(seq == p.seq for p, seq, _ in out)


def test_base_layer_only_is_contiguous() -> None:
    packets = stream([3, 1, 2, 1] * 6)
    f = TemporalLayerFilter(target=0)
    out = run(f, packets)
    assert {p.desc.tid for p, _, _ in out} == {0}
    assert len(out) == 6 * 3 and f.dropped == 6 * 4
    assert_contiguous(out)
    assert [p.desc.tl0picidx for p, _, _ in out if p.desc.start] == list(range(6))


def test_two_layers_give_every_other_frame() -> None:
    out = run(TemporalLayerFilter(target=1), stream([1] * 16))
    assert [p.frame for p, _, _ in out] == [0, 2, 4, 6, 8, 10, 12, 14]
    assert_contiguous(out)


def test_going_down_waits_for_the_end_of_the_frame() -> None:
    packets = stream([1, 3, 1, 1, 1, 1])  # frame 1 (T2) has 3 packets
    out = run(TemporalLayerFilter(target=2), packets, targets={2: 0})  # mid frame 1
    assert [p.frame for p, _, _ in out] == [0, 1, 1, 1, 4]
    assert_contiguous(out)


def test_going_up_waits_for_a_layer_sync_frame() -> None:
    # Frames: 0:T0 1:T2(Y) 2:T1(Y) 3:T2 4:T0 5:T2(Y) 6:T1(Y) 7:T2 ...
    packets = stream([1] * 12)
    f = TemporalLayerFilter(target=0)
    out = run(f, packets, targets={3: 2})  # raised just before frame 3, a T2 without Y
    # Frame 3 cannot be decoded without frame 2 (dropped); frame 4 is T0; frame 5 syncs.
    assert [p.frame for p, _, _ in out] == [0, 4, 5, 6, 7, 8, 9, 10, 11]
    assert f.current == 2
    assert_contiguous(out)


def test_going_up_at_a_keyframe() -> None:
    packets = stream([1] * 10, tids=(0, 2, 2, 2), keyframe_every=8)  # no T1 sync frames
    for p in packets:
        p.desc.sync = False
    f = TemporalLayerFilter(target=0)
    out = run(f, packets, targets={2: 2})
    assert [p.frame for p, _, _ in out] == [0, 4, 8, 9]
    assert_contiguous(out)


def test_a_late_packet_fills_its_own_hole() -> None:
    packets = stream([2, 2, 2, 2, 2])  # frames T0 T2 T1 T2 T0
    f = TemporalLayerFilter(target=1)
    lost = packets.pop(5)  # second packet of frame 2 (T1, forwarded)
    out = run(f, packets)
    seqs = [s for _, s, _ in out]
    r = f.select(lost.seq, lost.ts, lost.marker, lost.desc)
    assert r is not None
    assert sorted([*seqs, r[0]]) == list(range(seqs[0], seqs[0] + len(seqs) + 1))
    assert r[1] == out[2][2]  # the PictureID of its frame as sent


def test_a_late_packet_of_a_dropped_frame_stays_dropped() -> None:
    packets = stream([2, 2, 2])
    f = TemporalLayerFilter(target=0)
    lost = packets.pop(3)  # tail of frame 1 (T2, dropped)
    out = run(f, packets)
    assert_contiguous(out)  # the lost tail of a dropped frame leaves no hole
    assert f.select(lost.seq, lost.ts, lost.marker, lost.desc) is None


def test_a_lost_head_of_a_dropped_frame_leaves_no_hole() -> None:
    packets = stream([2, 3, 2])
    f = TemporalLayerFilter(target=0)
    lost = packets.pop(2)  # the first packet of frame 1 (T2, dropped)
    out = run(f, packets)
    assert_contiguous(out)
    assert f.select(lost.seq, lost.ts, lost.marker, lost.desc) is None


def test_a_whole_lost_frame_stays_a_hole_that_its_repair_fills() -> None:
    packets = stream([1, 1, 1, 1, 1])
    f = TemporalLayerFilter(target=1)
    lost = packets.pop(2)  # frame 2 (T1), forwarded: unknown when its hole is seen
    out = run(f, packets)
    # Frame 1 (T2) and frame 3 (T2) are dropped, frame 2's place is kept for it.
    assert [(p.frame, s) for p, s, _ in out] == [(0, 1000), (4, 1002)]
    r = f.select(lost.seq, lost.ts, lost.marker, lost.desc)
    assert r is not None and r[0] == 1001


def test_seq_and_picture_id_wrap() -> None:
    for bits, first_pid in ((7, 120), (15, 0x7FF0)):
        packets = stream([2, 1, 1, 1] * 10, first_seq=65520, first_pid=first_pid, pid_bits=bits)
        out = run(TemporalLayerFilter(target=0), packets)
        assert_contiguous(out, bits)
        assert out[-1][1] < out[0][1]  # wrapped


def test_reset_starts_afresh() -> None:
    f = TemporalLayerFilter(target=0)
    run(f, stream([1] * 8))
    f.reset()
    packets = stream([1] * 4, first_seq=5000, first_pid=50)
    out = run(f, packets)
    assert [(s, pid) for _, s, pid in out] == [(5000, 50)]  # offsets forgotten


# -- properties ------------------------------------------------------------------------


#: A reference model of L1T3: which earlier frame each frame needs.
def reference(frames: list[int], tids: tuple[int, ...]) -> dict[int, int]:
    refs: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, _ in enumerate(frames):
        tid = 0 if i == 0 else tids[i % len(tids)]
        if i:
            lower = [last[t] for t in last if t < tid] if tid else [last[0]]
            if tid == 2 and 1 in last and last[1] > last[0]:
                refs[i] = last[1]  # T2 after T1 uses the T1 frame
            else:
                refs[i] = max(lower)
        last[tid] = i
    return refs


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 3), min_size=1, max_size=60),
    first_seq=st.integers(0, 65535),
    first_pid=st.integers(0, 0x7FFF),
    pid_bits=st.sampled_from([7, 15]),
    changes=st.dictionaries(st.integers(0, 60), st.integers(0, 2), max_size=12),
    start=st.integers(0, 2),
)
def test_any_target_schedule_gives_contiguous_decodable_output(
    sizes: list[int],
    first_seq: int,
    first_pid: int,
    pid_bits: int,
    changes: dict[int, int],
    start: int,
) -> None:
    packets = stream(
        sizes, first_seq=first_seq, first_pid=first_pid % (1 << pid_bits), pid_bits=pid_bits
    )
    f = TemporalLayerFilter(target=start)
    out = run(f, packets, targets=changes)
    assert_contiguous(out, pid_bits)
    # Whole frames only, each ending on its marker.
    sent = [p.frame for p, _, _ in out]
    by_frame = {p.frame: [q for q in packets if q.frame == p.frame] for p, _, _ in out}
    for frame, ps in by_frame.items():
        assert sent.count(frame) == len(ps)
    assert not out or out[-1][0].marker or out[-1][0].frame == packets[-1].frame
    # Decodable: every frame sent has the frame it references sent too.
    refs = reference(sizes, L1T3)
    sent_frames = set(sent)
    for frame in sent_frames:
        if frame in refs:
            assert refs[frame] in sent_frames, (frame, refs[frame])
    # The base layer always goes, and nothing above the target in force at a frame's start.
    assert {p.frame for p in packets if p.desc.tid == 0} <= sent_frames
    target = start
    for n, p in enumerate(packets):
        target = changes.get(n, target)
        if p.desc.start and p.frame in sent_frames:
            assert p.desc.tid is not None and p.desc.tid <= target


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=60),
    first_seq=st.integers(0, 65535),
    target=st.integers(0, 2),
    lost=st.sets(st.integers(1, 200), max_size=12),
    delay=st.integers(1, 20),
)
def test_repaired_losses_land_exactly_where_in_order_delivery_puts_them(
    sizes: list[int], first_seq: int, target: int, lost: set[int], delay: int
) -> None:
    packets = stream(sizes, first_seq=first_seq)
    in_order = {p.seq: (s, pid) for p, s, pid in run(TemporalLayerFilter(target=target), packets)}
    # The same stream with some packets arriving ``delay`` packets late (retransmitted):
    # any but a whole frame, or the packets on both sides of a frame boundary (then the
    # filter cannot tell whose they were; the hole is kept, see the whole-frame test).
    late: list[Packet] = []
    for n in sorted(lost):
        if n >= len(packets) or n == 0:
            continue
        p = packets[n]
        frame = [q for q in packets if q.frame == p.frame]
        if sum(q in late for q in frame) + 1 == len(frame):
            continue
        neighbours = [packets[n - 1], *packets[n + 1 : n + 2]]
        if any(q in late and q.frame != p.frame for q in neighbours):
            continue
        late.append(p)
    order = [p for p in packets if p not in late]
    for p in late:
        order.insert(min(len(order), packets.index(p) + delay), p)
    got = {p.seq: (s, pid) for p, s, pid in run(TemporalLayerFilter(target=target), order)}
    # Whatever is forwarded goes exactly where in-order delivery would have put it.
    for seq, mapped in got.items():
        assert in_order.get(seq) == mapped, seq


def test_composes_with_the_stream_rewriter_across_a_source_switch() -> None:
    rw = StreamRewriter(first_seq=40000, first_ts=0, ts_step=3000, video=True)
    f = TemporalLayerFilter(target=0)
    sent: list[int] = []
    for packets in (stream([2, 1, 1, 1] * 4, first_seq=65500), stream([1] * 12, first_seq=7)):
        rw.switch_source(video=True)
        f.reset()
        for p in packets:
            r = f.select(p.seq, p.ts, p.marker, p.desc)
            if r is None:
                continue
            mapped = rw.rewrite(r[0], p.ts, p.desc.keyframe)
            if mapped is not None:
                sent.append(mapped[0])
    assert sent == [(40000 + i) % 65536 for i in range(len(sent))]
    assert len(sent) == 4 * 2 + 3
