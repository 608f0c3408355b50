"""The WebSocket protocol end to end: in-memory store, real SFU, no media answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from signaling import protocol as wire
from signaling.auth import DEMO_SECRET
from signaling.node import Node
from signaling.session import SessionState
from tests.helpers import wait_for
from tests.signaling.wsclient import WsClient

Connect = Callable[..., Awaitable[WsClient]]
Client = TestClient[web.Request, web.Application]


async def test_join_snapshot_then_offer(connect: Connect) -> None:
    a = await connect()
    joined = await a.join("shop1", "ann")
    assert isinstance(joined, wire.Joined)
    assert joined.seq == 1
    assert joined.room == wire.RoomRef(id="shop1", capacity=10)
    assert joined.you.name == "ann" and joined.you.role == "guest"
    assert joined.participants == [joined.you]
    offer = await a.expect("offer")
    # A publisher's first offer: the two publish slots, audio then video.
    assert [(s.kind, s.direction, s.source) for s in offer.slots] == [
        ("audio", "recvonly", None),
        ("video", "recvonly", None),
    ]
    assert "m=audio" in offer.sdp and "m=video" in offer.sdp


async def test_viewer_gets_no_offer_until_there_is_media(connect: Connect, node: Node) -> None:
    v = await connect()
    joined = await v.join("shop1", "vic", role="viewer")
    assert joined.you.role == "viewer"
    await v.ping()  # Nothing (no offer) arrived before the pong.
    assert v.offers == [] and [m.type for m in v.received] == ["joined", "pong"]
    assert list(node.sfu.room("shop1").peers) == [joined.you.id]


async def test_a_token_without_can_publish_joins_as_a_non_publisher(
    connect: Connect, node: Node
) -> None:
    token = jwt.encode(
        {"sub": "quiet", "name": "Qui", "room": "shop1", "role": "host", "exp": time.time() + 60,
         "canPublish": False},
        DEMO_SECRET,
        algorithm="HS256",
    )
    q = await connect()
    joined = await q.join("shop1", token=token)
    assert (joined.you.id, joined.you.role) == ("quiet", "host")  # the role stays
    await q.ping()  # like a viewer: no offer with publish slots
    assert q.offers == [] and [m.type for m in q.received] == ["joined", "pong"]
    # The resume credential carries the grant: coming back does not make it a publisher.
    assert node.auth.verify(joined.resume, room="shop1").permissions.can_publish is False
    await q.close()
    again = await connect()
    rejoined = await again.join("shop1", resume=joined.resume)
    assert rejoined.you.id == "quiet"
    await again.ping()
    assert again.offers == []


async def test_second_participant_is_announced_with_next_seq(connect: Connect) -> None:
    a, b = await connect(), await connect()
    ja = await a.join("shop1", "ann")
    jb = await b.join("shop1", "bob")
    assert jb.seq == ja.seq + 1
    assert {p.name for p in jb.participants} == {"ann", "bob"}
    seen = await a.expect("participant_joined")
    assert seen.seq == ja.seq + 1
    assert seen.participant == jb.you

    await b.send({"type": "leave"})
    assert (await b.expect("left")).reason == "left"
    gone = await a.expect("participant_left")
    assert (gone.seq, gone.participant_id, gone.reason) == (ja.seq + 2, jb.you.id, "left")
    await b.ping()  # The socket stays open after leave.


async def test_disconnect_is_announced(connect: Connect, node: Node) -> None:
    a, b = await connect(), await connect()
    await a.join("shop1", "ann")
    jb = await b.join("shop1", "bob")
    await a.expect("participant_joined")
    await b.close()
    gone = await a.expect("participant_left")
    assert (gone.participant_id, gone.reason) == (jb.you.id, "disconnected")
    await wait_for(lambda: len(node.sessions) == 1)
    remaining = (await node.store.snapshot("shop1")).participants
    assert [p.name for p in remaining] == ["ann"]
    assert list(node.sfu.room("shop1").peers) == [remaining[0].id]


async def test_rejoin_after_leave(connect: Connect) -> None:
    a = await connect()
    first = await a.join("shop1", "ann")
    await a.send({"type": "leave"})
    await a.expect("left")
    again = await a.join("shop2", "ann")
    assert isinstance(again, wire.Joined) and again.room.id == "shop2"
    assert again.you.id != first.you.id


async def test_room_path_fixes_the_room(connect: Connect) -> None:
    a = await connect("/rooms/fixed/ws")
    joined = await a.join(None, "ann")
    assert joined.room.id == "fixed"
    b = await connect("/rooms/fixed/ws")
    await b.join("other", "bob")  # returns the error
    assert b.received[-1] == wire.Error(
        code=wire.ErrorCode.BAD_MESSAGE, message="this socket is for room fixed", ref="join"
    )
    await b.ping()


async def test_resync_returns_snapshot(connect: Connect) -> None:
    a, b = await connect(), await connect()
    ja = await a.join("shop1", "ann")
    await b.join("shop1", "bob")
    await a.expect("participant_joined")
    await a.send({"type": "resync"})
    snap = await a.expect("snapshot")
    assert snap.seq == ja.seq + 1
    assert snap.you == ja.you
    assert len(snap.participants) == 2


@pytest.mark.parametrize(
    ("frame", "code", "ref"),
    [
        ("not json", "bad_message", None),
        ("[1, 2]", "bad_message", None),
        ('{"name": "x"}', "bad_message", None),
        ('{"type": "dance"}', "unknown_type", "dance"),
        ('{"type": "join", "room": "bad room!", "name": "x"}', "bad_message", "join"),
        ('{"type": "join", "room": "r"}', "bad_message", "join"),
        ('{"type": "ping", "surprise": 1}', "bad_message", "ping"),
        ('{"type": "answer", "sdp": "v=0"}', "not_joined", "answer"),
        ('{"type": "leave"}', "not_joined", "leave"),
        ('{"type": "resync"}', "not_joined", "resync"),
    ],
)
async def test_bad_input_before_join(
    connect: Connect, frame: str, code: str, ref: str | None
) -> None:
    a = await connect()
    await a.send(frame)
    await a.expect_error(code, ref)
    await a.ping()
    joined = await a.join("shop1", "ann")  # The socket is still usable for a join.
    assert isinstance(joined, wire.Joined)


async def test_binary_frame_is_bad_message(connect: Connect) -> None:
    a = await connect()
    await a.ws.send_bytes(b"\x00\x01")
    await a.expect_error("bad_message")
    await a.ping()


async def test_bad_input_after_join_keeps_socket_and_room(connect: Connect) -> None:
    a, b = await connect(), await connect()
    await a.join("shop1", "ann")
    await b.join("shop1", "bob")
    await a.expect("participant_joined")

    await a.send({"type": "join", "room": "shop1", "name": "ann"})
    await a.expect_error("already_joined", "join")
    await a.send({"type": "answer", "sdp": "this is not sdp"})
    await a.expect_error("bad_sdp", "answer")
    await a.send('{"type": "offer", "sdp": "x"}')
    await a.expect_error("unknown_type", "offer")
    await a.send("{")
    await a.expect_error("bad_message")
    await a.ping()

    # The room carries on: b's leave still reaches a.
    await b.send({"type": "leave"})
    await b.expect("left")
    assert (await a.expect("participant_left")).reason == "left"


async def test_offer_echoed_as_answer_is_rejected(connect: Connect) -> None:
    a = await connect()
    await a.join("shop1", "ann")
    offer = await a.expect("offer")
    # Echoing the offer back as the answer applies nothing sensible: bad_sdp, never a crash.
    await a.send({"type": "answer", "sdp": offer.sdp})
    message = await a.expect("error")
    assert message.code in ("bad_sdp", "negotiation_failed")
    await a.ping()


async def test_eleventh_participant_gets_room_full(connect: Connect) -> None:
    sockets = [await connect() for _ in range(11)]
    for i, ws in enumerate(sockets[:10]):
        assert isinstance(await ws.join("full", f"p{i}", role="viewer"), wire.Joined)
    last = sockets[10]
    reply = await last.join("full", "p10", role="viewer")
    assert isinstance(reply, wire.Error) and reply.code == "room_full" and reply.ref == "join"
    await last.ping()
    # Once somebody leaves, the retry succeeds.
    await sockets[0].send({"type": "leave"})
    await sockets[0].until("left")
    assert isinstance(await last.join("full", "p10", role="viewer"), wire.Joined)


async def test_invalid_room_in_path_is_404(client: Client) -> None:
    assert (await client.get("/rooms/bad%20room/ws")).status == 404


async def test_pushed_snapshot_after_feed_interruption(connect: Connect, node: Node) -> None:
    a, b = await connect(), await connect()
    ja = await a.join("shop1", "ann")
    await b.join("shop1", "bob")
    await a.expect("participant_joined")
    (session,) = [s for s in node.sessions if s.participant and s.participant.name == "ann"]
    session.resync_needed()  # What the room hub does after resubscribing.
    snap = await a.expect("snapshot")
    assert snap.seq == ja.seq + 1 and len(snap.participants) == 2


async def test_media_failure_takes_participant_out(connect: Connect, node: Node) -> None:
    a, b = await connect(), await connect()
    ja = await a.join("shop1", "ann")
    await b.join("shop1", "bob")
    await a.expect("participant_joined")
    peer = node.sfu.room("shop1").peers[ja.you.id]
    await peer.listener.on_closed(ja.you.id, "connection_failed")  # as the SFU reports it
    assert (await a.expect("left")).reason == "media_failed"
    gone = await b.until("participant_left")
    assert (gone.participant_id, gone.reason) == (ja.you.id, "disconnected")
    assert ja.you.id not in node.sfu.room("shop1").peers
    await a.ping()


async def test_ping_before_join_and_nonce_types(connect: Connect) -> None:
    a = await connect()
    await a.send({"type": "ping", "nonce": 7})
    assert (await a.expect("pong")).nonce == 7
    await a.send({"type": "ping"})
    assert (await a.expect("pong")).nonce is None


async def test_closing_room_kicks_participants(connect: Connect, node: Node) -> None:
    a, b = await connect(), await connect()
    await a.join("doomed", "ann")
    await b.join("doomed", "bob")
    await a.expect("participant_joined")
    event = await node.store.close_room("doomed")
    for ws in (a, b):
        closed = await ws.expect("room_closed")
        assert closed.seq == event.seq and closed.room == "doomed"
        assert (await ws.expect("left")).reason == "room_closed"
        await ws.ping()
    await wait_for(lambda: node.sfu.get_room("doomed") is None)
    assert all(s.state is SessionState.LEFT for s in node.sessions)
    reply = await a.join("doomed", "ann")
    assert isinstance(reply, wire.Error) and reply.code == "room_closed"


async def test_sessions_share_one_subscription_per_room(connect: Connect, node: Node) -> None:
    sockets = [await connect() for _ in range(3)]
    for i, ws in enumerate(sockets):
        await ws.join("shared", f"p{i}", role="viewer")
    other = await connect()
    await other.join("elsewhere", "x", role="viewer")
    assert sorted(node.hubs.room_ids()) == ["elsewhere", "shared"]
    for ws in sockets:
        await ws.close()
    await wait_for(lambda: node.hubs.room_ids() == ["elsewhere"])


async def test_concurrent_joins_are_all_numbered(connect: Connect) -> None:
    sockets = [await connect() for _ in range(8)]
    replies = await asyncio.gather(
        *(ws.join("busy", f"p{i}", role="viewer") for i, ws in enumerate(sockets))
    )
    seqs = sorted(r.seq for r in replies)
    assert seqs == list(range(1, 9))
    # Everyone sees exactly the joins after their own, in order, with no gaps.
    for ws, reply in zip(sockets, replies, strict=True):
        later = [await ws.expect("participant_joined") for _ in range(8 - reply.seq)]
        assert [m.seq for m in later] == list(range(reply.seq + 1, 9))
