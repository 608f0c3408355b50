"""Issue 2 end to end: real aiortc peers through the real signaling and SFU, over loopback.

Every received video frame is decoded and checked: each publisher paints a distinct
flat luma level, so a receiver knows whose picture it shows.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from signaling import protocol as wire
from signaling.node import Node
from tests.e2e.conftest import MakeParticipant
from tests.helpers import wait_for
from tests.media import HEIGHT, WIDTH, luma_for
from tests.participant import Participant

pytestmark = pytest.mark.media


def _mean_luma(p: Participant, source: Participant, last: int = 10) -> float:
    lumas = p.peer.video_from(source.id).lumas[-last:]
    return sum(lumas) / len(lumas)


async def test_three_publishers_each_decode_both_others(participants: MakeParticipant) -> None:
    people = [await participants(name, i) for i, name in enumerate(("ann", "bob", "cat"))]
    for p in people:
        await p.join("trio")
    for p in people:
        for other in people:
            if other is p:
                continue
            await wait_for(
                lambda p=p, o=other: p.peer.video_from(o.id).frames >= 30,
                timeout=20,
                message=f"{p.peer.name} decoded too little video from {other.peer.name}",
            )
            await wait_for(lambda p=p, o=other: p.peer.audio_from(o.id).frames >= 25, timeout=10)
    for p in people:
        for other in people:
            if other is p:
                continue
            got = p.peer.video_from(other.id)
            assert got.sizes == {(WIDTH, HEIGHT)}
            assert abs(_mean_luma(p, other) - luma_for(other.peer.index)) < 10
            # The tone is there (not silence): RMS of a 8000-amplitude sine is ~5600.
            assert max(p.peer.audio_from(other.id).rms[-10:]) > 1000
        assert p.errors == []


async def test_late_joiner_sees_every_publisher_within_a_second(
    participants: MakeParticipant,
) -> None:
    ann, bob = await participants("ann", 0), await participants("bob", 1)
    await ann.join("late")
    await bob.join("late")
    await wait_for(lambda: ann.peer.video_from(bob.id).frames >= 10, timeout=20)
    await wait_for(lambda: bob.peer.video_from(ann.id).frames >= 10, timeout=20)
    # Publishers key-frame only when asked (tests.media ignores REMB), so the late
    # joiner's first picture depends on the SFU's keyframe requests.
    await asyncio.sleep(5)
    cat = await participants("cat", 2)
    started = time.monotonic()
    await cat.join("late")
    await wait_for(
        lambda: cat.peer.video_from(ann.id).frames > 0 and cat.peer.video_from(bob.id).frames > 0,
        timeout=5,
    )
    for source in (ann, bob):
        first = cat.peer.video_from(source.id).first_frame_at
        assert first is not None
        assert first - started < 1.0, (
            f"first frame from {source.peer.name} after {first - started:.3f}s"
        )
    await wait_for(lambda: cat.peer.video_from(ann.id).frames >= 10, timeout=5)
    assert abs(_mean_luma(cat, ann, 5) - luma_for(0)) < 10


async def test_a_leaver_stops_its_media_and_frees_everything(
    participants: MakeParticipant, node: Node
) -> None:
    people = [await participants(name, i) for i, name in enumerate(("ann", "bob", "cat"))]
    ann, bob, cat = people
    for p in people:
        await p.join("leave")
    for p in (ann, bob):
        await wait_for(lambda p=p: p.peer.video_from(cat.id).frames >= 10, timeout=20)
    room = node.sfu.get_room("leave")
    assert room is not None
    cat_peer = room.peers[cat.id]
    cat_sources = list(cat_peer.sources.values())

    await cat.ws.send({"type": "leave"})
    await wait_for(lambda: any(isinstance(m, wire.Left) for m in cat.events), timeout=5)
    for p in (ann, bob):
        await wait_for(
            lambda p=p: any(
                isinstance(m, wire.ParticipantLeft) and m.participant_id == cat.id for m in p.events
            ),
            timeout=5,
        )
    # Everything cat owned on the server is gone.
    assert cat.id not in room.peers
    assert cat_peer.pc.connectionState == "closed"
    assert all(not s.forwarders for s in cat_sources)
    assert not [t for t in asyncio.all_tasks() if cat.id in t.get_name()]
    for other in room.peers.values():
        assert all(
            sub.forwarder.source is None or sub.forwarder.source.owner != cat.id
            for sub in other.subscriptions
        )
    # cat's media stopped reaching the others; theirs carries on.
    await asyncio.sleep(0.3)  # frames already in flight
    from_cat = ann.peer.video_from(cat.id).frames
    from_bob = ann.peer.video_from(bob.id).frames
    await asyncio.sleep(1.0)
    assert ann.peer.video_from(cat.id).frames == from_cat
    assert ann.peer.video_from(bob.id).frames >= from_bob + 15
    assert ann.errors == bob.errors == []


async def test_full_room_of_ten_everyone_receives_nine_video_and_nine_audio(
    participants: MakeParticipant, node: Node
) -> None:
    people = [await participants(f"p{i}", i, decode=False) for i in range(10)]
    for p in people:
        await p.join("full")

    def receiving(p: Participant) -> bool:
        return all(
            p.peer.packets_from(o.id, "video") >= 20 and p.peer.packets_from(o.id, "audio") >= 20
            for o in people
            if o is not p
        )

    for p in people:
        await wait_for(
            lambda p=p: receiving(p),
            timeout=60,
            message=f"{p.peer.name} does not receive all 18 streams",
        )
    for p in people:
        live = [
            s for s in p.peer.slots.values() if s.get("source") and s["direction"] != "inactive"
        ]
        assert sorted(s["kind"] for s in live) == ["audio"] * 9 + ["video"] * 9
        assert {s["source"] for s in live} == {o.id for o in people if o is not p}
    eleventh = await participants("p10", 10, publish=False)
    reply = await eleventh.ws.join("full", "p10")
    assert isinstance(reply, wire.Error) and reply.code == "room_full"
    assert node.sfu.stats()["subscriptions"] == 180
