"""The SFU with real aiortc peers over loopback (signaling bypassed)."""

from __future__ import annotations

from tests.helpers import wait_for
from tests.media import ClientPeer, luma_for
from tests.sfu.harness import DirectParticipant, sfu_room


async def test_two_publishers_decode_each_other() -> None:
    async with sfu_room() as (sfu, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1))
        try:
            await a.join(room)
            await b.join(room)
            await wait_for(lambda: a.client.video_from("b").frames >= 30, timeout=15)
            await wait_for(lambda: b.client.video_from("a").frames >= 30, timeout=15)
            await wait_for(lambda: a.client.audio_from("b").frames >= 50, timeout=10)
            got = a.client.video_from("b")
            assert got.sizes == {(160, 120)}
            assert abs(sum(got.lumas[-10:]) / 10 - luma_for(1)) < 12
            assert sorted(a.published) == ["audio", "video"]
            stats = sfu.stats()
            assert stats["packets_out"] > 0
        finally:
            await a.close()
            await b.close()


async def test_peer_whose_connection_closes_under_it_leaves_the_room() -> None:
    """aiortc closes a connection by itself once its DTLS transport is closed (here: the
    client closed its side). The SFU drops that peer like a failed one, and the others are
    told its slots are free instead of the room tripping over a closed connection."""
    async with sfu_room() as (_sfu, room):
        a = DirectParticipant(ClientPeer("a", index=0))
        b = DirectParticipant(ClientPeer("b", index=1))
        c = DirectParticipant(ClientPeer("c", index=2))
        try:
            for p in (a, b, c):
                await p.join(room)
            await wait_for(lambda: a.client.video_from("c").frames >= 5, timeout=20)
            await c.client.pc.close()
            await wait_for(lambda: "c" not in room.peers, timeout=15)
            assert c.closed_reason in ("connection_closed", "connection_failed")
            # c's slots released at a's, without renegotiating a
            await wait_for(lambda: not any(
                s.get("source") == "c" for s in a.client.slots.values()), timeout=10)
            await room.remove_peer("b", reason="left")  # frees a's slots: must not raise
            assert list(room.peers) == ["a"]
        finally:
            for p in (a, b, c):
                await p.close()
