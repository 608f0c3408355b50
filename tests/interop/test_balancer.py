"""Three real ``coshop serve`` nodes behind Debian's haproxy (round-robin, no stickiness), on
one real Redis. Clients know only the balancer's URL: aiortc peers written from
docs/PROTOCOL.md, and the product's web client in Chromium, all end up with everyone's media
(colours checked), because a join that lands on the wrong node is redirected to the room's."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.browser.room_page import RoomPage
from tests.haproxy import Haproxy
from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.test_chromium_publishers import chromium, chromium_page, playwright
from tests.interop.waiting import health, until

pytestmark = [pytest.mark.media, pytest.mark.redis]

__all__ = ["chromium", "playwright"]  # fixtures used below


def ws_url(server: Server) -> str:
    return server.url.replace("http", "ws", 1) + "/ws"


async def test_aiortc_peers_that_know_only_the_balancer_get_full_media(
    cluster: tuple[Haproxy, list[Server]],
) -> None:
    balancer, nodes = cluster
    rooms = [f"lb-{uuid.uuid4().hex[:6]}-{i}" for i in range(2)]
    people = {room: [Stranger(balancer.url, f"{room}-p{i}", i) for i in range(3)]
              for room in rooms}
    everyone = [p for members in people.values() for p in members]
    try:
        for i in range(3):  # interleaved, so that round-robin sends each room's people apart
            for room in rooms:
                await people[room][i].join(room)
        for members in people.values():
            colours = {p.me: i for i, p in enumerate(members)}
            for p in members:
                p.colour_of = colours.get  # type: ignore[assignment]

        def full_media() -> bool:
            return all(
                p.right_frames(q.me or "") >= 10
                for members in people.values() for p in members for q in members if q is not p
            )

        await until(full_media, 40, "each peer decodes both others of its room")
        node_urls = {ws_url(n) for n in nodes}
        for room, members in people.items():
            sent_to = {r["url"] for p in members for r in p.redirects}
            assert len(sent_to) <= 1 and sent_to <= node_urls, (room, sent_to)
        # Each room's media on one node: the nodes serve 3 + 3 (or 6) participants.
        peers = sorted([(await health(n))["peers"] for n in nodes])
        assert peers in ([0, 3, 3], [0, 0, 6]), peers
        # Round-robin spread the joins: some landed on the wrong node and were redirected.
        assert any(p.redirects for p in everyone)
        assert all(p.errors == [] for p in everyone)
    finally:
        await asyncio.gather(*(p.close() for p in everyone))


async def test_chromium_through_the_balancer_sees_and_is_seen(
    cluster: tuple[Haproxy, list[Server]], playwright: object, tmp_path: Path
) -> None:
    balancer, _ = cluster
    room = f"lb-chromium-{uuid.uuid4().hex[:6]}"
    colours: dict[str, int] = {}
    strangers = [Stranger(balancer.url, name, c, colour_of=colours.get)
                 for name, c in (("Ann", 2), ("Bob", 3))]
    browser = None
    try:
        for s in strangers:
            await s.join(room)
            assert s.me is not None
            colours[s.me] = s.colour or 0
        # Each page load and socket goes through the balancer to whichever node is next.
        browser, page = await chromium_page(
            playwright, tmp_path, 0, f"{balancer.url}/r/{room}", "Rosa"
        )
        rosa = await page.evaluate("() => window.coshop.room.you.id")
        colours[rosa] = 0
        await RoomPage(page, balancer.url).wait_playing({"Ann", "Bob"}, seconds=40)
        await until(lambda: all(s.right_frames(rosa) >= 20 for s in strangers), 30,
                    "both aiortc peers decode Chromium's colour")
        assert all(s.errors == [] for s in strangers)
    finally:
        await asyncio.gather(*(s.close() for s in strangers))
        if browser is not None:
            await browser.close()
