"""A person stays the same person: reloads, silent drops, a second tab; and who says they are muted.

Stranger clients only (docs/PROTOCOL.md): the resume credential of ``joined`` is presented on the
next ``join``; votes are compared with the tallies the server reports.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.waiting import until

pytestmark = pytest.mark.media


def yes_votes(p: Stranger, product: str) -> int:
    cast = p.last("vote_cast")
    assert cast is not None
    return int(cast["tallies"].get(product, {}).get("yes", 0))


async def test_silent_drop_is_noticed_and_resume_brings_the_same_person_back(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    ann = Stranger(server.url, "ann", 0)
    bob = Stranger(server.url, "bob", 1)
    back: Stranger | None = None
    try:
        await ann.join("drop")
        await bob.join("drop")
        product = ann.last("joined")["shopping"]["carousel"]["current"]  # type: ignore[index]
        await ann.send({"type": "vote", "product_id": product, "value": "yes"})
        await until(lambda: bob.last("vote_cast") is not None, what="vote reaches bob")
        ann_id, resume = ann.me, ann.resume
        assert resume

        dropped_at = time.monotonic()
        ann.freeze()  # the socket stays open; nothing answers any more
        await until(
            lambda: any(
                m.get("type") == "participant_left" and m["participant_id"] == ann_id
                for m in bob.messages
            ),
            within=8,
            what="bob sees ann leave after a silent drop",
        )
        noticed = time.monotonic() - dropped_at
        assert noticed < 5.5, f"silent drop noticed after {noticed:.1f} s"

        back = Stranger(server.url, "someone else", 0)
        await back.join("drop", extra={"resume": resume})
        assert back.me == ann_id
        assert back.last("joined")["you"]["name"] == "ann"  # type: ignore[index]
        # The vote is still there, and voting again changes it rather than adding one.
        assert back.last("joined")["shopping"]["tallies"][product]["yes"] == 1  # type: ignore[index]
        await back.send({"type": "vote", "product_id": product, "value": "yes"})
        await until(lambda: len([m for m in bob.messages if m["type"] == "vote_cast"]) >= 2)
        assert yes_votes(bob, product) == 1
        assert back.errors == []
    finally:
        await asyncio.gather(*(p.close() for p in (ann, bob, back) if p is not None))


async def test_reload_replaces_the_old_connection_at_once(serve: Callable[..., Server]) -> None:
    server = serve()
    ann = Stranger(server.url, "ann", 0)
    bob = Stranger(server.url, "bob", 1)
    reloaded: Stranger | None = None
    try:
        await ann.join("reload")
        await bob.join("reload")
        product = ann.last("joined")["shopping"]["carousel"]["current"]  # type: ignore[index]
        await ann.send({"type": "cart_add", "product_id": product})
        await until(lambda: bob.last("cart_item_added") is not None)
        # The page reloads: a new connection with the kept credential, before the old one
        # is noticed as gone.
        reloaded = Stranger(server.url, "ann", 0)
        await reloaded.join("reload", extra={"resume": ann.resume})
        assert reloaded.me == ann.me
        joined = reloaded.last("joined")
        assert joined is not None
        assert [p["id"] for p in joined["participants"]].count(ann.me) == 1
        assert [i["added_by"] for i in joined["shopping"]["cart"]] == [ann.me]
        await until(lambda: ann.left == "replaced", what="old connection told it was replaced")
        # Bob sees the same person leave and come back; never two of them.
        await until(lambda: bob.last("participant_left") is not None, what="bob sees ann go")
        await until(lambda: ann.me in bob.participants, what="bob sees ann back")
        left = [m for m in bob.messages if m["type"] == "participant_left"]
        assert [(m["participant_id"], m["reason"]) for m in left] == [(ann.me, "replaced")]
        # Media flows to the returning person: it decodes bob's colour.
        reloaded.colour_of = {bob.me: 1}.get  # type: ignore[assignment,dict-item]
        await until(lambda: reloaded.right_frames(bob.me or "") >= 10, within=15,
                    what="the reloaded page decodes bob")
    finally:
        await asyncio.gather(*(p.close() for p in (ann, bob, reloaded) if p is not None))


async def test_bad_resume_is_refused(serve: Callable[..., Server]) -> None:
    server = serve()
    ann = Stranger(server.url, "ann", None)
    try:
        with pytest.raises(Exception, match="unauthorized"):
            await ann.join("r", extra={"resume": "forged.credential"})
    finally:
        await ann.close()


async def test_client_that_never_answers_is_dropped(serve: Callable[..., Server]) -> None:
    import aiohttp

    server = serve(answer_timeout="1.5")
    bob = Stranger(server.url, "bob", 1)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.url.replace("http", "ws") + "/ws")
        try:
            await bob.join("mute")
            await ws.send_json({"type": "join", "room": "mute", "name": "silent"})
            seen: list[str] = []
            started = time.monotonic()
            while time.monotonic() - started < 8:
                msg = await ws.receive_json(timeout=8)
                seen.append(msg["type"])
                if msg["type"] == "left":
                    assert msg["reason"] == "media_failed"
                    break
            assert "offer" in seen and seen[-1] == "left", seen
            await until(lambda: len(bob.participants) == 1, what="the seat is free again")
        finally:
            await ws.close()
            await bob.close()


async def test_media_state_is_said_by_the_sender_and_told_to_newcomers(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    ann = Stranger(server.url, "ann", 0)
    bob = Stranger(server.url, "bob", 1)
    cat = Stranger(server.url, "cat", 2)
    try:
        await ann.join("mute")
        await bob.join("mute")
        await ann.send({"type": "media_state", "audio": False, "video": True})
        await until(lambda: bob.last("media_state") is not None)
        state = bob.last("media_state")
        assert state is not None
        assert (state["participant_id"], state["audio"], state["video"]) == (ann.me, False, True)
        await cat.join("mute")
        # The newcomer is told in its joined (media_states), not by an event to everyone.
        joined = cat.last("joined")
        assert joined is not None
        told = [(m["participant_id"], m["audio"], m["video"]) for m in joined["media_states"]]
        assert told == [(ann.me, False, True)]
    finally:
        await asyncio.gather(ann.close(), bob.close(), cat.close())


async def test_the_server_names_the_active_speaker(serve: Callable[..., Server]) -> None:
    server = serve()
    quiet = [Stranger(server.url, n, i) for i, n in enumerate(("ann", "bob"))]
    talker = Stranger(server.url, "cat", 2, tone=True)
    try:
        for p in (*quiet, talker):
            await p.join("talk")
        for p in (*quiet, talker):
            await until(lambda p=p: p.last("active_speaker") is not None, within=15,
                        what=f"{p.name} told who speaks")
            said = p.last("active_speaker")
            assert said is not None and said["participant_id"] == talker.me
    finally:
        await asyncio.gather(*(p.close() for p in (*quiet, talker)))


async def test_video_nobody_shows_is_paused_and_resumes_at_once(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    colours: dict[str, int] = {}
    pubs = [Stranger(server.url, n, i, colour_of=colours.get) for i, n in enumerate("abc")]
    viewer = Stranger(server.url, "v", None, role="viewer", colour_of=colours.get)
    try:
        for p in pubs:
            await p.join("view")
            assert p.me is not None
            colours[p.me] = p.colour  # type: ignore[assignment]
        await viewer.join("view")
        ids = [p.me or "" for p in pubs]
        await until(lambda: all(viewer.right_frames(i) >= 15 for i in ids), 15, "all flowing")
        # Only a's tile shows: b and c stop, a goes on.
        await viewer.send({"type": "view", "hidden": ids[1:]})
        await asyncio.sleep(1.5)  # frames already sent drain through the jitter buffer
        before = {i: viewer.received[i].frames for i in ids}
        await asyncio.sleep(2)
        after = {i: viewer.received[i].frames for i in ids}
        assert after[ids[0]] - before[ids[0]] >= 30
        assert after[ids[1]] == before[ids[1]] and after[ids[2]] == before[ids[2]], (before, after)
        # Everyone shows again: b resumes (a keyframe, right colour) within a second.
        resumed_at = time.monotonic()
        await viewer.send({"type": "view", "hidden": []})
        await until(lambda: viewer.received[ids[1]].frames > after[ids[1]] + 5, 3, "b resumes")
        assert time.monotonic() - resumed_at < 1.5
        assert viewer.received[ids[1]].last_right
        assert viewer.errors == []
    finally:
        await asyncio.gather(*(p.close() for p in (*pubs, viewer)))
