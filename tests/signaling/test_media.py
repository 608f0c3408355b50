"""Media through signaling: real aiortc participants answer the server's offers over the socket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from signaling import protocol as wire
from tests.helpers import wait_for
from tests.media import ClientPeer
from tests.participant import Participant
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.media

Connect = Callable[..., Awaitable[WsClient]]



async def test_two_publishers_and_a_viewer(
    participants: Callable[..., Awaitable[Participant]],
) -> None:
    ann, bob = await participants("ann", 0), await participants("bob", 1)
    vic = await participants("vic", 2, publish=False)
    await ann.join("media")
    await bob.join("media")
    await vic.join("media", role="viewer")

    everyone = {(ann.id, "audio"), (ann.id, "video"), (bob.id, "audio"), (bob.id, "video")}
    for p in (ann, bob, vic):
        await wait_for(lambda p=p: p.published() == everyone, timeout=20,
                       message=f"{p.peer.name} saw {p.published()}")
    # Seq numbers of room events stay consecutive for every member.
    for p in (ann, bob, vic):
        assert p.joined is not None
        seqs = [p.joined.seq] + [m.seq for m in p.events if hasattr(m, "seq")]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs

    # Video really flows: each publisher sees the other, the viewer sees both.
    await wait_for(lambda: ann.peer.video_from(bob.id).frames > 10, timeout=20)
    await wait_for(lambda: bob.peer.video_from(ann.id).frames > 10, timeout=20)
    await wait_for(lambda: vic.peer.video_from(ann.id).frames > 10
                   and vic.peer.video_from(bob.id).frames > 10, timeout=20)
    assert ann.errors == bob.errors == vic.errors == []

    # bob leaves: the others hear it and get an offer with bob's slots inactive.
    await bob.close()
    for p in (ann, vic):
        await wait_for(
            lambda p=p: any(isinstance(m, wire.ParticipantLeft) and m.participant_id == bob.id
                            for m in p.events),
            timeout=10,
        )
        await wait_for(
            lambda p=p: not any(s.get("source") == bob.id and s.get("direction") != "inactive"
                                for s in p.peer.slots.values()),
            timeout=10,
        )
    assert ann.errors == vic.errors == []


async def test_second_answer_without_offer_is_negotiation_failed(connect: Connect) -> None:
    ws = await connect()
    peer = ClientPeer("ann", index=0)
    try:
        await ws.join("solo", "ann")
        offer = await ws.expect("offer")
        sdp = await peer.answer(offer.sdp, [s.model_dump() for s in offer.slots])
        await ws.send({"type": "answer", "sdp": sdp})
        await ws.ping()  # the answer was accepted: no error came back first
        await ws.send({"type": "answer", "sdp": sdp})
        await ws.expect_error("negotiation_failed", "answer")
        await ws.ping()
    finally:
        await peer.close()


async def test_a_max_bundle_join_gets_everyone_in_its_first_offer(
    participants: Callable[..., Awaitable[Participant]], connect: Connect
) -> None:
    """`join {bundle_policy: "max-bundle"}` (the browser client's): the first offer already
    has a slot for every track of everyone publishing; the default keeps it to publish slots."""
    ann, bob = await participants("ann", 0), await participants("bob", 1)
    await ann.join("bundled")
    await bob.join("bundled")
    await wait_for(lambda: ann.peer.video_from(bob.id).frames > 5
                   and bob.peer.video_from(ann.id).frames > 5, timeout=20)
    for policy, expected in (("max-bundle", 4), ("balanced", 0)):
        ws = await connect()
        joined = await ws.join("bundled", "carl", bundle_policy=policy)
        assert isinstance(joined, wire.Joined), joined
        offer = ws.offers[0] if ws.offers else await ws.expect("offer")
        carried = {(s.source, s.kind) for s in offer.slots if s.source is not None}
        assert len(carried) == expected, (policy, offer.slots)
        if expected:
            assert carried == {(ann.id, "audio"), (ann.id, "video"),
                               (bob.id, "audio"), (bob.id, "video")}
        await ws.close()


async def test_an_unknown_bundle_policy_is_a_bad_request(connect: Connect) -> None:
    ws = await connect()
    await ws.send({"type": "join", "room": "r", "name": "ann", "bundle_policy": "everything"})
    error = await ws.expect("error")
    assert error.ref == "join", error
